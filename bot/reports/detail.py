"""One cadre's month, item by item, for the leadership's review (逐人逐条).

The figures are the month's stored result (its breakdown: each source, each item's score as the
engine counted it); the notes and evidence are the answers themselves (rating lines). Only
submitted ratings count and are shown: a draft never submitted is not a source. The democratic
evaluation shows its score only (:func:`bot.rules.secrecy.public_democratic`).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.rules.scheme import Scheme
from bot.rules.secrecy import public_democratic
from bot.rules.stored import as_decimal, as_dict, as_list
from storage.models import Period, RatingLine, Result
from storage.queries import periods as periods_q
from storage.queries import results as results_q
from storage.queries import reviews as reviews_q
from storage.queries.schemes import scheme_of

__all__ = ["ItemDetail", "MonthDetail", "SourceDetail", "month_detail"]


@dataclass(frozen=True)
class ItemDetail:
    """One item of a self-score or head's rating as the engine scored it, with its notes."""

    key: str
    title: str
    score: Decimal | None  # the item's 0-100 score as counted
    quantified: bool
    notes: tuple[str, ...]
    evidence: tuple[int, ...]  # rating line ids whose evidence can be sent


@dataclass(frozen=True)
class SourceDetail:
    """One source of the month (head, self) with its items; ``total`` None when missing."""

    source: str
    total: Decimal | None
    items: tuple[ItemDetail, ...]


@dataclass(frozen=True)
class MonthDetail:
    """A cadre's month: its score, the three sources and the office rules."""

    period: Period
    score: Decimal | None
    grade: str | None
    flags: tuple[str, ...]
    sources: tuple[SourceDetail, ...]
    democratic: Decimal | None
    democratic_note: str  # score | too_few | none
    office_rules: Decimal | None


def _items(
    breakdown: dict[str, Any],
    lines: dict[int, RatingLine],
    scheme: Scheme,
    category: str,
    lang: str,
) -> tuple[ItemDetail, ...]:
    titles = {}
    with contextlib.suppress(KeyError):
        titles = {item.key: item.title(lang) for item in scheme.items_for(category)}
    found = []
    for item in map(as_dict, as_list(breakdown.get("items"))):
        key = str(item.get("key", ""))
        line_ids = [item.get("line_id")] + [
            t.get("line_id") for t in map(as_dict, as_list(item.get("targets")))
        ]
        own = [lines[i] for i in line_ids if isinstance(i, int) and i in lines]
        found.append(
            ItemDetail(
                key=key,
                title=titles.get(key, key),
                score=as_decimal(item.get("score")),
                quantified=item.get("method") == "quantified",
                notes=tuple(line.note for line in own if line.note),
                evidence=tuple(line.id for line in own if line.evidence_file_id and line.id),
            )
        )
    return tuple(found)


async def month_detail(
    *, session: AsyncSession, quarter: Period, cadre_id: int, month: int, lang: str
) -> MonthDetail | None:
    """Month ``month`` (1-12) of ``quarter`` for one cadre, or None if it has no result."""
    months = await periods_q.months_of(session=session, period=quarter)
    period = next((m for m in months if m.number == month), None)
    if period is None or period.id is None:
        return None
    result: Result | None = await reviews_q.result_of(
        session=session, period_id=period.id, cadre_id=cadre_id
    )
    if result is None:
        return None
    breakdown = as_dict(result.breakdown)
    ratings = {
        source: as_dict(breakdown.get(source))
        for source in ("head", "self")
        if breakdown.get(source)
    }
    rating_ids = [b["rating_id"] for b in ratings.values() if isinstance(b.get("rating_id"), int)]
    by_rating = await results_q.rating_lines(session=session, rating_ids=rating_ids)
    lines = {line.id: line for found in by_rating.values() for line in found if line.id}
    scheme = scheme_of(period)
    category = str(as_dict(result.inputs).get("category") or breakdown.get("category") or "")
    monthly_lines = {
        as_dict(line).get("source"): as_dict(line)
        for line in as_list(as_dict(breakdown.get("monthly")).get("lines"))
    }
    sources = tuple(
        SourceDetail(
            source=source,
            total=as_decimal(monthly_lines.get(source, {}).get("value")),
            items=_items(ratings.get(source, {}), lines, scheme, category, lang)
            if monthly_lines.get(source, {}).get("value") is not None
            else (),
        )
        for source in ("head", "self")
    )
    democratic = public_democratic(as_dict(breakdown.get("democratic")) or None)
    score = None if democratic is None else as_decimal(democratic.get("score"))
    note = "none" if not breakdown.get("ballot") else ("score" if score is not None else "too_few")
    return MonthDetail(
        period=period,
        score=result.score,
        grade=result.grade,
        flags=tuple(f for f in as_list(result.flags) if isinstance(f, str)),
        sources=sources,
        democratic=score,
        democratic_note=note,
        office_rules=result.office_rules,
    )
