"""Read a quarter's, half-year's or year's report from the stored results.

Everything a report shows comes from the results the scoring engine stored (with their
breakdowns), the roster and the month's participation counts, read in a fixed number of
statements whatever the size of the unit: a county of 5,000 cadres costs the same dozen queries
as a town of 12 (``bench/report.py`` measures it). The democratic evaluation is read through
:func:`bot.rules.secrecy.public_democratic`: a score, or "too few ballots", never a tally.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.appraisal.results import parts_of
from bot.core.clock import aware_utc
from bot.reports.model import (
    BIG_CHANGE,
    AdjustmentLine,
    BonusLine,
    MonthParticipation,
    PeriodReport,
    ReportLine,
)
from bot.rules import scoring
from bot.rules.secrecy import public_democratic
from bot.rules.stored import as_decimal, as_dict, as_list
from storage.models import Cadre, Period, PeriodKind, Result
from storage.queries import periods as periods_q
from storage.queries import results as results_q
from storage.queries import reviews as reviews_q
from storage.queries import roster as roster_q

__all__ = ["period_report", "previous_of", "previous_period"]


def _local(moment: datetime | None, zone: ZoneInfo) -> datetime | None:
    return None if moment is None else aware_utc(moment).astimezone(zone)


def previous_of(period: Period) -> tuple[str, int, int]:
    """The kind, year and number of the period before ``period`` (its "last time")."""
    if period.kind == PeriodKind.QUARTER:
        return (
            (period.kind, period.year, period.number - 1)
            if period.number > 1
            else (period.kind, period.year - 1, 4)
        )
    if period.kind == PeriodKind.HALF:
        return (
            (period.kind, period.year, 1)
            if period.number == 2
            else (period.kind, period.year - 1, 2)
        )
    return (period.kind, period.year - 1, 1)


async def previous_period(*, session: AsyncSession, period: Period) -> Period | None:
    """The period before ``period``, if it was published (quarters) or closed (halves, years)."""
    kind, year, number = previous_of(period)
    found = await periods_q.get_period(
        session=session, unit_id=period.unit_id, kind=PeriodKind(kind), year=year, number=number
    )
    if found is None:
        return None
    ready = (
        periods_q.PUBLISHED_STATES if found.kind == PeriodKind.QUARTER else periods_q.CLOSED_STATES
    )
    return found if found.state in ready else None


def _source_mean(months: Sequence[Any], source: str) -> Decimal | None:
    values = []
    for result in months:
        if result is None:
            continue
        for line in as_list(as_dict(as_dict(result.breakdown).get("monthly")).get("lines")):
            line = as_dict(line)
            if (
                line.get("source") == source
                and (value := as_decimal(line.get("value"))) is not None
            ):
                values.append(value)
    return scoring.mean_score(values)


def _democratic(months: Sequence[Any]) -> tuple[Decimal | None, str]:
    """The mean democratic score of the months that had one, and what it means."""
    held = False
    scores = []
    for result in months:
        if result is None:
            continue
        breakdown = as_dict(result.breakdown)
        if not breakdown.get("ballot"):
            continue
        held = True
        shown = public_democratic(as_dict(breakdown.get("democratic")))
        if shown is not None and (score := as_decimal(shown.get("score"))) is not None:
            scores.append(score)
    if scores:
        return scoring.mean_score(scores), "score"
    return None, "too_few" if held else "none"


def _bonus(breakdown: Mapping[str, Any]) -> BonusLine | None:
    bonus = as_dict(breakdown.get("bonus"))
    if not bonus:
        return None

    def money(key: str) -> Decimal:
        return as_decimal(bonus.get(key)) or Decimal("0")

    return BonusLine(
        base=money("base"),
        share=money("share"),
        office_rules_mean=money("office_rules_mean"),
        office_rules_part=money("office_rules_part"),
        annual_score=money("annual_score"),
        performance_part=money("performance_part"),
        rewards=sum(
            (as_decimal(v) or Decimal(0) for v in as_list(bonus.get("rewards"))), Decimal(0)
        ),
        deductions=sum(
            (as_decimal(v) or Decimal(0) for v in as_list(bonus.get("deductions"))), Decimal(0)
        ),
        amount=money("amount"),
        currency=str(breakdown.get("currency") or ""),
    )


def _line(
    result: Result,
    cadre: Cadre | None,
    department: str,
    parts: Sequence[Period],
    part_results: Sequence[Any],
    month_results: Sequence[Any],
    previous: Any,
) -> ReportLine:
    breakdown = as_dict(result.breakdown)
    figure = as_dict(breakdown.get("score"))
    democratic, note = _democratic(month_results)
    # The parts as the engine used them (stored with the result), else as stored now.
    stored_parts = [as_dict(p) for p in as_list(breakdown.get("parts")) if as_dict(p).get("period")]
    if stored_parts:
        codes = tuple(str(p["period"]) for p in stored_parts)
        scores = tuple(as_decimal(p.get("score")) for p in stored_parts)
    else:
        codes = tuple(p.code for p in parts)
        scores = tuple(None if r is None else r.score for r in part_results)
    flags: list[str] = []
    for flag in [
        *as_list(result.flags),
        *(f for r in month_results if r for f in as_list(r.flags)),
    ]:
        if isinstance(flag, str) and flag not in flags:
            flags.append(flag)
    line = ReportLine(
        result_id=result.id or 0,
        cadre_id=result.cadre_id,
        name=cadre.name if cadre else str(result.cadre_id),
        department=department,
        title=cadre.title if cadre else None,
        parts=scores,
        part_codes=codes,
        head=_source_mean(month_results, "head"),
        self_score=_source_mean(month_results, "self"),
        democratic=democratic,
        democratic_note=note,
        office_rules=result.office_rules,
        mean=as_decimal(figure.get("mean")),
        adjustments=tuple(
            AdjustmentLine(value=value, reason=str(a.get("reason", "")))
            for a in map(as_dict, as_list(figure.get("adjustments")))
            if (value := as_decimal(a.get("value"))) is not None
        ),
        score=result.score,
        grade=result.grade,
        flags=tuple(flags),
        previous_score=None if previous is None else previous.score,
        previous_grade=None if previous is None else previous.grade,
        bonus=_bonus(breakdown),
    )
    if line.change is not None and abs(line.change) >= BIG_CHANGE:
        line = replace(line, flags=(*line.flags, "big_change"))
    return line


async def period_report(
    *, session: AsyncSession, period: Period, unit_name: str, zone: ZoneInfo
) -> PeriodReport:
    """The report of a quarter, half-year or year, from its stored results (none stored yet:
    a report without lines)."""
    assert period.id is not None and period.kind != PeriodKind.MONTH
    parts = await parts_of(session, period)
    months = (
        parts
        if period.kind == PeriodKind.QUARTER
        else await periods_q.months_of(session=session, period=period)
    )
    previous = await previous_period(session=session, period=period)
    # Only what the report shows is read (bench/report.py: a county's breakdowns, whole, cost
    # most of the time and memory): the period's own results without their inputs, the months'
    # figures with their sources, and of the quarters and last time the figures alone.
    own = {
        r.cadre_id: r
        for r in await results_q.results_without_inputs(session=session, period_id=period.id)
    }
    month_ids = [m.id for m in months if m.id is not None]
    results: dict[int, dict[int, Any]] = dict(
        await results_q.figures_by_period(session=session, period_ids=month_ids, months=True)
    )
    others = [p.id for p in parts if p.id is not None and p.id not in results]
    if previous is not None and previous.id is not None:
        others.append(previous.id)
    results.update(await results_q.figures_by_period(session=session, period_ids=others))
    roster = await roster_q.list_cadres(session=session, unit_id=period.unit_id, active_only=False)
    departments = await roster_q.departments(session=session, unit_id=period.unit_id)
    names = {d.id: d.name for d in departments}
    cadres = {c.id: c for c in roster}
    place = {c.id: index for index, c in enumerate(roster)}
    lines = []
    for cadre_id in sorted(own, key=lambda cid: (place.get(cid, len(place)), cid)):
        cadre = cadres.get(cadre_id)
        lines.append(
            _line(
                own[cadre_id],
                cadre,
                names.get(cadre.department_id, "") if cadre else "",
                parts,
                [results.get(p.id or 0, {}).get(cadre_id) for p in parts],
                [results.get(m.id or 0, {}).get(cadre_id) for m in months],
                None if previous is None else results.get(previous.id or 0, {}).get(cadre_id),
            )
        )
    submitted = await reviews_q.submitted_counts(session=session, period_ids=month_ids)
    cast = await reviews_q.ballots_cast(session=session, period_ids=month_ids)
    participation = tuple(
        MonthParticipation(
            code=m.code,
            month=m.number,
            assessed=len(results.get(m.id or 0, {})),
            self_done=submitted.get(m.id or 0, {}).get("self", 0),
            head_done=submitted.get(m.id or 0, {}).get("head", 0),
            ballot=any(
                as_dict(r.breakdown).get("ballot") for r in results.get(m.id or 0, {}).values()
            ),
            ballots_cast=cast.get(m.id or 0, 0),
        )
        for m in months
        if m.state in periods_q.CLOSED_STATES
    )
    grading = next((as_dict(as_dict(r.breakdown).get("grading")) for r in own.values()), {})
    currency = next(
        (str(as_dict(r.breakdown).get("currency")) for r in own.values() if r.breakdown), ""
    )
    return PeriodReport(
        unit=unit_name,
        kind=period.kind,
        year=period.year,
        number=period.number,
        code=period.code,
        state=period.state,
        closed_at=_local(period.closed_at, zone),
        review_ends_at=_local(period.review_ends_at, zone),
        published_at=_local(period.published_at, zone),
        notice_ends_at=_local(period.notice_ends_at, zone),
        appeal_ends_at=_local(period.appeal_ends_at, zone),
        lines=tuple(lines),
        departments=tuple(d.name for d in departments),
        participation=participation,
        previous_code=None if previous is None else previous.code,
        max_excellent=grading.get("max_excellent"),
        tied=tuple(int(i) for i in as_list(grading.get("tied"))),
        currency=currency if currency != "None" else "",
    )
