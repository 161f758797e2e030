"""The roster's rules: what a row of the office's roster (花名册) may hold, and how names compare.

Pure: cell values in, validated :class:`RosterRow` values or :class:`RosterIssue` codes out. The
files themselves are read and written by :mod:`bot.sheets.roster`; the issues are worded by
``templates/<lang>/roster/issue.j2``. The header and role spellings below are the reader's
grammar (every spelling a clerk's sheet may use, in both languages), not text the bot shows: what
the bot writes into a sheet comes from the labels.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, Final, TypeVar

from bot.rules.roles import Role


def column_letter(index: int) -> str:
    """The letters of a 1-based spreadsheet column (1 -> A, 27 -> AA), as Excel shows them."""
    letters = ""
    while index > 0:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


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


#: Cells every row must fill.
REQUIRED_COLUMNS: Final[tuple[str, ...]] = ("name", "department")
#: Columns every roster must have: without roles nobody would rate anyone (every row a cadre),
#: so a sheet without the column is refused; an empty roles cell means a cadre (干部).
REQUIRED_HEADERS: Final[tuple[str, ...]] = (*REQUIRED_COLUMNS, "roles")


#: Longest value each column may hold: the widths of the ``cadre`` and ``department`` columns.
MAX_LENGTHS: Final[dict[str, int]] = {
    "name": 50,
    "department": 100,
    "title": 50,
    "supervisor": 50,
    "village": 100,
    "phone": 32,
}


# Every header the reader accepts for each column (compared after header_key()).
HEADER_ALIASES: Final[dict[str, tuple[str, ...]]] = {
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
IGNORED_HEADERS: Final[tuple[str, ...]] = (
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


_ROLE_SPLIT = re.compile(r"[,，、;；\s]+")


_SPACES = re.compile(r"\s+")  # \s covers the ideographic space U+3000 and the no-break space


# Han characters of every block a name may use: extension A, the unified block, the
# compatibility ideographs, and extensions B-I with the compatibility supplement (U+20000-U+323AF,
# planes 2 and 3: rare characters of personal names such as 𬌗 are there), and 〇.
_HAN = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f\U00030000-\U000323af"


#: The one middle dot of a name (阿依古丽·买买提): U+00B7, as the national standard writes it.
NAME_DOT: Final = "\u00b7"


# What people and keyboards type for that dot: the Greek ano teleia, the bullet, the hyphenation
# point, the bullet and dot operators, the word separator middle dot, the katakana middle dot and
# its half-width form, the Hangul araea that Korean-layout phones offer, and a one-dot leader.
_DOT_VARIANTS = re.compile("[\u0387\u2022\u2027\u2219\u22c5\u2e31\u30fb\uff65\u318d\u2024\u00b7]")


_CJK_NAME = re.compile(f"[{_HAN}{NAME_DOT}]+")


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


def normalise_name(text: str) -> str:
    """Collapse white space; in Chinese names drop it entirely and write one kind of dot.

    Chinese sheets pad two-character names to line them up with three-character ones
    (``王  五``, also ``龚  𬌗`` with a character beyond the basic plane), and the same person
    must match however they were padded. The dot between the parts of a name (阿依古丽·买买提)
    comes from many keyboards as many characters (· • ・ ‧ ･ ...): in a Chinese name every one of
    them is :data:`NAME_DOT`. Other names keep their dots and single spaces.
    """
    collapsed = _SPACES.sub(" ", text).strip()
    joined = _DOT_VARIANTS.sub(NAME_DOT, collapsed.replace(" ", ""))
    return joined if _CJK_NAME.fullmatch(joined) else collapsed


def header_key(text: str) -> str:
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


def cell_text(value: Any) -> str | None:
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


def is_blank(values: Sequence[Any]) -> bool:
    return all(cell_text(value) is None for value in values)


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
            header_key(alias): column
            for column, aliases in self.aliases.items()
            for alias in aliases
        }

    @cached_property
    def _ignored_keys(self) -> frozenset[str]:
        return frozenset(header_key(h) for h in self.ignored)

    def _column(self, value: Any) -> str | None:
        return self._alias_to_column.get(header_key(cell_text(value) or ""))

    def find_header(self, records: list[tuple[int, list[Any]]]) -> tuple[int, list[Any]] | None:
        """The header row: the first of the top rows naming both name and department.

        Falls back to the first non-blank row, so that its missing columns can be reported.
        """
        non_blank = [record for record in records if not is_blank(record[1])]
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
            text = cell_text(value)
            if text is None:
                continue
            letter = column_letter(index + 1)
            key = header_key(text)
            column = self._alias_to_column.get(key)
            if column is None:
                if key not in self._ignored_keys:
                    params = {"header": text, "letter": letter}
                    issues.append(RosterIssue(header_row, None, "unknown_column", params))
                continue
            if column in positions:
                first_letter = column_letter(positions[column] + 1)
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

        body = [(n, v) for n, v in records if n > header_row and not is_blank(v)]
        unnamed: dict[int, int] = {}
        rows: list[Row] = []
        for number, values in body:
            for index, value in enumerate(values):
                named = index < len(header_values) and cell_text(header_values[index]) is not None
                if index not in unnamed and not named and cell_text(value) is not None:
                    unnamed[index] = number
            row, row_issues = parse_row(number, values, positions)
            issues.extend(row_issues)
            if row is not None:
                rows.append(row)
        for index, first_row in sorted(unnamed.items()):
            params = {"letter": column_letter(index + 1), "first_row": first_row}
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


ROSTER_LAYOUT: Final = SheetLayout(COLUMNS, REQUIRED_HEADERS, HEADER_ALIASES, IGNORED_HEADERS)


def parse_roster_row(
    number: int, values: Sequence[Any], positions: dict[str, int]
) -> tuple[RosterRow | None, list[RosterIssue]]:
    """Check the cells of one row on their own; cross-row rules are in :func:`validate_rows`."""
    issues: list[RosterIssue] = []

    def cell(column: str) -> Any:
        index = positions.get(column)
        return values[index] if index is not None and index < len(values) else None

    texts = {column: cell_text(cell(column)) for column in COLUMNS}
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
