"""The scoring engine on the database: compute, store and recompute each cadre's results.

The rules are pure and live in :mod:`bot.rules.scoring`; this module feeds them from the database
and stores what they return, with the breakdown and the inputs that made each figure. Closing a
period (:mod:`bot.appraisal.periods`) calls :func:`score_period`; so can the quarterly review
after an adjustment. :func:`recompute` runs the same engine again without writing and reports
every difference from the stored results: "recomputing gives the same figure" is checked, not
assumed. Every function takes the clock as an explicit ``now`` and leaves the commit to the
caller's unit of work.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.clock import aware_utc
from bot.rules import raters as rules_raters
from bot.rules import scoring
from bot.rules.numbers import exact
from bot.rules.scheme import Item, Scheme
from storage.models import (
    Period,
    PeriodKind,
    Rating,
    RatingLine,
    RatingSource,
    RatingState,
    Result,
    Target,
)
from storage.queries import audit
from storage.queries import calendar as calendar_q
from storage.queries import periods as periods_q
from storage.queries import results as results_q
from storage.queries import reviews as reviews_q
from storage.queries import roster as roster_q
from storage.queries import schemes as schemes_q
from storage.queries import targets as targets_q

__all__ = [
    "ACTOR_SYSTEM",
    "Computed",
    "Difference",
    "PeriodStateError",
    "check_now",
    "compute",
    "compute_month",
    "compute_summary",
    "frozen",
    "parts_of",
    "recompute",
    "score_half",
    "score_month",
    "score_period",
    "score_quarter",
    "score_year",
]

ACTOR_SYSTEM = "system"


ACTION_RESULT = "result.update"


def check_now(now: datetime) -> datetime:
    """The explicit clock, in UTC; a naive time would be read in the server's zone, so refuse it."""
    return aware_utc(now)


def _json(value: Any) -> Any:
    """Plain JSON data exactly as the database will give it back (int keys become strings)."""
    return json.loads(json.dumps(value, ensure_ascii=False))


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def frozen(period: Period) -> Scheme:
    if period.scheme is None:
        raise PeriodStateError(f"period {period.code} has no frozen scheme; open it first")
    return schemes_q.scheme_of(period)


class PeriodStateError(RuntimeError):
    """A period cannot be scored in its state (e.g. it never opened, so nothing is frozen)."""


async def parts_of(session: AsyncSession, period: Period) -> list[Period]:
    """The months (of a quarter) or quarters (of a half or year) the period is made of."""
    if period.kind == PeriodKind.QUARTER:
        return await periods_q.months_of(session=session, period=period)
    return await periods_q.quarters_of(session=session, period=period)


@dataclass(frozen=True)
class Computed:
    """One cadre's figure for a period, as it is (or would be) stored in a ``Result``."""

    cadre_id: int
    score: Decimal | None
    office_rules: Decimal | None
    grade: str | None
    flags: list[str]
    breakdown: dict[str, Any]
    inputs: dict[str, Any]
    scheme_fingerprint: str


@dataclass
class _Rated:
    """A self-score or head's rating turned into a 0-100 figure (or why it could not be)."""

    rating: scoring.WeightedRating | None
    breakdown: dict[str, Any] | None
    line_ids: list[int] = field(default_factory=list)
    target_ids: list[int] = field(default_factory=list)
    exceeded: bool = False
    problems: list[dict[str, Any]] = field(default_factory=list)


