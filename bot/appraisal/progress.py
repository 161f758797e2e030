"""Where a month stands, person by person: the one answer behind /status, /myscore, an early
close, the reminders and the closing summary.

Each task is in one of four states, so that nobody is told "not submitted" for a self-score that
is filled in and only lacks the press of 提交: not started, started (some answers), ready (every
item answered, not submitted yet: the deadline submits it on the person's behalf) and submitted.
The snapshot is read in a handful of statements whatever the size of the unit (all ratings, all
their lines, all targets, the roster, who cast a ballot), and the ready/started judgement is the
same sheet arithmetic the person saw (:func:`bot.appraisal.ratings.build_sheet`).

Ballots are secret: the snapshot knows who cast one (to remind those who did not, privately), and
the unit's count of ballots; nothing here reads a grade.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.appraisal.month import category_of
from bot.appraisal.ratings import Sheet, build_sheet, in_file_order
from bot.rules import raters
from bot.rules.raters import is_assessed
from storage.models import (
    BallotDraft,
    BallotParticipation,
    Cadre,
    Period,
    Rating,
    RatingSource,
    RatingState,
    Target,
)
from storage.queries import results as results_q
from storage.queries.roster import departments, list_cadres
from storage.queries.schemes import scheme_of
from storage.queries.targets import list_targets

__all__ = ["MonthSnapshot", "PersonMonth", "TaskState", "month_snapshot"]

SELF = RatingSource.SELF.value
HEAD = RatingSource.HEAD.value


class TaskState(StrEnum):
    """How far a self-score or a head's rating has got."""

    NOT_STARTED = "not_started"
    STARTED = "started"  # some answers, not every item
    READY = "ready"  # every item answered: only 提交 is left (the deadline submits it)
    SUBMITTED = "submitted"

    @property
    def done(self) -> bool:
        return self is TaskState.SUBMITTED


@dataclass
class PersonMonth:
    """One assessed person's month: their own tasks, and who rates them."""

    cadre: Cadre
    self_state: TaskState
    head_state: TaskState  # the rating this person receives
    raters: list[Cadre]  # who rates them (their supervising leader, else their heads)
    ballot_cast: bool | None  # None: no democratic evaluation this month
    ballot_started: bool = False  # the voter's own drafts (only ever told to the voter)
    self_total: object | None = None
    self_sheet: Sheet | None = None
    head_sheet: Sheet | None = None


@dataclass
class MonthSnapshot:
    """A month, read once: everyone assessed, and every rater's list."""

    period: Period
    ballot: bool  # whether the month carries a democratic evaluation
    people: list[PersonMonth]  # the assessed, in roster order
    everyone: list[Cadre]  # the active roster (leaders who are not assessed included)
    department_names: dict[int, str]
    ballots_cast: int
    _by_id: dict[int, PersonMonth] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._by_id = {p.cadre.id or 0: p for p in self.people}

    def person(self, cadre_id: int) -> PersonMonth | None:
        return self._by_id.get(cadre_id)

    def to_rate(self, rater_id: int) -> list[PersonMonth]:
        """Whom ``rater_id`` rates whose rating is not submitted yet, in roster order."""
        return [p for p in self.people if not p.head_state.done and _rated_by(p, rater_id)]

    def rates(self, rater_id: int) -> list[PersonMonth]:
        """Everyone ``rater_id`` rates this month, in roster order."""
        return [p for p in self.people if _rated_by(p, rater_id)]

    def by_department(self) -> list[tuple[str, list[PersonMonth]]]:
        """The assessed grouped by department, in roster order."""
        groups: dict[int, list[PersonMonth]] = {}
        for person in self.people:
            groups.setdefault(person.cadre.department_id, []).append(person)
        return [(self.department_names.get(d, ""), members) for d, members in groups.items()]

    def pending_people(self) -> list[Cadre]:
        """Everyone on the roster with something still to do (their own self-score, their
        ballot, or someone to rate), in roster order."""
        return [c for c in self.everyone if self.has_pending(c.id or 0)]

    def has_pending(self, cadre_id: int) -> bool:
        me = self.person(cadre_id)
        own = me is not None and (not me.self_state.done or me.ballot_cast is False)
        return own or bool(self.to_rate(cadre_id))

    @property
    def self_done(self) -> int:
        return sum(1 for p in self.people if p.self_state.done)

    @property
    def head_done(self) -> int:
        return sum(1 for p in self.people if p.head_state.done)


