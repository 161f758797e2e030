"""The appraisal calendar and the scoring engine on the database, on SQLite and PostgreSQL.

The example town (examples/roster.xlsx: 12 cadres, two of them village-stationed) is imported,
then ratings, ballot tallies and office records are written directly, as the bot's conversations
will write them, and periods are opened and closed with an explicit clock. Every expected figure
is worked by hand in the comment next to it (docs/scoring.md has the rules).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.appraisal import periods as appraisal
from bot.appraisal import results as scoring_run
from bot.appraisal.periods import Outcome
from bot.cli.main import main
from bot.core.scheme_file import DEFAULT_SCHEME_PATH, default_scheme, load_scheme
from bot.rules.targets import TargetRow
from bot.sheets.roster import read_roster
from storage.engine import SessionFactory, transaction
from storage.models import (
    AuditLog,
    BallotTally,
    BonusEntry,
    Cadre,
    DisciplineRecord,
    Period,
    PeriodKind,
    Rating,
    RatingLine,
    Result,
    SchemeVersion,
    ScoreAdjustment,
    Target,
    utcnow,
)
from storage.queries.periods import find_period, list_periods, parse_period_code
from storage.queries.results import results_for
from storage.queries.roster import ensure_unit, import_roster, list_cadres
from storage.queries.targets import import_targets

ROSTER = Path(__file__).resolve().parents[2] / "examples" / "roster.xlsx"
YEAR = 2026
JAN_OPEN = datetime(2026, 1, 25, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
JAN_CLOSE = datetime(2026, 2, 5, 10, 0, tzinfo=UTC)  # 18:00 on Feb 5th in Shanghai
MONTH_OPENS = (JAN_OPEN, datetime(2026, 2, 25, 1, tzinfo=UTC), datetime(2026, 3, 25, 1, tzinfo=UTC))
MONTH_CLOSES = (
    JAN_CLOSE,
    datetime(2026, 3, 5, 10, tzinfo=UTC),
    datetime(2026, 4, 5, 10, tzinfo=UTC),
)
D = Decimal


# --- helpers ---------------------------------------------------------------------------------


class Town:
    """The example town in a test database, with the shortcuts a test script needs."""

    def __init__(self, sessions: SessionFactory, unit_id: int, people: dict[str, Cadre]) -> None:
        self.sessions = sessions
        self.unit_id = unit_id
        self.people = people

    def id(self, name: str) -> int:
        cadre_id = self.people[name].id
        assert cadre_id is not None
        return cadre_id

    async def period(self, session: AsyncSession, code: str) -> Period:
        period = await find_period(session=session, unit_id=self.unit_id, code=code)
        assert period is not None
        return period

    async def create_year(self, scheme_file: Path | None = None) -> None:
        scheme = load_scheme(scheme_file) if scheme_file else default_scheme()
        async with transaction(self.sessions) as session:
            await appraisal.create_year(
                session=session, unit_id=self.unit_id, year=YEAR, scheme=scheme, now=utcnow()
            )

    async def open(
        self, code: str, now: datetime = JAN_OPEN, scheme_file: Path | None = None
    ) -> appraisal.Transition:
        async with transaction(self.sessions) as session:
            return await appraisal.open_period(
                session=session,
                period=await self.period(session, code),
                now=now,
                scheme_file=scheme_file,
            )

    async def close(self, code: str, now: datetime = JAN_CLOSE) -> appraisal.Transition:
        async with transaction(self.sessions) as session:
            return await appraisal.close_period(
                session=session, period=await self.period(session, code), now=now
            )

    async def results(self, code: str) -> dict[str, Result]:
        names = {c.id: name for name, c in self.people.items()}
        async with self.sessions() as session:
            period = await self.period(session, code)
            assert period.id is not None
            return {
                names[r.cadre_id]: r
                for r in await results_for(session=session, period_id=period.id)
            }

    async def rate(
        self,
        code: str,
        ratee: str,
        rater: str,
        source: str,
        scores: dict[str, int] | None = None,
        actuals: dict[str, int | str] | None = None,
        state: str = "submitted",
    ) -> None:
        """Write a rating: judged items by key, quantified targets by code (actual figures)."""
        async with transaction(self.sessions) as session:
            period = await self.period(session, code)
            rating = Rating(
                unit_id=self.unit_id,
                period_id=period.id,  # type: ignore[arg-type]  # the row's id, set once it is stored
                ratee_id=self.id(ratee),
                rater_id=self.id(rater),
                source=source,
                state=state,
                submitted_at=JAN_CLOSE - timedelta(days=1) if state == "submitted" else None,
            )
            session.add(rating)
            await session.flush()
            for key, value in (scores or {}).items():
                session.add(
                    RatingLine(
                        rating_id=rating.id,  # type: ignore[arg-type]  # the row's id, set once it is stored
                        line_key=key,
                        item_key=key,
                        score=D(value),
                    )
                )
            if actuals:
                targets = (
                    await session.exec(select(Target).where(Target.cadre_id == self.id(ratee)))
                ).all()
                by_code = {t.code: t for t in targets}
                for target_code, actual in actuals.items():
                    target = by_code[target_code]
                    session.add(
                        RatingLine(
                            rating_id=rating.id,  # type: ignore[arg-type]  # the row's id, set once it is stored
                            line_key=f"{target.item_key}.{target.code}",
                            item_key=target.item_key,
                            target_id=target.id,
                            actual=D(actual),
                        )
                    )

    async def ballots(
        self,
        code: str,
        ratee: str,
        excellent: int = 0,
        good: int = 0,
        pass_: int = 0,
        fail: int = 0,
    ) -> None:
        """Add cast ballots to the tally rows created when the month opened."""
        counts = {"excellent": excellent, "good": good, "pass": pass_, "fail": fail}
        async with transaction(self.sessions) as session:
            period = await self.period(session, code)
            rows = (
                await session.exec(
                    select(BallotTally).where(
                        BallotTally.period_id == period.id,
                        BallotTally.ratee_id == self.id(ratee),
                    )
                )
            ).all()
            assert len(rows) == 4, "the tally rows must exist from the opening"
            for row in rows:
                row.count += counts[row.grade]
                session.add(row)

    async def violation(self, code: str, name: str, key: str, undone: bool = False) -> None:
        scheme = default_scheme()
        async with transaction(self.sessions) as session:
            period = await self.period(session, code)
            session.add(
                DisciplineRecord(
                    unit_id=self.unit_id,
                    period_id=period.id,  # type: ignore[arg-type]  # the row's id, set once it is stored
                    cadre_id=self.id(name),
                    violation_key=key,
                    deduction=scheme.violation(key).points,
                    occurred_on=period.starts_on,
                    undone_at=JAN_CLOSE if undone else None,
                )
            )


@pytest.fixture
async def town(sessions: SessionFactory) -> Town:
    async with transaction(sessions) as session:
        unit = await ensure_unit(session=session, name="青山镇", timezone="Asia/Shanghai")
        assert unit.id is not None
        await import_roster(
            session=session, unit_id=unit.id, rows=read_roster(ROSTER), now=utcnow()
        )
        people = {c.name: c for c in await list_cadres(session=session, unit_id=unit.id)}
    return Town(sessions, unit.id, people)


Kaohe = Callable[..., Awaitable[tuple[int, str]]]


@pytest.fixture
def kaohe(
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> Kaohe:
    """Run ``kaohe ARGS`` on the test's database, in a thread (the command runs its own loop)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("UNIT_NAME", "青山镇")
    monkeypatch.delenv("SCHEME_FILE", raising=False)

    async def run(*args: str, lang: str = "zh") -> tuple[int, str]:
        monkeypatch.setenv("DEFAULT_LANGUAGE", lang)
        capsys.readouterr()
        code = await asyncio.to_thread(main, list(args))
        return code, capsys.readouterr().out

    return run


