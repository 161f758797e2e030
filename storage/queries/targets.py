"""Target queries: each cadre's annual targets (目标管理考核细则) and importing the office's sheet.

The sheet is the office's source of truth for a cadre's year, so an import replaces that year's
targets of every cadre in the file, and only theirs: a sheet for one department does not wipe the
others. Targets are matched by code and updated in place, because monthly answers (``RatingLine``)
point at them; a target that already has answers cannot be dropped, it can only be changed.
Every change is audited with its old and new values. Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.rules.roles import Role
from bot.rules.roster import RosterError, RosterIssue
from bot.rules.scheme import Scheme
from bot.rules.targets import ResolvedTarget, TargetRow, resolve_targets
from storage.models import Cadre, RatingLine, Target
from storage.queries import audit
from storage.queries.roster import departments, list_cadres

__all__ = [
    "ACTION_CREATE",
    "ACTION_DELETE",
    "ACTION_UPDATE",
    "TargetImportError",
    "TargetImportReport",
    "TargetRef",
    "import_targets",
    "list_targets",
    "targets_in_use",
]

# The audit log's action names for target changes (entity "target").
ACTION_CREATE = "target.create"
ACTION_UPDATE = "target.update"
ACTION_DELETE = "target.delete"


class TargetImportError(RosterError):
    """The rows are fine on their own but clash with the roster, the scheme or the database."""


@dataclass(frozen=True, slots=True)
class TargetRef:
    """A target as the office names it: whose, and which code."""

    name: str
    department: str
    code: str


@dataclass(slots=True)
class TargetImportReport:
    """What an import did; each target is in exactly one list."""

    year: int
    people: list[tuple[str, str]] = field(default_factory=list)  # (department, name)
    created: list[TargetRef] = field(default_factory=list)
    updated: list[TargetRef] = field(default_factory=list)
    unchanged: list[TargetRef] = field(default_factory=list)
    removed: list[TargetRef] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether the import wrote anything."""
        return bool(self.created or self.updated or self.removed)


async def list_targets(
    *,
    session: AsyncSession,
    unit_id: int,
    year: int,
    cadre_ids: Collection[int] | None = None,
) -> list[Target]:
    """The unit's targets of a year, by cadre, item and code."""
    statement = select(Target).where(Target.unit_id == unit_id, Target.year == year)
    if cadre_ids is not None:
        statement = statement.where(col(Target.cadre_id).in_(list(cadre_ids)))
    statement = statement.order_by(
        col(Target.cadre_id), col(Target.item_key), col(Target.code), col(Target.id)
    )
    return list((await session.exec(statement)).all())


async def targets_in_use(*, session: AsyncSession, target_ids: Collection[int]) -> set[int]:
    """The targets some rating line (a self-score or a head's rating) already answers."""
    if not target_ids:
        return set()
    statement = select(RatingLine.target_id).where(col(RatingLine.target_id).in_(list(target_ids)))
    return {target_id for target_id in (await session.exec(statement)).all() if target_id}


