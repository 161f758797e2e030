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
import re
import warnings
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, Final, Literal, TypeVar
from zoneinfo import ZoneInfo

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.worksheet import Worksheet

from storage.models import ROLE_ORDER, Role

__all__ = [
    "COLUMNS",
    "MAX_LENGTHS",
    "InviteSheetRow",
    "RosterError",
    "RosterFileError",
    "RosterIssue",
    "RosterRow",
    "SheetLayout",
    "cell_text",
    "header_key",
    "is_blank",
    "normalise_name",
    "parse_roles",
    "read_records",
    "read_roster",
    "role_text",
    "validate_rows",
    "write_invite_sheet",
    "write_roster",
]

Language = Literal["zh", "en"]

#: The canonical column keys, in the order the writer puts them.
COLUMNS: Final[tuple[str, ...]] = (
    "name",
    "department",
    "roles",
    "title",
    "supervisor",
    "village",
    "phone",
)
REQUIRED_COLUMNS: Final[tuple[str, ...]] = ("name", "department")

#: Longest value each column may hold: the widths of the ``cadre`` and ``department`` columns.
MAX_LENGTHS: Final[dict[str, int]] = {
    "name": 50,
    "department": 100,
    "title": 50,
    "supervisor": 50,
    "village": 100,
    "phone": 32,
}

# Header words the writer uses, per language.
_HEADERS: Final[dict[str, dict[str, str]]] = {
    "zh": {
        "name": "姓名",
        "department": "部门",
        "roles": "角色",
        "title": "职务",
        "supervisor": "分管领导",
        "village": "蹲点村",
        "phone": "电话",
    },
    "en": {
        "name": "Name",
        "department": "Department",
        "roles": "Roles",
        "title": "Title",
        "supervisor": "Supervisor",
        "village": "Village",
        "phone": "Phone",
    },
}

# Every header the reader accepts for each column (compared after _header_key()).
_HEADER_ALIASES: Final[dict[str, tuple[str, ...]]] = {
    "name": ("姓名", "名字", "人员姓名", "干部姓名", "name", "full name", "person"),
    "department": ("部门", "所在部门", "科室", "单位部门", "department", "dept"),
    "roles": ("角色", "身份", "考核角色", "roles", "role"),
    "title": ("职务", "职位", "岗位", "title", "position", "post", "job title"),
    "supervisor": (
        "分管领导",
        "分管",
        "上级领导",
        "supervisor",
        "supervising leader",
        "leader in charge",
    ),
    "village": ("蹲点村", "分工蹲点村", "包村", "联系村", "驻村", "village", "stationed village"),
    "phone": (
        "电话",
        "手机",
        "手机号",
        "手机号码",
        "联系电话",
        "电话号码",
        "phone",
        "mobile",
        "tel",
        "telephone",
    ),
}
# Columns clerks commonly add that carry nothing the bot needs: accepted and ignored, so that a
# serial-number column does not block an import, while a misspelt header still does.
_IGNORED_HEADERS: Final[tuple[str, ...]] = (
    "序号",
    "编号",
    "备注",
    "说明",
    "no",
    "no.",
    "#",
    "seq",
    "remark",
    "remarks",
    "note",
    "notes",
)

# Role names the writer uses, per language, and every spelling the reader accepts.
_ROLE_NAMES: Final[dict[str, dict[Role, str]]] = {
    "zh": {Role.CADRE: "干部", Role.HEAD: "部门负责人", Role.LEADER: "领导", Role.OFFICE: "办公室"},
    "en": {Role.CADRE: "cadre", Role.HEAD: "head", Role.LEADER: "leader", Role.OFFICE: "office"},
}
_ROLE_ALIASES: Final[dict[str, Role]] = {
    "cadre": Role.CADRE,
    "干部": Role.CADRE,
    "机关干部": Role.CADRE,
    "head": Role.HEAD,
    "部门负责人": Role.HEAD,
    "负责人": Role.HEAD,
    "leader": Role.LEADER,
    "领导": Role.LEADER,
    "考核领导小组成员": Role.LEADER,
    "领导小组成员": Role.LEADER,
    "分管领导": Role.LEADER,
    "office": Role.OFFICE,
    "办公室": Role.OFFICE,
    "党政办": Role.OFFICE,
}
_ROLE_JOINER: Final[dict[str, str]] = {"zh": "、", "en": ", "}
_ROLE_SPLIT = re.compile(r"[,，、;；\s]+")

