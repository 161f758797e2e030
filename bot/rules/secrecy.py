"""What may be shown of the secret democratic evaluation (民主测评), everywhere.

Nobody sees a tally: no display, export, sheet or log may show how many ballots gave a cadre each
grade, which grades were dropped as highest and lowest, or the points behind the average, since
any of them (with a few ballots in, or a ballot compared before and after) tells how a person
voted. Only the democratic score is shown, and only when the scheme's minimum of ballots was
reached; otherwise "too few ballots". Results keep the full breakdown in the database, so that
recompute can prove every figure; every display goes through :func:`public_breakdown` and
:func:`public_inputs` first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["public_breakdown", "public_democratic", "public_inputs"]


def public_democratic(democratic: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A democratic score as it may be shown: the score, or that there were too few ballots."""
    if democratic is None:
        return None
    score = democratic.get("score")
    return {"score": score, "too_few_ballots": score is None}


def public_breakdown(breakdown: Mapping[str, Any]) -> dict[str, Any]:
    """A result's breakdown without anything that could count the ballots."""
    shown = dict(breakdown)
    if "democratic" in shown:
        shown["democratic"] = public_democratic(shown["democratic"])
    return shown


def public_inputs(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """A result's inputs without the tally (the rows it was read from stay in the database)."""
    return {key: value for key, value in inputs.items() if key != "tally"}
