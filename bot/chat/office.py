"""The office's records in chat: ``/discipline``, ``/reward``, ``/deduct``; and ``/status``.

``/discipline`` records a violation of the office rules (机关制度) for the open month: pick
people (a department, then its people, ticked ✓: the absentees of one meeting are one record
each, made in one flow), a violation of the month's frozen catalogue, the date, an optional
note, then confirm. ``/reward`` and ``/deduct`` record a one-off reward or deduction on the
year-end bonus: people, amount, written reason, confirm. Each command also leads to the month's
(or year's) records with an Undo button per record; records are never deleted.

Which month a violation counts in: the month of its date while that month's window is open,
else the window open now. One month is open at a time, and a violation may carry any date from
the 1st of the open month to its window's deadline, so a lateness on 2 December recorded while
November's window is open (December's has not opened) counts in November; the date step says
so, and the confirmation says so plainly whenever the date lies outside the month it counts in.

A discipline record and a deduction are told to the person concerned, privately and with the
reason, by a message queued in the outbox in the unit of work that writes the record (so it is
queued exactly when, and as often as, the record is written: once); undoing one tells them too.

One message carries each flow and is edited in place by every button. A typed answer (a date, a
note, an amount, a reason) gets the next step as a new message, and the old message loses its
buttons.

How buttons and typing fit together without python-telegram-bot's ``per_message`` warning:

* The typed steps are a ``ConversationHandler`` (``office_record``, per person, persistent)
  holding only message and command handlers: it is in a state exactly while a typed answer is
  expected (:data:`TYPED`), so it never holds on to text meant for anyone else.
* Every button goes through a nested ``ConversationHandler`` (``office_record_buttons``,
  ``per_message=True``, callback handlers only) that ends at once and, through ``map_to_parent``,
  tells the typed conversation which state comes next. It is an entry point of the typed
  conversation, so buttons work in any state, also after a restart.
* The draft lives in ``user_data["office"]`` (JSON, persisted after every update). It carries a
  random token that every button of the flow repeats; a press with another token (an old
  message, a finished or cancelled flow, a second tap on Confirm) gets an alert and changes
  nothing. Confirm takes the draft out before it writes, so a double tap records once.

Callback data (family ``off``), always ``off:<action>:<token>[:<arg>]``:

=======================  ====================================================================
``dept:<t>:<dept>``      show the people of a department
``who:<t>:<cadre>``      tick (or untick) that person
``next:<t>``             go on with the people ticked
``vio:<t>:<key>``        pick that violation of the frozen catalogue
``day:<t>:<yyyymmdd>``   pick that date (today / yesterday)
``skip:<t>``             no note
``ok:<t>``               confirm: record it
``back:<t>``             one step back
``x:<t>``                cancel (or close the list)
``list:<t>:<page>``      the month's (year's) records, a page of them
``new:<t>``              start a new record from the list or after recording one
``undo:<t>:<id>``        ask to undo a record
``yes:<t>:<id>``         undo it
=======================  ====================================================================

Every press is checked on the server: the office role, the token, the step, that ids belong to
the unit (and to the month or year), and that the month is still open; anything else gets an
alert. Each press is answered once its checks are done, before anything is written or edited.

"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum, unique
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    BaseHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.appraisal.month import current_month, open_period
from bot.chat import keyboards, presses
from bot.chat.access import require
from bot.chat.context import KaoheContext
from bot.chat.conversations import TypedQuestions, button_conversation
from bot.chat.names import shown
from bot.core.clock import aware_utc
from bot.rules.figures import InputError, parse_amount, parse_day, parse_text
from bot.rules.numbers import plain
from bot.rules.roles import Role
from bot.rules.scheme import Scheme, Violation
from storage.models import BonusEntryKind, Cadre, Period
from storage.queries import office as office_q
from storage.queries import outbox as outbox_q
from storage.queries import periods as periods_q
from storage.queries import roster as roster_q
from storage.queries.schemes import scheme_of

_T = keyboards.TOKEN("token")
OFFICE = keyboards.Family(
    "off",
    {
        "dept": (_T, keyboards.ID("department")),
        "who": (_T, keyboards.ID("cadre")),
        "next": (_T,),
        "vio": (_T, keyboards.KEY("violation")),
        "day": (_T, keyboards.DATE("day")),
        "skip": (_T,),
        "ok": (_T,),
        "back": (_T,),
        "x": (_T,),
        "list": (_T, keyboards.INT("page")),
        "new": (_T,),
        "undo": (_T, keyboards.ID("record")),
        "yes": (_T, keyboards.ID("record")),
    },
)
CONVERSATION = "office_record"
BUTTONS = "office_record_buttons"
DRAFT_KEY = "office"
PAGE_SIZE = 8  # records a page of the list: eight Undo buttons still fit a phone's screen
NOTE_MAX = 500  # the columns' length
REASON_MAX = 500
SHORT_TEXT = 40  # notes and reasons are cut to this in the list, to keep it within one message

PRIVATE = filters.ChatType.PRIVATE

END = ConversationHandler.END


@unique
class Kind(StrEnum):
    """What is being recorded."""

    DISCIPLINE = "discipline"  # 机关制度: a violation, a deduction of office-rules points
    REWARD = "reward"  # 奖励: money added to the year-end bonus
    DEDUCTION = "deduction"  # 扣罚: money taken from the year-end bonus


@unique
class Step(StrEnum):
    """Where a flow stands; the typed ones are also the states of the typed conversation."""

    DEPARTMENT = "department"  # pick a department (buttons), or go on with the people ticked
    PERSON = "person"  # tick people of that department (buttons), then go on
    VIOLATION = "violation"  # pick a violation of the frozen catalogue (buttons)
    DATE = "date"  # when it happened: today / yesterday, or typed
    NOTE = "note"  # an optional note: typed, or skipped with a button
    AMOUNT = "amount"  # the amount in yuan (typed)
    REASON = "reason"  # the written reason (typed)
    CONFIRM = "confirm"  # the summary with Confirm / Back / Cancel
    DONE = "done"  # recorded: another record, or the list
    LIST = "list"  # the month's (year's) records with an Undo button each
    UNDO = "undo"  # confirm undoing one record


TYPED = frozenset({Step.DATE, Step.NOTE, Step.AMOUNT, Step.REASON})

FLOWS: dict[Kind, tuple[Step, ...]] = {
    Kind.DISCIPLINE: (
        Step.DEPARTMENT,
        Step.PERSON,
        Step.VIOLATION,
        Step.DATE,
        Step.NOTE,
        Step.CONFIRM,
    ),
    Kind.REWARD: (Step.DEPARTMENT, Step.PERSON, Step.AMOUNT, Step.REASON, Step.CONFIRM),
    Kind.DEDUCTION: (Step.DEPARTMENT, Step.PERSON, Step.AMOUNT, Step.REASON, Step.CONFIRM),
}
# Where "Back" leads from the steps outside the numbered flow.
BACK_TO = {Step.LIST: Step.DEPARTMENT, Step.UNDO: Step.LIST}
# The draft's field that each step fills in.
FIELDS = {
    Step.DEPARTMENT: "department_id",
    Step.PERSON: "cadre_ids",
    Step.VIOLATION: "violation",
    Step.DATE: "day",
    Step.NOTE: "note",
    Step.AMOUNT: "amount",
    Step.REASON: "reason",
}


# --- typed input ----------------------------------------------------------------------------------


# --- the draft ------------------------------------------------------------------------------------


@dataclass
class Draft:
    """A flow under way, kept in ``user_data`` as plain JSON."""

    token: str
    kind: str
    step: str
    year: int
    period_id: int | None = None  # the open month (discipline; bonus entries when one is open)
    department_id: int | None = None
    cadre_ids: list[int] = field(default_factory=list)  # the people ticked, in the order ticked
    violation: str | None = None
    day: str | None = None  # ISO date
    note: str | None = None
    amount: str | None = None
    reason: str | None = None
    record_id: int | None = None  # the record to undo (UNDO)
    record_ids: list[int] = field(default_factory=list)  # the records recorded (DONE)
    page: int = 0
    message_id: int | None = None

    @classmethod
    def load(cls, context: KaoheContext) -> Draft | None:
        data = (context.user_data or {}).get(DRAFT_KEY)
        if not isinstance(data, dict):
            return None
        known = {f.name for f in fields(cls)}
        if data.get("cadre_id") and not data.get("cadre_ids"):  # a draft kept by an older version
            data = {**data, "cadre_ids": [data["cadre_id"]]}
        try:
            return cls(**{k: v for k, v in data.items() if k in known})
        except TypeError:
            return None

    def save(self, context: KaoheContext) -> None:
        if context.user_data is not None:
            context.user_data[DRAFT_KEY] = asdict(self)

    @property
    def flow(self) -> tuple[Step, ...]:
        return FLOWS[Kind(self.kind)]

    @property
    def bonus_kind(self) -> BonusEntryKind:
        return BonusEntryKind(self.kind)

    def back(self) -> Step | None:
        step = Step(self.step)
        if step in BACK_TO:
            return BACK_TO[step]
        if step in self.flow and self.flow.index(step) > 0:
            return self.flow[self.flow.index(step) - 1]
        return None

    def advance(self, answered: Step) -> None:
        """Go on to the step after ``answered``, forgetting the answers given after it before.

        After going back and choosing someone else, the violation chosen for the first person
        must be chosen again, not carried over unseen.
        """
        flow = self.flow
        position = flow.index(answered)
        for later in flow[position + 1 :]:
            if later in FIELDS:
                setattr(self, FIELDS[later], [] if later == Step.PERSON else None)
        self.step = flow[position + 1].value

    def fresh(self, step: Step) -> Draft:
        """The same flow started over at ``step``: nothing chosen yet."""
        return Draft(
            token=self.token,
            kind=self.kind,
            step=step.value,
            year=self.year,
            period_id=self.period_id,
            message_id=self.message_id,
        )


def _typed_draft(context: KaoheContext) -> Draft | None:
    """The flow under way if it waits for typed text (a date, a note, an amount, a reason)."""
    draft = Draft.load(context)
    return draft if draft is not None and draft.step in TYPED else None


# A typed message answers the flow's step unless another conversation put its question more
# recently (see bot.chat.conversations).
QUESTIONS = TypedQuestions(CONVERSATION, is_open=lambda context: _typed_draft(context) is not None)


def _drop(context: KaoheContext) -> Draft | None:
    draft = Draft.load(context)
    if context.user_data is not None:
        context.user_data.pop(DRAFT_KEY, None)
    return draft


def _token() -> str:
    return secrets.token_hex(4)


def _state_of(step: str) -> object:
    """The typed conversation's state for a step: a typed step, or none (buttons only)."""
    return Step(step) if step in TYPED else END


