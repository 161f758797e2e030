"""Figures typed on a phone: scores, actual figures, dates, amounts of money and short texts.

People type on Chinese keyboards (full-width digits, 。 for the decimal point, 分 and 元 after a
number) and in a hurry; every reader here accepts what a person would reasonably type and refuses
the rest with a code that a template words (``problem`` / :class:`InputError.key`). Pure: no
clock (``today`` is passed in), no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

__all__ = [
    "MAX_ACTUAL",
    "Figure",
    "FigureProblem",
    "InputError",
    "parse_amount",
    "parse_day",
    "parse_figure",
    "parse_text",
    "read_day",
]


class FigureProblem(StrEnum):
    """Why a typed figure was refused; templates say it in the person's language."""

    NOT_A_NUMBER = "not_a_number"
    TOO_MANY_DECIMALS = "too_many_decimals"
    OUT_OF_RANGE = "out_of_range"


@dataclass(frozen=True)
class Figure:
    """A typed number: its value, or the problem with it."""

    value: Decimal | None
    problem: FigureProblem | None = None


_NUMBER = re.compile(r"^[+-]?(\d+)(?:\.(\d+))?$")


MAX_ACTUAL = Decimal(1_000_000_000)


def parse_figure(
    text: str | None,
    *,
    minimum: Decimal = Decimal(0),
    maximum: Decimal | None = Decimal(100),
    decimals: int = 1,
) -> Figure:
    """Read a score or an actual figure as typed on a phone.

    Full-width digits and the ideographic full stop are accepted (Chinese keyboards type them),
    surrounding spaces are ignored; anything else that is not a plain decimal number is refused,
    as is a figure with more than ``decimals`` decimals or outside ``minimum``-``maximum``.
    """
    if not text:
        return Figure(None, FigureProblem.NOT_A_NUMBER)
    cleaned = unicodedata.normalize("NFKC", text).strip().replace("。", ".")
    match = _NUMBER.match(cleaned)
    if match is None:
        return Figure(None, FigureProblem.NOT_A_NUMBER)
    try:
        value = Decimal(cleaned)
    except InvalidOperation:  # pragma: no cover - the pattern admits only plain numbers
        return Figure(None, FigureProblem.NOT_A_NUMBER)
    if match.group(2) is not None and len(match.group(2).rstrip("0")) > decimals:
        return Figure(None, FigureProblem.TOO_MANY_DECIMALS)
    upper = MAX_ACTUAL if maximum is None else maximum
    if not minimum <= value <= upper:
        return Figure(None, FigureProblem.OUT_OF_RANGE)
    return Figure(_canonical(value))


def _canonical(value: Decimal) -> Decimal:
    """``85.0`` -> ``85``, ``87.50`` -> ``87.5``, ``-0`` -> ``0``: one spelling per figure."""
    if value == value.to_integral_value():
        return abs(value.quantize(Decimal(1))) if value.is_zero() else value.quantize(Decimal(1))
    return value.normalize()


