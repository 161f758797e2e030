"""Self-scores and head ratings: their rows, who rates whom, and what a rating adds up to.

A self-score and a head's rating are the same shape (:class:`~storage.models.Rating` with
:class:`~storage.models.RatingLine` rows), told apart by ``source``. The line layout is the one the
month's scoring engine (:mod:`bot.appraisal.periods`) reads:

* a judged item: one line keyed by the item (``duty``) carrying ``score``;
* a quantified item: one line per target (``duty.T1``, ``target_id`` set) carrying ``actual``;
  the item's score is the points-weighted mean of min(actual / target, 1) × 100;
* every item also has its item line for the cadre's note and evidence (photo or document, kept by
  its Telegram file id); on a quantified item that line carries no score.

Who rates whom: a department head rates the cadres of their department except themselves and
except heads who have a supervising leader; a leader rates the heads they supervise
(``Cadre.supervisor_id``). A head without a supervising leader is rated by the other head of the
department, if there is one.

Every write reports whether it changed anything, so that a double tap or a repeated answer never
records twice, and the caller audits only real changes. Nothing here commits: the caller's unit of
work does.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.appraisal.month import category_of, is_assessed, items_of, scheme_of, targets_of
from bot.rules import scoring
from bot.rules.scheme import Item
from storage.engine import insert_for
from storage.models import (
    Cadre,
    Department,
    Period,
    PeriodKind,
    PeriodState,
    Rating,
    RatingLine,
    RatingSource,
    RatingState,
    Role,
    Target,
    utcnow,
)
from storage.queries import audit
from storage.queries.roster import department_members

__all__ = [
    "ACTION_RATING_CHANGE",
    "ACTION_SELF_CHANGE",
    "MISSING",
    "Answer",
    "Figure",
    "FigureProblem",
    "LineChange",
    "Sheet",
    "SubmitOutcome",
    "build_sheet",
    "ensure_rating",
    "get_rating",
    "line_key",
    "load_sheet",
    "may_rate",
    "parse_figure",
    "participation",
    "ratees_of",
    "rater_of",
    "rating_lines",
    "record_answer",
    "record_change",
    "save_line",
    "submit_rating",
    "submit_sheet",
    "upcoming_month",
    "update_total",
]

# The audit log's action names for changes made after a rating was submitted (entity "rating").
ACTION_SELF_CHANGE = "selfscore.change"
ACTION_RATING_CHANGE = "rating.change"
# participation(): the state of a rating that does not exist.
MISSING = "missing"

_UNSET: Any = object()
_LINE_FIELDS = ("score", "actual", "note", "evidence_file_id", "evidence_kind")


# --- typed figures ---------------------------------------------------------------------------


class FigureProblem(StrEnum):
    """Why a typed figure was refused; templates say it in the person's language."""

    NOT_A_NUMBER = "not_a_number"
    TOO_MANY_DECIMALS = "too_many_decimals"
    OUT_OF_RANGE = "out_of_range"


@dataclass(frozen=True)
class Figure:
    """A typed number: its value, or the problem with it."""

    value: Decimal | None
    problem: FigureProblem | None = None


_NUMBER = re.compile(r"^[+-]?(\d+)(?:\.(\d+))?$")
MAX_ACTUAL = Decimal(1_000_000_000)


def parse_figure(
    text: str | None,
    *,
    minimum: Decimal = Decimal(0),
    maximum: Decimal | None = Decimal(100),
    decimals: int = 1,
) -> Figure:
    """Read a score or an actual figure as typed on a phone.

    Full-width digits and the ideographic full stop are accepted (Chinese keyboards type them),
    surrounding spaces are ignored; anything else that is not a plain decimal number is refused,
    as is a figure with more than ``decimals`` decimals or outside ``minimum``-``maximum``.
    """
    if not text:
        return Figure(None, FigureProblem.NOT_A_NUMBER)
    cleaned = unicodedata.normalize("NFKC", text).strip().replace("。", ".")
    match = _NUMBER.match(cleaned)
    if match is None:
        return Figure(None, FigureProblem.NOT_A_NUMBER)
    try:
        value = Decimal(cleaned)
    except InvalidOperation:  # pragma: no cover - the pattern admits only plain numbers
        return Figure(None, FigureProblem.NOT_A_NUMBER)
    if match.group(2) is not None and len(match.group(2).rstrip("0")) > decimals:
        return Figure(None, FigureProblem.TOO_MANY_DECIMALS)
    upper = MAX_ACTUAL if maximum is None else maximum
    if not minimum <= value <= upper:
        return Figure(None, FigureProblem.OUT_OF_RANGE)
    return Figure(_canonical(value))


