"""A first run from mainland China: ``kaohe check`` reaches Telegram (``getMe``) through the
configured proxy of any supported scheme and says what failed and what to try; ``kaohe run``
waits for an unreachable Telegram with one line per attempt, never a traceback.

The fake Bot API over local HTTP (``bot.emulator.server``) stands in for Telegram
(``TELEGRAM_API_BASE_URL``), and tiny local proxies (``tests.harness.proxies``) for the proxy
program; nothing leaves the machine. Expected phrases come from the templates' renderer.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import socket
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.cli.main import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from bot.cli.reach import Outcome, Reach, wait_for_telegram
from bot.core.config import load_settings
from bot.core.texts import Texts
from bot.emulator.server import BotApiServer, serve
from bot.emulator.telegram import FakeTelegram
from tests.conftest import TEST_TOKEN
from tests.harness.proxies import LocalProxy

Kaohe = Callable[..., tuple[int, str, str]]
SCHEMES = ("http", "https", "socks5", "socks5h")


def _free_port() -> int:
    """A port nothing listens on (taken from the system, then let go)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def telegram() -> Iterator[tuple[FakeTelegram, BotApiServer]]:
    """The fake Bot API, accepting only the test's token, in a thread of its own."""
    fake = FakeTelegram(token=TEST_TOKEN)
    with serve(fake) as server:
        yield fake, server


