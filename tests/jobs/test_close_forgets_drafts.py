"""Uncast ballots do not outlive the month (issue 10, defect 2): when the scheduler closes a
month at its deadline, every draft (voter, colleague, grade) of a ballot never cast is deleted,
and the deleted rows are gone from the disk as well: SQLite overwrites them (``secure_delete``)
and its write-ahead log is checkpointed and truncated; PostgreSQL vacuums the table.

The month runs on a clock moved by hand, from its opening (with its start buttons) to its close,
through the real Application, the outbox and the fake Bot API.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlmodel import select

from bot.core.clock import ManualClock
from bot.jobs.sender import Pacer
from storage.engine import sqlite_path
from storage.models import BallotDraft, Period, PeriodState
from tests.harness.ballot import ballot_message, grade_data, names_on

SH = ZoneInfo("Asia/Shanghai")
VOTERS = ("吴磊", "冯超")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 7, 24, 8, 0, tzinfo=SH))


async def run_until(town: Any, clock: ManualClock, kind: str) -> Period:
    """Move the clock from event to event, letting the scheduler run each, until an event of
    ``kind`` ("open", "close") has run; return its period as it is then."""
    scheduler = town.app.scheduler
    while True:
        pending = [e for e in await scheduler.pending_events() if e.due > clock.now()]
        assert pending, f"no {kind} event left on the calendar"
        clock.set(pending[0].due)
        for ran in await scheduler.run_until_idle():
            if ran.outcome is not None and ran.outcome.outcome == "done" and ran.event.key == kind:
                return await town.period(ran.event.period_id)


def _record(*values: int | str) -> bytes:
    """A row as SQLite writes it in a table's page (record format 4: small integers in one
    byte, 0 and 1 in the header alone, text as UTF-8)."""
    types, body = bytearray(), bytearray()
    for value in values:
        if isinstance(value, str):
            data = value.encode()
            types.append(13 + 2 * len(data))
            body += data
        elif value in (0, 1):
            types.append(8 + value)
        else:
            assert 1 < value < 128, value
            types.append(1)
            body.append(value)
    return bytes([1 + len(types)]) + bytes(types) + bytes(body)


def _on_disk(town: Any) -> bytes:
    """The SQLite database file and its write-ahead log, as they are on the disk now."""
    database = sqlite_path(town.services.settings.resolved_database_url)
    assert database is not None
    wal = Path(f"{database}-wal")
    return Path(database).read_bytes() + (wal.read_bytes() if wal.exists() else b"")


async def _vacuums(town: Any) -> int:
    async with town.services.engine.connect() as connection:
        found = await connection.execute(
            text("select vacuum_count from pg_stat_user_tables where relname = 'ballot_draft'")
        )
        return int(found.scalar() or 0)


async def test_a_month_closed_by_the_scheduler_leaves_no_draft_on_disk(
    town: Any, clock: ManualClock, texts: Any, backend: str
) -> None:
    # The sender paces in real seconds (one message a second to a chat): not waited for here.
    town.app.sender.pacer = Pacer(per_second=10_000.0, private_gap=0.0, group_gap=0.0)
    await town.create_years(2026)
    voters = [await town.signup(name) for name in VOTERS]
    july = await run_until(town, clock, "open")
    assert july.state == PeriodState.OPEN

    # Each voter starts the ballot from the opening message's button, grades one colleague and
    # never casts it.
    excellent = texts.label("zh", "ballot.grade.excellent")
    for user in voters:
        await user.press(texts.label("zh", "jobs.vote"))
        ballot = ballot_message(user)
        colleague = names_on(ballot)[0]
        await user.press_data(
            grade_data(ballot, colleague, excellent), message_id=ballot.message_id
        )
    async with town.services.sessions() as session:
        rows = (await session.exec(select(BallotDraft))).all()
    assert len(rows) == len(VOTERS)
    # The exact rows, as the disk holds them (the test's own check that it looks for the right
    # bytes): period, voter, colleague, grade.
    drafts = [_record(r.period_id, r.rater_id, r.ratee_id, r.grade) for r in rows]
    if backend == "sqlite":
        async with town.services.engine.connect() as connection:
            assert (await connection.execute(text("PRAGMA secure_delete"))).scalar() == 1
        disk = _on_disk(town)
        assert all(draft in disk for draft in drafts)
    else:
        vacuums = await _vacuums(town)

    closed = await run_until(town, clock, "close")
    assert closed.id == july.id and closed.state == PeriodState.CLOSED
    async with town.services.sessions() as session:
        assert (await session.exec(select(BallotDraft))).all() == []
    if backend == "sqlite":
        # Neither in the database's pages (overwritten) nor in its log (checkpointed, truncated;
        # what the log holds now is the closing's messages being sent).
        disk = _on_disk(town)
        assert not [draft for draft in drafts if draft in disk]
    else:
        assert await _vacuums(town) > vacuums
        # No dead row version left, read from the table's pages themselves (pgstattuple): the
        # statistics view's n_dead_tup lags, as the deleting connection reports its counts when
        # it gets round to it, sometimes after the vacuum.
        async with town.services.engine.connect() as connection:
            await connection.execute(text("create extension if not exists pgstattuple"))
            dead = await connection.execute(
                text("select dead_tuple_count, tuple_count from pgstattuple('ballot_draft')")
            )
            assert tuple(dead.one()) == (0, 0)