def scheme_variant(tmp_path: Path, name: str, *replacements: tuple[str, str]) -> Path:
    """A copy of the example scheme with some lines changed (each must exist once)."""
    text = DEFAULT_SCHEME_PATH.read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


QUANTIFIED_DUTY = ('method = "judged"  # 评定 judged | 量化 quantified', 'method = "quantified"')
QUARTERLY_BALLOT = ('cadence = "monthly"', 'cadence = "quarterly"')
CAP_30 = ("# excellent_cap = 0.30", "excellent_cap = 0.30")


async def count(sessions: SessionFactory, model: Any, *where: Any) -> int:
    async with sessions() as session:
        statement = select(func.count()).select_from(model)
        for clause in where:
            statement = statement.where(clause)
        return int((await session.exec(statement)).one())


# --- calendar --------------------------------------------------------------------------------


def test_period_codes() -> None:
    assert parse_period_code("2026-03") == (PeriodKind.MONTH, 2026, 3)
    assert parse_period_code("2026-3") == (PeriodKind.MONTH, 2026, 3)
    assert parse_period_code("2026q1") == (PeriodKind.QUARTER, 2026, 1)
    assert parse_period_code("2026-H2") == (PeriodKind.HALF, 2026, 2)
    assert parse_period_code(" 2026 ") == (PeriodKind.YEAR, 2026, 1)
    for bad in ("2026-13", "2026-Q5", "2026-H3", "March", "26-03", ""):
        with pytest.raises(ValueError):
            parse_period_code(bad)


async def test_create_year_windows_and_idempotence(town: Town) -> None:
    await town.create_year()
    await town.create_year()
    async with town.sessions() as session:
        periods = await list_periods(session=session, unit_id=town.unit_id, year=YEAR)
        assert [p.code for p in periods][:3] == ["2026-01", "2026-02", "2026-03"]
        assert len(periods) == 12 + 4 + 2 + 1
        by_code = {p.code: p for p in periods}
        january, december = by_code["2026-01"], by_code["2026-12"]
        # 25 January 09:00 to 5 February 18:00 in Shanghai (UTC+8), stored in UTC.
        assert january.opens_at.replace(tzinfo=UTC) == JAN_OPEN
        assert january.closes_at.replace(tzinfo=UTC) == JAN_CLOSE
        assert december.closes_at.replace(tzinfo=UTC) == datetime(2027, 1, 5, 10, tzinfo=UTC)
        q1 = by_code["2026-Q1"]
        assert (q1.starts_on, q1.ends_on) == (date(2026, 1, 1), date(2026, 3, 31))
        assert q1.opens_at == january.opens_at
        assert q1.closes_at == by_code["2026-03"].closes_at
        assert q1.review_ends_at is not None
        assert q1.review_ends_at - q1.closes_at == timedelta(days=5)
        assert by_code["2026-H1"].closes_at == by_code["2026-Q2"].closes_at
        assert by_code["2026"].closes_at == december.closes_at
        assert {p.state for p in periods} == {"scheduled"}


async def test_create_year_again_moves_only_scheduled_windows(town: Town, tmp_path: Path) -> None:
    await town.create_year()
    await town.open("2026-01")
    later = scheme_variant(tmp_path, "later.toml", ("open_day = 25", "open_day = 20"))
    async with transaction(town.sessions) as session:
        report = await appraisal.create_year(
            session=session,
            unit_id=town.unit_id,
            year=YEAR,
            scheme=load_scheme(later),
            now=utcnow(),
        )
    # January is open (its window is frozen with it), and so are Q1, H1 and the year, which open
    # with it; the other 11 months and 3 quarters and H2 move to the 20th.
    assert [p.code for p in report.created] == []
    assert {p.code for p in report.unchanged} == {"2026-01", "2026-Q1", "2026-H1", "2026"}
    assert len(report.updated) == 15
    async with town.sessions() as session:
        february = await town.period(session, "2026-02")
        assert february.opens_at.replace(tzinfo=UTC) == datetime(2026, 2, 20, 1, tzinfo=UTC)
        assert (await town.period(session, "2026-01")).opens_at.replace(tzinfo=UTC) == JAN_OPEN
    assert await count(town.sessions, AuditLog, AuditLog.action == "period.window") == 15