def _unit(context: KaoheContext) -> int:
    unit_id = context.services.unit_id
    assert unit_id is not None  # set at start-up
    return unit_id


def _today(context: KaoheContext) -> date:
    return context.today()


def remaining(closes_at: datetime, now: datetime) -> tuple[int, int] | None:
    """Whole days and hours until ``closes_at``; None once it has passed."""
    left = aware_utc(closes_at) - now
    if left.total_seconds() <= 0:
        return None
    return left.days, left.seconds // 3600


async def _open_month(context: KaoheContext, session: AsyncSession) -> Period | None:
    """The month open now (its window not yet past), or None."""
    return await current_month(session=session, unit_id=_unit(context), now=context.now())


async def _bonus_year(context: KaoheContext, session: AsyncSession) -> tuple[int, int | None]:
    """The year a reward or deduction counts for: the open month's, else the current year."""
    period = await _open_month(context, session)
    if period is not None:
        return period.year, period.id
    return _today(context).year, None


async def _problem(context: KaoheContext, session: AsyncSession, draft: Draft) -> str | None:
    """Why the draft can no longer be used (the month closed, the year turned), or None."""
    if draft.kind == Kind.DISCIPLINE:
        period = await open_period(
            session=session,
            period_id=draft.period_id or 0,
            unit_id=_unit(context),
            now=context.now(),
        )
        return None if period is not None else "closed"
    year, _ = await _bonus_year(context, session)
    return None if year == draft.year else "year_changed"