def _canonical(value: Decimal) -> Decimal:
    """``85.0`` -> ``85``, ``87.50`` -> ``87.5``, ``-0`` -> ``0``: one spelling per figure."""
    if value == value.to_integral_value():
        return abs(value.quantize(Decimal(1))) if value.is_zero() else value.quantize(Decimal(1))
    return value.normalize()


# --- ratings and their lines -----------------------------------------------------------------


def line_key(item_key: str, target: Target | None = None) -> str:
    """The key of an item's line (``duty``) or of one target's line (``duty.T1``)."""
    return item_key if target is None else f"{item_key}.{target.code}"


async def get_rating(
    *, session: AsyncSession, period_id: int, ratee_id: int, source: RatingSource | str
) -> Rating | None:
    """The self-score or head's rating of ``ratee_id`` in a period, draft or submitted."""
    return (
        await session.exec(
            select(Rating).where(
                Rating.period_id == period_id,
                Rating.ratee_id == ratee_id,
                Rating.source == str(source),
            )
        )
    ).first()


def _insert_ignoring_conflict(session: AsyncSession, model: Any, values: dict[str, Any]) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING`` for the backend in use (a race is not an error)."""
    return insert_for(session, model).values(**values).on_conflict_do_nothing()


async def ensure_rating(
    *,
    session: AsyncSession,
    period: Period,
    ratee: Cadre,
    rater: Cadre,
    source: RatingSource | str,
) -> Rating:
    """The rating of ``ratee`` from ``source``, created as a draft if there is none yet.

    The unique key (period, ratee, source) decides a race between two raters: both end up with
    the same row.
    """
    assert period.id is not None and ratee.id is not None and rater.id is not None
    existing = await get_rating(
        session=session, period_id=period.id, ratee_id=ratee.id, source=source
    )
    if existing is not None:
        return existing
    await session.exec(
        _insert_ignoring_conflict(
            session,
            Rating,
            {
                "unit_id": period.unit_id,
                "period_id": period.id,
                "ratee_id": ratee.id,
                "rater_id": rater.id,
                "source": str(source),
                "state": RatingState.DRAFT.value,
                "updated_at": utcnow(),
            },
        )
    )
    created = await get_rating(
        session=session, period_id=period.id, ratee_id=ratee.id, source=source
    )
    assert created is not None
    return created


async def rating_lines(*, session: AsyncSession, rating_id: int) -> list[RatingLine]:
    """The lines of one rating, in the order they were first written."""
    return list(
        (
            await session.exec(
                select(RatingLine)
                .where(RatingLine.rating_id == rating_id)
                .order_by(col(RatingLine.id))
            )
        ).all()
    )


def _line_values(line: RatingLine | None) -> dict[str, Any]:
    """A line's answer as plain JSON for the audit log (decimals as their exact text)."""
    if line is None:
        return {name: None for name in _LINE_FIELDS}
    values: dict[str, Any] = {}
    for name in _LINE_FIELDS:
        value = getattr(line, name)
        values[name] = str(value) if isinstance(value, Decimal) else value
    return values


@dataclass(frozen=True)
class LineChange:
    """What :func:`save_line` did: ``changed`` is False when the answer was already there."""

    line: RatingLine
    changed: bool
    old: dict[str, Any]
    new: dict[str, Any]


