"""The suite itself: no test may depend on the machine's speed, and it stays quick as it grows.

The emulator's waits are event-driven with a long bound (a loaded CI machine or a slow
subprocess must not fail a test), presses never get too old on the real clock, ``make test``
runs the tests side by side (pytest-xdist) with both backends required in CI, and
``make test-fast`` is the SQLite-only edit loop.
"""

from __future__ import annotations

import inspect
import re
import tomllib
from pathlib import Path
from typing import Any

from bot.emulator.server import BotApiServer
from bot.emulator.simulator import Simulator, _ChatView
from bot.emulator.telegram import PATIENCE, FakeTelegram

ROOT = Path(__file__).resolve().parents[1]


def _default(function: Any, name: str) -> Any:
    return inspect.signature(function).parameters[name].default


def test_the_emulators_waits_outlast_a_slow_machine() -> None:
    assert PATIENCE >= 30
    for function, name in (
        (FakeTelegram.wait_for, "timeout"),
        (Simulator.__init__, "answer_timeout"),
        (Simulator.feed_via_polling, "timeout"),
        (_ChatView.wait_for_message, "timeout"),
        (BotApiServer.start_in_thread, "timeout"),
        (BotApiServer.stop_thread, "timeout"),
    ):
        assert _default(function, name) == PATIENCE, function.__qualname__


def test_presses_never_get_too_old_on_the_real_clock(fake: FakeTelegram) -> None:
    """The shared fixture's fake runs on the wall clock: a press answered late because the
    machine is loaded must not be refused as too old (tests of late answers set the limit)."""
    assert fake.callback_query_timeout is None
    assert FakeTelegram().callback_query_timeout == 15.0  # Telegram's own, for the benchmarks


def _recipe(makefile: str, target: str) -> str:
    match = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert match, target
    return match.group(1)


def test_make_test_runs_side_by_side_and_ci_runs_both_backends() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"python -m pytest -n \$\(TEST_WORKERS\)\s*$", _recipe(makefile, "test"))
    assert re.search(r"^TEST_WORKERS \?= auto$", makefile, re.MULTILINE)
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]["dev"]
    assert any(d.startswith("pytest-xdist") for d in dev)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "export KAOHE_REQUIRE_POSTGRES=1" in ci and ci.rstrip().endswith("make test")


def test_make_test_fast_is_sqlite_only() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = _recipe(makefile, "test-fast")
    assert '-k "not postgresql"' in recipe and "-n $(TEST_WORKERS)" in recipe
    assert "ruff" not in recipe and "mypy" not in recipe
    assert "make test-fast" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_type_ignore_says_why() -> None:
    """A ``# type: ignore`` names its error code and says why the checker is wrong there."""
    bare = []
    for folder in ("bot", "storage", "tests", "bench"):
        for path in (ROOT / folder).rglob("*.py"):
            if path == Path(__file__).resolve():  # this test names the pragma itself
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if "type: ignore" in line and not re.search(
                    r"# type: ignore\[[a-z_, -]+\]  # \S", line
                ):
                    bare.append(f"{path.relative_to(ROOT)}:{number}")
    assert not bare, bare
