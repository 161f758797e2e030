"""Sign-up: ``/start <code>`` binds a Telegram account to its roster entry."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.chat.context import KaoheContext
from bot.chat.menus import keep_menu
from bot.chat.profile import profile_view
from storage.queries.invites import RedeemOutcome, redeem_code


async def start_cmd(update: Update, context: KaoheContext) -> None:
    """Bind the account with the code of the deep link, or greet someone already bound."""
    message = update.effective_message
    user = update.effective_user
    assert message is not None and user is not None
    code = context.args[0] if context.args else None
    if code is None:
        if context.cadre is None:
            context.set_outcome(update.update_id, "start:no_code")
            await message.reply_text(context.render("access/stranger"))
        else:
            view = await profile_view(context, context.cadre)
            await message.reply_text(context.render("signup/welcome_back", me=view))
        return

    language = context.lang
    async with context.unit_of_work() as session:
        result = await redeem_code(
            session=session,
            unit_id=context.unit_id,
            code=code,
            telegram_user_id=user.id,
            language=None,
            now=context.now(),
        )
    context.set_outcome(update.update_id, f"start:{result.outcome.value}")
    if result.outcome in (RedeemOutcome.BOUND, RedeemOutcome.REBOUND, RedeemOutcome.ALREADY):
        assert result.cadre is not None
        context.cadre = result.cadre
        context.lang = language = context.texts.lang(result.cadre.language)
        view = await profile_view(context, result.cadre)
        await message.reply_text(
            context.render("signup/welcome", me=view, outcome=result.outcome.value)
        )
        await keep_menu(context.bot, context.texts, result.cadre, context.user_data)
        return
    await message.reply_text(
        context.texts.render(language, "signup/refused", outcome=result.outcome.value)
    )


def handlers() -> list[BaseHandler[Update, Any, Any]]:
    return [CommandHandler("start", start_cmd, filters=filters.ChatType.PRIVATE)]