# --- the screens ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordLine:
    """One line of the list of records."""

    n: int
    id: int
    name: str
    what: str  # the violation's title, or the amount
    points: Decimal | None
    day: date | None
    text: str | None  # the note or the reason, shortened
    undone: bool


@dataclass
class FlowView:
    """Everything a step's template and keyboard need."""

    kind: str
    step: str
    year: int
    month: int | None
    number: int | None  # the step's place in the flow (1-based), None outside the flow
    total: int
    rest: list[str]  # the steps still to come
    department: str | None = None  # the department whose people are shown (PERSON)
    people: list[tuple[str, str]] = field(default_factory=list)  # ticked: (name, department)
    one_department: str | None = None  # the department of every person ticked, if one
    violation: str | None = None
    points: Decimal | None = None
    day: date | None = None
    note: str | None = None
    amount: Decimal | None = None
    reason: str | None = None
    choices: list[tuple[int, str]] = field(default_factory=list)  # (id, name) to pick from
    picked: set[int] = field(default_factory=set)  # ids ticked (the ✓ on their buttons)
    deadline: datetime | None = None  # the open month's deadline, local (discipline)
    violations: list[tuple[str, str, Decimal]] = field(default_factory=list)  # key, title, points
    first: date | None = None
    last: date | None = None
    today: date | None = None
    yesterday: date | None = None
    count: int = 0
    records: list[RecordLine] = field(default_factory=list)
    page: int = 0
    pages: int = 1
    record: RecordLine | None = None


def _short(text: str | None) -> str | None:
    if text is None or len(text) <= SHORT_TEXT:
        return text
    return text[: SHORT_TEXT - 1] + "…"


def _date_range(period: Period, zone: Any) -> tuple[date, date]:
    """Dates a violation of ``period`` may carry: the month itself, or its window."""
    closes_local = aware_utc(period.closes_at).astimezone(zone).date()
    return period.starts_on, max(period.ends_on, closes_local)


async def _period(context: KaoheContext, session: AsyncSession, draft: Draft) -> Period | None:
    if draft.period_id is None:
        return None
    return await periods_q.unit_period(
        session=session, unit_id=_unit(context), period_id=draft.period_id
    )


async def _count(context: KaoheContext, session: AsyncSession, draft: Draft) -> int:
    if draft.kind == Kind.DISCIPLINE:
        return await office_q.count_discipline_records(
            session=session, unit_id=_unit(context), period_id=draft.period_id or 0
        )
    return await office_q.count_bonus_entries(
        session=session, unit_id=_unit(context), year=draft.year, kind=draft.bonus_kind
    )


async def _records(
    context: KaoheContext,
    session: AsyncSession,
    draft: Draft,
    scheme: Scheme | None,
    names: roster_q.Naming,
) -> list[RecordLine]:
    unit_id = _unit(context)
    lines = []
    if draft.kind == Kind.DISCIPLINE:
        found = await office_q.discipline_records(
            session=session, unit_id=unit_id, period_id=draft.period_id or 0
        )
        for n, view in enumerate(found, start=1):
            record = view.record
            lines.append(
                RecordLine(
                    n=n,
                    id=record.id or 0,
                    name=shown(context, view.cadre, names),
                    what=_violation_title(scheme, record.violation_key, context.lang),
                    points=record.deduction,
                    day=record.occurred_on,
                    text=_short(record.note),
                    undone=record.undone_at is not None,
                )
            )
        return lines
    entries = await office_q.bonus_entries(
        session=session, unit_id=unit_id, year=draft.year, kind=draft.bonus_kind
    )
    for n, bonus in enumerate(entries, start=1):
        entry = bonus.entry
        lines.append(
            RecordLine(
                n=n,
                id=entry.id or 0,
                name=shown(context, bonus.cadre, names),
                what=f"{entry.amount:.2f}",
                points=None,
                day=context.local(entry.created_at).date(),
                text=_short(entry.reason),
                undone=entry.undone_at is not None,
            )
        )
    return lines


def _violation_title(scheme: Scheme | None, key: str, lang: str) -> str:
    if scheme is None:
        return key
    try:
        return scheme.violation(key).title(lang)
    except KeyError:
        return key


