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
    "read_chinese_whole",
    "read_day",
    "visible",
]


class FigureProblem(StrEnum):
    """Why a typed figure was refused; templates say it in the person's language."""

    NOT_A_NUMBER = "not_a_number"
    TOO_MANY_DECIMALS = "too_many_decimals"
    OUT_OF_RANGE = "out_of_range"
    UNCLEAR_CHINESE = "unclear_chinese"  # Chinese numerals, but not one whole number for sure


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
    units: tuple[str, ...] = (),
) -> Figure:
    """Read a score or an actual figure as typed on a phone.

    Full-width digits and the ideographic full stop are accepted (Chinese keyboards type them),
    surrounding spaces are ignored, and so is one of ``units`` after the figure (``88分``,
    ``88 分`` with ``units=("分",)``). A whole number may be written in Chinese numerals
    (``九十``, ``八十五``, ``一百``: :func:`read_chinese_whole`); Chinese numerals that do not
    name one whole number for sure (``八五``, ``一百五``, ``八十七点五``) are refused as
    unclear rather than guessed. Anything else that is not a plain decimal number is refused, as
    is a figure with more than ``decimals`` decimals or outside ``minimum``-``maximum``.
    """
    if not text:
        return Figure(None, FigureProblem.NOT_A_NUMBER)
    cleaned = unicodedata.normalize("NFKC", text).strip().replace("。", ".")
    for unit in units:
        if unit and cleaned.endswith(unit):
            cleaned = cleaned.removesuffix(unit).rstrip()
            break
    match = _NUMBER.match(cleaned)
    if match is None:
        chars = set(cleaned)
        if not chars & _CHINESE_NUMERALS or not chars <= _CHINESE_NUMBER_TEXT:
            return Figure(None, FigureProblem.NOT_A_NUMBER)
        whole = read_chinese_whole(cleaned)
        if whole is None:
            return Figure(None, FigureProblem.UNCLEAR_CHINESE)
        value = Decimal(whole)
    else:
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


# Chinese numerals, everyday and financial (大写) forms; 两 is the 2 of 两百.
_CHINESE_DIGITS: dict[str, int] = {
    **dict.fromkeys("零〇○", 0),
    **dict.fromkeys("一壹", 1),
    **dict.fromkeys("二两兩贰貳", 2),
    **dict.fromkeys("三叁參", 3),
    **dict.fromkeys("四肆", 4),
    **dict.fromkeys("五伍", 5),
    **dict.fromkeys("六陆陸", 6),
    **dict.fromkeys("七柒", 7),
    **dict.fromkeys("八捌", 8),
    **dict.fromkeys("九玖", 9),
}
_CHINESE_UNITS: dict[str, int] = {
    **dict.fromkeys("十拾", 10),
    **dict.fromkeys("百佰", 100),
    **dict.fromkeys("千仟", 1000),
}
_CHINESE_NUMERALS = frozenset([*_CHINESE_DIGITS, *_CHINESE_UNITS])
# What else a message of Chinese numerals may hold and still be meant as a number (then it is
# unclear rather than "not a number"): 点 and 万, Arabic digits and the decimal point mixed in.
_CHINESE_NUMBER_TEXT = _CHINESE_NUMERALS | frozenset("点万.0123456789")


def read_chinese_whole(text: str) -> int | None:
    """A whole number below 10000 written in Chinese numerals as a form writes it, or None.

    ``十`` 10, ``十五`` 15, ``九十`` 90, ``八十五`` 85, ``一百`` 100, ``一百零五`` 105,
    ``一百一十`` 110, ``两千零三十`` 2030, ``零`` 0. Anything that could be read two ways, or
    only by guessing, is None: digits side by side (``八五``: 85, or 8 and 5?), the spoken
    shortening ``一百五`` (150, but 105 to some), places out of order or skipped without 零,
    decimals (``八十七点五``) and Arabic digits mixed in.
    """
    if not text:
        return None
    if len(text) == 1 and _CHINESE_DIGITS.get(text) == 0:
        return 0
    total = 0
    digit: int | None = None  # the digit waiting for its place
    place = 10_000  # the last place written; each next one must be lower
    zero = False  # a 零 after the last place: the next skips at least one place
    for index, char in enumerate(text):
        if char in _CHINESE_DIGITS:
            value = _CHINESE_DIGITS[char]
            if value == 0:
                if digit is not None or zero or index == 0 or place == 10_000:
                    return None
                zero = True
                continue
            if digit is not None:
                return None  # 八五
            digit = value
            continue
        unit = _CHINESE_UNITS.get(char)
        if unit is None or unit >= place:
            return None  # not a numeral, or places out of order (十百, 百百)
        if digit is None:
            if index != 0 or unit != 10:
                return None  # a place without its digit, but for a leading 十 (十五)
            digit = 1
        if place != 10_000 and (unit * 100 > place if zero else unit * 10 != place):
            return None  # a place skipped without 零 (一千五十), or 零 with none skipped
        total += digit * unit
        place, digit, zero = unit, None, False
    if digit is None:
        return None if zero else total  # ends in 零
    if place == 10_000 or (place == 10 and not zero) or (zero and place >= 100):
        return total + digit  # 五, 八十五, 一百零五
    return None  # 一百五: 150 in speech, but not for sure


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


def visible(text: str) -> bool:
    """Whether ``text`` shows anything: not only spaces and invisible marks (zero-width spaces
    and joiners, direction marks, the byte-order mark), which a written reason may not be."""
    return any(
        not char.isspace() and unicodedata.category(char) not in ("Cf", "Zs", "Zl", "Zp", "Cc")
        for char in text
    )


def parse_text(text: str, *, limit: int) -> str:
    """A note or a reason: something visible, at most ``limit`` characters."""
    value = text.strip()
    if not visible(value):
        raise InputError("empty")
    if len(value) > limit:
        raise InputError("too_long", limit=limit, length=len(value))
    return value


MAX_AMOUNT = Decimal("9999999.99")
