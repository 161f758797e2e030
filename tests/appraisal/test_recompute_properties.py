"""Property: for any month of submissions, recompute equals what closing the month stored, and
every stored score lies within 0-100 (hypothesis over a real SQLite database)."""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from bot.appraisal import periods as appraisal
from bot.appraisal import results as scoring_run
from bot.core.scheme_file import default_scheme
from bot.rules.scoring import GRADE_ORDER
from storage.engine import create_engine, make_session_factory, transaction
from storage.models import (
    BallotTally,
    Cadre,
    Department,
    DisciplineRecord,
    Period,
    PeriodKind,
    PeriodState,
    Rating,
    RatingLine,
    Result,
    Unit,
    utcnow,
)

SCORES = st.one_of(st.none(), st.decimals(min_value=0, max_value=100, places=1, allow_nan=False))
CADRE = st.fixed_dictionaries(
    {
        "village": st.booleans(),
        "self": st.lists(SCORES, min_size=3, max_size=3),
        "head": st.lists(SCORES, min_size=3, max_size=3),
        "tally": st.lists(st.integers(min_value=0, max_value=4), min_size=4, max_size=4),
        "violations": st.lists(st.sampled_from(["late", "absent", "missed_meeting"]), max_size=4),
    }
)


async def _month(path: Path, cadres: list[dict]) -> tuple[list[Result], list]:
    scheme = default_scheme()
    engine = create_engine(f"sqlite:///{path}")
    sessions = make_session_factory(engine)
    now = utcnow()
    try:
        async with transaction(sessions) as session:
            unit = Unit(name="性质镇")
            session.add(unit)
            await session.flush()
            department = Department(unit_id=unit.id, name="办公室")
            session.add(department)
            await session.flush()
            people = []
            for index, spec in enumerate(cadres):
                cadre = Cadre(
                    unit_id=unit.id,
                    department_id=department.id,
                    name=f"干部{index}",
                    roles="cadre",
                    village="某村" if spec["village"] else None,
                )
                session.add(cadre)
                people.append(cadre)
            await session.flush()
            period = Period(
                unit_id=unit.id,
                kind=PeriodKind.MONTH.value,
                year=2026,
                number=11,
                starts_on=date(2026, 11, 1),
                ends_on=date(2026, 11, 30),
                opens_at=now - timedelta(days=1),
                closes_at=now + timedelta(days=1),
                state=PeriodState.OPEN.value,
                scheme=json.loads(scheme.to_json()),
                opened_at=now,
            )
            session.add(period)
            await session.flush()
            for cadre, spec in zip(people, cadres, strict=True):
                category = scheme.category_for(has_village=spec["village"])
                items = scheme.items_for(category)
                for source in ("self", "head"):
                    values = spec[source][: len(items)]
                    if any(v is None for v in values):
                        continue  # not submitted
                    rating = Rating(
                        unit_id=unit.id,
                        period_id=period.id,
                        ratee_id=cadre.id,
                        rater_id=cadre.id,
                        source=source,
                        state="submitted",
                        submitted_at=now,
                    )
                    session.add(rating)
                    await session.flush()
                    for item, value in zip(items, values, strict=True):
                        session.add(
                            RatingLine(
                                rating_id=rating.id,
                                line_key=item.key,
                                item_key=item.key,
                                score=value,
                            )
                        )
                for grade, count in zip(GRADE_ORDER, spec["tally"], strict=True):
                    session.add(
                        BallotTally(
                            period_id=period.id, ratee_id=cadre.id, grade=grade.value, count=count
                        )
                    )
                for key in spec["violations"]:
                    session.add(
                        DisciplineRecord(
                            unit_id=unit.id,
                            period_id=period.id,
                            cadre_id=cadre.id,
                            violation_key=key,
                            deduction=scheme.violation(key).points,
                            occurred_on=date(2026, 11, 3),
                        )
                    )
            await session.flush()
            await appraisal.close_period(session=session, period=period, now=now)
        async with sessions() as session:
            period = await session.get(Period, period.id)
            results = list((await session.exec(select(Result))).all())
            differences = await scoring_run.recompute(session=session, period=period)
        return results, differences
    finally:
        await engine.dispose()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(cadres=st.lists(CADRE, min_size=1, max_size=5))
def test_recompute_equals_stored(cadres: list[dict], sqlite_template: Path, tmp_path: Path) -> None:
    path = tmp_path / "property.db"
    shutil.copyfile(sqlite_template, path)
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    results, differences = asyncio.run(_month(path, cadres))
    assert differences == []
    assert len(results) == len(cadres)
    for result in results:
        assert result.score is not None
        assert Decimal(0) <= result.score <= Decimal(100)
        assert Decimal(0) <= result.office_rules <= Decimal(100)
