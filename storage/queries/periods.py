"""Period queries: a unit's months, quarters, halves and years, by code, by year or by state.

The appraisal calendar lives in the database, so that the service (``bot/appraisal.py``), the CLI
and the scheduler all read one truth instead of computing dates each on their own. Nothing here
commits: the caller's unit of work decides.

Times come back aware and in UTC on both backends (``storage.models.UTCDateTime``).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import AuditLog, Period, PeriodKind, PeriodState

__all__ = [
    "CLOSED_STATES",
    "KIND_ORDER",
    "PUBLISHED_STATES",
    "PeriodCodeError",
    "containers_of",
    "extensions",
    "find_period",
    "get_period",
    "last_month_opened",
    "latest_reported",
    "list_periods",
    "month_span",
    "months_of",
    "open_month",
    "parse_period_code",
    "quarters_of",
    "reported",
    "unit_period",
    "upcoming_month",
]

#: Months first, then the periods summarising them, so that a list reads like the calendar.
KIND_ORDER: dict[str, int] = {
    PeriodKind.MONTH: 0,
    PeriodKind.QUARTER: 1,
    PeriodKind.HALF: 2,
    PeriodKind.YEAR: 3,
}

#: States in which a period's results are final enough for the next stage to use.
CLOSED_STATES: frozenset[str] = frozenset(
    {PeriodState.CLOSED, PeriodState.IN_REVIEW, PeriodState.PUBLISHED, PeriodState.FINAL}
)

#: States of a quarter whose figures a half-year or the year may be made of: reviewed and
#: published, so that the leadership's adjustments count.
PUBLISHED_STATES: frozenset[str] = frozenset({PeriodState.PUBLISHED, PeriodState.FINAL})

_CODE = re.compile(
    r"^(?P<year>\d{4})(?:[-/ ]?(?:(?P<q>[qQ])(?P<quarter>[1-4])|(?P<h>[hH])(?P<half>[12])"
    r"|(?P<month>0?[1-9]|1[0-2])))?$"
)


class PeriodCodeError(ValueError):
    """A period code that names no period (``2026-13``, ``2026-Q5``, ``March``)."""


def parse_period_code(code: str) -> tuple[PeriodKind, int, int]:
    """Read ``2026-03``, ``2026-Q1``, ``2026-H1`` or ``2026`` (the form of :attr:`Period.code`).

    Lower case and a missing dash are accepted (``2026q1``, ``2026-3``) because clerks type them.
    """
    match = _CODE.fullmatch(code.strip())
    if match is None:
        raise PeriodCodeError(code)
    year = int(match["year"])
    if match["quarter"]:
        return PeriodKind.QUARTER, year, int(match["quarter"])
    if match["half"]:
        return PeriodKind.HALF, year, int(match["half"])
    if match["month"]:
        return PeriodKind.MONTH, year, int(match["month"])
    return PeriodKind.YEAR, year, 1


def month_span(kind: str, number: int) -> tuple[int, int]:
    """The first and last month (1-12) a period covers."""
    if kind == PeriodKind.MONTH:
        return number, number
    if kind == PeriodKind.QUARTER:
        return 3 * number - 2, 3 * number
    if kind == PeriodKind.HALF:
        return 6 * number - 5, 6 * number
    return 1, 12


def _sorted(periods: Collection[Period]) -> list[Period]:
    return sorted(periods, key=lambda p: (p.year, KIND_ORDER.get(p.kind, 9), p.number))


async def get_period(
    *, session: AsyncSession, unit_id: int, kind: str, year: int, number: int
) -> Period | None:
    """One period of the unit, or None when the year's periods were not created yet."""
    statement = select(Period).where(
        Period.unit_id == unit_id,
        Period.kind == str(kind),
        Period.year == year,
        Period.number == number,
    )
    return (await session.exec(statement)).first()


async def unit_period(*, session: AsyncSession, unit_id: int, period_id: int) -> Period | None:
    """The period ``period_id`` if it is the unit's; None otherwise (another unit's, or none).

    Every id that arrives from outside (a button, a typed code) goes through here or
    :func:`find_period`, so another unit's period is never found.
    """
    period = await session.get(Period, period_id)
    return period if period is not None and period.unit_id == unit_id else None


async def open_month(*, session: AsyncSession, unit_id: int) -> Period | None:
    """The unit's month in the ``open`` state (at most one is open at a time), or None."""
    statement = (
        select(Period)
        .where(Period.unit_id == unit_id)
        .where(Period.kind == PeriodKind.MONTH.value)
        .where(Period.state == PeriodState.OPEN.value)
        .order_by(col(Period.opens_at).desc())
    )
    return (await session.exec(statement)).first()


async def upcoming_month(*, session: AsyncSession, unit_id: int, now: datetime) -> Period | None:
    """The next month scheduled to open after ``now``, if the office has created it."""
    statement = (
        select(Period)
        .where(
            Period.unit_id == unit_id,
            Period.kind == PeriodKind.MONTH.value,
            Period.state == PeriodState.SCHEDULED.value,
            col(Period.opens_at) > now,
        )
        .order_by(col(Period.opens_at))
    )
    return (await session.exec(statement)).first()


