"""Queries of the quarterly review and what follows it: adjustments, appeals, bonus bases.

Every function takes the unit, and every id that came from outside (a button, a command line)
is looked up within it. Nothing here commits: the caller's unit of work does.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from decimal import Decimal

from sqlmodel import col, delete, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.engine import insert_for
from storage.models import (
    Appeal,
    AppealState,
    BallotParticipation,
    BonusBase,
    Period,
    Rating,
    RatingLine,
    Result,
    ScoreAdjustment,
)

__all__ = [
    "add_adjustment",
    "appeal_of",
    "appeals_of",
    "ballots_cast",
    "bonus_bases",
    "open_appeals",
    "rating_line",
    "replace_bonus_bases",
    "result_of",
    "submitted_counts",
    "unit_appeal",
]


async def result_of(*, session: AsyncSession, period_id: int, cadre_id: int) -> Result | None:
    """One cadre's stored result of one period."""
    statement = select(Result).where(Result.period_id == period_id, Result.cadre_id == cadre_id)
    return (await session.exec(statement)).first()


def add_adjustment(
    *,
    session: AsyncSession,
    unit_id: int,
    period_id: int,
    cadre_id: int,
    delta: Decimal,
    reason: str,
    leader_id: int | None,
    now: datetime,
) -> ScoreAdjustment:
    """Add a leadership adjustment to the session."""
    row = ScoreAdjustment(
        unit_id=unit_id,
        period_id=period_id,
        cadre_id=cadre_id,
        delta=delta,
        reason=reason,
        leader_id=leader_id,
        created_at=now,
    )
    session.add(row)
    return row


async def appeal_of(*, session: AsyncSession, period_id: int, cadre_id: int) -> Appeal | None:
    """A cadre's appeal against a quarter (there is at most one)."""
    statement = select(Appeal).where(Appeal.period_id == period_id, Appeal.cadre_id == cadre_id)
    return (await session.exec(statement)).first()


async def unit_appeal(*, session: AsyncSession, unit_id: int, appeal_id: int) -> Appeal | None:
    """The appeal ``appeal_id`` if it is the unit's; None for anyone else's id."""
    appeal = await session.get(Appeal, appeal_id)
    return appeal if appeal is not None and appeal.unit_id == unit_id else None


async def appeals_of(*, session: AsyncSession, period_id: int) -> list[Appeal]:
    """Every appeal against a quarter, in the order filed."""
    statement = select(Appeal).where(Appeal.period_id == period_id).order_by(col(Appeal.id))
    return list((await session.exec(statement)).all())


async def open_appeals(*, session: AsyncSession, period_id: int) -> int:
    """How many appeals against a quarter still wait for an answer."""
    statement = (
        select(func.count())
        .select_from(Appeal)
        .where(Appeal.period_id == period_id, Appeal.state == AppealState.OPEN.value)
    )
    return int((await session.exec(statement)).one())


async def rating_line(
    *, session: AsyncSession, unit_id: int, line_id: int
) -> tuple[RatingLine, Rating, Period] | None:
    """A rating line (an answer with its evidence) with its rating and month, if the unit's."""
    statement = (
        select(RatingLine, Rating, Period)
        .join(Rating, col(Rating.id) == col(RatingLine.rating_id))
        .join(Period, col(Period.id) == col(Rating.period_id))
        .where(RatingLine.id == line_id, Rating.unit_id == unit_id)
    )
    row = (await session.exec(statement)).first()
    return None if row is None else (row[0], row[1], row[2])


async def submitted_counts(
    *, session: AsyncSession, period_ids: Collection[int]
) -> dict[int, dict[str, int]]:
    """Submitted ratings per month and source (``self``, ``head``), as counts: one aggregate."""
    found: dict[int, dict[str, int]] = {period_id: {} for period_id in period_ids}
    if not period_ids:
        return found
    statement = (
        select(Rating.period_id, Rating.source, func.count())
        .where(col(Rating.period_id).in_(list(period_ids)), Rating.state == "submitted")
        .group_by(col(Rating.period_id), col(Rating.source))
    )
    for period_id, source, count in (await session.exec(statement)).all():
        found.setdefault(period_id, {})[source] = int(count)
    return found


async def ballots_cast(*, session: AsyncSession, period_ids: Collection[int]) -> dict[int, int]:
    """How many ballots were cast in each month (a count: nothing about who or how)."""
    found = dict.fromkeys(period_ids, 0)
    if not period_ids:
        return found
    statement = (
        select(BallotParticipation.period_id, func.count())
        .where(col(BallotParticipation.period_id).in_(list(period_ids)))
        .group_by(col(BallotParticipation.period_id))
    )
    for period_id, count in (await session.exec(statement)).all():
        found[period_id] = int(count)
    return found


async def bonus_bases(
    *, session: AsyncSession, unit_id: int, year: int, cadre_ids: Collection[int] | None = None
) -> dict[int, Decimal]:
    """The bonus bases the office imported for a year, by cadre."""
    statement = select(BonusBase).where(BonusBase.unit_id == unit_id, BonusBase.year == year)
    if cadre_ids is not None:
        statement = statement.where(col(BonusBase.cadre_id).in_(list(cadre_ids)))
    return {row.cadre_id: row.base for row in (await session.exec(statement)).all()}


async def replace_bonus_bases(
    *,
    session: AsyncSession,
    unit_id: int,
    year: int,
    bases: Mapping[int, Decimal],
    source: str,
    now: datetime,
) -> dict[int, Decimal]:
    """Set the year's bases to ``bases`` (cadre -> base), all at once; return the old ones.

    A cadre left out of ``bases`` keeps no base of their own (the scheme's default applies):
    the file the office imports is the whole list for the year.
    """
    old = await bonus_bases(session=session, unit_id=unit_id, year=year)
    await session.exec(
        delete(BonusBase).where(
            col(BonusBase.unit_id) == unit_id,
            col(BonusBase.year) == year,
            col(BonusBase.cadre_id).not_in(list(bases)),
        )
    )
    for cadre_id, base in bases.items():
        statement = (
            insert_for(session, BonusBase)
            .values(
                unit_id=unit_id,
                cadre_id=cadre_id,
                year=year,
                base=str(base),
                source=source[:200],
                imported_at=now,
            )
            .on_conflict_do_update(
                index_elements=["cadre_id", "year"],
                set_={"base": str(base), "source": source[:200], "imported_at": now},
            )
        )
        await session.exec(statement)
    return old
