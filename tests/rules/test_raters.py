"""Who rates whom, for everyone at once, is the rule for each person (bot.rules.raters)."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.rules.raters import raters_by_ratee, raters_of
from bot.rules.roles import Role


@dataclass
class P:
    id: int | None
    department_id: int
    roles: frozenset[Role]
    supervisor_id: int | None = None
    active: bool = True
    unit_id: int = 1
    extra: dict[str, int] = field(default_factory=dict)

    @property
    def role_set(self) -> set[Role]:
        return set(self.roles)


ROLES = st.sampled_from(
    [
        frozenset({Role.CADRE}),
        frozenset({Role.CADRE, Role.HEAD}),
        frozenset({Role.LEADER}),
        frozenset({Role.CADRE, Role.OFFICE}),
        frozenset({Role.HEAD}),
    ]
)


@st.composite
def rosters(draw: st.DrawFn) -> list[P]:
    size = draw(st.integers(min_value=0, max_value=30))
    people = [
        P(
            id=n + 1,
            department_id=draw(st.integers(min_value=1, max_value=4)),
            roles=draw(ROLES),
            active=draw(st.booleans() | st.just(True)),
        )
        for n in range(size)
    ]
    for person in people:
        person.supervisor_id = draw(st.none() | st.integers(min_value=1, max_value=size + 2))
    return people


@settings(max_examples=200, deadline=None)
@given(rosters())
def test_everyone_at_once_is_each_one_alone(people: list[P]) -> None:
    together = raters_by_ratee(people)
    for ratee in people:
        assert together[ratee.id or 0] == raters_of(ratee, people)
