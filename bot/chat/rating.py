"""Head ratings (部门负责人考评): heads rate their department's cadres, leaders the heads they
supervise, with inline buttons on one message.

``/rate`` sends ONE message listing the people the caller rates, each with their state (rated ✅,
waiting for the self-score ⏳, to rate ✏️). Every press edits that same message: a person
(their submitted self-score per item, notes cut to a line so that the screen fits a phone, with
evidence on request), an item (score buttons, "same as the self-score", "type a number"; for a
quantified item each target's actual figure, "same as reported" or typed), and Confirm. A score
leads straight on to the next item still to rate, and after the last one back to the person with
Confirm; the press is answered with a toast naming the item and the score, and the next screen
opens with the item's number and title and a line saying what was just recorded, so that a
second tap on the same spot cannot score the next item unseen. There is a Back button at every
level.

A typed figure is confirmed in a new message at the bottom of the chat (where the rater is
looking after typing), which carries the buttons from then on; the message the figure was asked
in, further up, loses its buttons.

Callback data (``bot.chat.keyboards``): ``rate:<action>:<period>[:<ratee>[:<item>[:<arg>]]]``, e.g.
``rate:s:12:34:duty:90``. Every press is checked again on the server before anything else: the
presser is a head or a leader, the period is still open, the ratee is theirs to rate (same
department, or a head they supervise; never themselves), the item and target exist. Otherwise the
press gets an alert and nothing changes.

"Type a number" is the only step that waits for a message: a conversation with one state, entered
through a nested ``per_message=True`` conversation of the button handlers (see
:mod:`bot.chat.conversations` for why). ``user_data["rating_input"]`` says which figure is
awaited; a typed message is that figure when the rater asked for it more recently than any
other open question (a head's own self-score, say) was put.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum, unique
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import (
    BaseHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.appraisal import ratings
from bot.appraisal.month import current_month, month_status, open_period
from bot.appraisal.ratings import Sheet, SubmitOutcome
from bot.chat import keyboards, presses
from bot.chat.access import require
from bot.chat.context import KaoheContext
from bot.chat.conversations import TypedQuestions, button_conversation
from bot.chat.names import shown
from bot.rules.figures import parse_figure
from bot.rules.numbers import one_decimal, plain
from bot.rules.roles import Role
from storage.models import Cadre, Period, RatingSource, Target
from storage.queries import ratings as ratings_q
from storage.queries import roster as roster_q
from storage.queries.roster import unit_cadre

log = logging.getLogger(__name__)

NAME = "rating"
KEY = "rating_input"  # user_data key of the figure being typed (JSON)
PRIVATE = filters.ChatType.PRIVATE
END = ConversationHandler.END
HEAD = RatingSource.HEAD
SELF = RatingSource.SELF
RATERS = (Role.HEAD, Role.LEADER)
# The score buttons of a judged item (any other 0-100 figure can be typed).
SCORE_CHOICES = ("95", "90", "85", "80", "75", "70", "60")
SAME_AS_SELF = "self"
# What a typed score may carry after it (88分).
SCORE_UNITS = ("分",)


@unique
class Step(StrEnum):
    """What the rating conversation is waiting for."""

    TYPING = "typing"  # a typed score of an item, or a typed actual figure of one target


# --- the figure being typed -------------------------------------------------------------------


@dataclass(frozen=True)
class Pending:
    """The figure the rater asked to type, and the message to update once it is given."""

    period: int
    ratee: int
    item: str
    target: int | None
    chat: int
    message: int

    def as_json(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "ratee": self.ratee,
            "item": self.item,
            "target": self.target,
            "chat": self.chat,
            "message": self.message,
        }

    @classmethod
    def from_json(cls, data: Any) -> Pending | None:
        try:
            return cls(
                period=int(data["period"]),
                ratee=int(data["ratee"]),
                item=str(data["item"]),
                target=None if data.get("target") is None else int(data["target"]),
                chat=int(data["chat"]),
                message=int(data["message"]),
            )
        except (KeyError, TypeError, ValueError):
            return None


def _pending(context: KaoheContext) -> Pending | None:
    data = context.user_data.get(KEY) if context.user_data is not None else None
    return Pending.from_json(data) if data else None


def typing_pending(context: KaoheContext) -> bool:
    """Whether the caller asked to type a rating figure and has not given it yet."""
    return _pending(context) is not None


def forget_typing(context: KaoheContext) -> None:
    """Drop a rating figure the caller asked to type (a newer request replaces it)."""
    if context.user_data is not None:
        context.user_data.pop(KEY, None)


# A typed figure is awaited while one is pending; a typed message is that figure unless another
# conversation put its question more recently (see bot.chat.conversations).
QUESTIONS = TypedQuestions(NAME, is_open=typing_pending)


# --- what the rater sees ----------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One person on the rater's list."""

    cadre: Cadre
    relation: str  # "department" (a head's own department) or "supervised" (a leader's head)
    mark: str  # "done" (rated), "wait" (no self-score yet), "todo" (to rate)
    self_state: str
    head_state: str
    head_total: Decimal | None
    name: str  # as shown: with the department when another person shares the name


