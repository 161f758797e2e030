"""Who is asking, and may they?

One handler runs before any capability: it drops updates that were handled already, resolves the
sender's roster entry and stops strangers, in one short read (it runs for every update, so it costs
one database round of its own, not two). The update is claimed later, in the same transaction as the
work it asks for (:meth:`bot.chat.context.KaoheContext.unit_of_work`). Roles are checked again by
each capability on every message and button press (:func:`require`), because a menu is only a hint.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop, TypeHandler

from bot.chat.context import KaoheContext
from bot.chat.menus import keep_menu
from bot.rules.roles import Role
from storage.queries.roster import get_cadre_by_telegram
from storage.queries.updates import is_processed

Handler = Callable[[Update, KaoheContext], Coroutine[Any, Any, Any]]


# What a stranger may do in a private chat: sign up, read how to, pick a language.
PUBLIC_IN_PRIVATE = frozenset({"start", "help", "lang"})
# Commands whose handler answers strangers itself, in any chat (to refuse them visibly).
ANSWERED_ANYWHERE = frozenset({"bind_leadership"})


def _command(update: Update) -> str | None:
    message = update.effective_message
    if message is None or not message.text or not message.text.startswith("/"):
        return None
    return message.text.split()[0][1:].split("@")[0].lower()


def _has_payload(update: Update) -> bool:
    message = update.effective_message
    return bool(message and message.text and len(message.text.split()) > 1)


def _is_public(update: Update) -> bool:
    chat = update.effective_chat
    if chat is None:
        return False
    if update.callback_query is not None:
        return chat.type == ChatType.PRIVATE and (update.callback_query.data or "").startswith(
            "lang:"
        )
    command = _command(update)
    if command in ANSWERED_ANYWHERE:
        return True
    return chat.type == ChatType.PRIVATE and command in PUBLIC_IN_PRIVATE


async def gate(update: Update, context: KaoheContext) -> None:
    """Drop a repeated update; load the sender's roster entry; answer strangers and stop them."""
    user = update.effective_user
    async with context.services.sessions() as session:
        seen = await is_processed(
            session=session, bot_id=context.bot.id, update_id=update.update_id
        )
        cadre = (
            await get_cadre_by_telegram(
                session=session, unit_id=context.unit_id, telegram_user_id=user.id
            )
            if not seen and user is not None
            else None
        )
    if seen:
        context.services.claims.add(update.update_id)
        context.set_outcome(update.update_id, "duplicate")
        raise ApplicationHandlerStop
    if user is None:
        raise ApplicationHandlerStop
    if cadre is not None and cadre.active:
        context.cadre = cadre
        context.lang = context.texts.lang(cadre.language)
        # The roster may have been re-imported with other roles since the menu was set.
        await keep_menu(context.bot, context.texts, cadre, context.user_data)
        return
    if context.user_data is not None:
        context.lang = context.texts.lang(context.user_data.get("lang"))
    chat = update.effective_chat
    signing_up = _command(update) == "start" and _has_payload(update)
    if _is_public(update) and (cadre is None or signing_up):
        return
    context.set_outcome(
        update.update_id, "refused:stranger" if cadre is None else "refused:inactive"
    )
    name = "access/inactive" if cadre is not None else "access/stranger"
    if update.callback_query is not None:
        await update.callback_query.answer(context.render(name + "_short"), show_alert=True)
    elif chat is not None and chat.type == ChatType.PRIVATE and update.effective_message:
        await update.effective_message.reply_text(context.render(name))
    raise ApplicationHandlerStop


def gate_handlers() -> list[tuple[TypeHandler[Update, Any, None], int]]:
    """The handlers that run before every capability, with their groups."""
    return [(TypeHandler(Update, gate), -1)]


def require(*roles: Role) -> Callable[[Handler], Handler]:
    """Let the handler run only for a bound person holding one of ``roles`` (any, if none)."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapper(update: Update, context: KaoheContext) -> Any:
            cadre = context.cadre
            if cadre is None or (roles and not (cadre.role_set & set(roles))):
                context.set_outcome(update.update_id, "refused:role")
                if update.callback_query is not None:
                    await update.callback_query.answer(
                        context.render("access/not_allowed_short"), show_alert=True
                    )
                elif update.effective_message is not None:
                    await update.effective_message.reply_text(
                        context.render("access/not_allowed", roles=[r.value for r in roles])
                    )
                return None
            return await handler(update, context)

        return wrapper

    return decorate
