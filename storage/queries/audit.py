"""The audit log: every change after submission, and every roster or binding change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import AuditLog


def record(
    *,
    session: AsyncSession,
    unit_id: int | None,
    actor: str,
    action: str,
    entity: str,
    entity_id: int | None = None,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
    reason: str | None = None,
    actor_cadre_id: int | None = None,
    at: datetime,
) -> AuditLog:
    """Add an audit row to the session (the caller's transaction commits it with the change)."""
    row = AuditLog(
        unit_id=unit_id,
        at=at,
        actor=actor,
        actor_cadre_id=actor_cadre_id,
        action=action,
        entity=entity,
        entity_id=entity_id,
        old_value=old,
        new_value=new,
        reason=reason,
    )
    session.add(row)
    return row


async def entries(
    *, session: AsyncSession, unit_id: int, action: str | None = None, entity_id: int | None = None
) -> list[AuditLog]:
    query = select(AuditLog).where(AuditLog.unit_id == unit_id)
    if action is not None:
        query = query.where(AuditLog.action == action)
    if entity_id is not None:
        query = query.where(AuditLog.entity_id == entity_id)
    return list((await session.exec(query.order_by(col(AuditLog.id)))).all())
