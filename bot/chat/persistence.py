"""python-telegram-bot persistence in the project's database.

Conversation states and user/chat data are stored as JSON rows (no pickle file), so a bot
restarted in the middle of a self-score resumes at the same step, and the data can be read and
backed up with the rest of the database. Everything kept in ``user_data`` must be JSON-able.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram.ext import BasePersistence, PersistenceInput

from bot.core.clock import Clock
from storage.engine import SessionFactory, insert_for, transaction
from storage.models import PersistedConversation, PersistedData

ConversationKey = tuple[int | str, ...]
ConversationDict = dict[ConversationKey, object]
CDCData = Any


# One write of the persistence, run in the session it is given.
Write = Callable[[AsyncSession], Awaitable[None]]
# The writes of the batch under way in this task, if any (see DatabasePersistence.batch).
_BATCH: ContextVar[list[Write] | None] = ContextVar("persistence_batch", default=None)


def _key(key: ConversationKey) -> str:
    return json.dumps(list(key))


def _unkey(text: str) -> ConversationKey:
    return tuple(json.loads(text))


def _canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)


class DatabasePersistence(BasePersistence[dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """Store conversations and user/chat data in ``persisted_*`` tables.

    Bot and chat data are not stored: shared resources live on the Application, domain data in
    tables, and nothing is kept per chat. python-telegram-bot hands over a person's user data
    after every update whether it changed or not, so what was last stored is remembered and an
    unchanged value is not written again: most updates then cost no persistence write at all.
    """

    def __init__(self, sessions: SessionFactory, clock: Clock, update_interval: float = 60) -> None:
        super().__init__(
            store_data=PersistenceInput(
                bot_data=False, chat_data=False, user_data=True, callback_data=False
            ),
            update_interval=update_interval,
        )
        self._sessions = sessions
        self._clock = clock
        self._after_commit: list[Callable[[], None]] = []
        self._stored: dict[tuple[str, int], str] = {}

    async def _load(self, kind: str) -> dict[int, dict[Any, Any]]:
        async with self._sessions() as session:
            rows = (
                await session.exec(select(PersistedData).where(PersistedData.kind == kind))
            ).all()
        for row in rows:
            self._stored[(kind, int(row.key))] = _canonical(row.data or {})
        return {int(row.key): dict(row.data or {}) for row in rows}

    @asynccontextmanager
    async def batch(self, *first: Write) -> AsyncIterator[None]:
        """Collect the writes made inside (python-telegram-bot's ``update_persistence``) and
        commit them, after the writes in ``first``, in one transaction."""
        writes: list[Write] = list(first)
        token = _BATCH.set(writes)
        try:
            yield
        finally:
            _BATCH.reset(token)
        if writes:
            async with transaction(self._sessions) as session:
                for write in writes:
                    await write(session)
        for done in self._after_commit:
            done()
        self._after_commit.clear()

    async def _write(self, write: Write, done: Callable[[], None] | None = None) -> None:
        """Run ``write`` in its own transaction, or in the batch under way."""
        writes = _BATCH.get()
        if writes is not None:
            writes.append(write)
            if done is not None:
                self._after_commit.append(done)
            return
        async with transaction(self._sessions) as session:
            await write(session)
        if done is not None:
            done()

    async def _store(self, kind: str, key: int, data: dict[Any, Any]) -> None:
        canonical = _canonical(data)
        if self._stored.get((kind, key)) == canonical:
            return
        now = self._clock.now()

        async def write(session: AsyncSession) -> None:
            statement = insert_for(session, PersistedData).values(
                kind=kind, key=str(key), data=data, updated_at=now
            )
            await session.exec(
                statement.on_conflict_do_update(
                    index_elements=["kind", "key"],
                    set_={
                        "data": statement.excluded.data,
                        "updated_at": statement.excluded.updated_at,
                    },
                )
            )

        def done() -> None:
            self._stored[(kind, key)] = canonical

        await self._write(write, done)

    async def _drop(self, kind: str, key: int) -> None:
        self._stored.pop((kind, key), None)

        async def write(session: AsyncSession) -> None:
            await session.exec(
                delete(PersistedData)
                .where(col(PersistedData.kind) == kind)
                .where(col(PersistedData.key) == str(key))
            )

        await self._write(write)

    async def get_user_data(self) -> dict[int, dict[Any, Any]]:
        return await self._load("user")

    async def get_chat_data(self) -> dict[int, dict[Any, Any]]:
        return await self._load("chat")

    async def get_bot_data(self) -> dict[Any, Any]:
        return {}

    async def get_callback_data(self) -> CDCData | None:
        return None

    async def get_conversations(self, name: str) -> ConversationDict:
        async with self._sessions() as session:
            rows = (
                await session.exec(
                    select(PersistedConversation).where(PersistedConversation.name == name)
                )
            ).all()
        return {_unkey(row.key): row.state for row in rows}

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        async def write(session: AsyncSession) -> None:
            if new_state is None:
                await session.exec(
                    delete(PersistedConversation)
                    .where(col(PersistedConversation.name) == name)
                    .where(col(PersistedConversation.key) == _key(key))
                )
                return
            statement = insert_for(session, PersistedConversation).values(
                name=name, key=_key(key), state=new_state
            )
            await session.exec(
                statement.on_conflict_do_update(
                    index_elements=["name", "key"], set_={"state": statement.excluded.state}
                )
            )

        await self._write(write)

    async def update_user_data(self, user_id: int, data: dict[Any, Any]) -> None:
        await self._store("user", user_id, data)

    async def update_chat_data(self, chat_id: int, data: dict[Any, Any]) -> None:
        await self._store("chat", chat_id, data)

    async def update_bot_data(self, data: dict[Any, Any]) -> None:
        return None

    async def update_callback_data(self, data: CDCData) -> None:
        return None

    async def drop_chat_data(self, chat_id: int) -> None:
        await self._drop("chat", chat_id)

    async def drop_user_data(self, user_id: int) -> None:
        await self._drop("user", user_id)

    async def refresh_user_data(self, user_id: int, user_data: dict[Any, Any]) -> None:
        return None

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[Any, Any]) -> None:
        return None

    async def refresh_bot_data(self, bot_data: dict[Any, Any]) -> None:
        return None

    async def flush(self) -> None:
        return None
