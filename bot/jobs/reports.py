"""What the calendar's reporting events send, queued in the outbox in the event's transaction.

- a quarter's months have closed: each reviewing leader gets the review message (the chair's
  copy carries the Publish button);
- a quarter is published (by the chair, or when the review ends): the summary, the chart and
  the .xlsx to the leadership chat, and each cadre's own result (with the Appeal button);
- its public notice is over: the leadership chat is told the results are final;
- a half-year or the year closes: its summary to the leadership chat; the year also sends the
  year-end bonus sheet to the office.

Each message is keyed by the event and the recipient, so an event done again after a crash
queues nothing twice. The leadership chat gets the unit's default language; a person, theirs.
Without a bound leadership chat, the summary and files go to the office with a note saying how
to bind it.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.appraisal import review as review_service
from bot.chat.review import appeal_markup, list_screen
from bot.core.services import Services
from bot.reports import workbook
from bot.reports.build import period_report
from bot.reports.messages import caption, personal_text, sheet_filename, summary_messages
from bot.reports.model import PeriodReport
from bot.rules.roles import Role
from storage.models import Cadre, Period, PeriodKind
from storage.queries import outbox as outbox_q
from storage.queries import reviews as reviews_q
from storage.queries import roster as roster_q
from storage.queries.schemes import scheme_of

__all__ = ["queue_announcement", "queue_final", "queue_review", "queue_summary"]

log = logging.getLogger("kaohe.reports")


class _Queue:
    """Queues one event's messages for one unit."""

    def __init__(self, services: Services, session: AsyncSession, event: str, period: Period):
        self.services = services
        self.session = session
        self.event = event
        self.period = period
        self.count = 0

    async def add(
        self,
        *,
        chat_id: int,
        kind: str,
        text: str,
        suffix: str = "",
        cadre: Cadre | None = None,
        markup: dict[str, Any] | None = None,
        media: str | None = None,
        payload: bytes | None = None,
        filename: str | None = None,
    ) -> None:
        self.count += await outbox_q.enqueue(
            session=self.session,
            unit_id=self.services.unit,
            key=f"{self.event}:{kind}:{chat_id}{suffix}",
            event=self.event,
            kind=kind,
            chat_id=chat_id,
            text=text,
            reply_markup=markup,
            period_id=self.period.id,
            cadre_id=None if cadre is None else cadre.id,
            media=media,
            payload=payload,
            filename=filename,
            now=self.services.now(),
        )


async def _report(services: Services, session: AsyncSession, period: Period) -> PeriodReport:
    return await period_report(
        session=session,
        period=period,
        unit_name=services.settings.unit_name,
        zone=services.settings.zone,
    )


async def _roster(services: Services, session: AsyncSession) -> list[Cadre]:
    return await roster_q.list_cadres(session=session, unit_id=services.unit)


async def queue_review(
    services: Services, session: AsyncSession, period: Period, event: str
) -> int:
    """The review message to each reviewing leader (the chair's with Publish)."""
    assert period.id is not None
    report = await _report(services, session, period)
    scheme = scheme_of(period)
    queue = _Queue(services, session, event, period)
    for leader in review_service.reviewers(await _roster(services, session), scheme):
        if not leader.telegram_user_id:
            continue
        lang = services.texts.lang(leader.language)
        text, markup = list_screen(
            services.texts,
            lang,
            report,
            period.id,
            0,
            chair=review_service.is_chair(leader, scheme),
        )
        await queue.add(
            chat_id=leader.telegram_user_id,
            kind="review",
            text=text,
            cadre=leader,
            markup=markup.to_dict(),
        )
    return queue.count


