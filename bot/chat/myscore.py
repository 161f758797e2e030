"""``/myscore``: the caller's month so far, and their latest results with how they came about.

The month: whether the self-score is in, whether the ballot is cast (if this month has one),
whom the caller still has to rate, and the deadline in the town's time. The results: the latest
closed month's monthly result and the latest published quarter's, each with the figures it was
computed from (read from the breakdown that :mod:`bot.rules.scoring` wrote with ``as_dict()``): the
three sources and the weights used, the renormalisation when one is missing, the quarter's months
and the leadership's adjustments with their reasons, and every flag explained in words.

Ballots are secret: of the democratic evaluation only the score is shown, never a count of grades.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.appraisal.month import month_status
from bot.appraisal.progress import PersonMonth, month_snapshot
from bot.appraisal.review import appeal_open
from bot.chat.access import require
from bot.chat.context import KaoheContext
from bot.chat.office import remaining
from bot.chat.review import appeal_keyboard
from bot.reports.build import period_report
from bot.reports.messages import personal_text
from bot.rules.numbers import plain
from bot.rules.roles import Role
from bot.rules.stored import as_decimal, as_dict, as_list
from storage.models import Period, PeriodKind, PeriodState
from storage.queries import office as office_q
from storage.queries import reviews as reviews_q
from storage.queries.office import PeriodResult
from storage.queries.schemes import scheme_of


@dataclass(frozen=True)
class MonthView:
    """The open month as the caller sees it (from :mod:`bot.appraisal.progress`)."""

    period: Period
    deadline: datetime  # local time
    left: tuple[int, int] | None  # days, hours
    me: PersonMonth | None  # None for someone not assessed (a leader who only rates)
    to_rate: list[PersonMonth]  # whom the caller still has to rate

    @property
    def todo(self) -> int:
        """How many things the caller still has to do this month."""
        me = self.me
        own = 0 if me is None else (not me.self_state.done) + (me.ballot_cast is False)
        return own + bool(self.to_rate)


@dataclass(frozen=True)
class SourceView:
    """One source of a monthly score: the figure, the weight, and how it counted."""

    source: str  # head | democratic | self
    value: Decimal | None  # as submitted; None when missing
    counted: Decimal | None  # as used: the value, 0 (a missing self-score), None (left out)
    weight: str  # the scheme's weight, in percent ("50")
    weight_used: str  # the weight after renormalisation, in percent ("60"); "0" if left out


@dataclass(frozen=True)
class PartView:
    """One month of a quarter."""

    month: int | None
    score: Decimal | None


@dataclass(frozen=True)
class AdjustmentView:
    """A leadership adjustment and its written reason."""

    value: Decimal
    reason: str


@dataclass(frozen=True)
class ResultView:
    """A stored result, ready to be explained."""

    kind: str  # month | quarter
    year: int
    number: int
    score: Decimal | None
    grade: str | None
    office_rules: Decimal | None
    sources: list[SourceView]
    renormalised: bool
    parts: list[PartView]
    mean: Decimal | None
    adjustments: list[AdjustmentView]
    flags: list[str]
    # Items answered in a self-score (head's rating) left as an incomplete draft at the deadline.
    drafts: dict[str, int]


def _percent(value: Any) -> str:
    """``0.5`` -> ``"50"``, ``0.4286`` -> ``"42.86"``."""
    number = as_decimal(value)
    if number is None:
        return "0"
    return plain(number * 100)


def _monthly_part(breakdown: dict[str, Any]) -> dict[str, Any]:
    """The monthly score's own breakdown: under ``monthly``, or the breakdown itself."""
    monthly = as_dict(breakdown.get("monthly"))
    if "lines" in monthly:
        return monthly
    return breakdown if "lines" in breakdown else {}


def _period_part(breakdown: dict[str, Any]) -> dict[str, Any]:
    """A quarter's score breakdown: under ``score``, or the breakdown itself."""
    score = as_dict(breakdown.get("score"))
    if "inputs" in score:
        return score
    return breakdown if "inputs" in breakdown else {}


def _month_of(code: Any) -> int | None:
    """``"2026-07"`` -> 7."""
    try:
        return int(str(code).split("-")[1])
    except (IndexError, ValueError):
        return None


