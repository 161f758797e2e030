"""``/status``: where the open month stands, for the office, on one message.

The first screen is a phone's worth: the deadline with its weekday and the time left, the unit's
figures (self-scores, of which how many are filled in with only 提交 left, head ratings, ballots
cast), one line per department, and how many people never signed up. A button per department
shows its names by state; the unsigned are listed with a button each that issues a fresh sign-up
code to forward. Every screen edits the same message.

"Remind the missing" queues, at once, the scheduled reminder's message to everyone still pending
(through ``Services.remind_pending``: the jobs' words, wired by the composition root), audited.
Its button carries a token issued with the screen and kept in the clerk's ``user_data``: a press
spends it, so a double tap, an old screen or a forged press reminds nobody twice.

The ballot is secret while it runs: only the unit's count of ballots cast is shown, never who
voted (:mod:`bot.rules.secrecy`).
"""

from __future__ import annotations

import secrets
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.appraisal.month import current_month
from bot.appraisal.progress import MonthSnapshot, month_snapshot
from bot.chat import invites, keyboards, presses
from bot.chat.access import require
from bot.chat.context import KaoheContext
from bot.chat.limits import MESSAGE_LIMIT, clip
from bot.rules.roles import Role
from storage.models import Cadre, Period
from storage.queries.roster import list_cadres

__all__ = ["STATUS", "handlers"]

PRIVATE = filters.ChatType.PRIVATE
STATUS = keyboards.Family(
    "st",
    {
        "home": (keyboards.ID("period"),),
        "dept": (keyboards.ID("period"), keyboards.ID("department")),
        "unsigned": (keyboards.ID("period"),),
        "code": (keyboards.ID("period"), keyboards.ID("cadre")),
        "remind": (keyboards.ID("period"), keyboards.TOKEN("token")),
    },
)
#: user_data: the token of the remind button on the clerk's latest /status screen.
REMIND_KEY = "status_remind"


async def _load(
    context: KaoheContext, period_id: int | None
) -> tuple[Period, MonthSnapshot, list[Cadre]] | None:
    """The open month (the pressed one must still be it), its snapshot, and who never signed up."""
    async with context.services.sessions() as session:
        period = await current_month(session=session, unit_id=context.unit_id, now=context.now())
        if period is None or (period_id is not None and period.id != period_id):
            return None
        snapshot = await month_snapshot(session=session, period=period)
        unsigned = [
            c
            for c in await list_cadres(session=session, unit_id=context.unit_id)
            if c.telegram_user_id is None
        ]
    return period, snapshot, unsigned


def _home(
    context: KaoheContext,
    snapshot: MonthSnapshot,
    unsigned: list[Cadre],
    *,
    reminded: int | None = None,
) -> tuple[str, InlineKeyboardMarkup]:
    """The overview; ``reminded``: how many were just reminded (then no remind button)."""
    period = snapshot.period
    departments = snapshot.by_department()
    text = context.render(
        "status/home",
        s=snapshot,
        period=period,
        deadline=context.local(period.closes_at),
        left=period.closes_at - context.now(),
        departments=departments,
        unsigned=len(unsigned),
        reminded=reminded,
        at=context.local(context.now()),
    )
    ids = {p.cadre.department_id: name for name, people in departments for p in people[:1]}
    buttons = [STATUS.button(name, "dept", period.id, d) for d, name in ids.items()]
    rows: list[list[InlineKeyboardButton]] = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    if unsigned:
        label = context.label("status.unsigned", n=len(unsigned))
        rows.append([STATUS.button(label, "unsigned", period.id)])
    if reminded is None and snapshot.pending_people() and context.user_data is not None:
        token = secrets.token_hex(4)
        context.user_data[REMIND_KEY] = token
        rows.append([STATUS.button(context.label("status.remind"), "remind", period.id, token)])
    return text, keyboards.markup(rows)


def _back(context: KaoheContext, period: Period) -> list[InlineKeyboardButton]:
    return [STATUS.button(context.label("status.back"), "home", period.id)]


