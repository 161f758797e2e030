"""The outbox: one row per logical message the bot sends by itself.

A message is queued with a key naming it (the event and the recipient), so queueing it again
changes nothing, and is queued in the same transaction as the event's work, so it exists exactly
when the work does. The sender claims due rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two
bots on one database never claim the same row; SQLite has one writer at a time), sends them and
records the outcome. A row left ``sending`` by a process that died is claimed again once its
claim is older than :data:`SENDING_LEASE`, marked as a possible duplicate: it may have gone out.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, null, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.engine import insert_for
from storage.models import OutboxMessage, Period, PeriodKind, PeriodState

__all__ = [
    "FINAL_STATES",
    "SENDING_LEASE",
    "claim_due",
    "counts",
    "drop_pending_buttons",
    "enqueue",
    "event_rows",
    "event_states",
    "forget_buttons",
    "mark",
    "next_due",
    "pending_count",
    "stale_buttons",
]

FINAL_STATES = ("sent", "failed", "unreachable")
#: A send takes seconds; a row claimed longer ago belongs to a process that died.
SENDING_LEASE = timedelta(minutes=2)


async def enqueue(
    *,
    session: AsyncSession,
    unit_id: int,
    key: str,
    event: str,
    kind: str,
    chat_id: int,
    text: str,
    now: datetime,
    reply_markup: dict[str, Any] | None = None,
    period_id: int | None = None,
    cadre_id: int | None = None,
    media: str | None = None,
    payload: bytes | None = None,
    filename: str | None = None,
) -> bool:
    """Queue a message unless one with ``key`` exists; return whether it was new.

    ``media`` (``photo`` or ``document``) with ``payload`` and ``filename`` queues a file, with
    ``text`` as its caption."""
    statement = (
        insert_for(session, OutboxMessage)
        .values(
            unit_id=unit_id,
            key=key,
            event=event,
            kind=kind,
            chat_id=chat_id,
            text=text,
            reply_markup=reply_markup,
            period_id=period_id,
            cadre_id=cadre_id,
            media=media,
            payload=payload,
            filename=filename,
            state="pending",
            attempts=0,
            next_attempt_at=now,
            possible_duplicate=False,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["unit_id", "key"])
    )
    return bool((await session.exec(statement)).rowcount)


async def claim_due(
    *,
    session: AsyncSession,
    owner: str,
    now: datetime,
    limit: int,
    skip: set[int] | None = None,
    lease: timedelta = SENDING_LEASE,
) -> list[OutboxMessage]:
    """Claim up to ``limit`` rows due now, oldest first (a row abandoned mid-send included:
    claimed longer than ``lease`` ago, :data:`SENDING_LEASE` as the caller's clock counts it)."""
    due = or_(
        and_(col(OutboxMessage.state) == "pending", col(OutboxMessage.next_attempt_at) <= now),
        and_(
            col(OutboxMessage.state) == "sending",
            col(OutboxMessage.claimed_at) < now - lease,
        ),
    )
    statement = select(OutboxMessage).where(due)
    if skip:
        statement = statement.where(col(OutboxMessage.id).not_in(sorted(skip)))
    statement = statement.order_by(col(OutboxMessage.id)).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    rows = list((await session.exec(statement)).all())
    for row in rows:
        if row.state == "sending":
            row.possible_duplicate = True  # the process that claimed it may have sent it
        row.state = "sending"
        row.claimed_by = owner
        row.claimed_at = now
        row.attempts += 1
        session.add(row)
    await session.flush()
    return rows


async def mark(
    *,
    session: AsyncSession,
    row_id: int,
    state: str,
    now: datetime,
    message_id: int | None = None,
    error: str | None = None,
    next_attempt_at: datetime | None = None,
    possible_duplicate: bool | None = None,
    undo_try: bool = False,
) -> None:
    """Record how a send went: ``sent``, back to ``pending`` (a retry), ``failed``, ``unreachable``.

    ``undo_try``: the attempt does not count (Telegram asked to wait: a 429).
    """
    values: dict[str, Any] = {"state": state, "claimed_by": None}
    if undo_try:
        values["attempts"] = OutboxMessage.attempts - 1
    if state == "sent":
        values.update(sent_at=now, message_id=message_id)
    if error is not None:
        values["last_error"] = error[:200]
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    if possible_duplicate:
        values["possible_duplicate"] = True
    await session.exec(
        update(OutboxMessage).where(col(OutboxMessage.id) == row_id).values(**values)
    )


async def pending_count(*, session: AsyncSession, unit_id: int | None = None) -> int:
    """Rows not yet in a final state."""
    statement = (
        select(func.count())
        .select_from(OutboxMessage)
        .where(col(OutboxMessage.state).not_in(FINAL_STATES))
    )
    if unit_id is not None:
        statement = statement.where(OutboxMessage.unit_id == unit_id)
    return int((await session.exec(statement)).one())


async def next_due(*, session: AsyncSession) -> datetime | None:
    """When the next pending row is due (None if nothing is pending)."""
    statement = select(func.min(OutboxMessage.next_attempt_at)).where(
        col(OutboxMessage.state) == "pending"
    )
    return (await session.exec(statement)).one()


async def event_rows(
    *, session: AsyncSession, unit_id: int, event: str, states: tuple[str, ...] | None = None
) -> list[OutboxMessage]:
    """The rows of one event (only those in ``states``, if given), in the order queued."""
    statement = (
        select(OutboxMessage)
        .where(OutboxMessage.unit_id == unit_id)
        .where(OutboxMessage.event == event)
        .order_by(col(OutboxMessage.id))
    )
    if states is not None:
        statement = statement.where(col(OutboxMessage.state).in_(states))
    return list((await session.exec(statement)).all())


async def event_states(*, session: AsyncSession, unit_id: int, event: str) -> Counter[str]:
    """How many rows of one event are in each state (one aggregate, whatever the event's size)."""
    statement = (
        select(OutboxMessage.state, func.count())
        .where(OutboxMessage.unit_id == unit_id)
        .where(OutboxMessage.event == event)
        .group_by(col(OutboxMessage.state))
    )
    return Counter({state: int(n) for state, n in (await session.exec(statement)).all()})


async def counts(*, session: AsyncSession, unit_id: int) -> Counter[str]:
    """Rows by state (for ``kaohe periods list`` and the benchmark)."""
    statement = (
        select(OutboxMessage.state, func.count())
        .where(OutboxMessage.unit_id == unit_id)
        .group_by(col(OutboxMessage.state))
    )
    return Counter({state: int(n) for state, n in (await session.exec(statement)).all()})


# --- buttons of months that closed -----------------------------------------------------------

#: A month whose messages' start buttons are over: it is no longer to come nor open.
_OVER = (PeriodState.CLOSED.value, PeriodState.IN_REVIEW.value, PeriodState.PUBLISHED.value)


async def drop_pending_buttons(
    *, session: AsyncSession, unit_id: int, period_id: int, kinds: tuple[str, ...]
) -> int:
    """Messages of ``kinds`` of a month that is closing and not sent yet go without their buttons
    (the close's own transaction); return how many."""
    result = await session.exec(
        update(OutboxMessage)
        .where(col(OutboxMessage.unit_id) == unit_id)
        .where(col(OutboxMessage.period_id) == period_id)
        .where(col(OutboxMessage.kind).in_(kinds))
        .where(col(OutboxMessage.state) == "pending")
        .where(col(OutboxMessage.reply_markup).is_not(None))
        .values(reply_markup=null())
    )
    return int(result.rowcount or 0)


async def stale_buttons(
    *, session: AsyncSession, unit_id: int, kinds: tuple[str, ...], limit: int
) -> list[OutboxMessage]:
    """Sent messages of ``kinds`` of a month no longer open that may still show their buttons
    (their row keeps its ``reply_markup`` until :func:`forget_buttons`), oldest first."""
    statement = (
        select(OutboxMessage)
        .join(Period, col(Period.id) == col(OutboxMessage.period_id))
        .where(col(OutboxMessage.unit_id) == unit_id)
        .where(col(OutboxMessage.kind).in_(kinds))
        .where(col(OutboxMessage.state) == "sent")
        .where(col(OutboxMessage.message_id).is_not(None))
        .where(col(OutboxMessage.reply_markup).is_not(None))
        .where(col(Period.kind) == PeriodKind.MONTH.value)
        .where(col(Period.state).in_(_OVER))
        .order_by(col(OutboxMessage.id))
        .limit(limit)
    )
    return list((await session.exec(statement)).all())


async def forget_buttons(*, session: AsyncSession, row_ids: list[int]) -> None:
    """The messages ``row_ids`` show no buttons any more: their rows say so."""
    if row_ids:
        await session.exec(
            update(OutboxMessage)
            .where(col(OutboxMessage.id).in_(row_ids))
            .values(reply_markup=null())
        )
