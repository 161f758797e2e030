"""Reading a stored breakdown back: JSON written by the scoring engine, read tolerantly.

A result's breakdown is JSON (``Result.breakdown``) written by :mod:`bot.rules.scoring`'s
``as_dict()``: figures are exact decimal text. Displays read parts of it that older results may
lack (a breakdown stored before a field existed), so a missing or odd part reads as nothing
rather than failing the message; the figures come back as the exact decimals they were.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["as_decimal", "as_dict", "as_list"]


def as_decimal(value: Any) -> Decimal | None:
    """A stored figure as the exact decimal it was written as; None for none (or a float or a
    bool, which the engine never writes)."""
    if value is None or isinstance(value, bool | float):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def as_dict(value: Any) -> dict[str, Any]:
    """A stored object, or an empty one."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """A stored list, or an empty one."""
    return value if isinstance(value, list) else []
