"""The period's .xlsx and the year-end bonus sheet, read back with openpyxl: the same figures
as the report, Chinese (or English) headers, frozen headers, numbers stored as numbers, widths
that fit, valid sheet names, a bonus total that adds up to the cent, and no count of ballots."""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from bot.core.texts import Texts
from bot.reports.model import MISSING_FLAGS, PeriodReport, ReportLine
from bot.reports.workbook import (
    MAX_WIDTH,
    bonus_workbook,
    notice_text,
    period_name,
    period_workbook,
    sheet_names,
)
from bot.rules.numbers import DASH
from bot.rules.scoring import Flag
from tests.reports.factory import (
    ADJUSTED,
    ADJUSTMENT,
    DEPARTMENTS,
    SELF_MISSING,
    TOO_FEW,
    large_quarter,
    seed_quarter,
    seed_year,
)

D = Decimal
TEXTS = Texts()
COLUMN_KEYS = (
    "department",
    "name",
    "title",
    "head",
    "self",
    "democratic",
    "office_rules",
    "mean",
    "adjustment",
    "reasons",
    "score",
    "grade",
    "flags",
    "change",
)


def load(data: bytes) -> Workbook:
    return load_workbook(io.BytesIO(data))


def header_row(sheet: Worksheet, lang: str = "zh") -> int:
    """The row of the cadres' header (its first cell is the 部门 / Department header)."""
    first = TEXTS.label(lang, "report.sheet.column.department")
    for row in range(1, sheet.max_row + 1):
        if sheet.cell(row, 1).value == first:
            return row
    raise AssertionError(f"no header row in {sheet.title}")


def table(sheet: Worksheet, lang: str = "zh") -> list[dict[str, Any]]:
    """The cadres' rows as dicts keyed by header."""
    head = header_row(sheet, lang)
    names = [cell.value for cell in sheet[head]]
    return [
        dict(zip(names, (cell.value for cell in sheet[row]), strict=True))
        for row in range(head + 1, sheet.max_row + 1)
    ]


def column(lang: str, key: str) -> str:
    return TEXTS.label(lang, f"report.sheet.column.{key}")


