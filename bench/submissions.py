"""Benchmark: a burst of complete self-score conversations, against a bare echo bot.

N cadres each run a whole self-score conversation (/selfscore, a score per item, skip the note
and the evidence, Submit) at the same time, wave by wave, through the real kaohe Application on
the fake Bot API (tests/harness), with the database on SQLite (default) or PostgreSQL. In the same
run a bare python-telegram-bot echo bot, on the same fake API and with the same concurrency,
handles the same number of updates in the same waves; its throughput is the baseline.

Printed: updates handled per second for both and their ratio, database statements per update,
and the p95 latency of handling one update (from feeding it to the end of its handling).

    .venv/bin/python bench/submissions.py            # N = 100 and 1000, SQLite
    .venv/bin/python bench/submissions.py --n 100 --backend postgresql
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

os.environ.setdefault("PTB_TIMEDELTA", "1")

from sqlalchemy import event, text  # noqa: E402
from telegram import Update  # noqa: E402
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters  # noqa: E402

from bench.pgdb import SERVER_URL, throwaway_database  # noqa: E402
from bot.app import build_application  # noqa: E402
from bot.core.config import Settings  # noqa: E402
from bot.core.scheme_file import default_scheme  # noqa: E402
from bot.emulator.request import FakeRequest  # noqa: E402
from bot.emulator.simulator import Simulator, _text_content  # noqa: E402
from bot.emulator.telegram import BOT_TOKEN, FakeTelegram  # noqa: E402
from bot.rules.scoring import GRADE_ORDER  # noqa: E402
from storage import migrate  # noqa: E402
from storage.engine import create_engine, make_session_factory, transaction  # noqa: E402
from storage.models import Cadre, Department, Period, PeriodKind, PeriodState, Unit, utcnow  # noqa: E402
from storage.queries.results import create_tallies  # noqa: E402
from storage.queries.roster import assessed_cadres  # noqa: E402

USER_ID_BASE = 10_000_000
CONCURRENCY = 64


@dataclass
class Figures:
    name: str
    updates: int
    seconds: float
    statements: int
    latencies: list[float]
    transactions: int = 0

    @property
    def per_second(self) -> float:
        return self.updates / self.seconds

    @property
    def p95_ms(self) -> float:
        return statistics.quantiles(self.latencies, n=20)[18] * 1000

    def line(self) -> str:
        per_update = f"{self.statements / self.updates:6.1f}" if self.statements else "     -"
        per_tx = f"{self.transactions / self.updates:5.2f}" if self.transactions else "    -"
        return (
            f"{self.name:<28} {self.updates:>7} updates {self.seconds:8.2f} s "
            f"{self.per_second:9.1f} upd/s  p95 {self.p95_ms:8.1f} ms  "
            f"DB statements/update {per_update}  transactions/update {per_tx}"
        )


class StatementCounter:
    """Counts the SQL statements an engine executes (BEGIN and PRAGMA included) and the
    transactions it begins."""

    def __init__(self, engine: Any) -> None:
        self.count = 0
        self.transactions = 0
        event.listen(engine.sync_engine, "before_cursor_execute", self._count)
        event.listen(engine.sync_engine, "begin", self._begin)

    def _count(self, *_: Any) -> None:
        self.count += 1

    def _begin(self, *_: Any) -> None:
        self.transactions += 1


async def _timed(sim: Simulator, update: dict[str, Any], latencies: list[float]) -> None:
    started = time.perf_counter()
    await sim.feed_via_processor(update)
    latencies.append(time.perf_counter() - started)


async def _wave(sim: Simulator, updates: list[dict[str, Any]], latencies: list[float]) -> None:
    await asyncio.gather(*(_timed(sim, u, latencies) for u in updates))


async def _seed(url: str, n: int) -> tuple[int, list[int]]:
    """A unit with ``n`` signed-up cadres in departments of 50, and this month open."""
    engine = create_engine(url)
    await migrate.upgrade(engine)
    scheme = default_scheme()
    today = date.today()
    now = utcnow()
    async with transaction(make_session_factory(engine)) as session:
        unit = Unit(name="基准镇")
        session.add(unit)
        await session.flush()
        departments = []
        for index in range((n + 49) // 50):
            department = Department(unit_id=unit.id, name=f"第{index + 1}办公室", position=index)
            session.add(department)
            departments.append(department)
        await session.flush()
        for index in range(n):
            session.add(
                Cadre(
                    unit_id=unit.id,
                    department_id=departments[index // 50].id,
                    name=f"干部{index:04d}",
                    roles="cadre",
                    telegram_user_id=USER_ID_BASE + index,
                )
            )
        await session.flush()
        period = Period(
            unit_id=unit.id,
            kind=PeriodKind.MONTH.value,
            year=today.year,
            number=today.month,
            starts_on=today.replace(day=1),
            ends_on=today,
            opens_at=now - timedelta(days=1),
            closes_at=now + timedelta(days=9),
            state=PeriodState.OPEN.value,
            scheme=json.loads(scheme.to_json()),
            opened_at=now,
        )
        session.add(period)
        await session.flush()
        cadres = await assessed_cadres(session=session, unit_id=unit.id)
        await create_tallies(
            session=session,
            period_id=period.id,
            ratee_ids=[c.id for c in cadres],
            grades=[g.value for g in GRADE_ORDER],
        )
    await engine.dispose()
    return n, [USER_ID_BASE + i for i in range(n)]


# The answers of one whole self-score of an ordinary cadre (two judged items), after /selfscore:
# a score, then skip the note and evidence (one step), for each item; then the Submit button.
ANSWERS = ["90", "skip", "85", "skip"]


async def run_kaohe(n: int, url: str, workdir: Path) -> tuple[Figures, int]:
    await _seed(url, n)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]  # pydantic-settings takes _env_file at construction
        bot_token=BOT_TOKEN,  # type: ignore[arg-type]  # a str for the SecretStr field, validated by pydantic
        database_url=url,
        data_dir=workdir,
        unit_name="基准镇",
    )
    fake = FakeTelegram()
    app = build_application(settings, request=FakeRequest(fake), rate_limit=False)
    texts = app.services.texts
    skip = texts.label("zh", "selfscore.skip")
    submit = texts.label("zh", "selfscore.submit")
    latencies: list[float] = []
    async with Simulator(app, fake, via="processor") as sim:
        users = [sim.user(USER_ID_BASE + i, f"干部{i:04d}") for i in range(n)]
        counter = StatementCounter(app.services.engine)
        started = time.perf_counter()
        await _wave(
            sim,
            [sim.message_update(u.id, u.id, _text_content("/selfscore")) for u in users],
            latencies,
        )
        for answer in ANSWERS:
            typed = skip if answer == "skip" else answer
            await _wave(
                sim,
                [sim.message_update(u.id, u.id, _text_content(typed)) for u in users],
                latencies,
            )
        presses = []
        for user in users:
            message = user.last()
            stored = fake.message(user.id, message.message_id)
            presses.append(
                sim.callback_update(user.id, str(message.button(submit)["callback_data"]), stored)[
                    0
                ]
            )
        await _wave(sim, presses, latencies)
        seconds = time.perf_counter() - started
        statements, transactions = counter.count, counter.transactions
    engine = create_engine(url)
    async with make_session_factory(engine)() as session:
        submitted = (
            await session.exec(
                text("select count(*) from rating where source='self' and state='submitted'")
            )
        ).one()[0]
    await engine.dispose()
    figures = Figures(
        "kaohe self-score", len(latencies), seconds, statements, latencies, transactions
    )
    return figures, submitted


async def run_echo(n: int, waves: int) -> Figures:
    """A bare python-telegram-bot echo bot on the same fake API and concurrency."""
    fake = FakeTelegram()

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(update.effective_message.text or "")

    app = (
        ApplicationBuilder()
        .token(BOT_TOKEN)
        .request(FakeRequest(fake))
        .get_updates_request(FakeRequest(fake))
        .concurrent_updates(CONCURRENCY)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    latencies: list[float] = []
    async with Simulator(app, fake, via="processor") as sim:
        users = [sim.user(USER_ID_BASE + i, f"u{i}") for i in range(n)]
        started = time.perf_counter()
        for wave in range(waves):
            await _wave(
                sim,
                [sim.message_update(u.id, u.id, _text_content(f"m{wave}")) for u in users],
                latencies,
            )
        seconds = time.perf_counter() - started
    return Figures("bare PTB echo bot (baseline)", len(latencies), seconds, 0, latencies)


async def main(sizes: list[int], backend: str, server_url: str) -> None:
    print(
        f"backend: {backend}; concurrency {CONCURRENCY}; "
        f"waves: /selfscore + {len(ANSWERS)} answers + Submit"
    )
    for n in sizes:
        with tempfile.TemporaryDirectory() as folder:
            workdir = Path(folder)
            if backend == "sqlite":
                url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
                kaohe, submitted = await run_kaohe(n, url, workdir)
            else:
                async with throwaway_database(server_url, "kaohe_bench") as url:
                    kaohe, submitted = await run_kaohe(n, url, workdir)
            echo = await run_echo(n, len(ANSWERS) + 2)
        print(f"\nN = {n} cadres ({submitted} self-scores submitted)")
        print("  " + echo.line())
        print("  " + kaohe.line())
        print(
            f"  throughput ratio kaohe/echo: {kaohe.per_second / echo.per_second:.3f}"
            f"  (echo is {echo.per_second / kaohe.per_second:.1f}x faster)"
        )
        if submitted != n:
            raise SystemExit(f"only {submitted} of {n} self-scores were submitted")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--n", type=int, action="append", help="cadres (repeatable); default 100 and 1000"
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--postgres-url", default=SERVER_URL)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.n or [100, 1000], arguments.backend, arguments.postgres_url))
