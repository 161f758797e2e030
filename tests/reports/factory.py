"""Reports built by hand, for the renderers' tests: the seed's first quarter of the 12-cadre
example town (3 优秀 and 9 良好 in 4 departments, one adjustment, one missing self-score, one
democratic evaluation with too few ballots), a larger unit, and a year with its bonus lines.

Every figure goes through the scoring rules (means, grades, bonuses), as the engine would have
stored it, so a test can compare a rendering against the report's lines and against sums worked
out by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.reports.model import AdjustmentLine, BonusLine, PeriodReport, ReportLine
from bot.rules import scoring

ZONE = ZoneInfo("Asia/Shanghai")
UNIT = "青山镇"
BANDS = scoring.GradeBands(excellent=Decimal(90), good=Decimal(80), pass_=Decimal(60))

#: The example town's cadres (examples/roster.csv, the leaders left out): department, name, title.
TOWN: tuple[tuple[str, str, str], ...] = (
    ("党政办公室", "李明", "党政办主任"),
    ("党政办公室", "周晓燕", "党政办文书"),
    ("党政办公室", "吴磊", "科员"),
    ("经济发展办公室", "郑海涛", "经发办主任"),
    ("经济发展办公室", "王芳", "农业服务员"),
    ("经济发展办公室", "冯超", "统计员"),
    ("社会事务办公室", "陈静", "社会事务办主任"),
    ("社会事务办公室", "褚文斌", "民政助理"),
    ("社会事务办公室", "卫红梅", "社保专干"),
    ("综合治理办公室", "蒋伟", "综治办主任"),
    ("综合治理办公室", "沈刚", "安监员"),
    ("综合治理办公室", "韩雪", "信访专干"),
)
DEPARTMENTS = ("党政办公室", "经济发展办公室", "社会事务办公室", "综合治理办公室")

#: Q1 2026, per cadre: the three months' scores, head, self, democratic, office rules, and the
#: score of 2025-Q4.
_Q1: dict[str, tuple[tuple[str, str, str], str, str, str | None, str, str]] = {
    "李明": (("91.2", "92.0", "90.6"), "92.0", "93.0", "89.5", "100.0", "89.8"),
    "周晓燕": (("86.4", "87.1", "85.9"), "87.0", "88.0", "84.6", "98.0", "86.0"),
    "吴磊": (("84.0", "76.8", "83.2"), "85.5", "58.3", "82.1", "97.0", "86.5"),
    "郑海涛": (("88.0", "87.6", "89.1"), "88.5", "90.0", "86.8", "100.0", "87.9"),
    "王芳": (("88.5", "89.0", "88.6"), "89.2", "90.0", "87.3", "100.0", "88.0"),
    "冯超": (("82.3", "83.0", "81.8"), "82.5", "86.0", "80.4", "99.0", "82.7"),
    "陈静": (("90.4", "91.8", "92.1"), "92.3", "92.0", "90.2", "100.0", "90.5"),
    "褚文斌": (("85.0", "84.2", "86.3"), "85.0", "88.0", "83.9", "100.0", "85.1"),
    "卫红梅": (("83.6", "84.4", "83.9"), "84.0", "86.0", "82.5", "96.0", "84.2"),
    "蒋伟": (("89.1", "88.7", "89.4"), "89.6", "91.0", "87.0", "100.0", "89.0"),
    "沈刚": (("81.5", "82.8", "80.9"), "82.0", "85.0", "79.8", "95.0", "81.6"),
    "韩雪": (("84.8", "85.3", "86.0"), "85.6", "87.0", None, "100.0", "85.2"),
}
ADJUSTED = "王芳"
ADJUSTMENT = AdjustmentLine(value=Decimal("2.0"), reason="牵头完成春耕备耕统计，成效突出")
SELF_MISSING = "吴磊"  # no self-score in February: counted 0
TOO_FEW = "韩雪"  # the democratic evaluation of her had too few ballots in every month

NOTICE_ENDS = datetime(2026, 5, 1, 18, 0, tzinfo=ZONE)


def _d(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def line(
    *,
    cadre_id: int,
    name: str,
    department: str,
    title: str | None,
    parts: Sequence[Decimal | None],
    part_codes: Sequence[str],
    head: Decimal | None = None,
    self_score: Decimal | None = None,
    democratic: Decimal | None = None,
    democratic_note: str | None = None,
    office_rules: Decimal | None = None,
    adjustments: Sequence[AdjustmentLine] = (),
    flags: Sequence[str] = (),
    previous_score: Decimal | None = None,
    bonus: BonusLine | None = None,
) -> ReportLine:
    """A cadre's line as the engine stores it: the mean of the parts, the adjustments added,
    the grade by the bands (90/80/60), ``big_change`` when the score moved by 5 or more."""
    mean = scoring.mean_score(parts)
    score = None if mean is None else mean + sum((a.value for a in adjustments), Decimal(0))
    grade = None if score is None else scoring.grade(score, BANDS).value
    if democratic_note is None:
        democratic_note = "score" if democratic is not None else "none"
    all_flags = list(flags)
    if score is not None and previous_score is not None and abs(score - previous_score) >= 5:
        all_flags.append("big_change")
    return ReportLine(
        result_id=1000 + cadre_id,
        cadre_id=cadre_id,
        name=name,
        department=department,
        title=title,
        parts=tuple(parts),
        part_codes=tuple(part_codes),
        head=head,
        self_score=self_score,
        democratic=democratic,
        democratic_note=democratic_note,
        office_rules=office_rules,
        mean=mean,
        adjustments=tuple(adjustments),
        score=score,
        grade=grade,
        flags=tuple(all_flags),
        previous_score=previous_score,
        previous_grade=(
            None if previous_score is None else scoring.grade(previous_score, BANDS).value
        ),
        bonus=bonus,
    )


def seed_quarter(
    *, notice_ends_at: datetime | None = NOTICE_ENDS, unit: str = UNIT
) -> PeriodReport:
    """The seed's first quarter (2026-Q1) of the example town: 3 优秀, 9 良好."""
    lines = []
    for cadre_id, (department, name, title) in enumerate(TOWN, start=1):
        months, head, self_score, democratic, office_rules, previous = _Q1[name]
        lines.append(
            line(
                cadre_id=cadre_id,
                name=name,
                department=department,
                title=title,
                parts=[Decimal(m) for m in months],
                part_codes=("2026-01", "2026-02", "2026-03"),
                head=Decimal(head),
                self_score=Decimal(self_score),
                democratic=_d(democratic),
                democratic_note="too_few" if name == TOO_FEW else None,
                office_rules=Decimal(office_rules),
                adjustments=[ADJUSTMENT] if name == ADJUSTED else [],
                flags=(
                    ["self_missing"]
                    if name == SELF_MISSING
                    else ["too_few_ballots"]
                    if name == TOO_FEW
                    else []
                ),
                previous_score=Decimal(previous),
            )
        )
    return PeriodReport(
        unit=unit,
        kind="quarter",
        year=2026,
        number=1,
        code="2026-Q1",
        state="published" if notice_ends_at else "in_review",
        closed_at=datetime(2026, 4, 5, 18, 0, tzinfo=ZONE),
        review_ends_at=datetime(2026, 4, 25, 18, 0, tzinfo=ZONE),
        published_at=datetime(2026, 4, 26, 9, 0, tzinfo=ZONE) if notice_ends_at else None,
        notice_ends_at=notice_ends_at,
        appeal_ends_at=notice_ends_at,
        lines=tuple(lines),
        departments=DEPARTMENTS,
        previous_code="2025-Q4",
    )


