"""The office's records and the progress figures the office and each cadre read.

* **Office records**: violations of the office rules (机关制度, :class:`DisciplineRecord`) and
  one-off rewards and deductions on the year-end bonus (:class:`BonusEntry`). Records are never
  deleted: undoing one stamps ``undone_at``/``undone_by_id`` with a conditional UPDATE that
  reports whether it changed anything, so a double tap undoes once and audits once. Every
  creation and every undo writes an audit row in the same unit of work.
* **Results** (``/myscore``): a cadre's latest stored results, read from ``result``.

Keyword-only functions that take the session; nothing here commits (the caller's unit of work
does, with :func:`storage.engine.transaction`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

from sqlmodel import col, func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.rules.raters import is_assessed
from storage.models import (
    BonusEntry,
    BonusEntryKind,
    Cadre,
    Department,
    DisciplineRecord,
    Period,
    Result,
)
from storage.queries import audit
from storage.queries.roster import departments, list_cadres

__all__ = [
    "ACTION_BONUS_CREATE",
    "ACTION_BONUS_UNDO",
    "ACTION_DISCIPLINE_CREATE",
    "ACTION_DISCIPLINE_UNDO",
    "DepartmentPeople",
    "PeriodResult",
    "UndoOutcome",
    "assessed_by_department",
    "assessed_cadre",
    "bonus_entries",
    "bonus_entry",
    "count_bonus_entries",
    "count_discipline_records",
    "discipline_record",
    "discipline_records",
    "latest_result",
    "record_bonus_entry",
    "record_discipline",
    "undo_bonus_entry",
    "undo_discipline",
]

# The audit log's action names (entities "discipline_record" and "bonus_entry").
ACTION_DISCIPLINE_CREATE = "discipline.create"
ACTION_DISCIPLINE_UNDO = "discipline.undo"
ACTION_BONUS_CREATE = "bonus.create"
ACTION_BONUS_UNDO = "bonus.undo"


class UndoOutcome(StrEnum):
    """What an undo did."""

    UNDONE = "undone"  # stamped now, and audited
    ALREADY = "already"  # undone before (a double tap): nothing changed
    NOT_FOUND = "not_found"  # no such record in this unit and month (or year): nothing changed


# --- who can be recorded --------------------------------------------------------------------


@dataclass(frozen=True)
class DepartmentPeople:
    """A department and its assessed people, by name."""

    department: Department
    people: list[Cadre]


async def assessed_by_department(*, session: AsyncSession, unit_id: int) -> list[DepartmentPeople]:
    """The unit's departments that have assessed people (active, cadre role), in roster order."""
    people = [c for c in await list_cadres(session=session, unit_id=unit_id) if is_assessed(c)]
    result = []
    for department in await departments(session=session, unit_id=unit_id):
        members = [c for c in people if c.department_id == department.id]
        if members:
            result.append(DepartmentPeople(department, members))
    return result


async def assessed_cadre(*, session: AsyncSession, unit_id: int, cadre_id: int) -> Cadre | None:
    """The cadre ``cadre_id`` if they belong to the unit, are active and are assessed; else None.

    The server-side check behind every "pick a person" button: a forged id, a leader who is not
    assessed or someone deactivated since the list was shown all come back None.
    """
    cadre = await session.get(Cadre, cadre_id)
    if cadre is None or cadre.unit_id != unit_id or not is_assessed(cadre):
        return None
    return cadre


# --- what both kinds of record share -------------------------------------------------------


# What the two kinds of office record have in common: the cadre they concern, and undo columns.
Record = DisciplineRecord | BonusEntry
R = TypeVar("R", DisciplineRecord, BonusEntry)


async def _add(
    *,
    session: AsyncSession,
    unit_id: int,
    record: R,
    actor: Cadre,
    now: datetime,
    action: str,
    entity: str,
    new: dict[str, Any],
    reason: str | None = None,
) -> R:
    """Add a record and the audit row of its creation; flush so the record has its id.

    A record whose flow token (``draft_token``) was recorded before for the same person is not
    added again: the one recorded then is returned (``record.id`` set, nothing audited), so a
    confirmation retried after a crash writes nothing twice.
    """
    model = type(record)
    if record.draft_token is not None:
        earlier = (
            await session.exec(
                select(model).where(
                    col(model.unit_id) == unit_id,
                    col(model.draft_token) == record.draft_token,
                    col(model.cadre_id) == record.cadre_id,
                )
            )
        ).first()
        if earlier is not None:
            return earlier
    session.add(record)
    await session.flush()
    audit.record(
        session=session,
        unit_id=unit_id,
        actor=actor.name,
        actor_cadre_id=actor.id,
        action=action,
        entity=entity,
        entity_id=record.id,
        old=None,
        new=new,
        reason=reason,
        at=now,
    )
    return record


