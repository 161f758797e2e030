"""Per-person command menus, set with ``setMyCommands`` on each person's own chat."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import BadRequest, Forbidden

from bot.commands import PUBLIC_COMMANDS, commands_for
from bot.texts import LANGUAGES, Texts
from storage.models import Cadre

log = logging.getLogger(__name__)


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
    except (BadRequest, Forbidden) as exc:
        log.warning("menu for cadre %s not set: %s", cadre.id, exc.message)
        return False
    return True


async def set_default_menus(bot: Bot, texts: Texts) -> None:
    """The menu of people who have not signed up: start, help, language."""
    for language in LANGUAGES:
        commands = [BotCommand(n, texts.label(language, f"cmd.{n}")) for n in PUBLIC_COMMANDS]
        code = None if language == texts.default_language else language
        await bot.set_my_commands(commands, scope=BotCommandScopeDefault(), language_code=code)
