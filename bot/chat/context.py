"""The typed context every handler receives.

Shared resources (settings, database sessions, the text renderer) hang off the Application
subclass rather than module globals or ``bot_data`` (which is persisted), and each update's
caller (the roster entry of whoever sent it) is resolved once and carried on the context.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.core.services import Services
from bot.core.texts import Texts
from bot.rules.roles import Role
from storage.models import Cadre
from storage.queries.periods import as_utc


class KaoheApplication(Application):  # type: ignore[type-arg]
    """The python-telegram-bot Application, carrying :class:`Services`."""

    def __init__(self, *, services: Services, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.services = services


class KaoheContext(CallbackContext[ExtBot, dict, dict, dict]):  # type: ignore[type-arg]
    """CallbackContext with the caller's roster entry and language."""

    def __init__(
        self, application: Application, chat_id: int | None = None, user_id: int | None = None
    ):  # type: ignore[type-arg]
        super().__init__(application, chat_id=chat_id, user_id=user_id)
        self.cadre: Cadre | None = None
        self.lang: str = application.services.settings.default_language  # type: ignore[attr-defined]

    @property
    def services(self) -> Services:
        return self.application.services  # type: ignore[attr-defined, no-any-return]

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
        aware = as_utc(moment)
        assert aware is not None
        return aware.astimezone(self.services.settings.zone)

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

    def set_outcome(self, update_id: int, outcome: str) -> None:
        self.services.outcomes[update_id] = outcome