#: Department names of a larger unit (some long, to test widths and labels).
_LARGE_DEPARTMENTS = (
    "党政办公室",
    "经济发展办公室",
    "社会事务办公室",
    "综合治理办公室",
    "自然资源和规划建设办公室",
    "农业农村办公室",
    "退役军人服务站",
    "综合行政执法队",
)
_SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张"
_GIVEN = ("伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰")


def large_quarter(cadres: int = 60, departments: int = 8) -> PeriodReport:
    """A quarter of a larger unit: ``cadres`` spread over ``departments``, every grade held,
    one cadre without a score; figures vary deterministically."""
    names = (
        _LARGE_DEPARTMENTS[:departments]
        if departments <= len(_LARGE_DEPARTMENTS)
        else [f"第{n}工作组" for n in range(1, departments + 1)]
    )
    lines = []
    for index in range(cadres):
        cadre_id = index + 1
        department = names[index % len(names)]
        base = Decimal(55) + Decimal((index * 37) % 430) / 10  # 55.0 … 97.9
        parts = [base + Decimal((index + k) % 5 - 2) / 2 for k in range(3)]
        parts = [min(Decimal(100), p) for p in parts]
        if index == cadres - 1:
            parts = [None, None, None]  # joined late: no score yet
        lines.append(
            line(
                cadre_id=cadre_id,
                name=_SURNAMES[index % len(_SURNAMES)] + _GIVEN[index % len(_GIVEN)],
                department=department,
                title=None if index % 4 else "科员",
                parts=parts,
                part_codes=("2026-04", "2026-05", "2026-06"),
                head=base,
                self_score=min(Decimal(100), base + 3),
                democratic=base - 1 if index % 7 else None,
                democratic_note=None if index % 7 else ("too_few" if index % 2 else "none"),
                office_rules=Decimal(100) - Decimal(index % 4),
                flags=["incomplete"] if index == cadres - 1 else [],
                previous_score=min(Decimal(100), base + Decimal(index % 9) - 4)
                if index % 3
                else None,
            )
        )
    lines.sort(key=lambda item: names.index(item.department))
    return PeriodReport(
        unit="云岭县",
        kind="quarter",
        year=2026,
        number=2,
        code="2026-Q2",
        state="published",
        closed_at=datetime(2026, 7, 5, 18, 0, tzinfo=ZONE),
        review_ends_at=datetime(2026, 7, 10, 18, 0, tzinfo=ZONE),
        published_at=datetime(2026, 7, 10, 18, 0, tzinfo=ZONE),
        notice_ends_at=datetime(2026, 7, 15, 18, 0, tzinfo=ZONE),
        appeal_ends_at=datetime(2026, 7, 15, 18, 0, tzinfo=ZONE),
        lines=tuple(lines),
        departments=tuple(names),
        previous_code="2026-Q1",
    )