async def save_line(
    *,
    session: AsyncSession,
    rating_id: int,
    key: str,
    item_key: str,
    target_id: int | None = None,
    score: Decimal | None = _UNSET,
    actual: Decimal | None = _UNSET,
    note: str | None = _UNSET,
    evidence: tuple[str, str] | None = _UNSET,
) -> LineChange:
    """Upsert the line ``key`` of a rating with the given fields (the others are kept).

    ``evidence`` is (Telegram file id, "photo" | "document"). Returns whether anything changed,
    with the old and new answers, so that a repeated answer writes nothing and is not audited.
    """
    await session.exec(
        _insert_ignoring_conflict(
            session,
            RatingLine,
            {"rating_id": rating_id, "line_key": key, "item_key": item_key, "target_id": target_id},
        )
    )
    line = (
        await session.exec(
            select(RatingLine)
            .where(RatingLine.rating_id == rating_id, RatingLine.line_key == key)
            .with_for_update()
        )
    ).one()
    old = _line_values(line)
    if score is not _UNSET:
        line.score = score
    if actual is not _UNSET:
        line.actual = actual
    if note is not _UNSET:
        line.note = note
    if evidence is not _UNSET:
        line.evidence_file_id, line.evidence_kind = evidence if evidence else (None, None)
    new = _line_values(line)
    changed = old != new
    if changed:
        session.add(line)
        await session.flush()
    return LineChange(line=line, changed=changed, old=old, new=new)


async def submit_rating(
    *, session: AsyncSession, rating_id: int, total: Decimal, now: datetime | None = None
) -> bool:
    """Mark a draft submitted with its total; False if it was submitted already (a double tap).

    One conditional UPDATE, so two presses racing each other submit once.
    """
    moment = now or utcnow()
    result = await session.exec(
        update(Rating)
        .where(col(Rating.id) == rating_id, col(Rating.state) == RatingState.DRAFT.value)
        .values(
            state=RatingState.SUBMITTED.value, total=total, submitted_at=moment, updated_at=moment
        )
    )
    return bool(result.rowcount)


async def update_total(
    *, session: AsyncSession, rating: Rating, total: Decimal | None
) -> Decimal | None:
    """Store the recomputed total of a submitted rating; return the old one."""
    old = rating.total
    rating.total = total
    rating.updated_at = utcnow()
    session.add(rating)
    await session.flush()
    return old


def record_change(
    *,
    session: AsyncSession,
    rating: Rating,
    actor: Cadre,
    change: LineChange,
    old_total: Decimal | None,
    new_total: Decimal | None,
) -> None:
    """Audit a change to a submitted rating: who, the line, its old and new answer and total."""
    source = rating.source
    action = ACTION_SELF_CHANGE if source == RatingSource.SELF.value else ACTION_RATING_CHANGE
    where = {"line_key": change.line.line_key, "ratee_id": rating.ratee_id}
    audit.record(
        session=session,
        unit_id=rating.unit_id,
        actor=actor.name,
        actor_cadre_id=actor.id,
        action=action,
        entity="rating",
        entity_id=rating.id,
        old={**where, **change.old, "total": _text(old_total)},
        new={**where, **change.new, "total": _text(new_total)},
        reason="changed by the ratee before the deadline"
        if source == RatingSource.SELF.value
        else "changed by the rater before the deadline",
    )


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


# --- what a rating adds up to ----------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One item of a rating sheet: the item, the ratee's targets under it, and the answers."""

    item: Item
    targets: tuple[Target, ...]
    line: RatingLine | None  # the item line: judged score, note, evidence
    target_lines: Mapping[int, RatingLine]  # quantified: target id -> line with the actual
    score: scoring.ItemScore | None  # None until every figure of the item is given
    target_scores: Mapping[int, scoring.ItemScore]

    @property
    def key(self) -> str:
        return self.item.key

    @property
    def quantified(self) -> bool:
        return self.item.quantified

    @property
    def scorable(self) -> bool:
        """False for a quantified item without targets (or a target without its figure):
        the office must set the targets before anyone can score it."""
        if not self.item.quantified:
            return True
        return bool(self.targets) and all(
            t.target_value is not None and t.target_value > 0 for t in self.targets
        )

    @property
    def complete(self) -> bool:
        return self.score is not None

    @property
    def note(self) -> str | None:
        return self.line.note if self.line else None

    @property
    def evidence_kind(self) -> str | None:
        return self.line.evidence_kind if self.line and self.line.evidence_file_id else None

    @property
    def evidence_file_id(self) -> str | None:
        return self.line.evidence_file_id if self.line else None

    def actual(self, target_id: int) -> Decimal | None:
        line = self.target_lines.get(target_id)
        return line.actual if line else None


