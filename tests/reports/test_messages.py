"""The report's texts: laid out for a phone within Telegram's limits, in both languages, and
never more about the secret ballot than its score (or "too few ballots").

Rendered from reports built by hand (tests/reports/factory.py) through the same renderer and
templates the bot sends with; the fake Telegram's own parsing measures what Telegram would.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import replace
from typing import Any

import pytest

from bot.chat.review import PAGE, list_screen
from bot.emulator.telegram import html_to_text
from bot.reports.messages import personal_text, summary_messages
from tests.reports.factory import large_quarter, seed_quarter, seed_year

TELEGRAM_MAX = 4096
#: A tally: a grade followed by a count of ballots.
TALLY = re.compile(
    r"(优秀|良好|及格|不及格|Excellent|Good|Pass|Fail)\s*[:：]?\s*\d+\s*(票|ballots?)"
)
#: A count of ballots at all: the unit's participation may give one, a cadre's figures never.
BALLOTS = re.compile(r"\d+\s*(票|ballots?)")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_county_summary_fits_few_messages(texts: Any, lang: str) -> None:
    report = large_quarter(cadres=800, departments=32)
    messages = summary_messages(report, texts, lang, chart=True, sheet=True)
    visible = [html_to_text(m) for m in messages]
    assert all(len(m) <= TELEGRAM_MAX for m in visible)
    # As few as the limit allows: no two neighbours would fit together.
    for first, second in itertools.pairwise(messages):
        assert len(first) + 2 + len(second) > 4000
    joined = "\n".join(visible)
    for line in report.lines:
        if line.score is not None:
            assert line.name in joined
    # The grades come in order, 优秀 first, each cadre once.
    assert sum(
        joined.count(f"{line.name} ") + joined.count(f"{line.name}（") for line in report.lines
    ) >= len(report.lines)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_town_summary_is_one_message(texts: Any, lang: str) -> None:
    report = seed_quarter()
    messages = summary_messages(report, texts, lang, chart=True, sheet=True)
    assert len(messages) == 1
    text = html_to_text(messages[0])
    if lang == "zh":
        assert "优秀 3 · 良好 9" in text and "公示至" in text
    else:
        assert "Excellent 3 · Good 9" in text and "Public notice until" in text
        assert not re.search(r"[\u4e00-\u9fff]{2,}考核|等次|优秀|良好|公示", text)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_display_counts_the_ballots(texts: Any, lang: str) -> None:
    report = seed_quarter()
    too_few = [line for line in report.lines if line.democratic_note == "too_few"]
    assert too_few, "the factory has a cadre with too few ballots"
    summary = [
        html_to_text(m) for m in summary_messages(report, texts, lang, chart=False, sheet=False)
    ]
    own = [
        html_to_text(personal_text(report, line, texts, lang, rank_band=True, appeal=True))
        for line in report.lines
    ]
    text, _ = list_screen(texts, lang, report, 1, 0, chair=True)
    own.append(html_to_text(text))
    for text in summary + own:
        assert not TALLY.search(text), text
    for text in own:
        assert not BALLOTS.search(text), text
    mine = html_to_text(
        personal_text(report, too_few[0], texts, lang, rank_band=False, appeal=False)
    )
    assert ("票数不足" if lang == "zh" else "too few ballots") in mine


def test_the_review_list_pages_on_a_phone(texts: Any) -> None:
    report = replace(large_quarter(cadres=60, departments=8), state="in_review")
    seen: list[str] = []
    pages = -(-len(report.lines) // PAGE)
    for page in range(pages):
        text, markup = list_screen(texts, "zh", report, 1, page, chair=page == 0)
        assert len(html_to_text(text)) <= TELEGRAM_MAX
        people = [
            b for row in markup.inline_keyboard for b in row if b.callback_data.startswith("rv:who")
        ]
        assert len(people) <= PAGE
        seen += [b.text for b in people]
        nav = [
            b.callback_data
            for row in markup.inline_keyboard
            for b in row
            if "rv:list" in b.callback_data
        ]
        assert (f"rv:list:1:{page - 1}" in nav) == (page > 0)
        assert (f"rv:list:1:{page + 1}" in nav) == (page < pages - 1)
        assert any("rv:pub" in b.callback_data for row in markup.inline_keyboard for b in row) == (
            page == 0
        )
    assert len(seen) == len(report.lines)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_year_shows_each_bonus_to_the_cent(texts: Any, lang: str) -> None:
    report = seed_year()
    for line in report.lines:
        if line.bonus is None:
            continue
        text = html_to_text(personal_text(report, line, texts, lang, rank_band=False, appeal=False))
        assert f"{line.bonus.amount:,.2f}" in text
