"""The roster as the office keeps it: an Excel sheet (or its CSV copy), read and written.

The clerk already keeps the town's roster (花名册) in Excel, so the bot reads that sheet instead of
asking anyone to type people in one by one. Nothing here touches the database: this module turns a
file into validated :class:`RosterRow` values (or a list of every problem found, each naming the
spreadsheet row and column as the clerk sees them in Excel), and writes rows back out so that an
export can be edited and imported again.

Python carries codes and parameters only; ``templates/<lang>/roster/issue.j2`` words each
:class:`RosterIssue`. The header words and role names below are not messages: they are the file
format's vocabulary (what the reader accepts and the writer writes), like a CSV dialect.
"""

from __future__ import annotations

import csv
import io
import warnings
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.worksheet import Worksheet

from bot.core.texts import LANGUAGES, Texts
from bot.rules.roles import ROLE_ORDER, Role
from bot.rules.roster import (
    COLUMNS,
    ROSTER_LAYOUT,
    RosterFileError,
    RosterIssue,
    RosterRow,
    parse_roster_row,
    validate_rows,
)

__all__ = [
    "InviteSheetRow",
    "read_records",
    "read_roster",
    "role_text",
    "sheet_label",
    "write_invite_sheet",
    "write_roster",
]

Language = Literal["zh", "en"]


# The invite sheet's column headers and the sheet names are labels (templates/<lang>/labels.toml).
_INVITE_COLUMNS: Final = ("name", "department", "code", "link", "expires")


def sheet_label(lang: str, key: str) -> str:
    """A word a sheet carries (a header, a sheet's name, a role), from the labels."""
    return _texts().label(lang, f"sheet.{key}")


@cache
def _texts() -> Texts:
    return Texts()


_XLSX_SUFFIXES: Final = (".xlsx", ".xlsm")
_CSV_SUFFIXES: Final = (".csv", ".txt")


@dataclass(frozen=True, slots=True)
class InviteSheetRow:
    """One line of the printed invite hand-out.

    ``expires`` is best given timezone-aware, already in the unit's time zone; a naive value is
    taken as UTC (what SQLite hands back for the UTC timestamps the bot stores).
    """

    name: str
    department: str
    code: str
    link: str
    expires: datetime


# --- normalisation ---------------------------------------------------------------------------


# --- reading ---------------------------------------------------------------------------------


def read_roster(path: Path) -> list[RosterRow]:
    """Read and validate a roster file (.xlsx or .csv).

    Raise :class:`RosterFileError` listing every problem found, so the clerk can fix the whole
    sheet in one go; if there is any problem, no row is returned at all.
    """
    path = Path(path)
    records = read_records(path)
    rows, issues = ROSTER_LAYOUT.parse(records, parse_roster_row)
    issues.extend(validate_rows(rows))
    if issues:
        raise RosterFileError(ROSTER_LAYOUT.sorted_issues(issues))
    return rows


def _file_error(code: str, **params: Any) -> RosterFileError:
    return RosterFileError([RosterIssue(None, None, code, params)])


def read_records(path: Path) -> list[tuple[int, list[Any]]]:
    """The file's rows as (spreadsheet row number, cell values)."""
    suffix = path.suffix.lower()
    if suffix not in _XLSX_SUFFIXES + _CSV_SUFFIXES:
        raise _file_error("file_type", suffix=suffix or path.name)
    if not path.is_file():
        raise _file_error("file_not_found", path=str(path))
    if suffix in _XLSX_SUFFIXES:
        return _read_xlsx(path)
    return _read_csv(path)


def _read_xlsx(path: Path) -> list[tuple[int, list[Any]]]:
    try:
        with warnings.catch_warnings():
            # openpyxl warns about sheet features it drops (data validation extensions, styles
            # from WPS); none of them matter for reading values.
            warnings.simplefilter("ignore", UserWarning)
            workbook = load_workbook(path, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise _file_error("file_unreadable", path=str(path)) from None
    try:
        sheet = workbook.worksheets[0]
        return [
            (number, list(values))
            for number, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1)
        ]
    finally:
        workbook.close()


