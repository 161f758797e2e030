"""The office runs the calendar in chat: ``/extend`` a deadline, ``/leave`` (请假).

``/extend 12-10 18:00 防汛抢险`` moves the open month's deadline (audited with the reason); the
scheduler then tells everyone still pending the new deadline. ``/leave 王芳 12-01 12-10 病假``
marks a cadre on leave: no reminders on those days, and a self-score missed with the deadline
inside them is excused. ``/leave`` alone lists who is on leave now and later. Typed in one line,
because an office clerk does these between other work; a mistake gets the usage with an example,
and changes nothing.
"""

from __future__ import annotations

import re
from datetime import datetime, time
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.appraisal import periods as appraisal
from bot.appraisal.month import current_month
from bot.chat.access import require
from bot.chat.context import KaoheContext
from bot.rules.figures import InputError, read_day
from bot.rules.roles import Role
from storage.queries import calendar as calendar_q
from storage.queries import periods as periods_q
from storage.queries.roster import find_cadres_by_name, list_cadres

PRIVATE = filters.ChatType.PRIVATE
_TIME = re.compile(r"^(\d{1,2})[:：](\d{2})$")
#: A deadline given as a day alone is that day's end of office hours.
DEFAULT_TIME = time(18, 0)


def _local(context: KaoheContext, moment: datetime) -> datetime:
    return moment.astimezone(context.services.settings.zone)


@require(Role.OFFICE)
async def extend_cmd(update: Update, context: KaoheContext) -> None:
    message = update.effective_message
    assert message is not None and context.cadre is not None
    args = list(context.args or [])
    async with context.services.sessions() as session:
        month = await current_month(
            session=session, unit_id=context.cadre.unit_id, now=context.now()
        )
    if month is None:
        context.set_outcome(update.update_id, "extend:no_month")
        await message.reply_text(context.render("calendar/extend_no_month"))
        return
    deadline = _local(context, month.closes_at)
    try:
        if not args:
            raise InputError("usage")
        day = read_day(args.pop(0), today=context.today())
        clock = DEFAULT_TIME
        if args and (match := _TIME.match(args[0])):
            args.pop(0)
            clock = time(int(match[1]), int(match[2]))
        reason = " ".join(args).strip()
        if not reason:
            raise InputError("no_reason")
        until = datetime.combine(day, clock, context.services.settings.zone)
        if until <= context.now():
            raise InputError("past")
        if until <= deadline:
            raise InputError("not_later")
    except (InputError, ValueError) as problem:
        key = problem.key if isinstance(problem, InputError) else "not_a_date"
        context.set_outcome(update.update_id, f"extend:refused:{key}")
        await message.reply_text(
            context.render("calendar/extend_usage", problem=key, period=month, deadline=deadline)
        )
        return
    async with context.unit_of_work() as session:
        row = await periods_q.unit_period(
            session=session, unit_id=context.services.unit, period_id=month.id or 0
        )
        assert row is not None
        transition = await appraisal.extend_period(
            session=session,
            period=row,
            now=context.now(),
            until=until,
            reason=reason[:200],
            actor=context.cadre.name,
        )
    context.set_outcome(update.update_id, f"extend:{transition.outcome.value}")
    context.services.poke_calendar()
    await message.reply_text(
        context.render(
            "calendar/extended",
            period=month,
            old=deadline,
            new=_local(context, until),
            reason=reason,
        )
    )


@require(Role.OFFICE)
async def leave_cmd(update: Update, context: KaoheContext) -> None:
    message = update.effective_message
    assert message is not None and context.cadre is not None
    unit_id = context.cadre.unit_id
    args = list(context.args or [])
    if not args:
        async with context.services.sessions() as session:
            rows = await calendar_q.list_leave(
                session=session, unit_id=unit_id, since=context.today()
            )
            names = {c.id: c.name for c in await list_cadres(session=session, unit_id=unit_id)}
        context.set_outcome(update.update_id, "leave:list")
        await message.reply_text(
            context.render("calendar/leave_list", rows=rows[:50], more=len(rows) > 50, names=names)
        )
        return
    try:
        if len(args) < 3:
            raise InputError("usage")
        name, first_text, last_text, *rest = args
        today = context.today()
        first, last = read_day(first_text, today=today), read_day(last_text, today=today)
        if last < first:
            raise InputError("backwards")
        async with context.services.sessions() as session:
            found = [
                c
                for c in await find_cadres_by_name(session=session, unit_id=unit_id, name=name)
                if c.active
            ]
        if len(found) != 1:
            raise InputError("no_person" if not found else "namesake", name=name)
    except InputError as problem:
        context.set_outcome(update.update_id, f"leave:refused:{problem.key}")
        await message.reply_text(
            context.render("calendar/leave_usage", problem=problem.key, **problem.params)
        )
        return
    cadre = found[0]
    async with context.unit_of_work() as session:
        await calendar_q.add_leave(
            session=session,
            unit_id=unit_id,
            cadre_id=cadre.id or 0,
            starts_on=first,
            ends_on=last,
            reason=" ".join(rest)[:200] or None,
            created_by=context.cadre.name,
            now=context.now(),
        )
    context.set_outcome(update.update_id, "leave:added")
    context.services.poke_calendar()
    await message.reply_text(
        context.render(
            "calendar/leave_added", name=cadre.name, first=first, last=last, reason=" ".join(rest)
        )
    )


def handlers() -> list[BaseHandler[Update, Any, Any]]:
    return [
        CommandHandler("extend", extend_cmd, filters=PRIVATE),
        CommandHandler("leave", leave_cmd, filters=PRIVATE),
    ]
