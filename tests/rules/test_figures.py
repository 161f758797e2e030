"""Figures as typed on a phone: a unit after the figure, full-width digits, Chinese numerals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.rules.figures import FigureProblem, parse_figure, read_chinese_whole

SCORE = ("分",)  # what a score may be typed with


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("88", "88"),
        ("88分", "88"),
        ("88 分", "88"),
        ("８８分", "88"),  # full-width digits, as a Chinese keyboard types them
        ("８７．５", "87.5"),
        ("87。5分", "87.5"),
        ("九十", "90"),
        ("九十分", "90"),
        ("八十五", "85"),
        ("一百", "100"),
        ("十", "10"),
        ("十五", "15"),
        ("零", "0"),
        ("玖拾", "90"),  # the financial forms
        ("  七十  ", "70"),
    ],
)
def test_scores_as_people_type_them(typed: str, value: str) -> None:
    assert parse_figure(typed, units=SCORE).value == Decimal(value)


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("八五", FigureProblem.UNCLEAR_CHINESE),  # 85, or 8 and 5?
        ("九〇", FigureProblem.UNCLEAR_CHINESE),
        ("一百五", FigureProblem.UNCLEAR_CHINESE),  # 150 in speech, but not for sure
        ("八十七点五", FigureProblem.UNCLEAR_CHINESE),  # whole numbers only
        ("8十5", FigureProblem.UNCLEAR_CHINESE),
        ("九十九十", FigureProblem.UNCLEAR_CHINESE),
        ("百", FigureProblem.UNCLEAR_CHINESE),
        ("一百零一", FigureProblem.OUT_OF_RANGE),
        ("一般", FigureProblem.NOT_A_NUMBER),  # a word that starts like a numeral
        ("很好", FigureProblem.NOT_A_NUMBER),
        ("分", FigureProblem.NOT_A_NUMBER),
        ("88.5.5", FigureProblem.NOT_A_NUMBER),
        ("88户", FigureProblem.NOT_A_NUMBER),  # 分 only where it is asked for
        ("85.55分", FigureProblem.TOO_MANY_DECIMALS),
        ("101分", FigureProblem.OUT_OF_RANGE),
    ],
)
def test_what_is_refused_and_why(typed: str, problem: FigureProblem) -> None:
    assert parse_figure(typed, units=SCORE).problem is problem


def test_a_unit_is_accepted_only_where_the_caller_names_it() -> None:
    assert parse_figure("88分").problem is FigureProblem.NOT_A_NUMBER
    assert parse_figure("三十二", maximum=None).value == Decimal(32)  # an actual figure


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("一百零五", 105),
        ("一百一十", 110),
        ("一百一十五", 115),
        ("两百", 200),
        ("两千零三十", 2030),
        ("一千零五", 1005),
        ("九千九百九十九", 9999),
        ("一千五十", None),  # a place skipped without 零
        ("一百十五", None),
        ("零五", None),
        ("一百零", None),
        ("十零五", None),
        ("十百", None),
        ("", None),
    ],
)
def test_chinese_whole_numbers(typed: str, value: int | None) -> None:
    assert read_chinese_whole(typed) == value
