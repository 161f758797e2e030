"""The buttons under the scheduler's messages that start a task: rate, vote.

The self-score's own ``selfscore:start`` button starts it from any message; rating and voting
begin with a list and a ballot that are edited in place as the person works, so their buttons
here send that list or ballot as a new message and leave the opening message or the reminder
(with its other buttons) as it was. A button of a month that is no longer open says so.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.appraisal.month import current_month
from bot.chat import ballot, keyboards, presses, rating
from bot.chat.access import require
from bot.chat.context import KaoheContext
from bot.rules.roles import Role

GO = keyboards.Family("go", {"rate": (keyboards.ID("period"),), "vote": (keyboards.ID("period"),)})


async def _may(update: Update, context: KaoheContext, press: keyboards.Press, *roles: Role) -> bool:
    """Whether the caller holds one of ``roles`` and the button's month is the open one."""
    assert context.cadre is not None
    if not context.cadre.role_set & set(roles):
        context.set_outcome(update.update_id, "refused:role")
        await presses.refuse(update, context, "access/not_allowed_short")
        return False
    async with context.services.sessions() as session:
        month = await current_month(
            session=session, unit_id=context.cadre.unit_id, now=context.now()
        )
    if month is None or month.id != press["period"]:
        context.set_outcome(update.update_id, "go:closed")
        await presses.refuse(update, context, "jobs/closed_short")
        return False
    return True


async def _rate(update: Update, context: KaoheContext, press: keyboards.Press) -> None:
    if await _may(update, context, press, *rating.RATERS):
        await rating.rate_cmd(update, context)
        await presses.answer(update, context)


async def _vote(update: Update, context: KaoheContext, press: keyboards.Press) -> None:
    if await _may(update, context, press, Role.CADRE):
        await ballot.vote_cmd(update, context)
        await presses.answer(update, context)


def handlers() -> list[BaseHandler[Update, Any, Any]]:
    dispatch = require()(GO.dispatcher({"rate": _rate, "vote": _vote}, stale=presses.stale))
    return [CallbackQueryHandler(dispatch, pattern=GO.pattern)]