def _rate(
    rating: Rating | None,
    lines: Sequence[RatingLine],
    items: Sequence[Item],
    weights: Mapping[str, Decimal],
    targets: Mapping[str, Sequence[Target]],
    month: int,
    pace: str,
) -> _Rated:
    """Score a submitted rating over the category's items of the frozen scheme.

    A judged item is the line keyed by the item; a quantified item is the points-weighted mean
    of its target lines, each min(actual / target, 1) × 100. A rating that cannot be scored (a
    missing line, a target without a figure) counts as not submitted, and says why.
    """
    if rating is None:
        return _Rated(None, None)
    rated = _Rated(None, None)
    item_scores: dict[str, Decimal] = {}
    item_details: list[dict[str, Any]] = []
    for item in items:
        if not item.quantified:
            line = next((ln for ln in lines if ln.line_key == item.key), None)
            if line is None or line.score is None:
                rated.problems.append({"item": item.key, "code": "no_score"})
                continue
            try:
                judged = scoring.judged_item_score(line.score)
            except scoring.ScoringError:
                rated.problems.append({"item": item.key, "code": "invalid", "line_id": line.id})
                continue
            assert line.id is not None
            rated.line_ids.append(line.id)
            item_scores[item.key] = judged.score
            item_details.append({"key": item.key, "line_id": line.id, **judged.as_dict()})
            continue
        item_targets = list(targets.get(item.key, ()))
        if not item_targets:
            rated.problems.append({"item": item.key, "code": "no_targets"})
            continue
        scored: dict[str, scoring.ItemScore] = {}
        points: dict[str, Decimal] = {}
        target_lines: list[dict[str, Any]] = []
        for target in item_targets:
            assert target.id is not None
            line = next((ln for ln in lines if ln.target_id == target.id), None)
            problem = None
            if target.target_value is None:
                problem = "no_target_value"
            elif line is None or line.actual is None:
                problem = "no_actual"
            if problem is not None:
                rated.problems.append({"item": item.key, "code": problem, "target": target.code})
                continue
            assert line is not None and line.actual is not None and line.id is not None
            assert target.target_value is not None
            try:
                share = scoring.month_target(
                    target.target_value, month, pace, target.month_figures()
                )
                line_score = scoring.quantified_item_score(line.actual, share)
            except scoring.ScoringError:
                rated.problems.append({"item": item.key, "code": "invalid", "target": target.code})
                continue
            rated.line_ids.append(line.id)
            rated.target_ids.append(target.id)
            rated.exceeded |= scoring.Flag.TARGET_EXCEEDED in line_score.flags
            scored[target.code] = line_score
            points[target.code] = target.points
            target_lines.append(
                {
                    "code": target.code,
                    "target_id": target.id,
                    "line_id": line.id,
                    "points": str(target.points),
                    "annual_target": str(target.target_value),
                    "pace": pace,
                    **line_score.as_dict(),
                }
            )
        if len(scored) != len(item_targets):
            continue
        combined = scoring.weighted_rating(scored, points)
        item_scores[item.key] = combined.score
        item_details.append(
            {
                "key": item.key,
                "method": "quantified",
                "score": str(combined.score),
                "targets": target_lines,
                "weighted": combined.as_dict(),
            }
        )
    rated.breakdown = {
        "rating_id": rating.id,
        "rater_id": rating.rater_id,
        "items": item_details,
        "problems": rated.problems,
    }
    if rated.problems:
        return rated
    rated.rating = scoring.weighted_rating(item_scores, weights)
    rated.breakdown["weighted"] = rated.rating.as_dict()
    return rated


async def _month_group(session: AsyncSession, period: Period) -> list[int]:
    cadres = await roster_q.assessed_cadres(session=session, unit_id=period.unit_id)
    return [c.id for c in cadres if c.id is not None]


async def _stored_group(session: AsyncSession, period: Period) -> list[int]:
    assert period.id is not None
    return [r.cadre_id for r in await results_q.results_for(session=session, period_id=period.id)]


