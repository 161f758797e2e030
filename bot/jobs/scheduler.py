"""The scheduler: the bot runs the appraisal calendar by itself.

The calendar is the database (periods, their frozen schemes, audited deadline moves); the jobs
are derived from it. At start-up, whenever the clock is moved by hand, whenever this process
changes the calendar, and whenever the watcher (every ``watch`` real seconds) sees the periods
table changed (the CLI is another process), the jobs are rebuilt: one python-telegram-bot job
per event still to do, named ``kaohe:event:<key>@<period>``, with no misfire grace, so a job
that starts late still runs. Every job, and every watcher round, runs :meth:`Scheduler.tick`:
all events due by now and not done, in time order. That is also the catch-up after downtime.

Each event is claimed in the database before its work (:func:`storage.queries.calendar.
claim_event`) and marked done in the transaction of its work, so it runs once even with two
bots on one database, and an event that died half-way is done again once its claim's lease ran
out. Messages go out through the outbox (:mod:`bot.jobs.sender`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import func, select

from bot.core.services import Services
from bot.jobs import buttons
from bot.jobs.events import EventOutcome, run_event
from bot.jobs.plan import planned_events
from bot.rules.calendar import Event, EventKind
from storage.engine import forget_old_row_versions, transaction
from storage.models import AuditLog, CalendarEvent, Period
from storage.queries import calendar as calendar_q
from storage.queries.ballots import SECRET_TABLES

__all__ = ["JOB_PREFIX", "Ran", "Scheduler", "process_owner"]

log = logging.getLogger("kaohe.scheduler")

JOB_PREFIX = "kaohe:event:"
#: How long a stopping scheduler lets the work under way finish before cancelling it.
STOP_GRACE = 10.0
WATCH_JOB = "kaohe:watch"


def process_owner() -> str:
    """Who claims events and messages: host, process and a random part (a restart is new)."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Ran:
    """One event this process ran (or found done elsewhere: ``outcome`` None)."""

    event: Event
    outcome: EventOutcome | None


