"""A throwaway PostgreSQL database per benchmark run, so runs never see each other's rows."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text

from storage.engine import create_engine

SERVER_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


async def _server_sql(server_url: str, statement: str) -> None:
    engine = create_engine(server_url)
    try:
        async with engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@asynccontextmanager
async def throwaway_database(server_url: str, prefix: str) -> AsyncIterator[str]:
    """Create ``<prefix>_<pid>`` on the server, yield its URL, and drop it afterwards."""
    name = f"{prefix}_{os.getpid()}"
    await _server_sql(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await _server_sql(server_url, f'CREATE DATABASE "{name}"')
    try:
        yield server_url.rsplit("/", 1)[0] + "/" + name
    finally:
        await _server_sql(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
