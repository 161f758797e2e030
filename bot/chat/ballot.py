"""The secret democratic evaluation (民主测评): ``/vote`` and the ballot's buttons.

``/vote`` shows the whole ballot in one message: the colleagues in the roster's order, under
their department's name (on a row of its own), each as a row with their name and a row with the
four grades (short labels, the chosen one marked: four buttons still fit a small phone's width),
six colleagues a page, a progress line and Submit. A name two people of the unit share carries
the department, here and in the confirmation. Every press edits that same message. Submit asks
for a confirmation ("you cannot change it afterwards"); confirming casts the ballot in one
transaction (:func:`bot.appraisal.ballots.cast`) and the message is
replaced by a receipt that shows no grade.

Callback data (family ``vote``); the log line shows only ``vote:<action>``, never who or which
grade:

=====================================  ==========================================================
``vote:set:<period>:<ratee>:<grade>``  give ``ratee`` that grade (a draft, the voter's own)
``vote:pg:<period>:<page>``            show a page of the ballot (also "back" from the confirmation)
``vote:who:<period>:<ratee>``          the name button: say the colleague's grade so far
``vote:dep:<period>:<department>``     a department's heading: say how many of it are graded
``vote:sub:<period>``                  Submit: the confirmation step, or what is still missing
``vote:ok:<period>``                   confirm: cast the ballot
=====================================  ==========================================================

Nothing is kept in ``user_data``: the database is the whole state, so a ballot message keeps
working after a restart, and every press is checked again there (voter, ratee in scope and not
themselves, period open and carrying a ballot, not cast yet). Each press is answered as soon as
its outcome is known: after one short database transaction, before anything is rendered or
edited; a refused press gets an alert and changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.appraisal import ballots
from bot.appraisal.ballots import GRADES, Ballot, BallotRefused, MonthRef, Refusal
from bot.appraisal.month import month_status
from bot.chat import keyboards, presses
from bot.chat.access import require
from bot.chat.context import KaoheContext
from bot.chat.names import shown
from bot.rules.roles import Role
from bot.rules.scheme import Scheme
from storage.engine import forget_old_row_versions
from storage.models import Cadre
from storage.queries.ballots import SECRET_TABLES

VOTE = keyboards.Family(
    "vote",
    {
        "set": (keyboards.ID("period"), keyboards.ID("ratee"), keyboards.CHOICE("grade", *GRADES)),
        "pg": (keyboards.ID("period"), keyboards.INT("page")),
        "who": (keyboards.ID("period"), keyboards.ID("ratee")),
        "dep": (keyboards.ID("period"), keyboards.ID("department")),
        "sub": (keyboards.ID("period"),),
        "ok": (keyboards.ID("period"),),
    },
)
PAGE_SIZE = 6  # colleagues a page: two rows each, with their headings, fit a phone's screen
STEPS = 2  # 1: grade everyone, 2: confirm


# --- views ------------------------------------------------------------------------------------


def _pages(ballot: Ballot) -> int:
    return max(1, -(-len(ballot.colleagues) // PAGE_SIZE))


def _page_of(ballot: Ballot, ratee_id: int) -> int:
    ids = [c.id for c in ballot.colleagues]
    return ids.index(ratee_id) // PAGE_SIZE if ratee_id in ids else 0


def _first_open_page(ballot: Ballot) -> int:
    missing = ballot.missing
    return _page_of(ballot, missing[0].id or 0) if missing else 0


def _grade_label(context: KaoheContext, grade: str) -> str:
    return context.label(f"ballot.grade.{grade}")


def _name(context: KaoheContext, ballot: Ballot, colleague: Cadre) -> str:
    return shown(context, colleague, ballot.naming)


def _headed(ballot: Ballot) -> bool:
    """Whether the ballot names departments: it spans more than one."""
    return ballot.scope != "department" and len(ballot.departments()) > 1


def _ballot_view(
    context: KaoheContext, ballot: Ballot, page: int
) -> tuple[str, InlineKeyboardMarkup]:
    pages = _pages(ballot)
    page = min(max(page, 0), pages - 1)
    period_id = ballot.period.id
    shown_here = ballot.colleagues[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    rows = []
    department: int | None = None
    for colleague in shown_here:
        if _headed(ballot) and colleague.department_id != department:
            department = colleague.department_id
            heading = context.label(
                "ballot.department", department=ballot.naming.department(colleague)
            )
            rows.append([VOTE.button(heading, "dep", period_id, department)])
        rows.append(
            [VOTE.button(_name(context, ballot, colleague), "who", period_id, colleague.id)]
        )
        chosen = ballot.grade_of(colleague.id or 0)
        grades = []
        for grade in GRADES:
            label = context.label(f"ballot.short.{grade}")
            if grade == chosen:
                label = context.label("ballot.chosen", grade=label)
            grades.append(VOTE.button(label, "set", period_id, colleague.id, grade))
        rows.append(grades)
    if pages > 1:
        nav = []
        if page > 0:
            nav.append(VOTE.button(context.label("ballot.prev"), "pg", period_id, page - 1))
        nav.append(
            VOTE.button(
                context.label("ballot.page", page=page + 1, pages=pages),
                "pg",
                period_id,
                page,
            )
        )
        if page < pages - 1:
            nav.append(VOTE.button(context.label("ballot.next"), "pg", period_id, page + 1))
        rows.append(nav)
    missing = len(ballot.missing)
    submit = (
        context.label("ballot.submit", n=len(ballot.colleagues))
        if ballot.complete
        else context.label("ballot.submit_missing", n=missing)
    )
    rows.append([VOTE.button(submit, "sub", period_id)])
    text = context.render(
        "ballot/ballot",
        period=ballot.period,
        step=1,
        steps=STEPS,
        graded=ballot.graded,
        total=len(ballot.colleagues),
        missing=missing,
        page=page + 1,
        pages=pages,
        department=ballot.scope == "department",
    )
    return text, keyboards.markup(rows)


def _confirm_view(context: KaoheContext, ballot: Ballot) -> tuple[str, InlineKeyboardMarkup]:
    period_id = ballot.period.id
    groups = [
        (
            ballot.naming.departments.get(department, "") if _headed(ballot) else None,
            [
                (_name(context, ballot, c), _grade_label(context, ballot.grades[c.id or 0]))
                for c in people
            ],
        )
        for department, people in ballot.departments()
    ]
    counts = ballot.counts()
    text = context.render(
        "ballot/confirm",
        period=ballot.period,
        step=2,
        steps=STEPS,
        groups=groups,
        counts=[(_grade_label(context, g), counts[g]) for g in GRADES],
        total=len(ballot.colleagues),
    )
    markup = keyboards.markup(
        [
            [VOTE.button(context.label("ballot.confirm"), "ok", period_id)],
            [VOTE.button(context.label("ballot.back"), "pg", period_id, 0)],
        ]
    )
    return text, markup


def _next_ballot(scheme: Scheme, period: MonthRef) -> tuple[int, int, datetime] | None:
    """The month (year, month, window opening) of the next democratic evaluation after
    ``period``, by the period's frozen scheme."""
    year, month = period.year, period.number
    for _ in range(12):
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        if scheme.democratic_in_month(month):
            opens, _closes = scheme.monthly_window.window(year, month)
            return year, month, opens
    return None


