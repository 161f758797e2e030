"""The one sender of everything the bot says by itself: the outbox, paced under Telegram's limits.

The scheduler (and the reports) only queue rows (:mod:`storage.queries.outbox`); this sends them.
Telegram allows about 30 messages a second overall, one a second to one chat and 20 a minute to
one group, and python-telegram-bot's rate limiter retries nothing by default, so the pacing is
here (:class:`Pacer`), in real time whatever clock the appraisal runs on. How each failure is met:

- 429: the chat waits the ``retry_after`` Telegram gave (every send does, when 429s come from
  several chats at once: the bot as a whole is over the limit), then the row is tried again;
- a 5xx or a network error: retried with exponential backoff and jitter, at most
  ``max_attempts`` times, then the row is ``failed`` and reported to the office;
- a timeout: the message may have been delivered (Telegram has no idempotency key), but a lost
  reminder is worse than a rare duplicate: retried as above and marked a possible duplicate;
- 403 (blocked, never started) and "chat not found": ``unreachable`` at once, reported to the
  office, never retried.

When every row of an event is final and some did not arrive, ``on_event_done`` queues the report.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from telegram import InlineKeyboardMarkup, InputFile
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.core.services import Services
from storage.engine import transaction
from storage.models import OutboxMessage
from storage.queries import outbox as outbox_q

__all__ = ["Pacer", "SendStats", "Sender"]

log = logging.getLogger("kaohe.sender")

#: A chat that must wait longer than this (seconds) gives its rows back for a later round.
DEFER_AFTER = 1.5
#: How long a stopping sender may finish the sends under way before it is cancelled.
STOP_GRACE = 10.0


class Pacer:
    """When the next message may start: overall rate, one chat's rate, and a 429's pause.

    A chat's readiness and the overall rate are kept apart, so that a chat that must wait (its
    one-a-second gap, a 429's ``retry_after``) never holds back the messages to other chats.
    """

    def __init__(
        self,
        per_second: float = 28.0,
        *,
        private_gap: float = 1.0,
        group_gap: float = 3.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.gap = 1.0 / per_second
        self.private_gap = private_gap
        self.group_gap = group_gap
        self._monotonic = monotonic
        self._next = 0.0
        self._chats: dict[int, float] = {}
        self._paused_until = 0.0
        self._recent_429: deque[tuple[float, int]] = deque()

    def chat_wait(self, chat_id: int) -> float:
        """Seconds until ``chat_id`` may get its next message (its gap, a 429, a pause)."""
        ready = max(self._chats.get(chat_id, 0.0), self._paused_until)
        return max(0.0, ready - self._monotonic())

    def reserve(self, chat_id: int) -> float:
        """Book the next overall slot for a chat that is ready; return the seconds to wait."""
        now = self._monotonic()
        start = max(now, self._next, self._paused_until, self._chats.get(chat_id, 0.0))
        self._next = start + self.gap
        self._chats[chat_id] = start + (self.group_gap if chat_id < 0 else self.private_gap)
        if len(self._chats) > 10_000:  # forget chats whose gap is long over
            self._chats = {c: t for c, t in self._chats.items() if t > now}
        return start - now

    def pause(self, seconds: float, chat_id: int | None = None) -> None:
        """Telegram said 429 for ``chat_id``: that chat waits ``seconds``. 429s from three chats
        within one second mean the bot as a whole is over the limit: then nothing starts for
        ``seconds`` (one chat's 429 alone says nothing of the others)."""
        now = self._monotonic()
        recent = self._recent_429
        recent.append((now, chat_id or 0))
        while recent and recent[0][0] < now - 1.0:
            recent.popleft()
        if chat_id is None or len({c for _, c in recent}) >= 3:
            self._paused_until = max(self._paused_until, now + seconds)
        else:
            self._chats[chat_id] = max(self._chats.get(chat_id, 0.0), now + seconds)


@dataclass
class SendStats:
    """What the sender did since it started (the benchmark and the logs read it)."""

    sent: int = 0
    retried: int = 0
    rate_limited: int = 0
    timed_out: int = 0
    failed: int = 0
    unreachable: int = 0
    possible_duplicates: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


class Sender:
    """Sends due outbox rows until stopped; ``flush`` sends everything due now and returns."""

    def __init__(
        self,
        services: Services,
        bot: Any,
        *,
        owner: str,
        pacer: Pacer | None = None,
        concurrency: int = 16,
        batch: int = 50,
        max_attempts: int = 5,
        backoff: float = 1.0,
        on_event_done: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.services = services
        self.bot = bot
        self.owner = owner
        self.pacer = pacer or Pacer()
        self.batch = batch
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.on_event_done = on_event_done
        self.stats = SendStats()
        self._slots = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()
        self._not_before: dict[int, float] = {}  # row id -> monotonic time of its next try
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._lock = asyncio.Lock()

    # -- running -----------------------------------------------------------------------------

    def wake(self) -> None:
        """Something was queued: look now rather than at the next poll."""
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="kaohe-sender")

    async def stop(self) -> None:
        """Stop after the sends under way: what is left stays queued for the next start.

        Cancelling a send in the middle of its database work (the outcome being recorded) can
        leave a connection half closed, and the process then hangs on shutdown; so the loop is
        asked to stop and given :data:`STOP_GRACE` seconds, and only cancelled after that.
        """
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=STOP_GRACE)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None
        self._stopping = False

    async def _run(self) -> None:
        while not self._stopping:
            try:
                sent = await self.send_due()
            except asyncio.CancelledError:
                raise
            except Exception:  # the loop must outlive a database hiccup
                log.exception("sending queued messages failed; trying again shortly")
                sent = 0
            if sent == 0 and not self._stopping:
                self._wake.clear()
                try:
                    async with asyncio.timeout(self._idle_wait()):
                        await self._wake.wait()
                except TimeoutError:
                    pass

    def _idle_wait(self) -> float:
        if not self._not_before:
            return 1.0
        return max(0.05, min(1.0, min(self._not_before.values()) - time.monotonic()))

    async def flush(self, timeout: float = 60.0) -> None:  # noqa: ASYNC109 - a bound, not a sleep
        """Send until nothing is due (rows waiting for a retry included)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if await self.send_due():
                continue
            if not self._not_before:
                return
            await asyncio.sleep(max(0.0, min(self._not_before.values()) - time.monotonic()))
        raise TimeoutError("the outbox did not empty in time")

    # -- one round ---------------------------------------------------------------------------

    async def send_due(self) -> int:
        """Claim and send one batch of due rows; return how many were tried.

        Each chat's rows go in their queued order; different chats go side by side, each when
        it is ready, under the overall rate. A chat that must wait longer than
        :data:`DEFER_AFTER` (a 429's ``retry_after``) gives its rows back for a later round
        instead of holding the batch.
        """
        async with self._lock:
            now_real = time.monotonic()
            waiting = {i for i, t in self._not_before.items() if t > now_real}
            async with transaction(self.services.sessions) as session:
                rows = await outbox_q.claim_due(
                    session=session,
                    owner=self.owner,
                    now=self.services.now(),
                    limit=self.batch,
                    skip=waiting,
                    lease=self.services.clock.real_span(outbox_q.SENDING_LEASE),
                )
            if not rows:
                return 0
            chats: dict[int, list[OutboxMessage]] = {}
            for row in rows:
                self._not_before.pop(row.id or 0, None)
                chats.setdefault(row.chat_id, []).append(row)
            await asyncio.gather(*(self._send_chat(chat_rows) for chat_rows in chats.values()))
            for event in sorted({row.event for row in rows}):
                if self.on_event_done is not None:
                    await self.on_event_done(event)
            return len(rows)

    async def _send_chat(self, rows: list[OutboxMessage]) -> None:
        """Send one chat's rows in order, each when the chat and the overall rate allow."""
        for index, row in enumerate(rows):
            wait = self.pacer.chat_wait(row.chat_id)
            if self._stopping:  # the bot stops: the rest is sent at the next start
                for later in rows[index:]:
                    await self._defer(later, 0.0)
                return
            if wait > DEFER_AFTER:
                for later in rows[index:]:
                    await self._defer(later, wait)
                return
            await asyncio.sleep(wait)
            await asyncio.sleep(self.pacer.reserve(row.chat_id))
            async with self._slots:
                await self._attempt(row)

    async def _defer(self, row: OutboxMessage, seconds: float) -> None:
        """Give a claimed row back untried: its chat must wait ``seconds``."""
        self._not_before[row.id or 0] = time.monotonic() + seconds
        await self._mark(row, "pending", undo_try=True, delay=seconds)

    async def _attempt(self, row: OutboxMessage) -> None:
        assert row.id is not None
        markup = (
            InlineKeyboardMarkup.de_json(row.reply_markup, self.bot) if row.reply_markup else None
        )
        try:
            message = await self._deliver(row, markup)
        except RetryAfter as error:
            seconds = _seconds(error.retry_after)
            self.stats.rate_limited += 1
            self.pacer.pause(seconds, row.chat_id)
            # A 429 is Telegram's pacing, not the message's fault: it does not use up a try.
            await self._mark(row, "pending", error=f"429 retry after {seconds:g}s", undo_try=True)
            return
        except Forbidden as error:
            await self._final(row, "unreachable", str(error))
            return
        except BadRequest as error:
            text = str(error).lower()
            state = (
                "unreachable" if "chat not found" in text or "user not found" in text else "failed"
            )
            await self._final(row, state, str(error))
            return
        except TimedOut as error:
            self.stats.timed_out += 1
            await self._retry(row, f"timed out: {error}", possible_duplicate=True)
            return
        except NetworkError as error:  # 5xx and connection failures
            await self._retry(row, str(error))
            return
        except TelegramError as error:
            await self._final(row, "failed", str(error))
            return
        self.stats.sent += 1
        self.stats.by_kind[row.kind] = self.stats.by_kind.get(row.kind, 0) + 1
        if row.possible_duplicate:
            self.stats.possible_duplicates += 1
        await self._mark(row, "sent", message_id=message.message_id)

    async def _deliver(self, row: OutboxMessage, markup: InlineKeyboardMarkup | None) -> Any:
        """One send: a text, or a photo or document with its caption."""
        if row.media in ("photo", "document") and row.payload is not None:
            upload = InputFile(row.payload, filename=row.filename or "file")
            caption = row.text or None
            if row.media == "photo":
                return await self.bot.send_photo(
                    row.chat_id,
                    upload,
                    caption=caption,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                )
            return await self.bot.send_document(
                row.chat_id,
                upload,
                caption=caption,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
            )
        return await self.bot.send_message(
            row.chat_id, row.text, parse_mode=ParseMode.HTML, reply_markup=markup
        )

    async def _retry(
        self, row: OutboxMessage, error: str, *, possible_duplicate: bool = False
    ) -> None:
        if row.attempts >= self.max_attempts:
            await self._final(row, "failed", error)
            return
        self.stats.retried += 1
        delay = min(60.0, self.backoff * 2 ** (row.attempts - 1)) * random.uniform(0.5, 1.5)
        self._not_before[row.id or 0] = time.monotonic() + delay
        await self._mark(
            row, "pending", error=error, possible_duplicate=possible_duplicate, delay=delay
        )

    async def _final(self, row: OutboxMessage, state: str, error: str) -> None:
        if state == "failed":
            self.stats.failed += 1
        else:
            self.stats.unreachable += 1
        log.warning("message %s to chat %s %s: %s", row.key, row.chat_id, state, error[:120])
        await self._mark(row, state, error=error)

    async def _mark(
        self,
        row: OutboxMessage,
        state: str,
        *,
        message_id: int | None = None,
        error: str | None = None,
        possible_duplicate: bool = False,
        undo_try: bool = False,
        delay: float = 0.0,
    ) -> None:
        """Record the outcome; a row given back is not due for ``delay`` real seconds, in the
        database too (as the clock counts them: a clock that stands still counts none, this
        process keeps the wait in memory), so that another process honours the backoff."""
        assert row.id is not None
        now = self.services.now()
        later = timedelta(seconds=delay * self.services.clock.speed)
        async with transaction(self.services.sessions) as session:
            await outbox_q.mark(
                session=session,
                row_id=row.id,
                state=state,
                now=now,
                next_attempt_at=now + later if later else None,
                message_id=message_id,
                error=error,
                possible_duplicate=possible_duplicate,
                undo_try=undo_try,
            )


def _seconds(value: Any) -> float:
    """``retry_after`` as seconds (an int, or a timedelta with PTB_TIMEDELTA)."""
    return float(value.total_seconds()) if hasattr(value, "total_seconds") else float(value)
