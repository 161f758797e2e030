"""Binding the leadership group: the one chat where quarterly summaries are posted."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import BaseHandler, CommandHandler

from bot.chat.context import KaoheContext
from bot.rules.roles import Role
from storage.queries import audit
from storage.queries import roster as roster_q


async def bind_leadership_cmd(update: Update, context: KaoheContext) -> None:
    """Make this group the leadership chat, if an office member asks from inside it."""
    message = update.effective_message
    chat = update.effective_chat
    assert message is not None and chat is not None
    if chat.type == ChatType.PRIVATE:
        context.set_outcome(update.update_id, "refused:private")
        await message.reply_text(context.render("leadership/only_in_group"))
        return
    cadre = context.cadre
    if cadre is None or not cadre.has(Role.OFFICE):
        context.set_outcome(update.update_id, "refused:role")
        await message.reply_text(context.render("leadership/only_office"))
        return
    async with context.unit_of_work() as session:
        unit = await roster_q.get_unit(session=session, unit_id=context.services.unit)
        assert unit is not None
        old = unit.leadership_chat_id
        unit.leadership_chat_id = chat.id
        session.add(unit)
        audit.record(
            session=session,
            unit_id=unit.id,
            actor=cadre.name,
            actor_cadre_id=cadre.id,
            action="unit.leadership_chat",
            entity="unit",
            entity_id=unit.id,
            old={"leadership_chat_id": old},
            new={"leadership_chat_id": chat.id},
            at=context.now(),
        )
    await message.reply_text(context.render("leadership/bound", title=chat.title or ""))


def handlers() -> list[BaseHandler[Update, Any, Any]]:
    return [CommandHandler("bind_leadership", bind_leadership_cmd)]
