"""The layers point one way: chat → appraisal → storage → rules (docs/architecture.md).

Walks every module's imports (ast, not importlib: nothing is executed) and fails on an edge the
table below does not allow, on a Telegram or database import below the edge, on I/O in the pure
rules, and on a wall-clock read anywhere but the clock itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Which of the project's packages each package may import (besides itself).
ALLOWED: dict[str, set[str]] = {
    "bot.rules": set(),
    "storage": {"bot.rules"},
    "bot.core": {"bot.rules", "storage"},
    "bot.sheets": {"bot.rules", "bot.core"},
    "bot.appraisal": {"bot.rules", "storage", "bot.core"},
    "bot.reports": {"bot.rules", "storage", "bot.core", "bot.sheets", "bot.appraisal"},
    "bot.emulator": set(),
    "bot.chat": {"bot.rules", "storage", "bot.core", "bot.sheets", "bot.appraisal", "bot.reports"},
    "bot.jobs": {
        "bot.rules",
        "storage",
        "bot.core",
        "bot.sheets",
        "bot.appraisal",
        "bot.reports",
        "bot.chat",
    },
    "bot.app": {
        "bot.rules",
        "storage",
        "bot.core",
        "bot.sheets",
        "bot.appraisal",
        "bot.reports",
        "bot.chat",
        "bot.jobs",
    },
}
# The top of the house may import anything of the project: the command line, the sandbox.
TOP_PACKAGES = ("bot.cli", "bot.sandbox")
TOP_MODULES = {"bot", "bot.__main__"}
TOP = "top"

# Third-party code a layer must not touch.
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "bot.rules": ("telegram", "sqlalchemy", "sqlmodel", "openpyxl", "os", "io", "time", "pathlib"),
    "storage": ("telegram",),
    "bot.core": ("telegram",),
    "bot.sheets": ("telegram", "sqlalchemy", "sqlmodel"),
    "bot.appraisal": ("telegram",),
    "bot.reports": ("telegram",),
}


def _modules() -> list[tuple[str, Path]]:
    found = []
    for folder in ("bot", "storage"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found.append((name, path))
    return found


def _package(module: str) -> str:
    if module in TOP_MODULES or any(
        module == top or module.startswith(top + ".") for top in TOP_PACKAGES
    ):
        return TOP
    for package in sorted(ALLOWED, key=len, reverse=True):
        if module == package or module.startswith(package + "."):
            return package
    raise AssertionError(f"{module} belongs to no layer of the table")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def _own(name: str) -> str | None:
    if name == "bot" or name.startswith(("bot.", "storage")):
        try:
            return _package(name)
        except AssertionError:
            return None
    return None


MODULES = _modules()


@pytest.mark.parametrize(("module", "path"), MODULES, ids=[m for m, _ in MODULES])
def test_imports_point_down(module: str, path: Path) -> None:
    package = _package(module)
    if package == TOP:
        return
    allowed = ALLOWED[package] | {package}
    wrong = sorted(
        {
            name
            for name in _imports(path)
            if (target := _own(name)) is not None and target not in allowed
        }
    )
    assert not wrong, f"{module} ({package}) imports {wrong}, above or beside its layer"
    forbidden = FORBIDDEN.get(package, ())
    bad = sorted({name for name in _imports(path) if name.split(".")[0] in forbidden})
    assert not bad, f"{module} ({package}) must not import {bad}"


@pytest.mark.parametrize(("module", "path"), MODULES, ids=[m for m, _ in MODULES])
def test_no_wall_clock(module: str, path: Path) -> None:
    """Only the clock and the emulator (which plays Telegram's own servers) read the time.

    ``storage.models`` keeps ``utcnow`` as the column default of rows made by hand (a test's
    fixture, a console); the bot's own code passes its clock's time, which
    ``tests/chat/test_one_clock.py`` proves by running on a clock far from the wall clock.
    """
    if module in ("bot.core.clock", "storage.models") or module.startswith(
        ("bot.emulator", "bot.sandbox")
    ):
        return
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    reads = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            owner_name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
            if (owner_name, node.func.attr) in {
                ("datetime", "now"),
                ("datetime", "utcnow"),
                ("date", "today"),
                ("time", "time"),
            }:
                reads.append(node.lineno)
    assert not reads, f"{module} reads the wall clock at lines {reads}; use the Services clock"


@pytest.mark.parametrize(("module", "path"), MODULES, ids=[m for m, _ in MODULES])
def test_handlers_look_rows_up_through_queries(module: str, path: Path) -> None:
    """No ``session.get(Model, id)`` in the chat layer: an id from a button or a message is
    looked up through a query function that scopes it to the unit (``storage/queries``)."""
    if not module.startswith("bot.chat"):
        return
    tree = ast.parse(path.read_text(encoding="utf-8"))
    calls = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "session"
    ]
    assert not calls, f"{module} calls session.get at lines {calls}; use a unit-scoped query"


def test_every_module_has_a_layer() -> None:
    assert {_package(m) for m, _ in MODULES} <= set(ALLOWED) | {TOP}
