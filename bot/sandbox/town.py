"""A town in a running bot: its roster and targets imported, its people signed up as simulated
Telegram users, its leadership group bound.

Everything goes through the paths the office uses: the roster and the targets through the
readers and import queries of ``kaohe roster import`` and ``kaohe targets import``, sign-up codes
through ``issue_code`` (``kaohe invite``), sign-up through the deep link ``/start CODE`` typed by
the person, the leadership group through ``/bind_leadership`` sent there by an office member.
The sandbox, the demo and the tests speak of people by name (``await town.signup("李明")``);
this keeps the name-to-user-id bookkeeping in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from bot.appraisal.periods import create_year
from bot.core.scheme_file import default_scheme, read_scheme
from bot.emulator.simulator import SimGroup, Simulator, SimUser
from bot.rules.roles import Role
from bot.rules.scheme import Scheme
from bot.sheets.roster import read_roster
from bot.sheets.targets import read_targets
from storage.engine import transaction
from storage.models import Cadre, Department, Period
from storage.queries.invites import issue_code
from storage.queries.roster import ImportReport, import_roster, list_cadres
from storage.queries.targets import import_targets

__all__ = ["FIRST_USER_ID", "LEADERSHIP_GROUP_ID", "Town"]

#: Telegram user ids of the town's people are handed out from here, in the order they appear.
FIRST_USER_ID = 5001
#: The leadership group's chat id (a group's id is negative).
LEADERSHIP_GROUP_ID = -100_500_000_001


@dataclass
class Town:
    """The people of one unit in a running Application ``app``, acting through ``sim``."""

    app: Any
    sim: Simulator
    users: dict[str, SimUser] = field(default_factory=dict)
    actor: str = "sandbox"
    language_code: str | None = "zh-hans"
    group: SimGroup | None = None
    _next_user_id: int = FIRST_USER_ID - 1

    @property
    def services(self) -> Any:
        return self.app.services

    # -- the office's files ------------------------------------------------------------------

    async def import_roster(self, path: Path) -> ImportReport:
        """Import the roster sheet as ``kaohe roster import`` does (all rows or none: raises
        ``RosterFileError``/``RosterImportError`` with every problem)."""
        rows = read_roster(path)
        async with transaction(self.services.sessions) as session:
            return await import_roster(
                session=session,
                unit_id=self.services.unit_id,
                rows=rows,
                actor=self.actor,
                now=self.services.now(),
            )

    async def import_targets(self, path: Path, *, year: int, scheme_file: Path | None) -> Any:
        """Import the annual targets as ``kaohe targets import`` does (raises
        ``TargetFileError``/``TargetImportError``, or ``SchemeError`` for the scheme)."""
        rows = read_targets(path)
        scheme, _, _ = read_scheme(scheme_file)
        async with transaction(self.services.sessions) as session:
            return await import_targets(
                session=session,
                unit_id=self.services.unit_id,
                year=year,
                rows=rows,
                scheme=scheme,
                actor=self.actor,
                now=self.services.now(),
            )

    async def create_years(self, *years: int, scheme: Scheme | None = None) -> None:
        """Put ``years``' periods on the calendar with ``scheme`` (default: the example) as
        ``kaohe periods create`` does, in one transaction; the scheduler opens them from there."""
        async with transaction(self.services.sessions) as session:
            for year in years:
                await create_year(
                    session=session,
                    unit_id=self.services.unit_id,
                    year=year,
                    scheme=scheme or default_scheme(),
                    now=self.services.now(),
                    actor=self.actor,
                )

    # -- the roster as it stands -------------------------------------------------------------

    async def cadre(self, name: str) -> Cadre:
        async with self.services.sessions() as session:
            found: Cadre = (
                await session.exec(
                    select(Cadre)
                    .where(Cadre.unit_id == self.services.unit_id)
                    .where(Cadre.name == name)
                )
            ).one()
        return found

    async def roster(self) -> list[tuple[Cadre, str]]:
        """Everyone active on the roster in roster order, with their department's name."""
        async with self.services.sessions() as session:
            people = await list_cadres(session=session, unit_id=self.services.unit)
            departments = {
                d.id: d.name
                for d in (
                    await session.exec(
                        select(Department).where(col(Department.unit_id) == self.services.unit)
                    )
                ).all()
            }
        return [(c, departments.get(c.department_id, "")) for c in people]

    async def period(self, period_id: int) -> Period:
        """A period as the database has it now."""
        async with self.services.sessions() as session:
            found: Period | None = await session.get(Period, period_id)
        assert found is not None
        return found

    # -- people ------------------------------------------------------------------------------

    async def code_for(self, name: str, *, ttl: timedelta = timedelta(days=14)) -> str:
        """A fresh one-time sign-up code for ``name`` (what ``kaohe invite NAME`` prints)."""
        async with transaction(self.services.sessions) as session:
            cadre = (
                await session.exec(
                    select(Cadre)
                    .where(Cadre.unit_id == self.services.unit_id)
                    .where(Cadre.name == name)
                )
            ).one()
            code, _ = await issue_code(
                session=session,
                cadre=cadre,
                ttl=ttl,
                created_by=self.actor,
                now=self.services.now(),
            )
        return code

    def person(self, name: str, *, language_code: str | None = None) -> SimUser:
        """The Telegram user of ``name`` (made on first use, not yet signed up)."""
        if name not in self.users:
            self._next_user_id += 1
            self.users[name] = self.sim.user(
                self._next_user_id, name, language_code=language_code or self.language_code
            )
        return self.users[name]

    async def signup(self, name: str) -> SimUser:
        """Sign ``name`` up through the deep link, as the person would."""
        user = self.person(name)
        await user.command("start", await self.code_for(name))
        return user

    async def signup_all(self) -> dict[str, SimUser]:
        """Sign up everyone active on the roster, in the order they were imported."""
        async with self.services.sessions() as session:
            names = [
                c.name
                for c in (
                    await session.exec(
                        select(Cadre)
                        .where(Cadre.unit_id == self.services.unit_id)
                        .where(col(Cadre.active).is_(True))
                        .order_by(col(Cadre.id))
                    )
                ).all()
            ]
        for name in names:
            await self.signup(name)
        return dict(self.users)

    async def bind_leadership(self, title: str, *, chat_id: int = LEADERSHIP_GROUP_ID) -> SimGroup:
        """Make the leadership group (the leaders and the office in it) and have the first office
        member send ``/bind_leadership`` there. Returns the group (bound only if the roster has
        a signed-up office member)."""
        group = self.sim.group(chat_id, title)
        clerk: SimUser | None = None
        for cadre, _ in await self.roster():
            roles = cadre.role_set
            if Role.LEADER not in roles and Role.OFFICE not in roles:
                continue
            user = self.person(cadre.name)
            if Role.OFFICE in roles and clerk is None:
                clerk = user
                group.set_status(user, "administrator")
            else:
                group.set_status(user, "member")
        if clerk is not None:
            await group.command(clerk, "bind_leadership")
        self.group = group
        return group

    def member_of(self, user_id: int) -> str | None:
        """The name of the person whose Telegram user id this is."""
        for name, user in self.users.items():
            if user.id == user_id:
                return name
        return None