async def test_open_close_idempotent_and_refusals(town: Town) -> None:
    await town.create_year()
    refused = await town.close("2026-01")
    assert refused.outcome is Outcome.NOT_OPEN and refused.refused

    opened = await town.open("2026-01")
    assert opened.outcome is Outcome.OPENED
    assert [p.code for p in opened.also_opened] == ["2026-Q1", "2026-H1", "2026"]
    assert opened.tallies == 12 * 4
    again = await town.open("2026-01", now=JAN_OPEN + timedelta(hours=1))
    assert again.outcome is Outcome.ALREADY_OPEN and not again.changed and not again.refused
    assert await count(town.sessions, BallotTally) == 48
    async with town.sessions() as session:
        january = await town.period(session, "2026-01")
        assert january.opened_at is not None
        assert january.opened_at.replace(tzinfo=UTC) == JAN_OPEN  # not moved by the repeat

    pending = await town.close("2026-Q1")
    assert pending.outcome is Outcome.PARTS_NOT_CLOSED and pending.refused
    assert [p.code for p in pending.pending] == ["2026-01", "2026-02", "2026-03"]

    closed = await town.close("2026-01")
    assert closed.outcome is Outcome.CLOSED and len(closed.results) == 12
    stamps = {name: r.computed_at for name, r in (await town.results("2026-01")).items()}
    audit_rows = await count(town.sessions, AuditLog)

    for outcome in (
        await town.close("2026-01", now=JAN_CLOSE + timedelta(days=1)),
        await town.open("2026-01", now=JAN_CLOSE + timedelta(days=1)),
    ):
        assert outcome.outcome is Outcome.ALREADY_CLOSED and not outcome.changed
    assert {n: r.computed_at for n, r in (await town.results("2026-01")).items()} == stamps
    assert await count(town.sessions, AuditLog) == audit_rows
    async with town.sessions() as session:
        assert (await town.period(session, "2026-01")).state == "closed"
        q1 = await town.period(session, "2026-Q1")
        published = await appraisal.publish_quarter(session=session, period=q1, now=JAN_CLOSE)
        assert published.outcome is Outcome.NOT_IN_REVIEW


async def test_month_scored_end_to_end(town: Town, kaohe: Kaohe) -> None:
    """January under the default scheme, every case of docs/scoring.md §§1-4 at once."""
    await town.create_year()
    await town.open("2026-01")

    # 吴磊, ordinary, all three sources:
    #   head (90 × 85 + 10 × 90) / 100 = 85.5; self (90 × 90 + 10 × 80) / 100 = 89.0
    #   11 ballots 4/6/1/0: 380 + 510 + 70 = 960, drop 95 and 70 -> 795 / 9 = 88.33 -> 88.3
    #   monthly 0.5 × 85.5 + 0.3 × 88.3 + 0.2 × 89.0 = 42.75 + 26.49 + 17.80 = 87.04 -> 87.0 良好
    #   office rules: late twice and a missed meeting, 100 - (2 + 2 + 3) = 93.0; an undone
    #   absence does not count.
    await town.rate("2026-01", "吴磊", "李明", "head", {"duty": 85, "central": 90})
    await town.rate("2026-01", "吴磊", "吴磊", "self", {"duty": 90, "central": 80})
    await town.ballots("2026-01", "吴磊", excellent=4, good=6, pass_=1)
    await town.violation("2026-01", "吴磊", "late")
    await town.violation("2026-01", "吴磊", "late")
    await town.violation("2026-01", "吴磊", "missed_meeting")
    await town.violation("2026-01", "吴磊", "absent", undone=True)

    # 冯超: the head's rating is an incomplete draft, so it is missing: left out and renormalised
    # (a complete draft would be submitted at the deadline: see test_complete_drafts_...).
    #   self (90 × 88 + 10 × 90) / 100 = 88.2; 3 ballots 1/2/0/0: (95 + 170) / 3 = 88.3
    #   monthly (0.3 × 88.3 + 0.2 × 88.2) / 0.5 = (26.49 + 17.64) / 0.5 = 88.26 -> 88.3 良好
    await town.rate("2026-01", "冯超", "郑海涛", "head", {"duty": 95}, state="draft")
    await town.rate("2026-01", "冯超", "冯超", "self", {"duty": 88, "central": 90})
    await town.ballots("2026-01", "冯超", excellent=1, good=2)

    # 卫红梅: no self-score, counted 0.
    #   head (90 × 80 + 10 × 70) / 100 = 79.0; 5 ballots 2/2/1/0: 430 - 95 - 70 = 265 / 3 = 88.3
    #   monthly 0.5 × 79.0 + 0.3 × 88.3 + 0.2 × 0 = 39.50 + 26.49 = 65.99 -> 66.0 及格
    await town.rate("2026-01", "卫红梅", "陈静", "head", {"duty": 80, "central": 70})
    await town.ballots("2026-01", "卫红梅", excellent=2, good=2, pass_=1)

    # 沈刚: two ballots only, so no democratic score: (0.5 × 90 + 0.2 × 90) / 0.7 = 90.0 优秀
    await town.rate("2026-01", "沈刚", "蒋伟", "head", {"duty": 90, "central": 90})
    await town.rate("2026-01", "沈刚", "沈刚", "self", {"duty": 90, "central": 90})
    await town.ballots("2026-01", "沈刚", excellent=1, good=1)

    # 王芳, village-stationed (GG's January in docs/scoring.md §9):
    #   head (70 × 93 + 10 × 90 + 20 × 92) / 100 = 92.5; self (6580 + 900 + 1860) / 100 = 93.4
    #   11 ballots 6/5/0/0 -> 90.6; monthly 46.25 + 27.18 + 18.68 = 92.11 -> 92.1 优秀
    await town.rate("2026-01", "王芳", "郑海涛", "head", {"duty": 93, "central": 90, "village": 92})
    await town.rate("2026-01", "王芳", "王芳", "self", {"duty": 94, "central": 90, "village": 93})
    await town.ballots("2026-01", "王芳", excellent=6, good=5)

    # 韩雪: 21 days absent, 21 × 5 = 105 -> floored at 0.0.
    for _ in range(21):
        await town.violation("2026-01", "韩雪", "absent")

    closed = await town.close("2026-01")
    assert closed.outcome is Outcome.CLOSED
    results = await town.results("2026-01")
    assert len(results) == 12

    wu = results["吴磊"]
    assert (wu.score, wu.grade, wu.office_rules) == (D("87.0"), "good", D("93.0"))
    assert wu.flags == []
    monthly = wu.breakdown["monthly"]
    assert (monthly["weighted_sum"], monthly["weight_total"]) == ("87.04", "1.0")
    assert [line["value"] for line in monthly["lines"]] == ["85.5", "88.3", "89.0"]
    assert wu.breakdown["democratic"]["dropped"] == ["excellent", "pass"]
    assert wu.breakdown["office_rules"]["deducted"] == "7"
    assert wu.breakdown["category"] == "ordinary"
    assert wu.inputs["tally"] == {"excellent": 4, "good": 6, "pass": 1, "fail": 0}
    assert len(wu.inputs["ratings"]) == 2 and len(wu.inputs["rating_lines"]) == 4
    assert len(wu.inputs["discipline"]) == 3  # the undone absence is not an input
    assert wu.scheme_fingerprint == default_scheme().fingerprint()

    feng = results["冯超"]
    assert (feng.score, feng.grade) == (D("88.3"), "good")
    assert feng.flags == ["head_missing"]
    assert feng.breakdown["head"] is None
    assert [line["weight_used"] for line in feng.breakdown["monthly"]["lines"]] == [
        "0",
        "0.6000",
        "0.4000",
    ]

    wei = results["卫红梅"]
    assert (wei.score, wei.grade) == (D("66.0"), "pass")
    assert wei.flags == ["self_missing"]

    shen = results["沈刚"]
    assert (shen.score, shen.grade) == (D("90.0"), "excellent")
    assert shen.flags == ["democratic_missing", "too_few_ballots"]

    wang = results["王芳"]
    assert wang.breakdown["category"] == "village"
    assert [line["value"] for line in wang.breakdown["monthly"]["lines"]] == [
        "92.5",
        "90.6",
        "93.4",
    ]
    assert (wang.score, wang.grade) == (D("92.1"), "excellent")

    han = results["韩雪"]
    assert han.office_rules == D("0.0")
    assert "office_rules_floored" in han.flags

    # Nothing at all submitted: head and ballot left out, self 0 -> 0 / 0.2 = 0.0 不及格.
    zhou = results["周晓燕"]
    assert (zhou.score, zhou.grade) == (D("0.0"), "fail")
    assert set(zhou.flags) == {
        "head_missing",
        "democratic_missing",
        "too_few_ballots",
        "self_missing",
    }

    async with town.sessions() as session:
        january = await town.period(session, "2026-01")
        assert await scoring_run.recompute(session=session, period=january) == []

    code, out = await kaohe("score", "show", "2026-01")
    assert code == 0
    for line in (
        "吴磊（党政办公室）：87.0 分，良好",
        "  部门负责人考评：85.5 × 权重 0.5000（本职工作 85.0，中心工作 90.0）",
        "  民主测评：88.3 × 权重 0.3000",  # the score only: never a tally
        "  月度得分 = 87.04 ÷ 1.0 = 87.0",
        "  机关制度：93.0（迟到 −2、迟到 −2、无故缺席会议 −3）",
        "  部门负责人考评：—，不计入",  # 冯超
        "  本人自评：—，未交，计 0 分 × 权重 0.2000",  # 卫红梅
        "王芳（经济发展办公室，蹲点村干部）：92.1 分，优秀",
    ):
        assert line in out.splitlines(), line
    assert "票：" not in out and "去掉最高" not in out  # no count of grades, no trimmed ballots
    code, out = await kaohe("score", "show", "2026-01", "--json")
    assert code == 0
    wu = next(r for r in json.loads(out)["results"] if r["name"] == "吴磊")
    assert wu["breakdown"]["democratic"] == {"score": "88.3", "too_few_ballots": False}
    assert "tally" not in wu["inputs"] and "tally" not in json.dumps(wu)
    zhou = next(r for r in json.loads(out)["results"] if r["name"] == "周晓燕")
    assert zhou["breakdown"]["democratic"] == {"score": None, "too_few_ballots": True}


