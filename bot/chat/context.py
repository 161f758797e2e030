"""The typed context every handler receives.

Shared resources (settings, database sessions, the text renderer) hang off the Application
subclass rather than module globals or ``bot_data`` (which is persisted), and each update's
caller (the roster entry of whoever sent it) is resolved once and carried on the context.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.ext import Application, CallbackContext, ExtBot

from bot.core.config import Settings
from bot.core.texts import Texts
from storage.engine import SessionFactory
from storage.models import Cadre, Role
from storage.queries.periods import as_utc


@dataclass
class Services:
    """What handlers and jobs need besides the update."""

    settings: Settings
    engine: AsyncEngine
    sessions: SessionFactory
    texts: Texts
    unit_id: int | None = None
    # The outcome each handled update ended with, read by the update processor's log line.
    outcomes: dict[int, str] = field(default_factory=dict)


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

    def set_outcome(self, update_id: int, outcome: str) -> None:
        self.services.outcomes[update_id] = outcome
