"""Per-person command menus, set with ``setMyCommands`` on each person's own chat.

The office re-imports the roster with the CLI while the bot runs, so a person's roles can change
under it. Each person's ``user_data`` remembers what their menu was set for (roles and language);
the first update after a change sets it again, and a restart sets only the menus that differ.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError

from bot.chat.commands import PUBLIC_COMMANDS, commands_for
from bot.core.texts import LANGUAGES, Texts
from storage.models import Cadre

log = logging.getLogger(__name__)
MENU_KEY = "menu"  # user_data: the roles and language the person's menu was last set for


def menu_for(texts: Texts, cadre: Cadre, language: str) -> list[BotCommand]:
    return [
        BotCommand(c.name, texts.label(language, f"cmd.{c.name}"))
        for c in commands_for(cadre.role_set, menu_only=True)
    ]


async def set_person_menu(bot: Bot, texts: Texts, cadre: Cadre) -> bool:
    """Show ``cadre`` the commands their roles allow; False if Telegram refused."""
    if cadre.telegram_user_id is None:
        return False
    language = texts.lang(cadre.language)
    try:
        await bot.set_my_commands(
            menu_for(texts, cadre, language), scope=BotCommandScopeChat(cadre.telegram_user_id)
        )
    except TelegramError as exc:
        # A menu is only a hint: a refusal or a network failure here must not fail the update
        # that asked for it (it is tried again at the person's next update).
        log.warning("menu for cadre %s not set: %s", cadre.id, exc.message)
        return False
    return True


def menu_key(texts: Texts, cadre: Cadre) -> str:
    """What a person's menu depends on: their roles and their language."""
    roles = ",".join(sorted(role.value for role in cadre.role_set))
    return f"{roles}|{texts.lang(cadre.language)}"


async def keep_menu(
    bot: Bot, texts: Texts, cadre: Cadre, user_data: MutableMapping[Any, Any] | None
) -> bool:
    """Set the person's menu unless it was set for the same roles and language; whether set."""
    key = menu_key(texts, cadre)
    if user_data is not None and user_data.get(MENU_KEY) == key:
        return False
    if not await set_person_menu(bot, texts, cadre):
        return False
    if user_data is not None:
        user_data[MENU_KEY] = key
    return True


async def set_default_menus(bot: Bot, texts: Texts) -> None:
    """The menu of people who have not signed up: start, help, language."""
    for language in LANGUAGES:
        commands = [BotCommand(n, texts.label(language, f"cmd.{n}")) for n in PUBLIC_COMMANDS]
        code = None if language == texts.default_language else language
        await bot.set_my_commands(commands, scope=BotCommandScopeDefault(), language_code=code)