async def compute_month(
    *,
    session: AsyncSession,
    period: Period,
    cadre_ids: Sequence[int] | None = None,
    categories: Mapping[int, str] | None = None,
    raters: Mapping[int, list[int]] | None = None,
    on_leave: Collection[int] | None = None,
) -> list[Computed]:
    """Score a month for ``cadre_ids`` (default: the stored group, else every assessed cadre).

    ``categories`` overrides a cadre's category, ``raters`` who rates each cadre and
    ``on_leave`` who was on leave at the deadline (``recompute`` passes the stored ones, so that a
    village assigned, a head replaced or leave entered later does not rewrite an old month).
    Nothing is written.

    A cadre on leave (请假) on the deadline's day who did not self-score is excused: the
    self-score is left out rather than counted 0 (``self_excused``); a rater on leave is not
    flagged for ratings left undone.

    Besides the score: a rating submitted at the deadline on its author's behalf is flagged
    (``self_auto_submitted``, ``head_auto_submitted``); a draft never completed shows which items
    it had answered (``breakdown.drafts``); and whoever should have rated a cadre whose head
    rating is missing is flagged on their own result (``owes_ratings``, ``breakdown.owes``),
    since that part is the rater's fault, not the cadre's.
    """
    assert period.id is not None
    scheme = frozen(period)
    fingerprint = scheme.fingerprint()
    ids = list(cadre_ids) if cadre_ids is not None else await _stored_group(session, period)
    if cadre_ids is None and not ids:
        ids = await _month_group(session, period)
    cadres = await results_q.cadres_by_id(session=session, ids=ids)
    everything = await results_q.period_ratings(session=session, period_id=period.id)
    ratings = [r for r in everything if r.state == RatingState.SUBMITTED.value]
    by_source = {(r.ratee_id, r.source): r for r in ratings}
    drafts = {(r.ratee_id, r.source): r for r in everything if r.state != RatingState.SUBMITTED}
    lines = await results_q.rating_lines(
        session=session, rating_ids=[r.id for r in everything if r.id is not None]
    )
    if raters is None:
        roster = await roster_q.list_cadres(session=session, unit_id=period.unit_id)
        rated_by = rules_raters.raters_by_ratee(roster)
        raters = {
            cadre_id: [r.id for r in rated_by.get(cadre_id, ()) if r.id]
            for cadre_id in ids
            if cadre_id in cadres
        }
    targets: dict[int, dict[str, list[Target]]] = {}
    for target in await targets_q.list_targets(
        session=session, unit_id=period.unit_id, year=period.year, cadre_ids=ids
    ):
        targets.setdefault(target.cadre_id, {}).setdefault(target.item_key, []).append(target)
    ballot = scheme.democratic_in_month(period.number)
    tallies = await results_q.tally_counts(session=session, period_id=period.id) if ballot else {}
    records: dict[int, list[Any]] = {}
    for record in await results_q.discipline_records(session=session, period_id=period.id):
        records.setdefault(record.cadre_id, []).append(record)
    if on_leave is None:
        deadline_day = aware_utc(period.closes_at).astimezone(scheme.monthly_window.zone).date()
        leave = await calendar_q.leave_between(
            session=session, unit_id=period.unit_id, first=deadline_day, last=deadline_day
        )
        on_leave = set(leave)
    away = set(on_leave)

    bands = scheme.grade_bands()
    staged: list[dict[str, Any]] = []
    for cadre_id in ids:
        cadre = cadres.get(cadre_id)
        category = (categories or {}).get(cadre_id) or scheme.category_for(
            has_village=bool(cadre and cadre.is_village_stationed)
        )
        items = scheme.items_for(category)
        weights = scheme.weights_for(category)
        rated: dict[str, _Rated] = {}
        for source in (RatingSource.HEAD, RatingSource.SELF):
            rating = by_source.get((cadre_id, source.value))
            rating_lines = lines.get(rating.id, []) if rating and rating.id is not None else []
            rated[source.value] = _rate(
                rating,
                rating_lines,
                items,
                weights,
                targets.get(cadre_id, {}),
                period.number,
                scheme.targets.pace,
            )
        head, self_ = rated["head"], rated["self"]

        democratic = None
        tally: dict[str, int] | None = None
        if ballot:
            counts = tallies.get(cadre_id, {})
            tally = {g.value: counts.get(g.value, 0) for g in scoring.GRADE_ORDER}
            democratic = scoring.democratic_score(tally, scheme.democratic_rules())
        monthly = scoring.monthly_score(
            head.rating,
            democratic,
            self_.rating,
            scheme.source_weights(),
            scheme.missing_policy(),
            excused=frozenset({scoring.Source.SELF}) if cadre_id in away else frozenset(),
        )
        own_records = records.get(cadre_id, [])
        office = scoring.office_rules_score(
            [scoring.Deduction(points=r.deduction, key=r.violation_key) for r in own_records],
            base=scheme.office_rules.base,
        )
        flags = [f.value for f in monthly.flags]
        if not ballot:
            # No evaluation ran this month: nothing is missing, the source simply does not apply.
            flags = [f for f in flags if f != scoring.Flag.DEMOCRATIC_MISSING]
        for rated_source, result in rated.items():
            if result.problems:
                flags.append(f"{rated_source}_incomplete")
        if head.exceeded or self_.exceeded:
            flags.append(scoring.Flag.TARGET_EXCEEDED.value)
        if scoring.Flag.FLOORED in office.flags:
            flags.append("office_rules_floored")
        for source in (RatingSource.SELF, RatingSource.HEAD):
            submitted = by_source.get((cadre_id, source.value))
            if submitted is not None and submitted.auto_submitted:
                flags.append(f"{source.value}_auto_submitted")
        draft_answers = {
            source.value: _answered(lines.get(draft.id or 0, []))
            for source in (RatingSource.SELF, RatingSource.HEAD)
            if (draft := drafts.get((cadre_id, source.value))) is not None
        }
        grade = None if monthly.score is None else scoring.grade(monthly.score, bands).value
        staged.append(
            {
                "cadre_id": cadre_id,
                "score": monthly.score,
                "office_rules": office.score,
                "grade": grade,
                "flags": flags,
                "breakdown": {
                    "kind": period.kind,
                    "category": category,
                    "ballot": ballot,
                    "head": head.breakdown,
                    "self": self_.breakdown,
                    "democratic": None if democratic is None else democratic.as_dict(),
                    "monthly": monthly.as_dict(),
                    "office_rules": office.as_dict(),
                    "drafts": draft_answers,
                },
                "inputs": {
                    "category": category,
                    "ratings": sorted(
                        b["rating_id"] for b in (head.breakdown, self_.breakdown) if b
                    ),
                    "rating_lines": sorted(head.line_ids + self_.line_ids),
                    "targets": sorted(set(head.target_ids + self_.target_ids)),
                    "discipline": [r.id for r in own_records],
                    "tally": tally,
                    "raters": sorted(raters.get(cadre_id, [])),
                    # Only when true: results stored before leave existed stay reproduced.
                    **({"on_leave": True} if cadre_id in away else {}),
                },
                "head_missing": head.rating is None,
            }
        )
    # Whoever should have rated a cadre and did not: flagged on their own result.
    owes: dict[int, list[int]] = {}
    for entry in staged:
        if entry["head_missing"]:
            for rater_id in entry["inputs"]["raters"]:
                if rater_id not in away:
                    owes.setdefault(rater_id, []).append(entry["cadre_id"])
    computed: list[Computed] = []
    for entry in staged:
        owed = owes.get(entry["cadre_id"], [])
        if owed:
            entry["flags"].append("owes_ratings")
        entry["breakdown"]["owes"] = sorted(owed)
        computed.append(
            Computed(
                cadre_id=entry["cadre_id"],
                score=entry["score"],
                office_rules=entry["office_rules"],
                grade=entry["grade"],
                flags=_unique(entry["flags"]),
                breakdown=_json(entry["breakdown"]),
                inputs=_json(entry["inputs"]),
                scheme_fingerprint=fingerprint,
            )
        )
    return computed


