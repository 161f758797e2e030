"""The secret democratic evaluation (民主测评): ballot scope, drafts, casting, tallies.

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

Every function takes the session and commits nothing: the caller's unit of work decides.
:func:`open_ballot`, :func:`choose` and :func:`cast` are the server-side checks every press goes
through (period open, ballot runs in it, not cast yet, ratee in scope and not the voter) and raise
:class:`BallotRefused` with the reason when a press must change nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from types import MappingProxyType

from sqlalchemy import and_, case, delete, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.appraisal.month import is_assessed, open_month, open_period, scheme_of
from bot.rules.scheme import Scheme
from bot.rules.scoring import GRADE_ORDER
from storage.engine import insert_for
from storage.models import (
    BallotDraft,
    BallotParticipation,
    BallotTally,
    Cadre,
    Period,
    PeriodKind,
    utcnow,
)
from storage.queries.roster import list_cadres

__all__ = [
    "GRADES",
    "Ballot",
    "BallotRefused",
    "CastResult",
    "MonthRef",
    "Refusal",
    "ballot_scope",
    "cast",
    "choose",
    "discard_drafts",
    "drafts",
    "has_cast",
    "open_ballot",
    "participation",
    "set_draft",
    "tallies",
]

GRADES: tuple[str, ...] = tuple(g.value for g in GRADE_ORDER)
"""The grade keys a ballot may carry, best first (excellent, good, pass, fail)."""


class Refusal(StrEnum):
    """Why a ballot action changed nothing (the key of the text that says so)."""

    STALE = "stale"  # not a ballot this bot built for this unit (forged or from elsewhere)
    CLOSED = "closed"  # the period is closed, or no window is open now
    NO_BALLOT = "no_ballot"  # the period's scheme has no democratic evaluation this month
    CAST = "cast"  # the voter has cast this period's ballot already
    SELF = "self"  # nobody grades themselves
    OUT_OF_SCOPE = "out_of_scope"  # the ratee is not on this voter's ballot
    NOBODY = "nobody"  # the voter's ballot has nobody on it
    INCOMPLETE = "incomplete"  # some colleagues have no grade yet


@dataclass(frozen=True)
class MonthRef:
    """Which month a refusal is about, copied out of the session (a refusal rolls it back)."""

    id: int
    year: int
    number: int

    @classmethod
    def of(cls, period: Period | None) -> MonthRef | None:
        if period is None or period.id is None:
            return None
        return cls(id=period.id, year=period.year, number=period.number)


class BallotRefused(Exception):
    """A ballot action refused; nothing was written.

    ``period`` is the month concerned when it is known (to say which month is closed or cast),
    ``scheme`` its frozen scheme, ``missing`` the names of the colleagues still without a grade.
    Plain values only: the unit of work that raised this is rolled back.
    """

    def __init__(
        self,
        reason: Refusal,
        *,
        period: Period | None = None,
        scheme: Scheme | None = None,
        missing: Sequence[Cadre] = (),
    ) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.period = MonthRef.of(period)
        self.scheme = scheme
        self.missing = tuple(c.name for c in missing)


@dataclass(frozen=True)
class Ballot:
    """One voter's ballot in one period as it stands: who is on it and the draft grades."""

    period: Period
    scheme: Scheme
    voter_id: int
    scope: str  # "unit" or "department": whom the voter grades
    colleagues: tuple[Cadre, ...]
    grades: Mapping[int, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def ids(self) -> frozenset[int]:
        return frozenset(c.id for c in self.colleagues if c.id is not None)

    @property
    def graded(self) -> int:
        return sum(1 for c in self.colleagues if c.id in self.grades)

    @property
    def missing(self) -> tuple[Cadre, ...]:
        return tuple(c for c in self.colleagues if c.id not in self.grades)

    @property
    def complete(self) -> bool:
        return bool(self.colleagues) and not self.missing

    def grade_of(self, ratee_id: int) -> str | None:
        return self.grades.get(ratee_id)

    def counts(self) -> dict[str, int]:
        """How many colleagues got each grade on this ballot (for the confirmation step)."""
        counts = dict.fromkeys(GRADES, 0)
        for colleague in self.colleagues:
            grade = self.grades.get(colleague.id)  # type: ignore[arg-type]
            if grade is not None:
                counts[grade] += 1
        return counts

    def with_grade(self, ratee_id: int, grade: str) -> Ballot:
        return replace(self, grades=MappingProxyType({**self.grades, ratee_id: grade}))


@dataclass(frozen=True)
class CastResult:
    """A ballot cast: the period and how many colleagues' tallies it added to."""

    period: Period
    ballots: int


# --- reads ------------------------------------------------------------------------------------


async def _tallied_ratees(*, session: AsyncSession, period_id: int) -> set[int]:
    statement = select(BallotTally.ratee_id).where(BallotTally.period_id == period_id).distinct()
    return set((await session.exec(statement)).all())


async def _scope(
    *, session: AsyncSession, period: Period, voter: Cadre, scheme: Scheme
) -> tuple[str, list[Cadre]]:
    tallied = await _tallied_ratees(session=session, period_id=period.id)  # type: ignore[arg-type]
    people = [
        c
        for c in await list_cadres(session=session, unit_id=period.unit_id)
        if is_assessed(c) and c.id in tallied
    ]
    kind = scheme.democratic_scope(len(tallied))
    if kind == "department":
        people = [c for c in people if c.department_id == voter.department_id]
    return kind, [c for c in people if c.id != voter.id]


async def ballot_scope(
    *, session: AsyncSession, period: Period, voter: Cadre, scheme: Scheme
) -> list[Cadre]:
    """The colleagues ``voter`` grades in ``period``, in roster order.

    The electorate was fixed when the ballot opened (its tally rows); of it, those still active
    and assessed, minus the voter, and only the voter's department when the scheme says so for a
    unit of this size.
    """
    _kind, colleagues = await _scope(session=session, period=period, voter=voter, scheme=scheme)
    return colleagues


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


def _runs_in(period: Period, scheme: Scheme) -> bool:
    return period.kind == PeriodKind.MONTH.value and scheme.democratic_in_month(period.number)


async def _last_month(*, session: AsyncSession, unit_id: int, now: datetime) -> Period | None:
    statement = (
        select(Period)
        .where(Period.unit_id == unit_id)
        .where(Period.kind == PeriodKind.MONTH.value)
        .where(col(Period.opens_at) <= now)
        .order_by(col(Period.opens_at).desc())
    )
    return (await session.exec(statement)).first()


async def _period_for(
    *, session: AsyncSession, unit_id: int, period_id: int | None, now: datetime
) -> Period:
    if period_id is None:
        current = await open_month(session=session, unit_id=unit_id)
        still_open = current is not None and await open_period(
            session=session, period_id=current.id, unit_id=unit_id, now=now
        )
        if current is not None and still_open:
            return current
        raise BallotRefused(
            Refusal.CLOSED,
            period=current or await _last_month(session=session, unit_id=unit_id, now=now),
        )
    period = await session.get(Period, period_id)
    if period is None or period.unit_id != unit_id or period.kind != PeriodKind.MONTH.value:
        raise BallotRefused(Refusal.STALE)
    if await open_period(session=session, period_id=period_id, unit_id=unit_id, now=now) is None:
        raise BallotRefused(Refusal.CLOSED, period=period)
    return period


async def open_ballot(
    *,
    session: AsyncSession,
    unit_id: int,
    voter: Cadre,
    period_id: int | None = None,
    now: datetime | None = None,
) -> Ballot:
    """The voter's ballot in ``period_id`` (default: the month open now), with its drafts.

    Raises :class:`BallotRefused` when the period is not this unit's month (``stale``), is not
    open now (``closed``), carries no democratic evaluation (``no_ballot``), or the voter has
    cast already (``cast``).
    """
    now = now or utcnow()
    period = await _period_for(session=session, unit_id=unit_id, period_id=period_id, now=now)
    scheme = scheme_of(period)
    if not _runs_in(period, scheme):
        raise BallotRefused(Refusal.NO_BALLOT, period=period, scheme=scheme)
    assert period.id is not None and voter.id is not None
    if await has_cast(session=session, period_id=period.id, rater_id=voter.id):
        raise BallotRefused(Refusal.CAST, period=period, scheme=scheme)
    scope, colleagues = await _scope(session=session, period=period, voter=voter, scheme=scheme)
    ids = {c.id for c in colleagues}
    mine = await drafts(session=session, period_id=period.id, rater_id=voter.id)
    return Ballot(
        period=period,
        scheme=scheme,
        voter_id=voter.id,
        scope=scope,
        colleagues=tuple(colleagues),
        grades=MappingProxyType({k: v for k, v in mine.items() if k in ids}),
    )


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


async def choose(
    *,
    session: AsyncSession,
    unit_id: int,
    voter: Cadre,
    period_id: int,
    ratee_id: int,
    grade: str,
    now: datetime | None = None,
) -> tuple[Ballot, bool]:
    """Check a grade press and record it as a draft; return the ballot and whether it changed.

    Refused (:class:`BallotRefused`) as :func:`open_ballot` refuses, and also for an unknown
    grade (``stale``), the voter themselves (``self``) or anyone not on their ballot
    (``out_of_scope``).
    """
    if grade not in GRADES:
        raise BallotRefused(Refusal.STALE)
    ballot = await open_ballot(
        session=session, unit_id=unit_id, voter=voter, period_id=period_id, now=now
    )
    if ratee_id == voter.id:
        raise BallotRefused(Refusal.SELF, period=ballot.period)
    if ratee_id not in ballot.ids:
        raise BallotRefused(Refusal.OUT_OF_SCOPE, period=ballot.period)
    changed = await set_draft(
        session=session,
        period_id=period_id,
        rater_id=ballot.voter_id,
        ratee_id=ratee_id,
        grade=grade,
    )
    return ballot.with_grade(ratee_id, grade), changed


async def cast(
    *,
    session: AsyncSession,
    unit_id: int,
    voter: Cadre,
    period_id: int,
    today: date,
    now: datetime | None = None,
) -> CastResult:
    """Cast the voter's ballot: participation, tallies and drafts in the caller's transaction.

    Refused (:class:`BallotRefused`) as :func:`open_ballot` refuses, and when the ballot has
    nobody on it (``nobody``) or a colleague without a grade (``incomplete``). A second cast,
    even one racing this one, hits the participation key and is refused as ``cast``.
    """
    ballot = await open_ballot(
        session=session, unit_id=unit_id, voter=voter, period_id=period_id, now=now
    )
    if not ballot.colleagues:
        raise BallotRefused(Refusal.NOBODY, period=ballot.period)
    # The participation key is claimed before the drafts are judged: a cast racing this one may
    # have deleted them after they were read, and that voter must hear "already cast", not
    # "incomplete". A refusal rolls the savepoint back, so nothing of this attempt stays.
    try:
        async with session.begin_nested():
            session.add(
                BallotParticipation(
                    unit_id=unit_id, period_id=period_id, rater_id=ballot.voter_id, cast_on=today
                )
            )
            await session.flush()
            if not ballot.complete:
                raise BallotRefused(
                    Refusal.INCOMPLETE, period=ballot.period, missing=ballot.missing
                )
    except IntegrityError:
        raise BallotRefused(Refusal.CAST, period=ballot.period) from None
    chosen = or_(
        *(
            and_(col(BallotTally.ratee_id) == ratee_id, col(BallotTally.grade) == grade)
            for ratee_id, grade in ballot.grades.items()
        )
    )
    present = (
        await session.exec(
            select(func.count())
            .select_from(BallotTally)
            .where(BallotTally.period_id == period_id, chosen)
        )
    ).one()
    if present != len(ballot.grades):
        # The tally rows are made when the ballot opens; without them nothing may be counted.
        raise RuntimeError(f"ballot tallies of period {period_id} are incomplete")
    # Every row of the period is rewritten (+1 or +0): see the module's note on secrecy.
    await session.exec(
        update(BallotTally)
        .where(col(BallotTally.period_id) == period_id)
        .values(count=col(BallotTally.count) + case((chosen, 1), else_=0))
    )
    await session.exec(
        delete(BallotDraft)
        .where(col(BallotDraft.period_id) == period_id)
        .where(col(BallotDraft.rater_id) == ballot.voter_id)
    )
    return CastResult(period=ballot.period, ballots=len(ballot.grades))


async def discard_drafts(*, session: AsyncSession, period_id: int) -> int:
    """Delete every draft left in a period (ballots never cast); return how many.

    For whoever closes a period: an uncast draft is not a vote and must not outlive the window.
    """
    result = await session.exec(delete(BallotDraft).where(col(BallotDraft.period_id) == period_id))
    return int(result.rowcount or 0)
