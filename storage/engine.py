"""The async engine and its sessions.

SQLite is the zero-set-up default; PostgreSQL is chosen by ``DATABASE_URL``. Plain SQLAlchemy URLs
(``sqlite:///kaohe.db``, ``postgresql://user@host/db``) are accepted and given an async driver, so
the office clerk never has to know what aiosqlite or asyncpg is.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool
from sqlmodel.ext.asyncio.session import AsyncSession

SQLITE_BUSY_TIMEOUT_MS = 30_000

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+pysqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+psycopg2": "postgresql+asyncpg",
    "postgresql+psycopg": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


class UnusableDatabaseUrl(ValueError):
    """A ``DATABASE_URL`` kaohe cannot use: ``kind`` is ``not_database_url`` or
    ``unsupported_database`` (then ``driver`` names what was asked for)."""

    def __init__(self, kind: str, message: str, driver: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.driver = driver


def normalise_database_url(url: str) -> str:
    """Return ``url`` with the async driver this project uses; raise UnusableDatabaseUrl."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise UnusableDatabaseUrl(
            "not_database_url",
            "not a database URL; use e.g. sqlite:///data/kaohe.db or postgresql://user@host/db",
        ) from exc
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    if driver is None:
        raise UnusableDatabaseUrl(
            "unsupported_database",
            f"unsupported database {parsed.drivername!r}; use sqlite:/// or postgresql://",
            driver=parsed.drivername,
        )
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def default_sqlite_url(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{(data_dir / 'kaohe.db').as_posix()}"


def is_sqlite(url: str | URL) -> bool:
    return make_url(str(url)).get_backend_name() == "sqlite"


def sqlite_path(url: str | URL) -> Path | None:
    """The database file of an SQLite URL, or None for PostgreSQL and in-memory databases."""
    parsed = make_url(str(url))
    if (
        parsed.get_backend_name() != "sqlite"
        or not parsed.database
        or parsed.database == ":memory:"
    ):
        return None
    return Path(parsed.database)


def safe_url(url: str | URL) -> str:
    """The URL with its password hidden, for logs and ``kaohe check``."""
    return make_url(str(url)).render_as_string(hide_password=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers go on while one writer writes; the busy timeout makes a second writer wait
    # instead of failing with "database is locked"; SQLite leaves foreign keys off unless asked.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Deleted rows (a voter's ballot drafts) are overwritten, not left readable in free pages.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()
    # pysqlite's own transaction handling would defer BEGIN until the first write, which lets
    # two writers deadlock on lock upgrade; emit BEGIN ourselves (see _sqlite_begin).
    dbapi_connection.isolation_level = None


def _sqlite_begin(conn: Any) -> None:
    # BEGIN IMMEDIATE takes the write lock at the start of each transaction, so concurrent
    # writers queue on the busy timeout instead of failing half-way with SQLITE_BUSY.
    # An AUTOCOMMIT connection (a checkpoint, which must run outside any transaction) gets none.
    if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        return
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """Create the async engine for ``url``, making the SQLite file's folder if needed."""
    url = normalise_database_url(url)
    if is_sqlite(url):
        path = sqlite_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        # One connection per process: SQLite has one writer at a time anyway, and queueing the
        # bot's transactions in the pool (an asyncio wait) is far cheaper than letting them
        # collide on the file lock, where SQLite's busy handler polls with sleeps. Other
        # processes (the CLI while the bot runs) still wait on the busy timeout.
        engine = create_async_engine(
            url,
            echo=echo,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            poolclass=AsyncAdaptedQueuePool,
            pool_size=1,
            max_overflow=0,
            pool_timeout=SQLITE_BUSY_TIMEOUT_MS / 1000,
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    return create_async_engine(url, echo=echo, pool_pre_ping=True)


async def forget_old_row_versions(engine: AsyncEngine, tables: tuple[str, ...]) -> None:
    """Drop the old versions of rows the database may still keep after an update or delete.

    The secret ballot rewrites tally rows and deletes drafts; until SQLite checkpoints its
    write-ahead log (or PostgreSQL vacuums), earlier page images could tell which counts a given
    commit changed. SQLite: checkpoint and truncate the log; PostgreSQL: vacuum the tables.
    """
    async with engine.connect() as connection:
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        if connection.dialect.name == "sqlite":
            await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            return
        for table in tables:
            await connection.exec_driver_sql(f'VACUUM "{table}"')


SessionFactory = async_sessionmaker[AsyncSession]


def make_session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def transaction(factory: SessionFactory) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit on success, roll back on error."""
    async with factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


def insert_for(session: AsyncSession, model: Any) -> Any:
    """``INSERT`` into ``model`` for the backend in use, with its ``ON CONFLICT`` clauses.

    Both backends spell upserts the same way (``on_conflict_do_nothing`` / ``_do_update``), but
    SQLAlchemy keeps them in each dialect's own ``insert``.
    """
    if session.get_bind().dialect.name == "postgresql":
        return postgresql_insert(model)
    return sqlite_insert(model)
