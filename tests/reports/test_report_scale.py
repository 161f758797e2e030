"""The quarterly report of a unit costs the same number of SQL statements whatever its size.

Two units, of 30 and of 120 cadres (3 and 12 departments), live through 2026-Q1 and 2026-Q2
as ``bench/report.py`` seeds a county: the real calendar, submissions with some missing,
ballots, office records, adjustments, the scoring engine's stored results, both quarters
published. Their 2026-Q2 reports, read with the statements counted on the engine, must take the
same number: a statement per cadre, per department or per month of a cadre would show here.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from bench.report import ZONE, SeededUnit, StatementCounter, seed_unit
from bot.reports.build import period_report
from bot.reports.model import PeriodReport
from storage.engine import make_session_factory
from storage.models import Period


async def _counted(
    engine: AsyncEngine, counter: StatementCounter, unit: SeededUnit
) -> tuple[int, PeriodReport]:
    async with make_session_factory(engine)() as session:
        period = await session.get(Period, unit.quarter_id)
        assert period is not None
        counter.start()
        report = await period_report(
            session=session, period=period, unit_name=unit.unit_name, zone=ZONE
        )
        return counter.stop(), report


async def test_report_statements_do_not_grow_with_the_unit(engine: AsyncEngine) -> None:
    small = await seed_unit(engine, 30, unit_name="小镇", department_size=10)
    large = await seed_unit(engine, 120, unit_name="大镇", department_size=10)
    counter = StatementCounter(engine)

    small_count, small_report = await _counted(engine, counter, small)
    large_count, large_report = await _counted(engine, counter, large)

    # Each report is its own unit's whole quarter, with the quarter before it.
    for unit, report in ((small, small_report), (large, large_report)):
        assert report.unit == unit.unit_name and report.code == "2026-Q2"
        assert len(report.lines) == unit.cadres
        assert len(report.departments) == unit.departments + 1  # and the leaders'
        assert report.previous_code == "2026-Q1"
        assert all(line.previous_score is not None for line in report.lines)
        assert [p.code for p in report.participation] == ["2026-04", "2026-05", "2026-06"]
    assert large_report.adjusted() and large_report.missing()
    assert small_count > 0
    assert large_count == small_count, (small_count, large_count, counter.statements)