async def _rows(context: KaoheContext, period: Period, session: AsyncSession) -> list[Row]:
    rater = context.cadre
    assert rater is not None and period.id is not None
    people = await ratings.ratees_of(session=session, rater=rater)
    found = await ratings_q.period_ratings(session=session, period_id=period.id)
    by_key = {(r.ratee_id, r.source): r for r in found}
    naming = await roster_q.naming(session=session, unit_id=context.unit_id)
    rows = []
    for cadre in people:
        assert cadre.id is not None
        own, head = by_key.get((cadre.id, SELF.value)), by_key.get((cadre.id, HEAD.value))
        self_state = own.state if own else ratings_q.MISSING
        head_state = head.state if head else ratings_q.MISSING
        if head_state == "submitted":
            mark = "done"
        elif self_state == "submitted":
            mark = "todo"
        else:
            mark = "wait"
        relation = (
            "department"
            if rater.has(Role.HEAD) and cadre.department_id == rater.department_id
            else "supervised"
        )
        rows.append(
            Row(
                cadre,
                relation,
                mark,
                self_state,
                head_state,
                head.total if head else None,
                shown(context, cadre, naming),
            )
        )
    return rows


def _list_view(
    context: KaoheContext, period: Period, rows: list[Row]
) -> tuple[str, InlineKeyboardMarkup]:
    text = context.render(
        "rating/list",
        period=period,
        deadline=context.local(period.closes_at),
        rows=rows,
        department=[r for r in rows if r.relation == "department"],
        supervised=[r for r in rows if r.relation == "supervised"],
        left=sum(1 for r in rows if r.mark != "done"),
    )
    buttons = [
        RATE.button(
            context.label("rate.person", mark=context.label(f"rate.mark.{r.mark}"), name=r.name),
            "p",
            period.id,
            r.cadre.id,
        )
        for r in rows
    ]
    return text, keyboards.markup(buttons[i : i + 2] for i in range(0, len(buttons), 2))


@dataclass(frozen=True)
class _Person:
    """Everything the person and item views show about one ratee."""

    period: Period
    ratee: Cadre
    department: str
    own: Sheet  # the ratee's self-score (shown once submitted)
    head: Sheet  # the rating being given
    number: int  # the ratee's place on the rater's list
    count: int
    left: int  # people on the list not rated yet