async def _view(context: KaoheContext, session: AsyncSession, draft: Draft) -> FlowView:
    """Read what the draft's step shows."""
    unit_id = _unit(context)
    step = Step(draft.step)
    flow = draft.flow
    period = await _period(context, session, draft)
    scheme = scheme_of(period) if period is not None and period.scheme is not None else None
    view = FlowView(
        kind=draft.kind,
        step=draft.step,
        year=draft.year,
        month=period.number if period is not None and draft.kind == Kind.DISCIPLINE else None,
        number=flow.index(step) + 1 if step in flow else None,
        total=len(flow),
        rest=[s.value for s in flow[flow.index(step) + 1 :]] if step in flow else [],
    )
    names = await roster_q.naming(session=session, unit_id=unit_id)
    if draft.department_id is not None:
        view.department = names.departments.get(draft.department_id)
    for cadre_id in draft.cadre_ids:
        cadre = await roster_q.unit_cadre(session=session, unit_id=unit_id, cadre_id=cadre_id)
        if cadre is not None:
            view.people.append((shown(context, cadre, names), names.department(cadre)))
            view.picked.add(cadre_id)
    if len({department for _, department in view.people}) == 1:
        view.one_department = view.people[0][1]
    if period is not None and draft.kind == Kind.DISCIPLINE:
        view.deadline = context.local(period.closes_at)
    if draft.violation is not None and scheme is not None:
        view.violation = _violation_title(scheme, draft.violation, context.lang)
        view.points = scheme.violation(draft.violation).points
    view.day = date.fromisoformat(draft.day) if draft.day else None
    view.note = draft.note
    view.amount = Decimal(draft.amount) if draft.amount else None
    view.reason = draft.reason

    if step == Step.DEPARTMENT:
        groups = await office_q.assessed_by_department(session=session, unit_id=unit_id)
        view.choices = [(g.department.id or 0, g.department.name) for g in groups]
        view.count = await _count(context, session, draft)
    elif step == Step.PERSON:
        groups = await office_q.assessed_by_department(session=session, unit_id=unit_id)
        people = next((g.people for g in groups if g.department.id == draft.department_id), [])
        view.choices = [(c.id or 0, shown(context, c, names)) for c in people]
    elif step == Step.VIOLATION and scheme is not None:
        view.violations = [(v.key, v.title(context.lang), v.points) for v in scheme.violations]
    elif step == Step.DATE and period is not None:
        today = _today(context)
        view.first, last = _date_range(period, context.services.settings.zone)
        view.last = min(last, today)
        view.today = today if view.first <= today <= view.last else None
        yesterday = today - timedelta(days=1)
        view.yesterday = yesterday if view.first <= yesterday <= view.last else None
    elif step in (Step.LIST, Step.DONE, Step.UNDO):
        records = await _records(context, session, draft, scheme, names)
        view.count = len(records)
        view.pages = max(1, -(-len(records) // PAGE_SIZE))
        view.page = min(max(draft.page, 0), view.pages - 1)
        view.records = records[view.page * PAGE_SIZE : (view.page + 1) * PAGE_SIZE]
        view.record = next((r for r in records if r.id == draft.record_id), None)
    return view


def _button(
    context: KaoheContext, draft: Draft, label: str, action: str, *args: object, **params: Any
) -> InlineKeyboardButton:
    """A flow button: ``label`` is a key of labels.toml; the draft's token goes first."""
    return OFFICE.button(context.label(label, **params), action, draft.token, *args)


def _nav(context: KaoheContext, draft: Draft, *, back: bool = True) -> list[InlineKeyboardButton]:
    row = []
    if back and draft.back() is not None:
        row.append(_button(context, draft, "office.back", "back"))
    row.append(_button(context, draft, "office.cancel", "x"))
    return row


def _grid(buttons: list[InlineKeyboardButton], width: int) -> list[list[InlineKeyboardButton]]:
    return [buttons[i : i + width] for i in range(0, len(buttons), width)]


def _onward(context: KaoheContext, draft: Draft, picked: int) -> InlineKeyboardButton:
    """Go on with the people ticked (refused with a word while nobody is)."""
    return _button(context, draft, "office.onward", "next", n=picked)


def _list_label(context: KaoheContext, draft: Draft, count: int) -> str:
    key = "office.records_month" if draft.kind == Kind.DISCIPLINE else "office.records_year"
    return context.label(key, count=count, year=draft.year)


def _keyboard(context: KaoheContext, draft: Draft, view: FlowView) -> InlineKeyboardMarkup:
    step = Step(draft.step)
    token = draft.token
    rows: list[list[InlineKeyboardButton]] = []
    if step == Step.DEPARTMENT:
        rows += keyboards.fit(
            [OFFICE.button(name, "dept", token, i) for i, name in view.choices], most=2
        )
        if view.people:
            rows.append([_onward(context, draft, len(view.people))])
        rows.append([OFFICE.button(_list_label(context, draft, view.count), "list", token, 0)])
        rows.append([_button(context, draft, "office.cancel", "x")])
        return keyboards.markup(rows)
    if step == Step.PERSON:
        rows += keyboards.fit(
            [
                OFFICE.button(
                    context.label("office.picked", name=name) if i in view.picked else name,
                    "who",
                    token,
                    i,
                )
                for i, name in view.choices
            ],
            most=3,
        )
        rows.append([_onward(context, draft, len(view.people))])
        rows.append(
            [
                _button(context, draft, "office.departments", "back"),
                _button(context, draft, "office.cancel", "x"),
            ]
        )
        return keyboards.markup(rows)
    elif step == Step.VIOLATION:
        rows += [
            [
                OFFICE.button(
                    context.label("office.violation", title=title, points=plain(points)),
                    "vio",
                    token,
                    key,
                )
            ]
            for key, title, points in view.violations
        ]
    elif step == Step.DATE:
        row = []
        for key, day in (("office.today", view.today), ("office.yesterday", view.yesterday)):
            if day is not None:
                row.append(
                    OFFICE.button(
                        context.label(key, day=day.strftime("%m-%d")),
                        "day",
                        token,
                        day,
                    )
                )
        rows.append(row)
    elif step == Step.NOTE:
        rows.append([_button(context, draft, "office.skip", "skip")])
    elif step == Step.CONFIRM:
        rows.append([_button(context, draft, "office.confirm", "ok")])
    elif step == Step.DONE:
        rows.append(
            [
                _button(context, draft, "office.new", "new"),
                OFFICE.button(_list_label(context, draft, view.count), "list", token, 0),
            ]
        )
        return keyboards.markup(rows)
    elif step == Step.LIST:
        undo = [
            OFFICE.button(context.label("office.undo", n=r.n), "undo", token, r.id)
            for r in view.records
            if not r.undone
        ]
        rows += _grid(undo, 2)
        if view.pages > 1:
            pager = []
            if view.page > 0:
                pager.append(_button(context, draft, "office.prev", "list", view.page - 1))
            if view.page < view.pages - 1:
                pager.append(_button(context, draft, "office.next", "list", view.page + 1))
            rows.append(pager)
        rows.append(
            [
                _button(context, draft, "office.new", "new"),
                _button(context, draft, "office.close", "x"),
            ]
        )
        return keyboards.markup(rows)
    elif step == Step.UNDO:
        rows.append([_button(context, draft, "office.undo_yes", "yes", draft.record_id)])
    rows.append(_nav(context, draft))
    return keyboards.markup(rows)


async def _screen(
    context: KaoheContext, draft: Draft, *, error: InputError | None = None
) -> tuple[str, InlineKeyboardMarkup]:
    async with context.services.sessions() as session:
        view = await _view(context, session, draft)
    text = context.render(
        f"office/{draft.step}",
        v=view,
        error=error.key if error else None,
        error_params=error.params if error else {},
        fmt=plain,
    )
    return text, _keyboard(context, draft, view)


async def _show(
    update: Update, context: KaoheContext, draft: Draft, *, error: InputError | None = None
) -> object:
    """Show the draft's step: edit the pressed message, or answer a typed message with a new one.

    Returns the typed conversation's next state.
    """
    text, markup = await _screen(context, draft, error=error)
    query = update.callback_query
    if query is not None and query.message is not None:
        await presses.edit(query.message, text, markup)
        draft.message_id = query.message.message_id
    else:
        message = update.effective_message
        assert message is not None
        await presses.strip_buttons(context, message.chat_id, draft.message_id)
        sent = await message.reply_text(text, reply_markup=markup)
        draft.message_id = sent.message_id
    draft.save(context)
    if draft.step in TYPED:
        QUESTIONS.asked(context)
    return _state_of(draft.step)


async def _ack(update: Update, context: KaoheContext) -> None:
    """Answer a press whose checks passed (with nothing to say); after its work is written."""
    await presses.answer(update, context)


async def _refuse(update: Update, context: KaoheContext, reason: str) -> object:
    """Answer a press with an alert; nothing changes (the typed conversation keeps its state)."""
    query = update.callback_query
    assert query is not None
    context.set_outcome(update.update_id, f"office:refused:{reason}")
    await presses.refuse(update, context, "office/alert", reason=reason)
    return None


# --- commands -------------------------------------------------------------------------------------


async def _start(update: Update, context: KaoheContext, kind: Kind) -> object:
    message = update.effective_message
    assert message is not None
    async with context.services.sessions() as session:
        year, period_id = await _bonus_year(context, session)
    old = _drop(context)
    if old is not None:
        await presses.strip_buttons(context, message.chat_id, old.message_id)
    if kind == Kind.DISCIPLINE and period_id is None:
        context.set_outcome(update.update_id, "office:no_month")
        await message.reply_text(context.render("office/no_month"))
        return END
    draft = Draft(
        token=_token(), kind=kind.value, step=Step.DEPARTMENT.value, year=year, period_id=period_id
    )
    context.set_outcome(update.update_id, f"office:{kind.value}")
    return await _show(update, context, draft)


@require(Role.OFFICE)
async def discipline_cmd(update: Update, context: KaoheContext) -> object:
    """Start recording a violation of the office rules for the open month."""
    return await _start(update, context, Kind.DISCIPLINE)


@require(Role.OFFICE)
async def reward_cmd(update: Update, context: KaoheContext) -> object:
    """Start recording a one-off reward on the year-end bonus."""
    return await _start(update, context, Kind.REWARD)


@require(Role.OFFICE)
async def deduct_cmd(update: Update, context: KaoheContext) -> object:
    """Start recording a one-off deduction from the year-end bonus."""
    return await _start(update, context, Kind.DEDUCTION)


async def _leave(update: Update, context: KaoheContext) -> dict[str, Any]:
    """Drop the record being made (on /cancel) and its message's buttons; nothing is recorded."""
    message = update.effective_message
    assert message is not None
    draft = _drop(context)
    if draft is not None:
        await presses.strip_buttons(context, message.chat_id, draft.message_id)
    return {"kind": draft.kind if draft else None}


# --- typed answers --------------------------------------------------------------------------------


@QUESTIONS.answers
@require(Role.OFFICE)
async def answer_msg(update: Update, context: KaoheContext) -> object:
    """Take the typed answer of the current step; anything but text is refused."""
    message = update.effective_message
    assert message is not None
    if message.text is None:
        return await _not_text(update, context)
    return await _typed(update, context, message.text)


async def _typed(update: Update, context: KaoheContext, text: str) -> object:
    """Take the typed answer of the current step: a date, a note, an amount or a reason."""
    message = update.effective_message
    assert message is not None
    draft = _typed_draft(context)
    if draft is None:
        context.set_outcome(update.update_id, "unknown")
        await message.reply_text(context.render("basics/unknown"))
        return END
    async with context.services.sessions() as session:
        problem = await _problem(context, session, draft)
        period = await _period(context, session, draft)
    if problem is not None:
        _drop(context)
        await presses.strip_buttons(context, message.chat_id, draft.message_id)
        context.set_outcome(update.update_id, f"office:refused:{problem}")
        await message.reply_text(context.render("office/closed", reason=problem))
        return END
    try:
        if draft.step == Step.DATE:
            assert period is not None
            first, last = _date_range(period, context.services.settings.zone)
            today = _today(context)
            draft.day = parse_day(text, first=first, last=last, today=today).isoformat()
        elif draft.step == Step.NOTE:
            draft.note = parse_text(text, limit=NOTE_MAX)
        elif draft.step == Step.AMOUNT:
            draft.amount = str(parse_amount(text))
        else:
            draft.reason = parse_text(text, limit=REASON_MAX)
    except InputError as error:
        context.set_outcome(update.update_id, f"office:bad_input:{error.key}")
        return await _show(update, context, draft, error=error)
    draft.advance(Step(draft.step))
    return await _show(update, context, draft)


async def _not_text(update: Update, context: KaoheContext) -> object:
    """Refuse a sticker, photo or file where typed text is expected; ask the same question."""
    draft = _typed_draft(context)
    if draft is None:
        return END
    context.set_outcome(update.update_id, "office:bad_input:text_only")
    return await _show(update, context, draft, error=InputError("text_only"))


# --- buttons --------------------------------------------------------------------------------------


async def _pick_department(update: Update, context: KaoheContext, draft: Draft, arg: Any) -> object:
    async with context.services.sessions() as session:
        groups = await office_q.assessed_by_department(session=session, unit_id=_unit(context))
    if not any(g.department.id == arg for g in groups):
        return await _refuse(update, context, "not_found")
    await _ack(update, context)
    # The people ticked in other departments stay ticked: one record may concern several.
    draft.department_id = arg
    draft.step = Step.PERSON.value
    return await _show(update, context, draft)


async def _pick_person(update: Update, context: KaoheContext, draft: Draft, arg: Any) -> object:
    """Tick a person of the department shown, or untick them."""
    async with context.services.sessions() as session:
        cadre = await office_q.assessed_cadre(session=session, unit_id=_unit(context), cadre_id=arg)
    if cadre is None or cadre.department_id != draft.department_id or cadre.id is None:
        return await _refuse(update, context, "not_found")
    await _ack(update, context)
    if cadre.id in draft.cadre_ids:
        draft.cadre_ids.remove(cadre.id)
    else:
        draft.cadre_ids.append(cadre.id)
    return await _show(update, context, draft)


async def _onward_people(update: Update, context: KaoheContext, draft: Draft, arg: Any) -> object:
    """Go on with the people ticked; with nobody ticked, say so."""
    if not draft.cadre_ids:
        return await _refuse(update, context, "nobody_picked")
    await _ack(update, context)
    draft.advance(Step.PERSON)
    return await _show(update, context, draft)


async def _pick_violation(update: Update, context: KaoheContext, draft: Draft, arg: Any) -> object:
    async with context.services.sessions() as session:
        period = await _period(context, session, draft)
    scheme = scheme_of(period) if period is not None else None
    if scheme is None or arg not in {v.key for v in scheme.violations}:
        return await _refuse(update, context, "not_found")
    await _ack(update, context)
    draft.violation = arg
    draft.advance(Step.VIOLATION)
    return await _show(update, context, draft)


async def _pick_day(update: Update, context: KaoheContext, draft: Draft, arg: Any) -> object:
    async with context.services.sessions() as session:
        period = await _period(context, session, draft)
    try:
        assert period is not None
        first, last = _date_range(period, context.services.settings.zone)
        day = parse_day(arg.isoformat(), first=first, last=last, today=_today(context))
    except (AssertionError, ValueError):
        return await _refuse(update, context, "stale")
    await _ack(update, context)
    draft.day = day.isoformat()
    draft.advance(Step.DATE)
    return await _show(update, context, draft)


async def _skip_note(update: Update, context: KaoheContext, draft: Draft, arg: Any) -> object:
    await _ack(update, context)
    draft.note = None
    draft.advance(Step.NOTE)
    return await _show(update, context, draft)


async def _back(update: Update, context: KaoheContext, draft: Draft, arg: Any) -> object:
    target = draft.back()
    if target is None:
        return await _refuse(update, context, "stale")
    await _ack(update, context)
    draft.step = target.value
    return await _show(update, context, draft)


async def _cancel(update: Update, context: KaoheContext, draft: Draft, arg: Any) -> object:
    query = update.callback_query
    assert query is not None
    _drop(context)
    await _ack(update, context)
    context.set_outcome(update.update_id, "office:cancelled")
    await presses.edit(query.message, context.render("office/cancelled", kind=draft.kind), None)
    return END


async def _new(update: Update, context: KaoheContext, draft: Draft, arg: Any) -> object:
    await _ack(update, context)
    return await _show(update, context, draft.fresh(Step.DEPARTMENT))


async def _list(update: Update, context: KaoheContext, draft: Draft, arg: Any) -> object:
    await _ack(update, context)
    listing = draft.fresh(Step.LIST)
    listing.page = arg
    return await _show(update, context, listing)


async def _find_record(
    context: KaoheContext, session: AsyncSession, draft: Draft, record_id: int
) -> tuple[bool, bool]:
    """Whether the record exists in this unit and month (or year), and whether it is undone."""
    unit_id = _unit(context)
    if draft.kind == Kind.DISCIPLINE:
        view = await office_q.discipline_record(
            session=session, unit_id=unit_id, period_id=draft.period_id or 0, record_id=record_id
        )
        return view is not None, view is not None and view.record.undone_at is not None
    found = await office_q.bonus_entry(
        session=session, unit_id=unit_id, year=draft.year, kind=draft.bonus_kind, entry_id=record_id
    )
    return found is not None, found is not None and found.entry.undone_at is not None


async def _ask_undo(update: Update, context: KaoheContext, draft: Draft, arg: Any) -> object:
    async with context.services.sessions() as session:
        exists, undone = await _find_record(context, session, draft, arg)
    if not exists:
        return await _refuse(update, context, "not_found")
    if undone:
        return await _refuse(update, context, "already_undone")
    await _ack(update, context)
    draft.step = Step.UNDO.value
    draft.record_id = arg
    return await _show(update, context, draft)


async def _undo(update: Update, context: KaoheContext, draft: Draft, arg: Any) -> object:
    if arg != draft.record_id:
        return await _refuse(update, context, "stale")
    async with context.services.sessions() as session:
        exists, undone = await _find_record(context, session, draft, arg)
    if not exists:
        return await _refuse(update, context, "not_found")
    if undone:
        return await _refuse(update, context, "already_undone")
    actor = context.cadre
    assert actor is not None
    async with context.unit_of_work() as session:
        if draft.kind == Kind.DISCIPLINE:
            outcome = await office_q.undo_discipline(
                session=session,
                unit_id=_unit(context),
                period_id=draft.period_id or 0,
                record_id=arg,
                actor=actor,
                now=context.now(),
            )
        else:
            outcome = await office_q.undo_bonus_entry(
                session=session,
                unit_id=_unit(context),
                year=draft.year,
                kind=draft.bonus_kind,
                entry_id=arg,
                actor=actor,
                now=context.now(),
            )
        if outcome is office_q.UndoOutcome.UNDONE:
            await _tell_undone(context, session, draft, arg)
    context.set_outcome(update.update_id, f"office:undo:{outcome.value}")
    await _ack(update, context)
    listing = draft.fresh(Step.LIST)
    listing.page = draft.page
    return await _show(update, context, listing)


async def _tell_undone(
    context: KaoheContext, session: AsyncSession, draft: Draft, record_id: int
) -> None:
    """Tell the person of a discipline record or deduction just undone that it no longer counts."""
    unit_id = _unit(context)
    if draft.kind == Kind.DISCIPLINE:
        found = await office_q.discipline_record(
            session=session, unit_id=unit_id, period_id=draft.period_id or 0, record_id=record_id
        )
        period = await _period(context, session, draft)
        if found is None or period is None:
            return
        record = found.record
        await _tell(
            context,
            session,
            found.cadre,
            key=f"office:discipline:{record_id}",
            period=period,
            undone=True,
            kind=draft.kind,
            violation=scheme_of(period).violation(record.violation_key),
            points=record.deduction,
            day=record.occurred_on,
            note=record.note,
        )
    elif draft.kind == Kind.DEDUCTION:
        bonus = await office_q.bonus_entry(
            session=session,
            unit_id=unit_id,
            year=draft.year,
            kind=draft.bonus_kind,
            entry_id=record_id,
        )
        if bonus is None:
            return
        await _tell(
            context,
            session,
            bonus.cadre,
            key=f"office:deduction:{record_id}",
            period=None,
            undone=True,
            kind=draft.kind,
            year=bonus.entry.year,
            amount=bonus.entry.amount,
            reason=bonus.entry.reason,
        )


async def _confirm(update: Update, context: KaoheContext, draft: Draft, arg: Any) -> object:
    """Record the draft, one record a person ticked, and tell each of them (not of a reward)."""
    # Take the draft out first: a second tap on Confirm finds no draft and records nothing.
    _drop(context)
    unit_id = _unit(context)
    async with context.services.sessions() as session:
        people = [
            await office_q.assessed_cadre(session=session, unit_id=unit_id, cadre_id=cadre_id)
            for cadre_id in draft.cadre_ids
        ]
        period = await _period(context, session, draft)
    cadres = [c for c in people if c is not None]
    complete = (
        bool(cadres)
        and len(cadres) == len(people)
        and (
            (draft.violation is not None and draft.day is not None and period is not None)
            if draft.kind == Kind.DISCIPLINE
            else (draft.amount is not None and bool(draft.reason))
        )
    )
    if not complete:
        draft.save(context)
        return await _refuse(update, context, "not_found")
    actor = context.cadre
    assert actor is not None
    record_ids = []
    async with context.unit_of_work() as session:
        for cadre in cadres:
            record_ids.append(await _record(context, session, draft, period, cadre, actor))
    context.set_outcome(update.update_id, f"office:recorded:{draft.kind}")
    await _ack(update, context)
    done = replace(draft, token=_token(), step=Step.DONE.value, record_ids=record_ids)
    return await _show(update, context, done)


async def _record(
    context: KaoheContext,
    session: AsyncSession,
    draft: Draft,
    period: Period | None,
    cadre: Cadre,
    actor: Cadre,
) -> int:
    """Write the draft's record for ``cadre`` (once per flow token and person) and queue the
    word to them in the same unit of work; return the record's id."""
    unit_id = _unit(context)
    now = context.now()
    if draft.kind == Kind.DISCIPLINE:
        assert period is not None and draft.violation is not None and draft.day is not None
        violation = scheme_of(period).violation(draft.violation)
        record = await office_q.record_discipline(
            session=session,
            unit_id=unit_id,
            period_id=period.id or 0,
            cadre=cadre,
            violation_key=draft.violation,
            deduction=violation.points,
            occurred_on=date.fromisoformat(draft.day),
            note=draft.note,
            actor=actor,
            now=now,
            draft_token=draft.token,
        )
        assert record.id is not None
        await _tell(
            context,
            session,
            cadre,
            key=f"office:discipline:{record.id}",
            period=period,
            kind=draft.kind,
            violation=violation,
            points=record.deduction,
            day=record.occurred_on,
            note=record.note,
        )
        return record.id
    entry = await office_q.record_bonus_entry(
        session=session,
        unit_id=unit_id,
        year=draft.year,
        cadre=cadre,
        kind=draft.bonus_kind,
        amount=Decimal(draft.amount or 0),
        reason=draft.reason or "",
        actor=actor,
        now=now,
        draft_token=draft.token,
    )
    assert entry.id is not None
    if draft.kind == Kind.DEDUCTION:
        await _tell(
            context,
            session,
            cadre,
            key=f"office:deduction:{entry.id}",
            period=None,
            kind=draft.kind,
            year=entry.year,
            amount=entry.amount,
            reason=entry.reason,
        )
    return entry.id


async def _tell(
    context: KaoheContext,
    session: AsyncSession,
    cadre: Cadre,
    *,
    key: str,
    period: Period | None,
    undone: bool = False,
    violation: Violation | None = None,
    **values: Any,
) -> None:
    """Queue a private word to ``cadre`` about a record of theirs, in their language, in the
    caller's unit of work: the outbox key (the record, and whether it was undone) keeps it to
    one message however often the work is done. Someone not signed up cannot be told."""
    if cadre.telegram_user_id is None:
        return
    lang = context.texts.lang(cadre.language)
    text = context.texts.render(
        lang,
        "office/notice",
        name=cadre.name,
        undone=undone,
        period=period,
        violation=violation.title(lang) if violation is not None else None,
        **values,
    )
    event = f"{key}:undone" if undone else key
    await outbox_q.enqueue(
        session=session,
        unit_id=cadre.unit_id,
        key=f"{event}:{cadre.id}",
        event=event,
        kind="office",
        chat_id=cadre.telegram_user_id,
        text=text,
        period_id=period.id if period is not None else None,
        cadre_id=cadre.id,
        now=context.now(),
    )


Action = Any
# (step, action) -> what the press does; anything else is refused as stale.
ACTIONS: dict[tuple[Step | None, str], Action] = {
    (Step.DEPARTMENT, "dept"): _pick_department,
    (Step.DEPARTMENT, "list"): _list,
    (Step.DEPARTMENT, "next"): _onward_people,
    (Step.PERSON, "who"): _pick_person,
    (Step.PERSON, "next"): _onward_people,
    (Step.VIOLATION, "vio"): _pick_violation,
    (Step.DATE, "day"): _pick_day,
    (Step.NOTE, "skip"): _skip_note,
    (Step.CONFIRM, "ok"): _confirm,
    (Step.DONE, "new"): _new,
    (Step.DONE, "list"): _list,
    (Step.LIST, "list"): _list,
    (Step.LIST, "new"): _new,
    (Step.LIST, "undo"): _ask_undo,
    (Step.UNDO, "yes"): _undo,
    (None, "back"): _back,
    (None, "x"): _cancel,
}


async def _flow_press(update: Update, context: KaoheContext, press: keyboards.Press) -> object:
    """Check a press of a flow button on the server, do what it says, answer it, show it."""
    query = update.callback_query
    assert query is not None
    draft = Draft.load(context)
    if draft is None or press["token"] != draft.token:
        return await _refuse(update, context, "stale")
    step = Step(draft.step)
    action = ACTIONS.get((step, press.action)) or ACTIONS.get((None, press.action))
    if action is None:
        return await _refuse(update, context, "stale")
    async with context.services.sessions() as session:
        problem = await _problem(context, session, draft)
    if problem is not None and press.action != "x":
        _drop(context)
        await _refuse(update, context, problem)
        if query.message is not None:
            await presses.strip_buttons(context, query.message.chat.id, query.message.message_id)
        return END
    values = [v for name, v in press.values.items() if name != "token"]
    return await action(update, context, draft, values[0] if values else None)


# Picks whose argument names nothing: with this flow's own token, the clerk pressed a real
# button of the flow whose person, department, violation or record is not there ("not found").
_PICKS = frozenset({"dept", "who", "vio", "undo"})


async def _stale(update: Update, context: KaoheContext) -> object:
    query = update.callback_query
    parts = (query.data or "").split(":") if query is not None else []
    draft = Draft.load(context)
    if len(parts) == 4 and parts[1] in _PICKS and draft is not None and parts[2] == draft.token:
        return await _refuse(update, context, "not_found")
    return await _refuse(update, context, "stale")


office_callback = require(Role.OFFICE)(
    OFFICE.dispatcher({action: _flow_press for action in OFFICE.actions}, stale=_stale)
)


# --- wiring ---------------------------------------------------------------------------------------


def handlers() -> list[BaseHandler[Update, Any, Any]]:
    typed: list[BaseHandler[Update, Any, object]] = [
        MessageHandler(PRIVATE & ~filters.COMMAND & ~filters.UpdateType.EDITED, answer_msg)
    ]
    records = ConversationHandler(
        entry_points=[
            CommandHandler("discipline", discipline_cmd, filters=PRIVATE),
            CommandHandler("reward", reward_cmd, filters=PRIVATE),
            CommandHandler("deduct", deduct_cmd, filters=PRIVATE),
            # Every flow button: ends at once, naming the typed conversation's next state.
            button_conversation(office_callback, family=OFFICE, name=BUTTONS, parent_states=TYPED),
        ],
        states={step: typed for step in TYPED},
        fallbacks=[
            QUESTIONS.cancel_fallback(
                _leave, outcome="office:cancelled", template="office/cancelled"
            )
        ],
        allow_reentry=True,
        name=CONVERSATION,
        persistent=True,
    )
    return [records]
