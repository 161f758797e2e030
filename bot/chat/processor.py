"""Concurrent updates, each person's in order.

Near a deadline many people answer at once, so updates from different people run concurrently;
a ConversationHandler needs one person's updates strictly in order (python-telegram-bot warns
that plain ``concurrent_updates`` breaks conversations), so each person gets a lock. After each
update the persistence is written through, so a crash loses no conversation step, and one log
line records who did what and how it ended.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.chat.persistence import DatabasePersistence
from storage.engine import transaction
from storage.queries.updates import claim_update

if TYPE_CHECKING:
    from bot.chat.context import KaoheApplication

log = logging.getLogger("kaohe.updates")


def ordering_key(update: object) -> int | None:
    """The person (or, failing that, the chat) whose updates must stay in order."""
    if isinstance(update, Update):
        if update.effective_user is not None:
            return update.effective_user.id
        if update.effective_chat is not None:
            return update.effective_chat.id
    return None


def describe(update: object) -> str:
    """A short, secret-free description of what the update asks: a command, a button, a kind."""
    if not isinstance(update, Update):
        return type(update).__name__
    if update.callback_query is not None:
        data = update.callback_query.data or ""
        return f"button {data.split(':', 2)[0]}:{data.split(':', 2)[1] if ':' in data else ''}"
    message = update.effective_message
    if message is not None:
        if message.text and message.text.startswith("/"):
            return message.text.split()[0].split("@")[0]
        if message.text:
            return "text"
        for kind in ("photo", "document", "sticker", "voice", "video"):
            if getattr(message, kind, None):
                return kind
        return "message"
    return "update"


class PerUserUpdateProcessor(BaseUpdateProcessor):
    """Run different people's updates concurrently and one person's in arrival order."""

    def __init__(self, max_concurrent_updates: int = 64) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}
        self.application: KaoheApplication | None = None

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = ordering_key(update)
        started = time.perf_counter()
        if key is None:
            await coroutine
            await self._after(update, started)
        else:
            lock = self._locks.setdefault(key, asyncio.Lock())
            self._waiting[key] = self._waiting.get(key, 0) + 1
            try:
                async with lock:
                    await coroutine
                    await self._after(update, started)
            finally:
                self._waiting[key] -= 1
                if self._waiting[key] == 0:
                    del self._waiting[key]
                    del self._locks[key]

    async def _after(self, update: object, started: float) -> None:
        app = self.application
        if app is None:
            return
        claim = self._claim_unclaimed(app, update) if isinstance(update, Update) else None
        persistence = app.persistence
        if isinstance(persistence, DatabasePersistence):
            # The claim of an update that wrote nothing and this update's conversation state
            # and user data: one transaction.
            async with persistence.batch(*([claim] if claim else [])):
                await app.update_persistence()
        else:
            if claim is not None:
                async with transaction(app.services.sessions) as session:
                    await claim(session)
            if persistence is not None:
                await app.update_persistence()
        if isinstance(update, Update):
            outcome = app.services.outcomes.pop(update.update_id, "ok")
            user = update.effective_user.id if update.effective_user else "-"
            log.info(
                "update=%s user=%s %s -> %s (%.0f ms)",
                update.update_id,
                user,
                describe(update),
                outcome,
                (time.perf_counter() - started) * 1000,
            )

    def _claim_unclaimed(
        self, app: KaoheApplication, update: Update
    ) -> Callable[[AsyncSession], Awaitable[None]] | None:
        """The claim of an update whose handling wrote nothing (a view, a refusal), so that a
        redelivery is dropped; None for one that was claimed with its work (or a duplicate)."""
        services = app.services
        if update.update_id in services.claims:
            services.claims.discard(update.update_id)
            return None
        now, bot_id, update_id = services.now(), app.bot.id, update.update_id

        async def claim(session: AsyncSession) -> None:
            await claim_update(session=session, bot_id=bot_id, update_id=update_id, now=now)

        return claim

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None