def result_view(found: PeriodResult) -> ResultView:
    """Read a stored result and its breakdown (tolerant of missing parts; shows no tally)."""
    period, result = found.period, found.result
    breakdown = found.breakdown
    monthly = _monthly_part(breakdown)
    sources = [
        SourceView(
            source=str(line.get("source")),
            value=as_decimal(line.get("value")),
            counted=as_decimal(line.get("counted")),
            weight=_percent(line.get("weight")),
            weight_used=_percent(line.get("weight_used")),
        )
        for line in map(as_dict, as_list(monthly.get("lines")))
        if line.get("source") in ("head", "democratic", "self")
    ]
    quarter = _period_part(breakdown) if period.kind != PeriodKind.MONTH else {}
    parts = [
        PartView(month=_month_of(p.get("period")), score=as_decimal(p.get("score")))
        for p in map(as_dict, as_list(breakdown.get("parts")))
    ]
    if not parts and quarter:
        first = (period.number - 1) * 3 + 1
        parts = [
            PartView(month=first + i, score=as_decimal(v))
            for i, v in enumerate(as_list(quarter.get("inputs")))
        ]
    adjustments = [
        AdjustmentView(value=value, reason=str(a.get("reason", "")))
        for a in map(as_dict, as_list(quarter.get("adjustments")))
        if (value := as_decimal(a.get("value"))) is not None
    ]
    flags: list[str] = []
    for flag in [
        *as_list(result.flags),
        *as_list(monthly.get("flags")),
        *as_list(quarter.get("flags")),
    ]:
        if isinstance(flag, str) and flag not in flags:
            flags.append(flag)
    return ResultView(
        kind=period.kind,
        year=period.year,
        number=period.number,
        score=result.score,
        grade=result.grade,
        office_rules=result.office_rules,
        sources=sources,
        renormalised=any(s.counted is None for s in sources),
        parts=parts,
        mean=as_decimal(quarter.get("mean")),
        adjustments=adjustments,
        flags=flags,
        drafts={
            source: len(items)
            for source, items in as_dict(breakdown.get("drafts")).items()
            if isinstance(items, list) and f"{source}_missing" in flags
        },
    )


@require(Role.CADRE)
async def myscore_cmd(update: Update, context: KaoheContext) -> None:
    """Show what the caller has done this month, what is left, and their latest results."""
    message = update.effective_message
    cadre = context.cadre
    assert message is not None and cadre is not None and cadre.id is not None
    unit_id = cadre.unit_id
    month: MonthView | None = None
    async with context.services.sessions() as session:
        status = await month_status(session=session, unit_id=unit_id, now=context.now())
        period = status.current
        if period is not None:
            snapshot = await month_snapshot(session=session, period=period)
            month = MonthView(
                period=period,
                deadline=context.local(period.closes_at),
                left=remaining(period.closes_at, context.now()),
                me=snapshot.person(cadre.id),
                to_rate=snapshot.to_rate(cadre.id),
            )
        monthly = await office_q.latest_result(
            session=session,
            unit_id=unit_id,
            cadre_id=cadre.id,
            kind=PeriodKind.MONTH.value,
            states=[PeriodState.CLOSED.value],
        )
        quarterly = await office_q.latest_result(
            session=session,
            unit_id=unit_id,
            cadre_id=cadre.id,
            kind=PeriodKind.QUARTER.value,
            states=[PeriodState.PUBLISHED.value, PeriodState.FINAL.value],
        )
        quarter = None
        markup = None
        if quarterly is not None:
            # The same words as the result sent at publication (bot.reports), with the appeal
            # window's end while it is open.
            report = await period_report(
                session=session,
                period=quarterly.period,
                unit_name=context.services.settings.unit_name,
                zone=context.services.settings.zone,
            )
            line = report.line(cadre.id)
            period_id = quarterly.period.id or 0
            appeal = appeal_open(quarterly.period, context.now()) and not (
                await reviews_q.appeal_of(session=session, period_id=period_id, cadre_id=cadre.id)
            )
            if line is not None and line.score is not None:
                quarter = personal_text(
                    report,
                    line,
                    context.texts,
                    context.lang,
                    rank_band=quarterly.period.scheme is not None
                    and scheme_of(quarterly.period).quarterly.rank_band,
                    appeal=appeal,
                )
                if appeal:
                    markup = appeal_keyboard(context.texts, context.lang, period_id)
    results = [result_view(found) for found in (monthly,) if found is not None]
    context.set_outcome(update.update_id, f"myscore:{len(results) + (quarter is not None)}")
    await message.reply_text(
        context.render(
            "myscore/myscore",
            name=cadre.name,
            month=month,
            st=context.month_words(status),
            results=results,
            quarter=quarter,
        ),
        reply_markup=markup,
    )


def handlers() -> list[BaseHandler[Update, Any, Any]]:
    return [CommandHandler("myscore", myscore_cmd, filters=filters.ChatType.PRIVATE)]
