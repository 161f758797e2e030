"""Processed update ids, so that an update Telegram delivers twice is handled once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import col, delete
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.engine import insert_for
from storage.models import ProcessedUpdate

# Telegram keeps undelivered updates for 24 hours; twice that is a safe horizon.
KEEP_FOR = timedelta(hours=48)


async def claim_update(*, session: AsyncSession, update_id: int, now: datetime) -> bool:
    """Record ``update_id`` in the caller's transaction; return False if it was handled before.

    ``INSERT ... ON CONFLICT DO NOTHING`` lets the primary key decide a race between two
    deliveries of the same update without failing the transaction.
    """
    statement = (
        insert_for(session, ProcessedUpdate)
        .values(update_id=update_id, at=now)
        .on_conflict_do_nothing(index_elements=["update_id"])
    )
    result = await session.exec(statement)  # type: ignore[call-overload]
    return bool(result.rowcount)


async def prune_processed(*, session: AsyncSession, now: datetime) -> int:
    cutoff = now - KEEP_FOR
    result = await session.exec(delete(ProcessedUpdate).where(col(ProcessedUpdate.at) < cutoff))
    return int(result.rowcount or 0)
