"""The quarterly review (逐人逐条), the appeals (申诉) and the end of the public notice (公示).

A quarter whose months have closed is scored and waits in review: the reviewing leaders (the
scheme names them by their roster title, ``quarterly.reviewers``) go through it person by person
and may adjust a score, always with a written reason; the chair (``quarterly.chair``) publishes,
or the scheduler does when the review time ends. Publication opens the appeal window and the
public notice; a cadre may appeal once, in writing, within the window, and a reviewing leader
answers in writing: upheld with a new score, or rejected. When the notice ends and no appeal is
pending, the quarter's results are final.

Every change of a score goes through the scoring engine again (:func:`rescore`), so the cap on
优秀 and every figure stay what the engine says, each change audited with who, when, the old and
the new value and why. No Telegram here; every function takes the clock as ``now`` and leaves the
commit to the caller's unit of work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.appraisal.results import check_now, frozen, score_period
from bot.core.clock import aware_utc
from bot.rules.figures import visible
from bot.rules.roles import Role
from bot.rules.scheme import Scheme
from bot.rules.stored import as_decimal, as_dict
from storage.models import (
    Appeal,
    AppealState,
    Cadre,
    Period,
    PeriodKind,
    PeriodState,
    Result,
)
from storage.queries import audit
from storage.queries import periods as periods_q
from storage.queries import results as results_q
from storage.queries import reviews as reviews_q

__all__ = [
    "ACTION_ADJUST",
    "ACTION_ANSWER",
    "ACTION_APPEAL",
    "ACTION_FINAL",
    "Change",
    "Refusal",
    "Rescored",
    "adjust",
    "answer_appeal",
    "appeal_open",
    "file_appeal",
    "finalise",
    "is_chair",
    "is_reviewer",
    "rescore",
    "reviewers",
]

ACTION_ADJUST = "score.adjust"
ACTION_APPEAL = "appeal.file"
ACTION_ANSWER = "appeal.answer"
ACTION_FINAL = "period.final"

#: The largest single adjustment a leader may make, either way (a typo of 50 for 5 is refused).
MAX_ADJUSTMENT = Decimal("20")


class Refusal(StrEnum):
    """Why a review step changed nothing; the chat and the CLI word each one."""

    NOT_IN_REVIEW = "not_in_review"  # the quarter is not (or no longer) in review
    NOT_PUBLISHED = "not_published"  # an appeal against a quarter not published
    NO_RESULT = "no_result"  # the cadre has no score in the quarter
    NO_REASON = "no_reason"  # a change without a written reason
    OUT_OF_RANGE = "out_of_range"  # an adjustment beyond MAX_ADJUSTMENT, a score beyond 0-100
    WINDOW_OVER = "window_over"  # an appeal after the appeal window
    ALREADY_APPEALED = "already_appealed"  # a second appeal against the same quarter
    ALREADY_ANSWERED = "already_answered"  # an appeal answered before
    NOT_REVIEWER = "not_reviewer"  # only the reviewing leaders review and answer appeals


@dataclass(frozen=True)
class Change:
    """A stored result that a rescore changed."""

    cadre_id: int
    old_score: Decimal | None
    old_grade: str | None
    new_score: Decimal | None
    new_grade: str | None


@dataclass
class Rescored:
    """What a rescore stored: the period's results, and which of them changed."""

    period: Period
    results: list[Result]
    changes: list[Change] = field(default_factory=list)
    also: list[Period] = field(default_factory=list)  # the half-year and year scored again


# --- who reviews ----------------------------------------------------------------------------


def is_reviewer(cadre: Cadre, scheme: Scheme) -> bool:
    """A leader whose roster title is one of the scheme's reviewers (``quarterly.reviewers``)."""
    return cadre.active and cadre.has(Role.LEADER) and cadre.title in scheme.quarterly.reviewers


def is_chair(cadre: Cadre, scheme: Scheme) -> bool:
    """The reviewer who publishes (组长): the title ``quarterly.chair``."""
    return is_reviewer(cadre, scheme) and cadre.title == scheme.quarterly.chair


def reviewers(roster: Sequence[Cadre], scheme: Scheme) -> list[Cadre]:
    """The reviewing leaders of the roster, in roster order."""
    return [c for c in roster if is_reviewer(c, scheme)]


# --- rescoring ------------------------------------------------------------------------------


