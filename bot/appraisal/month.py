"""The month under way: which period is open now, and what applies to whom in it.

The conversations (self-score, rating, ballot, office records), the CLI and the scheduler all
start by asking these questions; answering them in one place keeps "a closed period is closed"
true everywhere. ``now`` always comes from the caller's clock (:mod:`bot.core.clock`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.clock import aware_utc
from bot.rules.scheme import Item, Scheme
from storage.models import Cadre, Period, PeriodKind, PeriodState
from storage.queries import periods as periods_q

__all__ = [
    "MonthStatus",
    "category_of",
    "current_month",
    "is_open_at",
    "items_of",
    "month_status",
    "open_period",
]


def is_open_at(period: Period, now: datetime) -> bool:
    """Whether answers are taken in ``period`` at ``now``: open, and its deadline not reached."""
    return period.state == PeriodState.OPEN.value and now < aware_utc(period.closes_at)


async def open_period(
    *, session: AsyncSession, period_id: int, unit_id: int, now: datetime
) -> Period | None:
    """The month ``period_id`` if it is the unit's and takes answers at ``now``; else None.

    Every button press carries a period id; this is the server-side check that it names one of
    this unit's months and that the month is still open, whatever the button says.
    """
    period = await periods_q.unit_period(session=session, unit_id=unit_id, period_id=period_id)
    if period is None or period.kind != PeriodKind.MONTH.value or not is_open_at(period, now):
        return None
    return period


async def current_month(*, session: AsyncSession, unit_id: int, now: datetime) -> Period | None:
    """The month that takes answers at ``now`` (at most one does), or None."""
    period = await periods_q.open_month(session=session, unit_id=unit_id)
    return period if period is not None and is_open_at(period, now) else None


@dataclass(frozen=True)
class MonthStatus:
    """The one answer to "what is the state of the month?", for every command and message.

    ``current`` takes answers now; otherwise ``last`` is the latest month whose window opened (its
    deadline passed, or it was closed) and ``upcoming`` the next one scheduled, if created.
    """

    current: Period | None
    last: Period | None
    upcoming: Period | None


async def month_status(*, session: AsyncSession, unit_id: int, now: datetime) -> MonthStatus:
    """Where the unit's monthly calendar stands at ``now``."""
    current = await current_month(session=session, unit_id=unit_id, now=now)
    if current is not None:
        return MonthStatus(current, current, None)
    return MonthStatus(
        None,
        await periods_q.last_month_opened(session=session, unit_id=unit_id, now=now),
        await periods_q.upcoming_month(session=session, unit_id=unit_id, now=now),
    )


def category_of(cadre: Cadre, scheme: Scheme) -> str:
    """The scheme category of ``cadre``: village-stationed or ordinary."""
    return scheme.category_for(has_village=bool(cadre.village))


def items_of(cadre: Cadre, scheme: Scheme) -> tuple[Item, ...]:
    """The items that apply to ``cadre`` (village work only for village-stationed cadres)."""
    return scheme.items_for(category_of(cadre, scheme))