async def _person(
    context: KaoheContext, period: Period, ratee: Cadre, session: AsyncSession
) -> _Person:
    rater = context.cadre
    assert rater is not None
    own = await ratings.load_sheet(session=session, period=period, ratee=ratee, source=SELF)
    head = await ratings.load_sheet(session=session, period=period, ratee=ratee, source=HEAD)
    department = await roster_q.unit_department(
        session=session, unit_id=context.unit_id, department_id=ratee.department_id
    )
    people = await ratings.ratees_of(session=session, rater=rater)
    assert period.id is not None
    found = await ratings_q.period_ratings(session=session, period_id=period.id)
    rated = {r.ratee_id for r in found if r.source == HEAD.value and r.state == "submitted"}
    ids = [c.id for c in people]
    left = sum(1 for c in people if c.id not in rated)
    return _Person(
        period=period,
        ratee=ratee,
        department=department.name if department else "",
        own=own,
        head=head,
        number=ids.index(ratee.id) + 1 if ratee.id in ids else 1,
        count=len(ids),
        left=left,
    )


def _person_view(
    context: KaoheContext, person: _Person, *, scored: Scored | None = None
) -> tuple[str, InlineKeyboardMarkup]:
    period_id, ratee_id = person.period.id, person.ratee.id
    text = context.render(
        "rating/person",
        p=person,
        deadline=context.local(person.period.closes_at),
        own_submitted=person.own.submitted,
        scored=scored.as_template() if scored else None,
    )
    rows: list[list[InlineKeyboardButton]] = []
    for answer in person.head.answers:
        row = [
            RATE.button(
                context.label(
                    "rate.item",
                    title=answer.item.title(context.lang),
                    score=one_decimal(answer.score.score if answer.score else None),
                ),
                "i",
                period_id,
                ratee_id,
                answer.key,
            )
        ]
        own = person.own.answer(answer.key)
        if person.own.submitted and own is not None and own.evidence_kind:
            row.append(
                RATE.button(context.label("rate.evidence"), "ev", period_id, ratee_id, answer.key)
            )
        rows.append(row)
    if person.head.complete and not person.head.submitted:
        assert person.head.total is not None
        rows.append(
            [
                RATE.button(
                    context.label("rate.confirm", total=one_decimal(person.head.total.score)),
                    "ok",
                    period_id,
                    ratee_id,
                )
            ]
        )
    rows.append([RATE.button(context.label("rate.back_list"), "list", period_id)])
    return text, keyboards.markup(rows)


@dataclass(frozen=True)
class Scored:
    """A figure just recorded: shown on the screen it leads to (and in the press's toast)."""

    title: str
    target: Target | None
    score: Decimal | None
    actual: Decimal | None

    def as_template(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "target": self.target,
            "score": self.score,
            "actual": self.actual,
        }


def _scored(
    context: KaoheContext,
    person: _Person,
    item_key: str | None,
    target: Target | None,
    **fields: Any,
) -> Scored | None:
    """What ``fields`` (a score, or a target's actual) recorded on ``item_key``; None if nothing."""
    answer = person.head.answer(item_key) if item_key else None
    if answer is None or not fields:
        return None
    return Scored(
        answer.item.title(context.lang), target, fields.get("score"), fields.get("actual")
    )


def _after_scoring(
    context: KaoheContext, person: _Person, item_key: str, scored: Scored | None = None
) -> tuple[str, InlineKeyboardMarkup]:
    """Where a score of ``item_key`` leads: the next item still to rate (a head between meetings
    rates item after item without a detour), else the person with Confirm."""
    keys = [a.key for a in person.head.answers if a.scorable]
    if item_key in keys:
        at = keys.index(item_key)
        for key in keys[at + 1 :] + keys[:at]:
            answer = person.head.answer(key)
            if answer is not None and not answer.complete:
                return _item_view(context, person, key, scored=scored)
    return _person_view(context, person, scored=scored)