def _answered(lines: Sequence[RatingLine]) -> list[str]:
    """The items a draft had answered (by item key, in the order first answered)."""
    return _unique(
        line.item_key for line in lines if line.score is not None or line.actual is not None
    )


def _grading(
    scores: Mapping[int, Decimal], scheme: Scheme
) -> tuple[scoring.GradeAssignment[int], dict[str, Any]]:
    assignment = scoring.assign_grades(scores, scheme.grade_bands(), scheme.excellent_cap)
    summary = {
        "graded": len(scores),
        "cap": None if assignment.cap is None else str(assignment.cap),
        "max_excellent": assignment.max_excellent,
        "eligible": len(assignment.eligible),
        "slots_for_tied": assignment.slots_for_tied,
        "tied": sorted(assignment.tied),
        "capped": sorted(assignment.capped),
    }
    return assignment, summary


async def _summary_group(
    session: AsyncSession, period: Period, part_results: Mapping[int, Mapping[int, Result]]
) -> list[int]:
    """Who a quarter/half/year grades: the stored group, else assessed cadres with a part result."""
    stored = await _stored_group(session, period)
    if stored:
        return stored
    with_results = {cid for results in part_results.values() for cid in results}
    return [cid for cid in await _month_group(session, period) if cid in with_results]


_SUMMARY_SCORE: dict[str, Callable[..., scoring.PeriodScore]] = {
    PeriodKind.QUARTER: scoring.quarterly_score,
    PeriodKind.HALF: scoring.half_year_score,
    PeriodKind.YEAR: scoring.annual_score,
}


