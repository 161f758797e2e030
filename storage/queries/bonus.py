"""The office's bonus bases checked against the roster: who each row of its sheet names.

A base is for one assessed cadre of the unit, named by name and department as on the roster: a
row naming nobody, someone deactivated or someone not assessed (a leader without the cadre role
gets no performance bonus) is a problem of the file, reported with its row like a typo. Storing
the bases is :func:`storage.queries.reviews.replace_bonus_bases`. Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.rules.bonus import BonusRow
from bot.rules.raters import is_assessed
from bot.rules.roster import RosterError, RosterIssue
from storage.models import Cadre
from storage.queries.roster import departments, list_cadres

__all__ = ["BonusImportError", "resolve_bases"]


class BonusImportError(RosterError):
    """The rows are fine on their own but name people the roster does not have as cadres."""


async def resolve_bases(
    *, session: AsyncSession, unit_id: int, rows: Sequence[BonusRow]
) -> tuple[dict[int, Decimal], dict[int, Cadre]]:
    """Each row's cadre and base: ``({cadre id: base}, {cadre id: cadre})``; raise
    :class:`BonusImportError` with one issue per row that names nobody assessed in the unit."""
    names = {d.id: d.name for d in await departments(session=session, unit_id=unit_id)}
    everyone = await list_cadres(session=session, unit_id=unit_id, active_only=False)
    by_key = {(names.get(c.department_id, ""), c.name): c for c in everyone}
    bases: dict[int, Decimal] = {}
    people: dict[int, Cadre] = {}
    issues: list[RosterIssue] = []
    for row in rows:
        cadre = by_key.get(row.person)
        params: dict[str, Any] = {"name": row.name, "department": row.department}
        if cadre is not None and cadre.id is not None and is_assessed(cadre):
            bases[cadre.id] = row.base
            people[cadre.id] = cadre
        elif cadre is None:
            elsewhere = sorted(dept for dept, name in by_key if name == row.name)
            params["elsewhere"] = elsewhere
            issues.append(RosterIssue(row.row, "name", "unknown_person", params))
        elif not cadre.active:
            issues.append(RosterIssue(row.row, "name", "inactive_person", params))
        else:
            issues.append(RosterIssue(row.row, "name", "not_assessed", params))
    if issues:
        raise BonusImportError(issues)
    return bases, people
