"""The secret democratic evaluation (民主测评) as a voter meets it: the ballot, its checks, casting.

The rows and the secrecy they keep by their shape are :mod:`storage.queries.ballots`; this module
is the server-side check every press goes through (period open, ballot runs in it, not cast yet,
ratee in scope and not the voter). :func:`open_ballot`, :func:`choose` and :func:`cast` raise
:class:`BallotRefused` with the reason when a press must change nothing. Nothing here writes an
audit row or a log line about a vote, and nothing commits: the caller's unit of work decides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from types import MappingProxyType

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.appraisal.month import current_month, is_open_at
from bot.rules.raters import is_assessed
from bot.rules.scheme import Scheme
from storage.models import Cadre, Period, PeriodKind
from storage.queries import ballots as ballots_q
from storage.queries import periods as periods_q
from storage.queries.ballots import GRADES
from storage.queries.roster import Naming, list_cadres, naming
from storage.queries.schemes import scheme_of

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
    "open_ballot",
]


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
    colleagues: tuple[Cadre, ...]  # in the roster's order: department by department
    grades: Mapping[int, str] = field(default_factory=lambda: MappingProxyType({}))
    # The departments' names, and the names two people of the unit share (shown with the
    # department, so that a voter knows which 张伟 they grade).
    naming: Naming = field(default_factory=lambda: Naming(departments={}, namesakes=frozenset()))

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

    def departments(self) -> list[tuple[int, list[Cadre]]]:
        """The colleagues department by department (a department id and its people), in order."""
        groups: list[tuple[int, list[Cadre]]] = []
        for colleague in self.colleagues:
            if not groups or groups[-1][0] != colleague.department_id:
                groups.append((colleague.department_id, []))
            groups[-1][1].append(colleague)
        return groups

    def grade_of(self, ratee_id: int) -> str | None:
        return self.grades.get(ratee_id)

    def counts(self) -> dict[str, int]:
        """How many colleagues got each grade on this ballot (for the confirmation step)."""
        counts = dict.fromkeys(GRADES, 0)
        for colleague in self.colleagues:
            grade = self.grades.get(colleague.id or 0)
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


async def _scope(
    *, session: AsyncSession, period: Period, voter: Cadre, scheme: Scheme
) -> tuple[str, list[Cadre]]:
    assert period.id is not None
    tallied = await ballots_q.tallied_ratees(session=session, period_id=period.id)
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


def _runs_in(period: Period, scheme: Scheme) -> bool:
    return period.kind == PeriodKind.MONTH.value and scheme.democratic_in_month(period.number)


async def _period_for(
    *, session: AsyncSession, unit_id: int, period_id: int | None, now: datetime
) -> Period:
    if period_id is None:
        current = await current_month(session=session, unit_id=unit_id, now=now)
        if current is not None:
            return current
        raise BallotRefused(
            Refusal.CLOSED,
            period=await periods_q.last_month_opened(session=session, unit_id=unit_id, now=now),
        )
    period = await periods_q.unit_period(session=session, unit_id=unit_id, period_id=period_id)
    if period is None or period.kind != PeriodKind.MONTH.value:
        raise BallotRefused(Refusal.STALE)
    if not is_open_at(period, now):
        raise BallotRefused(Refusal.CLOSED, period=period)
    return period


async def open_ballot(
    *,
    session: AsyncSession,
    unit_id: int,
    voter: Cadre,
    period_id: int | None = None,
    now: datetime,
) -> Ballot:
    """The voter's ballot in ``period_id`` (default: the month open now), with its drafts.

    Raises :class:`BallotRefused` when the period is not this unit's month (``stale``), is not
    open now (``closed``), carries no democratic evaluation (``no_ballot``), or the voter has
    cast already (``cast``).
    """
    period = await _period_for(session=session, unit_id=unit_id, period_id=period_id, now=now)
    scheme = scheme_of(period)
    if not _runs_in(period, scheme):
        raise BallotRefused(Refusal.NO_BALLOT, period=period, scheme=scheme)
    assert period.id is not None and voter.id is not None
    if await ballots_q.has_cast(session=session, period_id=period.id, rater_id=voter.id):
        raise BallotRefused(Refusal.CAST, period=period, scheme=scheme)
    scope, colleagues = await _scope(session=session, period=period, voter=voter, scheme=scheme)
    ids = {c.id for c in colleagues}
    mine = await ballots_q.drafts(session=session, period_id=period.id, rater_id=voter.id)
    return Ballot(
        period=period,
        scheme=scheme,
        voter_id=voter.id,
        scope=scope,
        colleagues=tuple(colleagues),
        grades=MappingProxyType({k: v for k, v in mine.items() if k in ids}),
        naming=await naming(session=session, unit_id=period.unit_id),
    )


async def choose(
    *,
    session: AsyncSession,
    unit_id: int,
    voter: Cadre,
    period_id: int,
    ratee_id: int,
    grade: str,
    now: datetime,
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
    changed = await ballots_q.set_draft(
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
    now: datetime,
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
            await ballots_q.add_participation(
                session=session,
                unit_id=unit_id,
                period_id=period_id,
                rater_id=ballot.voter_id,
                cast_on=today,
            )
            if not ballot.complete:
                raise BallotRefused(
                    Refusal.INCOMPLETE, period=ballot.period, missing=ballot.missing
                )
    except IntegrityError:
        raise BallotRefused(Refusal.CAST, period=ballot.period) from None
    await ballots_q.count_ballot(session=session, period_id=period_id, grades=ballot.grades)
    await ballots_q.delete_drafts(session=session, period_id=period_id, rater_id=ballot.voter_id)
    return CastResult(period=ballot.period, ballots=len(ballot.grades))