def figure(value: Any) -> Decimal | str | None:
    """A number cell as the exact decimal it shows (floats and ints alike); text as is."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(str(value))
    return value


def expected(line: ReportLine, lang: str) -> dict[str, Any]:
    """What the sheet must say of ``line``, worked out from the line itself."""

    def num(value: Decimal | None) -> Decimal | str:
        return DASH if value is None else value

    row: dict[str, Any] = {
        column(lang, "department"): line.department,
        column(lang, "name"): line.name,
        column(lang, "title"): line.title,
        column(lang, "head"): num(line.head),
        column(lang, "self"): num(line.self_score),
        column(lang, "democratic"): (
            line.democratic
            if line.democratic_note == "score"
            else TEXTS.label(lang, "report.sheet.too_few")
            if line.democratic_note == "too_few"
            else DASH
        ),
        column(lang, "office_rules"): num(line.office_rules),
        column(lang, "mean"): num(line.mean),
        column(lang, "adjustment"): (
            sum((a.value for a in line.adjustments), D(0)) if line.adjustments else None
        ),
        column(lang, "score"): num(line.score),
        column(lang, "grade"): (
            TEXTS.label(lang, f"grade.{line.grade}")
            if line.grade
            else TEXTS.label(lang, "report.sheet.no_grade")
        ),
        column(lang, "change"): num(line.change),
    }
    for code, value in zip(line.part_codes, line.parts, strict=True):
        month = int(code[-2:])
        row[TEXTS.label(lang, f"report.sheet.month.{month}")] = num(value)
    return row


# ---------------------------------------------------------------------------------------------
# The period's workbook


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_summary_holds_every_figure_of_the_report(lang: str) -> None:
    report = seed_quarter()
    sheet = load(period_workbook(report, TEXTS, lang)).worksheets[0]
    rows = table(sheet, lang)
    assert len(rows) == 12
    for line, row in zip(report.lines, rows, strict=True):
        for header, value in expected(line, lang).items():
            assert figure(row[header]) == value, (line.name, header, row[header])


def test_summary_of_the_seed_quarter_reads_as_the_office_expects() -> None:
    report = seed_quarter()
    sheet = load(period_workbook(report, TEXTS, "zh")).worksheets[0]
    assert sheet.title == "汇总"
    title = sheet["A1"].value
    assert title.startswith("青山镇 2026年一季度")
    assert "公示至 2026年5月1日" in title
    assert title == TEXTS.label(
        "zh",
        "report.sheet.title_notice",
        title=TEXTS.label(
            "zh", "report.sheet.title", unit="青山镇", period=period_name(report, TEXTS, "zh")
        ),
        notice=notice_text(report, TEXTS, "zh"),
    )
    # The distribution: 3 优秀, 9 良好.
    assert [c.value for c in sheet[2]][:5] == ["等次分布", "优秀", "良好", "及格", "不及格"]
    assert [c.value for c in sheet[3]][:5] == ["人数", 3, 9, 0, 0]

    rows = {row["姓名"]: row for row in table(sheet)}
    assert [rows[n]["等次"] for n in ("李明", "王芳", "陈静")] == ["优秀"] * 3
    assert sum(1 for row in rows.values() if row["等次"] == "良好") == 9
    adjusted = rows[ADJUSTED]
    assert figure(adjusted["调整"]) == ADJUSTMENT.value
    assert adjusted["调整理由"] == f"+2.0 {ADJUSTMENT.reason}"
    assert figure(adjusted["得分"]) == D("90.7")
    assert rows[TOO_FEW]["民主测评"] == "票数不足"
    assert "未自评" in rows[SELF_MISSING]["提示"]
    assert "较上期变化大" in rows[SELF_MISSING]["提示"]
    assert figure(rows[SELF_MISSING]["较上期"]) == D("-5.2")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_headers_in_each_language(lang: str) -> None:
    sheet = load(period_workbook(seed_quarter(), TEXTS, lang)).worksheets[0]
    header = [cell.value for cell in sheet[header_row(sheet, lang)]]
    months = ["1月", "2月", "3月"] if lang == "zh" else ["Jan", "Feb", "Mar"]
    assert header[:6] == [column(lang, k) for k in ("department", "name", "title")] + months
    assert header[6:] == [column(lang, k) for k in COLUMN_KEYS[3:]]
    if lang == "zh":
        assert header[:3] == ["部门", "姓名", "职务"]
        assert not any(re.search(r"[A-Za-z]", str(h)) for h in header)
    else:
        assert header[:3] == ["Department", "Name", "Title"]
        assert not any(re.search(r"[\u4e00-\u9fff]", str(h)) for h in header)
        assert sheet.title == "Summary"


def test_a_sheet_per_department_with_the_same_columns() -> None:
    report = seed_quarter()
    workbook = load(period_workbook(report, TEXTS, "zh"))
    assert workbook.sheetnames == ["汇总", *DEPARTMENTS]
    summary = workbook.worksheets[0]
    header = [c.value for c in summary[header_row(summary)]]
    for (department, members), sheet in zip(
        report.by_department(), workbook.worksheets[1:], strict=True
    ):
        assert department in sheet["A1"].value and "公示至" in sheet["A1"].value
        assert [c.value for c in sheet[header_row(sheet)]] == header
        rows = table(sheet)
        assert [row["姓名"] for row in rows] == [line.name for line in members]
        for line, row in zip(members, rows, strict=True):
            for key, value in expected(line, "zh").items():
                assert figure(row[key]) == value


def test_header_row_and_names_are_frozen() -> None:
    workbook = load(period_workbook(seed_quarter(), TEXTS, "zh"))
    for sheet in workbook.worksheets:
        assert sheet.freeze_panes == f"C{header_row(sheet) + 1}", sheet.title
    bonus = load(bonus_workbook(seed_year(), TEXTS, "zh")).worksheets[0]
    assert bonus.freeze_panes == "C3"


def score_headers(lang: str) -> set[str]:
    keys = ("head", "self", "democratic", "office_rules", "mean", "adjustment", "score", "change")
    months = {TEXTS.label(lang, f"report.sheet.month.{m}") for m in range(1, 13)}
    return {column(lang, k) for k in keys} | months


@pytest.mark.parametrize("report", [seed_quarter(), large_quarter()], ids=["12", "60"])
def test_figures_are_stored_as_numbers(report: PeriodReport) -> None:
    workbook = load(period_workbook(report, TEXTS, "zh"))
    numeric = score_headers("zh")
    words = {DASH, TEXTS.label("zh", "report.sheet.too_few"), None}
    for sheet in workbook.worksheets:
        head = header_row(sheet)
        names = [c.value for c in sheet[head]]
        numbers = 0
        for row in sheet.iter_rows(min_row=head + 1):
            for name, cell in zip(names, row, strict=True):
                if name not in numeric:
                    continue
                if cell.value in words:
                    continue
                assert isinstance(cell.value, int | float), (sheet.title, name, cell.value)
                assert cell.number_format in ("0.0", "+0.0;-0.0;0.0"), cell.number_format
                numbers += 1
        assert numbers
        # Nowhere a figure written as text.
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    assert not re.fullmatch(r"[+-]?\d+(\.\d+)?", cell.value), cell.coordinate
    distribution = workbook.worksheets[0][3]
    assert all(isinstance(c.value, int) for c in distribution[1:5])


def shown(value: Any, number_format: str) -> str:
    """A cell as Excel shows it (for the widths)."""
    if isinstance(value, int | float):
        if number_format == "0.0":
            return f"{value:.1f}"
        if number_format.startswith("+0.0"):
            return f"{value:+.1f}"
        if number_format == "#,##0.00":
            return f"{value:,.2f}"
        if number_format.endswith("%"):
            return f"{value * 100:.1f}%"
    return str(value)


def width_of(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def assert_widths_fit(workbook: Workbook) -> None:
    for sheet in workbook.worksheets:
        merged = {
            (row, col)
            for cells in sheet.merged_cells.ranges
            for row in range(cells.min_row, cells.max_row + 1)
            for col in range(cells.min_col, cells.max_col + 1)
        }
        for row in sheet.iter_rows():
            for cell in row:
                if cell.value is None or (cell.row, cell.column) in merged:
                    continue
                needed = width_of(shown(cell.value, cell.number_format))
                width = sheet.column_dimensions[cell.column_letter].width
                assert width >= min(needed, MAX_WIDTH), (sheet.title, cell.coordinate)
                if needed > MAX_WIDTH:
                    assert cell.alignment.wrap_text, cell.coordinate


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_column_widths_fit_the_text(lang: str) -> None:
    report = seed_quarter()
    long_reason = replace(
        report.lines[4],
        adjustments=(replace(ADJUSTMENT, reason="牵头完成春耕备耕统计" * 8),),
    )
    report = replace(report, lines=(*report.lines[:4], long_reason, *report.lines[5:]))
    assert_widths_fit(load(period_workbook(report, TEXTS, lang)))
    assert_widths_fit(load(period_workbook(large_quarter(), TEXTS, lang)))
    assert_widths_fit(load(bonus_workbook(seed_year(), TEXTS, lang)))
    # A Chinese name counts double: 社会事务办主任 (7 characters) needs 14.
    sheet = load(period_workbook(seed_quarter(), TEXTS, "zh")).worksheets[0]
    assert sheet.column_dimensions["C"].width >= 14


BALLOT_COUNT = [
    re.compile(r"\d\s*(票|张票|ballot)", re.IGNORECASE),
    re.compile(r"(票|ballots?)\s*[:：]?\s*\d", re.IGNORECASE),
    re.compile(r"(优秀|良好|及格|不及格|excellent|good|pass|fail)\s*[:：]?\s*\d*\s*票", re.I),
    re.compile(r"(cast|voted|votes)\b", re.IGNORECASE),
]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_cell_shows_a_count_of_ballots(lang: str) -> None:
    for data in (
        period_workbook(seed_quarter(), TEXTS, lang),
        period_workbook(large_quarter(), TEXTS, lang),
        bonus_workbook(seed_year(), TEXTS, lang),
    ):
        for sheet in load(data).worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    text = str(cell.value or "")
                    for pattern in BALLOT_COUNT:
                        assert not pattern.search(text), (sheet.title, cell.coordinate, text)


def test_democratic_column_is_a_score_too_few_ballots_or_a_dash() -> None:
    report = large_quarter()
    rows = table(load(period_workbook(report, TEXTS, "en")).worksheets[0], "en")
    notes = {line.democratic_note for line in report.lines}
    assert notes == {"score", "too_few", "none"}
    for line, row in zip(report.lines, rows, strict=True):
        cell = row["Democratic"]
        if line.democratic_note == "score":
            assert figure(cell) == line.democratic
        elif line.democratic_note == "too_few":
            assert cell == "too few ballots"
        else:
            assert cell == DASH


def test_a_cadre_without_a_score_and_the_larger_unit() -> None:
    report = large_quarter(60, 8)
    workbook = load(period_workbook(report, TEXTS, "zh"))
    assert len(workbook.worksheets) == 1 + 8
    summary = workbook.worksheets[0]
    distribution = report.distribution()
    assert [c.value for c in summary[2]][:6] == [
        "等次分布",
        "优秀",
        "良好",
        "及格",
        "不及格",
        "未定等次",
    ]
    assert [c.value for c in summary[3]][1:6] == [
        distribution[g] for g in ("excellent", "good", "pass", "fail", "none")
    ]
    rows = table(summary)
    assert len(rows) == 60
    unscored = [row for row in rows if row["得分"] == DASH]
    assert len(unscored) == 1 and unscored[0]["等次"] == "未定等次"
    assert "部分月份（季度）无得分" in unscored[0]["提示"]
    assert sum(len(table(sheet)) for sheet in workbook.worksheets[1:]) == 60


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_year_is_headed_by_its_quarters(lang: str) -> None:
    report = seed_year()
    sheet = load(period_workbook(report, TEXTS, lang)).worksheets[0]
    header = [c.value for c in sheet[header_row(sheet, lang)]]
    quarters = ["Q1", "Q2", "Q3", "Q4"] if lang == "en" else [f"{n}季度" for n in "一二三四"]
    assert header[3:7] == quarters
    # A year has no head's rating or self-score of its own: those columns are left out.
    assert column(lang, "head") not in header and column(lang, "self") not in header
    title = "青山镇: results of 2026" if lang == "en" else "青山镇 2026年度考核结果"
    assert sheet["A1"].value == title
    rows = table(sheet, lang)
    for line, row in zip(report.lines, rows, strict=True):
        assert [figure(row[q]) for q in quarters] == list(line.parts)
        assert figure(row[column(lang, "score")]) == line.score


def test_a_title_without_a_notice_before_publication() -> None:
    sheet = load(period_workbook(seed_quarter(notice_ends_at=None), TEXTS, "zh")).worksheets[0]
    assert sheet["A1"].value == "青山镇 2026年一季度考核结果"


def test_sheet_names_are_valid_and_distinct() -> None:
    wanted = ["汇总", "汇总", "A/B:C", "[x]*?\\", "'quoted'", "a" * 40, "a" * 40, "ABC", "abc"]
    names = sheet_names([*wanted, "History"])
    assert len(names) == len(set(n.casefold() for n in names))
    for name in names:
        assert 1 <= len(name) <= 31
        assert not re.search(r"[\[\]:*?/\\]", name)
        assert not name.startswith("'") and not name.endswith("'")
    assert names[:3] == ["汇总", "汇总 (2)", "A_B_C"]
    assert names[5] == "a" * 31 and names[6] == "a" * 27 + " (2)"
    assert names[9] != "History"

    # Departments whose names Excel would refuse still get a sheet each.
    report = seed_quarter()
    renamed = {
        "党政办公室": "党政办/综合办[1]",
        "经济发展办公室": "汇总",
        "社会事务办公室": "社会事务办公室" * 6,
        "综合治理办公室": "社会事务办公室" * 5,
    }
    report = replace(
        report,
        lines=tuple(replace(line, department=renamed[line.department]) for line in report.lines),
        departments=tuple(renamed[d] for d in report.departments),
    )
    workbook = load(period_workbook(report, TEXTS, "zh"))
    assert len(workbook.sheetnames) == 5
    assert len({n.casefold() for n in workbook.sheetnames}) == 5
    assert workbook.sheetnames[1] == "党政办_综合办_1_"
    for sheet in workbook.worksheets[1:]:
        assert len(table(sheet)) == 3


def test_every_flag_reads_in_words_in_both_languages() -> None:
    flags = {f.value for f in Flag} | set(MISSING_FLAGS) | {"big_change"}
    flags |= {
        "self_incomplete",
        "head_incomplete",
        "office_rules_floored",
        "bonus_floored",
        "self_auto_submitted",
        "head_auto_submitted",
    }
    for lang in ("zh", "en"):
        for flag in flags:
            assert TEXTS.has_label(lang, f"report.sheet.flag.{flag}"), (lang, flag)


# ---------------------------------------------------------------------------------------------
# The year-end bonus sheet

BONUS_KEYS = (
    "department",
    "name",
    "base",
    "office_rules_mean",
    "share",
    "office_rules_part",
    "annual_score",
    "performance_part",
    "rewards",
    "deductions",
    "amount",
)
MONEY = ("base", "office_rules_part", "performance_part", "rewards", "deductions", "amount")

#: The totals of the town's 2026 worked out by hand from the factory's figures (base 10,000.00
#: but 李明 12,000.00, 沈刚 9,800.00, 韩雪 9,500.00; share 15%), e.g. 韩雪: 9,500 × 0.15 × 100%
#: = 1,425.00, 9,500 × 0.85 × 85.7% = 6,920.275 → 6,920.28, amount 8,345.28.
HAND_TOTALS = {
    "base": D("121300.00"),
    "office_rules_part": D("17964.00"),
    "performance_part": D("89476.70"),
    "rewards": D("1000.00"),
    "deductions": D("350.50"),
    "amount": D("108090.20"),
}
HAND_AMOUNTS = {
    "李明": D("11622.80"),
    "周晓燕": D("8856.50"),
    "吴磊": D("8284.50"),
    "郑海涛": D("9022.50"),
    "王芳": D("9684.00"),
    "冯超": D("8523.00"),
    "陈静": D("9269.00"),
    "褚文斌": D("8760.00"),
    "卫红梅": D("8605.50"),
    "蒋伟": D("9090.50"),
    "沈刚": D("8026.62"),
    "韩雪": D("8345.28"),
}


def bonus_rows(sheet: Worksheet) -> list[list[Any]]:
    return [[cell.value for cell in row] for row in sheet.iter_rows(min_row=3)]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_bonus_sheet_holds_each_cadres_bonus(lang: str) -> None:
    report = seed_year()
    sheet = load(bonus_workbook(report, TEXTS, lang)).worksheets[0]
    assert sheet.title == TEXTS.label(lang, "report.sheet.bonus")
    assert "CNY" in sheet["A1"].value and str(report.year) in sheet["A1"].value
    assert [c.value for c in sheet[2]] == [
        TEXTS.label(lang, f"report.sheet.bonus_column.{k}") for k in BONUS_KEYS
    ]
    rows = bonus_rows(sheet)
    assert len(rows) == 12 + 1
    for line, row in zip(report.lines, rows[:-1], strict=True):
        bonus = line.bonus
        assert bonus is not None
        assert row[:2] == [line.department, line.name]
        got = dict(zip(BONUS_KEYS[2:], map(figure, row[2:]), strict=True))
        assert got == {
            "base": bonus.base,
            "office_rules_mean": bonus.office_rules_mean,
            "share": bonus.share,
            "office_rules_part": bonus.office_rules_part,
            "annual_score": bonus.annual_score,
            "performance_part": bonus.performance_part,
            "rewards": bonus.rewards,
            "deductions": bonus.deductions,
            "amount": bonus.amount,
        }
        assert got["amount"] == HAND_AMOUNTS[line.name]
    if lang == "zh":
        assert [c.value for c in sheet[2]][2] == "基数"


def test_bonus_total_row_adds_up_to_the_cent() -> None:
    sheet = load(bonus_workbook(seed_year(), TEXTS, "zh")).worksheets[0]
    *rows, total = bonus_rows(sheet)
    assert total[0] == "合计"
    totals = dict(zip(BONUS_KEYS, total, strict=True))
    for key in MONEY:
        index = BONUS_KEYS.index(key)
        assert isinstance(totals[key], int | float), key
        column_sum = sum((figure(row[index]) for row in rows), D(0))
        assert figure(totals[key]) == column_sum == HAND_TOTALS[key], key
    assert totals["office_rules_mean"] is None and totals["share"] is None
    # Money is shown with two decimals and thousands separators; the share as a percentage.
    last = sheet.max_row
    for key in MONEY:
        letter = "ABCDEFGHIJK"[BONUS_KEYS.index(key)]
        assert sheet[f"{letter}3"].number_format == "#,##0.00"
        assert sheet[f"{letter}{last}"].number_format == "#,##0.00"
    assert sheet["E3"].number_format == "0%"
    assert (
        HAND_TOTALS["office_rules_part"]
        + HAND_TOTALS["performance_part"]
        + HAND_TOTALS["rewards"]
        - HAND_TOTALS["deductions"]
        == HAND_TOTALS["amount"]
    )


def test_bonus_sheet_is_made_of_a_year() -> None:
    with pytest.raises(ValueError, match="year"):
        bonus_workbook(seed_quarter(), TEXTS, "zh")


def test_a_report_without_lines_has_its_title_header_and_no_department_sheets() -> None:
    workbook = load(period_workbook(replace(seed_quarter(), lines=()), TEXTS, "zh"))
    assert workbook.sheetnames == ["汇总"]
    sheet = workbook.worksheets[0]
    assert sheet["A1"].value.startswith("青山镇 2026年一季度")
    assert [c.value for c in sheet[3]][:5] == ["人数", 0, 0, 0, 0]
    assert table(sheet) == []
    bonus = load(bonus_workbook(replace(seed_year(), lines=()), TEXTS, "zh")).worksheets[0]
    assert bonus["A3"].value == "合计"
    assert figure(bonus["K3"].value) == 0