async def _named(
    session: AsyncSession, model: type[Record], *where: Any
) -> list[tuple[Any, Cadre]]:
    """The records of ``model`` matching ``where``, with the person each concerns, oldest first."""
    rows = (
        await session.exec(
            select(model, Cadre)
            .join(Cadre, col(Cadre.id) == col(model.cadre_id))
            .where(*where)
            .order_by(col(model.id))
        )
    ).all()
    return [(record, cadre) for record, cadre in rows]


async def _count(session: AsyncSession, model: type[Record], *where: Any) -> int:
    """How many records of ``model`` match ``where`` (undone ones included)."""
    result = await session.exec(select(func.count()).select_from(model).where(*where))
    return int(result.one())


async def _cadre_of(session: AsyncSession, unit_id: int, cadre_id: int) -> Cadre:
    cadre = await session.get(Cadre, cadre_id)
    assert cadre is not None and cadre.unit_id == unit_id  # a record's person is the unit's
    return cadre


async def _undo(
    *,
    session: AsyncSession,
    unit_id: int,
    model: type[Record],
    record_id: int,
    actor: Cadre,
    now: datetime,
    action: str,
    entity: str,
    old: dict[str, Any],
) -> UndoOutcome:
    """Stamp a found record undone unless it already is, and audit it with its ``old`` values."""
    result = await session.exec(
        update(model)
        .where(col(model.id) == record_id)
        .where(col(model.undone_at).is_(None))
        .values(undone_at=now, undone_by_id=actor.id)
    )
    if not result.rowcount:
        return UndoOutcome.ALREADY
    audit.record(
        session=session,
        unit_id=unit_id,
        actor=actor.name,
        actor_cadre_id=actor.id,
        action=action,
        entity=entity,
        entity_id=record_id,
        old={**old, "undone_at": None},
        new={"undone_at": now.isoformat(), "undone_by_id": actor.id, "undone_by": actor.name},
        at=now,
    )
    return UndoOutcome.UNDONE


# --- discipline records (机关制度) ------------------------------------------------------------


async def record_discipline(
    *,
    session: AsyncSession,
    unit_id: int,
    period_id: int,
    cadre: Cadre,
    violation_key: str,
    deduction: Decimal,
    occurred_on: date,
    note: str | None,
    actor: Cadre,
    now: datetime,
    draft_token: str | None = None,
) -> DisciplineRecord:
    """Add a violation record and its audit row; flush so the record has its id (once per flow
    token and person: see :func:`_add`)."""
    record = DisciplineRecord(
        created_at=now,
        draft_token=draft_token,
        unit_id=unit_id,
        period_id=period_id,
        cadre_id=cadre.id or 0,
        violation_key=violation_key,
        deduction=deduction,
        occurred_on=occurred_on,
        note=note,
        created_by_id=actor.id,
    )
    return await _add(
        session=session,
        unit_id=unit_id,
        record=record,
        actor=actor,
        now=now,
        action=ACTION_DISCIPLINE_CREATE,
        entity="discipline_record",
        new={
            "period_id": period_id,
            "cadre_id": cadre.id,
            "cadre": cadre.name,
            "violation": violation_key,
            "deduction": str(deduction),
            "occurred_on": occurred_on.isoformat(),
            "note": note,
        },
    )


@dataclass(frozen=True)
class _Named:
    """A record with the person it concerns."""

    cadre: Cadre

    @property
    def name(self) -> str:
        return self.cadre.name


@dataclass(frozen=True)
class DisciplineView(_Named):
    record: DisciplineRecord


@dataclass(frozen=True)
class BonusView(_Named):
    entry: BonusEntry


async def discipline_records(
    *, session: AsyncSession, unit_id: int, period_id: int
) -> list[DisciplineView]:
    """The month's records, undone ones included (they are marked, never deleted), oldest first."""
    rows = await _named(
        session,
        DisciplineRecord,
        DisciplineRecord.unit_id == unit_id,
        DisciplineRecord.period_id == period_id,
    )
    return [DisciplineView(cadre=cadre, record=record) for record, cadre in rows]


async def count_discipline_records(*, session: AsyncSession, unit_id: int, period_id: int) -> int:
    """How many records the month holds (undone ones included)."""
    return await _count(
        session,
        DisciplineRecord,
        DisciplineRecord.unit_id == unit_id,
        DisciplineRecord.period_id == period_id,
    )


async def discipline_record(
    *, session: AsyncSession, unit_id: int, period_id: int, record_id: int
) -> DisciplineView | None:
    """One record of the unit's month, or None (another unit's or month's record is None too)."""
    record = await session.get(DisciplineRecord, record_id)
    if record is None or record.unit_id != unit_id or record.period_id != period_id:
        return None
    return DisciplineView(cadre=await _cadre_of(session, unit_id, record.cadre_id), record=record)