def _item_view(
    context: KaoheContext,
    person: _Person,
    item_key: str,
    *,
    typing: Pending | None = None,
    scored: Scored | None = None,
) -> tuple[str, InlineKeyboardMarkup]:
    period_id, ratee_id = person.period.id, person.ratee.id
    head = person.head.answer(item_key)
    own = person.own.answer(item_key) if person.own.submitted else None
    assert head is not None
    typing_target = None
    if typing is not None and typing.target is not None:
        found = person.head.target(typing.target)
        typing_target = found[1] if found else None
    text = context.render(
        "rating/item",
        p=person,
        head=head,
        own=own,
        title=head.item.title(context.lang),
        number=next(i for i, a in enumerate(person.head.answers, 1) if a.key == item_key),
        count=len(person.head.answers),
        typing=typing is not None,
        typing_target=typing_target,
        scored=scored.as_template() if scored else None,
    )
    back_person = RATE.button(
        context.label("rate.back_person", name=person.ratee.name), "p", period_id, ratee_id
    )
    if typing is not None:
        cancel = RATE.button(
            context.label("rate.cancel_typing"), "i", period_id, ratee_id, item_key
        )
        return text, keyboards.markup([[cancel], [back_person]])
    rows: list[list[InlineKeyboardButton]] = []
    if not head.scorable:
        pass
    elif head.quantified:
        for target in head.targets:
            reported = own.actual(target.id) if own and target.id is not None else None
            row = []
            if reported is not None:
                row.append(
                    RATE.button(
                        context.label(
                            "rate.same_reported", code=target.code, value=plain(reported)
                        ),
                        "ts",
                        period_id,
                        ratee_id,
                        item_key,
                        target.id,
                    )
                )
            row.append(
                RATE.button(
                    context.label("rate.type_actual", code=target.code),
                    "tt",
                    period_id,
                    ratee_id,
                    item_key,
                    target.id,
                )
            )
            rows.append(row)
    else:
        current = head.score.score if head.score else None
        choices = [
            RATE.button(
                context.label("rate.chosen", value=v)
                if current is not None and Decimal(v) == current
                else v,
                "s",
                period_id,
                ratee_id,
                item_key,
                v,
            )
            for v in SCORE_CHOICES
        ]
        rows += [choices[:4], choices[4:]]
        extra = []
        if own is not None and own.score is not None:
            extra.append(
                RATE.button(
                    context.label("rate.same_self", value=one_decimal(own.score.score)),
                    "s",
                    period_id,
                    ratee_id,
                    item_key,
                    SAME_AS_SELF,
                )
            )
        extra.append(RATE.button(context.label("rate.type"), "t", period_id, ratee_id, item_key))
        rows.append(extra)
    rows.append([back_person])
    return text, keyboards.markup(rows)


async def _edit(
    context: KaoheContext,
    chat_id: int,
    message_id: int,
    view: tuple[str, InlineKeyboardMarkup],
) -> None:
    """Show ``view`` in the rater's one message (:func:`bot.chat.presses.show`)."""
    await presses.show(context.bot, chat_id, message_id, *view)


# --- the command ------------------------------------------------------------------------------


@require(*RATERS)
async def rate_cmd(update: Update, context: KaoheContext) -> object:
    """Send the list of the people the caller rates this month."""
    message = update.effective_message
    assert message is not None and context.cadre is not None
    forget_typing(context)
    async with context.services.sessions() as session:
        period = await current_month(
            session=session, unit_id=context.cadre.unit_id, now=context.now()
        )
        status = (
            await month_status(session=session, unit_id=context.cadre.unit_id, now=context.now())
            if period is None
            else None
        )
        rows = await _rows(context, period, session) if period is not None else []
    if period is None or status is not None:
        assert status is not None
        context.set_outcome(update.update_id, "rate:no_window")
        await message.reply_text(context.render("rating/no_window", st=context.month_words(status)))
        return END
    if not rows:
        context.set_outcome(update.update_id, "rate:nobody")
        await message.reply_text(context.render("rating/nobody", period=period))
        return END
    context.set_outcome(update.update_id, "rate:list")
    text, markup = _list_view(context, period, rows)
    await message.reply_text(text, reply_markup=markup)
    return END


