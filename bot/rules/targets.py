"""The rules of the annual targets (目标管理考核细则): what a row may hold, and how the rows of one
cadre fit the scheme.

Pure: the office's sheet is read by :mod:`bot.sheets.targets`; this module turns its cells into
:class:`TargetRow` values, and :func:`resolve_targets` checks them against the scheme once the
caller knows each person's category (village-stationed or not, from the roster). The rules:

* a target belongs to one scheme item of the cadre's category, named by its key or its title;
* the points of one cadre's targets under one item add up to 100;
* under a ``quantified`` item every target has a target figure and a unit, and every quantified
  item of the category has targets (else the item could not be scored);
* a code identifies a target within a cadre's year (re-imports update targets by code).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from bot.rules.numbers import plain
from bot.rules.roster import (
    RosterError,
    RosterIssue,
    SheetLayout,
    cell_text,
    header_key,
    normalise_name,
)
from bot.rules.scheme import Item, Scheme

#: The canonical column keys, in the order the writer puts them.
COLUMNS: Final[tuple[str, ...]] = (
    "name",
    "department",
    "item",
    "code",
    "title",
    "target",
    "unit",
    "points",
)


REQUIRED_COLUMNS: Final[tuple[str, ...]] = ("name", "department", "item", "code", "title", "points")

#: Optional columns: a month's own target figure (m1 = January), when the year is not paced
#: evenly (a harvest season, a campaign month). A month left empty takes the annual ÷ 12.
MONTH_COLUMNS: Final[tuple[str, ...]] = tuple(f"m{n}" for n in range(1, 13))
_MONTHS_EN: Final = (
    "jan",
    "feb",
    "mar",
    "apr",
    "may",
    "jun",
    "jul",
    "aug",
    "sep",
    "oct",
    "nov",
    "dec",
)
_MONTHS_ZH: Final = "一二三四五六七八九十"


#: Longest value each text column may hold (the widths of the ``target`` table's columns).
MAX_LENGTHS: Final[dict[str, int]] = {
    "name": 50,
    "department": 100,
    "item": 120,
    "code": 16,
    "title": 200,
    "unit": 20,
}


HUNDRED: Final = Decimal(100)


_HEADER_ALIASES: Final[dict[str, tuple[str, ...]]] = {
    "name": ("姓名", "名字", "干部姓名", "人员姓名", "name", "full name"),
    "department": ("部门", "所在部门", "科室", "department", "dept"),
    "item": ("项目", "考核项目", "考核内容", "item", "assessment item"),
    "code": ("编号", "指标编号", "代码", "code", "target code", "id"),
    "title": ("指标", "考核指标", "指标名称", "目标任务", "title", "indicator", "target title"),
    "target": ("目标值", "目标数", "目标数值", "target", "target value", "goal"),
    "unit": ("单位", "计量单位", "unit", "measure", "unit of measure"),
    "points": ("分值", "分数", "points", "score points"),
    **{
        f"m{n}": (
            f"{n}月",
            f"{n}月目标",
            (_MONTHS_ZH[n - 1] if n <= 10 else "十" + _MONTHS_ZH[n - 11]) + "月",
            _MONTHS_EN[n - 1],
            f"m{n}",
        )
        for n in range(1, 13)
    },
}


# Columns clerks commonly add that carry nothing the bot needs (序号 yes; 编号 is the code here).
_IGNORED_HEADERS: Final[tuple[str, ...]] = (
    "序号",
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


TARGETS_LAYOUT: Final = SheetLayout(
    COLUMNS + MONTH_COLUMNS, REQUIRED_COLUMNS, _HEADER_ALIASES, _IGNORED_HEADERS
)


class TargetFileError(RosterError):
    """The targets file, or a row in it, is wrong; nothing from it may be imported."""


@dataclass(frozen=True, slots=True)
class TargetRow:
    """One target of one cadre, as the sheet gives it (the item still as typed).

    ``row`` is the spreadsheet row number, so that problems found later (by the scheme or the
    database) still point at the line to fix.
    """

    row: int
    name: str
    department: str
    item: str
    code: str
    title: str
    points: Decimal
    target: Decimal | None = None
    unit: str | None = None
    monthly: tuple[Decimal | None, ...] | None = None  # each month's own figure, January first

    @property
    def person(self) -> tuple[str, str]:
        """Who the target is for: department and name, as the roster identifies people."""
        return (self.department, self.name)


@dataclass(frozen=True, slots=True)
class ResolvedTarget:
    """A target row whose item was found among the items of the cadre's category."""

    source: TargetRow
    category: str
    item_key: str
    quantified: bool


