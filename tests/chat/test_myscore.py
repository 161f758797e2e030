"""/myscore end to end: the month so far, and stored results explained, in Chinese and English.

Results are written here as the scoring service writes them (breakdowns from ``as_dict()`` of
:mod:`bot.rules.scoring`), straight into the database; every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.core.scheme_file import default_scheme
from bot.rules import scoring
from storage.engine import transaction
from storage.models import BallotParticipation, Period, PeriodState, Rating, Result, utcnow

ZONE = ZoneInfo("Asia/Shanghai")
D = Decimal


def _today() -> date:
    return datetime.now(ZONE).date()


def _lines(text: str) -> list[str]:
    return [line for line in text.split("\n") if line]


async def _period(town: Any, kind: str, year: int, number: int, state: str) -> Period:
    async with transaction(town.services.sessions) as session:
        period = Period(
            unit_id=town.services.unit_id,
            kind=kind,
            year=year,
            number=number,
            starts_on=date(year, 1, 1),
            ends_on=date(year, 12, 31),
            opens_at=datetime(year, 1, 1, tzinfo=UTC),
            closes_at=datetime(year, 12, 31, tzinfo=UTC),
            state=state,
        )
        session.add(period)
    return period


async def _result(town: Any, period: Period, name: str, **values: Any) -> None:
    cadre = await town.cadre(name)
    async with transaction(town.services.sessions) as session:
        session.add(
            Result(unit_id=town.services.unit_id, period_id=period.id, cadre_id=cadre.id, **values)
        )


async def _store_results(town: Any, name: str) -> None:
    """October: head missing (renormalised); Q3 published with a leadership adjustment."""
    scheme = default_scheme()
    democratic = scoring.democratic_score(
        {"excellent": 3, "good": 7, "pass": 1}, scheme.democratic_rules()
    )
    assert democratic.score == D("87.2")
    monthly = scoring.monthly_score(
        None, democratic, D("87.7"), scheme.source_weights(), scheme.missing_policy()
    )
    office = scoring.office_rules_score([scheme.deduction("late")])
    october = await _period(town, "month", 2026, 10, PeriodState.CLOSED.value)
    await _result(
        town,
        october,
        name,
        score=monthly.score,
        office_rules=office.score,
        grade=scoring.grade(monthly.score, scheme.grade_bands()).value,
        flags=[f.value for f in monthly.flags],
        breakdown={
            "kind": "month",
            "monthly": monthly.as_dict(),
            "democratic": democratic.as_dict(),
            "office_rules": office.as_dict(),
        },
        inputs={"tally": democratic.tally.as_dict()},
    )
    quarter = scoring.quarterly_score(
        [D("86.3"), D("86.8"), D("88.2")],
        [scoring.Adjustment(value=D("1.0"), reason="获县级防汛表彰")],
    )
    q3 = await _period(town, "quarter", 2026, 3, PeriodState.PUBLISHED.value)
    await _result(
        town,
        q3,
        name,
        score=quarter.score,
        office_rules=D("97.5"),
        grade=scoring.grade(quarter.score, scheme.grade_bands()).value,
        flags=[f.value for f in quarter.flags],
        breakdown={
            "kind": "quarter",
            "parts": [
                {"period": "2026-07", "score": "86.3"},
                {"period": "2026-08", "score": "86.8"},
                {"period": "2026-09", "score": "88.2"},
            ],
            "score": quarter.as_dict(),
        },
    )
    # A quarter still in review is not shown, however recent.
    q4 = await _period(town, "quarter", 2026, 4, PeriodState.IN_REVIEW.value)
    await _result(town, q4, name, score=D("99.9"), grade="excellent")


async def test_no_results_and_the_month_so_far(town: Any, texts: Any) -> None:
    wang = await town.signup("王芳")
    await wang.command("myscore")
    text = wang.last().text
    assert "现在没有正在进行的月度考核" in text
    assert "还没有您的考核结果" in text

    today = _today()
    period = await town.open_month(today.year, today.month)
    await wang.command("myscore")
    text = wang.last().text
    deadline = period.closes_at.astimezone(ZONE).strftime("%Y-%m-%d %H:%M")
    assert f"{period.year}年{period.number}月（进行中）" in text and f"截止：{deadline}" in text
    assert "⬜ 自评：还没提交 — 发送 /selfscore" in text
    assert "⬜ 民主测评：还没投票 — 发送 /vote" in text
    assert "还有 2 项没完成" in text and "还要评分" not in text

    cadre = await town.cadre("王芳")
    async with transaction(town.services.sessions) as session:
        session.add(
            Rating(
                unit_id=town.services.unit_id,
                period_id=period.id,
                ratee_id=cadre.id,
                rater_id=cadre.id,
                source="self",
                state="submitted",
                total=D("88.7"),
                submitted_at=utcnow(),
            )
        )
        session.add(
            BallotParticipation(
                unit_id=town.services.unit_id,
                period_id=period.id,
                rater_id=cadre.id,
                cast_on=today,
            )
        )
    await wang.command("myscore")
    text = wang.last().text
    assert "✅ 自评：已提交（88.7）" in text and "✅ 民主测评：已投票" in text
    assert "本月您要做的都已完成" in text


async def test_a_head_sees_whom_they_still_rate(town: Any) -> None:
    head = await town.signup("郑海涛")
    today = _today()
    await town.open_month(today.year, today.month)
    await head.command("myscore")
    [line] = [x for x in _lines(head.last().text) if x.startswith("⬜ 还要评分：")]
    assert set(line.removeprefix("⬜ 还要评分：").removesuffix(" — 发送 /rate").split("、")) == {
        "王芳",
        "冯超",
    }
    assert "还有 3 项没完成" in head.last().text


async def test_results_with_breakdown_in_chinese(town: Any, texts: Any) -> None:
    wang = await town.signup("王芳")
    await _store_results(town, "王芳")
    async with town.services.sessions() as session:
        october = (
            await session.exec(select(Period).where(Period.kind == "month", Period.number == 10))
        ).one()
    await _result(town, october, "冯超", score=D("77.7"), grade="pass")
    await wang.command("myscore")
    text = wang.last().text
    lines = _lines(text)

    # The published quarter in the words of the result sent at publication (bot.reports).
    assert "王芳，您2026年第3季度的考核结果已公布：" in lines
    assert "得分 88.1 · 等次 良好" in lines
    assert "月度得分：7月 86.3 · 8月 86.8 · 9月 88.2 → 平均 87.1" in lines
    assert "· 领导小组调整 +1.0：获县级防汛表彰" in lines
    assert "· 机关制度（月均）：97.5" in lines

    october = lines[lines.index("2026年10月 月度得分") :]
    assert october[:8] == [
        "2026年10月 月度得分",
        "得分 87.4 · 等次：良好",
        "· 部门负责人考评：没有分数，不计入",
        "· 民主测评：87.2（权重 30%，调整后 60%）",
        "· 本人自评：87.7（权重 20%，调整后 40%）",
        "缺少的来源不计入，其余来源的权重已按比例调整到合计 100%。",
        "机关制度：98.0",
        "说明：",
    ]
    assert (
        "· 部门负责人没有评分：这一项不计入，其余来源的权重按比例放大（这不是您的责任）。"
        in october
    )
    # The quarter still in review, and other people's results, are not shown.
    assert "99.9" not in text and "77.7" not in text
    # Only the democratic score, never how colleagues voted.
    for grade in ("excellent", "good", "pass", "fail"):
        assert f"{texts.label('zh', f'grade.{grade}')} 7" not in text
    assert "3 / 7" not in text and "票" not in text
    assert text.index("2026年第3季度") < text.index("2026年10月")


async def test_results_with_breakdown_in_english(town: Any) -> None:
    wang = await town.signup("王芳")
    await _store_results(town, "王芳")
    await wang.command("lang", "en")
    await wang.command("myscore")
    lines = _lines(wang.last().text)
    assert "My appraisal · 王芳" in lines
    assert "王芳, your appraisal result for Q3 2026 is published:" in lines
    assert "Score 88.1 · grade Good" in lines
    assert "Monthly scores: Jul 86.3 · Aug 86.8 · Sep 88.2 → mean 87.1" in lines
    assert "· Leadership adjustment +1.0: 获县级防汛表彰" in lines
    october = lines[lines.index("October 2026: monthly score") :]
    assert october[:7] == [
        "October 2026: monthly score",
        "Score 87.4 · grade: Good",
        "· Department head's rating: no score, left out",
        "· Democratic evaluation: 87.2 (weight 30%, 60% after rescaling)",
        "· Self-score: 87.7 (weight 20%, 40% after rescaling)",
        "A missing source is left out; the other weights were rescaled to add up to 100%.",
        "Office rules: 98.0",
    ]
    assert any(line.startswith("· Your department head did not rate you") for line in october)


async def test_missing_self_score_is_explained(town: Any) -> None:
    wang = await town.signup("王芳")
    scheme = default_scheme()
    monthly = scoring.monthly_score(
        D("90.9"), D("89.4"), None, scheme.source_weights(), scheme.missing_policy()
    )
    assert monthly.score == D("72.3")
    march = await _period(town, "month", 2026, 3, PeriodState.CLOSED.value)
    await _result(
        town,
        march,
        "王芳",
        score=monthly.score,
        office_rules=D("100.0"),
        grade=scoring.grade(monthly.score, scheme.grade_bands()).value,
        flags=[f.value for f in monthly.flags],
        breakdown={"kind": "month", "monthly": monthly.as_dict()},
    )
    await wang.command("myscore")
    lines = _lines(wang.last().text)
    assert "得分 72.3 · 等次：及格" in lines
    assert "· 部门负责人考评：90.9（权重 50%）" in lines
    assert "· 本人自评：未提交，按 0.0 分计（权重 20%）" in lines
    assert "· 本月没有提交自评，自评按 0 分计入。" in lines
    assert not any("调整后" in line for line in lines)


async def test_myscore_is_for_cadres_only(town: Any) -> None:
    leader = await town.signup("赵建国")  # a leader, not assessed
    await leader.command("myscore")
    assert "只对机关干部开放" in leader.last().text
