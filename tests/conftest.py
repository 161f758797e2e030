"""Shared fixtures: a real database on each backend, and the real Application on a fake Telegram.

Storage and end-to-end tests take the ``database_url`` fixture, which runs them once on SQLite
and once on the local PostgreSQL server (127.0.0.1:5432, database ``test``) when it is reachable;
the header of the run says which backends ran. With ``KAOHE_REQUIRE_POSTGRES=1`` (CI sets it) an
unreachable server fails the run instead of skipping those tests.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.config import Settings
from storage import migrate
from storage.engine import create_engine, make_session_factory

# The server's ``test`` database is only the door: each pytest run creates its own database
# there (and drops it at the end), so two runs on one machine never see each other's rows.
SERVER_URL = os.environ.get(
    "KAOHE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
RUN_DATABASE = f"kaohe_test_{os.getpid()}"
POSTGRES_URL = SERVER_URL.rsplit("/", 1)[0] + "/" + RUN_DATABASE
TEST_TOKEN = "123456789:TESTTOKENTESTTOKENTESTTOKENTESTTOKE"


async def _postgres_reachable() -> str | None:
    engine = create_engine(SERVER_URL)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("select 1"))
        return None
    except Exception as exc:  # any failure means "not reachable", with its reason
        return f"{type(exc).__name__}: {exc}"
    finally:
        await engine.dispose()


_PG_PROBLEM: str | None = asyncio.run(_postgres_reachable())


def pytest_report_header(config: pytest.Config) -> list[str]:
    if _PG_PROBLEM is None:
        return [
            f"database backends: sqlite, postgresql ({SERVER_URL}, run database {RUN_DATABASE})"
        ]
    return [
        "database backends: sqlite only -- PostgreSQL at "
        + SERVER_URL
        + " is NOT reachable, its tests are skipped: "
        + _PG_PROBLEM
    ]


async def _server_sql(statement: str) -> None:
    engine = create_engine(SERVER_URL)
    try:
        async with engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def _create_run_database() -> None:
    """Create this run's database from nothing and migrate it to head."""
    await _server_sql(f'DROP DATABASE IF EXISTS "{RUN_DATABASE}" WITH (FORCE)')
    await _server_sql(f'CREATE DATABASE "{RUN_DATABASE}"')
    engine = create_engine(POSTGRES_URL)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()


async def _truncate_postgres(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        tables = (
            await connection.execute(
                text(
                    "select tablename from pg_tables where schemaname='public' "
                    "and tablename <> 'alembic_version'"
                )
            )
        ).scalars()
        names = ", ".join(f'"{t}"' for t in tables)
        if names:
            await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


def _in_thread(make: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a coroutine to completion from sync code, even inside a running event loop."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(lambda: asyncio.run(make())).result()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file migrated to head once; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "kaohe.db"

    async def build() -> None:
        engine = create_engine(f"sqlite:///{path}")
        try:
            await migrate.upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(build())
    return path


@pytest.fixture(scope="session")
def postgres_ready() -> Iterator[bool]:
    if _PG_PROBLEM is not None:
        if os.environ.get("KAOHE_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required but not reachable: {_PG_PROBLEM}")
        pytest.skip(f"PostgreSQL not reachable at {SERVER_URL}: {_PG_PROBLEM}")
    _in_thread(_create_run_database)
    yield True
    _in_thread(lambda: _server_sql(f'DROP DATABASE IF EXISTS "{RUN_DATABASE}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def database_url(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> AsyncIterator[str]:
    """A migrated, empty database on ``backend``, private to the test."""
    if backend == "sqlite":
        path = tmp_path / "kaohe.db"
        shutil.copyfile(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    request.getfixturevalue("postgres_ready")
    engine = create_engine(POSTGRES_URL)
    try:
        await _truncate_postgres(engine)
    finally:
        await engine.dispose()
    yield POSTGRES_URL


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> Any:
    return make_session_factory(engine)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]  # pydantic-settings takes _env_file at construction
        bot_token=TEST_TOKEN,  # type: ignore[arg-type]  # a str for the SecretStr field, validated by pydantic
        bot_username="kaohe_test_bot",
        database_url=database_url,
        data_dir=tmp_path,
        unit_name="青山镇",
    )


@pytest.fixture
def repo_root() -> Iterator[Path]:
    yield Path(__file__).resolve().parents[1]


# --- The real Application on a fake Telegram ---------------------------------------------------


@pytest.fixture
def fake() -> Any:
    """Telegram's servers, in memory. Presses never get too old here: the fake's clock is the
    real one, and a loaded machine must not decide a test (tests of late answers set
    ``callback_query_timeout`` themselves)."""
    from bot.emulator.telegram import FakeTelegram

    return FakeTelegram(callback_query_timeout=None)


@pytest.fixture
def texts() -> Any:
    from bot.core.texts import Texts

    return Texts()


@pytest.fixture
def clock() -> Any:
    """The clock the bot runs on: the system clock, unless a test module overrides this."""
    from bot.core.clock import SystemClock

    return SystemClock()


@pytest.fixture
async def app(settings: Settings, fake: Any, clock: Any) -> Any:
    """The Application exactly as ``kaohe run`` builds it, talking to the fake Telegram."""
    from bot.app import build_application, build_services
    from bot.emulator.request import FakeRequest

    services = build_services(settings, clock=clock)
    return build_application(
        settings, request=FakeRequest(fake), rate_limit=False, services=services
    )


@pytest.fixture
async def sim(app: Any, fake: Any) -> AsyncIterator[Any]:
    """A running application (post_init included) and the user simulator.

    Updates go through the application's update processor, the path polling takes, so the
    per-person ordering and the write-through persistence run as in production.
    """
    from bot.emulator.simulator import Simulator
    from bot.jobs.sender import Pacer

    async with Simulator(app, fake, via="processor") as simulator:
        # The fake Telegram enforces no sending limits unless a test asks it to, and the pacing
        # waits real seconds (one a second per chat, three per group): tests send at once.
        app.sender.pacer = Pacer(per_second=10_000.0, private_gap=0.0, group_gap=0.0)
        yield simulator


@pytest.fixture
def example_roster(repo_root: Path) -> Path:
    return repo_root / "examples" / "roster.xlsx"


@pytest.fixture
async def town(sim: Any, app: Any, example_roster: Path) -> Any:
    """The example town's roster imported into the running bot's database."""
    from tests.harness.town import Town

    town = Town(app=app, sim=sim)
    await town.import_roster(example_roster)
    return town
