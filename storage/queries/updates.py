"""Processed update ids, so that an update Telegram delivers twice is handled once.

An update is claimed in the same transaction as the work it asks for (:func:`claim_update` in the
handler's unit of work), so a crash between the two can neither drop an update whose work was
never written nor let a redelivered update write it twice. Ids are each bot's own sequence: the
key is (bot, update id).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import col, delete, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.engine import insert_for
from storage.models import ProcessedUpdate

__all__ = ["KEEP_FOR", "claim_update", "is_processed", "prune_processed"]

# Telegram keeps undelivered updates for 24 hours; twice that is a safe horizon.
KEEP_FOR = timedelta(hours=48)
# The bot of rows written before the key had a bot (migration 0003): any bot's.
LEGACY_BOT = 0


async def is_processed(*, session: AsyncSession, bot_id: int, update_id: int) -> bool:
    """Whether the update was handled already (by this bot, or before bots were told apart)."""
    statement = select(ProcessedUpdate.update_id).where(
        ProcessedUpdate.update_id == update_id,
        or_(col(ProcessedUpdate.bot_id) == bot_id, col(ProcessedUpdate.bot_id) == LEGACY_BOT),
    )
    return (await session.exec(statement)).first() is not None


async def claim_update(
    *, session: AsyncSession, bot_id: int, update_id: int, now: datetime
) -> bool:
    """Record the update in the caller's transaction; return False if it was handled before.

    ``INSERT ... ON CONFLICT DO NOTHING`` lets the primary key decide a race between two
    deliveries of the same update without failing the transaction.
    """
    statement = (
        insert_for(session, ProcessedUpdate)
        .values(bot_id=bot_id, update_id=update_id, at=now)
        .on_conflict_do_nothing(index_elements=["bot_id", "update_id"])
    )
    result = await session.exec(statement)
    return bool(result.rowcount)


async def prune_processed(*, session: AsyncSession, now: datetime) -> int:
    """Forget update ids older than :data:`KEEP_FOR`; return how many."""
    cutoff = now - KEEP_FOR
    result = await session.exec(delete(ProcessedUpdate).where(col(ProcessedUpdate.at) < cutoff))
    return int(result.rowcount or 0)
