"""The annual target rules (目标管理考核细则) as the office keeps them: one sheet, one target a row.

Each cadre's own-duty targets for the year are drawn up in Excel, so the bot reads that sheet
(.xlsx, or its .csv copy) the way it reads the roster; the rules of a row live in
:mod:`bot.rules.targets`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from bot.core.texts import LANGUAGES
from bot.rules.roster import RosterFileError
from bot.rules.targets import (
    COLUMNS,
    TARGETS_LAYOUT,
    TargetFileError,
    TargetRow,
    code_issues,
    parse_target_row,
)
from bot.sheets.roster import read_records, sheet_label

__all__ = ["read_targets", "write_targets"]


# --- reading ---------------------------------------------------------------------------------


def read_targets(path: Path) -> list[TargetRow]:
    """Read a targets file (.xlsx or .csv) and check each cell on its own.

    Raise :class:`TargetFileError` listing every problem, so the clerk can fix the whole sheet
    in one go; rules needing the scheme or the roster are :func:`resolve_targets`' job.
    """
    try:
        records = read_records(Path(path))
    except RosterFileError as exc:
        raise TargetFileError(exc.errors) from None
    rows, issues = TARGETS_LAYOUT.parse(records, parse_target_row)
    issues.extend(code_issues(rows))
    if issues:
        raise TargetFileError(TARGETS_LAYOUT.sorted_issues(issues))
    return rows


# --- checking against the scheme -------------------------------------------------------------


# --- writing ---------------------------------------------------------------------------------


def _plain_number(value: Decimal | None) -> int | float | None:
    """A figure as Excel should hold it: a number cell, an integer when it is whole."""
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def write_targets(path: Path, rows: Iterable[TargetRow], *, language: str = "zh") -> None:
    """Write ``rows`` to ``path`` (.xlsx or .csv) so that :func:`read_targets` reads them back."""
    path = Path(path)
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {sorted(LANGUAGES)}, not {language!r}")
    header = [sheet_label(language, f"targets_column.{column}") for column in COLUMNS]
    body = [
        [
            row.name,
            row.department,
            row.item,
            row.code,
            row.title,
            _plain_number(row.target),
            row.unit,
            _plain_number(row.points),
        ]
        for row in rows
    ]
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(["" if v is None else v for v in values] for values in body)
        return
    if suffix != ".xlsx":
        raise ValueError(f"cannot write targets as {suffix or path.name!r}; use .xlsx or .csv")
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # a new Workbook always has one sheet
    sheet.title = sheet_label(language, "targets")
    sheet.append(header)
    for values in body:
        sheet.append(values)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDDDDD")
    for letter, width in zip("ABCDEFGH", (10, 18, 14, 8, 48, 10, 8, 8), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    workbook.save(path)
