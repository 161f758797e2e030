"""The month under way: which period is open, with which frozen scheme, for whom.

The conversations (self-score, rating, ballot, office records) all start by asking these
questions; answering them in one place keeps "a closed period is closed" true everywhere.
No Telegram imports: the CLI and the scheduler ask the same questions.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.rules.scheme import Item, Scheme
from storage.models import Cadre, Period, PeriodKind, PeriodState, Role, Target, utcnow


async def open_month(*, session: AsyncSession, unit_id: int) -> Period | None:
    """The month whose window is open now (at most one is open at a time), or None."""
    return (
        await session.exec(
            select(Period)
            .where(Period.unit_id == unit_id)
            .where(Period.kind == PeriodKind.MONTH.value)
            .where(Period.state == PeriodState.OPEN.value)
            .order_by(col(Period.opens_at).desc())
        )
    ).first()


async def open_period(
    *, session: AsyncSession, period_id: int, unit_id: int, now: datetime | None = None
) -> Period | None:
    """The period ``period_id`` if it belongs to the unit and is open now; else None.

    Every button press carries a period id; this is the server-side check that the period is
    still open, whatever the button says.
    """
    period = await session.get(Period, period_id)
    if period is None or period.unit_id != unit_id or period.state != PeriodState.OPEN.value:
        return None
    closes = (
        period.closes_at
        if period.closes_at.tzinfo
        else period.closes_at.replace(tzinfo=utcnow().tzinfo)
    )
    if (now or utcnow()) >= closes:
        return None
    return period


def scheme_of(period: Period) -> Scheme:
    """The scheme frozen into ``period`` when it opened."""
    if period.scheme is None:
        raise ValueError(f"period {period.id} has no frozen scheme (it never opened)")
    # Keep the stored key order: it is the scheme file's order of items and violations.
    return _scheme_from_text(json.dumps(period.scheme, ensure_ascii=False))


@lru_cache(maxsize=32)
def _scheme_from_text(text: str) -> Scheme:
    return Scheme.from_json(text)


def category_of(cadre: Cadre, scheme: Scheme) -> str:
    return scheme.category_for(has_village=bool(cadre.village))


def items_of(cadre: Cadre, scheme: Scheme) -> tuple[Item, ...]:
    """The items that apply to ``cadre`` (village work only for village-stationed cadres)."""
    return scheme.items_for(category_of(cadre, scheme))


def is_assessed(cadre: Cadre) -> bool:
    return cadre.active and cadre.has(Role.CADRE)


async def assessed_cadres(*, session: AsyncSession, unit_id: int) -> list[Cadre]:
    """Everyone assessed in the unit: active people with the cadre role, by id."""
    people = (
        await session.exec(
            select(Cadre).where(Cadre.unit_id == unit_id).where(col(Cadre.active).is_(True))
        )
    ).all()
    return [c for c in people if is_assessed(c)]


async def targets_of(*, session: AsyncSession, cadre_id: int, year: int) -> list[Target]:
    """The cadre's targets for the year, by item then code."""
    return list(
        (
            await session.exec(
                select(Target)
                .where(Target.cadre_id == cadre_id)
                .where(Target.year == year)
                .order_by(Target.item_key, Target.code)
            )
        ).all()
    )