async def compute_summary(
    *, session: AsyncSession, period: Period, cadre_ids: Sequence[int] | None = None
) -> list[Computed]:
    """Score a quarter, half-year or year from its parts' stored results; nothing is written.

    A quarter averages its months; a half-year and the year average their quarters (so the
    leadership's quarterly adjustments count). Adjustments recorded against the period itself
    are applied, grades follow the frozen scheme's bands and cap, and the year adds the
    year-end bonus.
    """
    assert period.id is not None
    scheme = frozen(period)
    fingerprint = scheme.fingerprint()
    parts = await parts_of(session, period)
    months = await periods_q.months_of(session=session, period=period)
    part_results = await results_q.results_by_period(
        session=session, period_ids=[p.id for p in parts if p.id is not None]
    )
    month_results = (
        part_results
        if period.kind == PeriodKind.QUARTER
        else await results_q.results_by_period(
            session=session, period_ids=[m.id for m in months if m.id is not None]
        )
    )
    ids = (
        list(cadre_ids)
        if cadre_ids is not None
        else await _summary_group(session, period, part_results)
    )
    adjustments: dict[int, list[Any]] = {}
    for adjustment in await results_q.score_adjustments(session=session, period_id=period.id):
        adjustments.setdefault(adjustment.cadre_id, []).append(adjustment)
    entries: dict[int, list[Any]] = {}
    bases: dict[int, Decimal] = {}
    if period.kind == PeriodKind.YEAR:
        for entry in await results_q.bonus_entries(
            session=session, unit_id=period.unit_id, year=period.year
        ):
            entries.setdefault(entry.cadre_id, []).append(entry)
        # The office's own base per cadre (kaohe bonus import), else the scheme's default.
        bases = await reviews_q.bonus_bases(
            session=session, unit_id=period.unit_id, year=period.year
        )

    score_of = _SUMMARY_SCORE[period.kind]
    staged: list[
        tuple[int, scoring.PeriodScore, Decimal | None, dict[str, Any], dict[str, Any]]
    ] = []
    for cadre_id in ids:
        own_parts = [part_results.get(p.id or 0, {}).get(cadre_id) for p in parts]
        own_months = [month_results.get(m.id or 0, {}).get(cadre_id) for m in months]
        own_adjustments = adjustments.get(cadre_id, [])
        figure = score_of(
            [None if r is None else r.score for r in own_parts],
            [scoring.Adjustment(value=a.delta, reason=a.reason) for a in own_adjustments],
        )
        office_mean = scoring.office_rules_mean(
            None if r is None else r.office_rules for r in own_months
        )
        breakdown: dict[str, Any] = {
            "kind": period.kind,
            "parts": [
                {
                    "period": p.code,
                    "result_id": None if r is None else r.id,
                    "score": None if r is None or r.score is None else str(r.score),
                }
                for p, r in zip(parts, own_parts, strict=True)
            ],
            "score": figure.as_dict(),
            "office_rules_months": [
                None if r is None or r.office_rules is None else str(r.office_rules)
                for r in own_months
            ],
        }
        inputs: dict[str, Any] = {
            "part_results": [r.id for r in own_parts if r is not None],
            "month_results": [r.id for r in own_months if r is not None],
            "adjustments": [a.id for a in own_adjustments],
        }
        staged.append((cadre_id, figure, office_mean, breakdown, inputs))

    scores = {cid: fig.score for cid, fig, _, _, _ in staged if fig.score is not None}
    assignment, grading = _grading(scores, scheme)
    computed: list[Computed] = []
    for cadre_id, figure, office_mean, breakdown, inputs in staged:
        flags = [f.value for f in figure.flags]
        flags += [f.value for f in assignment.flags.get(cadre_id, ())]
        grade = assignment.grades.get(cadre_id)
        breakdown["grading"] = grading
        if period.kind == PeriodKind.YEAR:
            own_entries = entries.get(cadre_id, [])
            inputs["bonus_entries"] = [e.id for e in own_entries]
            bonus = None
            if figure.score is not None and office_mean is not None:
                bonus = scoring.year_end_bonus(
                    bases.get(cadre_id, scheme.bonus.base),
                    office_mean,
                    figure.score,
                    scheme.bonus.office_rules_share,
                    rewards=[e.amount for e in own_entries if e.kind == "reward"],
                    deductions=[e.amount for e in own_entries if e.kind == "deduction"],
                )
                if scoring.Flag.FLOORED in bonus.flags:
                    flags.append("bonus_floored")
            breakdown["bonus"] = None if bonus is None else bonus.as_dict()
            breakdown["currency"] = scheme.bonus.currency
        computed.append(
            Computed(
                cadre_id=cadre_id,
                score=figure.score,
                office_rules=office_mean,
                grade=None if grade is None else grade.value,
                flags=_unique(flags),
                breakdown=_json(breakdown),
                inputs=_json(inputs),
                scheme_fingerprint=fingerprint,
            )
        )
    return computed