# The invite sheet's column headers and the sheet names are labels (templates/<lang>/labels.toml).
_INVITE_COLUMNS: Final = ("name", "department", "code", "link", "expires")


def _sheet_label(lang: str, key: str) -> str:
    from bot.core.texts import Texts

    return Texts().label(lang, f"sheet.{key}")


_XLSX_SUFFIXES: Final = (".xlsx", ".xlsm")
_CSV_SUFFIXES: Final = (".csv", ".txt")

_SPACES = re.compile(r"\s+")  # \s covers the ideographic space U+3000 and the no-break space
_CJK_NAME = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff·•・]+")
_PARENTHESISED = re.compile(r"[（(][^）)]*[）)]")
_PHONE = re.compile(r"\+?[0-9][0-9 \-]*")
_PHONE_DIGITS = (3, 20)


class RosterError(Exception):
    """A roster that cannot be imported; ``errors`` lists every reason, each with its row/column."""

    def __init__(self, errors: Sequence[RosterIssue]) -> None:
        self.errors: list[RosterIssue] = list(errors)
        super().__init__("; ".join(issue.code_text() for issue in self.errors))


class RosterFileError(RosterError):
    """The file itself, or a row in it, is wrong; nothing from it may be imported."""


@dataclass(frozen=True, slots=True)
class RosterIssue:
    """One problem, as a code and parameters (``templates/<lang>/roster/issue.j2`` words it).

    ``row`` is the spreadsheet row number the clerk sees in Excel (None for the whole file);
    ``column`` is a canonical column key from :data:`COLUMNS` (None when no known column is meant).
    """

    row: int | None
    column: str | None
    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def context(self) -> dict[str, Any]:
        """The template variables: ``Texts().render(lang, "roster/issue", **issue.context())``."""
        return {"row": self.row, "column": self.column, "code": self.code, "params": self.params}

    def code_text(self) -> str:
        """A short, language-free form for logs and exception messages (``row 5 roles: ...``)."""
        where = " ".join(
            part for part in (f"row {self.row}" if self.row else "", self.column or "") if part
        )
        return f"{where}: {self.code}" if where else self.code


@dataclass(frozen=True, slots=True)
class RosterRow:
    """One person of the roster, validated and normalised.

    ``row`` is where the person stands in the file (the spreadsheet row number), so that errors
    found later, e.g. by the database import, can still point at the line to fix. ``roles``
    always contains ``cadre`` when it contains ``head``: a department head is assessed too.
    """

    row: int
    name: str
    department: str
    roles: frozenset[Role]
    title: str | None = None
    supervisor: str | None = None
    village: str | None = None
    phone: str | None = None

    def __post_init__(self) -> None:
        roles = frozenset(Role(role) for role in self.roles)
        if Role.HEAD in roles:
            roles |= {Role.CADRE}
        object.__setattr__(self, "roles", roles)

    @property
    def key(self) -> tuple[str, str]:
        """Who this is: name and department together identify a person within a unit."""
        return (self.department, self.name)


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


def normalise_name(text: str) -> str:
    """Collapse white space; drop it entirely inside Chinese names.

    Chinese sheets pad two-character names to line them up with three-character ones
    (``王  五``), and the same person must match however they were padded.
    """
    collapsed = _SPACES.sub(" ", text).strip()
    joined = collapsed.replace(" ", "")
    return joined if _CJK_NAME.fullmatch(joined) else collapsed


def _header_key(text: str) -> str:
    """Compare headers without case, spaces, required-field stars or parenthesised notes."""
    text = _PARENTHESISED.sub("", text)
    text = _SPACES.sub("", text).casefold()
    return text.strip("*:：")


