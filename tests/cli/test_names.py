"""Names as the clerk's sheets spell them: padding around a rare character beyond the basic
plane (龚  𬌗), and the many dots of a two-part name (阿依古丽·买买提), on both backends."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

import pytest
from sqlmodel import select

from bot.cli.main import main
from storage.engine import create_engine, make_session_factory, transaction
from storage.models import Cadre, Department, Unit

HEADER = ["姓名", "部门", "角色", "分管领导"]


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


# One name, as different keyboards and sheets type it.
DOTS = ["·", "•", "・", "‧", "･", "∙", "⋅"]


def _roster(path: Path, gong: str, ayiguli: str) -> Path:
    rows = [
        HEADER,
        ["赵建国", "领导班子", "领导", None],
        ["李明", "党政办公室", "干部、部门负责人", "赵建国"],
        [gong, "党政办公室", "干部", None],
        [ayiguli, "党政办公室", "干部", None],
    ]
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


async def _people(url: str) -> list[Cadre]:
    engine = create_engine(url)
    try:
        async with make_session_factory(engine)() as session:
            return list((await session.exec(select(Cadre).order_by(Cadre.id))).all())
    finally:
        await engine.dispose()


async def test_reimporting_with_other_padding_and_dots_adds_nobody_and_invite_finds_them(
    clerk_env: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first = _roster(tmp_path / "first.csv", "龚  𬌗", "阿依古丽•买买提")
    assert await asyncio.to_thread(main, ["roster", "import", str(first)]) == 0
    people = await _people(clerk_env)
    assert [c.name for c in people] == ["赵建国", "李明", "龚𬌗", "阿依古丽·买买提"]

    for number, dot in enumerate(DOTS):
        again = _roster(
            tmp_path / f"again{number}.csv",
            "龚 𬌗" if number % 2 else "龚𬌗",
            f"阿依古丽{dot}买买提",
        )
        capsys.readouterr()
        assert await asyncio.to_thread(main, ["roster", "import", str(again)]) == 0, dot
        assert "新增 0 人" in capsys.readouterr().out, dot
        assert [(c.id, c.name) for c in await _people(clerk_env)] == [
            (c.id, c.name) for c in people
        ], dot

    capsys.readouterr()
    assert await asyncio.to_thread(main, ["invite", "龚𬌗"]) == 0
    out = capsys.readouterr().out
    assert "[1/1] 龚𬌗（党政办公室）" in out and "https://t.me/kaohe_test_bot?start=" in out
    assert await asyncio.to_thread(main, ["invite", "龚  𬌗"]) == 0  # as padded in the sheet
    assert await asyncio.to_thread(main, ["invite", "阿依古丽・买买提"]) == 0
    assert "[1/1] 阿依古丽·买买提（党政办公室）" in capsys.readouterr().out


async def test_a_name_stored_before_the_rules_knew_its_spelling_is_found_and_corrected(
    clerk_env: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    roster = _roster(tmp_path / "roster.csv", "龚𬌗", "阿依古丽·买买提")
    assert await asyncio.to_thread(main, ["roster", "import", str(roster)]) == 0
    # As the name rules stored them before: the padding kept around 𬌗, the dot as typed.
    engine = create_engine(clerk_env)
    try:
        async with transaction(make_session_factory(engine)) as session:
            for cadre in (await session.exec(select(Cadre))).all():
                cadre.name = {"龚𬌗": "龚 𬌗", "阿依古丽·买买提": "阿依古丽•买买提"}.get(
                    cadre.name, cadre.name
                )
                session.add(cadre)
            assert (await session.exec(select(Unit))).first() is not None
            assert len((await session.exec(select(Department))).all()) == 2
    finally:
        await engine.dispose()
    before = {c.id for c in await _people(clerk_env)}

    capsys.readouterr()
    assert await asyncio.to_thread(main, ["roster", "import", str(roster)]) == 0
    out = capsys.readouterr().out
    assert "新增 0 人" in out and "更新 2 人" in out
    people = await _people(clerk_env)
    assert {c.id for c in people} == before
    assert {c.name for c in people} >= {"龚𬌗", "阿依古丽·买买提"}
    assert await asyncio.to_thread(main, ["invite", "龚𬌗"]) == 0