async def _to_leadership(
    services: Services,
    session: AsyncSession,
    queue: _Queue,
    report: PeriodReport,
    *,
    sheet: bytes | None,
    bonus: bytes | None = None,
) -> None:
    """The summary, the chart and the sheet to the leadership chat (or, unbound, the office)."""
    from bot.reports import chart  # matplotlib is heavy: loaded only when a report is sent

    texts = services.texts
    lang = services.settings.default_language
    unit = await roster_q.get_unit(session=session, unit_id=services.unit)
    picture = chart.period_chart(report, texts, lang)
    if picture is None:
        log.warning("no chart for %s: matplotlib or mplfonts is not installed", report.code)
    targets: list[tuple[int, Cadre | None, str]] = []
    office = [c for c in await _roster(services, session) if c.has(Role.OFFICE)]
    if unit is not None and unit.leadership_chat_id:
        targets.append((unit.leadership_chat_id, None, lang))
    else:
        targets += [
            (c.telegram_user_id, c, texts.lang(c.language)) for c in office if c.telegram_user_id
        ]
    for chat_id, cadre, language in targets:
        if cadre is not None:
            await queue.add(
                chat_id=chat_id,
                kind="unbound",
                cadre=cadre,
                text=texts.render(language, "reports/no_leadership_chat", report=report),
            )
        messages = summary_messages(
            report, texts, language, chart=picture is not None, sheet=sheet is not None
        )
        for index, text in enumerate(messages):
            await queue.add(
                chat_id=chat_id, kind="summary", suffix=f":{index}", text=text, cadre=cadre
            )
        if picture is not None:
            await queue.add(
                chat_id=chat_id,
                kind="chart",
                cadre=cadre,
                text=caption(texts, language, "reports/chart_caption", report=report),
                media="photo",
                payload=picture,
                filename=f"{report.code}.png",
            )
        if sheet is not None:
            await queue.add(
                chat_id=chat_id,
                kind="sheet",
                cadre=cadre,
                text=caption(
                    texts, language, "reports/sheet_caption", report=report, corrected=False
                ),
                media="document",
                payload=sheet,
                filename=sheet_filename(texts, language, report),
            )
    if bonus is not None:
        for cadre in office:
            if not cadre.telegram_user_id:
                continue
            language = texts.lang(cadre.language)
            await queue.add(
                chat_id=cadre.telegram_user_id,
                kind="bonus",
                cadre=cadre,
                text=caption(texts, language, "reports/bonus_caption", report=report),
                media="document",
                payload=bonus,
                filename=texts.label(
                    language, "report.file.bonus", unit=report.unit, year=report.year
                ),
            )


async def queue_announcement(
    services: Services, session: AsyncSession, period: Period, event: str
) -> int:
    """A published quarter: the summary and files to the leadership, each cadre their result."""
    report = await _report(services, session, period)
    texts = services.texts
    queue = _Queue(services, session, event, period)
    sheet = workbook.period_workbook(report, texts, services.settings.default_language)
    await _to_leadership(services, session, queue, report, sheet=sheet)
    scheme = scheme_of(period)
    appeal = review_service.appeal_open(period, services.now())
    people = {c.id: c for c in await _roster(services, session)}
    for line in report.lines:
        cadre = people.get(line.cadre_id)
        if cadre is None or not cadre.telegram_user_id or line.score is None:
            continue
        lang = texts.lang(cadre.language)
        assert period.id is not None
        await queue.add(
            chat_id=cadre.telegram_user_id,
            kind="result",
            cadre=cadre,
            text=personal_text(
                report, line, texts, lang, rank_band=scheme.quarterly.rank_band, appeal=appeal
            ),
            markup=appeal_markup(texts, lang, period.id) if appeal else None,
        )
    return queue.count


async def queue_final(services: Services, session: AsyncSession, period: Period, event: str) -> int:
    """The notice is over: the leadership chat (or the office) is told the results are final."""
    report = await _report(services, session, period)
    assert period.id is not None
    appeals = len(await reviews_q.appeals_of(session=session, period_id=period.id))
    texts = services.texts
    queue = _Queue(services, session, event, period)
    unit = await roster_q.get_unit(session=session, unit_id=services.unit)
    if unit is not None and unit.leadership_chat_id:
        lang = services.settings.default_language
        await queue.add(
            chat_id=unit.leadership_chat_id,
            kind="final",
            text=texts.render(lang, "reports/final", report=report, appeals=appeals),
        )
    else:
        for cadre in await _roster(services, session):
            if cadre.has(Role.OFFICE) and cadre.telegram_user_id:
                lang = texts.lang(cadre.language)
                await queue.add(
                    chat_id=cadre.telegram_user_id,
                    kind="final",
                    cadre=cadre,
                    text=texts.render(lang, "reports/final", report=report, appeals=appeals),
                )
    return queue.count


async def queue_summary(
    services: Services, session: AsyncSession, period: Period, event: str
) -> int:
    """A half-year's or the year's summary to the leadership; the year's bonus sheet to the
    office; each cadre their own figure."""
    report = await _report(services, session, period)
    texts = services.texts
    lang = services.settings.default_language
    queue = _Queue(services, session, event, period)
    bonus = workbook.bonus_workbook(report, texts, lang) if period.kind == PeriodKind.YEAR else None
    sheet = workbook.period_workbook(report, texts, lang)
    await _to_leadership(services, session, queue, report, sheet=sheet, bonus=bonus)
    people = {c.id: c for c in await _roster(services, session)}
    for line in report.lines:
        cadre = people.get(line.cadre_id)
        if cadre is None or not cadre.telegram_user_id or line.score is None:
            continue
        language = texts.lang(cadre.language)
        await queue.add(
            chat_id=cadre.telegram_user_id,
            kind="result",
            cadre=cadre,
            text=personal_text(report, line, texts, language, rank_band=False, appeal=False),
        )
    return queue.count