class Scheduler:
    """Plans and runs the calendar of one unit in a running bot."""

    def __init__(
        self,
        services: Services,
        job_queue: Any,
        sender: Any,
        *,
        owner: str | None = None,
        scheme_file: Path | None = None,
        watch: float = 20.0,
    ) -> None:
        self.services = services
        self.job_queue = job_queue
        self.sender = sender
        self.owner = owner or process_owner()
        self.scheme_file = scheme_file
        self.watch = watch
        self._lock = asyncio.Lock()
        self._fingerprint: str | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._buttons: asyncio.Task[Any] | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Plan the jobs, start watching, and catch up on whatever fell due while down."""
        self.services.calendar_changed = self.poke
        self.services.clock.subscribe(self.poke)
        if self.job_queue is not None:
            self.job_queue.run_repeating(
                self._watch_job,
                interval=self.watch,
                first=self.watch,
                name=WATCH_JOB,
                job_kwargs={"misfire_grace_time": None, "coalesce": True},
            )
        await self.rebuild()
        self._spawn(self.tick())
        self._spawn(self.old_buttons_off())

    def poke(self) -> None:
        """The calendar or the clock changed here: re-plan and run what is due, soon."""
        self._spawn(self._replan())

    def _spawn(self, work: Any) -> asyncio.Task[Any] | None:
        try:
            task = asyncio.get_running_loop().create_task(work)
        except RuntimeError:  # no loop: a CLI process moving a clock; nothing runs here
            work.close()
            return None
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def stop(self) -> None:
        # A stopped bot must not wake when the clock is moved (the sandbox, tests): it would
        # run events beside the bot that replaced it.
        self.services.clock.unsubscribe(self.poke)
        self.services.calendar_changed = None
        # Work under way (a re-plan, an event, buttons coming off) finishes its transaction:
        # cancelled in the middle of one, a connection can be left half closed and the process
        # hangs on shutdown. Only what is still running after the grace is cancelled.
        if self._tasks:
            _, late = await asyncio.wait(list(self._tasks), timeout=STOP_GRACE)
            for task in late:
                task.cancel()
            if late:
                await asyncio.gather(*late, return_exceptions=True)

    async def _replan(self) -> None:
        await self.rebuild()
        await self.tick()

    async def _watch_job(self, context: Any) -> None:
        try:
            if await self.fingerprint() != self._fingerprint:
                await self.rebuild()
            await self.tick()
        except Exception:  # the watcher must keep watching
            log.exception("the scheduler's watch failed; it will look again")

    async def _event_job(self, context: Any) -> None:
        try:
            await self.tick()
        except Exception:
            log.exception("a scheduled event failed; it will be tried again")

    # -- planning ----------------------------------------------------------------------------

    async def fingerprint(self) -> str:
        """A digest of everything the calendar is derived from: periods, deadline moves, claims."""
        unit = self.services.unit
        async with self.services.sessions() as session:
            periods = (await session.exec(select(Period).where(Period.unit_id == unit))).all()
            rows = [
                (p.id or 0, p.state, p.opens_at, p.closes_at, p.review_ends_at) for p in periods
            ]
            extensions = (
                await session.exec(
                    select(func.count(), func.max(AuditLog.id)).where(
                        AuditLog.unit_id == unit, AuditLog.action == "period.extend"
                    )
                )
            ).one()
            claims = (
                await session.exec(
                    select(func.count()).where(
                        CalendarEvent.unit_id == unit, CalendarEvent.state == "done"
                    )
                )
            ).one()
        text = repr((sorted(rows), tuple(extensions), claims))
        return hashlib.sha256(text.encode()).hexdigest()

    async def pending_events(self) -> list[Event]:
        """Every event of the unit's calendar not done yet, in time order."""
        async with self.services.sessions() as session:
            return await planned_events(session=session, unit_id=self.services.unit)

    async def rebuild(self) -> list[Event]:
        """Replace the event jobs with one per event still to do."""
        self._fingerprint = await self.fingerprint()
        events = await self.pending_events()
        if self.job_queue is None:
            return events
        for job in self.job_queue.jobs():
            if job.name and job.name.startswith(JOB_PREFIX):
                job.schedule_removal()
        clock = self.services.clock
        for event in events:
            delay = clock.real_seconds_until(event.due)
            if not math.isfinite(delay):
                continue  # a clock that stands still: its owner runs tick() by hand
            self.job_queue.run_once(
                self._event_job,
                when=delay,
                name=JOB_PREFIX + event.name,
                job_kwargs={"misfire_grace_time": None},
            )
        return events

    # -- running -----------------------------------------------------------------------------

    async def tick(self) -> list[Ran]:
        """Run every event due by the clock's now and not done, in time order."""
        async with self._lock:
            now = self.services.now()
            due = [e for e in await self.pending_events() if e.due <= now]
            ran = [Ran(event, await self._run(event)) for event in due]
        if any(r.outcome is not None and r.outcome.messages for r in ran):
            self.sender.wake()
        if any(r.event.kind is EventKind.CLOSE and r.outcome is not None for r in ran):
            # Edits at the sender's pace (a minute for a large unit): beside the calendar, not
            # in its way; the next tick may already run.
            self._buttons = self._spawn(self.old_buttons_off())
        return ran

    async def old_buttons_off(self) -> int:
        """Take the start buttons off the messages of months now closed (bot.jobs.buttons);
        after each close and at start, so that one missed by a process that died is done."""
        bot = getattr(self.sender, "bot", None)
        if bot is None:
            return 0
        try:
            return await buttons.take_off(
                self.services, bot, pacer=getattr(self.sender, "pacer", None)
            )
        except Exception:  # a database hiccup: the next close or start tries again
            log.exception("taking the buttons off closed months' messages failed")
            return 0

    async def _run(self, event: Event) -> EventOutcome | None:
        services = self.services
        async with transaction(services.sessions) as session:
            claim = await calendar_q.claim_event(
                session=session,
                unit_id=services.unit,
                period_id=event.period_id,
                key=event.key,
                due_at=event.due,
                owner=self.owner,
                now=services.now(),
                lease=services.clock.real_span(calendar_q.LEASE),
            )
        if claim is None:
            return None  # done, or being done by another process
        assert claim.id is not None
        try:
            async with transaction(services.sessions) as session:
                outcome = await run_event(
                    session=session,
                    services=services,
                    event=event,
                    now=services.now(),
                    scheme_file=self.scheme_file,
                )
                if outcome.outcome == "waiting":
                    await calendar_q.release_event(session=session, event_id=claim.id)
                else:
                    await calendar_q.finish_event(
                        session=session,
                        event_id=claim.id,
                        outcome=outcome.outcome,
                        now=services.now(),
                        detail={**outcome.detail, "messages": outcome.messages},
                    )
        except Exception:
            log.exception(
                "event %s failed; it runs again when its claim's lease is over", event.name
            )
            return None
        log.info("event %s -> %s (%d messages)", event.name, outcome.outcome, outcome.messages)
        if event.kind is EventKind.CLOSE:
            # Uncast ballots were deleted: leave no old row versions of them behind.
            await forget_old_row_versions(services.engine, SECRET_TABLES)
        return outcome

    async def run_until_idle(self) -> Sequence[Ran]:
        """Run what is due and send every message it queued (tests, the sandbox)."""
        ran = await self.tick()
        await self.sender.flush()
        if self._buttons is not None:
            await self._buttons
            self._buttons = None
        return ran
