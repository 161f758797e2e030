"""The sandbox's Python API: the real bot and the example town on a fake Telegram, an SQLite file
of its own and a clock that moves when told (what the page and the demo drive).

Nothing sleeps: each clock move runs the events due and waits until their messages are sent.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.core.config import Settings
from bot.emulator.request import FakeRequest
from bot.sandbox.sandbox import MARKER_SUFFIX, Sandbox, SandboxRefused, sandbox_database
from storage.models import Cadre, Period, PeriodState, Result, Unit

SH = ZoneInfo("Asia/Shanghai")
JULY_EVE = datetime(2026, 7, 25, 8, 0, tzinfo=SH)  # an hour before the July window opens


def _settings(tmp_path: Path, **values: Any) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]  # pydantic-settings takes _env_file at construction
        data_dir=tmp_path / "data",
        unit_name="青山镇",
        **values,
    )


async def _rows(sandbox: Sandbox, model: Any) -> list[Any]:
    async with sandbox.services.sessions() as session:
        return list((await session.exec(select(model))).all())


async def test_a_cadre_self_scores_and_reads_the_result_at_the_deadline(tmp_path: Path) -> None:
    async with Sandbox(_settings(tmp_path), start=JULY_EVE) as sandbox:
        texts_zh = sandbox.services.texts
        # The whole roster is signed up through /start CODE; the group is bound by the office.
        cadres = await _rows(sandbox, Cadre)
        assert cadres and all(c.telegram_user_id for c in cadres)
        chats = await sandbox.chats()
        assert {c.title for c in chats if not c.is_group} == {c.name for c in cadres}
        group = next(c for c in chats if c.is_group)
        assert group.title == texts_zh.label("zh", "sandbox.group_title")
        assert {name for _, name in group.members} == {"赵建国", "钱志强", "孙丽华", "周晓燕"}
        (unit,) = await _rows(sandbox, Unit)
        assert unit.leadership_chat_id == sandbox.group_id
        wu = sandbox.chat_of("吴磊")
        welcome = sandbox.transcript(wu)
        assert [e.from_bot for e in welcome] == [False, True]
        assert welcome[0].text.startswith("/start ") and "吴磊" in welcome[1].text

        # The calendar's next event is July's opening; moving the clock there runs it.
        upcoming = await sandbox.upcoming()
        assert upcoming is not None
        assert (upcoming.kind, upcoming.period) == ("open", "2026-07")
        assert upcoming.due == datetime(2026, 7, 25, 9, 0, tzinfo=SH)
        assert await sandbox.next_event() == upcoming
        assert sandbox.now() >= upcoming.due
        opening = sandbox.transcript(wu)[-1]
        assert opening.from_bot and "2026年7月" in opening.text
        assert opening.buttons[0][0].text == texts_zh.label("zh", "jobs.start_self")

        # /selfscore with a mistake, then valid answers (typed and from the reply keyboard).
        await sandbox.send(wu, "/selfscore")
        assert "100" in sandbox.reply_keyboard(wu)[0]
        before = len(sandbox.transcript(wu))
        await sandbox.send(wu, "abc")
        complaint = sandbox.transcript(wu)[-1]
        assert len(sandbox.transcript(wu)) == before + 2 and complaint.text.startswith("⚠️")
        skip = texts_zh.label("zh", "selfscore.skip")
        for answer in ("85", skip, "90", skip):
            await sandbox.send(wu, answer)
        summary = sandbox.transcript(wu)[-1]
        assert "85.5" in summary.text
        submit = texts_zh.label("zh", "selfscore.submit")
        (row, column) = next(
            (r, c)
            for r, line in enumerate(summary.buttons)
            for c, b in enumerate(line)
            if b.text == submit
        )
        answer = await sandbox.press(wu, summary.message_id, row, column)
        assert answer.answered
        with pytest.raises(LookupError):
            await sandbox.press(wu, summary.message_id, 9, 9)

        # To the deadline, event by event: three reminders (he has not voted), then the close.
        kinds = []
        while not kinds or kinds[-1] != "close":
            event = await sandbox.next_event()
            assert event is not None and event.period == "2026-07"
            kinds.append(event.kind)
        assert kinds == ["remind", "remind", "remind", "close"]
        assert sandbox.now().hour == 18
        result = sandbox.transcript(wu)[-1]
        assert "85.5" in result.text and texts_zh.label("zh", "grade.good") in result.text

        july = next(p for p in await _rows(sandbox, Period) if p.kind == "month" and p.number == 7)
        assert july.state == PeriodState.CLOSED
        wu_id = next(c.id for c in cadres if c.name == "吴磊")
        (mine,) = [r for r in await _rows(sandbox, Result) if r.cadre_id == wu_id]
        assert mine.period_id == july.id and mine.score == Decimal("85.5")

        # A clock move by an hour or a day runs what falls due on the way.
        await sandbox.advance(timedelta(hours=1))
        assert sandbox.now().hour == 19


async def test_by_default_the_clock_starts_before_this_quarter_opens(tmp_path: Path) -> None:
    reference = datetime(2026, 8, 10, 12, 0, tzinfo=SH)
    async with Sandbox(_settings(tmp_path), reference=reference) as sandbox:
        now = sandbox.now()
        assert (now.month, now.day, now.hour) == (7, 25, 8)
        assert now - JULY_EVE < timedelta(minutes=1)
        upcoming = await sandbox.upcoming()
        assert upcoming is not None and (upcoming.kind, upcoming.period) == ("open", "2026-07")
        # The months before were passed over, with nobody told anything about them.
        periods = await _rows(sandbox, Period)
        assert all(p.state == PeriodState.SCHEDULED for p in periods)
        assert {p.year for p in periods} == {2026, 2027}
        assert all(len(sandbox.transcript(c.chat_id)) == 2 for c in await sandbox.chats())


async def test_the_bot_speaks_to_nothing_but_the_fake_telegram(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path,
        bot_token="123456789:LIVETOKENLIVETOKENLIVETOKENLIVETOKE",
        telegram_api_base_url="http://192.0.2.1/bot",
        telegram_proxy_url="socks5://192.0.2.1:1080",
        webhook_url="https://192.0.2.1/hook",
    )
    async with Sandbox(settings, start=JULY_EVE, language="en") as sandbox:
        bot = sandbox.app.bot
        assert all(isinstance(r, FakeRequest) for r in bot._request)
        assert sandbox.settings.telegram_api_base_url is None
        assert sandbox.settings.telegram_proxy_url is None
        assert sandbox.settings.webhook_url is None
        assert sandbox.settings.bot_token is not None
        assert "LIVETOKEN" not in sandbox.settings.bot_token.get_secret_value()
        # In English, people are spoken to in English.
        assert "signed up" in sandbox.transcript(sandbox.chat_of("吴磊"))[-1].text.lower()


def test_the_deployment_database_and_foreign_files_are_refused(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    live = tmp_path / "data" / "kaohe.db"
    with pytest.raises(SandboxRefused) as refused:
        sandbox_database(settings, live)
    assert refused.value.reason == "deployment"
    elsewhere = tmp_path / "live.db"
    with pytest.raises(SandboxRefused) as refused:
        sandbox_database(_settings(tmp_path, database_url=f"sqlite:///{elsewhere}"), elsewhere)
    assert refused.value.reason == "deployment"
    foreign = tmp_path / "mine.db"
    foreign.write_bytes(b"an office's own file")
    with pytest.raises(SandboxRefused) as refused:
        sandbox_database(settings, foreign)
    assert refused.value.reason == "foreign"
    default = sandbox_database(settings)
    assert default == (tmp_path / "data" / "sandbox" / "kaohe.db").resolve()


async def test_each_start_begins_afresh_in_its_own_file(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    db = tmp_path / "trial.db"
    async with Sandbox(settings, db=db, start=JULY_EVE) as sandbox:
        await sandbox.next_event()
        assert db.exists() and db.with_name(db.name + MARKER_SUFFIX).exists()
    async with Sandbox(settings, db=db, start=JULY_EVE) as again:
        periods = await _rows(again, Period)
        assert all(p.state == PeriodState.SCHEDULED for p in periods)
    assert not (tmp_path / "data" / "kaohe.db").exists()
