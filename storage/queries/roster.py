"""Roster queries: the unit, its departments and people, and importing the office's roster file.

The roster file is the office's source of truth for who is who, so an import makes the database
look like the file: people are matched by name and department, updated in place (keeping their
Telegram binding), and every change is audited with its old and new values. Nothing here commits:
the caller's unit of work decides, so that a whole import lands or nothing does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from bot.rules.raters import is_assessed
from bot.rules.roles import Role, decode_roles, encode_roles
from bot.rules.roster import RosterError, RosterIssue, RosterRow, normalise_name, validate_rows
from storage.models import AuditLog, Cadre, Department, Unit

__all__ = [
    "ImportReport",
    "Naming",
    "PersonRef",
    "RosterImportError",
    "department_members",
    "departments",
    "ensure_unit",
    "find_cadres_by_name",
    "get_cadre_by_telegram",
    "heads_of",
    "import_roster",
    "list_cadres",
    "namesakes",
    "naming",
    "roster_rows",
    "supervised_heads",
]

# The audit log's action names for roster changes (entity "cadre").
ACTION_CREATE = "roster.create"
ACTION_UPDATE = "roster.update"
ACTION_REACTIVATE = "roster.reactivate"
ACTION_DEACTIVATE = "roster.deactivate"


class RosterImportError(RosterError):
    """The rows are fine on their own but clash with what the database holds; nothing changed."""


@dataclass(frozen=True, slots=True)
class PersonRef:
    """A person as the office names them: name and department."""

    name: str
    department: str


@dataclass(slots=True)
class ImportReport:
    """What an import did, person by person; each person is in exactly one list.

    ``kept`` are the active people missing from the file who stayed active because the import
    was not a prune: not a change, but the office should know the file and the roster differ.
    """

    created: list[PersonRef] = field(default_factory=list)
    updated: list[PersonRef] = field(default_factory=list)
    unchanged: list[PersonRef] = field(default_factory=list)
    reactivated: list[PersonRef] = field(default_factory=list)
    deactivated: list[PersonRef] = field(default_factory=list)
    kept: list[PersonRef] = field(default_factory=list)
    departments_created: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "created": len(self.created),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "reactivated": len(self.reactivated),
            "deactivated": len(self.deactivated),
            "kept": len(self.kept),
        }

    @property
    def changed(self) -> bool:
        """Whether the import wrote anything (and so whether there is anything to commit)."""
        return bool(
            self.created
            or self.updated
            or self.reactivated
            or self.deactivated
            or self.departments_created
        )


# --- the unit and its departments -----------------------------------------------------------


async def ensure_unit(*, session: AsyncSession, name: str, timezone: str) -> Unit:
    """Return the unit called ``name``, creating it (or correcting its time zone) as needed.

    The settings name the unit and its time zone; the database follows them, so that start-up and
    the CLI can call this every time without thinking about whether it already exists.
    """
    unit = (await session.exec(select(Unit).where(Unit.name == name))).first()
    if unit is None:
        unit = Unit(name=name, timezone=timezone)
        session.add(unit)
        await session.flush()
    elif unit.timezone != timezone:
        unit.timezone = timezone
        session.add(unit)
        await session.flush()
    return unit


async def get_unit(*, session: AsyncSession, unit_id: int) -> Unit | None:
    """The unit ``unit_id`` (the caller's own: a handler knows its unit from the settings)."""
    return await session.get(Unit, unit_id)


async def departments(*, session: AsyncSession, unit_id: int) -> list[Department]:
    """The unit's departments in the roster's order."""
    statement = (
        select(Department)
        .where(Department.unit_id == unit_id)
        .order_by(col(Department.position), col(Department.id))
    )
    return list((await session.exec(statement)).all())


# --- people ---------------------------------------------------------------------------------


# The roster's order, everywhere people are listed: departments as the office lists them, and
# within a department the rank the roster file gives (the party secretary first, not whoever
# sorts first by code point); the id breaks a tie (people missing from a partial import).
ROSTER_ORDER = (col(Department.position), col(Department.id), col(Cadre.position), col(Cadre.id))


def _ordered_cadres(unit_id: int) -> SelectOfScalar[Cadre]:
    return (
        select(Cadre)
        .join(Department, col(Department.id) == col(Cadre.department_id))
        .where(Cadre.unit_id == unit_id)
        .order_by(*ROSTER_ORDER)
    )


async def list_cadres(
    *, session: AsyncSession, unit_id: int, active_only: bool = True
) -> list[Cadre]:
    """Everyone on the unit's roster (whatever their roles), in the roster's order."""
    statement = _ordered_cadres(unit_id)
    if active_only:
        statement = statement.where(col(Cadre.active).is_(True))
    return list((await session.exec(statement)).all())


async def assessed_cadres(*, session: AsyncSession, unit_id: int) -> list[Cadre]:
    """Everyone assessed now (:func:`bot.rules.raters.is_assessed`), in roster order."""
    return [c for c in await list_cadres(session=session, unit_id=unit_id) if is_assessed(c)]


async def unit_cadre(*, session: AsyncSession, unit_id: int, cadre_id: int) -> Cadre | None:
    """The person ``cadre_id`` if they are on the unit's roster; None for anyone else's id."""
    cadre = await session.get(Cadre, cadre_id)
    return cadre if cadre is not None and cadre.unit_id == unit_id else None


async def unit_department(
    *, session: AsyncSession, unit_id: int, department_id: int
) -> Department | None:
    """The department ``department_id`` if it is the unit's; None otherwise."""
    department = await session.get(Department, department_id)
    return department if department is not None and department.unit_id == unit_id else None


async def find_cadres_by_name(
    *, session: AsyncSession, unit_id: int, name: str, active_only: bool = True
) -> list[Cadre]:
    """People called ``name`` (padding spaces ignored, as in the roster file); may be several."""
    statement = _ordered_cadres(unit_id).where(Cadre.name == normalise_name(name))
    if active_only:
        statement = statement.where(col(Cadre.active).is_(True))
    return list((await session.exec(statement)).all())


async def namesakes(*, session: AsyncSession, unit_id: int) -> set[str]:
    """The names two or more active people of the unit share: wherever one is shown, the
    department must be shown with it, or nobody can tell them apart."""
    statement = (
        select(Cadre.name)
        .where(Cadre.unit_id == unit_id, col(Cadre.active).is_(True))
        .group_by(col(Cadre.name))
        .having(func.count() > 1)
    )
    return set((await session.exec(statement)).all())


@dataclass(frozen=True)
class Naming:
    """What showing a person unambiguously takes: the unit's department names, and the names
    two active people share (shown with the department: "张伟（党政办）")."""

    departments: Mapping[int, str]
    namesakes: frozenset[str]

    def department(self, cadre: Cadre) -> str:
        return self.departments.get(cadre.department_id, "")

    def ambiguous(self, cadre: Cadre) -> bool:
        return cadre.name in self.namesakes


async def naming(*, session: AsyncSession, unit_id: int) -> Naming:
    """The unit's :class:`Naming` as the roster stands."""
    return Naming(
        departments={
            d.id: d.name for d in await departments(session=session, unit_id=unit_id) if d.id
        },
        namesakes=frozenset(await namesakes(session=session, unit_id=unit_id)),
    )


async def get_cadre_by_telegram(
    *, session: AsyncSession, unit_id: int, telegram_user_id: int, active_only: bool = False
) -> Cadre | None:
    """The person bound to a Telegram account, deactivated or not.

    "Nobody who is not on the roster can do anything": the access gate starts here and must check
    ``active`` itself, so that it can tell a deactivated person why they are refused instead of
    treating them as a stranger. ``active_only=True`` is for callers with no such message. A
    person of another unit of the same database is a stranger here.
    """
    statement = select(Cadre).where(
        Cadre.telegram_user_id == telegram_user_id, Cadre.unit_id == unit_id
    )
    if active_only:
        statement = statement.where(col(Cadre.active).is_(True))
    return (await session.exec(statement)).first()


async def department_members(
    *, session: AsyncSession, department_id: int, active_only: bool = True
) -> list[Cadre]:
    """Everyone in a department, in the roster's order; callers pick the roles they need."""
    statement = select(Cadre).where(Cadre.department_id == department_id)
    if active_only:
        statement = statement.where(col(Cadre.active).is_(True))
    statement = statement.order_by(col(Cadre.position), col(Cadre.id))
    return list((await session.exec(statement)).all())


async def heads_of(*, session: AsyncSession, department_id: int) -> list[Cadre]:
    """The active heads of a department (usually one; a deputy head may share the role)."""
    members = await department_members(session=session, department_id=department_id)
    return [cadre for cadre in members if cadre.has(Role.HEAD)]


async def supervised_heads(*, session: AsyncSession, leader_id: int) -> list[Cadre]:
    """The active heads a leader supervises (分管), whom that leader rates."""
    statement = (
        select(Cadre)
        .join(Department, col(Department.id) == col(Cadre.department_id))
        .where(Cadre.supervisor_id == leader_id, col(Cadre.active).is_(True))
        .order_by(*ROSTER_ORDER)
    )
    return [cadre for cadre in (await session.exec(statement)).all() if cadre.has(Role.HEAD)]


# --- export ---------------------------------------------------------------------------------


async def roster_rows(*, session: AsyncSession, unit_id: int) -> list[RosterRow]:
    """The active roster as file rows, numbered as they will stand in the exported sheet.

    Exporting then importing the result changes nothing, which is what lets the office edit the
    export in Excel and load it back.
    """
    everyone = await list_cadres(session=session, unit_id=unit_id, active_only=False)
    names = {cadre.id: cadre.name for cadre in everyone}
    department_names = {d.id: d.name for d in await departments(session=session, unit_id=unit_id)}
    rows: list[RosterRow] = []
    for cadre in everyone:
        if not cadre.active:
            continue
        rows.append(
            RosterRow(
                row=len(rows) + 2,  # row 1 is the header
                name=cadre.name,
                department=department_names[cadre.department_id],
                roles=frozenset(cadre.role_set),
                title=cadre.title,
                supervisor=names.get(cadre.supervisor_id) if cadre.supervisor_id else None,
                village=cadre.village,
                phone=cadre.phone,
            )
        )
    return rows


# --- import ---------------------------------------------------------------------------------


def _snapshot(cadre: Cadre, department: str, names: dict[int, str]) -> dict[str, Any]:
    """The audited fields of a person, in plain JSON (the supervisor both by id and by name)."""
    return {
        "name": cadre.name,
        "department": department,
        "roles": [role.value for role in sorted(decode_roles(cadre.roles))],
        "title": cadre.title,
        "supervisor_id": cadre.supervisor_id,
        "supervisor": names.get(cadre.supervisor_id) if cadre.supervisor_id else None,
        "village": cadre.village,
        "phone": cadre.phone,
        "active": cadre.active,
    }


def _diff(old: dict[str, Any], new: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    keys = [key for key in new if old.get(key) != new[key]]
    return {key: old.get(key) for key in keys}, {key: new[key] for key in keys}


def _ambiguity_issues(
    rows: Sequence[RosterRow], staying: Iterable[tuple[Cadre, str]]
) -> list[RosterIssue]:
    """Supervisor names that also belong to someone outside the file who stays on the roster.

    Without ``prune`` the people missing from the file stay active; if one of them shares a
    leader's name, "the supervisor 王五" no longer names one person of the unit.
    """
    outside: dict[str, list[str]] = {}
    for cadre, department in staying:
        outside.setdefault(cadre.name, []).append(department)
    in_file: dict[str, list[str]] = {}
    for row in rows:
        in_file.setdefault(row.name, []).append(row.department)
    issues = []
    for row in rows:
        if row.supervisor and row.supervisor in outside:
            issues.append(
                RosterIssue(
                    row.row,
                    "supervisor",
                    "supervisor_ambiguous",
                    {
                        "name": row.supervisor,
                        "departments": in_file.get(row.supervisor, []) + outside[row.supervisor],
                        "rows": [r.row for r in rows if r.name == row.supervisor],
                    },
                )
            )
    return issues


async def import_roster(
    *,
    session: AsyncSession,
    unit_id: int,
    rows: Sequence[RosterRow],
    prune: bool = False,
    actor: str = "cli",
    actor_cadre_id: int | None = None,
    now: datetime,
) -> ImportReport:
    """Make the unit's roster match ``rows``; flush, audit, but leave the commit to the caller.

    People are matched by name and department. Everything is validated before the first write
    (raising :class:`RosterImportError` or :class:`~bot.sheets.roster.RosterError` with every
    problem), so a bad row never leaves half an import behind. People missing from ``rows`` are
    deactivated only with ``prune``: a partial sheet must not silently remove anyone.
    """
    rows = list(rows)
    issues = validate_rows(rows)
    if issues:
        raise RosterImportError(issues)
    if await session.get(Unit, unit_id) is None:
        raise LookupError(f"no unit with id {unit_id}")

    known_departments = await departments(session=session, unit_id=unit_id)
    # Names stored before the name rules learnt a spelling (a padded rare character, another
    # dot) are compared as the rules write them now, so that the same person is found again.
    department_by_name = {normalise_name(d.name): d for d in known_departments}
    department_names = {d.id: normalise_name(d.name) for d in known_departments}
    # Everyone of the unit, inactive people too: a returning person is reactivated, not duplicated.
    everyone = await list_cadres(session=session, unit_id=unit_id, active_only=False)
    names = {cadre.id: cadre.name for cadre in everyone if cadre.id is not None}
    existing = {(department_names[c.department_id], normalise_name(c.name)): c for c in everyone}
    wanted = {row.key for row in rows}
    outside = [
        (cadre, department_names[cadre.department_id])
        for cadre in everyone
        if (department_names[cadre.department_id], normalise_name(cadre.name)) not in wanted
    ]
    staying = [(cadre, dept) for cadre, dept in outside if cadre.active and not prune]
    issues = _ambiguity_issues(rows, staying)
    if issues:
        raise RosterImportError(issues)

    # Validation is over: from here on, only writes.
    report = ImportReport()
    next_position = max((d.position for d in known_departments), default=-1) + 1
    for row in rows:
        if row.department not in department_by_name:
            department = Department(unit_id=unit_id, name=row.department, position=next_position)
            next_position += 1
            session.add(department)
            department_by_name[row.department] = department
            report.departments_created.append(row.department)
    await session.flush()

    old_snapshots = {
        key: _snapshot(cadre, key[0], names) for key, cadre in existing.items() if key in wanted
    }
    people: dict[tuple[str, str], Cadre] = {}
    ranks: dict[str, int] = {}
    for row in rows:
        cadre = existing.get(row.key)
        if cadre is None:
            department_id = department_by_name[row.department].id
            assert department_id is not None  # flushed above
            cadre = Cadre(unit_id=unit_id, department_id=department_id, name=row.name)
            session.add(cadre)
        cadre.name = row.name  # as the rules write it (an update when stored otherwise)
        # The row's rank within its department in the file: the order of every list of people.
        # Not an audited change of the person (an import that only reorders reports none).
        cadre.position = ranks[row.department] = ranks.get(row.department, -1) + 1
        people[row.key] = cadre
    await session.flush()  # ids for new people, who may be someone's supervisor

    supervisors = {
        row.name: people[row.key] for row in rows
    }  # names used as supervisors are unique
    for cadre in people.values():
        assert cadre.id is not None
        names[cadre.id] = cadre.name
    for row in rows:
        cadre = people[row.key]
        cadre.roles = encode_roles(tuple(row.roles))
        cadre.title = row.title
        cadre.supervisor_id = supervisors[row.supervisor].id if row.supervisor else None
        cadre.village = row.village
        cadre.phone = row.phone
        cadre.active = True
        new = _snapshot(cadre, row.department, names)
        ref = PersonRef(row.name, row.department)
        old = old_snapshots.get(row.key)
        if old is None:
            report.created.append(ref)
            _audit(session, now, unit_id, actor, actor_cadre_id, ACTION_CREATE, cadre, None, new)
            continue
        if old == new:
            report.unchanged.append(ref)
            continue
        cadre.updated_at = now
        session.add(cadre)
        was_active = old["active"]
        (report.updated if was_active else report.reactivated).append(ref)
        action = ACTION_UPDATE if was_active else ACTION_REACTIVATE
        _audit(session, now, unit_id, actor, actor_cadre_id, action, cadre, *_diff(old, new))

    for cadre, department_name in outside:
        if not cadre.active:
            continue
        if not prune:
            report.kept.append(PersonRef(cadre.name, department_name))
            continue
        cadre.active = False
        cadre.updated_at = now
        session.add(cadre)
        report.deactivated.append(PersonRef(cadre.name, department_name))
        _audit(
            session,
            now,
            unit_id,
            actor,
            actor_cadre_id,
            ACTION_DEACTIVATE,
            cadre,
            {"active": True},
            {"active": False},
        )
    await session.flush()
    return report


def _audit(
    session: AsyncSession,
    now: datetime,
    unit_id: int,
    actor: str,
    actor_cadre_id: int | None,
    action: str,
    cadre: Cadre,
    old: dict[str, Any] | None,
    new: dict[str, Any] | None,
) -> None:
    session.add(
        AuditLog(
            unit_id=unit_id,
            actor=actor,
            actor_cadre_id=actor_cadre_id,
            action=action,
            entity="cadre",
            entity_id=cadre.id,
            old_value=old,
            new_value=new,
            at=now,
        )
    )
