"""Self-score (本人自评): each cadre scores their own month in the chat, item by item.

``/selfscore`` (or the ``selfscore:start:<period>`` button of the window-opening message) walks
through the items of the frozen scheme that apply to the cadre: for a judged item a 0-100 score
(common values on a reply keyboard, or typed: ``88``, ``88分``, full-width digits, ``九十``), for
a quantified item the actual figure of each target; then, in one optional step, a note or evidence
(a photo or a document, kept by its file id, its caption as the note), so that one "skip" passes
an item. An item answered before offers "keep 90", so that changing only the note needs no
retyping. The summary shows each item and the weighted total, with inline buttons to submit,
change an item or cancel. Once submitted, ``/selfscore`` shows the answers and lets the cadre
change an item until the deadline; every such change is audited.

Questions are short, for a phone: the way back and out is said once, on the first question of a
run; a refused answer is said in one line above the same question, not with the whole prompt.

The database is the truth: every answer is written as it comes (a draft ``Rating`` with its
lines), so a restart or a later ``/selfscore`` resumes. The conversation state only says that a
question is open; ``user_data["selfscore"]`` says which (the item, and so the kind of answer;
JSON, persisted).

The conversation holds only message handlers (``per_message=False``). Button presses go through a
nested ``per_message=True`` conversation of callback-query handlers that never keeps a state of
its own: it only maps each press to the step the parent should be in (``map_to_parent``), the way
python-telegram-bot nests conversations. Every press is checked again on the server: the role,
that the period is still open, that the item exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum, unique
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import (
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.ext import (
    BaseHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.appraisal import ratings
from bot.appraisal.month import current_month, month_status, open_period
from bot.appraisal.ratings import Sheet
from bot.chat import keyboards, presses, rating
from bot.chat.access import require
from bot.chat.context import KaoheContext
from bot.chat.conversations import TypedQuestions, button_conversation
from bot.rules.figures import parse_figure
from bot.rules.numbers import one_decimal, plain
from bot.rules.roles import Role
from storage.models import Period, RatingSource
from storage.queries.ratings import line_key

_PERIOD = (keyboards.ID("period"),)
SELFSCORE = keyboards.Family(
    "selfscore",
    {
        "start": _PERIOD,
        "submit": _PERIOD,
        "change": _PERIOD,
        "item": (keyboards.ID("period"), keyboards.KEY("item")),
        "summary": _PERIOD,
        "cancel": _PERIOD,
        "close": _PERIOD,
    },
)
NAME = "selfscore"
KEY = "selfscore"  # user_data key of the position (JSON)
PRIVATE = filters.ChatType.PRIVATE
END = ConversationHandler.END
SELF = RatingSource.SELF
# The common scores offered on the reply keyboard (typing any other 0-100 figure works too).
SCORE_CHOICES = ("100", "95", "90", "85", "80", "75", "70", "60")
NOTE_MAX = 500


@unique
class Step(StrEnum):
    """Which answer the conversation is waiting for."""

    SCORE = "score"  # a 0-100 score of a judged item
    TARGET = "target"  # the actual figure of one target of a quantified item
    DETAILS = "details"  # the optional note or evidence (text, a photo or a document, or skip)


# The steps of an earlier version, which asked for the note and the evidence one after the other:
# a conversation persisted at one of them goes on at the one step that asks for both now.
LEGACY_STEPS = {"note": Step.DETAILS, "evidence": Step.DETAILS}
# What a score may be typed with after it.
SCORE_UNITS = ("分",)


@dataclass(frozen=True)
class Position:
    """Where the cadre is: the period, the step, the item (and target), and whether they are
    walking through every item or changing one item from the summary."""

    period: int
    step: Step
    item: str
    target: int | None = None
    change: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "step": self.step.value,
            "item": self.item,
            "target": self.target,
            "change": self.change,
        }

    @classmethod
    def from_json(cls, data: Any) -> Position | None:
        try:
            return cls(
                period=int(data["period"]),
                step=LEGACY_STEPS.get(data["step"]) or Step(data["step"]),
                item=str(data["item"]),
                target=None if data.get("target") is None else int(data["target"]),
                change=bool(data.get("change")),
            )
        except (KeyError, TypeError, ValueError):
            return None

    @property
    def spot(self) -> tuple[Step, str, int | None]:
        return self.step, self.item, self.target


# --- where the cadre is -----------------------------------------------------------------------


def steps_of(sheet: Sheet, *, only: str | None = None) -> list[tuple[Step, str, int | None]]:
    """Every question of the self-score in order (or of the one item being changed).

    A quantified item the office has not given targets to has no question: it cannot be scored.
    """
    steps: list[tuple[Step, str, int | None]] = []
    for answer in sheet.answers:
        if (only is not None and answer.key != only) or not answer.scorable:
            continue
        if answer.quantified:
            steps += [(Step.TARGET, answer.key, t.id) for t in answer.targets]
        else:
            steps.append((Step.SCORE, answer.key, None))
        steps.append((Step.DETAILS, answer.key, None))
    return steps


def _position(context: KaoheContext) -> Position | None:
    data = context.user_data.get(KEY) if context.user_data is not None else None
    return Position.from_json(data) if data else None


def _remember(context: KaoheContext, position: Position | None) -> None:
    if context.user_data is None:
        return
    if position is None:
        context.user_data.pop(KEY, None)
    else:
        context.user_data[KEY] = position.as_json()


# A question is open while the position is kept; a typed message answers it unless another
# conversation put its question more recently (see bot.chat.conversations).
QUESTIONS = TypedQuestions(NAME, is_open=lambda context: _position(context) is not None)


def _first_open_step(sheet: Sheet) -> tuple[Step, str, int | None] | None:
    """The first question of the first item not answered yet."""
    for answer in sheet.answers:
        if answer.scorable and not answer.complete:
            return steps_of(sheet, only=answer.key)[0]
    return None


# --- keyboards --------------------------------------------------------------------------------


def _kept(sheet: Sheet, position: Position) -> Decimal | None:
    """The figure already given at this question (a score, or a target's actual), if any."""
    answer = sheet.answer(position.item)
    if answer is None:
        return None
    if position.step is Step.SCORE:
        return answer.line.score if answer.line else None
    if position.step is Step.TARGET and position.target is not None:
        return answer.actual(position.target)
    return None


def _keep_label(context: KaoheContext, value: Decimal, language: str | None = None) -> str:
    return context.texts.label(language or context.lang, "selfscore.keep", value=plain(value))


def _reply_keyboard(
    context: KaoheContext, step: Step, kept: Decimal | None = None
) -> ReplyKeyboardMarkup:
    back = context.label("selfscore.back")
    skip = context.label("selfscore.skip")
    keep = [[_keep_label(context, kept)]] if kept is not None else []
    if step is Step.SCORE:
        rows = [*keep, list(SCORE_CHOICES[:4]), list(SCORE_CHOICES[4:]), [back]]
    elif step is Step.TARGET:
        rows = [*keep, [back]]
    else:
        rows = [[skip], [back]]
    return ReplyKeyboardMarkup(
        rows,
        resize_keyboard=True,
        input_field_placeholder=context.label(f"selfscore.placeholder.{step.value}"),
    )


def _summary_keyboard(context: KaoheContext, sheet: Sheet) -> InlineKeyboardMarkup:
    period_id = sheet.period.id
    change = SELFSCORE.button(context.label("selfscore.change"), "change", period_id)
    if sheet.submitted:
        close = SELFSCORE.button(context.label("selfscore.close"), "close", period_id)
        return keyboards.markup([[change, close]])
    submit = (
        [SELFSCORE.button(context.label("selfscore.submit"), "submit", period_id)]
        if sheet.complete
        else []
    )
    cancel = SELFSCORE.button(context.label("selfscore.cancel"), "cancel", period_id)
    return keyboards.markup([submit, [change, cancel]])


def _pick_keyboard(context: KaoheContext, sheet: Sheet) -> InlineKeyboardMarkup:
    period_id = sheet.period.id
    rows = [
        [
            SELFSCORE.button(
                context.label(
                    "selfscore.item_button",
                    title=a.item.title(context.lang),
                    score=one_decimal(a.score.score if a.score else None),
                ),
                "item",
                period_id,
                a.key,
            )
        ]
        for a in sheet.answers
        if a.scorable
    ]
    rows.append([SELFSCORE.button(context.label("selfscore.to_summary"), "summary", period_id)])
    return keyboards.markup(rows)


# --- what the cadre sees ----------------------------------------------------------------------


def _deadline(context: KaoheContext, period: Period) -> datetime:
    return context.local(period.closes_at)


def _question(
    context: KaoheContext,
    sheet: Sheet,
    position: Position,
    *,
    problem: str | None = None,
    footer: bool = False,
) -> str:
    answer = sheet.answer(position.item)
    assert answer is not None
    everything = steps_of(sheet)
    found = sheet.target(position.target) if position.target is not None else None
    number = next(i for i, a in enumerate(sheet.answers, 1) if a.key == position.item)
    kept = _kept(sheet, position)
    return context.render(
        "selfscore/question",
        step=position.step.value,
        change=position.change,
        period=sheet.period,
        deadline=_deadline(context, sheet.period),
        answer=answer,
        title=answer.item.title(context.lang),
        number=number,
        count=len(sheet.answers),
        target=found[1] if found else None,
        target_number=(answer.targets.index(found[1]) + 1) if found else None,
        share=answer.month_targets.get(position.target) if position.target else None,
        so_far=sheet.year_to_date.get(position.target) if position.target else None,
        intro=problem is None and sheet.rating is None and everything.index(position.spot) == 0,
        footer=footer and problem is None,
        first=not position.change and everything.index(position.spot) == 0,
        problem=problem,
        kept=kept,
        keep=_keep_label(context, kept) if kept is not None else None,
        note_max=NOTE_MAX,
        skip=context.label("selfscore.skip"),
        back=context.label("selfscore.back"),
    )


async def _ask(
    update: Update,
    context: KaoheContext,
    sheet: Sheet,
    position: Position,
    *,
    problem: str | None = None,
    footer: bool = False,
) -> Step:
    """Send the question of ``position`` (again, after a problem, in short) and remember where
    we are. ``footer``: say how to go back or stop (on the first question of a run only)."""
    _remember(context, position)
    QUESTIONS.asked(context)
    assert update.effective_chat is not None
    await update.effective_chat.send_message(
        _question(context, sheet, position, problem=problem, footer=footer),
        reply_markup=_reply_keyboard(context, position.step, _kept(sheet, position)),
    )
    return position.step


def _summary(context: KaoheContext, sheet: Sheet, *, note: str | None = None) -> str:
    return context.render(
        "selfscore/summary",
        sheet=sheet,
        period=sheet.period,
        deadline=_deadline(context, sheet.period),
        submitted_at=(
            context.local(sheet.rating.submitted_at)
            if sheet.rating and sheet.rating.submitted_at
            else None
        ),
        note=note,
    )


async def _send_summary(
    update: Update, context: KaoheContext, sheet: Sheet, *, note: str | None = None
) -> None:
    """Close the reply keyboard with a short word, then show the summary with its buttons."""
    assert update.effective_chat is not None
    await update.effective_chat.send_message(
        context.render("selfscore/saved", note=note, submitted=sheet.submitted),
        reply_markup=ReplyKeyboardRemove(),
    )
    await update.effective_chat.send_message(
        _summary(context, sheet), reply_markup=_summary_keyboard(context, sheet)
    )


async def _edit(message: object, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Edit a message in place; pressing a button that changes nothing is not an error."""
    await presses.edit(message, text, markup)


async def _load(context: KaoheContext, period_id: int | None) -> tuple[Period, Sheet] | None:
    """The period (if it is open) and the caller's self-score sheet in it."""
    cadre = context.cadre
    assert cadre is not None
    async with context.services.sessions() as session:
        if period_id is None:
            period = await current_month(session=session, unit_id=cadre.unit_id, now=context.now())
        else:
            period = await open_period(
                session=session, period_id=period_id, unit_id=cadre.unit_id, now=context.now()
            )
        if period is None:
            return None
        sheet = await ratings.load_sheet(session=session, period=period, ratee=cadre, source=SELF)
    return period, sheet


async def _no_window(update: Update, context: KaoheContext) -> object:
    cadre = context.cadre
    assert cadre is not None and update.effective_message is not None
    async with context.services.sessions() as session:
        status = await month_status(session=session, unit_id=cadre.unit_id, now=context.now())
    _remember(context, None)
    context.set_outcome(update.update_id, "selfscore:no_window")
    await update.effective_message.reply_text(
        context.render("selfscore/no_window", st=context.month_words(status)),
        reply_markup=ReplyKeyboardRemove(),
    )
    return END


async def _resume(update: Update, context: KaoheContext, sheet: Sheet) -> object:
    """Re-ask the question the cadre was at, else start at the first unanswered item, else
    show the summary."""
    position = _position(context)
    period_id = sheet.period.id
    assert period_id is not None
    if position is not None and position.period == period_id:
        steps = steps_of(sheet, only=position.item if position.change else None)
        if position.spot in steps:
            return await _ask(update, context, sheet, position, footer=True)
    start = None if sheet.submitted else _first_open_step(sheet)
    if start is None:
        _remember(context, None)
        await _send_summary(update, context, sheet)
        return END
    step, item, target = start
    return await _ask(update, context, sheet, Position(period_id, step, item, target), footer=True)


# --- entry ------------------------------------------------------------------------------------


@require(Role.CADRE)
async def selfscore_cmd(update: Update, context: KaoheContext) -> object:
    """Start or resume the self-score of the open month, or show it once submitted."""
    loaded = await _load(context, None)
    if loaded is None:
        return await _no_window(update, context)
    context.set_outcome(update.update_id, "selfscore:open")
    return await _resume(update, context, loaded[1])


# --- answers ----------------------------------------------------------------------------------


@dataclass
class _Turn:
    position: Position
    period: Period
    sheet: Sheet


@dataclass(frozen=True)
class _Decision:
    """What a message does to the open question: save these fields, then go on (``next``),
    go back, or ask again because of ``problem``."""

    move: str  # "next" | "back" | "again"
    fields: dict[str, Any] | None = None
    problem: str | None = None
    outcome: str = ""


LANGUAGES = ("zh", "en")


def _is(context: KaoheContext, text: str | None, key: str) -> bool:
    """Whether ``text`` is the reply button ``key`` (in either language, as people switch)."""
    if not text:
        return False
    typed = text.strip().casefold()
    return any(typed == context.texts.label(language, key).casefold() for language in LANGUAGES)


def _is_keep(context: KaoheContext, text: str | None, kept: Decimal | None) -> bool:
    """Whether ``text`` is the "keep 90" button of the figure already given."""
    if not text or kept is None:
        return False
    typed = text.strip().casefold()
    return any(typed == _keep_label(context, kept, language).casefold() for language in LANGUAGES)


def _decide(context: KaoheContext, turn: _Turn, message: Message) -> _Decision:
    """Read the message as the answer the open question wants (nothing is written here)."""
    step = turn.position.step
    text = message.text
    if step is not Step.DETAILS and text is None:
        return _Decision("again", problem="number_expected", outcome="refused:number_expected")
    if _is(context, text, "selfscore.back"):
        return _Decision("back", outcome="back")
    if step in (Step.SCORE, Step.TARGET):
        name = "score" if step is Step.SCORE else "actual"
        if _is_keep(context, text, _kept(turn.sheet, turn.position)):
            return _Decision("next", outcome=f"{name}:kept")
        figure = (
            parse_figure(text, units=SCORE_UNITS)
            if step is Step.SCORE
            else parse_figure(text, maximum=None)
        )
        if figure.problem is not None:
            return _Decision("again", problem=figure.problem, outcome=f"refused:{figure.problem}")
        return _Decision("next", {name: figure.value}, outcome=name)
    return _details(context, message)


def _details(context: KaoheContext, message: Message) -> _Decision:
    """The one optional step after the figures: a note, or evidence with its caption as the
    note, or skip (what was given before stays)."""
    evidence = None
    if message.photo:
        evidence = (message.photo[-1].file_id, "photo")
    elif message.document:
        evidence = (message.document.file_id, "document")
    if evidence is not None:
        note = (message.caption or "").strip()
        if len(note) > NOTE_MAX:
            return _Decision("again", problem="too_long", outcome="refused:too_long")
        fields: dict[str, Any] = {"evidence": evidence}
        if note:
            fields["note"] = note
        return _Decision("next", fields, outcome="evidence")
    text = message.text
    if text is None:
        return _Decision("again", problem="details_expected", outcome="refused:details_expected")
    if _is(context, text, "selfscore.skip"):
        return _Decision("next", outcome="details:skipped")
    note = text.strip()
    if len(note) > NOTE_MAX:
        return _Decision("again", problem="too_long", outcome="refused:too_long")
    return _Decision("next", {"note": note or None}, outcome="note")


async def _record(
    session: AsyncSession, context: KaoheContext, turn: _Turn, fields: dict[str, Any]
) -> _Turn:
    """Save one answer in the unit of work; the turn goes on with the sheet as it is now (read
    in the same transaction, so the next question and the summary show what was saved)."""
    cadre = context.cadre
    assert cadre is not None
    target = turn.position.target
    found = turn.sheet.target(target) if target is not None else None
    await ratings.record_answer(
        session=session,
        period=turn.period,
        ratee=cadre,
        rater=cadre,
        source=SELF,
        key=line_key(turn.position.item, found[1] if found else None),
        item_key=turn.position.item,
        target_id=target,
        now=context.now(),
        **fields,
    )
    sheet = await ratings.load_sheet(session=session, period=turn.period, ratee=cadre, source=SELF)
    return _Turn(turn.position, turn.period, sheet)


async def _next(update: Update, context: KaoheContext, turn: _Turn) -> object:
    """Go to the next question, or to the summary after the last one."""
    sheet = turn.sheet
    position = turn.position
    steps = steps_of(sheet, only=position.item if position.change else None)
    index = steps.index(position.spot) + 1
    if index < len(steps):
        step, item, target = steps[index]
        return await _ask(
            update, context, sheet, Position(position.period, step, item, target, position.change)
        )
    _remember(context, None)
    await _send_summary(update, context, sheet, note="changed" if position.change else "done")
    return END


async def _back(update: Update, context: KaoheContext, turn: _Turn) -> object:
    """Go back one question (from the first question of a change, back to the summary)."""
    position = turn.position
    steps = steps_of(turn.sheet, only=position.item if position.change else None)
    index = steps.index(position.spot)
    if index == 0:
        if position.change:
            _remember(context, None)
            await _send_summary(update, context, turn.sheet)
            return END
        return await _ask(update, context, turn.sheet, position, problem="first")
    step, item, target = steps[index - 1]
    return await _ask(
        update,
        context,
        turn.sheet,
        Position(position.period, step, item, target, position.change),
    )


@QUESTIONS.answers
@require(Role.CADRE)
async def answer_msg(update: Update, context: KaoheContext) -> object:
    """Take a message as the answer of the open question, in one unit of work, then reply."""
    message = update.effective_message
    cadre = context.cadre
    assert message is not None and cadre is not None
    position = _position(context)
    if position is None:
        # No question is open (it was left, e.g. by /cancel while another conversation asked).
        context.set_outcome(update.update_id, "unknown")
        await message.reply_text(context.render("basics/unknown"))
        return END
    turn: _Turn | None = None
    decision: _Decision | None = None
    async with context.unit_of_work() as session:
        period = await open_period(
            session=session, period_id=position.period, unit_id=cadre.unit_id, now=context.now()
        )
        if period is not None:
            sheet = await ratings.load_sheet(
                session=session, period=period, ratee=cadre, source=SELF
            )
            turn = _Turn(position, period, sheet)
            spots = steps_of(sheet, only=position.item if position.change else None)
            if position.spot in spots:
                decision = _decide(context, turn, message)
                if decision.fields:
                    turn = await _record(session, context, turn, decision.fields)
    if turn is None:
        _remember(context, None)
        context.set_outcome(update.update_id, "selfscore:closed")
        await message.reply_text(
            context.render("selfscore/closed"), reply_markup=ReplyKeyboardRemove()
        )
        return END
    if decision is None:
        _remember(context, None)  # the office changed the targets under our feet: start over
        return await _resume(update, context, turn.sheet)
    context.set_outcome(update.update_id, f"selfscore:{decision.outcome}")
    if decision.move == "back":
        return await _back(update, context, turn)
    if decision.move == "again":
        return await _ask(update, context, turn.sheet, turn.position, problem=decision.problem)
    return await _next(update, context, turn)


async def _leave(update: Update, context: KaoheContext) -> None:
    """Forget where the cadre was (on /cancel); what was answered stays saved."""
    _remember(context, None)


# --- buttons ----------------------------------------------------------------------------------


async def _loaded_press(
    update: Update, context: KaoheContext, press: keyboards.Press
) -> tuple[int, Sheet] | None:
    """The press's period (still open) and the caller's sheet in it; else an alert, None."""
    loaded = await _load(context, press["period"])
    if loaded is None:
        context.set_outcome(update.update_id, "selfscore:closed")
        await presses.refuse(update, context, "selfscore/closed_short")
        return None
    context.set_outcome(update.update_id, f"selfscore:{press.action}")
    return press["period"], loaded[1]


async def _item_press(update: Update, context: KaoheContext, press: keyboards.Press) -> object:
    """Change one item of the self-score (from the summary's list of items)."""
    loaded = await _loaded_press(update, context, press)
    if loaded is None:
        return None
    period_id, sheet = loaded
    answer = sheet.answer(press["item"])
    if answer is None or not answer.scorable:
        await presses.stale(update, context)
        return None
    await presses.answer(update, context)
    assert update.callback_query is not None
    await _edit(
        update.callback_query.message,
        context.render("selfscore/picked", title=answer.item.title(context.lang)),
        None,
    )
    step, item, target = steps_of(sheet, only=answer.key)[0]
    return await _ask(
        update, context, sheet, Position(period_id, step, item, target, change=True), footer=True
    )


async def _submit_press(update: Update, context: KaoheContext, press: keyboards.Press) -> object:
    loaded = await _loaded_press(update, context, press)
    return None if loaded is None else await _submit(update, context, loaded[1])


async def _start_press(update: Update, context: KaoheContext, press: keyboards.Press) -> object:
    loaded = await _loaded_press(update, context, press)
    if loaded is None:
        return None
    await presses.answer(update, context)
    return await _resume(update, context, loaded[1])


async def _view_press(update: Update, context: KaoheContext, press: keyboards.Press) -> object:
    """The summary's other buttons: the list of items, back to the summary, close, cancel."""
    loaded = await _loaded_press(update, context, press)
    if loaded is None:
        return None
    sheet = loaded[1]
    query = update.callback_query
    assert query is not None
    await presses.answer(update, context)
    if press.action == "change":
        await _edit(
            query.message,
            context.render("selfscore/pick", sheet=sheet),
            _pick_keyboard(context, sheet),
        )
        return None
    if press.action == "summary":
        await _edit(query.message, _summary(context, sheet), _summary_keyboard(context, sheet))
        return None
    if press.action == "close":
        await _edit(query.message, _summary(context, sheet), None)
        return None
    _remember(context, None)  # cancel
    await _edit(query.message, context.render("selfscore/cancelled"), None)
    return END


press_callback = require(Role.CADRE)(
    SELFSCORE.dispatcher(
        {
            "start": _start_press,
            "submit": _submit_press,
            "item": _item_press,
            "change": _view_press,
            "summary": _view_press,
            "close": _view_press,
            "cancel": _view_press,
        },
        stale=presses.stale,
    )
)


async def _submit(update: Update, context: KaoheContext, sheet: Sheet) -> object:
    """Submit the self-score once, then show the submitted summary."""
    query = update.callback_query
    assert query is not None
    submitted = await rating.submit_once(
        update, context, sheet, outcome="selfscore", texts="selfscore"
    )
    if submitted is None:
        return None
    _remember(context, None)
    await _edit(query.message, _summary(context, submitted), _summary_keyboard(context, submitted))
    return END


# --- wiring -----------------------------------------------------------------------------------


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    # An edited message is not an answer (it would land on whatever question is open now).
    answers: list[BaseHandler[Update, Any, object]] = [
        MessageHandler(PRIVATE & ~filters.COMMAND & ~filters.UpdateType.EDITED, answer_msg)
    ]
    return [
        ConversationHandler(
            entry_points=[
                CommandHandler("selfscore", selfscore_cmd, filters=PRIVATE),
                button_conversation(
                    press_callback, family=SELFSCORE, name="selfscore_buttons", parent_states=Step
                ),
            ],
            # The state says that a question is open; the position says which (and so what
            # kind of message answers it).
            states={
                **{step: answers for step in Step},
                **{legacy: answers for legacy in LEGACY_STEPS},
            },
            fallbacks=[
                QUESTIONS.cancel_fallback(
                    _leave,
                    outcome="selfscore:cancelled",
                    template="selfscore/cancelled",
                    remove_keyboard=True,
                )
            ],
            allow_reentry=True,
            per_chat=True,
            per_user=True,
            name=NAME,
            persistent=True,
        )
    ]