async def rescore(*, session: AsyncSession, period: Period, now: datetime, actor: str) -> Rescored:
    """Score ``period`` again from its inputs (after an adjustment, an upheld appeal) and store
    it, each changed figure audited; a half-year or year already scored from it is scored again
    too, so that no summary keeps a figure the quarter no longer has."""
    assert period.id is not None
    before = {
        r.cadre_id: r for r in await results_q.results_for(session=session, period_id=period.id)
    }
    old = {cid: (r.score, r.grade) for cid, r in before.items()}
    results = await score_period(session=session, period=period, now=now, actor=actor)
    changes = [
        Change(r.cadre_id, *old.get(r.cadre_id, (None, None)), r.score, r.grade)
        for r in results
        if old.get(r.cadre_id) != (r.score, r.grade)
    ]
    rescored = Rescored(period=period, results=results, changes=changes)
    for container in await periods_q.containers_of(session=session, period=period):
        if container.kind != PeriodKind.MONTH and container.state in (
            PeriodState.CLOSED,
            PeriodState.PUBLISHED,
            PeriodState.FINAL,
        ):
            await score_period(session=session, period=container, now=now, actor=actor)
            rescored.also.append(container)
    return rescored


# --- the review -----------------------------------------------------------------------------


async def adjust(
    *,
    session: AsyncSession,
    period: Period,
    cadre_id: int,
    delta: Decimal,
    reason: str,
    leader: Cadre,
    now: datetime,
) -> Rescored | Refusal:
    """A reviewing leader adjusts a cadre's quarterly score by ``delta``, with ``reason``."""
    now = check_now(now)
    scheme = frozen(period)
    if not is_reviewer(leader, scheme):
        return Refusal.NOT_REVIEWER
    if period.kind != PeriodKind.QUARTER or period.state != PeriodState.IN_REVIEW:
        return Refusal.NOT_IN_REVIEW
    reason = reason.strip()
    if not visible(reason):
        return Refusal.NO_REASON
    if delta == 0 or abs(delta) > MAX_ADJUSTMENT:
        return Refusal.OUT_OF_RANGE
    assert period.id is not None
    result = await reviews_q.result_of(session=session, period_id=period.id, cadre_id=cadre_id)
    if result is None or result.score is None:
        return Refusal.NO_RESULT
    row = reviews_q.add_adjustment(
        session=session,
        unit_id=period.unit_id,
        period_id=period.id,
        cadre_id=cadre_id,
        delta=delta,
        reason=reason,
        leader_id=leader.id,
        now=now,
    )
    await session.flush()
    rescored = await rescore(session=session, period=period, now=now, actor=leader.name)
    new = next(r for r in rescored.results if r.cadre_id == cadre_id)
    audit.record(
        session=session,
        unit_id=period.unit_id,
        actor=leader.name,
        actor_cadre_id=leader.id,
        action=ACTION_ADJUST,
        entity="score_adjustment",
        entity_id=row.id,
        old={"cadre_id": cadre_id, "score": str(result.score), "grade": result.grade},
        new={"delta": str(delta), "score": str(new.score), "grade": new.grade},
        reason=reason,
        at=now,
    )
    return rescored


# --- appeals --------------------------------------------------------------------------------


def appeal_open(period: Period, now: datetime) -> bool:
    """Whether a cadre may still appeal against ``period`` at ``now``."""
    return (
        period.kind == PeriodKind.QUARTER
        and period.state == PeriodState.PUBLISHED
        and period.appeal_ends_at is not None
        and check_now(now) < aware_utc(period.appeal_ends_at)
    )


async def file_appeal(
    *, session: AsyncSession, period: Period, cadre: Cadre, reason: str, now: datetime
) -> Appeal | Refusal:
    """A cadre appeals against their published quarterly result, once, within the window."""
    now = check_now(now)
    if period.kind != PeriodKind.QUARTER or period.state not in (
        PeriodState.PUBLISHED,
        PeriodState.FINAL,
    ):
        return Refusal.NOT_PUBLISHED
    assert period.id is not None and cadre.id is not None
    if await reviews_q.appeal_of(session=session, period_id=period.id, cadre_id=cadre.id):
        return Refusal.ALREADY_APPEALED
    if not appeal_open(period, now):
        return Refusal.WINDOW_OVER
    reason = reason.strip()
    if not visible(reason):
        return Refusal.NO_REASON
    result = await reviews_q.result_of(session=session, period_id=period.id, cadre_id=cadre.id)
    if result is None or result.score is None:
        return Refusal.NO_RESULT
    appeal = Appeal(
        unit_id=period.unit_id,
        period_id=period.id,
        cadre_id=cadre.id,
        reason=reason[:1000],
        state=AppealState.OPEN.value,
        created_at=now,
        old_score=result.score,
        old_grade=result.grade,
    )
    session.add(appeal)
    await session.flush()
    audit.record(
        session=session,
        unit_id=period.unit_id,
        actor=cadre.name,
        actor_cadre_id=cadre.id,
        action=ACTION_APPEAL,
        entity="appeal",
        entity_id=appeal.id,
        new={"period": period.code, "score": str(result.score), "grade": result.grade},
        reason=reason[:500],
        at=now,
    )
    return appeal


