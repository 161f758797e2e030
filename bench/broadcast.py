"""Benchmark: the scheduler's broadcasts to a large unit, through a Bot API that fights back.

A unit of N cadres (default 2,000; departments of 20, each with its head; five leaders) runs one
month on a hand-moved clock through the real Application, scheduler, outbox and sender. The fake
Bot API enforces Telegram's limits itself (a 429 with ``retry_after`` above 30 messages a second
overall or 1 a second to one chat) and on top answers 429 to 2% of sends and times out 1% (half
of them after delivering). Three rounds: the opening to everyone; the first reminder, to the half
who have not self-scored (and their heads, and the office); the deadline: the month scored and
every cadre's result sent.

Printed per round: messages queued, delivered, lost, duplicated (and how many of those came from
timeouts after delivery), 429s met, and the rate achieved as a ratio of Telegram's 30 messages a
second; for the deadline, the time from the deadline until every result is out.

    .venv/bin/python bench/broadcast.py                 # N = 2000, SQLite
    .venv/bin/python bench/broadcast.py --n 500 --backend postgresql
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

os.environ.setdefault("PTB_TIMEDELTA", "1")

from sqlmodel import select  # noqa: E402

from bench.pgdb import SERVER_URL, throwaway_database  # noqa: E402
from bot.app import build_application, build_services  # noqa: E402
from bot.appraisal import periods as appraisal  # noqa: E402
from bot.appraisal import ratings  # noqa: E402
from bot.core.clock import ManualClock  # noqa: E402
from bot.core.config import Settings  # noqa: E402
from bot.core.scheme_file import DEFAULT_SCHEME_PATH, read_scheme  # noqa: E402
from bot.emulator.records import Failure, FloodLimits  # noqa: E402
from bot.emulator.request import FakeRequest  # noqa: E402
from bot.emulator.simulator import Simulator  # noqa: E402
from bot.emulator.telegram import BOT_TOKEN, FakeTelegram, html_to_text  # noqa: E402
from storage import migrate  # noqa: E402
from storage.engine import create_engine, make_session_factory, transaction  # noqa: E402
from storage.models import Cadre, Department, OutboxMessage, Unit  # noqa: E402
from storage.queries import periods as periods_q  # noqa: E402

SH = ZoneInfo("Asia/Shanghai")
USER_ID_BASE = 20_000_000
TELEGRAM_RATE = 30.0


class Chaos:
    """2% of sends meet a 429, 1% a timeout (half of them after the message was delivered)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.counts: Counter[str] = Counter()

    def __call__(self, method: str, params: dict[str, Any]) -> Failure | None:
        if method != "sendmessage":
            return None
        roll = self.rng.random()
        if roll < 0.02:
            self.counts["429"] += 1
            return Failure(429, "Too Many Requests: retry after 1", 1)
        if roll < 0.025:
            self.counts["timeout"] += 1
            return Failure(504, "Gateway Timeout", timeout=True)
        if roll < 0.03:
            self.counts["timeout_after_delivery"] += 1
            return Failure(504, "Gateway Timeout", deliver=True, timeout=True)
        return None


