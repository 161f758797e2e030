"""Sign-up codes handed out by the office: ``/invite <name>`` in chat (the CLI has its own)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.chat import keyboards, presses
from bot.chat.access import require
from bot.chat.context import KaoheContext
from bot.rules.roles import Role
from storage.models import Cadre
from storage.queries import roster as roster_q
from storage.queries.invites import issue_code
from storage.queries.roster import find_cadres_by_name, unit_cadre

INVITE = keyboards.Family("inv", {"pick": (keyboards.ID("cadre"),)})


def deep_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start={code}"


async def _issue(context: KaoheContext, cadre_id: int) -> tuple[Cadre, str, datetime] | None:
    services = context.services
    async with context.unit_of_work() as session:
        cadre = await unit_cadre(session=session, unit_id=context.unit_id, cadre_id=cadre_id)
        if cadre is None or not cadre.active:
            return None
        code, row = await issue_code(
            session=session,
            cadre=cadre,
            ttl=timedelta(days=services.settings.invite_ttl_days),
            created_by=context.cadre.name if context.cadre else "",
            now=context.now(),
        )
    return cadre, code, row.expires_at


async def send_code(update: Update, context: KaoheContext, cadre_id: int, *, edit: bool) -> None:
    """Issue a new sign-up code for ``cadre_id`` and show it (editing the pressed message)."""
    issued = await _issue(context, cadre_id)
    message = update.effective_message
    assert message is not None
    if issued is None:
        await message.reply_text(context.render("invites/not_found", name=""))
        return
    cadre, code, expires_at = issued
    text = context.render(
        "invites/code",
        name=cadre.name,
        code=code,
        link=deep_link(context.bot.username, code),
        expires=context.local(expires_at),
    )
    if edit:
        await message.edit_text(text)
    else:
        await message.reply_text(text)


@require(Role.OFFICE)
async def invite_cmd(update: Update, context: KaoheContext) -> None:
    """Issue a sign-up code for the named person, asking which one if the name is shared."""
    message = update.effective_message
    assert message is not None and context.cadre is not None
    name = " ".join(context.args or []).strip()
    if not name:
        await message.reply_text(context.render("invites/usage"))
        return
    async with context.services.sessions() as session:
        matches = [
            c
            for c in await find_cadres_by_name(
                session=session, unit_id=context.cadre.unit_id, name=name
            )
            if c.active
        ]
        departments = {
            d.id: d.name
            for d in await roster_q.departments(session=session, unit_id=context.unit_id)
        }
    if not matches:
        await message.reply_text(context.render("invites/not_found", name=name))
        return
    if len(matches) == 1:
        await send_code(update, context, matches[0].id or 0, edit=False)
        return
    rows = [
        [
            INVITE.button(
                context.label(
                    "invite.namesake", name=c.name, department=departments[c.department_id]
                ),
                "pick",
                c.id,
            )
        ]
        for c in matches
    ]
    await message.reply_text(
        context.render("invites/choose", name=name), reply_markup=keyboards.markup(rows)
    )


async def _pick(update: Update, context: KaoheContext, press: keyboards.Press) -> None:
    """Issue the code for the person picked among namesakes."""
    await presses.answer(update, context)
    await send_code(update, context, press["cadre"], edit=True)


invite_callback = require(Role.OFFICE)(INVITE.dispatcher({"pick": _pick}, stale=presses.stale))


def handlers() -> list[BaseHandler[Update, Any, Any]]:
    return [
        CommandHandler("invite", invite_cmd, filters=filters.ChatType.PRIVATE),
        CallbackQueryHandler(invite_callback, pattern=INVITE.pattern),
    ]
