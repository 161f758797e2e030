"""The .xlsx files of a report: the whole period, and the year-end bonus sheet (openpyxl).

Both are pure renderings of a :class:`~bot.reports.model.PeriodReport`: every figure is the
report's own, written as a number (a score with one decimal, money to the cent), so that the
office can sort, sum and chart it, and so that the file agrees with the messages sent with it.

The period's workbook has a summary sheet (the title with the unit, the period and the end of the
public notice; the grade distribution; then every cadre) and a sheet per department with the same
columns. The democratic evaluation shows its score, or the words for "too few ballots", never a
count of ballots. Headers are the labels of ``[report.sheet]`` in ``templates/<lang>/labels.toml``.

Layout for the people who open it on a phone or a desk: the header row and the names stay in
view (frozen panes), every column is as wide as its longest text (a Chinese character counts
twice), and a header filter sorts the cadres by any column.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from bot.core.texts import Texts
from bot.reports.model import PeriodReport, ReportLine
from bot.rules.numbers import DASH
from bot.rules.scoring import GRADE_ORDER, round_money

__all__ = [
    "MAX_WIDTH",
    "MONEY_FORMAT",
    "SCORE_FORMAT",
    "SIGNED_FORMAT",
    "bonus_workbook",
    "display_width",
    "grade_name",
    "notice_text",
    "part_name",
    "period_name",
    "period_title",
    "period_workbook",
    "sheet_names",
]

SCORE_FORMAT = "0.0"
SIGNED_FORMAT = "+0.0;-0.0;0.0"
MONEY_FORMAT = "#,##0.00"
COUNT_FORMAT = "0"

#: The widest a column grows (Excel's units); longer texts (a long reason) wrap within it.
MAX_WIDTH = 60
_MIN_WIDTH = 6
_PADDING = 2

_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=14)
_HEADER_FILL = PatternFill("solid", fgColor="DDDDDD")
_WRAP = Alignment(wrap_text=True, vertical="top")

# ---------------------------------------------------------------------------------------------
# Names shared with the chart: the period, its parts, the notice, the grades.


def _label(texts: Texts, lang: str, key: str, fallback: str, **params: Any) -> str:
    return texts.label(lang, key, **params) if texts.has_label(lang, key) else fallback


def part_name(code: str, texts: Texts, lang: str) -> str:
    """A part of a period by its code, as a header reads it: ``2026-01`` → 1月 (Jan),
    ``2026-Q1`` → 一季度 (Q1), ``2026-H1`` → 上半年 (H1); an unknown code as it is."""
    match = re.fullmatch(r"\d{4}-(?:(\d{2})|([QH])(\d))", code)
    if match is None:
        return code
    if match.group(1):
        return _label(texts, lang, f"report.sheet.month.{int(match.group(1))}", code)
    table = "quarter" if match.group(2) == "Q" else "half"
    return _label(texts, lang, f"report.sheet.{table}.{match.group(3)}", code)


def period_name(report: PeriodReport, texts: Texts, lang: str) -> str:
    """The report's period in words: 2026年一季度, 2026年上半年, 2026年度 (Q1 2026, ...)."""
    lang = texts.lang(lang)
    if report.kind == "quarter":
        part = part_name(f"{report.year}-Q{report.number}", texts, lang)
    elif report.kind == "half":
        part = part_name(f"{report.year}-H{report.number}", texts, lang)
    else:
        part = ""
    return _label(
        texts, lang, f"report.sheet.period.{report.kind}", report.code, year=report.year, part=part
    )


def notice_text(report: PeriodReport, texts: Texts, lang: str) -> str | None:
    """公示至 2026年5月2日 (public notice until 2 May 2026), or None before publication."""
    moment = report.notice_ends_at
    if moment is None:
        return None
    lang = texts.lang(lang)
    date = texts.label(
        lang,
        "report.sheet.date",
        year=moment.year,
        month=moment.month,
        month_name=texts.label(lang, f"report.sheet.month.{moment.month}"),
        day=moment.day,
    )
    return texts.label(lang, "report.sheet.notice", date=date)


