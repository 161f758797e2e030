"""Benchmark: the quarterly report of a county, against the time to read its rows.

A unit of N cadres (default 5,000, in departments of about 25, each with its head; five leaders)
lives through the first half of a year on the real appraisal calendar: each month is opened
(:func:`bot.appraisal.periods.open_period`), its self-scores and head ratings (a few missing),
ballot tallies and participation and office records are written in bulk, and the month is closed
the way :func:`~bot.appraisal.periods.close_period` closes it: the scoring engine
(:func:`bot.appraisal.results.compute`) computes every cadre's result, which is stored. Each
quarter is closed the same way after a few leadership adjustments, and published
(:func:`~bot.appraisal.periods.publish_quarter`). So the stored results have exactly the shapes
the engine gives them, and 2026-Q2 has 2026-Q1 as its "last quarter". (The results are stored in
one statement per period and the raters handed to the engine, because ``close_period`` itself
grows as N²: one month took 3.5 s for 500 cadres, 11 s for 1,000 and 40 s for 2,000; see
:func:`_raters`.)

Then, for 2026-Q2, each step of the report is timed (the best of ``--repeat`` runs, each in a
fresh session so nothing is cached) against the baseline, one plain SELECT of the rows the report
is made of (the results of the quarter, its months and the quarter before, and the cadres), also
shown with the rows' JSON decoded (asyncpg decodes it itself, aiosqlite returns text) and as ORM
objects:

    period_report()      the figures, from the stored results (bot/reports/build.py)
    summary_messages()   the leadership chat's texts (bot/reports/messages.py)
    period_workbook()    the .xlsx (bot/reports/workbook.py)
    period_chart()       the PNG (bot/reports/chart.py)

Printed besides: the SQL statements period_report() issues for every size in the run (they must
not grow with N), and the peak memory (tracemalloc) of the whole report: build, texts, sheet and
chart.

    .venv/bin/python bench/report.py                          # N = 500 and 5000, SQLite
    .venv/bin/python bench/report.py --backend postgresql
    .venv/bin/python bench/report.py --n 2000 --repeat 1
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import bindparam, delete, event, insert, text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402
from sqlmodel import col, select  # noqa: E402

from bench.pgdb import SERVER_URL, throwaway_database  # noqa: E402
from bot.appraisal import periods as appraisal  # noqa: E402
from bot.appraisal import results  # noqa: E402
from bot.core.scheme_file import read_scheme  # noqa: E402
from bot.core.texts import Texts  # noqa: E402
from bot.reports import chart, workbook  # noqa: E402
from bot.reports.build import period_report  # noqa: E402
from bot.reports.messages import summary_messages  # noqa: E402
from bot.reports.model import PeriodReport  # noqa: E402
from bot.rules import raters as rules_raters  # noqa: E402
from bot.rules import scoring  # noqa: E402
from bot.rules.scheme import Scheme  # noqa: E402
from storage import migrate  # noqa: E402
from storage.engine import create_engine, make_session_factory, transaction  # noqa: E402
from storage.models import (  # noqa: E402
    BallotParticipation,
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
    ScoreAdjustment,
    Unit,
)
from storage.queries import periods as periods_q  # noqa: E402

__all__ = ["ZONE", "SeededUnit", "StatementCounter", "seed_unit"]

ZONE = ZoneInfo("Asia/Shanghai")
YEAR = 2026
QUARTER = 2  # the quarter reported; the one before it is its "last quarter"
DEPARTMENT_SIZE = 25
LEADERS = 5
LANG = "zh"

_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
_GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文辉鹏飞云波宁海燕"
    "丹婷雪梅琳晨阳春晓"
)
_DEPARTMENT_KINDS = (
    "党政办公室",
    "经济发展办公室",
    "社会事务办公室",
    "综合治理办公室",
    "自然资源和规划建设办公室",
    "农业农村办公室",
    "退役军人服务站",
    "综合行政执法队",
    "便民服务中心",
    "财政所",
)
_REASONS = (
    "牵头完成防汛抢险任务，成效突出",
    "所负责项目进度滞后，经领导小组研究下调",
    "在全县营商环境评估中表现突出",
)


@dataclass
class SeededUnit:
    """What :func:`seed_unit` made: the unit, its reported quarter and the periods it reads."""

    unit_id: int
    unit_name: str
    cadres: int
    departments: int
    quarter_id: int
    period_ids: list[int] = field(default_factory=list)  # the quarter, its months, the one before
    close_seconds: float = 0.0  # of which scoring and storing the months and quarters


class StatementCounter:
    """Counts the SQL statements an engine executes, while ``counting`` is on."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.count = 0
        self.counting = False
        self.statements: list[str] = []
        event.listen(engine.sync_engine, "before_cursor_execute", self._count)

    def _count(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if self.counting:
            self.count += 1
            self.statements.append(statement)

    def start(self) -> None:
        self.count, self.counting, self.statements = 0, True, []

    def stop(self) -> int:
        self.counting = False
        return self.count


# ---------------------------------------------------------------------------------------------
# The unit and its first half-year


def _name(rng: random.Random, taken: set[str]) -> str:
    """A name not yet ``taken`` in the department (a unit may have namesakes, a department not)."""
    while True:
        given = rng.choice(_GIVEN) + (rng.choice(_GIVEN) if rng.random() < 0.7 else "")
        name = rng.choice(_SURNAMES) + given
        if name not in taken:
            taken.add(name)
            return name


async def _roster(
    session: Any, unit_name: str, n: int, department_size: int, rng: random.Random
) -> tuple[Unit, list[Cadre], list[Cadre]]:
    """The unit: five leaders (not assessed), then departments of about ``department_size``
    with their head first (rated by a leader), ordinary and village-stationed cadres."""
    unit = Unit(name=unit_name, timezone=str(ZONE))
    session.add(unit)
    await session.flush()
    assert unit.id is not None
    leadership = Department(unit_id=unit.id, name="领导班子", position=0)
    session.add(leadership)
    await session.flush()
    assert leadership.id is not None
    taken: set[str] = set()
    leaders = [
        Cadre(
            unit_id=unit.id,
            department_id=leadership.id,
            name=_name(rng, taken),
            roles="leader",
            title=("党委书记", "镇长", "副书记", "副镇长", "副镇长")[index],
            position=index,
        )
        for index in range(LEADERS)
    ]
    session.add_all(leaders)
    await session.flush()
    sizes: list[int] = []
    left = n
    while left > 0:  # sizes of 20 to 30, about department_size on average
        size = min(left, max(1, department_size + rng.randint(-5, 5)))
        sizes.append(size)
        left -= size
    departments = [
        Department(
            unit_id=unit.id,
            name=f"{_DEPARTMENT_KINDS[index % len(_DEPARTMENT_KINDS)]}"
            + (
                f"（{index // len(_DEPARTMENT_KINDS) + 1}）"
                if index >= len(_DEPARTMENT_KINDS)
                else ""
            ),
            position=index + 1,
        )
        for index in range(len(sizes))
    ]
    session.add_all(departments)
    await session.flush()
    cadres: list[Cadre] = []
    for index, (department, size) in enumerate(zip(departments, sizes, strict=True)):
        assert department.id is not None
        taken = set()
        for rank in range(size):
            head = rank == 0
            cadres.append(
                Cadre(
                    unit_id=unit.id,
                    department_id=department.id,
                    name=_name(rng, taken),
                    roles="cadre,head" if head else "cadre",
                    title="主任" if head else ("科员" if rank % 3 else None),
                    position=rank,
                    supervisor_id=leaders[index % LEADERS].id if head else None,
                    village=f"第{rank}村" if not head and rank % 6 == 5 else None,
                )
            )
    session.add_all(cadres)
    await session.flush()
    return unit, leaders, cadres


def _rater_of(cadre: Cadre, heads: dict[int, Cadre]) -> int:
    """Who rates ``cadre`` (bot.rules.raters, for this roster): a head's supervising leader,
    anyone else's head."""
    if cadre.supervisor_id is not None:
        return cadre.supervisor_id
    head = heads[cadre.department_id]
    assert head.id is not None
    return head.id


async def _write_month(
    session: Any,
    month: Period,
    scheme: Scheme,
    cadres: list[Cadre],
    heads: dict[int, Cadre],
    quality: dict[int, int],
    rng: random.Random,
    now: datetime,
) -> None:
    """The month's submissions, written in bulk: self-scores and head ratings with their lines
    (a few missing), the ballot's tallies and participation, and some office records."""
    assert month.id is not None
    connection = await session.connection()
    number = month.number
    ratings: list[dict[str, Any]] = []
    answers: list[list[tuple[str, Decimal]]] = []
    for index, cadre in enumerate(cadres):
        assert cadre.id is not None
        items = scheme.items_for(scheme.category_for(has_village=cadre.is_village_stationed))
        weights = scheme.weights_for(scheme.category_for(has_village=cadre.is_village_stationed))
        level = quality[cadre.id] + (3 if number >= 4 and index % 7 == 0 else 0)
        for source, rater_id, missing, lift in (
            ("self", cadre.id, number % 3 == 2 and index % 89 == 11, 3),
            ("head", _rater_of(cadre, heads), number % 3 == 0 and index % 211 == 17, 0),
        ):
            if missing:
                continue
            scores = [
                (item.key, Decimal(min(100, max(40, level + lift + rng.randint(-4, 4)))))
                for item in items
            ]
            total = scoring.weighted_rating(dict(scores), weights).score
            ratings.append(
                {
                    "unit_id": month.unit_id,
                    "period_id": month.id,
                    "ratee_id": cadre.id,
                    "rater_id": rater_id,
                    "source": source,
                    "state": "submitted",
                    "total": total,
                    "submitted_at": now,
                    "auto_submitted": False,
                    "updated_at": now,
                }
            )
            answers.append(scores)
    ids = (
        await connection.execute(
            insert(Rating).returning(col(Rating.id), sort_by_parameter_order=True), ratings
        )
    ).scalars()
    lines = [
        {
            "rating_id": rating_id,
            "line_key": key,
            "item_key": key,
            "target_id": None,
            "score": score,
            "actual": None,
            "note": "按时完成各项任务" if rating_id % 10 == 0 else None,
            "evidence_file_id": None,
            "evidence_kind": None,
        }
        for rating_id, scores in zip(ids, answers, strict=True)
        for key, score in scores
    ]
    await connection.execute(insert(RatingLine), lines)

    if scheme.democratic_in_month(number):
        # Opening the month created every tally row at zero; the counts as the casts left them.
        await connection.execute(delete(BallotTally).where(col(BallotTally.period_id) == month.id))
        tallies = []
        voters = []
        sizes: dict[int, int] = {}
        for cadre in cadres:
            sizes[cadre.department_id] = sizes.get(cadre.department_id, 0) + 1
        for index, cadre in enumerate(cadres):
            assert cadre.id is not None
            if index % 20 != 19:  # 95% cast their ballot
                voters.append(
                    {
                        "unit_id": month.unit_id,
                        "period_id": month.id,
                        "rater_id": cadre.id,
                        "cast_on": now.date(),
                    }
                )
            ballots = 2 if index % 173 == 7 else max(0, sizes[cadre.department_id] - 2)
            counts = dict.fromkeys((g.value for g in scoring.GRADE_ORDER), 0)
            for _ in range(ballots):
                roll = rng.random() * 100 - (quality[cadre.id] - 80)
                grade = "excellent" if roll < 30 else "good" if roll < 90 else "pass"
                counts[grade] += 1
            tallies.extend(
                {"period_id": month.id, "ratee_id": cadre.id, "grade": grade, "count": count}
                for grade, count in sorted(counts.items())
            )
        await connection.execute(insert(BallotTally), tallies)
        await connection.execute(insert(BallotParticipation), voters)

    records = [
        {
            "unit_id": month.unit_id,
            "period_id": month.id,
            "cadre_id": cadre.id,
            "violation_key": key,
            "deduction": Decimal(points),
            "occurred_on": date(month.year, number, 10),
            "note": None,
            "created_at": now,
        }
        for index, cadre in enumerate(cadres)
        for key, points, every, at in (("late", 2, 31, 3), ("absent", 5, 157, 9))
        if (index + number) % every == at
    ]
    if records:
        await connection.execute(insert(DisciplineRecord), records)


def _raters(cadres: list[Cadre], leaders: list[Cadre]) -> dict[int, list[int]]:
    """Who rates each cadre, by the rules (:func:`bot.rules.raters.raters_of`) asked of the
    cadre's department and the leaders only: the same answer as over the whole roster here,
    without its cost. (``compute_month`` without ``raters``, and ``month_snapshot`` which the
    close also runs, ask ``raters_of`` over the whole roster for every cadre: N² checks.)"""
    members: dict[int, list[Cadre]] = {}
    for cadre in cadres:
        members.setdefault(cadre.department_id, []).append(cadre)
    return {
        cadre.id: [
            r.id
            for r in rules_raters.raters_of(cadre, [*leaders, *members[cadre.department_id]])
            if r.id is not None
        ]
        for cadre in cadres
        if cadre.id is not None
    }


async def _close(session: Any, period: Period, now: datetime, raters: dict[int, list[int]]) -> None:
    """Close a month or a quarter as :func:`bot.appraisal.periods.close_period` does: the
    scoring engine computes every result (:func:`bot.appraisal.results.compute`), which are
    stored, and the period moves on (a quarter to review). The results are stored in one
    statement rather than one by one, and the raters are handed in (see :func:`_raters`)."""
    assert period.id is not None
    computed = await results.compute(session=session, period=period, raters=raters)
    connection = await session.connection()
    await connection.execute(
        insert(Result),
        [
            {
                "unit_id": period.unit_id,
                "period_id": period.id,
                "cadre_id": c.cadre_id,
                "score": c.score,
                "office_rules": c.office_rules,
                "grade": c.grade,
                "flags": c.flags,
                "breakdown": c.breakdown,
                "inputs": c.inputs,
                "scheme_fingerprint": c.scheme_fingerprint,
                "computed_at": now,
            }
            for c in computed
        ],
    )
    period.closed_at = now
    if period.kind == PeriodKind.QUARTER:
        period.state = PeriodState.IN_REVIEW.value
        period.review_ends_at = now + timedelta(days=results.frozen(period).quarterly.review_days)
    else:
        period.state = PeriodState.CLOSED.value
    session.add(period)
    await session.flush()


async def seed_unit(
    engine: AsyncEngine,
    n: int,
    *,
    unit_name: str = "云岭县",
    department_size: int = DEPARTMENT_SIZE,
    seed: int = 2026,
) -> SeededUnit:
    """A unit of ``n`` cadres through 2026-Q1 and 2026-Q2 on the real calendar, both published.

    Submissions are written in bulk; opening and publishing are :mod:`bot.appraisal.periods`'s,
    scoring is the engine's (:func:`_close`). Varied on purpose: a few missing
    self-scores and head ratings (and so a rater who owes ratings), democratic evaluations with
    too few ballots, office-rules deductions, adjustments with their reasons, and scores that
    move between the quarters.
    """
    rng = random.Random(seed)
    sessions = make_session_factory(engine)
    scheme, _, _ = read_scheme(None)
    async with transaction(sessions) as session:
        unit, leaders, cadres = await _roster(session, unit_name, n, department_size, rng)
        assert unit.id is not None
        await appraisal.create_year(
            session=session,
            unit_id=unit.id,
            year=YEAR,
            scheme=scheme,
            now=datetime(YEAR - 1, 12, 1, tzinfo=ZONE),
        )
    unit_id = unit.id
    heads = {c.department_id: c for c in cadres if "head" in c.roles}
    raters = _raters(cadres, leaders)
    quality = {c.id: rng.randint(70, 96) for c in cadres if c.id is not None}
    close_seconds = 0.0
    month_ids: list[int] = []
    quarter_ids: list[int] = []
    for number in range(1, 3 * QUARTER + 1):
        async with transaction(sessions) as session:
            month = await periods_q.get_period(
                session=session, unit_id=unit_id, kind=PeriodKind.MONTH, year=YEAR, number=number
            )
            assert month is not None and month.id is not None
            opened = await appraisal.open_period(
                session=session,
                period=month,
                now=month.opens_at + timedelta(hours=1),
                scheme_file=None,
            )
            assert opened.changed, opened.outcome
            written = month.opens_at + timedelta(days=3)
            await _write_month(session, month, scheme, cadres, heads, quality, rng, written)
            month_ids.append(month.id)
        async with transaction(sessions) as session:
            month = await session.get(Period, month_ids[-1])
            assert month is not None
            closing = month.closes_at + timedelta(minutes=1)
            started = time.perf_counter()
            await _close(session, month, closing, raters)
            close_seconds += time.perf_counter() - started
        if number % 3:
            continue
        async with transaction(sessions) as session:
            quarter = await periods_q.get_period(
                session=session,
                unit_id=unit_id,
                kind=PeriodKind.QUARTER,
                year=YEAR,
                number=number // 3,
            )
            assert quarter is not None and quarter.id is not None
            for index, cadre in enumerate(cadres):
                for every, at, delta in ((199, 19, "2.0"), (401, 23, "-3.0")):
                    if (index + number) % every == at:
                        session.add(
                            ScoreAdjustment(
                                unit_id=unit_id,
                                period_id=quarter.id,
                                cadre_id=cadre.id,
                                delta=Decimal(delta),
                                reason=_REASONS[index % len(_REASONS)],
                                leader_id=leaders[0].id,
                                created_at=closing,
                            )
                        )
            await session.flush()
            started = time.perf_counter()
            await _close(session, quarter, closing, raters)
            close_seconds += time.perf_counter() - started
            published = await appraisal.publish_quarter(
                session=session, period=quarter, now=closing + timedelta(days=5)
            )
            assert published.changed, published.outcome
            quarter_ids.append(quarter.id)
    return SeededUnit(
        unit_id=unit_id,
        unit_name=unit_name,
        cadres=len(cadres),
        departments=len(heads),
        quarter_id=quarter_ids[-1],
        period_ids=[quarter_ids[-1], *month_ids[-3:], quarter_ids[-2]],
        close_seconds=close_seconds,
    )


# ---------------------------------------------------------------------------------------------
# The measurements


@dataclass
class Figures:
    n: int
    departments: int
    rows: int
    seed_seconds: float
    close_seconds: float
    times: dict[str, float] = field(default_factory=dict)
    statements: int = 0
    peak_bytes: int = 0
    messages: int = 0
    xlsx_bytes: int = 0
    png_bytes: int = 0
    sql: list[str] = field(default_factory=list)


async def _best(repeat: int, step: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    best, value = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        value = await step()
        best = min(best, time.perf_counter() - started)
    return best, value


async def _baseline(engine: AsyncEngine, unit: SeededUnit, *, decode: bool = False) -> int:
    """The rows the report is made of, read with one plain SELECT each: the results of its
    periods, and the cadres; with ``decode``, their JSON columns decoded too (asyncpg decodes
    them itself, aiosqlite hands over text)."""
    async with engine.connect() as connection:
        results = (
            await connection.execute(
                text("SELECT * FROM result WHERE period_id IN :ids").bindparams(
                    bindparam("ids", expanding=True)
                ),
                {"ids": unit.period_ids},
            )
        ).all()
        (
            await connection.execute(
                text("SELECT * FROM cadre WHERE unit_id = :unit"), {"unit": unit.unit_id}
            )
        ).all()
    if decode:
        decoded = [
            [json.loads(v) if isinstance(v, str) else v for v in (r.flags, r.breakdown, r.inputs)]
            for r in results
        ]
        assert len(decoded) == len(results)
    return len(results)


async def _orm_rows(engine: AsyncEngine, unit: SeededUnit) -> int:
    """The same rows as ORM objects (JSON decoded): what any ORM reading of them costs."""
    async with make_session_factory(engine)() as session:
        results = (
            await session.exec(select(Result).where(col(Result.period_id).in_(unit.period_ids)))
        ).all()
        cadres = (await session.exec(select(Cadre).where(Cadre.unit_id == unit.unit_id))).all()
    return len(results) + len(cadres)


async def _report(
    engine: AsyncEngine, unit: SeededUnit, counter: StatementCounter | None
) -> PeriodReport:
    async with make_session_factory(engine)() as session:
        period = await session.get(Period, unit.quarter_id)
        assert period is not None
        if counter is not None:
            counter.start()
        report = await period_report(
            session=session, period=period, unit_name=unit.unit_name, zone=ZONE
        )
        if counter is not None:
            counter.stop()
    return report


async def measure(engine: AsyncEngine, unit: SeededUnit, repeat: int, figures: Figures) -> None:
    texts = Texts()
    counter = StatementCounter(engine)
    await _baseline(engine, unit)  # warm the connection pool and the page cache
    figures.times["baseline"], figures.rows = await _best(repeat, lambda: _baseline(engine, unit))
    figures.times["decoded"], _ = await _best(repeat, lambda: _baseline(engine, unit, decode=True))
    figures.times["orm"], _ = await _best(repeat, lambda: _orm_rows(engine, unit))
    figures.times["build"], report = await _best(repeat, lambda: _report(engine, unit, None))
    await _report(engine, unit, counter)
    figures.statements, figures.sql = counter.count, counter.statements
    assert len(report.lines) == unit.cadres, (len(report.lines), unit.cadres)

    async def texts_step() -> list[str]:
        return summary_messages(report, texts, LANG, chart=True, sheet=True)

    async def sheet_step() -> bytes:
        return workbook.period_workbook(report, texts, LANG)

    async def chart_step() -> bytes | None:
        return chart.period_chart(report, texts, LANG)

    figures.times["texts"], messages = await _best(repeat, texts_step)
    figures.times["sheet"], sheet = await _best(repeat, sheet_step)
    figures.times["chart"], picture = await _best(repeat, chart_step)
    if picture is None:
        raise SystemExit("no chart: install the 'charts' extra (matplotlib, mplfonts)")
    figures.messages, figures.xlsx_bytes, figures.png_bytes = (
        len(messages),
        len(sheet),
        len(picture),
    )

    # The whole report once more, under tracemalloc (which slows it down: not timed).
    gc.collect()
    tracemalloc.start()
    whole = await _report(engine, unit, None)
    summary_messages(whole, texts, LANG, chart=True, sheet=True)
    workbook.period_workbook(whole, texts, LANG)
    chart.period_chart(whole, texts, LANG)
    figures.peak_bytes = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()


async def run(url: str, n: int, repeat: int) -> Figures:
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
        started = time.perf_counter()
        unit = await seed_unit(engine, n)
        figures = Figures(
            n=unit.cadres,
            departments=unit.departments,
            rows=0,
            seed_seconds=time.perf_counter() - started,
            close_seconds=unit.close_seconds,
        )
        await measure(engine, unit, repeat, figures)
    finally:
        await engine.dispose()
    return figures


STEPS = (
    ("baseline", "baseline: one plain SELECT of the rows"),
    ("decoded", "  the same, their JSON decoded"),
    ("orm", "  the same rows as ORM objects"),
    ("build", "period_report()"),
    ("texts", "summary_messages()"),
    ("sheet", "period_workbook()"),
    ("chart", "period_chart()"),
)


def table(backend: str, figures: list[Figures], repeat: int) -> str:
    """The figures as a Markdown table, one time column per N, the ratios at the largest N."""
    big = figures[-1]
    plain, decoded = big.times["baseline"], big.times["decoded"]
    sizes = "".join(f" {'N = ' + str(f.n) + ' (s)':>14} |" for f in figures)
    out = [
        f"bench/report.py, {backend}: the report of 2026-Q2 for N cadres in departments of "
        f"about {DEPARTMENT_SIZE} (N = {big.n}: {big.departments} departments, {big.rows} stored "
        "results read: the quarter, its 3 months and 2026-Q1); each time the best of "
        f"{repeat} runs, ratios at N = {big.n}",
        "",
        f"| {'step':<40} |{sizes} {'× SELECT':>8} | {'× SELECT+JSON':>13} |",
        f"|{'-' * 42}|" + "".join(f"{'-' * 16}|" for _ in figures) + f"{'-' * 10}|{'-' * 15}|",
    ]

    def row(label: str, values: list[str], seconds: float | None) -> str:
        cells = "".join(f" {v:>14} |" for v in values)
        if seconds is None:
            return f"| {label:<40} |{cells} {'':>8} | {'':>13} |"
        return f"| {label:<40} |{cells} {seconds / plain:8.1f} | {seconds / decoded:13.1f} |"

    for key, label in STEPS:
        out.append(row(label, [f"{f.times[key]:.3f}" for f in figures], big.times[key]))
    wholes = [sum(f.times[k] for k in ("build", "texts", "sheet", "chart")) for f in figures]
    out.append(
        row("whole report (build+texts+sheet+chart)", [f"{w:.3f}" for w in wholes], wholes[-1])
    )
    out.append(row("SQL statements of period_report()", [str(f.statements) for f in figures], None))
    out.append(
        row(
            "peak memory, whole report (tracemalloc)",
            [f"{f.peak_bytes / 2**20:.0f} MiB" for f in figures],
            None,
        )
    )
    same = len({f.statements for f in figures}) == 1
    out += [
        "",
        "period_report() issues "
        + (
            "the same number of statements for every N"
            if same
            else "MORE STATEMENTS FOR A LARGER N"
        )
        + f"; output at N = {big.n}: {big.messages} messages, .xlsx {big.xlsx_bytes / 1024:.0f} "
        f"KiB, chart {big.png_bytes / 1024:.0f} KiB; seeding took {big.seed_seconds:.0f} s "
        f"(scoring 6 months and 2 quarters: {big.close_seconds:.0f} s)",
    ]
    return "\n".join(out)


async def main(
    sizes: list[int], backend: str, server_url: str, repeat: int, show_sql: bool
) -> None:
    results: list[Figures] = []
    for n in sorted(sizes):
        with tempfile.TemporaryDirectory() as folder:
            if backend == "sqlite":
                figures = await run(f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}", n, repeat)
            else:
                async with throwaway_database(server_url, "kaohe_bench_report") as url:
                    figures = await run(url, n, repeat)
        results.append(figures)
        print(f"N = {n}: done", file=sys.stderr)
    print(table(backend, results, repeat))
    if show_sql:
        print("\nthe statements of period_report() (largest N):")
        for statement in results[-1].sql:
            print("  " + " ".join(statement.split())[:160])
    if len({f.statements for f in results}) != 1:
        raise SystemExit("period_report() issues more statements for a larger unit")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--n", type=int, action="append", help="cadres (repeatable); default 500 and 5000"
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--postgres-url", default=SERVER_URL)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each step; the best counts")
    parser.add_argument("--sql", action="store_true", help="print period_report()'s statements")
    arguments = parser.parse_args()
    asyncio.run(
        main(
            arguments.n or [500, 5000],
            arguments.backend,
            arguments.postgres_url,
            arguments.repeat,
            arguments.sql,
        )
    )