def _snapshot(target: Target) -> dict[str, Any]:
    """The audited fields of a target, as plain JSON (figures as exact strings)."""

    def text(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    return {
        "cadre_id": target.cadre_id,
        "year": target.year,
        "item_key": target.item_key,
        "code": target.code,
        "title": target.title,
        "quantified": target.quantified,
        "target_value": text(target.target_value),
        "measure_unit": target.measure_unit,
        "monthly": target.monthly,
        "points": text(target.points),
    }


def _same(target: Target, wanted: ResolvedTarget) -> bool:
    row = wanted.source
    return (
        target.code == row.code
        and target.item_key == wanted.item_key
        and target.title == row.title
        and target.quantified == wanted.quantified
        and target.target_value == row.target
        and target.measure_unit == row.unit
        and target.points == row.points
        and target.monthly == _monthly(row.monthly)
    )


def _apply(target: Target, wanted: ResolvedTarget) -> None:
    row = wanted.source
    target.code = row.code
    target.item_key = wanted.item_key
    target.title = row.title
    target.quantified = wanted.quantified
    target.target_value = row.target
    target.measure_unit = row.unit
    target.points = row.points
    target.monthly = _monthly(row.monthly)


def _monthly(figures: tuple[Decimal | None, ...] | None) -> list[str | None] | None:
    return None if figures is None else [None if f is None else str(f) for f in figures]


async def _people(
    session: AsyncSession, unit_id: int, rows: Sequence[TargetRow]
) -> tuple[dict[tuple[str, str], Cadre], list[RosterIssue]]:
    """The cadre each row names (department, name), or an issue saying why there is none."""
    names = {d.id: d.name for d in await departments(session=session, unit_id=unit_id)}
    everyone = await list_cadres(session=session, unit_id=unit_id, active_only=False)
    by_key = {(names.get(c.department_id, ""), c.name): c for c in everyone}
    found: dict[tuple[str, str], Cadre] = {}
    issues: list[RosterIssue] = []
    reported: set[tuple[str, str]] = set()
    for row in rows:
        cadre = by_key.get(row.person)
        params = {"name": row.name, "department": row.department}
        if cadre is not None and cadre.active and cadre.has(Role.CADRE):
            found[row.person] = cadre
            continue
        if row.person in reported:
            continue
        reported.add(row.person)
        if cadre is None:
            others = sorted(dept for dept, name in by_key if name == row.name)
            issues.append(
                RosterIssue(row.row, "name", "unknown_person", {**params, "elsewhere": others})
            )
        elif not cadre.active:
            issues.append(RosterIssue(row.row, "name", "inactive_person", params))
        else:
            issues.append(RosterIssue(row.row, "name", "not_assessed", params))
    return found, issues


async def import_targets(
    *,
    session: AsyncSession,
    unit_id: int,
    year: int,
    rows: Sequence[TargetRow],
    scheme: Scheme,
    actor: str = "cli",
    actor_cadre_id: int | None = None,
    now: datetime,
) -> TargetImportReport:
    """Replace the year's targets of every cadre in ``rows``; flush and audit, do not commit.

    Everything is checked before the first write (raising :class:`TargetImportError` with every
    problem), so a bad row never leaves half an import behind. Items are checked against
    ``scheme``, the scheme in force: targets are for the year ahead.
    """
    rows = list(rows)
    people, issues = await _people(session, unit_id, rows)
    categories = {
        person: Scheme.category_for(has_village=cadre.is_village_stationed)
        for person, cadre in people.items()
    }
    resolved, resolve_issues = resolve_targets(rows, categories, scheme)
    issues.extend(resolve_issues)

    cadre_ids = {cadre.id for cadre in people.values() if cadre.id is not None}
    existing = await list_targets(session=session, unit_id=unit_id, year=year, cadre_ids=cadre_ids)
    by_code = {(t.cadre_id, t.code.casefold()): t for t in existing}
    wanted_keys = {(people[r.source.person].id, r.source.code.casefold()) for r in resolved}
    leaving = [t for key, t in by_code.items() if key not in wanted_keys]
    in_use = await targets_in_use(
        session=session, target_ids=[t.id for t in leaving if t.id is not None]
    )
    owner = {cadre.id: person for person, cadre in people.items()}
    for target in leaving:
        if target.id in in_use:
            department, name = owner[target.cadre_id]
            params = {
                "name": name,
                "department": department,
                "code": target.code,
                "title": target.title,
            }
            issues.append(RosterIssue(None, "code", "target_in_use", params))
    if issues:
        raise TargetImportError(issues)

    # Validation is over: from here on, only writes.
    report = TargetImportReport(year=year, people=sorted(people))

    def ref(cadre_id: int, code: str) -> TargetRef:
        department, name = owner[cadre_id]
        return TargetRef(name=name, department=department, code=code)

    def log(
        action: str, target: Target, old: dict[str, Any] | None, new: dict[str, Any] | None
    ) -> None:
        audit.record(
            session=session,
            unit_id=unit_id,
            actor=actor,
            actor_cadre_id=actor_cadre_id,
            action=action,
            entity="target",
            entity_id=target.id,
            old=old,
            new=new,
            at=now,
        )

    for target in leaving:
        log(ACTION_DELETE, target, _snapshot(target), None)
        report.removed.append(ref(target.cadre_id, target.code))
        await session.delete(target)
    await session.flush()

    for wanted in resolved:
        cadre = people[wanted.source.person]
        assert cadre.id is not None
        current = by_code.get((cadre.id, wanted.source.code.casefold()))
        if current is None:
            current = Target(
                unit_id=unit_id,
                cadre_id=cadre.id,
                year=year,
                item_key=wanted.item_key,
                code=wanted.source.code,
                title=wanted.source.title,
                points=wanted.source.points,
            )
            _apply(current, wanted)
            session.add(current)
            await session.flush()
            log(ACTION_CREATE, current, None, _snapshot(current))
            report.created.append(ref(cadre.id, current.code))
        elif _same(current, wanted):
            report.unchanged.append(ref(cadre.id, current.code))
        else:
            old = _snapshot(current)
            _apply(current, wanted)
            session.add(current)
            new = _snapshot(current)
            changed = [key for key in new if old[key] != new[key]]
            log(ACTION_UPDATE, current, {k: old[k] for k in changed}, {k: new[k] for k in changed})
            report.updated.append(ref(cadre.id, current.code))
    await session.flush()
    return report