@dataclass(frozen=True)
class YearFigures:
    """A cadre's year, as typed: the four quarters, the office-rules mean, the bonus base,
    rewards and deductions."""

    quarters: tuple[str, str, str, str]
    office_rules_mean: str
    base: str = "10000.00"
    rewards: tuple[str, ...] = ()
    deductions: tuple[str, ...] = ()


#: The town's 2026, per cadre (the bonus: base 10,000.00 CNY unless the office set another,
#: office-rules share 15%).
YEAR: dict[str, YearFigures] = {
    "李明": YearFigures(
        ("91.3", "90.8", "92.0", "91.5"), "100.0", base="12000.00", rewards=("500.00",)
    ),
    "周晓燕": YearFigures(("86.5", "87.0", "86.1", "88.0"), "98.0"),
    "吴磊": YearFigures(("81.3", "82.0", "83.4", "84.1"), "97.0", deductions=("200.00",)),
    "郑海涛": YearFigures(("88.2", "88.0", "89.0", "88.6"), "100.0"),
    "王芳": YearFigures(("90.7", "89.5", "90.2", "91.0"), "100.0", rewards=("300.00", "200.00")),
    "冯超": YearFigures(("82.4", "83.1", "82.0", "83.5"), "99.0"),
    "陈静": YearFigures(("91.4", "92.0", "91.1", "90.9"), "100.0"),
    "褚文斌": YearFigures(("85.2", "85.0", "86.1", "85.7"), "99.5"),
    "卫红梅": YearFigures(("84.0", "84.3", "83.8", "84.9"), "96.0"),
    "蒋伟": YearFigures(("89.1", "89.9", "88.7", "89.3"), "100.0"),
    "沈刚": YearFigures(
        ("81.4", "80.9", "82.2", "81.0"), "95.0", base="9800.00", deductions=("150.50",)
    ),
    "韩雪": YearFigures(("85.4", "86.0", "85.1", "86.2"), "100.0", base="9500.00"),
}
BONUS_SHARE = Decimal("0.15")


def seed_year() -> PeriodReport:
    """The town's year 2026, with each cadre's bonus line (scoring.year_end_bonus)."""
    lines = []
    codes = ("2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4")
    for cadre_id, (department, name, title) in enumerate(TOWN, start=1):
        figures = YEAR[name]
        quarters = [Decimal(q) for q in figures.quarters]
        annual = scoring.mean_score(quarters)
        assert annual is not None
        bonus = scoring.year_end_bonus(
            base=Decimal(figures.base),
            office_rules_mean=Decimal(figures.office_rules_mean),
            annual_score=annual,
            share=BONUS_SHARE,
            rewards=[Decimal(r) for r in figures.rewards],
            deductions=[Decimal(d) for d in figures.deductions],
        )
        lines.append(
            line(
                cadre_id=cadre_id,
                name=name,
                department=department,
                title=title,
                parts=quarters,
                part_codes=codes,
                democratic=Decimal("86.0"),
                office_rules=Decimal(figures.office_rules_mean),
                bonus=BonusLine(
                    base=bonus.base,
                    share=bonus.share,
                    office_rules_mean=bonus.office_rules_mean,
                    office_rules_part=bonus.office_rules_part,
                    annual_score=bonus.annual_score,
                    performance_part=bonus.performance_part,
                    rewards=sum(bonus.rewards, Decimal(0)),
                    deductions=sum(bonus.deductions, Decimal(0)),
                    amount=bonus.amount,
                    currency="CNY",
                ),
            )
        )
    return PeriodReport(
        unit=UNIT,
        kind="year",
        year=2026,
        number=1,
        code="2026",
        state="closed",
        closed_at=datetime(2027, 1, 20, 18, 0, tzinfo=ZONE),
        review_ends_at=None,
        published_at=None,
        notice_ends_at=None,
        appeal_ends_at=None,
        lines=tuple(lines),
        departments=DEPARTMENTS,
        currency="CNY",
    )
