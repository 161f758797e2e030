"""One clock: the bot runs on the clock it is given, never on the wall clock.

The whole module runs on a clock standing at an instant years away from today. A self-score and a
head's rating are done in chat; every time the database records is that instant, and a press that
arrives after the deadline *on that clock* is refused as closed, although the wall clock is years
before it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.core.clock import ManualClock
from bot.emulator.telegram import html_to_text
from storage.models import AuditLog, Rating
from tests.harness.appraisal import SUBMIT, L, answer_all, rating_of

START = datetime(2031, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in the town, a day into the window


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


async def test_self_score_and_rating_run_on_the_bots_clock(
    town: Any, texts: Any, clock: ManualClock
) -> None:
    period = await town.open_month(2031, 11)
    assert period.opens_at < START < period.closes_at  # the window is placed on the bot's clock

    wang = await town.signup("王芳")
    await wang.command("selfscore")
    clock.advance(timedelta(minutes=5))
    await answer_all(wang, ["85", "跳过", "90", "跳过", "87.5", "跳过"])
    submitted_at = clock.advance(timedelta(minutes=1))
    await wang.press(SUBMIT)
    own = await rating_of(town, "王芳", "self")
    assert own is not None and own.state == "submitted"
    assert own.submitted_at == submitted_at and own.updated_at == submitted_at

    head = await town.signup("郑海涛")
    await head.command("rate")
    await head.press(L(texts, "rate.person", mark=L(texts, "rate.mark.todo"), name="王芳"))
    await head.press(L(texts, "rate.item", title="本职工作", score="—"))
    await head.press("90")
    await head.press("90")
    await head.press(L(texts, "rate.same_self", value="87.5"))
    confirmed_at = clock.advance(timedelta(hours=2))
    await head.press(L(texts, "rate.confirm", total="89.5"))  # 90×70 + 90×10 + 87.5×20
    rated = await rating_of(town, "王芳", "head")
    assert rated is not None and rated.state == "submitted" and rated.submitted_at == confirmed_at

    # After the deadline on the bot's clock (the wall clock is years before it), nothing changes.
    clock.set(period.closes_at + timedelta(minutes=1))
    answer = await head.press(L(texts, "rate.back_list"))
    assert answer.show_alert and answer.text == texts.render("zh", "rating/closed_short")
    await wang.command("selfscore")
    # The month's deadline has passed on the bot's clock: said as every command says it.
    local = period.closes_at.astimezone(ZoneInfo("Asia/Shanghai"))
    st = {"last": {"year": 2031, "number": 11, "closes": local}, "upcoming": None}
    closed = texts.render("zh", "selfscore/no_window", st=st)
    assert wang.last().text == html_to_text(closed)
    async with town.services.sessions() as session:
        ratings = (await session.exec(select(Rating))).all()
        logins = (await session.exec(select(AuditLog))).all()
    assert {r.submitted_at for r in ratings} == {submitted_at, confirmed_at}
    assert all(row.at >= START for row in logins)  # bindings, languages: all on the bot's clock