def _department(
    context: KaoheContext, snapshot: MonthSnapshot, department_id: int
) -> tuple[str, InlineKeyboardMarkup] | None:
    people = [p for p in snapshot.people if p.cadre.department_id == department_id]
    if not people:
        return None
    text = context.render(
        "status/department",
        s=snapshot,
        name=snapshot.department_names.get(department_id, ""),
        people=people,
    )
    return clip(text, MESSAGE_LIMIT), keyboards.markup([_back(context, snapshot.period)])


def _unsigned(
    context: KaoheContext, period: Period, unsigned: list[Cadre], names: dict[int, str]
) -> tuple[str, InlineKeyboardMarkup]:
    text = context.render("status/unsigned", people=unsigned, departments=names)
    rows = [
        [
            STATUS.button(
                context.label("status.code", name=c.name, department=names.get(c.department_id)),
                "code",
                period.id,
                c.id,
            )
        ]
        for c in unsigned[:30]
    ]
    rows.append(_back(context, period))
    return clip(text, MESSAGE_LIMIT), keyboards.markup(rows)


@require(Role.OFFICE)
async def status_cmd(update: Update, context: KaoheContext) -> None:
    """Show where the open month stands, department by department."""
    message = update.effective_message
    assert message is not None
    loaded = await _load(context, None)
    if loaded is None:
        context.set_outcome(update.update_id, "status:no_month")
        await message.reply_text(context.render("office/status_no_month"))
        return
    _, snapshot, unsigned = loaded
    context.set_outcome(update.update_id, "status:home")
    text, markup = _home(context, snapshot, unsigned)
    await message.reply_text(text, reply_markup=markup)


async def _press(update: Update, context: KaoheContext, press: keyboards.Press) -> None:
    """Move between the screens of /status (or issue a sign-up code), on the same message."""
    query = update.callback_query
    assert query is not None
    loaded = await _load(context, press["period"])
    if loaded is None:
        context.set_outcome(update.update_id, "status:closed")
        await presses.refuse(update, context, "office/alert", reason="closed")
        return
    period, snapshot, unsigned = loaded
    context.set_outcome(update.update_id, f"status:{press.action}")
    if press.action == "remind":
        await _remind(update, context, period, press["token"], unsigned)
        return
    if press.action == "code":
        if not any(c.id == press["cadre"] for c in unsigned):
            await presses.refuse(update, context, "office/alert", reason="not_found")
            return
        await presses.answer(update, context)
        await invites.send_code(update, context, press["cadre"], edit=False)
        return
    if press.action == "dept":
        view = _department(context, snapshot, press["department"])
        if view is None:
            await presses.refuse(update, context, "office/alert", reason="not_found")
            return
    elif press.action == "unsigned":
        view = _unsigned(context, period, unsigned, snapshot.department_names)
    else:
        view = _home(context, snapshot, unsigned)
    await presses.answer(update, context)
    await presses.edit(query.message, *view)


async def _remind(
    update: Update, context: KaoheContext, period: Period, token: str, unsigned: list[Cadre]
) -> None:
    """Queue the reminder of everyone still pending, once for this button, audited."""
    query = update.callback_query
    assert query is not None and context.cadre is not None
    remind = context.services.remind_pending
    if context.user_data is None or context.user_data.get(REMIND_KEY) != token or remind is None:
        context.set_outcome(update.update_id, "status:remind_used")
        await presses.refuse(update, context, "status/alert", reason="remind_used")
        return
    async with context.unit_of_work() as session:
        queued = await remind(
            session=session,
            period=period,
            key=token,
            actor=context.cadre.name,
            actor_cadre_id=context.cadre.id,
            now=context.now(),
        )
        snapshot = await month_snapshot(session=session, period=period)
    context.user_data.pop(REMIND_KEY, None)
    context.services.poke_outbox()
    context.set_outcome(update.update_id, f"status:reminded:{queued}")
    await presses.answer(update, context, context.label("status.reminded", n=queued))
    await presses.edit(query.message, *_home(context, snapshot, unsigned, reminded=queued))


status_callback = require(Role.OFFICE)(
    STATUS.dispatcher({action: _press for action in STATUS.actions}, stale=presses.stale)
)


def handlers() -> list[BaseHandler[Update, Any, Any]]:
    return [
        CommandHandler("status", status_cmd, filters=PRIVATE),
        CallbackQueryHandler(status_callback, pattern=STATUS.pattern),
    ]
