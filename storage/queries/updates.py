"""Processed update ids, so that an update Telegram delivers twice is handled once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, delete
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.engine import SessionFactory
from storage.models import ProcessedUpdate, utcnow

# Telegram keeps undelivered updates for 24 hours; twice that is a safe horizon.
KEEP_FOR = timedelta(hours=48)


async def claim_update(*, sessions: SessionFactory, update_id: int) -> bool:
    """Record ``update_id``; return False if it was handled before.

    The primary key decides races between two deliveries of the same update.
    """
    async with sessions() as session:
        session.add(ProcessedUpdate(update_id=update_id))
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()
            return False
    return True


async def prune_processed(*, session: AsyncSession, now: datetime | None = None) -> int:
    cutoff = (now or utcnow()) - KEEP_FOR
    result = await session.exec(delete(ProcessedUpdate).where(col(ProcessedUpdate.at) < cutoff))
    return int(result.rowcount or 0)
