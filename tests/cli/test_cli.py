"""The ``kaohe`` command as the office clerk runs it, and ``kaohe run`` as a separate process."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from sqlmodel import select

from bot.cli.main import main
from storage.engine import create_engine, make_session_factory
from storage.models import Cadre, utcnow
from tests.conftest import TEST_TOKEN

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def clerk_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> str:
    """The environment of a clerk's shell: settings from variables, no .env in the folder."""
    monkeypatch.chdir(tmp_path)
    for name in ("BOT_TOKEN", "TELEGRAM_API_BASE_URL", "LEADERSHIP_CHAT_ID", "WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("UNIT_NAME", "青山镇")
    monkeypatch.setenv("BOT_USERNAME", "kaohe_test_bot")
    return database_url


async def _cadres(url: str) -> list[Cadre]:
    engine = create_engine(url)
    try:
        async with make_session_factory(engine)() as session:
            return list((await session.exec(select(Cadre))).all())
    finally:
        await engine.dispose()


def _clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_"))}
    env.update({"DATA_DIR": str(tmp_path / "data"), **extra})
    return env


def test_run_without_token_explains_botfather_and_exits_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env=_clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "@BotFather" in result.stderr and "BOT_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr


def _check(tmp_path: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "check"],
        cwd=tmp_path,
        env=_clean_env(tmp_path, **settings),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_bad_setting_names_it_and_exits_2(tmp_path: Path) -> None:
    result = _check(
        tmp_path,
        TIMEZONE="Mars/Olympus",
        DATABASE_URL="mysql://clerk:s3cret-pw@db/kaohe",
        INVITE_TTL_DAYS="0",
        WEBHOOK_PORT="8443x",
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "配置有误，kaohe 无法启动：",
        "  - DATABASE_URL：不支持“mysql”数据库，请用 sqlite:/// 或 postgresql://",
        "  - TIMEZONE：不认识的时区“Mars/Olympus”，请写成例如 Asia/Shanghai",
        "  - WEBHOOK_PORT：要填整数，现在是“8443x”",
        "  - INVITE_TTL_DAYS：不能小于 1，现在是 0",
        "请在 .env 文件（或环境变量）中改正以上设置；每项设置的说明见 .env.example。",
    ]
    assert "s3cret-pw" not in result.stderr  # the database URL is not repeated: it holds a password


def test_bad_settings_are_explained_in_the_default_language(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DEFAULT_LANGUAGE=en\nLOG_LEVEL=loud\n", encoding="utf-8")
    result = _check(tmp_path, DATABASE_URL="::::")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "The settings are not usable, so kaohe cannot start:",
        "  - DATABASE_URL: is not a database URL; write e.g. sqlite:///data/kaohe.db or"
        " postgresql://user@host/dbname",
        "  - LOG_LEVEL: must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, not 'loud'",
        "Fix these in the .env file (or the environment); .env.example explains every setting.",
    ]
    # A language the bot does not speak is itself the problem, said in Chinese.
    result = _check(tmp_path, DEFAULT_LANGUAGE="fr")
    assert "DEFAULT_LANGUAGE：只能是 zh（中文）或 en（English），现在是“fr”" in result.stderr


async def test_roster_import_then_bad_copy_imports_nothing(
    clerk_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    example = ROOT / "examples" / "roster.xlsx"
    assert await asyncio.to_thread(main, ["roster", "import", str(example)]) == 0
    people = await _cadres(clerk_env)
    assert len([c for c in people if c.has("cadre")]) == 12

    bad = tmp_path / "bad.xlsx"
    shutil.copyfile(example, bad)
    book = openpyxl.load_workbook(bad)
    sheet = book.active
    header = [cell.value for cell in sheet[1]]
    sheet.cell(row=4, column=header.index("角色") + 1, value="组长")
    sheet.cell(row=5, column=header.index("姓名") + 1, value="新来的人")
    book.save(bad)
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["roster", "import", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "第 4 行「角色」" in err and "组长" in err
    assert "一个人都没有导入" in err
    names = {c.name for c in await _cadres(clerk_env)}
    assert "新来的人" not in names and len(names) == len(people)


async def test_invite_all_writes_a_printable_sheet(
    clerk_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await asyncio.to_thread(main, ["roster", "import", str(ROOT / "examples" / "roster.xlsx")])
    sheet_path = tmp_path / "codes.xlsx"
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["invite", "--all", "--xlsx", str(sheet_path)]) == 0
    out = capsys.readouterr().out
    people = await _cadres(clerk_env)
    assert out.count("https://t.me/kaohe_test_bot?start=") == len(people)
    assert f"[{len(people)}/{len(people)}]" in out
    rows = list(openpyxl.load_workbook(sheet_path).active.iter_rows(values_only=True))
    assert any("李明" in [str(v) for v in row] for row in rows)
    assert await asyncio.to_thread(main, ["invite", "没有这个人"]) == 1
    assert await asyncio.to_thread(main, ["invite"]) == 2


async def test_roster_list_export_and_check(
    clerk_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await asyncio.to_thread(main, ["roster", "import", str(ROOT / "examples" / "roster.xlsx")])
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["roster", "list"]) == 0
    listing = capsys.readouterr().out
    assert "王芳" in listing and "蹲点：杨柳村" in listing and "未登记" in listing
    exported = tmp_path / "out.xlsx"
    assert await asyncio.to_thread(main, ["roster", "export", str(exported)]) == 0
    assert exported.exists()
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["check"]) == 1  # no token
    report = capsys.readouterr().out
    assert "BOT_TOKEN：未设置" in report and "正常" in report


async def test_db_backup_is_a_consistent_copy(
    clerk_env: str, backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await asyncio.to_thread(main, ["roster", "import", str(ROOT / "examples" / "roster.xlsx")])
    target = tmp_path / "backup" / "copy.db"
    code = await asyncio.to_thread(main, ["db", "backup", str(target)])
    if backend == "postgresql":
        assert code == 2 and "pg_dump" in capsys.readouterr().err
        return
    assert code == 0
    with sqlite3.connect(target) as copy:
        assert copy.execute("select count(*) from cadre").fetchone()[0] == 15
    assert await asyncio.to_thread(main, ["db", "current"]) == 0


async def test_kaohe_run_answers_through_a_bot_api_server(clerk_env: str, tmp_path: Path) -> None:
    """`kaohe run` as its own process, pointed at a Bot API-compatible server by URL."""
    from bot.emulator.server import serve
    from bot.emulator.simulator import Simulator
    from bot.emulator.telegram import FakeTelegram

    await asyncio.to_thread(main, ["roster", "import", str(ROOT / "examples" / "roster.xlsx")])
    fake = FakeTelegram()
    async with serve(fake) as server:
        env = _clean_env(
            tmp_path,
            BOT_TOKEN=TEST_TOKEN,
            TELEGRAM_API_BASE_URL=server.base_url,
            TELEGRAM_API_FILE_URL=server.base_file_url,
            DATABASE_URL=clerk_env,
            UNIT_NAME="青山镇",
            LOG_LEVEL="INFO",
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            sim = Simulator(None, fake, via="polling", poll_timeout=30)
            engine = create_engine(clerk_env)
            async with make_session_factory(engine)() as session:
                li = (await session.exec(select(Cadre).where(Cadre.name == "李明"))).one()
            await engine.dispose()
            from datetime import timedelta

            from storage.engine import transaction
            from storage.queries.invites import issue_code

            engine = create_engine(clerk_env)
            async with transaction(make_session_factory(engine)) as session:
                code, _ = await issue_code(
                    session=session,
                    cadre=li,
                    ttl=timedelta(days=1),
                    created_by="test",
                    now=utcnow(),
                )
            await engine.dispose()

            user = sim.user(8001, "李明")
            mark = user.mark()
            await user.command("start", code)
            greeting = await user.wait_for_message(mark, timeout=60)
            assert "登记成功" in greeting.text and "李明" in greeting.text

            stranger = sim.user(8002, "路人")
            mark = stranger.mark()
            await stranger.command("start", code)
            refused = await stranger.wait_for_message(mark, timeout=30)
            assert "已经用过了" in refused.text

            mark = user.mark()
            await user.command("help")
            assert "/whoami" in (await user.wait_for_message(mark, timeout=30)).text
        finally:
            process.terminate()
            output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
        log = output.decode()
        assert TEST_TOKEN not in log
        assert "/start -> start:bound" in log
        assert await _bound(clerk_env) == {"李明": 8001}


async def _bound(url: str) -> dict[str, int]:
    return {c.name: c.telegram_user_id for c in await _cadres(url) if c.telegram_user_id}


async def test_kaohe_run_in_webhook_mode(clerk_env: str, tmp_path: Path) -> None:
    """With WEBHOOK_URL set, the bot registers the webhook and answers posted updates; a post
    without the secret token is refused."""
    import socket

    import httpx

    from bot.cli.main import webhook_secret
    from bot.core.config import Settings
    from bot.emulator.server import serve
    from bot.emulator.simulator import Simulator, _text_content
    from bot.emulator.telegram import FakeTelegram

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    fake = FakeTelegram()
    async with serve(fake) as server:
        env = _clean_env(
            tmp_path,
            BOT_TOKEN=TEST_TOKEN,
            TELEGRAM_API_BASE_URL=server.base_url,
            DATABASE_URL=clerk_env,
            WEBHOOK_URL="https://bot.example.org/kaohe",
            WEBHOOK_LISTEN="127.0.0.1",
            WEBHOOK_PORT=str(port),
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            await fake.wait_for(lambda: fake.calls_to("setWebhook"), timeout=60)
            registered = fake.calls_to("setWebhook")[-1].params
            assert registered["url"] == "https://bot.example.org/kaohe"
            secret = webhook_secret(Settings(_env_file=None, bot_token=TEST_TOKEN))  # type: ignore[call-arg, arg-type]  # pydantic-settings: _env_file at construction, a str for the SecretStr
            assert registered["secret_token"] == secret

            sim = Simulator(None, fake, via="polling")
            stranger = sim.user(8100, "路人")
            update = sim.message_update(stranger.id, stranger.id, _text_content("/help"))
            async with httpx.AsyncClient() as client:
                url = f"http://127.0.0.1:{port}/kaohe"
                forged = await client.post(url, json=update)
                assert forged.status_code == 403
                mark = stranger.mark()
                posted = await client.post(
                    url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret}
                )
                assert posted.status_code == 200
            reply = await stranger.wait_for_message(mark, timeout=30)
            assert "登记码" in reply.text
        finally:
            process.terminate()
            output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
        assert TEST_TOKEN not in output.decode()
        assert secret not in output.decode()


def test_env_example_as_is_is_a_valid_configuration(tmp_path: Path) -> None:
    """A clerk who copies .env.example and fills in nothing yet gets a report, not an error."""
    shutil.copyfile(ROOT / ".env.example", tmp_path / ".env")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "check"],
        cwd=tmp_path,
        env=_clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr  # only the token is missing
    assert "BOT_TOKEN：未设置" in result.stdout
    assert "Asia/Shanghai" in result.stdout
