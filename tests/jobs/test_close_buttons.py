"""A closed month's old messages lose their buttons (issue 9, item 13): when the scheduler closes
a month, the start buttons under its opening, reminders and deadline notice are taken off those
messages (editMessageReplyMarkup), a message of it not sent yet goes without them, and doing it
again changes nothing. The next month's messages keep theirs.

The months run on a clock moved by hand, through the real Application, the outbox and the fake
Bot API, on both backends.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from bot.core.clock import ManualClock
from bot.jobs.sender import Pacer
from storage.engine import transaction
from storage.models import OutboxMessage, Period
from storage.queries import outbox as outbox_q

SH = ZoneInfo("Asia/Shanghai")
PEOPLE = ("周晓燕", "吴磊", "王芳", "李明", "郑海涛")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 7, 24, 8, 0, tzinfo=SH))


async def run_until(town: Any, clock: ManualClock, key: str) -> Period:
    """Move the clock from event to event, letting the scheduler run each (and send what it
    queued), until an event whose key starts with ``key`` is done; return its period."""
    scheduler = town.app.scheduler
    while True:
        pending = [e for e in await scheduler.pending_events() if e.due > clock.now()]
        assert pending, f"no {key} event left on the calendar"
        clock.set(pending[0].due)
        for ran in await scheduler.run_until_idle():
            done = ran.outcome is not None and ran.outcome.outcome == "done"
            if done and ran.event.key.startswith(key):
                return await town.period(ran.event.period_id)


async def _rows(town: Any, period: Period, *kinds: str) -> list[OutboxMessage]:
    async with town.services.sessions() as session:
        statement = (
            select(OutboxMessage)
            .where(OutboxMessage.period_id == period.id)
            .where(col(OutboxMessage.kind).in_(kinds))
            .order_by(col(OutboxMessage.id))
        )
        return list((await session.exec(statement)).all())


def _buttons(fake: Any, row: OutboxMessage) -> list[Any]:
    """The inline buttons the message of ``row`` shows in the chat now."""
    assert row.message_id is not None
    message = fake.message(row.chat_id, row.message_id)
    assert message is not None
    return list((message.reply_markup or {}).get("inline_keyboard", []))


async def test_a_closed_months_messages_lose_their_buttons(
    town: Any, clock: ManualClock, fake: Any
) -> None:
    town.app.sender.pacer = Pacer(per_second=10_000.0, private_gap=0.0, group_gap=0.0)
    services = town.services
    await town.create_years(2026)
    for name in PEOPLE:
        await town.signup(name)

    july = await run_until(town, clock, "open")
    await run_until(town, clock, "remind:3d")
    started = await _rows(town, july, "opening", "reminder")
    assert {r.kind for r in started} == {"opening", "reminder"}
    assert all(r.state == "sent" and _buttons(fake, r) for r in started)

    # A reminder still waiting to go out when the month closes (the sender behind).
    wang = await town.cadre("王芳")
    late = started[0].reply_markup
    async with transaction(services.sessions) as session:
        await outbox_q.enqueue(
            session=session,
            unit_id=services.unit,
            key="test:late-reminder",
            event="test:late",
            kind="reminder",
            chat_id=wang.telegram_user_id,
            text="还在路上的提醒",
            now=clock.now() + timedelta(days=30),  # not due before the close
            reply_markup=late,
            period_id=july.id,
            cadre_id=wang.id,
        )

    edits_before = len(fake.calls_to("editMessageReplyMarkup"))
    july = await run_until(town, clock, "close")  # the later reminders go out on the way
    assert july.state == "closed"
    started = [
        r for r in await _rows(town, july, "opening", "reminder") if r.key != "test:late-reminder"
    ]
    assert len(started) > len({r.chat_id for r in started})  # several a chat
    for row in started:
        assert _buttons(fake, row) == [], row.key
    edits = fake.calls_to("editMessageReplyMarkup")[edits_before:]
    assert len(edits) == len(started) and all(c.ok for c in edits)
    assert {(c.params["chat_id"], c.params["message_id"]) for c in edits} == {
        (r.chat_id, r.message_id) for r in started
    }
    # The close's own messages (results, the office's summary) are untouched, sent after.
    assert await _rows(town, july, "result", "summary")

    # The reminder that had not gone out goes without its buttons.
    clock.set(clock.now() + timedelta(days=31))
    await town.app.sender.flush()
    [pending] = [r for r in await _rows(town, july, "reminder") if r.key == "test:late-reminder"]
    assert pending.state == "sent" and _buttons(fake, pending) == []

    # Again (a second bot, a restart): nothing left to do, nothing asked of Telegram.
    assert await town.app.scheduler.old_buttons_off() == 0
    assert len(fake.calls_to("editMessageReplyMarkup")) == edits_before + len(started)


async def test_the_next_months_buttons_stay_and_a_restart_catches_up(
    town: Any, clock: ManualClock, fake: Any
) -> None:
    town.app.sender.pacer = Pacer(per_second=10_000.0, private_gap=0.0, group_gap=0.0)
    services = town.services
    await town.create_years(2026)
    for name in PEOPLE:
        await town.signup(name)
    july = await run_until(town, clock, "open")
    august = await run_until(town, clock, "open")
    assert august.number == 8
    july_rows = await _rows(town, july, "opening", "reminder", "extended")
    august_rows = await _rows(town, august, "opening")
    assert all(_buttons(fake, r) == [] for r in july_rows)
    assert august_rows and all(_buttons(fake, r) for r in august_rows)

    # A bot that died between August's close and its buttons: the next start takes them off.
    clock.set(august.closes_at + timedelta(minutes=1))
    async with transaction(services.sessions) as session:
        row = await session.get(Period, august.id)
        assert row is not None
        row.state = "closed"
        session.add(row)
    assert await town.app.scheduler.old_buttons_off() == len(august_rows)
    assert all(_buttons(fake, r) == [] for r in august_rows)
