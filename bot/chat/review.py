"""The leadership's quarterly review (逐人逐条) and the appeals (申诉), in chat.

**Review.** When a quarter's months have closed, each reviewing leader gets one review message
(queued by the scheduler, :mod:`bot.jobs.reports`): every cadre with the quarter's monthly scores,
the quarterly score and the proposed grade, with marks for what needs a look. Its buttons open a
cadre (each month's sources), a month (item by item, with notes and evidence), and adjust a
score: pick how much, type the reason (mandatory: it is shown to the cadre), confirm. Every
navigation edits the one message. The chair (the scheme's ``quarterly.chair``) publishes with a
button and a confirmation; otherwise the scheduler publishes when the review time ends. The
summary, the files and the personal results then go out as the calendar's ``announce`` event, so
they go out once however the quarter was published.

**Appeals.** A cadre's published result carries an Appeal button during the appeal window: type
the reason, confirm; the reviewing leaders each get it with the breakdown and two buttons, uphold
(type the new score, then the written answer) or reject (type the answer). The cadre gets the
answer; an upheld appeal re-grades the quarter and posts a short correction and the corrected
sheet to the leadership chat. A second appeal, or one after the window, is refused with why.

Callback data: family ``rv`` (review) and ``ap`` (appeals), see :data:`REVIEW`, :data:`APPEAL`.
A typed step (a reason, a score, an answer) keeps its draft in ``user_data["review"]`` with a
random token that the confirm and cancel buttons repeat: a press with another token is stale,
and the draft is taken out before it is written, so a double tap writes once. Every press is
checked again on the server: the role, the quarter's state, that every id is the unit's.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, fields
from decimal import Decimal
from enum import StrEnum, unique
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, ConversationHandler, MessageHandler, filters

from bot.appraisal import periods as appraisal
from bot.appraisal import review as review_service
from bot.chat import keyboards, presses
from bot.chat.access import require
from bot.chat.context import KaoheContext
from bot.chat.conversations import PRIVATE, TypedQuestions, button_conversation
from bot.core.texts import Texts, clip
from bot.reports import workbook
from bot.reports.build import period_report
from bot.reports.detail import month_detail
from bot.reports.messages import caption, personal_text, sheet_filename
from bot.reports.model import PeriodReport, ReportLine
from bot.rules.figures import parse_figure, visible
from bot.rules.roles import Role
from storage.models import Appeal, Cadre, Period, PeriodKind, PeriodState
from storage.queries import outbox as outbox_q
from storage.queries import periods as periods_q
from storage.queries import reviews as reviews_q
from storage.queries import roster as roster_q
from storage.queries.schemes import scheme_of

__all__ = [
    "APPEAL",
    "REVIEW",
    "appeal_keyboard",
    "appeal_markup",
    "handlers",
    "list_screen",
    "queue_correction",
]

ID, INT, TOKEN, CHOICE = keyboards.ID, keyboards.INT, keyboards.TOKEN, keyboards.CHOICE

#: The adjustments a leader picks from (tenths of a point, signed), as buttons.
DELTAS = {
    "m5": Decimal("-5"),
    "m3": Decimal("-3"),
    "m2": Decimal("-2"),
    "m1": Decimal("-1"),
    "m05": Decimal("-0.5"),
    "p05": Decimal("0.5"),
    "p1": Decimal("1"),
    "p2": Decimal("2"),
    "p3": Decimal("3"),
    "p5": Decimal("5"),
}
#: Cadres per page of the review list: a phone screen with its buttons.
PAGE = 12

REVIEW = keyboards.Family(
    "rv",
    {
        "list": (ID("period"), INT("page")),  # the list, a page of it
        "who": (ID("period"), ID("cadre")),  # one cadre's quarter
        "mon": (ID("period"), ID("cadre"), INT("month", 12)),  # one month, item by item
        "ev": (ID("line"),),  # send the evidence of an answer
        "adj": (ID("period"), ID("cadre")),  # how much to adjust
        "by": (ID("period"), ID("cadre"), CHOICE("delta", *DELTAS)),  # then type the reason
        "ok": (TOKEN("token"),),  # confirm the adjustment
        "no": (TOKEN("token"),),  # leave it
        "pub": (ID("period"),),  # the chair: publish? (a confirmation)
        "puby": (ID("period"),),  # the chair: publish
    },
)
APPEAL = keyboards.Family(
    "ap",
    {
        "new": (ID("period"),),  # a cadre appeals: type the reason
        "rej": (ID("appeal"),),  # a leader rejects: type the answer
        "up": (ID("appeal"),),  # a leader upholds: type the new score, then the answer
        "ok": (TOKEN("token"),),  # confirm (the appeal, or the answer)
        "no": (TOKEN("token"),),  # leave it
    },
)

CONVERSATION = "review"
BUTTONS = "review_buttons"
APPEAL_BUTTONS = "appeal_buttons"
DRAFT_KEY = "review"
END = ConversationHandler.END


@unique
class Step(StrEnum):
    """What a draft waits for; the typed ones are the states of the typed conversation."""

    REASON = "reason"  # the written reason of an adjustment, an appeal, an answer (typed)
    SCORE = "score"  # the new score of an upheld appeal (typed)
    CONFIRM = "confirm"  # the summary with Confirm / Cancel


TYPED = frozenset({Step.REASON, Step.SCORE})


@unique
class Kind(StrEnum):
    ADJUST = "adjust"  # a leader adjusts a score in review
    APPEAL = "appeal"  # a cadre appeals
    REJECT = "reject"  # a leader rejects an appeal
    UPHOLD = "uphold"  # a leader upholds an appeal with a new score


@dataclass
class Draft:
    """A typed step under way, kept in ``user_data`` as plain JSON."""

    token: str
    kind: str
    step: str
    period_id: int
    cadre_id: int | None = None
    appeal_id: int | None = None
    delta: str | None = None
    score: str | None = None
    text: str | None = None

    @classmethod
    def load(cls, context: KaoheContext) -> Draft | None:
        data = (context.user_data or {}).get(DRAFT_KEY)
        if not isinstance(data, dict):
            return None
        known = {f.name for f in fields(cls)}
        try:
            return cls(**{k: v for k, v in data.items() if k in known})
        except TypeError:
            return None

    def save(self, context: KaoheContext) -> None:
        if context.user_data is not None:
            context.user_data[DRAFT_KEY] = asdict(self)


def _drop(context: KaoheContext) -> Draft | None:
    draft = Draft.load(context)
    if context.user_data is not None:
        context.user_data.pop(DRAFT_KEY, None)
    return draft


def _typed_draft(context: KaoheContext) -> Draft | None:
    draft = Draft.load(context)
    return draft if draft is not None and draft.step in TYPED else None


QUESTIONS = TypedQuestions(CONVERSATION, is_open=lambda context: _typed_draft(context) is not None)


def _state(draft: Draft | None) -> object:
    return Step(draft.step) if draft is not None and draft.step in TYPED else END


# --- screens (shared with the scheduler's review message) -----------------------------------


def _rows(buttons: list[InlineKeyboardButton], width: int) -> list[list[InlineKeyboardButton]]:
    return [buttons[i : i + width] for i in range(0, len(buttons), width)]


def list_screen(
    texts: Texts, lang: str, report: PeriodReport, period_id: int, page: int, *, chair: bool
) -> tuple[str, InlineKeyboardMarkup]:
    """The review list: a page of cadres with their figures and marks; a button per cadre,
    pages, and the chair's Publish."""
    pages = max(1, -(-len(report.lines) // PAGE))
    page = min(max(page, 0), pages - 1)
    shown = report.lines[page * PAGE : (page + 1) * PAGE]
    text = texts.render(
        lang,
        "reports/review_list",
        report=report,
        lines=shown,
        start=page * PAGE,
        page=page,
        pages=pages,
        chair=chair,
    )
    people = [
        REVIEW.button(
            f"{page * PAGE + i + 1} {clip(line.name, 8)}", "who", period_id, line.cadre_id
        )
        for i, line in enumerate(shown)
    ]
    rows = _rows(people, 3)
    nav = []
    if page > 0:
        nav.append(REVIEW.button(texts.label(lang, "review.prev"), "list", period_id, page - 1))
    if page < pages - 1:
        nav.append(REVIEW.button(texts.label(lang, "review.next"), "list", period_id, page + 1))
    rows.append(nav)
    if chair and report.state == PeriodState.IN_REVIEW:
        rows.append([REVIEW.button(texts.label(lang, "review.publish"), "pub", period_id)])
    return text, keyboards.markup(rows)


def _cadre_screen(
    context: KaoheContext, report: PeriodReport, period: Period, line: ReportLine
) -> tuple[str, InlineKeyboardMarkup]:
    assert period.id is not None
    index = report.lines.index(line)
    text = context.render("reports/review_cadre", report=report, line=line)
    months = [
        REVIEW.button(
            context.label("review.month", month=int(code.split("-")[1])),
            "mon",
            period.id,
            line.cadre_id,
            int(code.split("-")[1]),
        )
        for code in line.part_codes
    ]
    rows = [months]
    if report.state == PeriodState.IN_REVIEW and line.score is not None:
        rows.append(
            [REVIEW.button(context.label("review.adjust"), "adj", period.id, line.cadre_id)]
        )
    rows.append(
        [REVIEW.button(context.label("review.back_list"), "list", period.id, index // PAGE)]
    )
    return text, keyboards.markup(rows)


# --- checks ---------------------------------------------------------------------------------


async def _quarter(context: KaoheContext, session: AsyncSession, period_id: int) -> Period | None:
    period = await periods_q.unit_period(
        session=session, unit_id=context.unit_id, period_id=period_id
    )
    if period is None or period.kind != PeriodKind.QUARTER or period.scheme is None:
        return None
    return period


async def _report(context: KaoheContext, session: AsyncSession, period: Period) -> PeriodReport:
    return await period_report(
        session=session,
        period=period,
        unit_name=context.services.settings.unit_name,
        zone=context.services.settings.zone,
    )


def _reviewer(context: KaoheContext, period: Period) -> bool:
    return context.cadre is not None and review_service.is_reviewer(
        context.cadre, scheme_of(period)
    )


def _chair(context: KaoheContext, period: Period) -> bool:
    return context.cadre is not None and review_service.is_chair(context.cadre, scheme_of(period))


async def _refuse(update: Update, context: KaoheContext, code: str) -> None:
    context.set_outcome(update.update_id, f"review:refused:{code}")
    await presses.refuse(update, context, "reports/refused_short", code=code)


# --- review presses -------------------------------------------------------------------------


async def _review_open(
    update: Update, context: KaoheContext, period_id: int
) -> tuple[Period, PeriodReport] | None:
    """The quarter and its report, if the caller reviews it; refuse (and None) otherwise."""
    async with context.services.sessions() as session:
        period = await _quarter(context, session, period_id)
        if period is None:
            await presses.stale(update, context)
            return None
        if not _reviewer(context, period):
            await _refuse(update, context, "not_reviewer")
            return None
        return period, await _report(context, session, period)


async def _list(update: Update, context: KaoheContext, press: keyboards.Press) -> object:
    found = await _review_open(update, context, press["period"])
    if found is None:
        return None
    period, report = found
    assert period.id is not None
    text, markup = list_screen(
        context.texts, context.lang, report, period.id, press["page"], chair=_chair(context, period)
    )
    context.set_outcome(update.update_id, "review:list")
    await presses.answer(update, context)
    await presses.edit(
        update.callback_query.message if update.callback_query else None, text, markup
    )
    return None


async def _who(update: Update, context: KaoheContext, press: keyboards.Press) -> object:
    found = await _review_open(update, context, press["period"])
    if found is None:
        return None
    period, report = found
    line = report.line(press["cadre"])
    if line is None:
        await presses.stale(update, context)
        return None
    text, markup = _cadre_screen(context, report, period, line)
    context.set_outcome(update.update_id, "review:who")
    await presses.answer(update, context)
    await presses.edit(
        update.callback_query.message if update.callback_query else None, text, markup
    )
    return None


async def _month(update: Update, context: KaoheContext, press: keyboards.Press) -> object:
    found = await _review_open(update, context, press["period"])
    if found is None:
        return None
    period, report = found
    line = report.line(press["cadre"])
    detail = None
    if line is not None:
        async with context.services.sessions() as session:
            detail = await month_detail(
                session=session,
                quarter=period,
                cadre_id=line.cadre_id,
                month=press["month"],
                lang=context.lang,
            )
    if line is None or detail is None:
        await presses.stale(update, context)
        return None
    assert period.id is not None
    text = context.render("reports/review_month", report=report, line=line, month=detail)
    evidence = [
        REVIEW.button(context.label("review.evidence", item=clip(item.title, 10)), "ev", line_id)
        for source in detail.sources
        for item in source.items
        for line_id in item.evidence
    ]
    rows = _rows(evidence, 2)
    rows.append(
        [REVIEW.button(context.label("review.back_cadre"), "who", period.id, line.cadre_id)]
    )
    context.set_outcome(update.update_id, "review:month")
    await presses.answer(update, context)
    await presses.edit(
        update.callback_query.message if update.callback_query else None,
        text,
        keyboards.markup(rows),
    )
    return None


async def _evidence(update: Update, context: KaoheContext, press: keyboards.Press) -> object:
    async with context.services.sessions() as session:
        found = await reviews_q.rating_line(
            session=session, unit_id=context.unit_id, line_id=press["line"]
        )
        quarter = None
        if found is not None:
            containers = await periods_q.containers_of(session=session, period=found[2])
            quarter = next((c for c in containers if c.kind == PeriodKind.QUARTER), None)
    if found is None or quarter is None or not found[0].evidence_file_id:
        await presses.stale(update, context)
        return None
    if not _reviewer(context, quarter):
        await _refuse(update, context, "not_reviewer")
        return None
    line = found[0]
    file_id = line.evidence_file_id
    assert file_id is not None
    context.set_outcome(update.update_id, "review:evidence")
    await presses.answer(update, context)
    chat = update.effective_chat
    assert chat is not None
    if line.evidence_kind == "photo":
        await context.bot.send_photo(chat.id, file_id)
    else:
        await context.bot.send_document(chat.id, file_id)
    return None


async def _adjustable(
    update: Update, context: KaoheContext, press: keyboards.Press
) -> tuple[Period, ReportLine] | None:
    """The quarter and the cadre a press would adjust, if the caller reviews it, it is still in
    review and the cadre has a score; refuse (and None) otherwise."""
    found = await _review_open(update, context, press["period"])
    if found is None:
        return None
    period, report = found
    line = report.line(press["cadre"])
    if line is None or line.score is None:
        await presses.stale(update, context)
        return None
    if report.state != PeriodState.IN_REVIEW:
        await _refuse(update, context, "not_in_review")
        return None
    assert period.id is not None
    return period, line


async def _adjust(update: Update, context: KaoheContext, press: keyboards.Press) -> object:
    found = await _adjustable(update, context, press)
    if found is None:
        return None
    period, line = found
    assert period.id is not None
    buttons = [
        REVIEW.button(f"{value:+}", "by", period.id, line.cadre_id, key)
        for key, value in DELTAS.items()
    ]
    rows = _rows(buttons, 5)
    rows.append(
        [REVIEW.button(context.label("review.back_cadre"), "who", period.id, line.cadre_id)]
    )
    context.set_outcome(update.update_id, "review:adjust")
    await presses.answer(update, context)
    await presses.edit(
        update.callback_query.message if update.callback_query else None,
        context.render("reports/review_adjust", line=line),
        keyboards.markup(rows),
    )
    return None


async def _by(update: Update, context: KaoheContext, press: keyboards.Press) -> object:
    found = await _adjustable(update, context, press)
    if found is None:
        return None
    period, line = found
    assert period.id is not None
    draft = Draft(
        token=secrets.token_hex(4),
        kind=Kind.ADJUST.value,
        step=Step.REASON.value,
        period_id=period.id,
        cadre_id=line.cadre_id,
        delta=press["delta"],
    )
    draft.save(context)
    QUESTIONS.asked(context)
    context.set_outcome(update.update_id, "review:ask_reason")
    await presses.answer(update, context)
    await _ask(update, context, draft, line.name)
    return Step.REASON


async def _ask(update: Update, context: KaoheContext, draft: Draft, name: str) -> None:
    """Put the draft's typed question as a new message, with a Cancel button."""
    chat = update.effective_chat
    assert chat is not None
    family = REVIEW if draft.kind == Kind.ADJUST else APPEAL
    await context.bot.send_message(
        chat.id,
        context.render(
            "reports/ask",
            kind=draft.kind,
            step=draft.step,
            name=name,
            delta=DELTAS.get(draft.delta or ""),
        ),
        reply_markup=keyboards.markup(
            [[family.button(context.label("review.cancel"), "no", draft.token)]]
        ),
    )


async def _publish_ask(update: Update, context: KaoheContext, press: keyboards.Press) -> object:
    found = await _review_open(update, context, press["period"])
    if found is None:
        return None
    period, report = found
    if not _chair(context, period):
        await _refuse(update, context, "not_chair")
        return None
    if report.state != PeriodState.IN_REVIEW:
        await _refuse(update, context, "not_in_review")
        return None
    assert period.id is not None
    context.set_outcome(update.update_id, "review:publish_ask")
    await presses.answer(update, context)
    await presses.edit(
        update.callback_query.message if update.callback_query else None,
        context.render("reports/review_publish", report=report),
        keyboards.markup(
            [
                [REVIEW.button(context.label("review.publish_yes"), "puby", period.id)],
                [REVIEW.button(context.label("review.back_list"), "list", period.id, 0)],
            ]
        ),
    )
    return None


async def _publish(update: Update, context: KaoheContext, press: keyboards.Press) -> object:
    async with context.unit_of_work() as session:
        period = await _quarter(context, session, press["period"])
        if period is None:
            outcome = "stale"
        elif not _chair(context, period):
            outcome = "not_chair"
        else:
            assert context.cadre is not None
            transition = await appraisal.publish_quarter(
                session=session, period=period, now=context.now(), actor=context.cadre.name
            )
            outcome = "published" if transition.changed else "not_in_review"
    if outcome == "stale":
        await presses.stale(update, context)
        return None
    if outcome != "published":
        await _refuse(update, context, outcome)
        return None
    context.set_outcome(update.update_id, "review:published")
    context.services.poke_calendar()
    await presses.answer(update, context, context.render("reports/published_short"))
    assert period is not None
    await presses.edit(
        update.callback_query.message if update.callback_query else None,
        context.render("reports/review_published", report=await _fresh_report(context, period)),
        None,
    )
    return None


async def _fresh_report(context: KaoheContext, period: Period) -> PeriodReport:
    async with context.services.sessions() as session:
        fresh = await _quarter(context, session, period.id or 0)
        assert fresh is not None
        return await _report(context, session, fresh)


# --- appeals: the cadre ---------------------------------------------------------------------


def appeal_keyboard(texts: Texts, lang: str, period_id: int) -> InlineKeyboardMarkup:
    """The Appeal button under a cadre's published result."""
    return keyboards.markup([[APPEAL.button(texts.label(lang, "review.appeal"), "new", period_id)]])


def appeal_markup(texts: Texts, lang: str, period_id: int) -> dict[str, Any]:
    """:func:`appeal_keyboard` as the outbox stores it."""
    return appeal_keyboard(texts, lang, period_id).to_dict()


async def _role(update: Update, context: KaoheContext, role: Role) -> bool:
    """Whether the caller holds ``role``; refuse the press otherwise."""
    if context.has_role(role):
        return True
    context.set_outcome(update.update_id, "refused:role")
    await presses.refuse(update, context, "access/not_allowed_short")
    return False


async def _appeal_new(update: Update, context: KaoheContext, press: keyboards.Press) -> object:
    if not await _role(update, context, Role.CADRE):
        return None
    cadre = context.cadre
    assert cadre is not None and cadre.id is not None
    async with context.services.sessions() as session:
        period = await _quarter(context, session, press["period"])
        appealed = (
            await reviews_q.appeal_of(session=session, period_id=period.id, cadre_id=cadre.id)
            if period is not None and period.id is not None
            else None
        )
        result = (
            await reviews_q.result_of(session=session, period_id=period.id, cadre_id=cadre.id)
            if period is not None and period.id is not None
            else None
        )
    if period is None or period.id is None:
        await presses.stale(update, context)
        return None
    if result is None or result.score is None:
        await _refuse(update, context, "no_result")
        return None
    if appealed is not None:
        await _refuse(update, context, "already_appealed")
        return None
    if not review_service.appeal_open(period, context.now()):
        await _refuse(
            update, context, "window_over" if period.state != "in_review" else "not_published"
        )
        return None
    draft = Draft(
        token=secrets.token_hex(4),
        kind=Kind.APPEAL.value,
        step=Step.REASON.value,
        period_id=period.id,
        cadre_id=cadre.id,
    )
    draft.save(context)
    QUESTIONS.asked(context)
    context.set_outcome(update.update_id, "appeal:ask_reason")
    await presses.answer(update, context)
    await _ask(update, context, draft, cadre.name)
    return Step.REASON


# --- appeals: the leader --------------------------------------------------------------------


async def _appeal_of(
    update: Update, context: KaoheContext, appeal_id: int
) -> tuple[Appeal, Period, Cadre] | None:
    async with context.services.sessions() as session:
        appeal = await reviews_q.unit_appeal(
            session=session, unit_id=context.unit_id, appeal_id=appeal_id
        )
        period = await _quarter(context, session, appeal.period_id) if appeal is not None else None
        cadre = (
            await roster_q.unit_cadre(
                session=session, unit_id=context.unit_id, cadre_id=appeal.cadre_id
            )
            if appeal is not None
            else None
        )
    if appeal is None or period is None or cadre is None:
        await presses.stale(update, context)
        return None
    if not _reviewer(context, period):
        await _refuse(update, context, "not_reviewer")
        return None
    if appeal.state != "open":
        await _refuse(update, context, "already_answered")
        return None
    return appeal, period, cadre


async def _appeal_answer(
    update: Update, context: KaoheContext, press: keyboards.Press, kind: Kind
) -> object:
    if not await _role(update, context, Role.LEADER):
        return None
    found = await _appeal_of(update, context, press["appeal"])
    if found is None:
        return None
    appeal, period, cadre = found
    assert period.id is not None
    draft = Draft(
        token=secrets.token_hex(4),
        kind=kind.value,
        step=(Step.SCORE if kind is Kind.UPHOLD else Step.REASON).value,
        period_id=period.id,
        cadre_id=cadre.id,
        appeal_id=appeal.id,
    )
    draft.save(context)
    QUESTIONS.asked(context)
    context.set_outcome(update.update_id, f"appeal:{kind.value}")
    await presses.answer(update, context)
    await _ask(update, context, draft, cadre.name)
    return Step(draft.step)


async def _appeal_reject(update: Update, context: KaoheContext, press: keyboards.Press) -> object:
    return await _appeal_answer(update, context, press, Kind.REJECT)


async def _appeal_uphold(update: Update, context: KaoheContext, press: keyboards.Press) -> object:
    return await _appeal_answer(update, context, press, Kind.UPHOLD)


# --- typed answers --------------------------------------------------------------------------


async def answer_msg(update: Update, context: KaoheContext) -> object:
    """Take the typed reason, score or answer of the draft under way."""
    message = update.effective_message
    assert message is not None
    draft = _typed_draft(context)
    if draft is None:
        return END
    if not message.text or not visible(message.text):
        context.set_outcome(update.update_id, "review:not_text")
        await message.reply_text(context.render("reports/typed_invalid", problem="not_text"))
        return _state(draft)
    text = message.text.strip()
    if draft.step == Step.SCORE:
        figure = parse_figure(text, units=("分",))
        if figure.value is None:
            context.set_outcome(update.update_id, "review:bad_score")
            problem = figure.problem.value if figure.problem else "not_a_number"
            await message.reply_text(context.render("reports/typed_invalid", problem=problem))
            return _state(draft)
        draft.score = str(figure.value)
        draft.step = Step.REASON.value
        draft.save(context)
        QUESTIONS.asked(context)
        context.set_outcome(update.update_id, "review:score")
        name = await _name(context, draft.cadre_id)
        await _ask(update, context, draft, name)
        return Step.REASON
    draft.text = text[:500]
    draft.step = Step.CONFIRM.value
    draft.save(context)
    context.set_outcome(update.update_id, "review:typed")
    family = REVIEW if draft.kind == Kind.ADJUST else APPEAL
    name = await _name(context, draft.cadre_id)
    await message.reply_text(
        context.render(
            "reports/confirm",
            kind=draft.kind,
            name=name,
            delta=DELTAS.get(draft.delta or ""),
            score=None if draft.score is None else Decimal(draft.score),
            text=draft.text,
        ),
        reply_markup=keyboards.markup(
            [
                [family.button(context.label("review.confirm"), "ok", draft.token)],
                [family.button(context.label("review.cancel"), "no", draft.token)],
            ]
        ),
    )
    return END


async def _name(context: KaoheContext, cadre_id: int | None) -> str:
    async with context.services.sessions() as session:
        cadre = await roster_q.unit_cadre(
            session=session, unit_id=context.unit_id, cadre_id=cadre_id or 0
        )
    return cadre.name if cadre is not None else ""


async def _cancel(update: Update, context: KaoheContext, press: keyboards.Press) -> object:
    draft = Draft.load(context)
    if draft is None or draft.token != press["token"]:
        await presses.stale(update, context)
        return None
    _drop(context)
    context.set_outcome(update.update_id, "review:cancelled")
    await presses.answer(update, context)
    await presses.edit(
        update.callback_query.message if update.callback_query else None,
        context.render("reports/cancelled"),
        None,
    )
    return END


async def _leave(update: Update, context: KaoheContext) -> dict[str, Any]:
    _drop(context)
    return {}


# --- confirmations --------------------------------------------------------------------------


async def _confirm(update: Update, context: KaoheContext, press: keyboards.Press) -> object:
    draft = Draft.load(context)
    if draft is None or draft.token != press["token"] or draft.step != Step.CONFIRM:
        await presses.stale(update, context)
        return None
    cadre = context.cadre
    assert cadre is not None
    _drop(context)  # taken out before it is written: a second tap finds nothing to confirm
    if draft.kind == Kind.ADJUST:
        return await _confirm_adjust(update, context, draft)
    if draft.kind == Kind.APPEAL:
        return await _confirm_appeal(update, context, draft)
    return await _confirm_answer(update, context, draft)


async def _confirm_adjust(update: Update, context: KaoheContext, draft: Draft) -> object:
    leader = context.cadre
    assert leader is not None
    async with context.unit_of_work() as session:
        period = await _quarter(context, session, draft.period_id)
        outcome: Any = "stale"
        if period is not None:
            outcome = await review_service.adjust(
                session=session,
                period=period,
                cadre_id=draft.cadre_id or 0,
                delta=DELTAS[draft.delta or ""],
                reason=draft.text or "",
                leader=leader,
                now=context.now(),
            )
    if period is None:
        await presses.stale(update, context)
        return END
    if isinstance(outcome, review_service.Refusal):
        await _refuse(update, context, outcome.value)
        return END
    context.set_outcome(update.update_id, "review:adjusted")
    report = await _fresh_report(context, period)
    line = report.line(draft.cadre_id or 0)
    await presses.answer(update, context, context.render("reports/adjusted_short"))
    if line is not None:
        text, markup = _cadre_screen(context, report, period, line)
        await presses.edit(
            update.callback_query.message if update.callback_query else None, text, markup
        )
    return END


async def _confirm_appeal(update: Update, context: KaoheContext, draft: Draft) -> object:
    cadre = context.cadre
    assert cadre is not None
    async with context.unit_of_work() as session:
        period = await _quarter(context, session, draft.period_id)
        outcome: Any = "stale"
        if period is not None:
            outcome = await review_service.file_appeal(
                session=session,
                period=period,
                cadre=cadre,
                reason=draft.text or "",
                now=context.now(),
            )
            if isinstance(outcome, Appeal):
                await _queue_appeal(context, session, period, outcome, cadre)
    if period is None:
        await presses.stale(update, context)
        return END
    if isinstance(outcome, review_service.Refusal):
        await _refuse(update, context, outcome.value)
        return END
    context.set_outcome(update.update_id, "appeal:filed")
    await presses.answer(update, context, context.render("reports/appeal_filed_short"))
    await presses.edit(
        update.callback_query.message if update.callback_query else None,
        context.render("reports/appeal_filed", reason=draft.text),
        None,
    )
    return END


async def _queue_appeal(
    context: KaoheContext, session: AsyncSession, period: Period, appeal: Appeal, cadre: Cadre
) -> None:
    """Each reviewing leader gets the appeal with the breakdown and the two answer buttons."""
    report = await _report(context, session, period)
    line = report.line(cadre.id or 0)
    roster = await roster_q.list_cadres(session=session, unit_id=context.unit_id)
    texts, now = context.texts, context.now()
    for leader in review_service.reviewers(roster, scheme_of(period)):
        if not leader.telegram_user_id:
            continue
        lang = texts.lang(leader.language)
        markup = keyboards.markup(
            [
                [APPEAL.button(texts.label(lang, "review.uphold"), "up", appeal.id)],
                [APPEAL.button(texts.label(lang, "review.reject"), "rej", appeal.id)],
            ]
        ).to_dict()
        await outbox_q.enqueue(
            session=session,
            unit_id=context.unit_id,
            key=f"appeal:{appeal.id}:leader:{leader.id}",
            event=f"appeal:{appeal.id}",
            kind="appeal",
            chat_id=leader.telegram_user_id,
            text=texts.render(
                lang,
                "reports/appeal_notice",
                report=report,
                line=line,
                name=cadre.name,
                reason=appeal.reason,
            ),
            reply_markup=markup,
            period_id=period.id,
            cadre_id=leader.id,
            now=now,
        )
    context.services.poke_outbox()


async def _confirm_answer(update: Update, context: KaoheContext, draft: Draft) -> object:
    leader = context.cadre
    assert leader is not None
    async with context.unit_of_work() as session:
        appeal = await reviews_q.unit_appeal(
            session=session, unit_id=context.unit_id, appeal_id=draft.appeal_id or 0
        )
        period = await _quarter(context, session, appeal.period_id) if appeal is not None else None
        outcome: Any = "stale"
        if appeal is not None and period is not None:
            outcome = await review_service.answer_appeal(
                session=session,
                appeal=appeal,
                period=period,
                leader=leader,
                uphold=draft.kind == Kind.UPHOLD,
                new_score=None if draft.score is None else Decimal(draft.score),
                answer=draft.text or "",
                now=context.now(),
            )
            if not isinstance(outcome, review_service.Refusal):
                await _queue_answer(context, session, period, appeal, outcome)
    if appeal is None or period is None:
        await presses.stale(update, context)
        return END
    if isinstance(outcome, review_service.Refusal):
        await _refuse(update, context, outcome.value)
        return END
    context.set_outcome(update.update_id, f"appeal:{appeal.state}")
    await presses.answer(update, context, context.render("reports/answered_short"))
    await presses.edit(
        update.callback_query.message if update.callback_query else None,
        context.render(
            "reports/appeal_answered_leader",
            appeal=appeal,
            name=await _name(context, appeal.cadre_id),
        ),
        None,
    )
    return END


async def _queue_answer(
    context: KaoheContext,
    session: AsyncSession,
    period: Period,
    appeal: Appeal,
    rescored: review_service.Rescored | None,
) -> None:
    """The cadre gets the answer; an upheld appeal that changed a figure posts a correction and
    the corrected sheet to the leadership chat."""
    texts, now = context.texts, context.now()
    cadre = await roster_q.unit_cadre(
        session=session, unit_id=context.unit_id, cadre_id=appeal.cadre_id
    )
    report = await _report(context, session, period)
    if cadre is not None and cadre.telegram_user_id:
        lang = texts.lang(cadre.language)
        line = report.line(cadre.id or 0)
        await outbox_q.enqueue(
            session=session,
            unit_id=context.unit_id,
            key=f"appeal:{appeal.id}:answer",
            event=f"appeal:{appeal.id}:answer",
            kind="appeal_answer",
            chat_id=cadre.telegram_user_id,
            text=texts.render(
                lang,
                "reports/appeal_answer",
                appeal=appeal,
                report=report,
                personal=personal_text(report, line, texts, lang, rank_band=False, appeal=False)
                if line is not None
                else "",
            ),
            period_id=period.id,
            cadre_id=cadre.id,
            now=now,
        )
    if rescored is not None and rescored.changes:
        await queue_correction(context.services, session, period, report, rescored, appeal.id or 0)
    context.services.poke_outbox()


async def queue_correction(
    services: Any,
    session: AsyncSession,
    period: Period,
    report: PeriodReport,
    rescored: review_service.Rescored,
    key: int,
) -> int:
    """A short correction and the corrected sheet to the leadership chat (or the office)."""
    texts, now = services.texts, services.now()
    lang = services.settings.default_language
    unit = await roster_q.get_unit(session=session, unit_id=services.unit)
    names = {line.cadre_id: line.name for line in report.lines}
    changes = [
        {
            "name": names.get(c.cadre_id, ""),
            "old_score": c.old_score,
            "old_grade": c.old_grade,
            "new_score": c.new_score,
            "new_grade": c.new_grade,
        }
        for c in rescored.changes
    ]
    chats: list[tuple[int, int | None]] = []
    if unit is not None and unit.leadership_chat_id:
        chats.append((unit.leadership_chat_id, None))
    else:
        roster = await roster_q.list_cadres(session=session, unit_id=services.unit)
        chats += [
            (c.telegram_user_id, c.id) for c in roster if c.has(Role.OFFICE) and c.telegram_user_id
        ]
    sheet = workbook.period_workbook(report, texts, lang)
    count = 0
    for chat_id, cadre_id in chats:
        count += await outbox_q.enqueue(
            session=session,
            unit_id=services.unit,
            key=f"correction:{key}:{chat_id}",
            event=f"correction:{key}",
            kind="correction",
            chat_id=chat_id,
            text=texts.render(lang, "reports/correction", report=report, changes=changes),
            period_id=period.id,
            cadre_id=cadre_id,
            now=now,
        )
        count += await outbox_q.enqueue(
            session=session,
            unit_id=services.unit,
            key=f"correction:{key}:{chat_id}:sheet",
            event=f"correction:{key}",
            kind="sheet",
            chat_id=chat_id,
            text=caption(texts, lang, "reports/sheet_caption", report=report, corrected=True),
            media="document",
            payload=sheet,
            filename=sheet_filename(texts, lang, report, corrected=True),
            period_id=period.id,
            cadre_id=cadre_id,
            now=now,
        )
    return count


# --- wiring ---------------------------------------------------------------------------------


async def _not_text(update: Update, context: KaoheContext) -> object:
    message = update.effective_message
    assert message is not None
    context.set_outcome(update.update_id, "review:not_text")
    await message.reply_text(context.render("reports/typed_invalid", problem="not_text"))
    return _state(_typed_draft(context))


review_callback = require(Role.LEADER)(
    REVIEW.dispatcher(
        {
            "list": _list,
            "who": _who,
            "mon": _month,
            "ev": _evidence,
            "adj": _adjust,
            "by": _by,
            "ok": _confirm,
            "no": _cancel,
            "pub": _publish_ask,
            "puby": _publish,
        },
        stale=presses.stale,
    )
)
appeal_callback = require()(
    APPEAL.dispatcher(
        {
            "new": _appeal_new,
            "rej": _appeal_reject,
            "up": _appeal_uphold,
            "ok": _confirm,
            "no": _cancel,
        },
        stale=presses.stale,
    )
)


def handlers() -> list[BaseHandler[Update, Any, Any]]:
    typed: list[BaseHandler[Update, Any, object]] = [
        MessageHandler(
            PRIVATE & filters.TEXT & ~filters.COMMAND & ~filters.UpdateType.EDITED,
            QUESTIONS.answers(answer_msg),
        ),
        MessageHandler(
            PRIVATE & ~filters.TEXT & ~filters.COMMAND & ~filters.UpdateType.EDITED, _not_text
        ),
    ]
    conversation = ConversationHandler(
        entry_points=[
            button_conversation(review_callback, family=REVIEW, name=BUTTONS, parent_states=TYPED),
            button_conversation(
                appeal_callback, family=APPEAL, name=APPEAL_BUTTONS, parent_states=TYPED
            ),
        ],
        states={step: typed for step in TYPED},
        fallbacks=[
            QUESTIONS.cancel_fallback(
                _leave, outcome="review:cancelled", template="reports/cancelled"
            )
        ],
        allow_reentry=True,
        name=CONVERSATION,
        persistent=True,
    )
    return [conversation]