@dataclass(frozen=True)
class Sheet:
    """A rating (or the lack of one) laid out over the ratee's items, with its weighted total."""

    period: Period
    ratee: Cadre
    source: str
    rating: Rating | None
    answers: tuple[Answer, ...]
    weights: Mapping[str, Decimal]
    total: scoring.WeightedRating | None = None
    lines: tuple[RatingLine, ...] = field(default=())

    @property
    def submitted(self) -> bool:
        return self.rating is not None and self.rating.state == RatingState.SUBMITTED.value

    @property
    def state(self) -> str:
        return self.rating.state if self.rating else MISSING

    @property
    def complete(self) -> bool:
        return self.total is not None

    @property
    def missing(self) -> list[Answer]:
        return [a for a in self.answers if not a.complete]

    def answer(self, item_key: str) -> Answer | None:
        return next((a for a in self.answers if a.key == item_key), None)

    def target(self, target_id: int) -> tuple[Answer, Target] | None:
        for answer in self.answers:
            for target in answer.targets:
                if target.id == target_id:
                    return answer, target
        return None


def build_sheet(
    *,
    period: Period,
    ratee: Cadre,
    source: str,
    rating: Rating | None,
    lines: Sequence[RatingLine],
    items: Sequence[Item],
    weights: Mapping[str, Decimal],
    targets: Iterable[Target],
) -> Sheet:
    """Lay the lines out over the items and score what is complete, with :mod:`bot.rules.scoring`.

    The same rules as the month's scoring engine: a judged item is its line's score; a quantified
    item the points-weighted mean of its targets' min(actual / target, 1) × 100.
    """
    by_item: dict[str, list[Target]] = {}
    for target in targets:
        by_item.setdefault(target.item_key, []).append(target)
    answers = []
    for item in items:
        item_line = next((ln for ln in lines if ln.line_key == item.key), None)
        item_targets = tuple(by_item.get(item.key, ()))
        target_lines = {
            ln.target_id: ln for ln in lines if ln.target_id is not None and ln.item_key == item.key
        }
        score: scoring.ItemScore | None = None
        target_scores: dict[int, scoring.ItemScore] = {}
        if not item.quantified:
            if item_line is not None and item_line.score is not None:
                score = scoring.judged_item_score(item_line.score)
        else:
            for target in item_targets:
                line = target_lines.get(target.id)  # type: ignore[arg-type]
                if line is not None and line.actual is not None and target.target_value:
                    target_scores[target.id] = scoring.quantified_item_score(  # type: ignore[index]
                        line.actual, target.target_value
                    )
            if item_targets and len(target_scores) == len(item_targets):
                combined = scoring.weighted_rating(
                    {t.code: target_scores[t.id] for t in item_targets},  # type: ignore[index]
                    {t.code: t.points for t in item_targets},
                )
                score = scoring.ItemScore(score=combined.score, method="quantified")
        answers.append(
            Answer(
                item=item,
                targets=item_targets,
                line=item_line,
                target_lines=target_lines,
                score=score,
                target_scores=target_scores,
            )
        )
    total = None
    if all(a.score is not None for a in answers):
        total = scoring.weighted_rating(
            {a.key: a.score for a in answers if a.score is not None}, weights
        )
    return Sheet(
        period=period,
        ratee=ratee,
        source=source,
        rating=rating,
        answers=tuple(answers),
        weights=weights,
        total=total,
        lines=tuple(lines),
    )


def _in_file_order(period: Period, category: str, items: Sequence[Item]) -> tuple[Item, ...]:
    """The items in the order of the scheme file, as frozen with the period (本职工作 first).

    ``bot.appraisal.month.scheme_of`` rebuilds the scheme from JSON with sorted keys, which
    loses that order; the period's own JSON keeps it.
    """
    raw = ((period.scheme or {}).get("items") or {}).get(category) or {}
    order = {key: index for index, key in enumerate(raw)}
    return tuple(sorted(items, key=lambda item: order.get(item.key, len(order))))


