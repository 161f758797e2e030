"""What handlers, jobs and the CLI need besides the update: settings, the database, the texts,
and the clock.

One object, built once by the composition root (:func:`bot.app.build_services`) and reached
through the typed context, rather than module globals: tests and the sandbox build their own with
a clock of their choosing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.clock import Clock, SystemClock
from bot.core.config import Settings
from bot.core.texts import Texts
from storage.engine import SessionFactory

__all__ = ["Services"]


@dataclass
class Services:
    """Shared resources of one running bot (or one CLI command)."""

    settings: Settings
    engine: AsyncEngine
    sessions: SessionFactory
    texts: Texts
    clock: Clock = field(default_factory=SystemClock)
    unit_id: int | None = None
    # The outcome each handled update ended with, read by the update processor's log line.
    outcomes: dict[int, str] = field(default_factory=dict)
    # Updates being handled whose id is claimed already (with their work, or as a duplicate).
    claims: set[int] = field(default_factory=set)
    # Told when the calendar changed in this process (a deadline extended in chat), so that the
    # scheduler re-plans at once rather than at its next look at the database.
    calendar_changed: Callable[[], None] | None = None
    # Queues, in the caller's transaction, the reminder of everyone still pending in a month
    # now, in the scheduler's words; returns how many were queued. Wired by the composition root
    # (the chat may not import the jobs): ``remind_pending(session=, period=, key=, actor=,
    # actor_cadre_id=, now=)``. None where no sender runs.
    remind_pending: Callable[..., Awaitable[int]] | None = None
    # Told when messages were queued outside the scheduler, so that the sender looks at once.
    outbox_changed: Callable[[], None] | None = None

    def poke_calendar(self) -> None:
        """Tell the scheduler (if one runs here) that the calendar changed."""
        if self.calendar_changed is not None:
            self.calendar_changed()

    def poke_outbox(self) -> None:
        """Tell the sender (if one runs here) that messages were queued."""
        if self.outbox_changed is not None:
            self.outbox_changed()

    def now(self) -> datetime:
        """The clock's time now (aware, UTC)."""
        return self.clock.now()

    @property
    def unit(self) -> int:
        """The id of the unit this bot serves (set at start-up)."""
        if self.unit_id is None:
            raise RuntimeError("the unit is not known before start-up")
        return self.unit_id