async def last_month_opened(*, session: AsyncSession, unit_id: int, now: datetime) -> Period | None:
    """The latest month whose window opened by ``now`` (open or closed), if any."""
    statement = (
        select(Period)
        .where(Period.unit_id == unit_id)
        .where(Period.kind == PeriodKind.MONTH.value)
        .where(col(Period.opens_at) <= now)
        .order_by(col(Period.opens_at).desc())
    )
    return (await session.exec(statement)).first()


def reported(period: Period) -> bool:
    """Whether a period's report is out: a quarter published (or final), a half-year or the
    year closed."""
    if period.kind == PeriodKind.QUARTER:
        return period.state in PUBLISHED_STATES
    return period.kind != PeriodKind.MONTH and period.state == PeriodState.CLOSED


async def latest_reported(*, session: AsyncSession, unit_id: int) -> Period | None:
    """The unit's most recent quarter, half-year or year whose report is out."""
    statement = select(Period).where(
        Period.unit_id == unit_id, col(Period.kind) != PeriodKind.MONTH.value
    )
    done = [p for p in (await session.exec(statement)).all() if reported(p)]
    when = {p.id: p.published_at or p.closed_at for p in done}
    return max(
        done, key=lambda p: (when[p.id] is not None, when[p.id] or p.closes_at), default=None
    )


async def find_period(*, session: AsyncSession, unit_id: int, code: str) -> Period | None:
    """The period a code names; raise :class:`PeriodCodeError` when the code names none."""
    kind, year, number = parse_period_code(code)
    return await get_period(session=session, unit_id=unit_id, kind=kind, year=year, number=number)


async def list_periods(
    *,
    session: AsyncSession,
    unit_id: int,
    year: int | None = None,
    kinds: Collection[str] | None = None,
    states: Collection[str] | None = None,
) -> list[Period]:
    """The unit's periods, by year, then month / quarter / half / year, then number."""
    statement = select(Period).where(Period.unit_id == unit_id)
    if year is not None:
        statement = statement.where(Period.year == year)
    if kinds is not None:
        statement = statement.where(col(Period.kind).in_([str(k) for k in kinds]))
    if states is not None:
        statement = statement.where(col(Period.state).in_([str(s) for s in states]))
    return _sorted((await session.exec(statement)).all())


async def _parts(
    session: AsyncSession, period: Period, kind: PeriodKind, first: int, last: int
) -> list[Period]:
    statement = select(Period).where(
        Period.unit_id == period.unit_id,
        Period.year == period.year,
        Period.kind == str(kind),
        col(Period.number) >= first,
        col(Period.number) <= last,
    )
    return _sorted((await session.exec(statement)).all())


async def months_of(*, session: AsyncSession, period: Period) -> list[Period]:
    """The months a period covers (a month covers itself), in order."""
    first, last = month_span(period.kind, period.number)
    return await _parts(session, period, PeriodKind.MONTH, first, last)


async def quarters_of(*, session: AsyncSession, period: Period) -> list[Period]:
    """The quarters a half-year or year covers, in order (empty for months and quarters)."""
    if period.kind == PeriodKind.HALF:
        return await _parts(
            session, period, PeriodKind.QUARTER, 2 * period.number - 1, 2 * period.number
        )
    if period.kind == PeriodKind.YEAR:
        return await _parts(session, period, PeriodKind.QUARTER, 1, 4)
    return []


async def containers_of(*, session: AsyncSession, period: Period) -> list[Period]:
    """The quarter, half-year and year that contain a month (the half-year and year that
    contain a quarter), in that order (those that exist)."""
    if period.kind == PeriodKind.QUARTER:
        wanted: tuple[tuple[PeriodKind, int], ...] = (
            (PeriodKind.HALF, (period.number - 1) // 2 + 1),
            (PeriodKind.YEAR, 1),
        )
    elif period.kind == PeriodKind.MONTH:
        month = period.number
        wanted = (
            (PeriodKind.QUARTER, (month - 1) // 3 + 1),
            (PeriodKind.HALF, (month - 1) // 6 + 1),
            (PeriodKind.YEAR, 1),
        )
    else:
        return []
    found = []
    for kind, number in wanted:
        container = await get_period(
            session=session, unit_id=period.unit_id, kind=kind, year=period.year, number=number
        )
        if container is not None:
            found.append(container)
    return found


async def extensions(
    *, session: AsyncSession, period_ids: Sequence[int], action: str = "period.extend"
) -> list[AuditLog]:
    """The audited deadline moves of these periods, oldest first (the scheduler tells each to
    whoever is still pending)."""
    statement = (
        select(AuditLog)
        .where(AuditLog.entity == "period")
        .where(AuditLog.action == action)
        .where(col(AuditLog.entity_id).in_(list(period_ids)))
        .order_by(col(AuditLog.id))
    )
    return list((await session.exec(statement)).all())