async def test_complete_drafts_are_submitted_at_the_deadline_and_missing_raters_flagged(
    town: Town,
) -> None:
    """A draft with every item answered is submitted for its author when the month closes (and
    the result says so); an incomplete one counts as missing but shows what it had answered;
    a head who did not rate is flagged on the head's own result."""
    await town.create_year()
    await town.open("2026-01")
    await town.rate("2026-01", "吴磊", "吴磊", "self", {"duty": 90, "central": 80}, state="draft")
    await town.rate("2026-01", "冯超", "冯超", "self", {"duty": 88}, state="draft")
    await town.rate("2026-01", "吴磊", "李明", "head", {"duty": 85, "central": 90}, state="draft")
    closed = await town.close("2026-01")
    assert closed.auto_submitted == 2  # 吴磊's self-score and 李明's rating of 吴磊
    results = await town.results("2026-01")

    wu = results["吴磊"]
    assert "self_auto_submitted" in wu.flags and "head_auto_submitted" in wu.flags
    assert "self_missing" not in wu.flags and "head_missing" not in wu.flags
    # head 85.5, self 89.0, too few ballots: (0.5 × 85.5 + 0.2 × 89.0) / 0.7 = 86.5
    assert wu.score == D("86.5")
    feng = results["冯超"]
    assert "self_missing" in feng.flags and feng.breakdown["drafts"]["self"] == ["duty"]
    zheng = results["郑海涛"]  # the head of 经济发展办公室 rated nobody
    assert "owes_ratings" in zheng.flags
    assert set(zheng.breakdown["owes"]) >= {town.id("冯超"), town.id("王芳")}
    assert "owes_ratings" not in results["冯超"].flags

    async with town.sessions() as session:
        wu_self = (
            await session.exec(
                select(Rating).where(Rating.ratee_id == town.id("吴磊"), Rating.source == "self")
            )
        ).one()
        assert wu_self.state == "submitted" and wu_self.auto_submitted
        assert wu_self.submitted_at == JAN_CLOSE
        audits = (
            await session.exec(select(AuditLog).where(AuditLog.action == "rating.auto_submit"))
        ).all()
        assert len(audits) == 2 and all(a.at == JAN_CLOSE for a in audits)
        january = await town.period(session, "2026-01")
        assert await scoring_run.recompute(session=session, period=january) == []


