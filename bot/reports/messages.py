"""The texts of the reports: the leadership chat's summary, a cadre's own result, the notices of
finality and correction; laid out for a phone.

Each is rendered from a :class:`~bot.reports.model.PeriodReport` by the one renderer
(:class:`bot.core.texts.Texts`), in blocks that :func:`bot.core.texts.pack_messages` joins into
as few messages as Telegram's 4,096 characters allow; a block too long for one message (the 良好
of a county) is split between its lines, never inside one.
"""

from __future__ import annotations

from typing import Any

from bot.core.texts import Texts, pack_messages
from bot.reports.model import PeriodReport, ReportLine

__all__ = [
    "CAPTION_MAX",
    "caption",
    "personal_text",
    "sheet_filename",
    "summary_messages",
]

#: Telegram's limit on a photo's or document's caption.
CAPTION_MAX = 1024


def summary_messages(
    report: PeriodReport, texts: Texts, lang: str, *, chart: bool, sheet: bool
) -> list[str]:
    """The summary for the leadership chat: the distribution, the cadres by grade (优秀 first)
    with their scores, participation, missing sources, adjustments and changes since last time;
    ``chart`` and ``sheet`` say whether the files follow."""
    values: dict[str, Any] = {"report": report, "chart": chart, "sheet": sheet}
    blocks = [texts.render(lang, "reports/summary_head", **values)]
    for grade, members in report.by_grade():
        blocks.append(
            texts.render(lang, "reports/summary_grade", grade=grade, lines=members, **values)
        )
    for part in ("participation", "missing", "adjustments", "changes"):
        blocks.append(texts.render(lang, f"reports/summary_{part}", **values))
    return pack_messages(blocks)


def personal_text(
    report: PeriodReport,
    line: ReportLine,
    texts: Texts,
    lang: str,
    *,
    rank_band: bool,
    appeal: bool,
) -> str:
    """A cadre's own result of the period, with its breakdown; ``appeal``: the appeal window is
    open (the message carries the Appeal button)."""
    return texts.render(
        lang,
        "reports/personal",
        report=report,
        line=line,
        band=report.rank_band(line.cadre_id) if rank_band else None,
        appeal=appeal,
    )


def sheet_filename(
    texts: Texts, lang: str, report: PeriodReport, *, corrected: bool = False
) -> str:
    """The .xlsx's file name as the chat shows it: the unit, the period, and whether corrected."""
    key = "report.file.corrected" if corrected else "report.file.period"
    return texts.label(lang, key, unit=report.unit, code=report.code)


def caption(texts: Texts, lang: str, template: str, **values: Any) -> str:
    """A file's caption, within Telegram's 1,024 characters."""
    text = texts.render(lang, template, **values)
    return text if len(text) <= CAPTION_MAX else text[: CAPTION_MAX - 1] + "…"