# --- buttons ----------------------------------------------------------------------------------


_PERSON = (keyboards.ID("period"), keyboards.ID("ratee"))
_ITEM = (*_PERSON, keyboards.KEY("item"))
RATE = keyboards.Family(
    "rate",
    {
        "list": (keyboards.ID("period"),),
        "p": _PERSON,  # the person: their self-score and the items to rate
        "i": _ITEM,  # one item: the score buttons
        "s": (*_ITEM, keyboards.CHOICE("value", *SCORE_CHOICES, SAME_AS_SELF)),  # score it
        "t": _ITEM,  # type a score
        "ts": (*_ITEM, keyboards.ID("target")),  # a target's actual "same as reported"
        "tt": (*_ITEM, keyboards.ID("target")),  # type a target's actual
        "ev": _ITEM,  # send the ratee's evidence of the item
        "ok": _PERSON,  # confirm the rating
    },
)


@dataclass(frozen=True)
class _Checked:
    """A press that passed every server-side check (with the answer a score button gives)."""

    action: str
    period: Period
    ratee: Cadre | None = None
    item: str | None = None
    target: Target | None = None
    fields: dict[str, Any] | None = None


async def _check_person(
    context: KaoheContext, press: keyboards.Press, session: AsyncSession
) -> tuple[Period, Cadre | None, Sheet | None, Sheet | None] | str:
    """The press's period (open) and ratee (theirs to rate), with both sheets of an item press;
    else the template of the alert to show."""
    rater = context.cadre
    assert rater is not None
    period = await open_period(
        session=session, period_id=press["period"], unit_id=rater.unit_id, now=context.now()
    )
    if period is None:
        return "rating/closed_short"
    if "ratee" not in press.values:
        return period, None, None, None
    ratee = await unit_cadre(session=session, unit_id=rater.unit_id, cadre_id=press["ratee"])
    if ratee is None or not await ratings.may_rate(session=session, rater=rater, ratee=ratee):
        return "rating/foreign_short"
    if "item" not in press.values:
        return period, ratee, None, None
    head = await ratings.load_sheet(session=session, period=period, ratee=ratee, source=HEAD)
    own = await ratings.load_sheet(session=session, period=period, ratee=ratee, source=SELF)
    return period, ratee, head, own


def _check_item(
    press: keyboards.Press, period: Period, ratee: Cadre, head: Sheet, own: Sheet
) -> _Checked | str:
    """Check an item press against the item, its targets and the ratee's own answers."""
    action, item_key = press.action, press["item"]
    answer = head.answer(item_key)
    reported = own.answer(item_key) if own.submitted else None
    if answer is None:
        return "access/stale_short"
    if action in ("t", "s") and (answer.quantified or not answer.scorable):
        return "access/stale_short"
    if action in ("ts", "tt") and not answer.quantified:
        return "access/stale_short"  # a judged item takes no figures, whatever its targets
    if action == "ev" and (reported is None or not reported.evidence_file_id):
        return "rating/no_evidence_short"
    if action == "s":
        if press["value"] != SAME_AS_SELF:
            return _Checked("s", period, ratee, item_key, fields={"score": Decimal(press["value"])})
        if reported is None or reported.score is None:
            return "rating/no_self_short"
        return _Checked("s", period, ratee, item_key, fields={"score": reported.score.score})
    if action not in ("ts", "tt"):
        return _Checked(action, period, ratee, item_key)
    target = next((t for t in answer.targets if t.id == press["target"]), None)
    if target is None or not answer.scorable:
        return "access/stale_short"
    if action == "tt":
        return _Checked(action, period, ratee, item_key, target=target)
    actual = reported.actual(press["target"]) if reported else None
    if actual is None:
        return "rating/no_self_short"
    return _Checked("ts", period, ratee, item_key, target=target, fields={"actual": actual})