async def test_quantified_item_over_and_under_target(
    town: Town, tmp_path: Path, kaohe: Kaohe
) -> None:
    """Own duties quantified (ordinary cadres), ballot quarterly so January has none."""
    scheme_file = scheme_variant(tmp_path, "quantified.toml", QUANTIFIED_DUTY, QUARTERLY_BALLOT)
    scheme = load_scheme(scheme_file)
    assert scheme.item("ordinary", "duty").quantified
    assert not scheme.item("village", "duty").quantified
    rows = [
        TargetRow(2, "吴磊", "党政办公室", "本职工作", "D01", "农户信息核查", D(60), D(120), "户"),
        TargetRow(3, "吴磊", "党政办公室", "duty", "D02", "走访群众", D(40), D(40), "次"),
    ]
    async with transaction(town.sessions) as session:
        await import_targets(
            session=session, unit_id=town.unit_id, year=YEAR, rows=rows, scheme=scheme, now=utcnow()
        )
    await town.create_year(scheme_file)
    opened = await town.open("2026-01", scheme_file=scheme_file)
    assert opened.tallies == 0  # no democratic evaluation in January

    # January's targets are the year's ÷ 12: D01 120 -> 10, D02 40 -> 3.33.
    # 吴磊's head: D01 9/10 = 90.0, D02 2.5/3.33 = 75.0 -> duty (60 × 90 + 40 × 75) / 100 = 84.0;
    #   central 80 -> (90 × 84 + 10 × 80) / 100 = 83.6
    # self: D01 8/10 = 80.0, D02 5/3.33 -> capped 100.0 (target exceeded) -> duty
    #   (60 × 80 + 40 × 100) / 100 = 88.0; central 90 -> (7920 + 900) / 100 = 88.2
    # monthly without a ballot: (0.5 × 83.6 + 0.2 × 88.2) / 0.7 = 59.44 / 0.7 = 84.91 -> 84.9
    await town.rate("2026-01", "吴磊", "李明", "head", {"central": 80}, {"D01": 9, "D02": "2.5"})
    await town.rate("2026-01", "吴磊", "吴磊", "self", {"central": 90}, {"D01": 8, "D02": 5})
    # 冯超 has no targets: a self-score cannot score the quantified item, so it is incomplete.
    await town.rate("2026-01", "冯超", "冯超", "self", {"duty": 90, "central": 90})
    # 王芳 is village-stationed, whose own duties stay judged:
    #   (0.5 × 92.5 + 0.2 × 93.4) / 0.7 = 64.93 / 0.7 = 92.76 -> 92.8
    await town.rate("2026-01", "王芳", "郑海涛", "head", {"duty": 93, "central": 90, "village": 92})
    await town.rate("2026-01", "王芳", "王芳", "self", {"duty": 94, "central": 90, "village": 93})
    await town.close("2026-01")
    results = await town.results("2026-01")

    wu = results["吴磊"]
    assert wu.score == D("84.9")
    assert wu.flags == ["target_exceeded"]  # no "democratic missing": none ran
    head_duty, self_duty = (
        next(i for i in wu.breakdown[source]["items"] if i["key"] == "duty")
        for source in ("head", "self")
    )
    assert (head_duty["score"], self_duty["score"]) == ("84.0", "88.0")
    assert [t["score"] for t in self_duty["targets"]] == ["80.0", "100.0"]
    assert self_duty["targets"][1]["flags"] == ["target_exceeded"]
    assert wu.breakdown["head"]["weighted"]["score"] == "83.6"
    assert wu.breakdown["self"]["weighted"]["score"] == "88.2"
    assert wu.breakdown["democratic"] is None and wu.breakdown["ballot"] is False
    assert len(wu.inputs["targets"]) == 2 and wu.inputs["tally"] is None

    feng = results["冯超"]
    assert feng.score == D("0.0")
    assert "self_incomplete" in feng.flags and "self_missing" in feng.flags
    assert feng.breakdown["self"]["problems"] == [{"item": "duty", "code": "no_targets"}]

    assert results["王芳"].score == D("92.8")

    code, out = await kaohe("score", "show", "2026-01")
    assert code == 0
    assert (
        "部门负责人考评：83.6 × 权重 0.7143（本职工作 84.0：D01 完成 9/10、D02 完成 2.5/3.33" in out
    )
    assert "民主测评：—（本月不测评），不计入" in out
    code, out = await kaohe("score", "show", "2026-01", lang="en")
    assert "self-score: 88.2 × weight 0.2857 (Own duties 88.0: D01 8/10, D02 5/3.33" in out


async def test_a_month_frozen_under_version_1_keeps_comparing_with_the_year(
    town: Town, tmp_path: Path
) -> None:
    """Version 1 of the scheme compared a month with the whole year's target; a period frozen
    under it keeps that rule, while the same figures under version 2 compare with 120 ÷ 12."""
    text = DEFAULT_SCHEME_PATH.read_text(encoding="utf-8")
    text = text.replace("version = 2  #", "version = 1  #", 1)
    text = text.replace('[targets]\npace = "even"', "", 1)
    v1 = scheme_variant(tmp_path, "v1.toml", QUANTIFIED_DUTY, QUARTERLY_BALLOT)
    v1.write_text(text.replace(*QUANTIFIED_DUTY, 1).replace(*QUARTERLY_BALLOT, 1), encoding="utf-8")
    assert load_scheme(v1).targets.pace == "annual"
    rows = [
        TargetRow(2, "吴磊", "党政办公室", "本职工作", "D01", "农户信息核查", D(100), D(120), "户")
    ]
    async with transaction(town.sessions) as session:
        await import_targets(
            session=session,
            unit_id=town.unit_id,
            year=YEAR,
            rows=rows,
            scheme=load_scheme(v1),
            now=utcnow(),
        )
    await town.create_year(v1)
    await town.open("2026-01", scheme_file=v1)
    await town.rate("2026-01", "吴磊", "吴磊", "self", {"central": 90}, {"D01": 30})
    await town.close("2026-01")
    wu = (await town.results("2026-01"))["吴磊"]
    duty = next(i for i in wu.breakdown["self"]["items"] if i["key"] == "duty")
    assert duty["score"] == "25.0"  # 30 / 120 under version 1's frozen rule
    assert duty["targets"][0]["pace"] == "annual"

    even = scheme_variant(tmp_path, "v2.toml", QUANTIFIED_DUTY, QUARTERLY_BALLOT)
    await town.open("2026-02", now=datetime(2026, 2, 25, 1, tzinfo=UTC), scheme_file=even)
    await town.rate("2026-02", "吴磊", "吴磊", "self", {"central": 90}, {"D01": 10})
    await town.close("2026-02", now=datetime(2026, 3, 5, 10, tzinfo=UTC))
    wu = (await town.results("2026-02"))["吴磊"]
    duty = next(i for i in wu.breakdown["self"]["items"] if i["key"] == "duty")
    assert duty["score"] == "100.0"  # 10 / (120 ÷ 12): exactly on pace
    assert duty["targets"][0]["pace"] == "even"
    async with town.sessions() as session:
        for code in ("2026-01", "2026-02"):
            period = await town.period(session, code)
            assert await scoring_run.recompute(session=session, period=period) == []


