"""Result queries: what the scoring engine reads (ratings, ballot tallies, office records,
adjustments, bonus entries) and what it writes (one ``Result`` per cadre and period).

Reads are batched per period (one query per kind of input, not one per cadre), because closing a
month scores every cadre of the unit at once. Nothing here commits.

Ballot secrecy: :func:`create_tallies` writes all of a period's tally rows at zero in one
statement, sorted by ratee and grade, so that casting a ballot only ever adds one to an existing
count and no row id, insertion order or timestamp can tie a grade to a voter.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import defer
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    BallotTally,
    BonusEntry,
    Cadre,
    DisciplineRecord,
    Rating,
    RatingLine,
    RatingState,
    Result,
    ScoreAdjustment,
)

__all__ = [
    "Figures",
    "bonus_entries",
    "cadres_by_id",
    "create_tallies",
    "discipline_records",
    "figures_by_period",
    "period_ratings",
    "rating_lines",
    "results_by_period",
    "results_for",
    "results_without_inputs",
    "save_result",
    "score_adjustments",
    "submitted_ratings",
    "tally_counts",
]


async def cadres_by_id(*, session: AsyncSession, ids: Collection[int]) -> dict[int, Cadre]:
    """People by id, active or not (a result outlives its cadre's time on the roster)."""
    if not ids:
        return {}
    statement = select(Cadre).where(col(Cadre.id).in_(list(ids)))
    return {c.id: c for c in (await session.exec(statement)).all() if c.id is not None}


# --- self-scores and head ratings -----------------------------------------------------------


async def submitted_ratings(*, session: AsyncSession, period_id: int) -> list[Rating]:
    """The period's submitted ratings (a draft counts as not submitted), by id."""
    statement = (
        select(Rating)
        .where(Rating.period_id == period_id, Rating.state == RatingState.SUBMITTED.value)
        .order_by(col(Rating.id))
    )
    return list((await session.exec(statement)).all())


async def period_ratings(*, session: AsyncSession, period_id: int) -> list[Rating]:
    """Every rating of the period, drafts included, by id."""
    statement = select(Rating).where(Rating.period_id == period_id).order_by(col(Rating.id))
    return list((await session.exec(statement)).all())


async def rating_lines(
    *, session: AsyncSession, rating_ids: Collection[int]
) -> dict[int, list[RatingLine]]:
    """The lines of each rating, by line id."""
    result: dict[int, list[RatingLine]] = {rating_id: [] for rating_id in rating_ids}
    if not rating_ids:
        return result
    statement = (
        select(RatingLine)
        .where(col(RatingLine.rating_id).in_(list(rating_ids)))
        .order_by(col(RatingLine.id))
    )
    for line in (await session.exec(statement)).all():
        result.setdefault(line.rating_id, []).append(line)
    return result


# --- democratic evaluation (tallies only: ballots are secret) -------------------------------


async def create_tallies(
    *, session: AsyncSession, period_id: int, ratee_ids: Iterable[int], grades: Iterable[str]
) -> int:
    """Create the missing zero-count tally rows of a period; return how many were created.

    One statement, rows sorted by ratee and grade: see the module's note on secrecy. Rows that
    exist are left alone, so calling this again (a cadre who joined mid-window) never resets a
    count.
    """
    statement = select(BallotTally.ratee_id, BallotTally.grade).where(
        BallotTally.period_id == period_id
    )
    existing = {(ratee, grade) for ratee, grade in (await session.exec(statement)).all()}
    wanted = sorted({(ratee, grade) for ratee in ratee_ids for grade in grades} - existing)
    if not wanted:
        return 0
    values = [{"period_id": period_id, "ratee_id": r, "grade": g, "count": 0} for r, g in wanted]
    await session.exec(insert(BallotTally), params=values)
    return len(values)


async def tally_counts(*, session: AsyncSession, period_id: int) -> dict[int, dict[str, int]]:
    """Ratee id -> grade -> count, for every tally row of the period."""
    statement = select(BallotTally).where(BallotTally.period_id == period_id)
    counts: dict[int, dict[str, int]] = {}
    for row in (await session.exec(statement)).all():
        counts.setdefault(row.ratee_id, {})[row.grade] = row.count
    return counts


# --- office records, adjustments, bonus entries ---------------------------------------------


async def discipline_records(
    *, session: AsyncSession, period_id: int, include_undone: bool = False
) -> list[DisciplineRecord]:
    """The period's office-rules violations (those undone left out unless asked), by id."""
    statement = select(DisciplineRecord).where(DisciplineRecord.period_id == period_id)
    if not include_undone:
        statement = statement.where(col(DisciplineRecord.undone_at).is_(None))
    return list((await session.exec(statement.order_by(col(DisciplineRecord.id)))).all())


async def score_adjustments(*, session: AsyncSession, period_id: int) -> list[ScoreAdjustment]:
    """The leadership's adjustments of a period's scores, in the order they were made."""
    statement = (
        select(ScoreAdjustment)
        .where(ScoreAdjustment.period_id == period_id)
        .order_by(col(ScoreAdjustment.id))
    )
    return list((await session.exec(statement)).all())


async def bonus_entries(
    *, session: AsyncSession, unit_id: int, year: int, include_undone: bool = False
) -> list[BonusEntry]:
    """The year's one-off rewards and deductions (those undone left out unless asked), by id."""
    statement = select(BonusEntry).where(BonusEntry.unit_id == unit_id, BonusEntry.year == year)
    if not include_undone:
        statement = statement.where(col(BonusEntry.undone_at).is_(None))
    return list((await session.exec(statement.order_by(col(BonusEntry.id)))).all())


# --- results --------------------------------------------------------------------------------


async def results_for(*, session: AsyncSession, period_id: int) -> list[Result]:
    """A period's stored results, by cadre id."""
    statement = select(Result).where(Result.period_id == period_id).order_by(col(Result.cadre_id))
    return list((await session.exec(statement)).all())


@dataclass(frozen=True)
class Figures:
    """The part of a stored result that a report reads: the figures, the flags, and of a month's
    breakdown only whether the ballot ran, the democratic score's part and the source lines.

    A report of a county reads tens of thousands of results; loading each whole breakdown and
    its inputs (the items of every rating, the raters) costs most of its time and memory.
    """

    id: int
    period_id: int
    cadre_id: int
    score: Decimal | None
    grade: str | None
    office_rules: Decimal | None
    flags: list[str]
    breakdown: dict[str, Any]


async def figures_by_period(
    *, session: AsyncSession, period_ids: Collection[int], months: bool = False
) -> dict[int, dict[int, Figures]]:
    """Period id -> cadre id -> :class:`Figures`, for several periods in one statement; with
    ``months``, each result's ``ballot``, ``democratic`` and ``monthly.lines`` come along."""
    found: dict[int, dict[int, Figures]] = {period_id: {} for period_id in period_ids}
    if not period_ids:
        return found
    columns: list[Any] = [
        Result.id,
        Result.period_id,
        Result.cadre_id,
        Result.score,
        Result.grade,
        Result.office_rules,
        Result.flags,
    ]
    if months:
        breakdown = col(Result.breakdown)
        columns += [
            breakdown["ballot"],
            breakdown["democratic"],
            breakdown["monthly"]["lines"],
        ]
    statement = select(*columns).where(col(Result.period_id).in_(list(period_ids)))
    for row in (await session.exec(statement)).all():
        shown: dict[str, Any] = {}
        if months:
            shown = {"ballot": row[7], "democratic": row[8], "monthly": {"lines": row[9]}}
        found.setdefault(row[1], {})[row[2]] = Figures(
            id=row[0],
            period_id=row[1],
            cadre_id=row[2],
            score=row[3],
            grade=row[4],
            office_rules=row[5],
            flags=list(row[6] or []),
            breakdown=shown,
        )
    return found


async def results_without_inputs(*, session: AsyncSession, period_id: int) -> list[Result]:
    """A period's stored results without their inputs (which only recompute needs)."""
    statement = (
        select(Result).options(defer(Result.inputs)).where(Result.period_id == period_id)  # type: ignore[arg-type]  # a mapped column, typed by SQLModel as its value
    )
    return list((await session.exec(statement)).all())


async def results_by_period(
    *, session: AsyncSession, period_ids: Collection[int]
) -> dict[int, dict[int, Result]]:
    """Period id -> cadre id -> result, for several periods at once (a quarter's months)."""
    found: dict[int, dict[int, Result]] = {period_id: {} for period_id in period_ids}
    if not period_ids:
        return found
    statement = select(Result).where(col(Result.period_id).in_(list(period_ids)))
    for result in (await session.exec(statement)).all():
        found.setdefault(result.period_id, {})[result.cadre_id] = result
    return found


_RESULT_FIELDS = (
    "score",
    "office_rules",
    "grade",
    "flags",
    "breakdown",
    "inputs",
    "scheme_fingerprint",
)


async def save_result(
    *,
    session: AsyncSession,
    unit_id: int,
    period_id: int,
    cadre_id: int,
    score: Decimal | None,
    office_rules: Decimal | None,
    grade: str | None,
    flags: list[str],
    breakdown: dict[str, Any],
    inputs: dict[str, Any],
    scheme_fingerprint: str | None,
    computed_at: datetime,
) -> tuple[Result, dict[str, Any] | None]:
    """Store a cadre's result for a period, replacing the previous one.

    Return the row and, when a stored result changed, its old values of the fields that changed
    (None for a new row; ``{}`` when nothing changed, in which case the row is left untouched,
    ``computed_at`` included).
    """
    statement = select(Result).where(Result.period_id == period_id, Result.cadre_id == cadre_id)
    row = (await session.exec(statement)).first()
    values = {
        "score": score,
        "office_rules": office_rules,
        "grade": grade,
        "flags": list(flags),
        "breakdown": breakdown,
        "inputs": inputs,
        "scheme_fingerprint": scheme_fingerprint,
    }
    if row is None:
        row = Result(
            unit_id=unit_id,
            period_id=period_id,
            cadre_id=cadre_id,
            computed_at=computed_at,
            score=score,
            office_rules=office_rules,
            grade=grade,
            flags=list(flags),
            breakdown=breakdown,
            inputs=inputs,
            scheme_fingerprint=scheme_fingerprint,
        )
        session.add(row)
        await session.flush()
        return row, None
    old = {
        name: getattr(row, name) for name in _RESULT_FIELDS if getattr(row, name) != values[name]
    }
    if old:
        for name in old:
            setattr(row, name, values[name])
        row.computed_at = computed_at
        session.add(row)
        await session.flush()
    return row, old