def parse_roles(text: str) -> tuple[frozenset[Role], list[str]]:
    """Split a roles cell into roles and the words that are not roles (empty means ``cadre``)."""
    roles: set[Role] = set()
    unknown: list[str] = []
    for word in _ROLE_SPLIT.split(text.strip()):
        if not word:
            continue
        role = _ROLE_ALIASES.get(word.casefold())
        if role is None:
            unknown.append(word)
        else:
            roles.add(role)
    if not roles and not unknown:
        roles.add(Role.CADRE)
    return frozenset(roles), unknown


def _cell_text(value: Any) -> str | None:
    """A cell as trimmed text; None when blank. Excel stores phone numbers as numbers."""
    if value is None:
        return None
    if isinstance(value, bool):
        text = str(value)
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    elif isinstance(value, datetime):
        text = value.isoformat(sep=" ")
    else:
        text = str(value)
    text = _SPACES.sub(" ", text).strip()
    return text or None


# --- reading ---------------------------------------------------------------------------------


def read_roster(path: Path) -> list[RosterRow]:
    """Read and validate a roster file (.xlsx or .csv).

    Raise :class:`RosterFileError` listing every problem found, so the clerk can fix the whole
    sheet in one go; if there is any problem, no row is returned at all.
    """
    path = Path(path)
    records = _read_records(path)
    rows, issues = _LAYOUT.parse(records, _parse_row)
    issues.extend(validate_rows(rows))
    if issues:
        raise RosterFileError(_LAYOUT.sorted_issues(issues))
    return rows


def _file_error(code: str, **params: Any) -> RosterFileError:
    return RosterFileError([RosterIssue(None, None, code, params)])


def _read_records(path: Path) -> list[tuple[int, list[Any]]]:
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


def _is_blank(values: Sequence[Any]) -> bool:
    return all(_cell_text(value) is None for value in values)


# The office keeps other sheets too (the annual targets, bot/targets_file.py); they are read the
# same way, so these helpers are shared rather than copied.
read_records = _read_records
header_key = _header_key
cell_text = _cell_text
is_blank = _is_blank


# The header row is the first of this many non-blank rows that names both name and department:
# clerks often put a title row (or two) above it.
_HEADER_SEARCH_ROWS: Final = 10
_PERSON_COLUMNS: Final = frozenset({"name", "department"})

Row = TypeVar("Row")
RowParser = Callable[[int, Sequence[Any], dict[str, int]], tuple[Row | None, list[RosterIssue]]]