async def test_scheme_frozen_when_a_month_opens(town: Town, tmp_path: Path) -> None:
    scheme_file = scheme_variant(tmp_path, "scheme.toml")
    await town.create_year(scheme_file)
    await town.open("2026-01", scheme_file=scheme_file)
    # The office edits the scheme after January opened: the head's rating now weighs 0.6.
    edited = scheme_file.read_text(encoding="utf-8")
    edited = edited.replace("head = 0.5", "head = 0.6", 1).replace(
        "democratic = 0.3", "democratic = 0.2", 1
    )
    scheme_file.write_text(edited, encoding="utf-8")
    february_open = datetime(2026, 2, 25, 1, tzinfo=UTC)
    # One month takes answers at a time: each closes before the next opens.
    for month, opens, closes in (
        ("2026-01", None, JAN_CLOSE),
        ("2026-02", february_open, datetime(2026, 3, 5, 10, tzinfo=UTC)),
    ):
        if opens is not None:
            await town.open(month, now=opens, scheme_file=scheme_file)
        await town.rate(month, "吴磊", "李明", "head", {"duty": 85, "central": 90})
        await town.rate(month, "吴磊", "吴磊", "self", {"duty": 90, "central": 80})
        await town.ballots(month, "吴磊", excellent=4, good=6, pass_=1)
        await town.close(month, now=closes)
    await town.open("2026-03", now=february_open + timedelta(days=28), scheme_file=scheme_file)

    # January, frozen with 0.5/0.3/0.2: 87.0 as above. February, 0.6/0.2/0.2:
    #   0.6 × 85.5 + 0.2 × 88.3 + 0.2 × 89.0 = 51.30 + 17.66 + 17.80 = 86.76 -> 86.8
    assert (await town.results("2026-01"))["吴磊"].score == D("87.0")
    assert (await town.results("2026-02"))["吴磊"].score == D("86.8")

    async with town.sessions() as session:
        versions = (await session.exec(select(SchemeVersion).order_by(col(SchemeVersion.id)))).all()
        assert len(versions) == 2  # March reused February's version
        first, second = versions
        by_code = {
            p.code: p for p in await list_periods(session=session, unit_id=town.unit_id, year=YEAR)
        }
        assert by_code["2026-01"].scheme_version_id == first.id
        assert by_code["2026-Q1"].scheme_version_id == first.id  # frozen with its first month
        assert by_code["2026-02"].scheme_version_id == second.id
        assert by_code["2026-03"].scheme_version_id == second.id
        assert by_code["2026-01"].scheme is not None
        assert by_code["2026-01"].scheme["sources"]["head"] == "0.5"
        # Recomputing January later still uses January's frozen scheme.
        assert await scoring_run.recompute(session=session, period=by_code["2026-01"]) == []
    assert (await town.results("2026-01"))["吴磊"].scheme_fingerprint == first.fingerprint
    assert (await town.results("2026-02"))["吴磊"].scheme_fingerprint == second.fingerprint


async def _quarter_of_flat_months(town: Town, scores: dict[str, tuple[int, int, int]]) -> None:
    """Q1 where each cadre's month scores exactly as given.

    With no ballot cast the democratic source is left out, so head = self = X gives
    (0.5 × X + 0.2 × X) / 0.7 = X exactly.
    """
    heads = {
        "党政办公室": "李明",
        "经济发展办公室": "郑海涛",
        "社会事务办公室": "陈静",
        "综合治理办公室": "蒋伟",
    }
    departments = {
        "李明": "党政办公室", "周晓燕": "党政办公室", "吴磊": "党政办公室",
        "郑海涛": "经济发展办公室", "王芳": "经济发展办公室", "冯超": "经济发展办公室",
        "陈静": "社会事务办公室", "褚文斌": "社会事务办公室", "卫红梅": "社会事务办公室",
        "蒋伟": "综合治理办公室", "沈刚": "综合治理办公室", "韩雪": "综合治理办公室",
    }  # fmt: skip
    for index, code in enumerate(("2026-01", "2026-02", "2026-03")):
        await town.open(code, now=MONTH_OPENS[index])
        for name, department in departments.items():
            value = scores.get(name, (85, 85, 85))[index]
            items = {"duty": value, "central": value}
            if town.people[name].village:
                items["village"] = value
            rater = heads[department] if heads[department] != name else "赵建国"
            await town.rate(code, name, rater, "head", items)
            await town.rate(code, name, name, "self", items)
        await town.close(code, now=MONTH_CLOSES[index])


