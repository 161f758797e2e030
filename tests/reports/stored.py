"""A year of stored results for the report tests: the months' results written as a closed month
would leave them, everything after done by the product (the engine scores the quarters, which
are published)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bot.appraisal import periods as appraisal
from bot.core.clock import ManualClock
from bot.core.scheme_file import default_scheme
from storage.engine import transaction
from storage.models import PeriodKind, PeriodState, Result
from storage.queries import periods as periods_q

CENT = Decimal("0.01")
TENTH = Decimal("0.1")


def month_score(index: int, month: int) -> Decimal:
    """A score for the index-th cadre in a month: spread between 78 and 95."""
    return Decimal(78 + (index * 7 + month * 3) % 18) + Decimal(month % 3) / 10


def office(index: int, month: int) -> Decimal:
    return Decimal(100 - (2 if (index + month) % 5 == 0 else 0))


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def tenth(value: Decimal) -> Decimal:
    return value.quantize(TENTH, rounding=ROUND_HALF_UP)


async def store_the_year(town: Any, clock: ManualClock) -> dict[str, int]:
    """Months closed with stored results; quarters scored by the engine and published."""
    services = town.services
    scheme = default_scheme()
    people = [c for c, _ in await town.roster() if "cadre" in c.roles]
    index = {c.name: i for i, c in enumerate(people)}
    async with transaction(services.sessions) as session:
        await appraisal.create_year(
            session=session, unit_id=services.unit, year=2026, scheme=scheme, now=clock.now()
        )
        version, _ = await appraisal.ensure_scheme_in_force(
            session=session, unit_id=services.unit, scheme_file=None
        )
        periods = await periods_q.list_periods(session=session, unit_id=services.unit, year=2026)
        for period in periods:
            period.scheme = dict(version.content)
            period.scheme_version_id = version.id
            if period.kind == PeriodKind.MONTH:
                period.state = PeriodState.CLOSED.value
                period.closed_at = clock.now()
                for cadre in people:
                    session.add(
                        Result(
                            unit_id=services.unit,
                            period_id=period.id,
                            cadre_id=cadre.id,
                            score=month_score(index[cadre.name], period.number),
                            office_rules=office(index[cadre.name], period.number),
                            grade="good",
                            breakdown={"kind": "month", "ballot": False},
                            inputs={},
                        )
                    )
            else:
                period.state = PeriodState.OPEN.value
            session.add(period)
    async with transaction(services.sessions) as session:
        for number in range(1, 5):
            quarter = await periods_q.get_period(
                session=session,
                unit_id=services.unit,
                kind=PeriodKind.QUARTER,
                year=2026,
                number=number,
            )
            assert quarter is not None
            closed = await appraisal.close_period(session=session, period=quarter, now=clock.now())
            assert closed.changed
            published = await appraisal.publish_quarter(
                session=session, period=quarter, now=clock.now()
            )
            assert published.changed
    return index