async def compute(
    *,
    session: AsyncSession,
    period: Period,
    cadre_ids: Sequence[int] | None = None,
    categories: Mapping[int, str] | None = None,
    raters: Mapping[int, list[int]] | None = None,
    on_leave: Collection[int] | None = None,
) -> list[Computed]:
    """Score any period without writing (months: :func:`compute_month`; else summaries)."""
    if period.kind == PeriodKind.MONTH:
        return await compute_month(
            session=session,
            period=period,
            cadre_ids=cadre_ids,
            categories=categories,
            raters=raters,
            on_leave=on_leave,
        )
    return await compute_summary(session=session, period=period, cadre_ids=cadre_ids)


async def _store(
    session: AsyncSession,
    period: Period,
    computed: Sequence[Computed],
    now: datetime,
    actor: str,
) -> list[Result]:
    """Store results; a stored figure that changes is audited with its old and new values."""
    assert period.id is not None
    stored: list[Result] = []
    for item in computed:
        row, old = await results_q.save_result(
            session=session,
            unit_id=period.unit_id,
            period_id=period.id,
            cadre_id=item.cadre_id,
            score=item.score,
            office_rules=item.office_rules,
            grade=item.grade,
            flags=item.flags,
            breakdown=item.breakdown,
            inputs=item.inputs,
            scheme_fingerprint=item.scheme_fingerprint,
            computed_at=now,
        )
        if old:
            shown = ("score", "office_rules", "grade", "flags")
            audit.record(
                session=session,
                unit_id=period.unit_id,
                actor=actor,
                action=ACTION_RESULT,
                entity="result",
                entity_id=row.id,
                old=_json(
                    {k: exact(v) for k, v in old.items() if k in shown} | {"changed": sorted(old)}
                ),
                new=_json({k: exact(getattr(row, k)) for k in shown if k in old}),
                reason=f"rescored {period.code}",
                at=now,
            )
        stored.append(row)
    return stored


async def score_period(
    *, session: AsyncSession, period: Period, now: datetime, actor: str = ACTOR_SYSTEM
) -> list[Result]:
    """Score a period and store one result per cadre (again: results are replaced, audited).

    Closing calls this; so can the quarterly review after an adjustment. The group is the one
    already stored, else every assessed cadre (months) or every assessed cadre with a result in
    the period's parts (quarters, halves, the year).
    """
    now = check_now(now)
    computed = await compute(session=session, period=period)
    results = await _store(session, period, computed, now, actor)
    await session.flush()
    return results


