"""Old buttons off: when a month closes, its start buttons leave the scheduler's messages.

The opening, the reminders and the deadline notice of a month carry buttons that start its
tasks (self-score, rating, ballot). Once the month is closed they can only be refused ("closed"),
so they are taken off:

* in the close's own transaction, messages of the month not sent yet lose their buttons
  (:func:`drop_pending`): they go out without them;
* after that transaction, every message of a closed month still showing its buttons has them
  removed (``editMessageReplyMarkup``) and its outbox row forgets them (:func:`take_off`).

The second step is safe to repeat and to run in two bots at once: a message is forgotten once
its buttons are off or can no longer be taken off (the chat blocked the bot, the message is
gone); taking them off twice is a "not modified" Telegram answers and nothing else. A 429 or a
network failure ends the round, and what is left waits for the next: the scheduler runs it after
each close and when it starts, so a process that died after a close catches up when it comes
back. Edits share the sender's pacing (:class:`bot.jobs.sender.Pacer`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.core.services import Services
from storage.engine import transaction
from storage.queries import outbox as outbox_q

__all__ = ["BUTTON_KINDS", "drop_pending", "take_off"]

log = logging.getLogger("kaohe.scheduler")

#: The scheduler's messages whose buttons start a month's tasks.
BUTTON_KINDS = ("opening", "reminder", "extended")
#: Messages looked at a round trip to the database.
BATCH = 200


async def drop_pending(session: AsyncSession, *, unit_id: int, period_id: int) -> int:
    """The month ``period_id`` is closing: its messages not sent yet go without buttons."""
    return await outbox_q.drop_pending_buttons(
        session=session, unit_id=unit_id, period_id=period_id, kinds=BUTTON_KINDS
    )


async def take_off(services: Services, bot: Any, pacer: Any = None) -> int:
    """Take the buttons off every message of a closed month that still shows them; return how
    many messages were done with. ``pacer`` (the sender's) spaces the edits."""
    done = 0
    while True:
        async with services.sessions() as session:
            rows = await outbox_q.stale_buttons(
                session=session, unit_id=services.unit, kinds=BUTTON_KINDS, limit=BATCH
            )
        finished: list[int] = []
        stopped = False
        for row in rows:
            assert row.id is not None
            if row.reply_markup:
                if pacer is not None:
                    await asyncio.sleep(pacer.reserve(row.chat_id))
                try:
                    await bot.edit_message_reply_markup(
                        chat_id=row.chat_id, message_id=row.message_id, reply_markup=None
                    )
                except (BadRequest, Forbidden) as error:
                    # Not modified (off already), gone, or the chat blocked the bot: nothing
                    # more can be done for this message.
                    log.debug("buttons of %s: %s", row.key, error)
                except RetryAfter as error:
                    if pacer is not None:
                        wait = error.retry_after
                        seconds = wait.total_seconds() if hasattr(wait, "total_seconds") else wait
                        pacer.pause(float(seconds), row.chat_id)
                    stopped = True
                    break
                except NetworkError:  # timeouts and 5xx: the next round tries again
                    stopped = True
                    break
                except TelegramError as error:
                    log.warning("buttons of %s not taken off: %s", row.key, error)
            finished.append(row.id)
        if finished:
            async with transaction(services.sessions) as session:
                await outbox_q.forget_buttons(session=session, row_ids=finished)
            done += len(finished)
        if stopped or len(rows) < BATCH:
            if done:
                log.info("took the buttons off %d messages of closed months", done)
            return done