async def answer_appeal(
    *,
    session: AsyncSession,
    appeal: Appeal,
    period: Period,
    leader: Cadre,
    uphold: bool,
    answer: str,
    now: datetime,
    new_score: Decimal | None = None,
) -> Rescored | Refusal | None:
    """A reviewing leader answers an appeal in writing: upheld with ``new_score`` (the quarter
    is re-graded: an adjustment of the difference, with the answer as its reason) or rejected.
    Returns the rescore of an upheld appeal, None for a rejection."""
    now = check_now(now)
    if not is_reviewer(leader, frozen(period)):
        return Refusal.NOT_REVIEWER
    if appeal.state != AppealState.OPEN:
        return Refusal.ALREADY_ANSWERED
    answer = answer.strip()
    if not visible(answer):
        return Refusal.NO_REASON
    assert period.id is not None
    result = await reviews_q.result_of(
        session=session, period_id=period.id, cadre_id=appeal.cadre_id
    )
    if result is None or result.score is None:
        return Refusal.NO_RESULT
    rescored: Rescored | None = None
    if uphold:
        if new_score is None or not Decimal(0) <= new_score <= Decimal(100):
            return Refusal.OUT_OF_RANGE
        # The score as stored is clamped to 0-100; the engine adds adjustments to the unclamped
        # figure (the months' mean plus every adjustment so far), so the difference is taken
        # from that, or an upheld 88 on a clamped 100 would not land on 88.
        figure = as_dict(as_dict(result.breakdown).get("score"))
        mean = as_decimal(figure.get("mean"))
        so_far = as_decimal(figure.get("adjustment_total")) or Decimal(0)
        delta = new_score - (mean + so_far if mean is not None else result.score)
        if delta:
            reviews_q.add_adjustment(
                session=session,
                unit_id=period.unit_id,
                period_id=period.id,
                cadre_id=appeal.cadre_id,
                delta=delta,
                reason=answer[:500],
                leader_id=leader.id,
                now=now,
            )
            await session.flush()
        rescored = await rescore(session=session, period=period, now=now, actor=leader.name)
        result = next(r for r in rescored.results if r.cadre_id == appeal.cadre_id)
    appeal.state = (AppealState.UPHELD if uphold else AppealState.REJECTED).value
    appeal.answer = answer[:1000]
    appeal.answered_by_id = leader.id
    appeal.answered_at = now
    appeal.new_score = result.score
    appeal.new_grade = result.grade
    session.add(appeal)
    audit.record(
        session=session,
        unit_id=period.unit_id,
        actor=leader.name,
        actor_cadre_id=leader.id,
        action=ACTION_ANSWER,
        entity="appeal",
        entity_id=appeal.id,
        old={"score": str(appeal.old_score), "grade": appeal.old_grade},
        new={"state": appeal.state, "score": str(result.score), "grade": result.grade},
        reason=answer[:500],
        at=now,
    )
    await session.flush()
    return rescored


# --- the end of the notice ------------------------------------------------------------------


async def finalise(*, session: AsyncSession, period: Period, now: datetime, actor: str) -> str:
    """Make a published quarter's results final once its notice is over: ``done``; ``waiting``
    while the notice runs or an appeal is unanswered; ``skipped`` when it is not published."""
    now = check_now(now)
    if period.kind != PeriodKind.QUARTER or period.state != PeriodState.PUBLISHED:
        return "skipped"
    if period.notice_ends_at is None or aware_utc(period.notice_ends_at) > now:
        return "waiting"
    assert period.id is not None
    if await reviews_q.open_appeals(session=session, period_id=period.id):
        return "waiting"
    period.state = PeriodState.FINAL.value
    period.finalised_at = now
    session.add(period)
    audit.record(
        session=session,
        unit_id=period.unit_id,
        actor=actor,
        action=ACTION_FINAL,
        entity="period",
        entity_id=period.id,
        old={"state": PeriodState.PUBLISHED.value},
        new={"state": PeriodState.FINAL.value},
        at=now,
    )
    await session.flush()
    return "done"
