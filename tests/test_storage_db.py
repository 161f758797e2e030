"""The storage layer on both backends: migrations match the models, SQLite runs in WAL mode."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

import storage.models  # noqa: F401
from storage import migrate


async def test_migrations_match_models(engine: AsyncEngine) -> None:
    def diff(connection):  # type: ignore[no-untyped-def]
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