async def load_sheet(
    *, session: AsyncSession, period: Period, ratee: Cadre, source: RatingSource | str
) -> Sheet:
    """The ratee's rating from ``source`` in ``period`` over the period's frozen scheme."""
    assert period.id is not None and ratee.id is not None
    scheme = scheme_of(period)
    category = category_of(ratee, scheme)
    items = _in_file_order(period, category, items_of(ratee, scheme))
    weights = scheme.weights_for(category)
    rating = await get_rating(
        session=session, period_id=period.id, ratee_id=ratee.id, source=source
    )
    lines = await rating_lines(session=session, rating_id=rating.id) if rating and rating.id else []
    targets = await targets_of(session=session, cadre_id=ratee.id, year=period.year)
    return build_sheet(
        period=period,
        ratee=ratee,
        source=str(source),
        rating=rating,
        lines=lines,
        items=items,
        weights=weights,
        targets=targets,
    )


# --- answering and submitting ---------------------------------------------------------------


async def record_answer(
    *,
    session: AsyncSession,
    period: Period,
    ratee: Cadre,
    rater: Cadre,
    source: RatingSource | str,
    key: str,
    item_key: str,
    target_id: int | None = None,
    **fields: Any,
) -> LineChange:
    """Save one answer of a rating, creating the draft on the first answer.

    ``fields`` are those of :func:`save_line` (score, actual, note, evidence). On a submitted
    rating the total is recomputed at once and the change is audited with the old and new answer
    and total; an answer that changes nothing writes nothing.
    """
    rating = await ensure_rating(
        session=session, period=period, ratee=ratee, rater=rater, source=source
    )
    assert rating.id is not None
    change = await save_line(
        session=session,
        rating_id=rating.id,
        key=key,
        item_key=item_key,
        target_id=target_id,
        **fields,
    )
    if not change.changed:
        return change
    if rating.rater_id != rater.id:
        rating.rater_id = rater.id  # a co-head or a new supervising leader took over
    rating.updated_at = utcnow()
    session.add(rating)
    if rating.state == RatingState.SUBMITTED.value:
        sheet = await load_sheet(session=session, period=period, ratee=ratee, source=source)
        new_total = sheet.total.score if sheet.total else None
        old_total = await update_total(session=session, rating=rating, total=new_total)
        record_change(
            session=session,
            rating=rating,
            actor=rater,
            change=change,
            old_total=old_total,
            new_total=new_total,
        )
    await session.flush()
    return change


class SubmitOutcome(StrEnum):
    SUBMITTED = "submitted"  # the draft is now submitted with its total
    ALREADY = "already"  # it was submitted before (a double tap): nothing changed
    INCOMPLETE = "incomplete"  # some item has no score yet: nothing changed


async def submit_sheet(
    *,
    session: AsyncSession,
    period: Period,
    ratee: Cadre,
    source: RatingSource | str,
    now: datetime | None = None,
) -> tuple[SubmitOutcome, Sheet]:
    """Submit the rating if every item is scored; the sheet is returned as it stands after."""
    sheet = await load_sheet(session=session, period=period, ratee=ratee, source=source)
    if sheet.submitted:
        return SubmitOutcome.ALREADY, sheet
    if sheet.total is None or sheet.rating is None or sheet.rating.id is None:
        return SubmitOutcome.INCOMPLETE, sheet
    if not await submit_rating(
        session=session, rating_id=sheet.rating.id, total=sheet.total.score, now=now
    ):
        return SubmitOutcome.ALREADY, sheet
    await session.refresh(sheet.rating)
    return SubmitOutcome.SUBMITTED, sheet


# --- who rates whom ---------------------------------------------------------------------------


def _rated_by_leader(cadre: Cadre) -> bool:
    return cadre.has(Role.HEAD) and cadre.supervisor_id is not None