@dataclass(frozen=True)
class SheetLayout:
    """The columns of one kind of sheet, as the reader matches its header.

    ``columns`` are the canonical keys in the writer's order, ``required`` those a sheet must
    have, ``aliases`` every header accepted for a column (compared after :func:`header_key`),
    ``ignored`` the headers clerks commonly add that carry nothing the bot needs: accepted and
    ignored, so that a serial-number column does not block an import while a misspelt header
    still does. Every sheet names people by name and department.
    """

    columns: tuple[str, ...]
    required: tuple[str, ...]
    aliases: Mapping[str, tuple[str, ...]]
    ignored: tuple[str, ...]

    @cached_property
    def _alias_to_column(self) -> dict[str, str]:
        return {
            _header_key(alias): column
            for column, aliases in self.aliases.items()
            for alias in aliases
        }

    @cached_property
    def _ignored_keys(self) -> frozenset[str]:
        return frozenset(_header_key(h) for h in self.ignored)

    def _column(self, value: Any) -> str | None:
        return self._alias_to_column.get(_header_key(_cell_text(value) or ""))

    def find_header(self, records: list[tuple[int, list[Any]]]) -> tuple[int, list[Any]] | None:
        """The header row: the first of the top rows naming both name and department.

        Falls back to the first non-blank row, so that its missing columns can be reported.
        """
        non_blank = [record for record in records if not _is_blank(record[1])]
        for number, values in non_blank[:_HEADER_SEARCH_ROWS]:
            if {self._column(v) for v in values} >= _PERSON_COLUMNS:
                return number, values
        return non_blank[0] if non_blank else None

    def header_positions(
        self, header_row: int, values: list[Any]
    ) -> tuple[dict[str, int], list[RosterIssue]]:
        """Where each known column stands, and the unknown or repeated headers."""
        positions: dict[str, int] = {}
        issues: list[RosterIssue] = []
        for index, value in enumerate(values):
            text = _cell_text(value)
            if text is None:
                continue
            letter = get_column_letter(index + 1)
            key = _header_key(text)
            column = self._alias_to_column.get(key)
            if column is None:
                if key not in self._ignored_keys:
                    params = {"header": text, "letter": letter}
                    issues.append(RosterIssue(header_row, None, "unknown_column", params))
                continue
            if column in positions:
                first_letter = get_column_letter(positions[column] + 1)
                params = {"header": text, "letter": letter, "first_letter": first_letter}
                issues.append(RosterIssue(header_row, column, "duplicate_column", params))
                continue
            positions[column] = index
        return positions, issues

    def parse(
        self, records: list[tuple[int, list[Any]]], parse_row: RowParser[Row]
    ) -> tuple[list[Row], list[RosterIssue]]:
        """Map the header, then turn every non-blank row below it into a row or issues.

        ``parse_row(number, values, positions)`` checks the cells of one row on their own.
        """
        header = self.find_header(records)
        if header is None:
            return [], [RosterIssue(None, None, "empty_file", {})]
        header_row, header_values = header
        positions, issues = self.header_positions(header_row, header_values)
        missing = [column for column in self.required if column not in positions]
        if set(missing) >= _PERSON_COLUMNS:
            # No header row at all (the first row is a title, or data): its cells are not column
            # names, so listing them as unknown columns would only confuse.
            issues = []
        issues.extend(RosterIssue(header_row, column, "missing_column", {}) for column in missing)
        if missing:
            return [], issues

        body = [(n, v) for n, v in records if n > header_row and not _is_blank(v)]
        unnamed: dict[int, int] = {}
        rows: list[Row] = []
        for number, values in body:
            for index, value in enumerate(values):
                named = index < len(header_values) and _cell_text(header_values[index]) is not None
                if index not in unnamed and not named and _cell_text(value) is not None:
                    unnamed[index] = number
            row, row_issues = parse_row(number, values, positions)
            issues.extend(row_issues)
            if row is not None:
                rows.append(row)
        for index, first_row in sorted(unnamed.items()):
            params = {"letter": get_column_letter(index + 1), "first_row": first_row}
            issues.append(RosterIssue(header_row, None, "unnamed_column", params))
        if not body:
            issues.append(RosterIssue(None, None, "no_rows", {"header_row": header_row}))
        return rows, issues

    def sorted_issues(self, issues: Iterable[RosterIssue]) -> list[RosterIssue]:
        """File-wide problems first, then by row, keeping the column order within a row."""
        order = {column: index for index, column in enumerate(self.columns)}
        return sorted(
            issues,
            key=lambda i: (i.row is not None, i.row or 0, order.get(i.column or "", len(order))),
        )


_LAYOUT: Final = SheetLayout(COLUMNS, REQUIRED_COLUMNS, _HEADER_ALIASES, _IGNORED_HEADERS)


def _parse_row(
    number: int, values: Sequence[Any], positions: dict[str, int]
) -> tuple[RosterRow | None, list[RosterIssue]]:
    """Check the cells of one row on their own; cross-row rules are in :func:`validate_rows`."""
    issues: list[RosterIssue] = []

    def cell(column: str) -> Any:
        index = positions.get(column)
        return values[index] if index is not None and index < len(values) else None

    texts = {column: _cell_text(cell(column)) for column in COLUMNS}
    for column in REQUIRED_COLUMNS:
        if texts[column] is None:
            issues.append(RosterIssue(number, column, "required", {}))

    roles, unknown = parse_roles(texts["roles"] or "")
    for word in unknown:
        issues.append(RosterIssue(number, "roles", "unknown_role", {"value": word}))
    # A row whose only role word is unknown still takes part in the cross-row checks (as a
    # cadre), so that one sheet shows every problem; the row's own issue blocks the import.
    roles = roles or frozenset({Role.CADRE})

    if texts["name"] is None or texts["department"] is None:
        return None, issues
    name = normalise_name(texts["name"] or "")
    department = normalise_name(texts["department"] or "")
    supervisor = texts["supervisor"]
    return (
        RosterRow(
            row=number,
            name=name,
            department=department,
            roles=roles,
            title=texts["title"],
            supervisor=normalise_name(supervisor) if supervisor else None,
            village=texts["village"],
            phone=texts["phone"],
        ),
        issues,
    )


