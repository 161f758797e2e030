"""Self-scores and head ratings as the people filling them in see them: a sheet over the items of
the period's frozen scheme, what it adds up to, and who rates whom.

A self-score and a head's rating are the same shape (:class:`~storage.models.Rating` with
:class:`~storage.models.RatingLine` rows, :mod:`storage.queries.ratings`), told apart by
``source``. The line layout is the one the month's scoring (:mod:`bot.appraisal.results`) reads:

* a judged item: one line keyed by the item (``duty``) carrying ``score``;
* a quantified item: one line per target (``duty.T1``, ``target_id`` set) carrying ``actual``;
  the item's score is the points-weighted mean of min(actual / the month's target, 1) × 100;
* every item also has its item line for the cadre's note and evidence (photo or document, kept by
  its Telegram file id); on a quantified item that line carries no score.

Nothing here commits: the caller's unit of work does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.appraisal.month import category_of, items_of
from bot.rules import raters, scoring
from bot.rules.scheme import Item
from storage.models import Cadre, Period, Rating, RatingLine, RatingSource, RatingState, Target
from storage.queries import ratings as ratings_q
from storage.queries.ratings import MISSING
from storage.queries.roster import list_cadres
from storage.queries.schemes import scheme_of
from storage.queries.targets import list_targets


@dataclass(frozen=True)
class Answer:
    """One item of a rating sheet: the item, the ratee's targets under it, and the answers."""

    item: Item
    targets: tuple[Target, ...]
    line: RatingLine | None  # the item line: judged score, note, evidence
    target_lines: Mapping[int, RatingLine]  # quantified: target id -> line with the actual
    score: scoring.ItemScore | None  # None until every figure of the item is given
    target_scores: Mapping[int, scoring.ItemScore]
    # The month's share of each target's annual figure (what its actual is compared with).
    month_targets: Mapping[int, Decimal] = field(default_factory=dict)

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
    # Per target, what the ratee reported in the year's earlier months (submitted self-scores).
    year_to_date: Mapping[int, Decimal] = field(default_factory=dict)

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
    pace: str,
    year_to_date: Mapping[int, Decimal] | None = None,
) -> Sheet:
    """Lay the lines out over the items and score what is complete, with :mod:`bot.rules.scoring`.

    The same rules as the month's scoring engine: a judged item is its line's score; a quantified
    item the points-weighted mean of its targets' min(actual / the month's target, 1) × 100,
    the month's target being the annual one's share by the scheme's ``pace``
    (:func:`bot.rules.scoring.month_target`).
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
        month_targets = {
            t.id: scoring.month_target(t.target_value, period.number, pace, t.month_figures())
            for t in item_targets
            if t.id is not None and t.target_value
        }
        if not item.quantified:
            if item_line is not None and item_line.score is not None:
                score = scoring.judged_item_score(item_line.score)
        else:
            for target in item_targets:
                assert target.id is not None
                line = target_lines.get(target.id)
                if line is not None and line.actual is not None and target.id in month_targets:
                    target_scores[target.id] = scoring.quantified_item_score(
                        line.actual, month_targets[target.id]
                    )
            if item_targets and len(target_scores) == len(item_targets):
                combined = scoring.weighted_rating(
                    {t.code: target_scores[t.id or 0] for t in item_targets},
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
                month_targets=month_targets,
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
        year_to_date=dict(year_to_date or {}),
    )


def in_file_order(period: Period, category: str, items: Sequence[Item]) -> tuple[Item, ...]:
    """The items in the order of the scheme file, as frozen with the period (本职工作 first).

    A scheme read back from JSON may not keep the file's order of items; the period's own JSON
    does.
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
    items = in_file_order(period, category, items_of(ratee, scheme))
    weights = scheme.weights_for(category)
    rating = await ratings_q.get_rating(
        session=session, period_id=period.id, ratee_id=ratee.id, source=source
    )
    lines = (
        await ratings_q.rating_lines(session=session, rating_id=rating.id)
        if rating and rating.id
        else []
    )
    targets = await list_targets(
        session=session, unit_id=period.unit_id, year=period.year, cadre_ids=[ratee.id]
    )
    quantified = any(item.quantified for item in items)
    so_far = (
        await ratings_q.year_actuals(
            session=session,
            ratee_id=ratee.id,
            year=period.year,
            before_month=period.number,
            source=RatingSource.SELF.value,
        )
        if quantified and targets
        else {}
    )
    return build_sheet(
        period=period,
        ratee=ratee,
        source=str(source),
        rating=rating,
        lines=lines,
        items=items,
        weights=weights,
        targets=targets,
        pace=scheme.targets.pace,
        year_to_date=so_far,
    )


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
    now: datetime,
    **fields: Any,
) -> ratings_q.LineChange:
    """Save one answer of a rating, creating the draft on the first answer.

    ``fields`` are those of :func:`storage.queries.ratings.save_line` (score, actual, note,
    evidence). On a submitted
    rating the total is recomputed at once and the change is audited with the old and new answer
    and total; an answer that changes nothing writes nothing.
    """
    rating = await ratings_q.ensure_rating(
        session=session, period=period, ratee=ratee, rater=rater, source=source, now=now
    )
    assert rating.id is not None
    change = await ratings_q.save_line(
        session=session,
        rating_id=rating.id,
        key=key,
        item_key=item_key,
        target_id=target_id,
        **fields,
    )
    if not change.changed:
        return change
    if rater.id is not None and rating.rater_id != rater.id:
        rating.rater_id = rater.id  # a co-head or a new supervising leader took over
    rating.updated_at = now
    session.add(rating)
    if rating.state == RatingState.SUBMITTED.value:
        sheet = await load_sheet(session=session, period=period, ratee=ratee, source=source)
        new_total = sheet.total.score if sheet.total else None
        old_total = await ratings_q.update_total(
            session=session, rating=rating, total=new_total, now=now
        )
        ratings_q.record_change(
            session=session,
            rating=rating,
            actor=rater,
            change=change,
            old_total=old_total,
            new_total=new_total,
            now=now,
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
    now: datetime,
) -> tuple[SubmitOutcome, Sheet]:
    """Submit the rating if every item is scored; the sheet is returned as it stands after."""
    sheet = await load_sheet(session=session, period=period, ratee=ratee, source=source)
    if sheet.submitted:
        return SubmitOutcome.ALREADY, sheet
    if sheet.total is None or sheet.rating is None or sheet.rating.id is None:
        return SubmitOutcome.INCOMPLETE, sheet
    if not await ratings_q.submit_rating(
        session=session, rating_id=sheet.rating.id, total=sheet.total.score, now=now
    ):
        return SubmitOutcome.ALREADY, sheet
    await session.refresh(sheet.rating)
    return SubmitOutcome.SUBMITTED, sheet


# --- who rates whom ---------------------------------------------------------------------------


async def ratees_of(*, session: AsyncSession, rater: Cadre) -> list[Cadre]:
    """The people ``rater`` rates (:func:`bot.rules.raters.ratees_of`), in roster order."""
    people = await list_cadres(session=session, unit_id=rater.unit_id)
    return [p for p in raters.ratees_of(rater, people) if isinstance(p, Cadre)]


async def may_rate(*, session: AsyncSession, rater: Cadre, ratee: Cadre) -> bool:
    """Whether ``rater`` rates ``ratee`` now (:func:`bot.rules.raters.may_rate`)."""
    people = await list_cadres(session=session, unit_id=rater.unit_id)
    return raters.may_rate(rater, ratee, {p.id: p for p in people if p.id is not None})


async def rater_of(*, session: AsyncSession, ratee: Cadre) -> Cadre | None:
    """Who rates ``ratee``: their supervising leader, else the first head of their department."""
    people = await list_cadres(session=session, unit_id=ratee.unit_id)
    found = [p for p in raters.raters_of(ratee, people) if isinstance(p, Cadre)]
    found.sort(key=lambda p: p.id != ratee.supervisor_id)
    return found[0] if found else None