async def may_rate(*, session: AsyncSession, rater: Cadre, ratee: Cadre) -> bool:
    """Whether ``rater`` rates ``ratee`` this month (never themselves; same unit; both active)."""
    if (
        rater.id is None
        or rater.id == ratee.id
        or rater.unit_id != ratee.unit_id
        or not rater.active
        or not is_assessed(ratee)
    ):
        return False
    if rater.has(Role.LEADER) and ratee.supervisor_id == rater.id and ratee.has(Role.HEAD):
        return True
    if not rater.has(Role.HEAD) or rater.department_id != ratee.department_id:
        return False
    if not _rated_by_leader(ratee):
        return True
    supervisor = await session.get(Cadre, ratee.supervisor_id)
    # A head whose supervising leader has left is rated by the other head of the department.
    return supervisor is None or not supervisor.active or not supervisor.has(Role.LEADER)


async def ratees_of(*, session: AsyncSession, rater: Cadre) -> list[Cadre]:
    """The people ``rater`` rates: their department's cadres (if a head), then the heads they
    supervise (if a leader); each once, in roster order."""
    candidates: list[Cadre] = []
    if rater.has(Role.HEAD):
        candidates += await department_members(session=session, department_id=rater.department_id)
    if rater.has(Role.LEADER):
        supervised = (
            await session.exec(
                select(Cadre)
                .join(Department, col(Department.id) == col(Cadre.department_id))
                .where(Cadre.supervisor_id == rater.id, col(Cadre.active).is_(True))
                .order_by(
                    col(Department.position), col(Department.id), col(Cadre.name), col(Cadre.id)
                )
            )
        ).all()
        candidates += list(supervised)
    result: list[Cadre] = []
    seen: set[int] = set()
    for cadre in candidates:
        if cadre.id in seen:
            continue
        if await may_rate(session=session, rater=rater, ratee=cadre):
            assert cadre.id is not None
            seen.add(cadre.id)
            result.append(cadre)
    return result


async def rater_of(*, session: AsyncSession, ratee: Cadre) -> Cadre | None:
    """Who rates ``ratee``: a head's supervising leader, else the head of their department
    (the first by name if there are several); None if nobody does."""
    if _rated_by_leader(ratee):
        leader = await session.get(Cadre, ratee.supervisor_id)
        if leader is not None and await may_rate(session=session, rater=leader, ratee=ratee):
            return leader
    for member in await department_members(session=session, department_id=ratee.department_id):
        if member.has(Role.HEAD) and await may_rate(session=session, rater=member, ratee=ratee):
            return member
    return None


# --- progress ---------------------------------------------------------------------------------


async def participation(*, session: AsyncSession, period_id: int) -> dict[int, dict[str, str]]:
    """Per assessed cadre of the period's unit: ``{"self": state, "head": state}``.

    A state is ``submitted``, ``draft`` or ``missing`` (no row yet).
    """
    period = await session.get(Period, period_id)
    if period is None:
        return {}
    people = (
        await session.exec(
            select(Cadre)
            .where(Cadre.unit_id == period.unit_id, col(Cadre.active).is_(True))
            .order_by(col(Cadre.id))
        )
    ).all()
    result: dict[int, dict[str, str]] = {
        c.id: {RatingSource.SELF.value: MISSING, RatingSource.HEAD.value: MISSING}
        for c in people
        if c.id is not None and is_assessed(c)
    }
    ratings = (await session.exec(select(Rating).where(Rating.period_id == period_id))).all()
    for rating in ratings:
        if rating.ratee_id in result:
            result[rating.ratee_id][rating.source] = rating.state
    return result


async def upcoming_month(
    *, session: AsyncSession, unit_id: int, now: datetime | None = None
) -> Period | None:
    """The next month scheduled to open after ``now``, if the office has created it."""
    moment = now or utcnow()
    return (
        await session.exec(
            select(Period)
            .where(
                Period.unit_id == unit_id,
                Period.kind == PeriodKind.MONTH.value,
                Period.state == PeriodState.SCHEDULED.value,
                col(Period.opens_at) > moment,
            )
            .order_by(col(Period.opens_at))
        )
    ).first()
