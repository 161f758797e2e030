"""What every bound person can do: /help, /whoami, /lang, /cancel outside a conversation."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.chat import keyboards, presses
from bot.chat.access import require
from bot.chat.commands import PUBLIC_COMMANDS, commands_for
from bot.chat.context import KaoheContext
from bot.chat.menus import keep_menu
from bot.chat.profile import profile_view
from bot.core.texts import LANGUAGES
from storage.queries import audit
from storage.queries import roster as roster_q

PRIVATE = filters.ChatType.PRIVATE
LANG = keyboards.Family("lang", {"set": (keyboards.CHOICE("language", *LANGUAGES),)})


async def help_cmd(update: Update, context: KaoheContext) -> None:
    """List exactly the commands the caller may use."""
    assert update.effective_message is not None
    if context.cadre is None:
        names = list(PUBLIC_COMMANDS)
    else:
        names = [c.name for c in commands_for(context.cadre.role_set)]
    await update.effective_message.reply_text(
        context.render("basics/help", commands=names, bound=context.cadre is not None)
    )


@require()
async def whoami_cmd(update: Update, context: KaoheContext) -> None:
    """Show the caller's roster entry and roles."""
    assert update.effective_message is not None and context.cadre is not None
    view = await profile_view(context, context.cadre)
    clock = context.services.clock
    shown = (
        {"now": context.now().astimezone(context.services.settings.zone), "speed": clock.speed}
        if clock.simulated
        else None
    )
    await update.effective_message.reply_text(context.render("basics/whoami", me=view, clock=shown))


def _language_keyboard(context: KaoheContext) -> InlineKeyboardMarkup:
    return keyboards.markup(
        [[LANG.button(context.label(f"lang.{code}"), "set", code) for code in LANGUAGES]]
    )


async def lang_cmd(update: Update, context: KaoheContext) -> None:
    """Switch the language at once with an argument, or offer the choice."""
    assert update.effective_message is not None
    if context.args:
        choice = context.args[0].lower()
        if choice not in LANGUAGES:
            await update.effective_message.reply_text(
                context.render("basics/lang_unknown", choice=context.args[0]),
                reply_markup=_language_keyboard(context),
            )
            return
        await _set_language(update, context, choice)
        await update.effective_message.reply_text(context.render("basics/lang_set"))
        return
    await update.effective_message.reply_text(
        context.render("basics/lang_choose"), reply_markup=_language_keyboard(context)
    )


async def _lang_set(update: Update, context: KaoheContext, press: keyboards.Press) -> None:
    """Apply the language chosen with a button (a second tap of it changes nothing)."""
    query = update.callback_query
    assert query is not None
    await _set_language(update, context, press["language"])
    await presses.answer(update, context)
    await presses.edit(query.message, context.render("basics/lang_set"), None)


lang_callback = LANG.dispatcher({"set": _lang_set}, stale=presses.stale)


async def _set_language(update: Update, context: KaoheContext, language: str) -> None:
    context.lang = language
    if context.cadre is None:
        # Not signed up yet: remember the choice for this chat only.
        if context.user_data is not None:
            context.user_data["lang"] = language
        return
    async with context.unit_of_work() as session:
        cadre = await roster_q.unit_cadre(
            session=session, unit_id=context.services.unit, cadre_id=context.cadre.id or 0
        )
        assert cadre is not None
        old = cadre.language
        cadre.language = language
        cadre.updated_at = context.now()
        session.add(cadre)
        audit.record(
            session=session,
            unit_id=cadre.unit_id,
            actor=cadre.name,
            actor_cadre_id=cadre.id,
            action="cadre.language",
            entity="cadre",
            entity_id=cadre.id,
            old={"language": old},
            new={"language": language},
            at=context.now(),
        )
    context.cadre = cadre
    await keep_menu(context.bot, context.texts, cadre, context.user_data)


async def unknown_msg(update: Update, context: KaoheContext) -> None:
    """Point a bound person who typed something unexpected to /help."""
    assert update.effective_message is not None
    context.set_outcome(update.update_id, "unknown")
    await update.effective_message.reply_text(context.render("basics/unknown"))


async def cancel_cmd(update: Update, context: KaoheContext) -> None:
    """Say there is nothing to cancel (conversations handle /cancel themselves)."""
    assert update.effective_message is not None
    await update.effective_message.reply_text(context.render("basics/nothing_to_cancel"))


def handlers() -> list[BaseHandler[Update, Any, Any]]:
    return [
        CommandHandler("help", help_cmd, filters=PRIVATE),
        CommandHandler("whoami", whoami_cmd, filters=PRIVATE),
        CommandHandler("lang", lang_cmd, filters=PRIVATE),
        CallbackQueryHandler(lang_callback, pattern=LANG.pattern),
        CommandHandler("cancel", cancel_cmd, filters=PRIVATE),
    ]


async def stale_callback(update: Update, context: KaoheContext) -> None:
    """Answer a press that no family of buttons took (an old version's, or forged): stale."""
    await presses.stale(update, context)


def fallback_handlers() -> list[BaseHandler[Update, Any, Any]]:
    """Handlers added after every capability's, for what nothing else understood: a message
    gets a pointer to /help, and every press is answered, so no spinner runs on."""
    return [
        MessageHandler(PRIVATE & ~filters.UpdateType.EDITED, unknown_msg),
        CallbackQueryHandler(stale_callback),
    ]