def _kind_check(period: Period, kind: PeriodKind) -> None:
    if period.kind != kind:
        raise ValueError(f"{period.code} is a {period.kind}, not a {kind.value}")


async def score_month(
    *, session: AsyncSession, period: Period, now: datetime, actor: str = ACTOR_SYSTEM
) -> list[Result]:
    """Score a month (see :func:`compute_month`) and store the results."""
    _kind_check(period, PeriodKind.MONTH)
    return await score_period(session=session, period=period, now=now, actor=actor)


async def score_quarter(
    *, session: AsyncSession, period: Period, now: datetime, actor: str = ACTOR_SYSTEM
) -> list[Result]:
    """Score a quarter from its months' results and adjustments, and store the results."""
    _kind_check(period, PeriodKind.QUARTER)
    return await score_period(session=session, period=period, now=now, actor=actor)


async def score_half(
    *, session: AsyncSession, period: Period, now: datetime, actor: str = ACTOR_SYSTEM
) -> list[Result]:
    """Score a half-year from its quarters' results, and store the results."""
    _kind_check(period, PeriodKind.HALF)
    return await score_period(session=session, period=period, now=now, actor=actor)


async def score_year(
    *, session: AsyncSession, period: Period, now: datetime, actor: str = ACTOR_SYSTEM
) -> list[Result]:
    """Score the year (annual score, year-end bonus) from the quarters, and store the results."""
    _kind_check(period, PeriodKind.YEAR)
    return await score_period(session=session, period=period, now=now, actor=actor)


@dataclass(frozen=True)
class Difference:
    """A stored figure that the engine does not reproduce from the stored inputs."""

    cadre_id: int
    field: str  # "score", "grade", ..., or a path into the breakdown: "breakdown.monthly.score"
    stored: Any
    recomputed: Any


def _paths(prefix: str, stored: Any, fresh: Any, out: list[tuple[str, Any, Any]]) -> None:
    if isinstance(stored, dict) and isinstance(fresh, dict):
        for key in _unique([*stored, *fresh]):
            _paths(f"{prefix}.{key}", stored.get(key), fresh.get(key), out)
    elif isinstance(stored, list) and isinstance(fresh, list) and len(stored) == len(fresh):
        for index, (a, b) in enumerate(zip(stored, fresh, strict=True)):
            _paths(f"{prefix}[{index}]", a, b, out)
    elif stored != fresh:
        out.append((prefix, stored, fresh))


async def recompute(*, session: AsyncSession, period: Period) -> list[Difference]:
    """Score the period again from what the database holds and compare with the stored results.

    The same group of cadres and the stored categories are used, with the period's frozen
    scheme; nothing is written. An empty list means every stored figure, flag, breakdown and
    list of inputs is reproduced exactly.
    """
    assert period.id is not None
    stored = await results_q.results_for(session=session, period_id=period.id)
    if not stored:
        return []
    categories = {
        r.cadre_id: str(r.inputs["category"]) for r in stored if (r.inputs or {}).get("category")
    }
    stored_raters = {
        r.cadre_id: [int(i) for i in r.inputs["raters"]]
        for r in stored
        if isinstance((r.inputs or {}).get("raters"), list)
    }
    fresh = {
        c.cadre_id: c
        for c in await compute(
            session=session,
            period=period,
            cadre_ids=[r.cadre_id for r in stored],
            categories=categories,
            raters=stored_raters if period.kind == PeriodKind.MONTH and stored_raters else None,
            on_leave={r.cadre_id for r in stored if (r.inputs or {}).get("on_leave")},
        )
    }
    differences: list[Difference] = []
    for row in stored:
        new = fresh[row.cadre_id]
        for name in ("score", "office_rules", "grade", "flags", "scheme_fingerprint"):
            if getattr(row, name) != getattr(new, name):
                differences.append(
                    Difference(row.cadre_id, name, getattr(row, name), getattr(new, name))
                )
        for name in ("breakdown", "inputs"):
            paths: list[tuple[str, Any, Any]] = []
            _paths(name, _json(getattr(row, name)), getattr(new, name), paths)
            differences.extend(Difference(row.cadre_id, p, a, b) for p, a, b in paths)
    return differences
