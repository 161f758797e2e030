"""Who may do what: the roles a person of the roster holds (one person can hold several)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a person may do; one person can hold several."""

    CADRE = "cadre"  # 机关干部: assessed, self-scores, votes
    HEAD = "head"  # 部门负责人: rates the cadres of their department
    LEADER = "leader"  # 考核领导小组成员: rates supervised heads, reviews quarters
    OFFICE = "office"  # 党政办: roster, periods, discipline records, exports


ROLE_ORDER: tuple[Role, ...] = (Role.CADRE, Role.HEAD, Role.LEADER, Role.OFFICE)


def encode_roles(roles: set[Role] | list[Role] | tuple[Role, ...]) -> str:
    return ",".join(r.value for r in ROLE_ORDER if r in set(roles))


def decode_roles(text: str) -> set[Role]:
    return {Role(part) for part in text.split(",") if part}