def _number(text: str) -> Decimal | None:
    """A figure as the clerk typed it (``1,200``, ``96.5``); None when it is not a number."""
    cleaned = text.replace(",", "").replace("，", "").replace(" ", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def parse_target_row(
    number: int, values: Sequence[Any], positions: dict[str, int]
) -> tuple[TargetRow | None, list[RosterIssue]]:
    """Check the cells of one row on their own; cross-row rules come later."""
    issues: list[RosterIssue] = []

    def text(column: str) -> str | None:
        index = positions.get(column)
        return cell_text(values[index]) if index is not None and index < len(values) else None

    texts = {column: text(column) for column in COLUMNS + MONTH_COLUMNS}
    for column in REQUIRED_COLUMNS:
        if texts[column] is None:
            issues.append(RosterIssue(number, column, "required", {}))
    for column, limit in MAX_LENGTHS.items():
        value = texts[column]
        if value is not None and len(value) > limit:
            params = {"length": len(value), "max": limit}
            issues.append(RosterIssue(number, column, "too_long", params))

    figures: dict[str, Decimal | None] = {}
    for column in ("target", "points"):
        raw = texts[column]
        figures[column] = None
        if raw is None:
            continue
        figure = _number(raw)
        if figure is None:
            issues.append(RosterIssue(number, column, "not_a_number", {"value": raw}))
        elif figure <= 0:
            issues.append(RosterIssue(number, column, "not_positive", {"value": raw}))
        elif column == "points" and figure > HUNDRED:
            issues.append(RosterIssue(number, column, "points_range", {"value": raw}))
        else:
            figures[column] = figure

    monthly: list[Decimal | None] = []
    for column in MONTH_COLUMNS:
        raw = texts[column]
        figure = None if raw is None else _number(raw)
        if raw is not None and (figure is None or figure < 0):
            issues.append(RosterIssue(number, column, "not_a_number", {"value": raw}))
        monthly.append(figure)
    points = figures["points"]
    if issues or points is None:
        return None, issues
    return (
        TargetRow(
            row=number,
            name=normalise_name(texts["name"] or ""),
            department=normalise_name(texts["department"] or ""),
            item=texts["item"] or "",
            code=(texts["code"] or "").replace(" ", ""),
            title=texts["title"] or "",
            points=points,
            target=figures["target"],
            unit=texts["unit"],
            monthly=tuple(monthly) if any(m is not None for m in monthly) else None,
        ),
        issues,
    )


def code_issues(rows: Sequence[TargetRow]) -> list[RosterIssue]:
    """A code names one target of a cadre's year: re-imports update targets by it."""
    issues = []
    seen: dict[tuple[tuple[str, str], str], int] = {}
    for row in rows:
        key = (row.person, row.code.casefold())
        if key in seen:
            params = {"code": row.code, "name": row.name, "first_row": seen[key]}
            issues.append(RosterIssue(row.row, "code", "duplicate_code", params))
        else:
            seen[key] = row.row
    return issues


def item_matches(item: Item, text: str) -> bool:
    """Whether a cell names an item: by its key or its Chinese or English title."""
    wanted = header_key(text)
    return wanted in {header_key(item.key), header_key(item.title_zh), header_key(item.title_en)}


def resolve_targets(
    rows: Sequence[TargetRow], categories: Mapping[tuple[str, str], str], scheme: Scheme
) -> tuple[list[ResolvedTarget], list[RosterIssue]]:
    """Find each row's item among its cadre's category and check the per-item rules.

    ``categories`` maps each person (department, name) to ``ordinary`` or ``village``; rows of
    people not in it are skipped (the caller has reported them). Return the resolved targets and
    every issue; the targets are only usable when there is no issue.
    """
    resolved: list[ResolvedTarget] = []
    issues: list[RosterIssue] = []
    for row in rows:
        category = categories.get(row.person)
        if category is None:
            continue
        items = scheme.items_for(category)
        item = next((i for i in items if item_matches(i, row.item)), None)
        if item is None:
            params: dict[str, Any] = {
                "value": row.item,
                "category": category,
                "choices_zh": [i.title_zh for i in items],
                "choices_en": [i.title_en for i in items],
                "keys": [i.key for i in items],
            }
            issues.append(RosterIssue(row.row, "item", "unknown_item", params))
            continue
        if item.quantified:
            if row.target is None:
                params = {"item_zh": item.title_zh, "item_en": item.title_en}
                issues.append(RosterIssue(row.row, "target", "quantified_needs_target", params))
            if row.unit is None:
                params = {"item_zh": item.title_zh, "item_en": item.title_en}
                issues.append(RosterIssue(row.row, "unit", "quantified_needs_unit", params))
        resolved.append(ResolvedTarget(row, category, item.key, item.quantified))

    groups: dict[tuple[tuple[str, str], str], list[ResolvedTarget]] = {}
    for target in resolved:
        groups.setdefault((target.source.person, target.item_key), []).append(target)
    for (person, item_key), members in groups.items():
        total = sum((t.source.points for t in members), Decimal(0))
        if total != HUNDRED:
            item = scheme.item(members[0].category, item_key)
            params = {
                "name": person[1],
                "item_zh": item.title_zh,
                "item_en": item.title_en,
                "total": plain(total),
                "rows": [t.source.row for t in members],
            }
            issues.append(RosterIssue(members[0].source.row, "points", "points_sum", params))

    first_rows: dict[tuple[str, str], int] = {}
    for row in rows:
        if row.person in categories:
            first_rows.setdefault(row.person, row.row)
    for person, first_row in first_rows.items():
        category = categories[person]
        for item in scheme.items_for(category):
            if item.quantified and (person, item.key) not in groups:
                params = {"name": person[1], "item_zh": item.title_zh, "item_en": item.title_en}
                issues.append(RosterIssue(first_row, "item", "missing_quantified_item", params))
    return resolved, TARGETS_LAYOUT.sorted_issues(issues)
