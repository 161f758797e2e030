"""The calendar as it stands: every event of a unit still to do, read from the database.

Shared by the scheduler (to plan its jobs and run what is due) and ``kaohe periods list`` (each
period's next event), so that what the office is shown is what the bot will do.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.clock import aware_utc
from bot.jobs.events import extensions_of, period_times
from bot.jobs.workdays import load_workdays
from bot.rules.calendar import Event, events_of
from storage.models import Period
from storage.queries import calendar as calendar_q
from storage.queries import periods as periods_q
from storage.queries.schemes import scheme_of

__all__ = ["planned_events"]


def _parts_close_at(
    period: Period,
    months: dict[tuple[int, int], Period],
    quarters: dict[tuple[int, int], Period],
) -> datetime | None:
    """When a summary's parts are done: its months' latest deadline, and for a half-year or the
    year also its quarters' publication (so that a quarter's own report goes out first: at one
    instant a quarter's events run before a half-year's)."""
    if period.kind == "month":
        return None
    first, last = periods_q.month_span(period.kind, period.number)
    ends = [
        aware_utc(m.closes_at)
        for n in range(first, last + 1)
        if (m := months.get((period.year, n))) is not None
    ]
    if period.kind != "quarter":
        ends += [
            aware_utc(q.published_at)
            for n in range((first - 1) // 3 + 1, (last - 1) // 3 + 2)
            if (q := quarters.get((period.year, n))) is not None and q.published_at is not None
        ]
    return max(ends, default=None)


async def planned_events(*, session: AsyncSession, unit_id: int) -> list[Event]:
    """Every event of the unit's calendar not done yet, in time order."""
    periods = await periods_q.list_periods(session=session, unit_id=unit_id)
    moves = await extensions_of(session, periods)
    workdays = await load_workdays(session=session)
    done = {
        (e.period_id, e.key)
        for e in await calendar_q.events_of_unit(session=session, unit_id=unit_id)
        if e.state == "done"
    }
    months = {(p.year, p.number): p for p in periods if p.kind == "month"}
    quarters = {(p.year, p.number): p for p in periods if p.kind == "quarter"}
    events: list[Event] = []
    for period in periods:
        scheme = scheme_of(period) if period.scheme is not None else None
        times = period_times(
            period, moves.get(period.id or 0, ()), _parts_close_at(period, months, quarters)
        )
        for event in events_of(times, scheme, workdays):
            if (event.period_id, event.key) not in done:
                events.append(event)
    return sorted(events, key=lambda e: e.order)
