"""The example town in a running bot: its roster, sign-up codes, and people signed up.

Tests speak of people by name (``await town.signup("李明")``); this keeps the name-to-user-id
bookkeeping in one place.
"""

from __future__ import annotations

import calendar
import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import select

from bot.emulator.simulator import Simulator, SimUser
from bot.sheets.roster import read_roster
from storage.engine import transaction
from storage.models import Cadre, Department, Period, PeriodKind, PeriodState, Unit, utcnow
from storage.queries.invites import issue_code
from storage.queries.results import create_tallies
from storage.queries.roster import import_roster


@dataclass
class Town:
    app: Any
    sim: Simulator
    users: dict[str, SimUser] = field(default_factory=dict)
    _next_user_id: int = 5000

    @property
    def services(self) -> Any:
        return self.app.services

    async def import_roster(self, path: Path) -> None:
        rows = read_roster(path)
        async with transaction(self.services.sessions) as session:
            await import_roster(
                session=session,
                unit_id=self.services.unit_id,
                rows=rows,
                actor="test",
                now=self.services.now(),
            )

    async def cadre(self, name: str) -> Cadre:
        async with self.services.sessions() as session:
            found = (
                await session.exec(
                    select(Cadre)
                    .where(Cadre.unit_id == self.services.unit_id)
                    .where(Cadre.name == name)
                )
            ).one()
        return found

    async def period(self, period_id: int) -> Period:
        """A period as the database has it now."""
        async with self.services.sessions() as session:
            found = await session.get(Period, period_id)
        assert found is not None
        return found

    async def code_for(self, name: str, *, ttl: timedelta = timedelta(days=14)) -> str:
        async with transaction(self.services.sessions) as session:
            cadre = (
                await session.exec(
                    select(Cadre)
                    .where(Cadre.unit_id == self.services.unit_id)
                    .where(Cadre.name == name)
                )
            ).one()
            code, _ = await issue_code(
                session=session, cadre=cadre, ttl=ttl, created_by="test", now=self.services.now()
            )
        return code

    def person(self, name: str, *, language_code: str | None = "zh-hans") -> SimUser:
        """The Telegram user of ``name`` (made on first use, not yet signed up)."""
        if name not in self.users:
            self._next_user_id += 1
            self.users[name] = self.sim.user(self._next_user_id, name, language_code=language_code)
        return self.users[name]

    async def signup(self, name: str) -> SimUser:
        """Sign ``name`` up through the deep link, as the person would."""
        user = self.person(name)
        await user.command("start", await self.code_for(name))
        return user

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

    async def signup_all(self) -> dict[str, SimUser]:
        async with self.services.sessions() as session:
            names = [
                c.name
                for c in (
                    await session.exec(select(Cadre).where(Cadre.unit_id == self.services.unit_id))
                ).all()
            ]
        for name in names:
            await self.signup(name)
        return dict(self.users)


OTHER_USER = 9_000_001


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