async def test_quarter_with_adjustment_and_cap_tie(
    town: Town, tmp_path: Path, kaohe: Kaohe
) -> None:
    scheme_file = scheme_variant(tmp_path, "cap.toml", CAP_30)
    await town.create_year(scheme_file)
    # Open the months with the capped scheme (the quarter freezes it with January);
    # _quarter_of_flat_months then finds them open.
    for code, now in zip(("2026-01", "2026-02", "2026-03"), MONTH_OPENS, strict=True):
        await town.open(code, now=now, scheme_file=scheme_file)
    scores = {
        "吴磊": (94, 95, 96),  # 285 / 3 = 95.0
        "冯超": (93, 93, 93),  # 93.0
        "卫红梅": (92, 92, 92),  # 92.0
        "沈刚": (91, 92, 93),  # 276 / 3 = 92.0: tied with 卫红梅
        "韩雪": (91, 91, 91),  # 91.0
    }
    await _quarter_of_flat_months(town, scores)
    q1_close = datetime(2026, 4, 5, 10, 30, tzinfo=UTC)
    async with transaction(town.sessions) as session:
        q1 = await town.period(session, "2026-Q1")
        session.add(
            ScoreAdjustment(
                unit_id=town.unit_id,
                period_id=q1.id,  # type: ignore[arg-type]  # the row's id, set once it is stored
                cadre_id=town.id("周晓燕"),
                delta=D("2.0"),
                reason="县委表彰防汛值守工作",
                leader_id=town.id("赵建国"),
            )
        )
    closed = await town.close("2026-Q1", now=q1_close)
    assert closed.outcome is Outcome.CLOSED
    results = await town.results("2026-Q1")

    # Cap 30 % of 12 cadres = floor(3.6) = 3 places. 优秀 by score: 95.0, 93.0, 92.0, 92.0, 91.0.
    # 吴磊 and 冯超 take two; 卫红梅 and 沈刚 tie at 92.0 for the last one: both 良好 + tie_at_cap,
    # one place left for the leadership to give; 韩雪 (91.0) is beyond the cap: 良好 + capped.
    assert {n: (r.score, r.grade) for n, r in results.items() if n in scores} == {
        "吴磊": (D("95.0"), "excellent"),
        "冯超": (D("93.0"), "excellent"),
        "卫红梅": (D("92.0"), "good"),
        "沈刚": (D("92.0"), "good"),
        "韩雪": (D("91.0"), "good"),
    }
    assert results["卫红梅"].flags == ["tie_at_cap"] == results["沈刚"].flags
    assert results["韩雪"].flags == ["capped"]
    grading = results["沈刚"].breakdown["grading"]
    assert grading["max_excellent"] == 3 and grading["slots_for_tied"] == 1
    assert grading["tied"] == sorted([town.id("卫红梅"), town.id("沈刚")])
    assert results["沈刚"].breakdown["score"]["inputs"] == ["91.0", "92.0", "93.0"]

    # 周晓燕: 85.0 + 2.0 -> 87.0, the reason kept with the figure.
    zhou = results["周晓燕"]
    assert (zhou.score, zhou.grade) == (D("87.0"), "good")
    assert zhou.breakdown["score"]["adjustments"] == [
        {"value": "2.0", "reason": "县委表彰防汛值守工作"}
    ]
    assert len(zhou.inputs["adjustments"]) == 1 and len(zhou.inputs["part_results"]) == 3

    code, out = await kaohe("score", "show", "2026-Q1")
    assert code == 0
    assert "吴磊（党政办公室）：95.0 分，优秀" in out
    assert "各月：2026-01 94.0 · 2026-02 95.0 · 2026-03 96.0 → 平均 95.0" in out
    assert "领导小组调整 +2.0：县委表彰防汛值守工作" in out
    assert "暂定良好，由领导小组评审决定（剩余优秀名额 1 个，同分 2 人）" in out
    assert "优秀 2，良好 10，及格 0，不及格 0（优秀名额上限 3 个）" in out
    code, out = await kaohe("score", "show", "2026-Q1", lang="en")
    assert "(1 excellent place left for 2 tied cadres)" in out
    assert (await kaohe("score", "recompute", "2026-Q1"))[0] == 0

    async with transaction(town.sessions) as session:
        q1 = await town.period(session, "2026-Q1")
        assert q1.state == "in_review"
        assert q1.review_ends_at is not None
        assert q1.review_ends_at.replace(tzinfo=UTC) == q1_close + timedelta(days=5)
        published = await appraisal.publish_quarter(
            session=session, period=q1, now=q1_close + timedelta(days=5)
        )
        assert published.outcome is Outcome.PUBLISHED
        assert q1.appeal_ends_at is not None
        assert q1.appeal_ends_at.replace(tzinfo=UTC) == q1_close + timedelta(days=10)


async def test_recompute_equals_stored_and_reports_tampering(town: Town) -> None:
    await town.create_year()
    await _quarter_of_flat_months(town, {"吴磊": (94, 95, 96)})
    await town.close("2026-Q1", now=datetime(2026, 4, 5, 10, tzinfo=UTC))
    async with transaction(town.sessions) as session:
        for code in ("2026-01", "2026-02", "2026-03", "2026-Q1"):
            assert (
                await scoring_run.recompute(
                    session=session, period=await town.period(session, code)
                )
                == []
            )

        # Someone edits a stored quarterly result by hand...
        q1 = await town.period(session, "2026-Q1")
        stored = {r.cadre_id: r for r in await results_for(session=session, period_id=q1.id)}  # type: ignore[arg-type]  # the row's id, set once it is stored
        tampered = stored[town.id("吴磊")]
        tampered.score = D("97.0")
        session.add(tampered)
        # ...and a head's answer for February after it closed.
        february = await town.period(session, "2026-02")
        line = (
            await session.exec(
                select(RatingLine)
                .join(Rating, col(Rating.id) == col(RatingLine.rating_id))
                .where(
                    Rating.period_id == february.id,
                    Rating.ratee_id == town.id("吴磊"),
                    Rating.source == "head",
                    RatingLine.line_key == "duty",
                )
            )
        ).one()
        line.score = D(80)
        session.add(line)
        await session.flush()

        differences = await scoring_run.recompute(session=session, period=q1)
        assert [(d.cadre_id, d.field, d.stored, d.recomputed) for d in differences] == [
            (town.id("吴磊"), "score", D("97.0"), D("95.0"))
        ]
        fields = {d.field for d in await scoring_run.recompute(session=session, period=february)}
        # head 95 -> (90 × 80 + 10 × 95) / 100 = 81.5; (0.5 × 81.5 + 0.2 × 95) / 0.7 = 85.36
        assert {"score", "grade", "breakdown.head.weighted.score"} <= fields


async def test_rescoring_a_quarter_is_audited(town: Town) -> None:
    await town.create_year()
    await _quarter_of_flat_months(town, {})
    await town.close("2026-Q1", now=datetime(2026, 4, 5, 10, tzinfo=UTC))
    async with transaction(town.sessions) as session:
        q1 = await town.period(session, "2026-Q1")
        session.add(
            ScoreAdjustment(
                unit_id=town.unit_id,
                period_id=q1.id,  # type: ignore[arg-type]  # the row's id, set once it is stored
                cadre_id=town.id("韩雪"),
                delta=D("-1.5"),
                reason="信访件逾期办结两件",
            )
        )
        await session.flush()
        now = datetime(2026, 4, 7, 2, tzinfo=UTC)
        results = await scoring_run.score_quarter(session=session, period=q1, now=now)
        assert {r.cadre_id: r.score for r in results}[town.id("韩雪")] == D("83.5")
    async with town.sessions() as session:
        entries = (
            await session.exec(select(AuditLog).where(AuditLog.action == "result.update"))
        ).all()
        assert len(entries) == 1
        assert entries[0].old_value is not None and entries[0].new_value is not None
        assert entries[0].old_value["score"] == "85.0" and entries[0].new_value["score"] == "83.5"