async def undo_discipline(
    *,
    session: AsyncSession,
    unit_id: int,
    period_id: int,
    record_id: int,
    actor: Cadre,
    now: datetime,
) -> UndoOutcome:
    """Mark a record of the month undone (once) and audit it; the row stays."""
    found = await discipline_record(
        session=session, unit_id=unit_id, period_id=period_id, record_id=record_id
    )
    if found is None:
        return UndoOutcome.NOT_FOUND
    record = found.record
    return await _undo(
        session=session,
        unit_id=unit_id,
        model=DisciplineRecord,
        record_id=record_id,
        actor=actor,
        now=now,
        action=ACTION_DISCIPLINE_UNDO,
        entity="discipline_record",
        old={
            "cadre_id": record.cadre_id,
            "cadre": found.name,
            "violation": record.violation_key,
            "deduction": str(record.deduction),
            "occurred_on": record.occurred_on.isoformat(),
        },
    )


# --- rewards and deductions on the year-end bonus --------------------------------------------


async def record_bonus_entry(
    *,
    session: AsyncSession,
    unit_id: int,
    year: int,
    cadre: Cadre,
    kind: BonusEntryKind,
    amount: Decimal,
    reason: str,
    actor: Cadre,
    now: datetime,
    draft_token: str | None = None,
) -> BonusEntry:
    """Add a reward or deduction and its audit row; flush so the entry has its id (once per
    flow token and person: see :func:`_add`)."""
    if amount <= 0:
        raise ValueError("the amount must be greater than 0")
    if not reason.strip():
        raise ValueError("a reward or deduction needs a written reason")
    entry = BonusEntry(
        created_at=now,
        draft_token=draft_token,
        unit_id=unit_id,
        year=year,
        cadre_id=cadre.id or 0,
        kind=kind.value,
        amount=amount,
        reason=reason,
        created_by_id=actor.id,
    )
    return await _add(
        session=session,
        unit_id=unit_id,
        record=entry,
        actor=actor,
        now=now,
        action=ACTION_BONUS_CREATE,
        entity="bonus_entry",
        new={
            "year": year,
            "cadre_id": cadre.id,
            "cadre": cadre.name,
            "kind": kind.value,
            "amount": str(amount),
        },
        reason=reason,
    )


async def bonus_entries(
    *, session: AsyncSession, unit_id: int, year: int, kind: BonusEntryKind
) -> list[BonusView]:
    """The year's rewards (or deductions), undone ones included, oldest first."""
    rows = await _named(
        session,
        BonusEntry,
        BonusEntry.unit_id == unit_id,
        BonusEntry.year == year,
        BonusEntry.kind == kind.value,
    )
    return [BonusView(cadre=cadre, entry=entry) for entry, cadre in rows]


async def count_bonus_entries(
    *, session: AsyncSession, unit_id: int, year: int, kind: BonusEntryKind
) -> int:
    """How many rewards (or deductions) the year holds (undone ones included)."""
    return await _count(
        session,
        BonusEntry,
        BonusEntry.unit_id == unit_id,
        BonusEntry.year == year,
        BonusEntry.kind == kind.value,
    )


async def bonus_entry(
    *, session: AsyncSession, unit_id: int, year: int, kind: BonusEntryKind, entry_id: int
) -> BonusView | None:
    """One reward (or deduction) of the unit's year, or None."""
    entry = await session.get(BonusEntry, entry_id)
    if entry is None or entry.unit_id != unit_id or entry.year != year or entry.kind != kind:
        return None
    return BonusView(cadre=await _cadre_of(session, unit_id, entry.cadre_id), entry=entry)


async def undo_bonus_entry(
    *,
    session: AsyncSession,
    unit_id: int,
    year: int,
    kind: BonusEntryKind,
    entry_id: int,
    actor: Cadre,
    now: datetime,
) -> UndoOutcome:
    """Mark a reward or deduction of the year undone (once) and audit it; the row stays."""
    found = await bonus_entry(
        session=session, unit_id=unit_id, year=year, kind=kind, entry_id=entry_id
    )
    if found is None:
        return UndoOutcome.NOT_FOUND
    entry = found.entry
    return await _undo(
        session=session,
        unit_id=unit_id,
        model=BonusEntry,
        record_id=entry_id,
        actor=actor,
        now=now,
        action=ACTION_BONUS_UNDO,
        entity="bonus_entry",
        old={
            "cadre_id": entry.cadre_id,
            "cadre": found.name,
            "kind": entry.kind,
            "amount": str(entry.amount),
            "year": entry.year,
            "reason": entry.reason,
        },
    )


# --- results (/myscore) -----------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodResult:
    """A stored result with the period it belongs to."""

    period: Period
    result: Result

    @property
    def breakdown(self) -> dict[str, Any]:
        return dict(self.result.breakdown or {})


async def latest_result(
    *, session: AsyncSession, unit_id: int, cadre_id: int, kind: str, states: Iterable[str]
) -> PeriodResult | None:
    """The cadre's result of the latest period of ``kind`` in one of ``states``, or None."""
    row = (
        await session.exec(
            select(Result, Period)
            .join(Period, col(Period.id) == col(Result.period_id))
            .where(Result.unit_id == unit_id, Result.cadre_id == cadre_id)
            .where(Period.kind == kind, col(Period.state).in_(list(states)))
            .order_by(col(Period.year).desc(), col(Period.number).desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    result, period = row
    return PeriodResult(period=period, result=result)