async def _seed(url: str, n: int) -> list[int]:
    """A unit of ``n`` cadres, all signed up: departments of 20 with a head, five leaders."""
    engine = create_engine(url)
    await migrate.upgrade(engine)
    async with transaction(make_session_factory(engine)) as session:
        unit = Unit(name="基准镇")
        session.add(unit)
        await session.flush()
        leadership = Department(unit_id=unit.id, name="领导班子", position=0)
        session.add(leadership)
        await session.flush()
        leaders = []
        for index in range(5):
            leader = Cadre(
                unit_id=unit.id,
                department_id=leadership.id,
                name=f"领导{index}",
                roles="leader",
                position=index,
                telegram_user_id=USER_ID_BASE + n + index,
            )
            session.add(leader)
            leaders.append(leader)
        await session.flush()
        ids = []
        for start in range(0, n, 20):
            department = Department(unit_id=unit.id, name=f"第{start // 20 + 1}办公室", position=1)
            session.add(department)
            await session.flush()
            for index in range(start, min(n, start + 20)):
                head = index == start
                roles = "cadre,head" if head else ("cadre,office" if index == 1 else "cadre")
                session.add(
                    Cadre(
                        unit_id=unit.id,
                        department_id=department.id,
                        name=f"干部{index:04d}",
                        roles=roles,
                        position=index - start,
                        supervisor_id=leaders[(start // 20) % 5].id if head else None,
                        telegram_user_id=USER_ID_BASE + index,
                    )
                )
                ids.append(USER_ID_BASE + index)
        await session.flush()
    await engine.dispose()
    return ids + [USER_ID_BASE + n + i for i in range(5)]


def _scheme_file(workdir: Path) -> Path:
    """The example scheme with the democratic evaluation quarterly (none in July)."""
    text = DEFAULT_SCHEME_PATH.read_text(encoding="utf-8")
    path = workdir / "scheme.toml"
    path.write_text(text.replace('cadence = "monthly"', 'cadence = "quarterly"', 1), "utf-8")
    return path


class Round:
    """One broadcast: what was queued, what arrived, how fast."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def measure(self, app: Any, fake: FakeTelegram, chaos: Chaos, step: Any) -> str:
        mark = fake.seq
        before_chaos = Counter(chaos.counts)
        stats = app.sender.stats
        before_dupes, before_429, before_sent = (
            stats.possible_duplicates,
            stats.rate_limited,
            stats.sent,
        )
        started = time.perf_counter()
        await step()  # the event's work: the month opened, reminded or scored, messages queued
        work = time.perf_counter() - started
        await app.sender.flush(timeout=3600)
        seconds = time.perf_counter() - started
        sending = seconds - work
        async with app.services.sessions() as session:
            rows = [
                r for r in (await session.exec(select(OutboxMessage))).all() if r.id not in SEEN
            ]
        SEEN.update(r.id for r in rows)
        delivered = lost = duplicated = arrived = 0
        for row in rows:
            visible = html_to_text(row.text)
            count = sum(
                1
                for m in fake.bot_messages(row.chat_id)
                if m.created_seq > mark and m.content.get("text") == visible
            )
            arrived += count
            delivered += count > 0
            lost += count == 0
            duplicated += max(0, count - 1)
        after_delivery = (chaos.counts - before_chaos)["timeout_after_delivery"]
        rate = arrived / sending if sending else 0.0
        return (
            f"{self.name:<9} queued {len(rows):>5}  delivered {delivered:>5}  lost {lost:>3}  "
            f"duplicated {duplicated:>3} (after-delivery timeouts {after_delivery:>3}; "
            f"marked by the sender {stats.possible_duplicates - before_dupes:>3})  "
            f"429s met {stats.rate_limited - before_429:>3}  sent {stats.sent - before_sent:>5}  "
            f"event {work:5.1f} s + sending {sending:6.1f} s = {seconds:6.1f} s  "
            f"{rate:5.1f} msg/s = {rate / TELEGRAM_RATE:4.2f} × 30/s"
        )


SEEN: set[int | None] = set()


async def main_async(n: int, url: str, workdir: Path, seed: int) -> None:
    users = await _seed(url, n)
    scheme_path = _scheme_file(workdir)
    scheme, _, _ = read_scheme(scheme_path)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]  # pydantic-settings takes _env_file at construction
        bot_token=BOT_TOKEN,  # type: ignore[arg-type]  # a str for the SecretStr field, validated by pydantic
        database_url=url,
        data_dir=workdir,
        unit_name="基准镇",
        scheme_file=scheme_path,
    )
    fake = FakeTelegram(flood=FloodLimits(global_per_second=30, chat_per_second=1))
    chaos = Chaos(seed)
    fake.chaos = chaos
    for user_id in users:
        fake.add_user(user_id, f"u{user_id}")
    clock = ManualClock(datetime(2026, 7, 24, 8, 0, tzinfo=SH))
    services = build_services(settings, clock=clock)
    app = build_application(
        settings, request=FakeRequest(fake), rate_limit=False, services=services
    )
    async with Simulator(app, fake, via="processor"):
        async with transaction(services.sessions) as session:
            await appraisal.create_year(
                session=session, unit_id=services.unit, year=2026, scheme=scheme, now=clock.now()
            )
        async with services.sessions() as session:
            july = await periods_q.find_period(
                session=session, unit_id=services.unit, code="2026-07"
            )
        assert july is not None
        print(f"N = {n} cadres (+5 leaders); Telegram limits enforced; chaos seed {seed}")

        async def opening() -> None:
            clock.set(july.opens_at)
            await app.scheduler.tick()

        print(await Round("opening").measure(app, fake, chaos, opening))

        async with services.sessions() as session:
            july = await periods_q.find_period(
                session=session, unit_id=services.unit, code="2026-07"
            )
            people = (await session.exec(select(Cadre).where(Cadre.unit_id == services.unit))).all()
        assert july is not None
        half = [c for c in people if "cadre" in c.roles and (c.position % 2 == 0)]
        for cadre in half:  # half of them self-score
            async with transaction(services.sessions) as session:
                for key, value in (("duty", "85"), ("central", "90")):
                    await ratings.record_answer(
                        session=session,
                        period=july,
                        ratee=cadre,
                        rater=cadre,
                        source="self",
                        key=key,
                        item_key=key,
                        score=Decimal(value),
                        now=clock.now(),
                    )
                await ratings.submit_sheet(
                    session=session, period=july, ratee=cadre, source="self", now=clock.now()
                )

        async def reminder() -> None:
            first = [e for e in await app.scheduler.pending_events() if e.key.startswith("remind")]
            clock.set(first[0].due)
            await app.scheduler.tick()

        print(await Round("reminder").measure(app, fake, chaos, reminder))

        async def deadline() -> None:
            clock.set(july.closes_at)
            await app.scheduler.tick()

        line = await Round("deadline").measure(app, fake, chaos, deadline)
        print(line)
        print(
            "deadline: the line above is the time from the deadline until the month of "
            f"{n} cadres is scored and every result is out"
        )
        stats = app.sender.stats
        print(
            f"sender: sent {stats.sent}, retried {stats.retried}, 429s {stats.rate_limited}, "
            f"timeouts {stats.timed_out}, failed {stats.failed}, unreachable {stats.unreachable}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if args.backend == "sqlite":
            url = f"sqlite:///{workdir / 'bench.db'}"
            asyncio.run(main_async(args.n, url, workdir, args.seed))
        else:
            asyncio.run(_on_postgres(args.n, workdir, args.seed))


async def _on_postgres(n: int, workdir: Path, seed: int) -> None:
    server = os.environ.get("BENCH_POSTGRES_URL", SERVER_URL)
    async with throwaway_database(server, "kaohe_bench_broadcast") as url:
        await main_async(n, url, workdir, seed)


if __name__ == "__main__":
    main()
