"""The bonus base as a clerk writes it (bot.rules.bonus.parse_base): what is an amount, what is
refused and why."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from bot.rules.bonus import parse_base


@pytest.mark.parametrize(
    ("cell", "base"),
    [
        (10000, "10000.00"),
        (12000.5, "12000.50"),
        (13200.000000000002, "13200.00"),  # a formula's float noise is the cent it stands for
        ("10,000.00", "10000.00"),
        ("1,234,567.8", "1234567.80"),
        ("￥10000", "10000.00"),
        ("¥ 10,000", "10000.00"),
        ("10000元", "10000.00"),
        ("１００００", "10000.00"),  # full-width digits
        ("0", "0.00"),  # no bonus this year
        ("-0", "0.00"),
    ],
)
def test_a_base_reads_as_clerks_write_amounts(cell: Any, base: str) -> None:
    assert parse_base(cell) == (Decimal(base), None)


@pytest.mark.parametrize(
    ("cell", "code"),
    [
        ("1.2万", "not_an_amount"),
        ("10.000,00", "not_an_amount"),  # the European way: refused, never read as 10
        ("10,00", "not_an_amount"),
        ("一万", "not_an_amount"),
        (True, "not_an_amount"),
        (-5, "negative"),
        ("-100", "negative"),
        ("￥-100", "negative"),
        ("100.555", "too_many_decimals"),
        (0.125, "too_many_decimals"),
        ("10000000", "too_large"),
    ],
)
def test_a_base_that_is_not_an_amount_is_refused(cell: Any, code: str) -> None:
    assert parse_base(cell) == (None, code)
