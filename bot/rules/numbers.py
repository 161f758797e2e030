"""How figures are written: one decimal for scores, no trailing zeros for rules and amounts.

One definition each, so that a score reads the same in the chat, the CLI, a sheet and a report.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

__all__ = ["DASH", "exact", "figure", "money", "one_decimal", "plain"]

#: What stands for a figure that does not exist (a source left out, an item not scored yet).
DASH = "—"


def one_decimal(value: Any) -> str:
    """A score as shown everywhere: one decimal (``85.0``); a dash when there is none.

    Text is passed through unchanged (a template may hand in "—" or a word).
    """
    if value is None:
        return DASH
    if isinstance(value, str):
        return value
    return f"{Decimal(str(value)):.1f}" if isinstance(value, float) else f"{value:.1f}"


def plain(value: Decimal | int | None) -> str:
    """A rule's figure as the clerk wrote it, without trailing zeros (``2``, ``0.15``)."""
    if value is None:
        return ""
    return format(Decimal(value).normalize(), "f")


def exact(value: Any) -> Any:
    """A decimal as its exact text for JSON and the audit log; anything else unchanged."""
    return str(value) if isinstance(value, Decimal) else value


def figure(value: Decimal | int | None) -> str:
    """A counted figure (a target, an actual) as a person reads it: at most two decimals, no
    trailing zeros (``10``, ``3.33``); a dash when there is none."""
    if value is None:
        return DASH
    return plain(Decimal(value).quantize(Decimal("0.01")))


def money(value: Decimal | int | None) -> str:
    """An amount of money as a bonus sheet writes it: to the cent, thousands separated
    (``9,441.50``); a dash when there is none."""
    if value is None:
        return DASH
    return f"{Decimal(value).quantize(Decimal('0.01')):,.2f}"