class InputError(ValueError):
    """A typed answer that cannot be used: ``key`` names the explanation in the templates."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


_FULL_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


_SHORT_DATE = re.compile(r"^(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?$")


_DAY_ONLY = re.compile(r"^(\d{1,2})\s*[日号]?$")


# Words for a day counted back from today, as people type them (either language).
_DAYS_AGO = {"今天": 0, "今日": 0, "today": 0, "昨天": 1, "昨日": 1, "yesterday": 1, "前天": 2}


_AMOUNT = re.compile(r"^[+-]?\d+(\.\d+)?$")


def _normal(text: str) -> str:
    """Full-width digits and signs (a Chinese keyboard's) as ASCII, outer spaces removed."""
    return unicodedata.normalize("NFKC", text).strip()


def parse_day(text: str, *, first: date, last: date, today: date) -> date:
    """Read a date typed as ``11-03``, ``2026-11-03``, ``11月3日``, ``3号``, ``昨天`` ...; check
    it is allowed.

    A date without a year takes the year that puts it between ``first`` and ``last`` (a window
    that runs into January); a day alone takes the window's month. Raise :class:`InputError` when
    it is not a date, not a real day, in the future, or outside ``first``..``last``.
    """
    value = _normal(text)
    full = _FULL_DATE.match(value)
    short = _SHORT_DATE.match(value)
    day_only = _DAY_ONLY.match(value)
    ago = _DAYS_AGO.get(value.casefold())
    if ago is not None:
        day = today - timedelta(days=ago)
        candidates = [(day.year, day.month, day.day)]
    elif full:
        candidates = [(int(full[1]), int(full[2]), int(full[3]))]
    elif short:
        years = sorted({first.year, last.year})
        candidates = [(year, int(short[1]), int(short[2])) for year in years]
    elif day_only:
        months = sorted({(first.year, first.month), (last.year, last.month)})
        candidates = [(year, month, int(day_only[1])) for year, month in months]
    else:
        raise InputError("not_a_date")
    days = []
    for y, m, d in candidates:
        try:
            days.append(date(y, m, d))
        except ValueError:
            continue
    if not days:
        raise InputError("no_such_date")
    allowed = [d for d in days if first <= d <= last and d <= today]
    if allowed:
        return max(allowed)  # "3号" late in a window that runs into January: the latest 3rd
    chosen = next((d for d in days if first <= d <= last), days[0])
    if chosen > today:
        raise InputError("future", day=chosen)
    if not first <= chosen <= last:
        raise InputError("out_of_range", day=chosen)
    return chosen


def read_day(text: str, *, today: date) -> date:
    """Read a day in the past or the future (a new deadline, a leave's first and last day):
    ``12-10``, ``2026-12-10``, ``12月10日``, ``10号`` (this month), ``今天``. A date without a
    year is the one nearest to ``today`` (in December, ``1-5`` is next January). Raise
    :class:`InputError` when it is not a date or not a real day."""
    value = _normal(text)
    full = _FULL_DATE.match(value)
    short = _SHORT_DATE.match(value)
    day_only = _DAY_ONLY.match(value)
    ago = _DAYS_AGO.get(value.casefold())
    if ago is not None:
        return today - timedelta(days=ago)
    if full:
        candidates = [(int(full[1]), int(full[2]), int(full[3]))]
    elif short:
        candidates = [
            (y, int(short[1]), int(short[2])) for y in (today.year - 1, today.year, today.year + 1)
        ]
    elif day_only:
        candidates = [(today.year, today.month, int(day_only[1]))]
    else:
        raise InputError("not_a_date")
    days = []
    for y, m, d in candidates:
        try:
            days.append(date(y, m, d))
        except ValueError:
            continue
    if not days:
        raise InputError("no_such_date")
    return min(days, key=lambda d: abs((d - today).days))


def parse_amount(text: str) -> Decimal:
    """Read yuan (``200``, ``1,500.50``, ``¥80``, ``80元``): more than 0, two decimals at most."""
    value = _normal(text).removesuffix("元").strip().lstrip("¥").strip().replace(",", "")
    if not _AMOUNT.match(value):
        raise InputError("not_a_number")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise InputError("not_a_number") from None
    if amount <= 0:
        raise InputError("not_positive")
    if amount != amount.quantize(Decimal("0.01")):
        raise InputError("too_many_decimals")
    if amount > MAX_AMOUNT:
        raise InputError("too_large", limit=MAX_AMOUNT)
    return amount.quantize(Decimal("0.01"))


def parse_text(text: str, *, limit: int) -> str:
    """A note or a reason: not empty, at most ``limit`` characters."""
    value = text.strip()
    if not value:
        raise InputError("empty")
    if len(value) > limit:
        raise InputError("too_long", limit=limit, length=len(value))
    return value


MAX_AMOUNT = Decimal("9999999.99")
