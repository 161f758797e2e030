"""The typed context every handler receives.

Shared resources (settings, database sessions, the text renderer) hang off the Application
subclass rather than module globals or ``bot_data`` (which is persisted), and each update's
caller (the roster entry of whoever sent it) is resolved once and carried on the context.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update
from telegram.ext import Application, CallbackContext, ExtBot

from bot.appraisal.month import MonthStatus
from bot.core.clock import aware_utc
from bot.core.services import Services
from bot.core.texts import Texts
from bot.rules.roles import Role
from storage.engine import transaction
from storage.models import Cadre, Period
from storage.queries.updates import claim_update


class KaoheApplication(Application[Any, Any, Any, Any, Any, Any]):
    """The python-telegram-bot Application, carrying :class:`Services`."""

    def __init__(self, *, services: Services, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.services = services
        # Started by post_init (bot.app): the calendar and the sender of what it says.
        self.scheduler: Any = None
        self.sender: Any = None


class AlreadyHandled(Exception):
    """Another delivery of the same update claimed it first; this one writes nothing."""


AnyApplication = Application[Any, Any, Any, Any, Any, Any]


class KaoheContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """CallbackContext with the caller's roster entry and language."""

    def __init__(
        self, application: AnyApplication, chat_id: int | None = None, user_id: int | None = None
    ) -> None:
        super().__init__(application, chat_id=chat_id, user_id=user_id)
        self.cadre: Cadre | None = None
        self.update_id: int | None = None
        self.lang: str = application.services.settings.default_language  # type: ignore[attr-defined]  # the Application is a KaoheApplication

    @classmethod
    def from_update(cls, update: object, application: AnyApplication) -> KaoheContext:
        """The context of one update; it knows the update's id, to claim it with the work."""
        context = super().from_update(update, application)
        if isinstance(update, Update):
            context.update_id = update.update_id
        return context

    @property
    def services(self) -> Services:
        services: Services = self.application.services  # type: ignore[attr-defined]  # the Application is a KaoheApplication
        return services

    @property
    def texts(self) -> Texts:
        return self.services.texts

    def has_role(self, role: Role) -> bool:
        return self.cadre is not None and self.cadre.has(role)

    def render(self, template: str, /, **values: Any) -> str:
        """Render a template in the caller's language."""
        return self.services.texts.render(self.lang, template, **values)

    def label(self, key: str, /, **params: Any) -> str:
        return self.services.texts.label(self.lang, key, **params)

    def local(self, moment: datetime) -> datetime:
        """A stored moment in the unit's time zone (a naive one is UTC, as SQLite hands back)."""
        return aware_utc(moment).astimezone(self.services.settings.zone)

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """One transaction of this update's work, which also claims the update (the first one).

        The claim and the work commit together: a crash between them is impossible, so a
        redelivered update is either handled (nothing was written) or dropped (it all was).
        A claim lost to a concurrent delivery of the same update raises :class:`AlreadyHandled`
        and writes nothing.
        """
        update_id = self.update_id
        async with transaction(self.services.sessions) as session:
            if update_id is not None and update_id not in self.services.claims:
                claimed = await claim_update(
                    session=session, bot_id=self.bot.id, update_id=update_id, now=self.now()
                )
                if not claimed:
                    raise AlreadyHandled(update_id)
                self.services.claims.add(update_id)
            yield session

    def now(self) -> datetime:
        """The bot's clock: every "now" of a handler comes from here."""
        return self.services.clock.now()

    def today(self) -> date:
        """Today's date in the unit's time zone, by the bot's clock."""
        return self.now().astimezone(self.services.settings.zone).date()

    @property
    def unit_id(self) -> int:
        """The unit this bot serves: every query is scoped to it."""
        return self.services.unit

    def month_words(self, status: MonthStatus) -> dict[str, Any]:
        """What ``templates/<lang>/_month.j2`` says of a month status, in the town's time."""
        last, upcoming = status.last, status.upcoming
        return {
            "last": None
            if last is None
            else {"year": last.year, "number": last.number, "closes": self._ended(last)},
            "upcoming": None
            if upcoming is None
            else {
                "year": upcoming.year,
                "number": upcoming.number,
                "opens": self.local(upcoming.opens_at),
            },
        }

    def _ended(self, period: Period) -> datetime | None:
        """When a month stopped taking answers (local): its close, or its deadline once past."""
        if period.closed_at is not None and aware_utc(period.closed_at) < aware_utc(
            period.closes_at
        ):
            return self.local(period.closed_at)
        if aware_utc(period.closes_at) <= self.now():
            return self.local(period.closes_at)
        return None

    def set_outcome(self, update_id: int, outcome: str) -> None:
        self.services.outcomes[update_id] = outcome
