"""The office runs the calendar: /extend and /leave in chat, ``kaohe periods extend``,
``kaohe leave`` and ``kaohe calendar`` on the command line, and the running bot noticing a change
made by the command line (another process) through its watcher."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.cli.main import main
from bot.jobs.scheduler import WATCH_JOB
from bot.rules.workdays import CalendarFileError, parse_calendar_file
from storage.models import AuditLog, CalendarDay, Leave, OutboxMessage, Period
from tests.harness.appraisal import cast_for, submit_self

SCORES = {"duty": "85", "central": "90"}


@pytest.fixture
def clerk_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> str:
    """The clerk's shell on the same database as the running bot."""
    monkeypatch.chdir(tmp_path)
    for name in ("BOT_TOKEN", "TELEGRAM_API_BASE_URL", "LEADERSHIP_CHAT_ID", "WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("UNIT_NAME", "青山镇")
    return database_url


async def _deadline(town: Any, period: Period) -> datetime:
    return (await town.period(period.id)).closes_at


async def test_extend_in_chat_tells_everyone_still_pending(town: Any, texts: Any) -> None:
    period = await town.open_month(2026, 11)
    clerk = await town.signup("周晓燕")
    late = await town.signup("冯超")
    done = await town.signup("吴磊")
    await submit_self(town, period, "吴磊", SCORES)
    await cast_for(town, period, "吴磊")
    before = await _deadline(town, period)

    # Mistakes get the usage with an example, and change nothing.
    for args in (
        (),
        ("明天",),
        ("12-40", "原因"),
        ("2026-01-01", "原因"),
        (before.strftime("%m-%d"),),
    ):
        await clerk.command("extend", *args)
        assert "/extend 日期" in clerk.last().text, args
    assert await _deadline(town, period) == before
    # Only the office may.
    await late.command("extend", "12-31", "原因")
    assert "只对党政办开放" in late.last().text

    until = (before + timedelta(days=3)).astimezone(town.services.settings.zone)
    await clerk.command("extend", until.strftime("%m-%d"), "防汛抢险，多数同志下村")
    assert "已把2026年11月考核的截止时间" in clerk.last().text
    new = await _deadline(town, period)
    assert new.astimezone(town.services.settings.zone).date() == until.date()
    async with town.services.sessions() as session:
        audit = (
            await session.exec(select(AuditLog).where(AuditLog.action == "period.extend"))
        ).one()
    assert audit.reason == "防汛抢险，多数同志下村" and audit.actor == "周晓燕"

    # The scheduler tells whoever is still pending, once.
    await town.app.scheduler.run_until_idle()
    assert "截止时间已延长" in late.last().text and "防汛抢险" in late.last().text
    assert not any("截止时间已延长" in m.text for m in done.messages())
    await town.app.scheduler.run_until_idle()
    assert sum("截止时间已延长" in m.text for m in late.messages()) == 1


async def test_leave_in_chat(town: Any, texts: Any) -> None:
    clerk = await town.signup("周晓燕")
    await clerk.command("leave")
    assert "现在和以后都没有人请假" in clerk.last().text
    for args in (
        ("王芳",),
        ("王芳", "12-10", "12-01"),
        ("路人", "12-01", "12-10"),
        ("王芳", "x", "y"),
    ):
        await clerk.command("leave", *args)
        assert "/leave 姓名" in clerk.last().text, args
    async with town.services.sessions() as session:
        assert (await session.exec(select(Leave))).all() == []
    await clerk.command("leave", "王芳", "2026-12-01", "2026-12-10", "病假")
    assert "已登记：王芳" in clerk.last().text
    async with town.services.sessions() as session:
        leave = (await session.exec(select(Leave))).one()
    assert (leave.starts_on, leave.ends_on, leave.reason) == (
        date(2026, 12, 1),
        date(2026, 12, 10),
        "病假",
    )


async def test_a_change_from_the_command_line_is_noticed_by_the_running_bot(
    town: Any, clerk_env: str
) -> None:
    period = await town.open_month(2026, 11)
    late = await town.signup("冯超")
    scheduler = town.app.scheduler
    watch = next(j for j in town.app.job_queue.jobs() if j.name == WATCH_JOB)
    assert watch.job.trigger.interval <= timedelta(minutes=1)  # noticed within a minute
    before = await _deadline(town, period)
    until = (before + timedelta(days=2)).astimezone(town.services.settings.zone)
    code = await asyncio.to_thread(
        main,
        [
            "periods",
            "extend",
            "2026-11",
            "--until",
            until.strftime("%Y-%m-%d %H:%M"),
            "--reason",
            "县里检查",
        ],
    )
    assert code == 0
    # What the watcher does each round: the periods changed, so the plan is rebuilt and run.
    assert await scheduler.fingerprint() != scheduler._fingerprint
    await watch.run(town.app)
    await town.app.sender.flush()
    assert "截止时间已延长" in late.last().text and "县里检查" in late.last().text
    names = {j.name for j in town.app.job_queue.jobs()}
    assert any(n.startswith("kaohe:event:close@") for n in names)


def test_a_calendar_file_with_mistakes_names_each_line() -> None:
    text = "\n".join(
        [
            "# 2027",
            "year 2027",
            "2027-01-01 ~ 2027-01-03 holiday 元旦",
            "2027-02-30 holiday 错日",
            "2027-02-06 ~ 2027-02-01 休 倒序",
            "2027-03-01 班 周一调休",
            "2028-05-01 休 别的年份",
            "2027-01-02 休 重复",
            "2027-04-04 放假",
            "2027-10-01 ~ 2027-10-30 休 太长",
        ]
    )
    with pytest.raises(CalendarFileError) as caught:
        parse_calendar_file(text)
    assert [(p.line, p.code) for p in caught.value.problems] == [
        (4, "bad_date"),
        (5, "range_backwards"),
        (6, "workday_not_weekend"),
        (7, "other_year"),
        (8, "day_repeated"),
        (9, "bad_kind"),
        (10, "range_too_long"),
    ]
    with pytest.raises(CalendarFileError) as caught:
        parse_calendar_file("2027-01-01 休 元旦")
    assert [p.code for p in caught.value.problems] == ["no_year"]
    loaded = parse_calendar_file("year 2027\n2027-01-01 ~ 2027-01-03 休 元旦\n2027-02-14 班")
    assert len(loaded.holidays) == 3 and list(loaded.workdays) == [date(2027, 2, 14)]


async def test_calendar_import_and_show_on_the_command_line(
    clerk_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], town: Any
) -> None:
    bad = tmp_path / "2027.txt"
    bad.write_text("year 2027\n2027-01-01 ~ 2027-01-03 休 元旦\n2027-02-30 休\n", encoding="utf-8")
    assert await asyncio.to_thread(main, ["calendar", "import", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "第 3 行" in err and "2027-02-30" in err
    async with town.services.sessions() as session:
        assert (await session.exec(select(CalendarDay))).all() == []
    assert await asyncio.to_thread(main, ["calendar", "show", "2027"]) == 0
    assert "还没有载入" in capsys.readouterr().out
    bad.write_text("year 2027\n2027-01-01 ~ 2027-01-03 休 元旦\n2027-02-14 班 春节调休\n", "utf-8")
    assert await asyncio.to_thread(main, ["calendar", "import", str(bad)]) == 0
    assert "放假 3 天，调休上班 1 天" in capsys.readouterr().out
    assert await asyncio.to_thread(main, ["calendar", "show", "2027"]) == 0
    assert "02-14 春节调休" in capsys.readouterr().out
    # 2026 comes from the package: National Day, and the Saturday worked after it.
    assert await asyncio.to_thread(main, ["calendar", "show", "2026"]) == 0
    out = capsys.readouterr().out
    assert "10-01" in out and "10-10" in out


async def test_leave_on_the_command_line(
    clerk_env: str, capsys: pytest.CaptureFixture[str], town: Any
) -> None:
    assert await asyncio.to_thread(main, ["leave", "add", "王芳", "2026-12-10", "2026-12-01"]) == 2
    assert await asyncio.to_thread(main, ["leave", "add", "路人", "2026-12-01", "2026-12-10"]) == 1
    capsys.readouterr()
    args = ["leave", "add", "王芳", "2026-12-01", "2026-12-10", "--reason", "病假"]
    assert await asyncio.to_thread(main, args) == 0
    assert "已登记请假 #1：王芳" in capsys.readouterr().out
    assert await asyncio.to_thread(main, ["leave", "list", "--all"]) == 0
    assert "王芳\t2026-12-01 至 2026-12-10\t病假" in capsys.readouterr().out
    assert await asyncio.to_thread(main, ["leave", "remove", "1"]) == 0
    assert await asyncio.to_thread(main, ["leave", "remove", "1"]) == 1
    async with town.services.sessions() as session:
        assert (await session.exec(select(Leave))).all() == []
        assert (await session.exec(select(OutboxMessage))).all() == []
