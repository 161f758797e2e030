"""The review's service rules on the database: an upheld appeal lands on the score the leader
confirmed even where earlier adjustments were clamped at 100, and a written reason must show
something (bot/appraisal/review.py)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.appraisal import periods as appraisal
from bot.appraisal import review
from bot.core.clock import ManualClock
from bot.core.scheme_file import default_scheme
from storage.engine import transaction
from storage.models import PeriodKind, PeriodState, Result, ScoreAdjustment
from storage.queries import periods as periods_q
from storage.queries import reviews as reviews_q

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 4, 8, 9, 0, tzinfo=SH))


async def _first_quarter_in_review(town: Any, clock: ManualClock, top: str) -> Any:
    """Q1 with its months' results stored (``top`` at 99.5 each month, the others 85) and
    scored by the engine: in review."""
    services = town.services
    people = [c for c, _ in await town.roster() if "cadre" in c.roles]
    async with transaction(services.sessions) as session:
        await appraisal.create_year(
            session=session,
            unit_id=services.unit,
            year=2026,
            scheme=default_scheme(),
            now=clock.now(),
        )
        version, _ = await appraisal.ensure_scheme_in_force(
            session=session, unit_id=services.unit, scheme_file=None
        )
        for period in await periods_q.list_periods(
            session=session, unit_id=services.unit, year=2026
        ):
            period.scheme = dict(version.content)
            if period.kind == PeriodKind.MONTH and period.number <= 3:
                period.state = PeriodState.CLOSED.value
                for cadre in people:
                    session.add(
                        Result(
                            unit_id=services.unit,
                            period_id=period.id,
                            cadre_id=cadre.id,
                            score=Decimal("99.5") if cadre.name == top else Decimal("85"),
                            office_rules=Decimal(100),
                            grade="good",
                            breakdown={"kind": "month", "ballot": False},
                        )
                    )
            elif period.kind == PeriodKind.QUARTER and period.number == 1:
                period.state = PeriodState.OPEN.value
            session.add(period)
    async with transaction(services.sessions) as session:
        quarter = await periods_q.find_period(
            session=session, unit_id=services.unit, code="2026-Q1"
        )
        assert quarter is not None
        assert (
            await appraisal.close_period(session=session, period=quarter, now=clock.now())
        ).changed
    return quarter


async def test_an_appeal_upheld_on_a_clamped_score_lands_where_confirmed(
    town: Any, clock: ManualClock
) -> None:
    quarter = await _first_quarter_in_review(town, clock, top="吴磊")
    wu, mayor = await town.cadre("吴磊"), await town.cadre("钱志强")
    async with transaction(town.services.sessions) as session:
        quarter = await periods_q.find_period(
            session=session, unit_id=town.services.unit, code="2026-Q1"
        )
        done = await review.adjust(
            session=session,
            period=quarter,
            cadre_id=wu.id,
            delta=Decimal(5),
            reason="县级表彰",
            leader=mayor,
            now=clock.now(),
        )
        assert isinstance(done, review.Rescored)
        assert (
            await reviews_q.result_of(session=session, period_id=quarter.id, cadre_id=wu.id)
        ).score == Decimal(100)
        assert (
            await appraisal.publish_quarter(session=session, period=quarter, now=clock.now())
        ).changed
        appeal = await review.file_appeal(
            session=session, period=quarter, cadre=wu, reason="调整后仍有误", now=clock.now()
        )
        assert not isinstance(appeal, review.Refusal)
        answered = await review.answer_appeal(
            session=session,
            appeal=appeal,
            period=quarter,
            leader=mayor,
            uphold=True,
            new_score=Decimal("90.5"),
            answer="按实际重新核定",
            now=clock.now(),
        )
        assert isinstance(answered, review.Rescored)
        stored = await reviews_q.result_of(session=session, period_id=quarter.id, cadre_id=wu.id)
    assert stored.score == Decimal("90.5")
    assert appeal.new_score == Decimal("90.5")


@pytest.mark.parametrize("reason", ["", "   ", "\u200b", "\u200e\u200f", "\ufeff \u2060"])
async def test_a_reason_that_shows_nothing_is_no_reason(
    town: Any, clock: ManualClock, reason: str
) -> None:
    quarter = await _first_quarter_in_review(town, clock, top="吴磊")
    wu, mayor = await town.cadre("吴磊"), await town.cadre("钱志强")
    async with transaction(town.services.sessions) as session:
        quarter = await periods_q.find_period(
            session=session, unit_id=town.services.unit, code="2026-Q1"
        )
        refused = await review.adjust(
            session=session,
            period=quarter,
            cadre_id=wu.id,
            delta=Decimal(1),
            reason=reason,
            leader=mayor,
            now=clock.now(),
        )
        assert refused is review.Refusal.NO_REASON
        assert await reviews_q.result_of(session=session, period_id=quarter.id, cadre_id=wu.id)
        assert not (await session.exec(select(ScoreAdjustment))).all()
