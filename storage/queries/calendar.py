"""The scheduler's rows: claimed calendar events, leave (请假), loaded holiday schedules.

An event is claimed by inserting its row (unique per period and key) in a transaction of its own
before any of its work: of two bots on one database only one inserts it. Its work then commits
together with marking it done, so a row still ``running`` means the work never committed; once
the claim is older than the lease, another process (or this one after a restart) takes it over
and does the work again, which is written to be safe to repeat.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.rules.workdays import CalendarFile
from storage.engine import insert_for
from storage.models import CalendarDay, CalendarEvent, Leave

__all__ = [
    "LEASE",
    "add_leave",
    "calendar_days",
    "claim_event",
    "events_of_unit",
    "finish_event",
    "leave_between",
    "list_leave",
    "release_event",
    "remove_leave",
    "replace_year",
]

#: How long a claimed event may run before another process may take it over.
LEASE = timedelta(minutes=10)


async def claim_event(
    *,
    session: AsyncSession,
    unit_id: int,
    period_id: int,
    key: str,
    due_at: datetime,
    owner: str,
    now: datetime,
    lease: timedelta = LEASE,
) -> CalendarEvent | None:
    """Claim an event for ``owner``; None if it is done, or running elsewhere within its lease
    (``lease``: :data:`LEASE` as the caller's clock counts it)."""
    statement = (
        insert_for(session, CalendarEvent)
        .values(
            unit_id=unit_id,
            period_id=period_id,
            key=key,
            due_at=due_at,
            state="running",
            owner=owner,
            claimed_at=now,
            detail={},
        )
        .on_conflict_do_nothing(index_elements=["period_id", "key"])
    )
    inserted = await session.exec(statement)
    if inserted.rowcount:
        return await _event(session, period_id, key)
    # Taken over only from a claim that outlived its lease (a process that died half-way).
    taken = await session.exec(
        update(CalendarEvent)
        .where(col(CalendarEvent.period_id) == period_id)
        .where(col(CalendarEvent.key) == key)
        .where(col(CalendarEvent.state) == "running")
        .where(col(CalendarEvent.claimed_at) < now - lease)
        .values(owner=owner, claimed_at=now)
    )
    if taken.rowcount:
        return await _event(session, period_id, key)
    return None


async def _event(session: AsyncSession, period_id: int, key: str) -> CalendarEvent | None:
    statement = select(CalendarEvent).where(
        CalendarEvent.period_id == period_id, CalendarEvent.key == key
    )
    return (await session.exec(statement)).first()


async def finish_event(
    *,
    session: AsyncSession,
    event_id: int,
    outcome: str,
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> None:
    """Mark the event done, in the transaction of its work."""
    await session.exec(
        update(CalendarEvent)
        .where(col(CalendarEvent.id) == event_id)
        .values(state="done", outcome=outcome, done_at=now, detail=detail or {})
    )


async def release_event(*, session: AsyncSession, event_id: int) -> None:
    """Give a claim back (the event is not ready yet: a quarter whose months are still open)."""
    await session.exec(delete(CalendarEvent).where(col(CalendarEvent.id) == event_id))


async def events_of_unit(
    *, session: AsyncSession, unit_id: int, period_ids: Iterable[int] | None = None
) -> list[CalendarEvent]:
    """The claimed events of the unit (of some periods only)."""
    statement = select(CalendarEvent).where(CalendarEvent.unit_id == unit_id)
    if period_ids is not None:
        statement = statement.where(col(CalendarEvent.period_id).in_(list(period_ids)))
    return list((await session.exec(statement.order_by(col(CalendarEvent.id)))).all())


# --- leave ------------------------------------------------------------------------------------


async def add_leave(
    *,
    session: AsyncSession,
    unit_id: int,
    cadre_id: int,
    starts_on: date,
    ends_on: date,
    reason: str | None,
    created_by: str,
    now: datetime,
) -> Leave:
    leave = Leave(
        unit_id=unit_id,
        cadre_id=cadre_id,
        starts_on=starts_on,
        ends_on=ends_on,
        reason=reason,
        created_by=created_by,
        created_at=now,
    )
    session.add(leave)
    await session.flush()
    return leave


async def list_leave(
    *, session: AsyncSession, unit_id: int, since: date | None = None
) -> list[Leave]:
    """The unit's leave, by start date (only leave ending on or after ``since``)."""
    statement = select(Leave).where(Leave.unit_id == unit_id)
    if since is not None:
        statement = statement.where(col(Leave.ends_on) >= since)
    statement = statement.order_by(col(Leave.starts_on), col(Leave.id))
    return list((await session.exec(statement)).all())


async def remove_leave(*, session: AsyncSession, unit_id: int, leave_id: int) -> Leave | None:
    leave = await session.get(Leave, leave_id)
    if leave is None or leave.unit_id != unit_id:
        return None
    await session.delete(leave)
    await session.flush()
    return leave


async def leave_between(
    *, session: AsyncSession, unit_id: int, first: date, last: date
) -> dict[int, list[Leave]]:
    """Leave overlapping the days ``first``..``last``, by cadre."""
    statement = (
        select(Leave)
        .where(Leave.unit_id == unit_id)
        .where(col(Leave.starts_on) <= last)
        .where(col(Leave.ends_on) >= first)
    )
    found: dict[int, list[Leave]] = {}
    for leave in (await session.exec(statement)).all():
        found.setdefault(leave.cadre_id, []).append(leave)
    return found


# --- the official schedule ---------------------------------------------------------------------


async def calendar_days(*, session: AsyncSession) -> list[CalendarDay]:
    """Every day of the schedules the office loaded."""
    return list((await session.exec(select(CalendarDay).order_by(col(CalendarDay.day)))).all())


async def replace_year(*, session: AsyncSession, loaded: CalendarFile, now: datetime) -> int:
    """Replace the loaded schedule of ``loaded.year`` with the file's; return the days stored."""
    await session.exec(delete(CalendarDay).where(col(CalendarDay.year) == loaded.year))
    rows = [
        CalendarDay(day=day, year=loaded.year, kind=kind, name=name[:50], imported_at=now)
        for kind, days in (("holiday", loaded.holidays), ("workday", loaded.workdays))
        for day, name in days.items()
    ]
    session.add_all(rows)
    await session.flush()
    return len(rows)
