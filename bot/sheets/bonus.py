"""The office's bonus bases (奖金基数) as it keeps them: one sheet, one cadre a row.

Read like the roster (.xlsx, or a .csv in UTF-8 or GBK); the rules of a row live in
:mod:`bot.rules.bonus`. The writer makes a sheet the reader takes back (the example file).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from bot.core.texts import LANGUAGES
from bot.rules.bonus import (
    BONUS_LAYOUT,
    COLUMNS,
    BonusFileError,
    BonusRow,
    duplicate_issues,
    parse_bonus_row,
)
from bot.rules.roster import RosterFileError
from bot.sheets.roster import read_records, sheet_label

__all__ = ["read_bonus", "write_bonus"]


def read_bonus(path: Path) -> list[BonusRow]:
    """Read a bonus-base file (.xlsx or .csv) and check each row on its own and against the
    others; raise :class:`BonusFileError` listing every problem, so the clerk fixes the whole
    sheet in one go. Whether each person is on the roster is the caller's to check."""
    try:
        records = read_records(Path(path))
    except RosterFileError as exc:
        raise BonusFileError(exc.errors) from None
    rows, issues = BONUS_LAYOUT.parse(records, parse_bonus_row)
    issues.extend(duplicate_issues(rows))
    if issues:
        raise BonusFileError(BONUS_LAYOUT.sorted_issues(issues))
    return rows


def _cell(row: BonusRow) -> list[object]:
    base = row.base
    return [row.name, row.department, int(base) if base == base.to_integral() else float(base)]


def write_bonus(path: Path, rows: Iterable[BonusRow], *, language: str = "zh") -> None:
    """Write ``rows`` to ``path`` (.xlsx or .csv) so that :func:`read_bonus` reads them back;
    bases are number cells with two decimals shown."""
    path = Path(path)
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {sorted(LANGUAGES)}, not {language!r}")
    header = [sheet_label(language, f"bonus_column.{column}") for column in COLUMNS]
    body = [_cell(row) for row in rows]
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(body)
        return
    if suffix != ".xlsx":
        raise ValueError(f"cannot write bonus bases as {suffix or path.name!r}; use .xlsx or .csv")
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # a new Workbook always has one sheet
    sheet.title = sheet_label(language, "bonus")
    sheet.append(header)
    for values in body:
        sheet.append(values)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDDDDD")
    for row in sheet.iter_rows(min_row=2, min_col=3, max_col=3):
        for cell in row:
            cell.number_format = "#,##0.00"
    for letter, width in zip("ABC", (10, 18, 14), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    workbook.save(path)