async def _check(
    context: KaoheContext, press: keyboards.Press, session: AsyncSession
) -> _Checked | str:
    """Check a press against the database; return it, or the template of the alert to show."""
    found = await _check_person(context, press, session)
    if isinstance(found, str):
        return found
    period, ratee, head, own = found
    if ratee is None:
        return _Checked(press.action, period)
    if head is None or own is None:
        return _Checked(press.action, period, ratee)
    return _check_item(press, period, ratee, head, own)


async def _rating_press(update: Update, context: KaoheContext, press: keyboards.Press) -> object:
    """Handle a rating button: checked on the server, written, answered, then shown."""
    query = update.callback_query
    assert query is not None and query.message is not None and context.cadre is not None
    person: _Person | None = None
    rows: list[Row] = []
    async with context.unit_of_work() as session:
        checked = await _check(context, press, session)
        if isinstance(checked, _Checked) and checked.action == "list":
            rows = await _rows(context, checked.period, session)
        elif isinstance(checked, _Checked) and checked.ratee is not None:
            if checked.fields is not None:
                await _save(
                    context,
                    session,
                    checked.period,
                    checked.ratee,
                    checked.item,
                    checked.target,
                    checked.fields,
                )
            if checked.action != "ok":
                person = await _person(context, checked.period, checked.ratee, session)
    if isinstance(checked, str):
        context.set_outcome(update.update_id, f"rate:refused:{checked.split('/')[-1]}")
        await presses.refuse(update, context, checked)
        return None
    context.set_outcome(update.update_id, f"rate:{checked.action}")
    chat_id, message_id = query.message.chat.id, query.message.message_id
    if checked.action == "ok":
        return await _confirm(update, context, checked)
    if checked.action == "list":
        await presses.answer(update, context)
        forget_typing(context)
        await _edit(context, chat_id, message_id, _list_view(context, checked.period, rows))
        return END
    assert checked.ratee is not None and person is not None
    scored = _scored(context, person, checked.item, checked.target, **(checked.fields or {}))
    await presses.answer(update, context, _scored_toast(context, person, scored))
    if checked.action in ("p", "s"):
        forget_typing(context)
        view = (
            _person_view(context, person)
            if checked.action == "p"
            else _after_scoring(context, person, checked.item or "", scored)
        )
        await _edit(context, chat_id, message_id, view)
        return END
    assert checked.item is not None
    if checked.action in ("i", "ts"):
        forget_typing(context)
        await _edit(context, chat_id, message_id, _item_view(context, person, checked.item))
        return END
    if checked.action == "ev":
        await _send_evidence(context, chat_id, person, checked.item)
        return None
    # "t" or "tt": ask for a typed figure
    assert checked.period.id is not None and checked.ratee.id is not None
    pending = Pending(
        period=checked.period.id,
        ratee=checked.ratee.id,
        item=checked.item,
        target=checked.target.id if checked.target else None,
        chat=chat_id,
        message=message_id,
    )
    assert context.user_data is not None
    context.user_data[KEY] = pending.as_json()
    QUESTIONS.asked(context)
    await _edit(
        context, chat_id, message_id, _item_view(context, person, checked.item, typing=pending)
    )
    return Step.TYPING


def _scored_toast(context: KaoheContext, person: _Person, scored: Scored | None) -> str | None:
    """What a score press answers: the item and the score just given (a toast, not an alert),
    so that a second tap on the same spot cannot silently score the next item unseen."""
    if scored is None:
        return None
    return context.texts.render_plain(
        context.lang, "rating/scored_short", name=person.ratee.name, **scored.as_template()
    )


press_callback = require(*RATERS)(
    RATE.dispatcher({action: _rating_press for action in RATE.actions}, stale=presses.stale)
)


