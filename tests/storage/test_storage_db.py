"""The storage layer on both backends: migrations match the models, SQLite runs in WAL mode,
the bot's persistence round-trips."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel, select

import storage.models  # noqa: F401
from bot.chat.persistence import DatabasePersistence
from bot.core.clock import SystemClock
from storage import migrate
from storage.models import PersistedData


async def test_migrations_match_models(engine: AsyncEngine) -> None:
    def diff(connection):  # type: ignore[no-untyped-def]  # Alembic's run_sync callback
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, SQLModel.metadata)

    async with engine.connect() as connection:
        assert await connection.run_sync(diff) == []
    assert await migrate.current(engine) == migrate.head_revision()


async def test_sqlite_pragmas(engine: AsyncEngine, backend: str) -> None:
    if backend != "sqlite":
        return
    async with engine.connect() as connection:
        assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar() == 1
        assert (await connection.execute(text("PRAGMA busy_timeout"))).scalar() == 30000


async def test_persistence_round_trip(sessions: Any) -> None:
    """Conversation states and user data are upserted, survive a new instance, and END drops."""
    first = DatabasePersistence(sessions, SystemClock())
    await first.update_conversation("selfscore", (7, 7), "score")
    await first.update_conversation("selfscore", (7, 7), "note")  # the same row, changed
    await first.update_conversation("selfscore", (8, 8), "score")
    await first.update_conversation("selfscore", (8, 8), None)  # ended: the row goes
    await first.update_conversation("selfscore", (9, 9), None)  # never stored: nothing to drop
    await first.update_user_data(7, {"selfscore": {"step": "note"}, "asked": ["selfscore"]})
    await first.update_user_data(7, {"selfscore": {"step": "evidence"}})
    await first.update_user_data(8, {"lang": "en"})
    await first.drop_user_data(8)

    again = DatabasePersistence(sessions, SystemClock())
    assert await again.get_conversations("selfscore") == {(7, 7): "note"}
    assert await again.get_user_data() == {7: {"selfscore": {"step": "evidence"}}}
    async with sessions() as session:
        [row] = (await session.exec(select(PersistedData))).all()
    stamped = row.updated_at
    await again.update_user_data(7, {"selfscore": {"step": "evidence"}})  # unchanged: no write
    async with sessions() as session:
        [row] = (await session.exec(select(PersistedData))).all()
    assert row.updated_at == stamped
