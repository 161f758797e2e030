"""The office's bonus bases (奖金基数): what a row of its sheet may hold.

Each cadre's year-end bonus is ``base × (share × office-rules mean/100 + (1 − share) × annual
score/100) + rewards − deductions``; the base is the office's, one figure per cadre and year, kept
in Excel like the roster. Pure: :mod:`bot.sheets.bonus` reads the file, this module turns each
row's cells into a :class:`BonusRow` or :class:`~bot.rules.roster.RosterIssue` codes, and the
caller finds the people on the roster (:mod:`storage.queries.bonus`).

A base is an amount of money the way a clerk writes one: ``10000``, ``10000.5``, ``10,000.00``
(commas only between groups of three digits), ``¥10000`` or ``￥10,000.00``, ``10000元``,
full-width digits; zero is allowed (a cadre who gets no bonus this year), a negative figure, more
than two decimals, a figure above :data:`MAX_BASE` or anything else (``1.2万``, ``10.000,00``) is
refused with its own code. A number cell of Excel is read as the number it holds; a formula's
float noise (``13200.000000000002``) is the cent it stands for.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from bot.rules.roster import (
    RosterError,
    RosterIssue,
    SheetLayout,
    cell_text,
    normalise_name,
)

__all__ = [
    "BONUS_LAYOUT",
    "COLUMNS",
    "MAX_BASE",
    "BonusFileError",
    "BonusRow",
    "duplicate_issues",
    "parse_base",
    "parse_bonus_row",
]

#: The canonical column keys, in the order the writer puts them.
COLUMNS: Final[tuple[str, ...]] = ("name", "department", "base")

REQUIRED_COLUMNS: Final[tuple[str, ...]] = COLUMNS

#: The largest base accepted: a typo of a few zeros too many is refused, not paid.
MAX_BASE: Final = Decimal("9999999.99")

#: Longest name and department (the widths of the ``cadre`` and ``department`` columns).
MAX_LENGTHS: Final[dict[str, int]] = {"name": 50, "department": 100}

_CENT: Final = Decimal("0.01")

_HEADER_ALIASES: Final[dict[str, tuple[str, ...]]] = {
    "name": ("姓名", "名字", "人员姓名", "干部姓名", "name", "full name"),
    "department": ("部门", "所在部门", "科室", "department", "dept"),
    "base": (
        "基数",
        "奖金基数",
        "年终奖基数",
        "年终奖金基数",
        "绩效奖基数",
        "绩效奖金基数",
        "base",
        "bonus base",
        "bonus_base",
    ),
}

# Columns clerks commonly keep in such a sheet that carry nothing the bot needs: a serial number,
# a remark, the person's post (a bonus sheet is often made from the roster).
_IGNORED_HEADERS: Final[tuple[str, ...]] = (
    "序号",
    "编号",
    "备注",
    "说明",
    "职务",
    "职位",
    "岗位",
    "no",
    "no.",
    "#",
    "seq",
    "remark",
    "remarks",
    "note",
    "notes",
    "title",
    "position",
)

BONUS_LAYOUT: Final = SheetLayout(COLUMNS, REQUIRED_COLUMNS, _HEADER_ALIASES, _IGNORED_HEADERS)


class BonusFileError(RosterError):
    """The bonus file, or a row in it, is wrong; nothing from it may be imported."""


@dataclass(frozen=True, slots=True)
class BonusRow:
    """One cadre's base for the year, as the sheet gives it; ``row`` is the spreadsheet row."""

    row: int
    name: str
    department: str
    base: Decimal

    @property
    def person(self) -> tuple[str, str]:
        """Who the base is for: department and name, as the roster identifies people."""
        return (self.department, self.name)


# Digits with commas between groups of three (10,000.00), or without (10000.5).
_AMOUNT: Final = re.compile(r"^(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?$")
_SIGNED: Final = re.compile(r"^[+-]")


def parse_base(value: Any) -> tuple[Decimal | None, str | None]:
    """A cell as a base: ``(amount to the cent, None)``, or ``(None, problem code)`` with the
    code one of ``not_an_amount``, ``negative``, ``too_many_decimals``, ``too_large``."""
    if isinstance(value, bool):
        return None, "not_an_amount"
    if isinstance(value, int | float):
        amount = _from_number(value)
        if amount is None:
            return None, "not_an_amount"
    else:
        text = unicodedata.normalize("NFKC", cell_text(value) or "").replace(" ", "")
        text = text.removeprefix("¥").removesuffix("元")
        negative = text.startswith("-")
        if _SIGNED.match(text):
            text = text[1:].removeprefix("¥")
        if not _AMOUNT.match(text):
            return None, "not_an_amount"
        try:
            amount = Decimal(text.replace(",", ""))
        except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
            return None, "not_an_amount"
        if negative and amount:
            return None, "negative"
    if amount < 0:
        return None, "negative"
    if amount != amount.quantize(_CENT):
        return None, "too_many_decimals"
    if amount > MAX_BASE:
        return None, "too_large"
    return amount.quantize(_CENT), None


def _from_number(value: int | float) -> Decimal | None:
    """A number cell: an int as it is; a float as the cent it stands for when it is within a
    millionth of one (a formula's noise), else as written (so 0.125 is too many decimals)."""
    if isinstance(value, int):
        return Decimal(value)
    if value != value or value in (float("inf"), float("-inf")):
        return None
    cents = round(value, 2)
    if abs(value - cents) < 1e-6:
        return Decimal(str(cents))
    return Decimal(repr(value))


def parse_bonus_row(
    number: int, values: Sequence[Any], positions: dict[str, int]
) -> tuple[BonusRow | None, list[RosterIssue]]:
    """Check the cells of one row on their own; a person twice is :func:`duplicate_issues`'.

    A row naming someone comes back even when its base is wrong (with the issue), for the
    cross-row checks; only rows without any issue may be imported."""
    issues: list[RosterIssue] = []

    def cell(column: str) -> Any:
        index = positions.get(column)
        return values[index] if index is not None and index < len(values) else None

    texts = {column: cell_text(cell(column)) for column in COLUMNS}
    for column in REQUIRED_COLUMNS:
        if texts[column] is None:
            issues.append(RosterIssue(number, column, "required", {}))
    for column, limit in MAX_LENGTHS.items():
        text = texts[column]
        if text is not None and len(text) > limit:
            issues.append(
                RosterIssue(number, column, "too_long", {"length": len(text), "max": limit})
            )
    base = None
    if texts["base"] is not None:
        base, problem = parse_base(cell("base"))
        if problem is not None:
            found = {"value": texts["base"], "max": str(MAX_BASE)}
            issues.append(RosterIssue(number, "base", problem, found))
    if texts["name"] is None or texts["department"] is None:
        return None, issues
    # A row whose base is wrong still takes part in the cross-row checks (a person twice), so
    # that one run shows every problem; its own issue blocks the import.
    return (
        BonusRow(
            row=number,
            name=normalise_name(texts["name"] or ""),
            department=normalise_name(texts["department"] or ""),
            base=Decimal(0) if base is None else base,
        ),
        issues,
    )


def duplicate_issues(rows: Sequence[BonusRow]) -> list[RosterIssue]:
    """A person has one base a year: a second row for them is a mistake, not an update."""
    issues = []
    seen: dict[tuple[str, str], int] = {}
    for row in rows:
        if row.person in seen:
            params = {"name": row.name, "department": row.department, "first_row": seen[row.person]}
            issues.append(RosterIssue(row.row, "name", "duplicate_person", params))
        else:
            seen[row.person] = row.row
    return issues
