"""The example town in a running bot, for tests: the sandbox's :class:`bot.sandbox.town.Town`
(roster, sign-up codes, people signed up) plus what only tests do (a month opened around the
present, a second unit in the same database).
"""

from __future__ import annotations

import calendar
import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlmodel import SQLModel

from bot.sandbox.town import Town as SandboxTown
from storage.engine import transaction
from storage.models import Cadre, Department, Period, PeriodKind, PeriodState, Unit, utcnow
from storage.queries.invites import issue_code
from storage.queries.results import create_tallies


@dataclass
class Town(SandboxTown):
    actor: str = "test"
    _next_user_id: int = 5000

    async def open_month(self, year: int, month: int, *, scheme: Any = None) -> Period:
        """Open the appraisal window of ``month`` now, with ``scheme`` (default: the example).

        The window is placed around the present so that the period is open whatever today is;
        ballot tallies are created at zero for every assessed cadre by the function opening
        uses (``storage.queries.results.create_tallies``).
        """
        from bot.core.scheme_file import default_scheme
        from bot.rules.scoring import GRADE_ORDER
        from storage.queries.roster import assessed_cadres

        scheme = scheme or default_scheme()
        now = self.services.now()
        async with transaction(self.services.sessions) as session:
            period = Period(
                unit_id=self.services.unit_id,
                kind=PeriodKind.MONTH.value,
                year=year,
                number=month,
                starts_on=date(year, month, 1),
                ends_on=date(year, month, calendar.monthrange(year, month)[1]),
                opens_at=now - timedelta(days=1),
                closes_at=now + timedelta(days=9),
                state=PeriodState.OPEN.value,
                scheme=json.loads(scheme.to_json()),
                opened_at=now,
            )
            session.add(period)
            await session.flush()
            if scheme.democratic_in_month(month):
                cadres = await assessed_cadres(session=session, unit_id=period.unit_id)
                await create_tallies(
                    session=session,
                    period_id=period.id,
                    ratee_ids=[c.id for c in cadres],
                    grades=[g.value for g in GRADE_ORDER],
                )
        return period


OTHER_USER = 9_000_001

#: Tables whose rows may change on any update: conversation state, update claims, the sign-up
#: throttle. Nothing in them is the appraisal's data.
VOLATILE = frozenset(
    {"persisted_conversation", "persisted_data", "processed_update", "signup_failure"}
)


async def fingerprint(
    town: Any, *, ignore: frozenset[str] = VOLATILE
) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but ``ignore``'s, of every unit: what "nothing changed" compares.

    Read raw (the driver's values, no column types applied): the fuzzer takes it twice a
    hostile step."""
    tables = [t.name for t in SQLModel.metadata.sorted_tables if t.name not in ignore]
    rows: dict[str, list[tuple[Any, ...]]] = {}
    async with town.services.engine.connect() as connection:
        for table in tables:
            result = await connection.exec_driver_sql(f'SELECT * FROM "{table}"')
            rows[table] = sorted(tuple(map(str, r)) for r in result.all())
    return rows


async def other_unit(town: Any, *, bound: bool) -> tuple[Cadre, str]:
    """A second town in the same database (a county deployment) with one person, and a sign-up
    code of that town for them."""
    async with transaction(town.services.sessions) as session:
        unit = Unit(name="外镇", timezone="Asia/Shanghai")
        session.add(unit)
        await session.flush()
        department = Department(unit_id=unit.id, name="外镇党政办")
        session.add(department)
        await session.flush()
        stranger = Cadre(
            unit_id=unit.id,
            department_id=department.id,
            name="外镇人",
            roles="cadre,office",
            telegram_user_id=OTHER_USER if bound else None,
        )
        session.add(stranger)
        await session.flush()
        code, _ = await issue_code(
            session=session, cadre=stranger, ttl=timedelta(days=1), created_by="test", now=utcnow()
        )
    return stranger, code


async def foreign_month(town: Any, unit_id: int, like: Period) -> Period:
    """The month ``like``, open, in the unit ``unit_id``: its id is a forged press's best guess."""
    async with transaction(town.services.sessions) as session:
        row = Period(
            unit_id=unit_id,
            kind=like.kind,
            year=like.year,
            number=like.number,
            starts_on=like.starts_on,
            ends_on=like.ends_on,
            opens_at=like.opens_at,
            closes_at=like.closes_at,
            state=like.state,
            scheme=like.scheme,
        )
        session.add(row)
        await session.flush()
        assert row.id is not None
    return row