def _decode(data: bytes) -> str:
    """Decode a CSV as UTF-8 (BOM or not), UTF-16 (Excel's "Unicode text") or GBK.

    Chinese Excel saves "CSV (comma delimited)" in the system code page, GBK; GB18030 is its
    superset, so it also reads the rare characters found in names.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings: tuple[str, ...] = ("utf-16",)
    else:
        encodings = ("utf-8-sig", "gb18030")
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _file_error("file_encoding")


def _read_csv(path: Path) -> list[tuple[int, list[Any]]]:
    try:
        data = path.read_bytes()
    except OSError:
        raise _file_error("file_unreadable", path=str(path)) from None
    text = _decode(data)
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = ","
    for candidate in ("\t", ";"):
        if candidate in first and "," not in first:
            delimiter = candidate
    # One CSV record is one spreadsheet row, even when a quoted cell spans several lines.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return [(number, list(values)) for number, values in enumerate(reader, start=1)]
    except csv.Error:
        raise _file_error("file_unreadable", path=str(path)) from None


# --- writing ---------------------------------------------------------------------------------


def _check_language(language: str) -> Language:
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {sorted(LANGUAGES)}, not {language!r}")
    return "en" if language == "en" else "zh"


def role_text(roles: Iterable[Role], language: str = "zh") -> str:
    """The roles cell as the writer spells it (``干部、部门负责人``); the reader accepts it back."""
    language = _check_language(language)
    chosen = set(roles)
    return sheet_label(language, "role_joiner").join(
        sheet_label(language, f"role.{r.value}") for r in ROLE_ORDER if r in chosen
    )


def _row_values(row: RosterRow, language: Language) -> list[str | None]:
    return [
        row.name,
        row.department,
        role_text(row.roles, language),
        row.title,
        row.supervisor,
        row.village,
        row.phone,
    ]


def write_roster(path: Path, rows: Iterable[RosterRow], *, language: str = "zh") -> None:
    """Write ``rows`` to ``path`` (.xlsx or .csv) so that :func:`read_roster` reads them back.

    CSV is written as UTF-8 with a BOM: that is what makes Excel open Chinese text correctly.
    """
    path = Path(path)
    lang = _check_language(language)
    header = [sheet_label(lang, f"roster_column.{column}") for column in COLUMNS]
    body = [_row_values(row, lang) for row in rows]
    suffix = path.suffix.lower()
    if suffix in _XLSX_SUFFIXES:
        _write_roster_xlsx(path, header, body, lang)
    elif suffix == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows([value or "" for value in values] for values in body)
    else:
        raise ValueError(f"cannot write a roster as {suffix or path.name!r}; use .xlsx or .csv")


def _display_width(text: str) -> int:
    """Excel column width units: a Chinese character is about two Latin ones wide."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _fit_columns(sheet: Worksheet, rows: Sequence[Sequence[Any]], minimum: int = 8) -> None:
    for index in range(max((len(r) for r in rows), default=0)):
        width = max(
            (
                _display_width(str(r[index]))
                for r in rows
                if index < len(r) and r[index] is not None
            ),
            default=0,
        )
        sheet.column_dimensions[get_column_letter(index + 1)].width = max(minimum, width + 2)


_BOLD = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDDDDD")
_THIN = Side(style="thin", color="888888")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)


def _write_roster_xlsx(
    path: Path, header: list[str], body: list[list[str | None]], language: Language
) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # a new Workbook always has one sheet
    sheet.title = sheet_label(language, "roster")
    sheet.append(header)
    for values in body:
        sheet.append(values)
    for cell in sheet[1]:
        cell.font = _BOLD
        cell.fill = _HEADER_FILL
    # Phone numbers are text: as numbers Excel would drop a leading + or 0 and show 1.38E+10.
    phone_letter = get_column_letter(COLUMNS.index("phone") + 1)
    for cell in sheet[phone_letter]:
        cell.number_format = "@"
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    _fit_columns(sheet, [header, *body])
    workbook.save(path)


def write_invite_sheet(
    path: Path,
    invites: Iterable[InviteSheetRow],
    *,
    timezone: str | None = None,
    language: str = "zh",
) -> None:
    """Write the printable invite hand-out (.xlsx): one line per person, cut into slips.

    Expiry is shown as local wall-clock time, since a spreadsheet cell has no time zone: each
    ``expires`` in its own zone, or converted to ``timezone`` when one is given. The header row
    is repeated on every printed page and the sheet is scaled to the paper's width, so the office
    can print it as is.
    """
    path = Path(path)
    if path.suffix.lower() not in _XLSX_SUFFIXES:
        raise ValueError(f"the invite sheet is an .xlsx file, not {path.suffix or path.name!r}")
    lang = _check_language(language)
    zone = ZoneInfo(timezone) if timezone else None
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # a new Workbook always has one sheet
    sheet.title = sheet_label(lang, "invites")
    sheet.append([sheet_label(lang, f"invite_{column}") for column in _INVITE_COLUMNS])
    for cell in sheet[1]:
        cell.font = _BOLD
        cell.fill = _HEADER_FILL
        cell.border = _BOX
        cell.alignment = Alignment(horizontal="center", vertical="center")

    code_font = Font(name="Consolas", size=14, bold=True)
    for invite in invites:
        expires = invite.expires
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=UTC)
        local = (expires.astimezone(zone) if zone else expires).replace(tzinfo=None)
        sheet.append([invite.name, invite.department, invite.code, invite.link, local])
        line = sheet.max_row
        for cell in sheet[line]:
            cell.border = _BOX
            cell.alignment = Alignment(vertical="center", wrap_text=True)
        sheet.cell(line, 3).font = code_font
        sheet.cell(line, 4).hyperlink = invite.link
        sheet.cell(line, 4).font = Font(color="0563C1", underline="single")
        sheet.cell(line, 5).number_format = "yyyy-mm-dd hh:mm"
        sheet.row_dimensions[line].height = 36  # room to cut the slips apart

    for letter, width in zip("ABCDE", (12, 20, 16, 48, 18), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    sheet.print_title_rows = "1:1"
    sheet.print_options.gridLines = True
    sheet.print_options.horizontalCentered = True
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0  # as many pages tall as needed
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    workbook.save(path)