def period_title(report: PeriodReport, texts: Texts, lang: str) -> str:
    """The title of the period's sheet: the unit, the period and the end of the notice."""
    lang = texts.lang(lang)
    title = texts.label(
        lang, "report.sheet.title", unit=report.unit, period=period_name(report, texts, lang)
    )
    notice = notice_text(report, texts, lang)
    if notice is None:
        return title
    return texts.label(lang, "report.sheet.title_notice", title=title, notice=notice)


def grade_name(grade: str | None, texts: Texts, lang: str) -> str:
    """优秀 (Excellent) for ``excellent``; 未定等次 for no grade."""
    if grade is None or grade == "none":
        return texts.label(lang, "report.sheet.no_grade")
    return _label(texts, lang, f"grade.{grade}", grade)


def _flag_name(flag: str, texts: Texts, lang: str) -> str:
    return _label(texts, lang, f"report.sheet.flag.{flag}", flag)


# ---------------------------------------------------------------------------------------------
# Widths and sheet names


def display_width(text: str) -> int:
    """How many Latin characters wide ``text`` is: wide (CJK) characters count two."""
    widest = 0
    for line in text.split("\n"):
        width = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)
        widest = max(widest, width)
    return widest


def _shown(value: Any, number_format: str | None) -> str:
    """A cell's value as Excel shows it under ``number_format`` (for the column's width)."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if number_format == SIGNED_FORMAT:
        return f"{value:+.1f}" if value else "0.0"
    if number_format == SCORE_FORMAT:
        return f"{value:.1f}"
    if number_format == MONEY_FORMAT:
        return f"{value:,.2f}"
    if number_format and number_format.endswith("%"):
        decimals = number_format.count("0") - 1
        return f"{value * 100:.{decimals}f}%"
    return str(value)


_BAD_SHEET_CHARACTERS = re.compile(r"[\[\]:*?/\\]")
_SHEET_NAME_MAX = 31


def sheet_names(wanted: Iterable[str]) -> list[str]:
    """Valid, distinct sheet names for ``wanted``, in order: at most 31 characters, none of
    ``[]:*?/\\``, not starting or ending with an apostrophe, distinct ignoring case (as Excel
    compares them); a clash gets a number: 办公室, 办公室 (2)."""
    taken: set[str] = set()
    names = []
    for raw in wanted:
        base = _BAD_SHEET_CHARACTERS.sub("_", raw).strip().strip("'").strip() or "_"
        name = base[:_SHEET_NAME_MAX]
        number = 2
        while name.casefold() in taken or name.casefold() == "history":
            suffix = f" ({number})"
            name = base[: _SHEET_NAME_MAX - len(suffix)] + suffix
            number += 1
        taken.add(name.casefold())
        names.append(name)
    return names


# ---------------------------------------------------------------------------------------------
# Writing rows


@dataclass(frozen=True)
class _Column:
    header: str
    value: Callable[[ReportLine], Any]
    number_format: str | None = None


def _number(value: Decimal | None) -> float | str:
    """A figure as a number cell, or a dash where there is none."""
    return DASH if value is None else float(value)


class _Sheet:
    """Rows written to one (new) worksheet, counted as they go (openpyxl's ``max_row`` looks at
    every cell: asking it after each row would take quadratic time for a county's 5,000 cadres)
    and remembered for the column widths."""

    def __init__(self, sheet: Worksheet, columns: int) -> None:
        self.sheet = sheet
        self.columns = columns
        self.widths = [0] * columns
        self.rows = 0

    def _append(self, values: Sequence[Any]) -> int:
        self.sheet.append(list(values))
        self.rows += 1
        return self.rows

    def blank(self) -> None:
        self._append([])

    def title(self, text: str) -> None:
        row = self._append([text])
        self.sheet.cell(row, 1).font = _TITLE
        if self.columns > 1:
            self.sheet.merge_cells(
                start_row=row, start_column=1, end_row=row, end_column=self.columns
            )

    def row(
        self,
        values: Sequence[Any],
        formats: Sequence[str | None] = (),
        *,
        bold: bool = False,
        fill: bool = False,
    ) -> int:
        row = self._append(values)
        for index, value in enumerate(values):
            if value is None:
                continue
            cell = self.sheet.cell(row, index + 1)
            number_format = formats[index] if index < len(formats) else None
            if number_format and isinstance(value, int | float):
                cell.number_format = number_format
            if bold:
                cell.font = _BOLD
            if fill:
                cell.fill = _HEADER_FILL
            width = display_width(_shown(value, number_format))
            if width > MAX_WIDTH:
                cell.alignment = _WRAP
            if index < self.columns:
                self.widths[index] = max(self.widths[index], width)
        return row

    def fit(self) -> None:
        for index, width in enumerate(self.widths):
            self.sheet.column_dimensions[get_column_letter(index + 1)].width = min(
                MAX_WIDTH, max(_MIN_WIDTH, width + _PADDING)
            )


def _save(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------
# The period's workbook


def _columns(report: PeriodReport, texts: Texts, lang: str) -> list[_Column]:
    def head(key: str) -> str:
        return texts.label(lang, f"report.sheet.column.{key}")

    codes: list[str] = []
    for line in report.lines:
        codes.extend(code for code in line.part_codes if code not in codes)

    def part(code: str) -> Callable[[ReportLine], Any]:
        return lambda line: _number(dict(zip(line.part_codes, line.parts, strict=False)).get(code))

    def democratic(line: ReportLine) -> Any:
        if line.democratic_note == "score" and line.democratic is not None:
            return float(line.democratic)
        if line.democratic_note == "too_few":
            return texts.label(lang, "report.sheet.too_few")
        return DASH

    joiner = texts.label(lang, "report.sheet.joiner")

    def adjustment(line: ReportLine) -> Any:
        if not line.adjustments:
            return None
        return float(sum((a.value for a in line.adjustments), Decimal(0)))

    def reasons(line: ReportLine) -> Any:
        if not line.adjustments:
            return None
        return joiner.join(
            texts.label(
                lang, "report.sheet.adjustment", value=f"{a.value:+.1f}", reason=a.reason
            ).strip()
            for a in line.adjustments
        )

    def flags(line: ReportLine) -> Any:
        return joiner.join(_flag_name(flag, texts, lang) for flag in line.flags) or None

    columns = [
        _Column(head("department"), lambda line: line.department),
        _Column(head("name"), lambda line: line.name),
        _Column(head("title"), lambda line: line.title or None),
        *(_Column(part_name(code, texts, lang), part(code), SCORE_FORMAT) for code in codes),
    ]
    if report.kind == "quarter" or any(
        line.head is not None or line.self_score is not None for line in report.lines
    ):
        columns += [
            _Column(head("head"), lambda line: _number(line.head), SCORE_FORMAT),
            _Column(head("self"), lambda line: _number(line.self_score), SCORE_FORMAT),
        ]
    columns += [
        _Column(head("democratic"), democratic, SCORE_FORMAT),
        _Column(head("office_rules"), lambda line: _number(line.office_rules), SCORE_FORMAT),
        _Column(head("mean"), lambda line: _number(line.mean), SCORE_FORMAT),
        _Column(head("adjustment"), adjustment, SIGNED_FORMAT),
        _Column(head("reasons"), reasons),
        _Column(head("score"), lambda line: _number(line.score), SCORE_FORMAT),
        _Column(head("grade"), lambda line: grade_name(line.grade, texts, lang)),
        _Column(head("flags"), flags),
        _Column(head("change"), lambda line: _number(line.change), SIGNED_FORMAT),
    ]
    return columns


def _cadre_rows(
    out: _Sheet, columns: Sequence[_Column], lines: Iterable[ReportLine]
) -> tuple[int, int]:
    """The header and a row per cadre; returns the rows of the header and of the last line."""
    formats = [column.number_format for column in columns]
    header = out.row([column.header for column in columns], bold=True, fill=True)
    last = header
    for line in lines:
        last = out.row([column.value(line) for column in columns], formats)
    out.sheet.freeze_panes = out.sheet.cell(header + 1, 3)  # the header and the names stay
    out.sheet.auto_filter.ref = f"A{header}:{get_column_letter(len(columns))}{last}"
    return header, last


def period_workbook(report: PeriodReport, texts: Texts, lang: str) -> bytes:
    """The .xlsx of the whole period: a summary sheet, then a sheet per department."""
    lang = texts.lang(lang)
    columns = _columns(report, texts, lang)
    title = period_title(report, texts, lang)
    groups = report.by_department()
    names = sheet_names(
        [texts.label(lang, "report.sheet.summary"), *(name or DASH for name, _ in groups)]
    )

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # a new Workbook always has one sheet
    sheet.title = names[0]
    out = _Sheet(sheet, len(columns))
    out.title(title)
    distribution = report.distribution()
    grades = [g.value for g in GRADE_ORDER] + (["none"] if distribution.get("none") else [])
    out.row(
        [
            texts.label(lang, "report.sheet.distribution"),
            *(grade_name(g, texts, lang) for g in grades),
        ],
        bold=True,
    )
    out.row(
        [texts.label(lang, "report.sheet.count"), *(distribution.get(g, 0) for g in grades)],
        [None, *(COUNT_FORMAT for _ in grades)],
    )
    out.blank()
    _cadre_rows(out, columns, report.lines)
    out.fit()

    for name, (department, members) in zip(names[1:], groups, strict=True):
        out = _Sheet(workbook.create_sheet(name), len(columns))
        out.title(
            texts.label(lang, "report.sheet.department_title", department=department, title=title)
        )
        _cadre_rows(out, columns, members)
        out.fit()
    return _save(workbook)


# ---------------------------------------------------------------------------------------------
# The year-end bonus sheet


def bonus_workbook(report: PeriodReport, texts: Texts, lang: str) -> bytes:
    """The year-end bonus sheet: a row per cadre with a bonus, then a total row whose sums are
    the exact sums of the money columns (to the cent)."""
    if report.kind != "year":
        raise ValueError(f"a bonus sheet is made of a year's report, not a {report.kind}'s")
    lang = texts.lang(lang)
    lines = [line for line in report.lines if line.bonus is not None]

    def head(key: str) -> str:
        return texts.label(lang, f"report.sheet.bonus_column.{key}")

    keys = (
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
    money_keys = (
        "base",
        "office_rules_part",
        "performance_part",
        "rewards",
        "deductions",
        "amount",
    )
    shares = [line.bonus.share for line in lines if line.bonus is not None]
    share_format = "0%" if all((s * 100) % 1 == 0 for s in shares) else "0.0%"
    formats: list[str | None] = [
        None,
        None,
        MONEY_FORMAT,
        SCORE_FORMAT,
        share_format,
        MONEY_FORMAT,
        SCORE_FORMAT,
        MONEY_FORMAT,
        MONEY_FORMAT,
        MONEY_FORMAT,
        MONEY_FORMAT,
    ]

    currency = report.currency or next(
        (line.bonus.currency for line in lines if line.bonus and line.bonus.currency), ""
    )
    title = texts.label(lang, "report.sheet.bonus_title", unit=report.unit, year=report.year)
    if currency:
        title = texts.label(
            lang, "report.sheet.bonus_title_currency", title=title, currency=currency
        )

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # a new Workbook always has one sheet
    sheet.title = sheet_names([texts.label(lang, "report.sheet.bonus")])[0]
    out = _Sheet(sheet, len(keys))
    out.title(title)
    header = out.row([head(key) for key in keys], bold=True, fill=True)
    totals = dict.fromkeys(money_keys, Decimal(0))
    for line in lines:
        bonus = line.bonus
        assert bonus is not None
        figures: dict[str, Decimal] = {
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
        for key in money_keys:
            figures[key] = round_money(figures[key])
            totals[key] += figures[key]
        out.row([line.department, line.name, *(float(figures[k]) for k in keys[2:])], formats)
    out.row(
        [
            texts.label(lang, "report.sheet.total"),
            None,
            *(float(totals[k]) if k in money_keys else None for k in keys[2:]),
        ],
        formats,
        bold=True,
    )
    sheet.freeze_panes = sheet.cell(header + 1, 3)
    out.fit()
    return _save(workbook)