def _rated_by(person: PersonMonth, rater_id: int) -> bool:
    return any(r.id == rater_id for r in person.raters)


def _state(rating: Rating | None, sheet: Sheet | None) -> TaskState:
    if rating is None:
        return TaskState.NOT_STARTED
    if rating.state == RatingState.SUBMITTED.value:
        return TaskState.SUBMITTED
    if sheet is not None and sheet.complete:
        return TaskState.READY
    return TaskState.STARTED


async def month_snapshot(*, session: AsyncSession, period: Period) -> MonthSnapshot:
    """Read where ``period`` (a month) stands, for everyone of its unit."""
    assert period.id is not None
    scheme = scheme_of(period)
    ballot = scheme.democratic_in_month(period.number)
    everyone = await list_cadres(session=session, unit_id=period.unit_id)
    assessed = [c for c in everyone if is_assessed(c)]
    ratings = list((await session.exec(select(Rating).where(Rating.period_id == period.id))).all())
    lines = await results_q.rating_lines(
        session=session, rating_ids=[r.id for r in ratings if r.id is not None]
    )
    targets: dict[int, list[Target]] = {}
    for target in await list_targets(
        session=session,
        unit_id=period.unit_id,
        year=period.year,
        cadre_ids=[c.id for c in assessed if c.id is not None],
    ):
        targets.setdefault(target.cadre_id, []).append(target)
    voted: set[int] = set()
    started: set[int] = set()
    if ballot:
        voted = set(
            (
                await session.exec(
                    select(BallotParticipation.rater_id).where(
                        BallotParticipation.period_id == period.id
                    )
                )
            ).all()
        )
        started = set(
            (
                await session.exec(
                    select(col(BallotDraft.rater_id))
                    .where(BallotDraft.period_id == period.id)
                    .distinct()
                )
            ).all()
        )
    names = {d.id or 0: d.name for d in await departments(session=session, unit_id=period.unit_id)}
    by_key = {(r.ratee_id, r.source): r for r in ratings}
    people = []
    rated_by = raters.raters_by_ratee(everyone)
    for cadre in assessed:
        assert cadre.id is not None
        category = category_of(cadre, scheme)
        items = in_file_order(period, category, scheme.items_for(category))
        sheets = {
            source: build_sheet(
                period=period,
                ratee=cadre,
                source=source,
                rating=rating,
                lines=lines.get(rating.id or 0, []),
                items=items,
                weights=scheme.weights_for(category),
                targets=targets.get(cadre.id, []),
                pace=scheme.targets.pace,
            )
            for source in (SELF, HEAD)
            if (rating := by_key.get((cadre.id, source))) is not None
        }
        own, head = by_key.get((cadre.id, SELF)), by_key.get((cadre.id, HEAD))
        people.append(
            PersonMonth(
                cadre=cadre,
                self_state=_state(own, sheets.get(SELF)),
                head_state=_state(head, sheets.get(HEAD)),
                raters=_raters(cadre, rated_by),
                ballot_cast=(cadre.id in voted) if ballot else None,
                ballot_started=cadre.id in started,
                self_total=own.total if own and own.state == RatingState.SUBMITTED.value else None,
                self_sheet=sheets.get(SELF),
                head_sheet=sheets.get(HEAD),
            )
        )
    return MonthSnapshot(
        period=period,
        ballot=ballot,
        people=people,
        everyone=everyone,
        department_names=names,
        ballots_cast=len(voted),
    )


def _raters(cadre: Cadre, rated_by: Mapping[int, Sequence[Any]]) -> list[Cadre]:
    found = [p for p in rated_by.get(cadre.id or 0, ()) if isinstance(p, Cadre)]
    found.sort(key=lambda p: p.id != cadre.supervisor_id)  # the supervising leader first
    return found
