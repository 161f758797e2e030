"""Who is assessed, and who rates whom (部门负责人考评 and 分管领导).

* Everyone active with the cadre role is assessed (a head holds it too).
* A department head rates the assessed people of their department, except themselves and except
  heads who have a supervising leader.
* A leader rates the heads they supervise (分管领导, ``supervisor_id``).
* A head whose supervising leader is missing, inactive or no longer a leader is rated by the other
  head of the department, if there is one; nobody rates themselves.

Pure: the caller hands in the people (one read of the roster) and these functions decide, so the
list of whom a head rates costs one query however long it is, and the chat, the progress figures
and the reminders all use the same rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from bot.rules.roles import Role

__all__ = ["Person", "is_assessed", "may_rate", "ratees_of", "raters_by_ratee", "raters_of"]


class Person(Protocol):
    """What these rules read of a roster entry (``storage.models.Cadre`` is one)."""

    @property
    def id(self) -> int | None: ...
    @property
    def unit_id(self) -> int: ...
    @property
    def department_id(self) -> int: ...
    @property
    def supervisor_id(self) -> int | None: ...
    @property
    def active(self) -> bool: ...
    @property
    def role_set(self) -> set[Role]: ...


def is_assessed(person: Person) -> bool:
    """Whether ``person`` is assessed: active and holding the cadre role."""
    return person.active and Role.CADRE in person.role_set


def _has_leader(head: Person, people: Mapping[int, Person]) -> bool:
    """Whether ``head`` has a supervising leader who can rate them."""
    if head.supervisor_id is None:
        return False
    leader = people.get(head.supervisor_id)
    return leader is not None and leader.active and Role.LEADER in leader.role_set


def may_rate(rater: Person, ratee: Person, people: Mapping[int, Person]) -> bool:
    """Whether ``rater`` rates ``ratee`` (``people``: the unit's roster by id)."""
    if (
        rater.id is None
        or rater.id == ratee.id
        or rater.unit_id != ratee.unit_id
        or not rater.active
        or not is_assessed(ratee)
    ):
        return False
    roles = rater.role_set
    if Role.LEADER in roles and Role.HEAD in ratee.role_set and ratee.supervisor_id == rater.id:
        return True
    if Role.HEAD not in roles or rater.department_id != ratee.department_id:
        return False
    return not (Role.HEAD in ratee.role_set and _has_leader(ratee, people))


def _by_id(people: Iterable[Person]) -> dict[int, Person]:
    return {p.id: p for p in people if p.id is not None}


def ratees_of(rater: Person, people: Sequence[Person]) -> list[Person]:
    """The people ``rater`` rates, in roster order: their department first, then the heads
    they supervise (``people`` is the roster in its order)."""
    index = _by_id(people)
    own = [p for p in people if p.department_id == rater.department_id]
    others = [p for p in people if p.department_id != rater.department_id]
    return [p for p in [*own, *others] if may_rate(rater, p, index)]


def raters_of(ratee: Person, people: Sequence[Person]) -> list[Person]:
    """Who rates ``ratee``: their supervising leader, else the heads of their department."""
    index = _by_id(people)
    return [p for p in people if may_rate(p, ratee, index)]


def raters_by_ratee(people: Sequence[Person]) -> dict[int, list[Person]]:
    """:func:`raters_of` for everyone at once, in one pass over the roster.

    The only people who can rate someone are their supervising leader and the heads of their
    department, so those are the only candidates looked at: a month of a county's 5,000 cadres
    costs thousands of checks, not millions.
    """
    index = _by_id(people)
    place = {id(p): n for n, p in enumerate(people)}
    heads: dict[int, list[Person]] = {}
    for person in people:
        if Role.HEAD in person.role_set:
            heads.setdefault(person.department_id, []).append(person)
    found: dict[int, list[Person]] = {}
    for ratee in people:
        if ratee.id is None:
            continue
        candidates = list(heads.get(ratee.department_id, ()))
        leader = index.get(ratee.supervisor_id) if ratee.supervisor_id is not None else None
        if leader is not None and leader not in candidates:
            candidates.append(leader)
        candidates.sort(key=lambda p: place[id(p)])
        found[ratee.id] = [p for p in candidates if may_rate(p, ratee, index)]
    return found
