"""``make run`` without a token (``kaohe run --or-sandbox``) and ``kaohe sandbox`` as the newcomer
runs them: separate processes, read from the terminal, the page reached over HTTP."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from bot.core.texts import Texts

ROOT = Path(__file__).resolve().parents[2]
URL = re.compile(r"http://127\.0\.0\.1:\d+/")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BOT_", "TELEGRAM_", "DATABASE_", "WEBHOOK_", "SCHEME_"))
    }
    env.update({"DATA_DIR": str(tmp_path / "data"), "UNIT_NAME": "青山镇", **extra})
    return env


async def test_make_run_without_a_token_serves_the_sandbox_and_says_how_to_go_live(
    tmp_path: Path,
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--or-sandbox",
        cwd=tmp_path,
        env=_env(tmp_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    said: list[str] = []
    try:
        async with asyncio.timeout(60):
            while not any(URL.search(line) for line in said):
                line = (await process.stdout.readline()).decode()
                assert line, "".join(said)
                said.append(line)
            url = next(m.group(0) for line in said if (m := URL.search(line)))
            async with httpx.AsyncClient(base_url=url, timeout=30) as client:
                page = await client.get("/")
                setup = (await client.get("/api/setup")).json()
        assert page.status_code == 200 and "<html" in page.text
        assert len([c for c in setup["chats"] if not c["group"]]) == 15
    finally:
        process.send_signal(signal.SIGTERM)
        rest, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    terminal = "".join(said) + rest.decode()
    texts = Texts()
    stopped = texts.render_plain("zh", "cli/sandbox_stopped")
    assert process.returncode == 0, terminal
    assert "沙盒" in terminal and "BOT_TOKEN" in terminal and "@BotFather" in terminal
    assert "make run 启动了沙盒" in terminal
    assert stopped in terminal and "Traceback" not in terminal
    assert (tmp_path / "data" / "sandbox" / "kaohe.db").exists()
    assert not (tmp_path / "data" / "kaohe.db").exists()


def test_the_sandbox_refuses_the_live_database(tmp_path: Path) -> None:
    live = tmp_path / "live.db"
    live.write_bytes(b"")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "sandbox", "--db", str(live)],
        cwd=tmp_path,
        env=_env(tmp_path, DATABASE_URL=f"sqlite:///{live}"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    expected = Texts().render_plain(
        "zh", "cli/sandbox_refused", reason="deployment", path=str(live.resolve())
    )
    assert expected in result.stderr
    assert live.read_bytes() == b""


def test_a_missing_roster_is_named(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "sandbox", "--roster", "花名册.xlsx", "--lang", "en"],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "花名册.xlsx" in result.stderr and "Traceback" not in result.stderr
