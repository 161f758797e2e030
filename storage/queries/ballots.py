"""The rows of the secret democratic evaluation (民主测评): drafts, participation, tallies.

Secrecy is kept by the shape of the data, not by discretion:

- Until a ballot is cast its grades are a draft, ``BallotDraft`` rows keyed by (period, rater,
  ratee): the voter's own, changeable, and deleted when the ballot is cast.
- Casting is one unit of work: a ``BallotParticipation`` row (who voted, the date only, no
  grade), one ``UPDATE`` of the period's ``BallotTally`` counts, and the deletion of the drafts.
  The tally rows exist at zero from the opening of the ballot and carry no rater, no time and no
  serial number, so nothing in them points back to a voter.
- The ``UPDATE`` rewrites *every* tally row of the period, adding one to the chosen
  (ratee, grade) rows and zero to the others. PostgreSQL stamps each row version it writes with
  the writing transaction (``xmin``) and gives it a new physical place (``ctid``); rewriting only
  the chosen rows would let anyone comparing those stamps with the participation row's see which
  grades that voter gave. Rewriting them all makes every row look the same after every ballot.
- Nothing here writes an audit row or a log line about a vote.

The checks a voter's press goes through are :mod:`bot.appraisal.ballots`. Every function takes
the session and commits nothing: the caller's unit of work decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from sqlalchemy import and_, case, delete, func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.rules.scoring import GRADE_ORDER
from storage.engine import insert_for
from storage.models import (
    BallotDraft,
    BallotParticipation,
    BallotTally,
)

__all__ = [
    "GRADES",
    "SECRET_TABLES",
    "add_participation",
    "count_ballot",
    "delete_drafts",
    "discard_drafts",
    "drafts",
    "has_cast",
    "participation",
    "set_draft",
    "tallied_ratees",
    "tallies",
]

GRADES: tuple[str, ...] = tuple(g.value for g in GRADE_ORDER)

#: Tables whose old row versions could tie a grade to the commit that wrote it: after a cast or
#: a close, :func:`storage.engine.forget_old_row_versions` clears them.
SECRET_TABLES: tuple[str, ...] = ("ballot_tally", "ballot_draft", "ballot_participation")
"""The grade keys a ballot may carry, best first (excellent, good, pass, fail)."""


# --- reads ------------------------------------------------------------------------------------


async def tallied_ratees(*, session: AsyncSession, period_id: int) -> set[int]:
    statement = select(BallotTally.ratee_id).where(BallotTally.period_id == period_id).distinct()
    return set((await session.exec(statement)).all())


async def drafts(*, session: AsyncSession, period_id: int, rater_id: int) -> dict[int, str]:
    """The voter's draft grades: ratee id -> grade key (empty once the ballot is cast)."""
    statement = (
        select(BallotDraft)
        .where(BallotDraft.period_id == period_id)
        .where(BallotDraft.rater_id == rater_id)
    )
    return {row.ratee_id: row.grade for row in (await session.exec(statement)).all()}


async def has_cast(*, session: AsyncSession, period_id: int, rater_id: int) -> bool:
    """Whether the voter has cast this period's ballot."""
    statement = (
        select(BallotParticipation.id)
        .where(BallotParticipation.period_id == period_id)
        .where(BallotParticipation.rater_id == rater_id)
    )
    return (await session.exec(statement)).first() is not None


async def participation(*, session: AsyncSession, period_id: int) -> set[int]:
    """The ids of everyone who has cast this period's ballot (for the office's progress view)."""
    statement = select(BallotParticipation.rater_id).where(
        BallotParticipation.period_id == period_id
    )
    return set((await session.exec(statement)).all())


async def tallies(*, session: AsyncSession, period_id: int) -> dict[int, dict[str, int]]:
    """Per ratee, grade key -> count: what :func:`bot.rules.scoring.democratic_score` takes."""
    statement = select(BallotTally).where(BallotTally.period_id == period_id)
    result: dict[int, dict[str, int]] = {}
    for row in (await session.exec(statement)).all():
        result.setdefault(row.ratee_id, dict.fromkeys(GRADES, 0))[row.grade] = row.count
    return result


# --- the checks every ballot action goes through ----------------------------------------------


# --- writes -----------------------------------------------------------------------------------


async def set_draft(
    *, session: AsyncSession, period_id: int, rater_id: int, ratee_id: int, grade: str
) -> bool:
    """Record (or change) one draft grade in one upsert; return whether anything changed.

    A double tap, or pressing the grade already chosen, changes nothing and returns False.
    """
    if grade not in GRADES:
        raise ValueError(f"unknown grade {grade!r}")
    statement = insert_for(session, BallotDraft).values(
        period_id=period_id, rater_id=rater_id, ratee_id=ratee_id, grade=grade
    )
    statement = statement.on_conflict_do_update(
        index_elements=["period_id", "rater_id", "ratee_id"],
        set_={"grade": statement.excluded.grade},
        where=col(BallotDraft.grade) != statement.excluded.grade,
    )
    result = await session.exec(statement)
    return bool(result.rowcount)


async def discard_drafts(*, session: AsyncSession, period_id: int) -> int:
    """Delete every draft left in a period (ballots never cast); return how many.

    For whoever closes a period: an uncast draft is not a vote and must not outlive the window.
    """
    result = await session.exec(delete(BallotDraft).where(col(BallotDraft.period_id) == period_id))
    return int(result.rowcount or 0)


async def add_participation(
    *, session: AsyncSession, unit_id: int, period_id: int, rater_id: int, cast_on: date
) -> None:
    """Record that ``rater_id`` cast this period's ballot; IntegrityError if they had already."""
    session.add(
        BallotParticipation(
            unit_id=unit_id, period_id=period_id, rater_id=rater_id, cast_on=cast_on
        )
    )
    await session.flush()


async def count_ballot(*, session: AsyncSession, period_id: int, grades: Mapping[int, str]) -> None:
    """Add one cast ballot (ratee id -> grade) to the period's tallies.

    Every row of the period is rewritten (+1 or +0): see the module's note on secrecy.
    """
    chosen = or_(
        *(
            and_(col(BallotTally.ratee_id) == ratee_id, col(BallotTally.grade) == grade)
            for ratee_id, grade in grades.items()
        )
    )
    present = (
        await session.exec(
            select(func.count())
            .select_from(BallotTally)
            .where(BallotTally.period_id == period_id, chosen)
        )
    ).one()
    if present != len(grades):
        # The tally rows are made when the ballot opens; without them nothing may be counted.
        raise RuntimeError(f"ballot tallies of period {period_id} are incomplete")
    await session.exec(
        update(BallotTally)
        .where(col(BallotTally.period_id) == period_id)
        .values(count=col(BallotTally.count) + case((chosen, 1), else_=0))
    )


async def delete_drafts(*, session: AsyncSession, period_id: int, rater_id: int) -> None:
    """Delete one voter's drafts of a period (their ballot was cast)."""
    await session.exec(
        delete(BallotDraft)
        .where(col(BallotDraft.period_id) == period_id)
        .where(col(BallotDraft.rater_id) == rater_id)
    )