def _valid_phone(text: str) -> bool:
    digits = sum(ch.isdigit() for ch in text)
    return bool(_PHONE.fullmatch(text)) and _PHONE_DIGITS[0] <= digits <= _PHONE_DIGITS[1]


def validate_rows(rows: Sequence[RosterRow]) -> list[RosterIssue]:
    """The rules that need the whole roster (or hold for rows built in code, not read from a file).

    Duplicates, lengths, and supervisors: a head needs one, and it must be exactly one person of
    the roster who holds the leader role.
    """
    issues: list[RosterIssue] = []
    first_seen: dict[tuple[str, str], int] = {}
    by_name: dict[str, list[RosterRow]] = {}
    for row in rows:
        by_name.setdefault(row.name, []).append(row)

    for row in rows:
        for column, limit in MAX_LENGTHS.items():
            value = getattr(row, column)
            if value is not None and len(value) > limit:
                issues.append(
                    RosterIssue(row.row, column, "too_long", {"length": len(value), "max": limit})
                )
        for column in REQUIRED_COLUMNS:
            if not getattr(row, column):
                issues.append(RosterIssue(row.row, column, "required", {}))
        if not row.roles:
            issues.append(RosterIssue(row.row, "roles", "no_roles", {}))
        if row.phone is not None and not _valid_phone(row.phone):
            issues.append(RosterIssue(row.row, "phone", "bad_phone", {"value": row.phone}))

        if row.key in first_seen:
            issues.append(
                RosterIssue(
                    row.row,
                    "name",
                    "duplicate_person",
                    {
                        "name": row.name,
                        "department": row.department,
                        "first_row": first_seen[row.key],
                    },
                )
            )
        else:
            first_seen[row.key] = row.row

        if row.village and Role.CADRE not in row.roles:
            issues.append(
                RosterIssue(row.row, "village", "village_needs_cadre", {"village": row.village})
            )
        issues.extend(_supervisor_issues(row, by_name))
    return issues


def _supervisor_issues(row: RosterRow, by_name: dict[str, list[RosterRow]]) -> list[RosterIssue]:
    if row.supervisor is None:
        if Role.HEAD in row.roles:
            return [RosterIssue(row.row, "supervisor", "supervisor_required", {})]
        return []
    name = row.supervisor
    if name == row.name:
        return [RosterIssue(row.row, "supervisor", "supervisor_self", {"name": name})]
    candidates = by_name.get(name, [])
    if not candidates:
        return [RosterIssue(row.row, "supervisor", "supervisor_unknown", {"name": name})]
    if len(candidates) > 1:
        return [
            RosterIssue(
                row.row,
                "supervisor",
                "supervisor_ambiguous",
                {
                    "name": name,
                    "departments": [c.department for c in candidates],
                    "rows": [c.row for c in candidates],
                },
            )
        ]
    (leader,) = candidates
    if Role.LEADER not in leader.roles:
        return [
            RosterIssue(
                row.row,
                "supervisor",
                "supervisor_not_leader",
                {"name": name, "leader_row": leader.row},
            )
        ]
    return []


# --- writing ---------------------------------------------------------------------------------


def _check_language(language: str) -> Language:
    if language not in _HEADERS:
        raise ValueError(f"language must be one of {sorted(_HEADERS)}, not {language!r}")
    return language  # type: ignore[return-value]


def role_text(roles: Iterable[Role], language: str = "zh") -> str:
    """The roles cell as the writer spells it (``干部、部门负责人``); the reader accepts it back."""
    language = _check_language(language)
    chosen = set(roles)
    return _ROLE_JOINER[language].join(_ROLE_NAMES[language][r] for r in ROLE_ORDER if r in chosen)


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
    header = [_HEADERS[lang][column] for column in COLUMNS]
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
    sheet.title = _sheet_label(language, "roster")
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
    sheet.title = _sheet_label(lang, "invites")
    sheet.append([_sheet_label(lang, f"invite_{column}") for column in _INVITE_COLUMNS])
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