async def _save(
    context: KaoheContext,
    session: AsyncSession,
    period: Period,
    ratee: Cadre,
    item_key: str | None,
    target: Target | None,
    fields: dict[str, Any],
) -> None:
    """Save one answer of the caller's rating of ``ratee`` (audited once submitted)."""
    rater = context.cadre
    assert rater is not None and item_key is not None
    await ratings.record_answer(
        session=session,
        period=period,
        ratee=ratee,
        rater=rater,
        source=HEAD,
        key=ratings_q.line_key(item_key, target),
        item_key=item_key,
        target_id=target.id if target else None,
        now=context.now(),
        **fields,
    )


async def submit_once(
    update: Update, context: KaoheContext, sheet: Sheet, *, outcome: str, texts: str, **values: Any
) -> Sheet | None:
    """Submit ``sheet`` on a press: write first, then say how it went; a second tap changes nothing.

    ``outcome`` prefixes the update's outcome, ``texts`` is the template folder of the
    ``already_short``, ``incomplete_short`` and ``submitted_short`` answers (given ``values``).
    Return the submitted sheet, or None when this press submitted nothing. What was submitted
    stays submitted whether or not the answer reaches Telegram (:func:`bot.chat.presses.answer`).
    """
    async with context.unit_of_work() as session:
        submitted, sheet = await ratings.submit_sheet(
            session=session,
            period=sheet.period,
            ratee=sheet.ratee,
            source=sheet.source,
            now=context.now(),
        )
    if submitted is SubmitOutcome.ALREADY:  # a double tap, or a tap racing this one
        context.set_outcome(update.update_id, f"{outcome}:already")
        await presses.answer(update, context, context.render(f"{texts}/already_short", **values))
        return None
    if submitted is SubmitOutcome.INCOMPLETE:
        context.set_outcome(update.update_id, f"{outcome}:incomplete")
        await presses.answer(
            update,
            context,
            context.render(f"{texts}/incomplete_short", sheet=sheet),
            alert=True,
        )
        return None
    await presses.answer(
        update, context, context.render(f"{texts}/submitted_short", sheet=sheet, **values)
    )
    return sheet


async def _confirm(update: Update, context: KaoheContext, press: _Checked) -> object:
    """Submit the rating once, then show the person as rated."""
    query = update.callback_query
    assert query is not None and query.message is not None and press.ratee is not None
    async with context.services.sessions() as session:
        sheet = await ratings.load_sheet(
            session=session, period=press.period, ratee=press.ratee, source=HEAD
        )
    submitted = await submit_once(
        update, context, sheet, outcome="rate", texts="rating", name=press.ratee.name
    )
    if submitted is None:
        return None
    forget_typing(context)
    async with context.services.sessions() as session:
        person = await _person(context, press.period, press.ratee, session)
    await _edit(
        context, query.message.chat.id, query.message.message_id, _person_view(context, person)
    )
    return END


async def _send_evidence(
    context: KaoheContext, chat_id: int, person: _Person, item_key: str
) -> None:
    own = person.own.answer(item_key)
    assert own is not None and own.evidence_file_id is not None  # checked with the press
    caption = context.render(
        "rating/evidence_caption",
        name=person.ratee.name,
        title=own.item.title(context.lang),
        note=own.note,
    )
    try:
        if own.evidence_kind == "photo":
            await context.bot.send_photo(chat_id, own.evidence_file_id, caption=caption)
        else:
            await context.bot.send_document(chat_id, own.evidence_file_id, caption=caption)
    except BadRequest:
        # Telegram no longer has the file (or refuses it): say so instead of failing.
        log.warning("evidence of rating line %s could not be sent", own.line and own.line.id)
        await context.bot.send_message(chat_id, context.render("rating/evidence_gone"))


# --- the typed figure -------------------------------------------------------------------------