@pytest.fixture
def kaohe(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Kaohe:
    """``kaohe ARGS`` in an empty folder with a token, on SQLite; (exit code, stdout, stderr)."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(("TELEGRAM_", "WEBHOOK_", "DEFAULT_LANGUAGE", "DATABASE_URL")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("BOT_TOKEN", TEST_TOKEN)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "200")

    def run(*args: str, **env: str) -> tuple[int, str, str]:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@contextlib.contextmanager
def _failed_socks_handshakes() -> Iterator[None]:
    """httpcore leaves the socket of a SOCKS handshake that failed open (it raises without
    closing the stream); collect it here, quietly, rather than in whichever test runs next."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            yield
        finally:
            gc.collect()


def _said(texts: Texts, reach: Reach, part: str = "what", lang: str = "zh") -> str:
    """What ``cli/_telegram.j2`` says of ``reach`` (``what`` happened, or the ``fix``)."""
    module = texts.plain_env.get_template(f"{lang}/cli/_telegram.j2").module
    return str(getattr(module, part)(reach)).strip()


def test_check_reaches_telegram_and_names_the_bot(
    kaohe: Kaohe, telegram: tuple[FakeTelegram, BotApiServer], texts: Texts
) -> None:
    fake, server = telegram
    code, out, _ = kaohe("check", TELEGRAM_API_BASE_URL=server.base_url)
    assert code == EXIT_OK, out
    username = fake.bot_user["username"]
    assert f"Telegram：已连通，机器人是 @{username}" in out
    assert [c.method for c in fake.calls] == ["getMe"]


def test_a_refused_token_points_to_botfather(
    kaohe: Kaohe, telegram: tuple[FakeTelegram, BotApiServer], texts: Texts
) -> None:
    _, server = telegram
    code, out, _ = kaohe(
        "check", TELEGRAM_API_BASE_URL=server.base_url, BOT_TOKEN="123456:NOTTHEBOTSTOKEN"
    )
    assert code == EXIT_FAILED
    refused = Reach(Outcome.TOKEN_REFUSED, base_url=server.base_url)
    assert _said(texts, refused) in out and "@BotFather" in out and "/mybots" in out
    assert "NOTTHEBOTSTOKEN" not in out


@pytest.mark.parametrize("scheme", ["http", "socks5", "socks5h"])
def test_check_goes_through_the_proxy(
    kaohe: Kaohe, telegram: tuple[FakeTelegram, BotApiServer], scheme: str
) -> None:
    fake, server = telegram
    with LocalProxy("http" if scheme == "http" else "socks5") as proxy:
        # socks5h: the proxy looks the name up, so the Bot API is named, not numbered.
        base = server.base_url.replace("127.0.0.1", "localhost") if scheme == "socks5h" else None
        code, out, _ = kaohe(
            "check",
            TELEGRAM_API_BASE_URL=base or server.base_url,
            TELEGRAM_PROXY_URL=proxy.url(scheme),
        )
    assert code == EXIT_OK, out
    assert f"（经过代理 {scheme}://127.0.0.1:{proxy.port}）" in out
    assert proxy.connections >= 1 and fake.calls_to("getMe")
    if scheme == "socks5h":
        assert proxy.targets[0].startswith("localhost:")


@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_proxy_that_is_not_running_is_named_with_its_address(
    kaohe: Kaohe, telegram: tuple[FakeTelegram, BotApiServer], texts: Texts, scheme: str
) -> None:
    """Every scheme is accepted; nothing listening there is said with the address to fix."""
    _, server = telegram
    port = _free_port()
    code, out, err = kaohe(
        "check",
        TELEGRAM_API_BASE_URL=server.base_url,
        TELEGRAM_PROXY_URL=f"{scheme}://clerk:pa55word@127.0.0.1:{port}",
    )
    assert code == EXIT_FAILED and err == ""
    address = f"{scheme}://127.0.0.1:{port}"
    missing = Reach(Outcome.PROXY_UNREACHABLE, proxy=address)
    assert f"Telegram：{_said(texts, missing)}" in out
    assert _said(texts, missing, "fix") in out and "代理软件" in out
    assert "pa55word" not in out and "clerk:" not in out


@pytest.mark.parametrize("kind", ["http", "socks5"])
def test_a_proxy_that_refuses_is_named_with_its_address(
    kaohe: Kaohe, telegram: tuple[FakeTelegram, BotApiServer], texts: Texts, kind: str
) -> None:
    fake, server = telegram
    with _failed_socks_handshakes(), LocalProxy(kind, refuse=True) as proxy:
        code, out, _ = kaohe(
            "check", TELEGRAM_API_BASE_URL=server.base_url, TELEGRAM_PROXY_URL=proxy.url()
        )
    assert code == EXIT_FAILED
    refused = Reach(Outcome.PROXY_REFUSED, proxy=proxy.url())
    assert f"Telegram：{_said(texts, refused)}" in out and "用户名:密码" in out
    assert not fake.calls


@pytest.mark.parametrize("kind", ["http", "socks5"])
def test_telegram_unreachable_through_a_working_proxy(
    kaohe: Kaohe, texts: Texts, kind: str
) -> None:
    base = f"http://127.0.0.1:{_free_port()}/bot"
    with _failed_socks_handshakes(), LocalProxy(kind) as proxy:
        code, out, _ = kaohe("check", TELEGRAM_API_BASE_URL=base, TELEGRAM_PROXY_URL=proxy.url())
    assert code == EXIT_FAILED
    lost = Reach(Outcome.UNREACHABLE, proxy=proxy.url(), base_url=base)
    assert f"Telegram：{_said(texts, lost)}" in out and "换一个节点" in out


def test_telegram_unreachable_without_a_proxy_suggests_one(texts: Texts) -> None:
    """Without a proxy, an unreachable Telegram is said with the proxy setting to add."""
    for lang, setting in (("zh", "TELEGRAM_PROXY_URL"), ("en", "TELEGRAM_PROXY_URL")):
        fix = _said(texts, Reach(Outcome.UNREACHABLE), "fix", lang)
        assert setting in fix and "socks5://127.0.0.1:1080" in fix and "socks5h" in fix


def test_a_proxy_url_of_an_unknown_scheme_is_a_settings_error(kaohe: Kaohe) -> None:
    code, out, err = kaohe("check", TELEGRAM_PROXY_URL="sock5://clerk:pa55word@127.0.0.1:1080")
    assert code == EXIT_USAGE and out == ""
    assert "TELEGRAM_PROXY_URL：要写成例如 socks5://127.0.0.1:1080" in err and "“sock5”" in err
    assert "pa55word" not in err


async def test_run_waits_for_telegram_with_backoff(tmp_path: Path) -> None:
    """Unreachable at start-up: one word per attempt, waits growing, then on when it answers."""
    port = _free_port()
    settings = load_settings(
        _env_file=None,
        bot_token=TEST_TOKEN,
        data_dir=tmp_path,
        telegram_api_base_url=f"http://127.0.0.1:{port}/bot",
    )
    said: list[tuple[Outcome, int, float | None]] = []
    waited: list[float] = []
    fake = FakeTelegram(token=TEST_TOKEN)
    server = BotApiServer(fake, port=port)

    async def sleep(seconds: float) -> None:
        waited.append(seconds)
        if len(waited) == 3:  # Telegram comes back during the third wait
            await server.start()

    try:
        reach = await wait_for_telegram(
            settings, lambda r, n, w: said.append((r.outcome, n, w)), sleep=sleep
        )
    finally:
        await server.stop()
    assert reach.ok and reach.username == fake.bot_user["username"]
    assert said == [
        (Outcome.UNREACHABLE, 1, 2.0),
        (Outcome.UNREACHABLE, 2, 4.0),
        (Outcome.UNREACHABLE, 3, 8.0),
    ]
    assert waited == [2.0, 4.0, 8.0]


def _run_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_"))}
    env.pop("DATABASE_URL", None)
    env.update({"BOT_TOKEN": TEST_TOKEN, "DATA_DIR": str(tmp_path / "data"), "LOG_LEVEL": "INFO"})
    env.update(extra)
    return env


async def test_kaohe_run_says_one_line_per_attempt_and_no_traceback(
    tmp_path: Path, texts: Texts
) -> None:
    base = f"http://127.0.0.1:{_free_port()}/bot"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=_run_env(tmp_path, TELEGRAM_API_BASE_URL=base),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    try:
        async with asyncio.timeout(60):
            line = (await process.stdout.readline()).decode()
            while "Telegram" not in line:
                line = (await process.stdout.readline()).decode()
    finally:
        process.terminate()
        rest, _ = await process.communicate()
    lost = Reach(Outcome.UNREACHABLE, base_url=base)
    assert line.startswith(f"第 1 次连接 Telegram 没有成功：{_said(texts, lost)}")
    assert line.rstrip().endswith("2 秒后再试（按 Ctrl+C 停止）。")
    assert "Traceback" not in line + rest.decode()


def test_kaohe_run_with_a_refused_token_stops_at_once(
    tmp_path: Path, telegram: tuple[FakeTelegram, BotApiServer]
) -> None:
    _, server = telegram
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env=_run_env(
            tmp_path,
            TELEGRAM_API_BASE_URL=server.base_url,
            BOT_TOKEN="1:WRONG",
            LOG_LEVEL="WARNING",
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == EXIT_USAGE
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "第 1 次连接 Telegram 没有成功" in lines[0]
    assert "@BotFather" in lines[0] and "Traceback" not in result.stdout + result.stderr
