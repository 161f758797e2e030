"""``/report [PERIOD]``: the latest published report, privately, with its chart and sheet.

For leaders and the office: the same summary the leadership chat got (and the office, for a
year, the bonus sheet), of the latest quarter published or half-year or year closed, or of the
period named (``/report 2026-Q1``). A period whose report is not out yet says so.
"""

from __future__ import annotations

from typing import Any

from telegram import InputFile, Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.chat.access import require
from bot.chat.context import KaoheContext
from bot.chat.limits import clip
from bot.reports import workbook
from bot.reports.build import period_report
from bot.reports.messages import caption, sheet_filename, summary_messages
from bot.rules.roles import Role
from storage.models import PeriodKind
from storage.queries import periods as periods_q


@require(Role.LEADER, Role.OFFICE)
async def report_cmd(update: Update, context: KaoheContext) -> None:
    """Send the latest published report (or the one named) with its files."""
    message = update.effective_message
    assert message is not None
    code = " ".join(context.args or []).strip()
    async with context.services.sessions() as session:
        if code:
            try:
                period = await periods_q.find_period(
                    session=session, unit_id=context.unit_id, code=code
                )
            except periods_q.PeriodCodeError:
                period = None
        else:
            period = await periods_q.latest_reported(session=session, unit_id=context.unit_id)
        if period is None or not periods_q.reported(period):
            context.set_outcome(update.update_id, "report:none")
            await message.reply_text(
                context.render("reports/report_none", code=clip(code) if code else None)
            )
            return
        report = await period_report(
            session=session,
            period=period,
            unit_name=context.services.settings.unit_name,
            zone=context.services.settings.zone,
        )
    from bot.reports import chart  # matplotlib loads on first use

    texts, lang = context.texts, context.lang
    picture = chart.period_chart(report, texts, lang)
    sheet = workbook.period_workbook(report, texts, lang)
    context.set_outcome(update.update_id, f"report:{report.code}")
    for text in summary_messages(report, texts, lang, chart=picture is not None, sheet=True):
        await message.reply_text(text)
    if picture is not None:
        await message.reply_photo(
            InputFile(picture, filename=f"{report.code}.png"),
            caption=caption(texts, lang, "reports/chart_caption", report=report),
        )
    await message.reply_document(
        InputFile(sheet, filename=sheet_filename(texts, lang, report)),
        caption=caption(texts, lang, "reports/sheet_caption", report=report, corrected=False),
    )
    if period.kind == PeriodKind.YEAR and context.has_role(Role.OFFICE):
        await message.reply_document(
            InputFile(
                workbook.bonus_workbook(report, texts, lang),
                filename=texts.label(lang, "report.file.bonus", unit=report.unit, year=report.year),
            ),
            caption=caption(texts, lang, "reports/bonus_caption", report=report),
        )


def handlers() -> list[BaseHandler[Update, Any, Any]]:
    return [CommandHandler("report", report_cmd, filters=filters.ChatType.PRIVATE)]