@QUESTIONS.answers
@require(*RATERS)
async def typed_msg(update: Update, context: KaoheContext) -> object:
    """Take the figure the rater was asked to type; on bad input say why and ask again."""
    message = update.effective_message
    assert message is not None
    pending = _pending(context)
    rater = context.cadre
    if pending is None or rater is None or not (rater.role_set & set(RATERS)):
        forget_typing(context)
        context.set_outcome(update.update_id, "rate:nothing_pending")
        await message.reply_text(context.render("rating/nothing_pending"))
        return END
    problem: str | None = None
    scored: Scored | None = None
    async with context.unit_of_work() as session:
        period = await open_period(
            session=session, period_id=pending.period, unit_id=rater.unit_id, now=context.now()
        )
        ratee = await unit_cadre(session=session, unit_id=rater.unit_id, cadre_id=pending.ratee)
        allowed = (
            period is not None
            and ratee is not None
            and await ratings.may_rate(session=session, rater=rater, ratee=ratee)
        )
        person = (
            await _person(context, period, ratee, session)
            if period is not None and ratee is not None and allowed
            else None
        )
        answer = person.head.answer(pending.item) if person else None
        found = (
            person.head.target(pending.target) if person and pending.target is not None else None
        )
        target = found[1] if found else None
        if person is not None and answer is not None and (pending.target is None or found):
            figure = (
                parse_figure(message.text, maximum=None)
                if target
                else parse_figure(message.text, units=SCORE_UNITS)
            )
            if figure.problem is not None or message.text is None:
                problem = (
                    figure.problem.value if figure.problem and message.text else "number_expected"
                )
            else:
                fields = {"actual": figure.value} if target else {"score": figure.value}
                assert period is not None and ratee is not None
                await _save(context, session, period, ratee, answer.key, target, fields)
                person = await _person(context, period, ratee, session)
                scored = _scored(context, person, answer.key, target, **fields)
    if period is None:
        forget_typing(context)
        context.set_outcome(update.update_id, "rate:closed")
        await message.reply_text(context.render("rating/closed"))
        return END
    if not allowed or ratee is None or person is None:
        forget_typing(context)
        context.set_outcome(update.update_id, "rate:refused:foreign")
        await message.reply_text(context.render("rating/foreign"))
        return END
    if answer is None or (pending.target is not None and found is None):
        forget_typing(context)
        await message.reply_text(context.render("rating/nothing_pending"))
        return END
    if problem is not None:
        context.set_outcome(update.update_id, f"rate:refused:{problem}")
        await message.reply_text(
            context.render(
                "rating/typed_invalid",
                problem=problem,
                name=ratee.name,
                title=answer.item.title(context.lang),
                target=target,
            )
        )
        return None
    forget_typing(context)
    context.set_outcome(update.update_id, "rate:typed")
    text, markup = (
        _item_view(context, person, pending.item, scored=scored)
        if target is not None
        else _after_scoring(context, person, pending.item, scored)
    )
    # Confirmed where the rater is looking, at the bottom; the screen further up, where the
    # figure was asked for, keeps its text but gives its buttons to the new message.
    await message.reply_text(text, reply_markup=markup)
    await presses.strip_buttons(context, pending.chat, pending.message)
    return END


async def _leave(update: Update, context: KaoheContext) -> None:
    """Stop waiting for a typed figure (on /cancel); the rating message stays where it was."""
    forget_typing(context)


# --- wiring -----------------------------------------------------------------------------------


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    return [
        ConversationHandler(
            entry_points=[
                CommandHandler("rate", rate_cmd, filters=PRIVATE),
                # The buttons, nested so that "type a number" can move the parent to TYPING.
                button_conversation(
                    press_callback, family=RATE, name="rating_buttons", parent_states=Step
                ),
            ],
            states={
                Step.TYPING: [
                    MessageHandler(
                        PRIVATE & ~filters.COMMAND & ~filters.UpdateType.EDITED, typed_msg
                    )
                ],
            },
            fallbacks=[
                QUESTIONS.cancel_fallback(
                    _leave, outcome="rate:cancelled", template="rating/cancelled"
                )
            ],
            allow_reentry=True,
            per_chat=True,
            per_user=True,
            name=NAME,
            persistent=True,
        )
    ]