async def test_year_with_run_due_and_bonus(town: Town, kaohe: Kaohe) -> None:
    """A whole year driven by the scheduler's entry point with a controlled clock."""
    await town.create_year()
    scheme = default_scheme()
    async with transaction(town.sessions) as session:
        for kind, amount, undone in (("reward", "500.00", False), ("deduction", "200.00", False),
                                     ("reward", "1000.00", True)):  # fmt: skip
            session.add(
                BonusEntry(
                    unit_id=town.unit_id,
                    year=YEAR,
                    cadre_id=town.id("吴磊"),
                    kind=kind,
                    amount=D(amount),
                    reason="县级表彰" if kind == "reward" else "工作失误",
                    undone_at=JAN_CLOSE if undone else None,
                )
            )

    async def tick(now: datetime) -> list[str]:
        async with transaction(town.sessions) as session:
            done = await appraisal.run_due(
                session=session, unit_id=town.unit_id, now=now, scheme_file=None
            )
            return [f"{t.outcome.value} {t.period.code}" for t in done]

    assert await tick(JAN_OPEN - timedelta(minutes=1)) == []
    for month in range(1, 13):
        opens, closes = scheme.monthly_window.window(YEAR, month)
        assert await tick(opens.astimezone(UTC)) == [f"opened 2026-{month:02d}"]
        # 吴磊: head and self 90 on every item, no ballot -> 90.0 each month.
        await town.rate(f"2026-{month:02d}", "吴磊", "李明", "head", {"duty": 90, "central": 90})
        await town.rate(f"2026-{month:02d}", "吴磊", "吴磊", "self", {"duty": 90, "central": 90})
        if month == 3:
            await town.violation("2026-03", "吴磊", "late")
        expected = [f"closed 2026-{month:02d}"]
        if month % 3 == 0:
            expected.append(f"closed 2026-Q{month // 3}")
        assert await tick(closes.astimezone(UTC)) == expected
        if month % 3 == 0:
            # The quarter waits in review; a half-year and the year are made of quarters as
            # published (with the leadership's adjustments), so they close once it is.
            async with transaction(town.sessions) as session:
                quarter = await town.period(session, f"2026-Q{month // 3}")
                published = await appraisal.publish_quarter(
                    session=session, period=quarter, now=closes.astimezone(UTC)
                )
                assert published.changed
            after = [f"closed 2026-H{month // 6}"] if month in (6, 12) else []
            if month == 12:
                after.append("closed 2026")
            assert await tick(closes.astimezone(UTC) + timedelta(minutes=1)) == after

    year = (await town.results("2026"))["吴磊"]
    # Quarters 90.0 each -> annual 90.0 (优秀). Office rules: eleven months 100.0 and March 98.0,
    # (1100 + 98) / 12 = 99.83 -> 99.8. Bonus: 10000 × 0.15 × 99.8 / 100 = 1497.00, plus
    # 10000 × 0.85 × 90.0 / 100 = 7650.00, plus 500.00, minus 200.00 (the undone 1000.00 does
    # not count) = 9447.00.
    assert (year.score, year.grade, year.office_rules) == (D("90.0"), "excellent", D("99.8"))
    bonus = year.breakdown["bonus"]
    assert (bonus["office_rules_part"], bonus["performance_part"]) == ("1497.00", "7650.00")
    assert (bonus["rewards"], bonus["deductions"], bonus["amount"]) == (
        ["500.00"],
        ["200.00"],
        "9447.00",
    )
    assert len(year.inputs["bonus_entries"]) == 2
    assert len(year.inputs["part_results"]) == 4 and len(year.inputs["month_results"]) == 12
    half = (await town.results("2026-H1"))["吴磊"]
    assert half.score == D("90.0") and half.breakdown["parts"][1]["period"] == "2026-Q2"
    # Everyone else: 0.0 every month, no deductions: 10000 × 0.15 × 100 / 100 = 1500.00.
    assert (await town.results("2026"))["周晓燕"].breakdown["bonus"]["amount"] == "1500.00"
    code, out = await kaohe("score", "show", "2026")
    assert code == 0
    assert "吴磊（党政办公室）：90.0 分，优秀" in out
    assert "各季度：2026-Q1 90.0 · 2026-Q2 90.0 · 2026-Q3 90.0 · 2026-Q4 90.0 → 平均 90.0" in out
    assert "机关制度月均：99.8" in out
    assert (
        "年终绩效管理奖 9447.00 CNY = 机关制度部分 1497.00 + 绩效部分 7650.00"
        " + 奖励 500.00 − 扣减 200.00"
    ) in out
    code, out = await kaohe("score", "show", "2026", lang="en")
    assert "year-end bonus 9447.00 CNY = office-rules part 1497.00" in out
    async with town.sessions() as session:
        for code in ("2026-H1", "2026-H2", "2026"):
            period = await town.period(session, code)
            assert period.state == "closed"
            assert await scoring_run.recompute(session=session, period=period) == []


async def test_run_due_leaves_a_month_whose_window_passed(town: Town) -> None:
    """Periods created late in the year: the past months wait for the office, not the clock."""
    await town.create_year()
    async with transaction(town.sessions) as session:
        done = await appraisal.run_due(
            session=session,
            unit_id=town.unit_id,
            now=datetime(2026, 3, 1, tzinfo=UTC),
            scheme_file=None,
        )
        # 1 March: February's window (25 Feb - 5 Mar) is running, January's is over.
        assert [(t.outcome, t.period.code) for t in done] == [(Outcome.OPENED, "2026-02")]
        assert (await town.period(session, "2026-01")).state == "scheduled"
    with pytest.raises(ValueError):
        async with transaction(town.sessions) as session:
            await appraisal.run_due(
                session=session, unit_id=town.unit_id, now=datetime(2026, 3, 1), scheme_file=None
            )
