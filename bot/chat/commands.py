"""Which commands exist and who may use them.

The command menus (``setMyCommands`` per chat) and ``/help`` are both built from this table, so
what a person sees in the menu is exactly what they are allowed to do.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.rules.roles import Role


@dataclass(frozen=True)
class Command:
    name: str
    roles: frozenset[Role]  # empty: every bound person
    in_menu: bool = True


COMMANDS: tuple[Command, ...] = (
    Command("myscore", frozenset({Role.CADRE})),
    Command("selfscore", frozenset({Role.CADRE})),
    Command("vote", frozenset({Role.CADRE})),
    Command("rate", frozenset({Role.HEAD, Role.LEADER})),
    Command("status", frozenset({Role.OFFICE})),
    Command("report", frozenset({Role.LEADER, Role.OFFICE})),
    Command("discipline", frozenset({Role.OFFICE})),
    Command("reward", frozenset({Role.OFFICE})),
    Command("deduct", frozenset({Role.OFFICE})),
    Command("invite", frozenset({Role.OFFICE})),
    Command("extend", frozenset({Role.OFFICE})),
    Command("leave", frozenset({Role.OFFICE})),
    Command("help", frozenset()),
    Command("whoami", frozenset()),
    Command("lang", frozenset()),
    Command("cancel", frozenset(), in_menu=False),
)

# What someone who has not signed up yet can use.
PUBLIC_COMMANDS: tuple[str, ...] = ("start", "help", "lang")


def allowed(command: Command, roles: set[Role]) -> bool:
    return not command.roles or bool(command.roles & roles)


def commands_for(roles: set[Role], *, menu_only: bool = False) -> list[Command]:
    return [c for c in COMMANDS if allowed(c, roles) and (c.in_menu or not menu_only)]


def find(name: str) -> Command | None:
    return next((c for c in COMMANDS if c.name == name), None)