def _refusal_values(context: KaoheContext, refused: BallotRefused) -> dict[str, object]:
    values: dict[str, object] = {
        "reason": refused.reason.value,
        "period": refused.period,
        "missing": list(refused.missing),
        "next": None,
    }
    if refused.reason is Refusal.NO_BALLOT and refused.scheme and refused.period:
        found = _next_ballot(refused.scheme, refused.period)
        if found is not None:
            year, month, opens = found
            values["next"] = {
                "year": year,
                "month": month,
                "opens": opens.astimezone(context.services.settings.zone),
            }
    return values


# --- sending ----------------------------------------------------------------------------------


async def _edit(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Replace the ballot message; a repeated press that changes nothing is not an error."""
    await presses.edit(query.message, text, markup)


async def _refuse_press(update: Update, context: KaoheContext, refused: BallotRefused) -> None:
    """Answer a refused press with an alert saying why; nothing was changed."""
    assert update.callback_query is not None
    context.set_outcome(update.update_id, f"refused:{refused.reason.value}")
    await presses.refuse(
        update, context, "ballot/refused_short", **_refusal_values(context, refused)
    )


def _plain(context: KaoheContext, template: str, **values: object) -> str:
    """A callback answer's text: shown as typed, so not HTML-escaped."""
    return context.texts.render_plain(context.lang, template, **values)


def _voter(context: KaoheContext) -> Cadre:
    assert context.cadre is not None  # the handlers require the cadre role
    return context.cadre


def _unit_id(context: KaoheContext) -> int:
    unit_id = context.services.unit_id
    assert unit_id is not None
    return unit_id


# --- handlers ---------------------------------------------------------------------------------


@require(Role.CADRE)
async def vote_cmd(update: Update, context: KaoheContext) -> None:
    """Show the caller's ballot of the month open now, on the first page still to grade."""
    message = update.effective_message
    assert message is not None and context.cadre is not None
    try:
        async with context.services.sessions() as session:
            ballot = await ballots.open_ballot(
                session=session, unit_id=_unit_id(context), voter=context.cadre, now=context.now()
            )
        if not ballot.colleagues:
            raise BallotRefused(Refusal.NOBODY, period=ballot.period)
    except BallotRefused as refused:
        context.set_outcome(update.update_id, f"refused:{refused.reason.value}")
        async with context.services.sessions() as session:
            status = await month_status(
                session=session, unit_id=_unit_id(context), now=context.now()
            )
        await message.reply_text(
            context.render(
                "ballot/refused",
                st=context.month_words(status),
                **_refusal_values(context, refused),
            )
        )
        return
    context.set_outcome(update.update_id, "vote:shown")
    text, markup = _ballot_view(context, ballot, _first_open_page(ballot))
    await message.reply_text(text, reply_markup=markup)


async def _set_callback(update: Update, context: KaoheContext, press: keyboards.Press) -> None:
    """Record one grade as the voter's draft and redraw the page it is on."""
    query = update.callback_query
    assert query is not None and context.cadre is not None
    period_id, ratee_id, grade = press["period"], press["ratee"], press["grade"]
    async with context.unit_of_work() as session:
        ballot, changed = await ballots.choose(
            session=session,
            unit_id=_unit_id(context),
            voter=context.cadre,
            period_id=period_id,
            ratee_id=ratee_id,
            grade=grade,
            now=context.now(),
        )
    await presses.answer(update, context)
    context.set_outcome(update.update_id, "vote:draft" if changed else "vote:unchanged")
    if changed:
        await _edit(query, *_ballot_view(context, ballot, _page_of(ballot, ratee_id)))


async def _ballot(context: KaoheContext, press: keyboards.Press) -> Ballot:
    period_id = press["period"]
    async with context.services.sessions() as session:
        return await ballots.open_ballot(
            session=session,
            unit_id=_unit_id(context),
            voter=_voter(context),
            period_id=period_id,
            now=context.now(),
        )


async def _page_callback(update: Update, context: KaoheContext, press: keyboards.Press) -> None:
    """Show another page of the ballot (or come back to it from the confirmation)."""
    query = update.callback_query
    assert query is not None
    page = press["page"]
    ballot = await _ballot(context, press)
    await presses.answer(update, context)
    await _edit(query, *_ballot_view(context, ballot, page))


async def _who_callback(update: Update, context: KaoheContext, press: keyboards.Press) -> None:
    """Say which grade the colleague on this row has so far."""
    query = update.callback_query
    assert query is not None
    ratee_id = press["ratee"]
    ballot = await _ballot(context, press)
    colleague = next((c for c in ballot.colleagues if c.id == ratee_id), None)
    if colleague is None:
        raise BallotRefused(Refusal.OUT_OF_SCOPE, period=ballot.period)
    grade = ballot.grade_of(colleague.id or 0)
    await presses.answer(
        update,
        context,
        _plain(
            context,
            "ballot/who_short",
            name=_name(context, ballot, colleague),
            grade=_grade_label(context, grade) if grade else None,
        ),
    )


async def _department_callback(
    update: Update, context: KaoheContext, press: keyboards.Press
) -> None:
    """Say how many colleagues of the department under this heading have a grade so far."""
    ballot = await _ballot(context, press)
    people = next((p for d, p in ballot.departments() if d == press["department"]), None)
    if people is None:
        raise BallotRefused(Refusal.OUT_OF_SCOPE, period=ballot.period)
    await presses.answer(
        update,
        context,
        _plain(
            context,
            "ballot/department_short",
            department=ballot.naming.departments.get(press["department"], ""),
            graded=sum(1 for c in people if c.id in ballot.grades),
            total=len(people),
        ),
    )


async def _submit_callback(update: Update, context: KaoheContext, press: keyboards.Press) -> None:
    """Ask for confirmation once every colleague has a grade; else say who is missing."""
    query = update.callback_query
    assert query is not None
    ballot = await _ballot(context, press)
    if not ballot.colleagues:
        raise BallotRefused(Refusal.NOBODY, period=ballot.period)
    if not ballot.complete:
        refused = BallotRefused(Refusal.INCOMPLETE, period=ballot.period)
        refused.missing = tuple(_name(context, ballot, c) for c in ballot.missing)
        raise refused
    await presses.answer(update, context)
    await _edit(query, *_confirm_view(context, ballot))


async def _confirm_callback(update: Update, context: KaoheContext, press: keyboards.Press) -> None:
    """Cast the ballot, then replace the message by a receipt without any grade."""
    query = update.callback_query
    assert query is not None and context.cadre is not None
    period_id = press["period"]
    today = context.today()
    async with context.unit_of_work() as session:
        result = await ballots.cast(
            session=session,
            unit_id=_unit_id(context),
            voter=context.cadre,
            period_id=period_id,
            today=today,
            now=context.now(),
        )
    await presses.answer(update, context)
    context.set_outcome(update.update_id, "vote:cast")
    await forget_old_row_versions(context.services.engine, SECRET_TABLES)
    await _edit(
        query, context.render("ballot/cast", period=result.period, total=result.ballots), None
    )


def _refusing(action: keyboards.Handler) -> keyboards.Handler:
    """Turn a :class:`BallotRefused` raised by ``action`` into its alert; nothing changed."""

    async def run(update: Update, context: KaoheContext, press: keyboards.Press) -> None:
        try:
            await action(update, context, press)
        except BallotRefused as refused:
            await _refuse_press(update, context, refused)

    return run


async def _stale(update: Update, context: KaoheContext) -> None:
    await _refuse_press(update, context, BallotRefused(Refusal.STALE))


vote_callback = require(Role.CADRE)(
    VOTE.dispatcher(
        {
            "set": _refusing(_set_callback),
            "pg": _refusing(_page_callback),
            "who": _refusing(_who_callback),
            "dep": _refusing(_department_callback),
            "sub": _refusing(_submit_callback),
            "ok": _refusing(_confirm_callback),
        },
        stale=_stale,
    )
)


def handlers() -> list[BaseHandler[Update, Any, Any]]:
    return [
        CommandHandler("vote", vote_cmd, filters=filters.ChatType.PRIVATE),
        CallbackQueryHandler(vote_callback, pattern=VOTE.pattern),
    ]
