"""Sign-up codes handed out by the office: ``/invite <name>`` in chat (the CLI has its own)."""

from __future__ import annotations

from datetime import timedelta

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.chat import keyboards
from bot.chat.access import require
from bot.chat.context import KaoheContext
from bot.rules.roles import Role
from storage.engine import transaction
from storage.models import Cadre, Department
from storage.queries.invites import issue_code
from storage.queries.roster import find_cadres_by_name


def deep_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start={code}"


async def _issue(context: KaoheContext, cadre_id: int) -> tuple[Cadre, str, object] | None:
    services = context.services
    async with transaction(services.sessions) as session:
        cadre = await session.get(Cadre, cadre_id)
        if cadre is None or not cadre.active or cadre.unit_id != context.cadre.unit_id:  # type: ignore[union-attr]
            return None
        code, row = await issue_code(
            session=session,
            cadre=cadre,
            ttl=timedelta(days=services.settings.invite_ttl_days),
            created_by=context.cadre.name,  # type: ignore[union-attr]
            now=context.now(),
        )
    return cadre, code, row.expires_at


async def _send_code(update: Update, context: KaoheContext, cadre_id: int, *, edit: bool) -> None:
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
        expires=expires_at.astimezone(context.services.settings.zone),  # type: ignore[attr-defined]
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
            c.department_id: (await session.get(Department, c.department_id)) for c in matches
        }
    if not matches:
        await message.reply_text(context.render("invites/not_found", name=name))
        return
    if len(matches) == 1:
        await _send_code(update, context, matches[0].id, edit=False)  # type: ignore[arg-type]
        return
    rows = [
        [
            keyboards.button(
                f"{c.name} · {departments[c.department_id].name}",  # type: ignore[union-attr]
                "inv",
                "pick",
                c.id,
            )
        ]
        for c in matches
    ]
    await message.reply_text(
        context.render("invites/choose", name=name), reply_markup=keyboards.markup(rows)
    )


@require(Role.OFFICE)
async def invite_callback(update: Update, context: KaoheContext) -> None:
    """Issue the code for the person picked among namesakes."""
    query = update.callback_query
    assert query is not None
    parsed = keyboards.unpack(query.data)
    cadre_id = parsed.int_arg(0) if parsed else None
    if cadre_id is None:
        await query.answer(context.render("access/stale_short"), show_alert=True)
        return
    await query.answer()
    await _send_code(update, context, cadre_id, edit=True)


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    return [
        CommandHandler("invite", invite_cmd, filters=filters.ChatType.PRIVATE),
        CallbackQueryHandler(invite_callback, pattern=keyboards.pattern("inv")),
    ]
