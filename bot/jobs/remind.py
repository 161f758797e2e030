"""A reminder the office asks for: "remind the missing" on ``/status``, while a month is open.

The same personal message as the scheduled reminders (:meth:`bot.jobs.notices.Notices.pending`:
exactly what each person has left, with start buttons; nobody on leave), queued in the outbox
in the transaction of the press that asked for it, with an audit row. Each message's outbox key
carries the press's token, so one press queues one reminder a person, however often it is
delivered or retried. The chat reaches this through ``Services.remind_pending``, which the
composition root wires: the chat layer may not import the jobs.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.appraisal.progress import month_snapshot
from bot.core.services import Services
from bot.jobs.notices import Notices, on_leave_at
from storage.models import Period
from storage.queries import audit
from storage.queries import calendar as calendar_q

__all__ = ["ACTION_REMIND", "remind_pending"]

ACTION_REMIND = "period.remind"


async def remind_pending(
    services: Services,
    *,
    session: AsyncSession,
    period: Period,
    key: str,
    actor: str,
    actor_cadre_id: int | None,
    now: datetime,
) -> int:
    """Queue the reminder of everyone still pending in ``period`` now; return how many."""
    snapshot = await month_snapshot(session=session, period=period)
    today = now.astimezone(services.settings.zone).date()
    leave = await calendar_q.leave_between(
        session=session, unit_id=period.unit_id, first=today, last=today
    )
    queued = await Notices(services).pending(
        session, f"remind@{period.id}:{key}", snapshot, on_leave_at(leave, today), now
    )
    audit.record(
        session=session,
        unit_id=period.unit_id,
        actor=actor,
        actor_cadre_id=actor_cadre_id,
        action=ACTION_REMIND,
        entity="period",
        entity_id=period.id,
        new={"reminded": queued, "press": key},
        at=now,
    )
    return queued
