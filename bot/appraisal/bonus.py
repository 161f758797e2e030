"""The office's bonus bases (奖金基数) for a year: importing them, and what that does to a year
already scored.

The year's result carries each cadre's year-end bonus, computed from the base the office imported
for that cadre, else the scheme's ``bonus.base`` (:func:`bot.appraisal.results.compute_summary`).
An import replaces the year's bases all at once (a cadre left out of the file falls back to the
default) in one audited step (``bonus.import``, with the counts and each base that changed).

While the year is not scored yet, that is all: the bases are used when the year closes. Once it
is (its results are stored and its bonus sheet may have gone out), an import that changes a base
is refused unless forced; forced, the year is scored again in the same transaction, each changed
result audited by the engine, so that the stored bonuses, ``kaohe report bonus`` and ``/report``
follow the new bases. No Telegram here; the clock comes in as ``now``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.appraisal.results import check_now, score_period
from bot.rules.bonus import BonusRow
from storage.models import Period, PeriodKind, Result
from storage.queries import audit
from storage.queries import periods as periods_q
from storage.queries import results as results_q
from storage.queries import reviews as reviews_q
from storage.queries import roster as roster_q
from storage.queries.bonus import resolve_bases

__all__ = ["ACTION_IMPORT", "BonusChange", "BonusImport", "ImportOutcome", "import_bases"]

ACTION_IMPORT = "bonus.import"


class ImportOutcome(StrEnum):
    """What an import did; the CLI words each one."""

    IMPORTED = "imported"  # the bases are stored (and a scored year scored again, if forced)
    UNCHANGED = "unchanged"  # the file holds the bases already stored: nothing written
    YEAR_CLOSED = "year_closed"  # refused: the year is scored; only a forced import rescores it


@dataclass(frozen=True)
class Person:
    """A cadre as the office names them."""

    cadre_id: int
    name: str
    department: str


@dataclass(frozen=True)
class BonusChange:
    """A cadre whose stored year-end bonus a forced import changed."""

    person: Person
    old: Decimal | None
    new: Decimal | None


@dataclass
class BonusImport:
    """What an import of the year's bases found and did; each cadre is in at most one list."""

    year: int
    outcome: ImportOutcome
    rows: int
    added: list[Person] = field(default_factory=list)
    changed: list[Person] = field(default_factory=list)
    unchanged: list[Person] = field(default_factory=list)
    removed: list[Person] = field(default_factory=list)  # back to the scheme's default
    #: The year period when the year is scored already (its code and state name it).
    closed_year: Period | None = None
    rescored: list[BonusChange] = field(default_factory=list)

    @property
    def changes(self) -> bool:
        """Whether the file differs from the bases stored."""
        return bool(self.added or self.changed or self.removed)


def _amount(result: Result) -> Decimal | None:
    bonus = (result.breakdown or {}).get("bonus")
    if not isinstance(bonus, dict) or bonus.get("amount") is None:
        return None
    return Decimal(str(bonus["amount"]))


async def _people(session: AsyncSession, unit_id: int) -> dict[int, Person]:
    names = {d.id: d.name for d in await roster_q.departments(session=session, unit_id=unit_id)}
    return {
        c.id: Person(c.id, c.name, names.get(c.department_id, ""))
        for c in await roster_q.list_cadres(session=session, unit_id=unit_id, active_only=False)
        if c.id is not None
    }


def _texts(bases: Mapping[int, Decimal], ids: Sequence[int]) -> dict[str, str]:
    return {str(cid): str(bases[cid]) for cid in ids}


async def import_bases(
    *,
    session: AsyncSession,
    unit_id: int,
    year: int,
    rows: Sequence[BonusRow],
    source: str,
    now: datetime,
    force: bool = False,
    actor: str = "cli",
) -> BonusImport:
    """Replace the year's bonus bases with ``rows`` (every row already checked on its own).

    Raise :class:`storage.queries.bonus.BonusImportError` when a row names nobody assessed in
    the unit (nothing written). A file that changes nothing writes nothing. With the year scored
    already, refuse (``YEAR_CLOSED``) unless ``force``, and then score the year again.
    """
    now = check_now(now)
    wanted, _ = await resolve_bases(session=session, unit_id=unit_id, rows=rows)
    old = await reviews_q.bonus_bases(session=session, unit_id=unit_id, year=year)
    people = await _people(session, unit_id)
    order = {cid: index for index, cid in enumerate(people)}

    def listed(ids: Sequence[int] | set[int]) -> list[Person]:
        return [people[cid] for cid in sorted(ids, key=lambda c: order.get(c, len(order)))]

    report = BonusImport(
        year=year,
        outcome=ImportOutcome.IMPORTED,
        rows=len(rows),
        added=listed({cid for cid in wanted if cid not in old}),
        changed=listed({cid for cid in wanted if cid in old and old[cid] != wanted[cid]}),
        unchanged=listed({cid for cid in wanted if old.get(cid) == wanted[cid]}),
        removed=listed({cid for cid in old if cid not in wanted}),
    )
    the_year = await periods_q.get_period(
        session=session, unit_id=unit_id, kind=PeriodKind.YEAR, year=year, number=1
    )
    scored = the_year is not None and the_year.state in periods_q.CLOSED_STATES
    report.closed_year = the_year if scored else None
    if not report.changes:
        report.outcome = ImportOutcome.UNCHANGED
        return report
    if scored and not force:
        report.outcome = ImportOutcome.YEAR_CLOSED
        return report

    await reviews_q.replace_bonus_bases(
        session=session, unit_id=unit_id, year=year, bases=wanted, source=source, now=now
    )
    before: dict[int, Decimal | None] = {}
    if scored:
        assert the_year is not None and the_year.id is not None
        stored = await results_q.results_for(session=session, period_id=the_year.id)
        before = {r.cadre_id: _amount(r) for r in stored}
        for result in await score_period(session=session, period=the_year, now=now, actor=actor):
            new = _amount(result)
            if before.get(result.cadre_id) != new and result.cadre_id in people:
                report.rescored.append(
                    BonusChange(people[result.cadre_id], before.get(result.cadre_id), new)
                )
    touched = [p.cadre_id for p in (*report.changed, *report.removed)]
    new_ones = [p.cadre_id for p in (*report.added, *report.changed)]
    values: dict[str, Any] = {
        "year": year,
        "bases": len(wanted),
        "added": len(report.added),
        "changed": len(report.changed),
        "removed": len(report.removed),
        "unchanged": len(report.unchanged),
        "forced": bool(scored),
        "rescored": len(report.rescored),
    }
    audit.record(
        session=session,
        unit_id=unit_id,
        actor=actor,
        action=ACTION_IMPORT,
        entity="bonus_base",
        entity_id=the_year.id if the_year is not None else None,
        old={"year": year, "bases": len(old), "values": _texts(old, touched)},
        new={**values, "values": _texts(wanted, new_ones)},
        reason=source[:200],
        at=now,
    )
    await session.flush()
    return report
