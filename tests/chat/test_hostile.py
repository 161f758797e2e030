"""Hostile and unlucky input: strangers from another unit, forged and oversized presses, late
answers, repeated deliveries. Each test names the defect it guards against; every one runs through
the real Application on the in-memory Bot API and a real database, on both backends.
"""

from __future__ import annotations

import copy
from datetime import date, timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.appraisal import periods as appraisal
from bot.emulator.telegram import html_to_text
from storage.engine import transaction
from storage.models import (
    BallotDraft,
    BonusEntry,
    Cadre,
    DisciplineRecord,
    Leave,
    Period,
    Rating,
    utcnow,
)
from storage.queries.results import create_tallies
from storage.queries.roster import assessed_cadres
from tests.harness.appraisal import SUBMIT, L, answer_all, audits, rating_of
from tests.harness.town import OTHER_USER, other_unit


async def test_a_person_of_another_unit_cannot_sign_up_here(town: Any, texts: Any) -> None:
    """10.1: a code of another unit in the same database is unknown to this town's bot."""
    _, code = await other_unit(town, bound=False)
    outsider = town.sim.user(OTHER_USER, "外镇人")
    await outsider.command("start", code)
    assert "登记码不正确" in outsider.last().text
    async with town.services.sessions() as session:
        row = (await session.exec(select(Cadre).where(Cadre.name == "外镇人"))).one()
    assert row.telegram_user_id is None


async def test_a_person_bound_in_another_unit_is_a_stranger_here(town: Any, texts: Any) -> None:
    """10.1: the gate finds people by Telegram id within this unit only: every command and
    every kind of button is refused as from a stranger, and no name leaks."""
    period = await town.open_month(2026, 11)
    await other_unit(town, bound=True)
    outsider = town.sim.user(OTHER_USER, "外镇人")
    stranger = html_to_text(texts.render("zh", "access/stranger"))
    for command in ("status", "vote", "selfscore", "rate", "myscore", "discipline", "whoami"):
        await outsider.command(command)
        assert outsider.last().text == stranger, command
    wang = await town.cadre("王芳")
    for data in (
        f"vote:who:{period.id}:{wang.id}",
        f"st:dept:{period.id}:{wang.department_id}",
        f"rate:p:{period.id}:{wang.id}",
        f"selfscore:start:{period.id}",
    ):
        answer = await outsider.press_data(data)
        assert answer.show_alert and answer.text == texts.render("zh", "access/stranger_short")
    assert "王芳" not in "".join(m.text for m in outsider.messages())
    async with town.services.sessions() as session:
        assert (await session.exec(select(BallotDraft))).all() == []


async def test_status_is_the_offices_alone(town: Any, texts: Any) -> None:
    """/status names who is missing: only the office may see it, not a leader or a head (who
    see their own people's state in their digests and /rate)."""
    period = await town.open_month(2026, 11)
    clerk = await town.signup("周晓燕")
    await clerk.command("status")
    buttons = clerk.last().callback_data
    assert any(d.startswith("st:dept:") for d in buttons)
    refusal = texts.render_plain("zh", "access/not_allowed_short")
    for name in ("赵建国", "郑海涛"):  # the party secretary; a head
        user = await town.signup(name)
        mark = user.mark()
        await user.command("status")
        assert "只对党政办开放" in user.last().text
        for data in [*buttons, f"st:home:{period.id}"]:
            answer = await user.press_data(data)
            assert answer.show_alert and answer.text == refusal, data
        shown = " ".join(m.text for m in user.inbox_since(mark))
        assert not [n for n in ("吴磊", "王芳", "冯超", "韩雪") if n in shown], shown


async def test_forged_presses_naming_a_quarter_or_a_judged_items_target_change_nothing(
    town: Any, texts: Any
) -> None:
    """10.5: every id in a press is checked for its kind and owner."""
    month = await town.open_month(2026, 11)
    async with transaction(town.services.sessions) as session:
        quarter = Period(
            unit_id=town.services.unit_id,
            kind="quarter",
            year=2026,
            number=4,
            starts_on=utcnow().date(),
            ends_on=utcnow().date(),
            opens_at=utcnow() - timedelta(days=1),
            closes_at=utcnow() + timedelta(days=9),
            state="open",
            scheme=month.scheme,
        )
        session.add(quarter)
        await session.flush()
        quarter_id = quarter.id
        # As if it carried a ballot: only its kind tells that nobody votes in a quarter.
        await create_tallies(
            session=session,
            period_id=quarter_id,
            ratee_ids=[c.id for c in await assessed_cadres(session=session, unit_id=month.unit_id)],
            grades=["excellent", "good", "pass", "fail"],
        )
    wang = await town.signup("王芳")
    answer = await wang.press_data(f"selfscore:start:{quarter_id}")
    assert answer.show_alert and answer.text == texts.render("zh", "selfscore/closed_short")
    # The old bug's next step: the refused start asked no question, so "100" answers nothing.
    await wang.send("100")
    assert wang.last().text == html_to_text(texts.render("zh", "basics/unknown"))
    feng = await town.cadre("冯超")
    answer = await wang.press_data(f"vote:set:{quarter_id}:{feng.id}:good")
    assert answer.show_alert and "未作任何更改" in (answer.text or "")
    async with town.services.sessions() as session:
        assert (await session.exec(select(BallotDraft))).all() == []
    head = await town.signup("郑海涛")
    answer = await head.press_data(f"rate:s:{quarter_id}:{feng.id}:duty:90")
    assert answer.show_alert and answer.text == texts.render("zh", "rating/closed_short")
    answer = await head.press_data(f"rate:tt:{month.id}:{feng.id}:duty:1")
    assert answer.show_alert
    async with town.services.sessions() as session:
        assert (await session.exec(select(Rating))).all() == []


async def test_ids_beyond_any_database_are_stale_presses(town: Any, texts: Any) -> None:
    """10.6: ids of 2**63 or more raised OverflowError on SQLite and gave the generic error."""
    await town.open_month(2026, 11)
    clerk = await town.signup("周晓燕")  # office and cadre: every family is hers to press
    stale = texts.render_plain("zh", "access/stale_short")
    for data in (
        "vote:set:9223372036854775808:6:pass",
        f"selfscore:submit:{10**30}",
        f"inv:pick:{10**30}",
        f"st:dept:{2**63}:1",
        f"vote:set:{2**63 - 1}:6:pass",  # a bigint, but beyond PostgreSQL's integer ids
        f"rate:p:{2**31}:1",
    ):
        answer = await clerk.press_data(data)
        assert answer.answered and answer.show_alert, data
        assert "出了点问题" not in (answer.text or ""), data
    vote_stale = texts.render_plain(
        "zh", "ballot/refused_short", reason="stale", period=None, missing=[], next=None
    )
    answer = await clerk.press_data("vote:set:9223372036854775808:6:pass")
    assert answer.text == vote_stale
    answer = await clerk.press_data(f"inv:pick:{10**30}")
    assert answer.text == stale


async def test_a_press_no_family_takes_is_answered(town: Any, texts: Any) -> None:
    """10.8: callback data of no family (or an older version's) was never answered."""
    wang = await town.signup("王芳")
    for data in ("zz:1", "rate", "SELFSCORE:ok:1", "投票:1", "vote"):
        answer = await wang.press_data(data)
        assert answer.answered and answer.show_alert, data
        assert answer.text == texts.render_plain("zh", "access/stale_short"), data


async def test_a_double_tap_on_a_language_button_is_no_error(town: Any, texts: Any) -> None:
    """10.7: the second tap edited the message to the same text: "message is not modified"."""
    wang = await town.signup("王芳")
    await wang.command("lang")
    choice = wang.last()
    english = str(choice.button("English")["callback_data"])
    first = await wang.press_data(english, message_id=choice.message_id)
    second = await wang.press_data(english, message_id=choice.message_id)
    assert first.answered and second.answered and not second.show_alert
    assert "出了点问题" not in wang.last().text and "went wrong" not in wang.last().text


async def test_echoed_input_is_cut_to_fit_telegram(town: Any, texts: Any, fake: Any) -> None:
    """10.9: /lang <4090 characters> and /invite <long name> made replies Telegram refused."""
    wang = await town.signup("王芳")
    clerk = await town.signup("周晓燕")
    await wang.command("lang", "x" * 4090)
    assert len(wang.last().text) <= 4096 and "不支持" in wang.last().text
    await clerk.command("invite", "张" * 4000)
    assert len(clerk.last().text) <= 4096 and "花名册上没有" in clerk.last().text
    refused = [c for c in fake.calls if not c.ok]
    assert refused == [], [c.method for c in refused]


async def test_long_extend_and_leave_input_is_cut_to_fit_telegram(
    town: Any, texts: Any, fake: Any
) -> None:
    """10.9: /extend's reason and /leave's name and reason are echoed: cut, so that every reply
    fits Telegram's 4096 characters after its entities, and what is stored fits its column."""
    period = await town.open_month(2026, 11)
    clerk = await town.signup("周晓燕")
    zone = town.services.settings.zone
    later = (period.closes_at + timedelta(days=2)).astimezone(zone).date().isoformat()
    today = town.services.now().astimezone(zone).date()
    first, last = today.isoformat(), (today + timedelta(days=3)).isoformat()
    long_word = "防" * 4000
    replies = []

    async def reply(command: str, *args: str) -> None:
        mark = clerk.mark()
        await clerk.command(command, *args)
        replies.append(clerk.inbox_since(mark)[0])
        # The scheduler tells the pending of a deadline moved: now, not during the next reply.
        await town.app.scheduler.run_until_idle()

    for args in (
        (later, "18:00", long_word),  # extended: the reason echoed
        (later, long_word),  # the same, without a time
        (long_word,),  # not a date
        (first, "&<b>" * 1000),  # no reason: entities everywhere
    ):
        await reply("extend", *args)
    for args in (
        ("张" * 4000, first, last, "病假"),  # nobody of that name: the name echoed
        ("王芳", first, last, "<i>病</i>" * 700),  # added: the reason echoed
        ("王芳", long_word, last),  # not a date
    ):
        await reply("leave", *args)
    await reply("leave")  # the list shows the stored reason
    shown = replies + clerk.messages()  # the deadline's notice, with its reason, too
    assert all(0 < len(m.text) <= 4096 for m in shown), [len(m.text) for m in shown]
    assert "已延长" in replies[0].text or "延长到" in replies[0].text
    assert "花名册上没有" in replies[4].text and "已登记" in replies[5].text
    refused = [c for c in fake.calls if not c.ok]
    assert refused == [], [(c.method, c.response) for c in refused]
    async with town.services.sessions() as session:
        leave = (await session.exec(select(Leave))).all()
    extended = await audits(town, "period.extend")
    assert len(leave) == 1 and len(leave[0].reason or "") <= 200
    assert len(extended) == 1


async def test_a_submit_whose_answer_comes_too_late_is_still_written(
    town: Any, texts: Any, fake: Any
) -> None:
    """10.3 and 9.5: the submit answered first and wrote after; an answer Telegram refused (a
    press queued past 15 s in a deadline rush) threw the submission away."""
    await town.open_month(2026, 11)
    wang = await town.signup("王芳")
    await wang.command("selfscore")
    await answer_all(wang, ["85", "跳过", "90", "跳过", "87.5", "跳过"])
    fake.callback_query_timeout = 0.0  # every answer now comes too late
    mark = wang.mark()
    answer = await wang.press(SUBMIT)
    assert not answer.answered
    rating = await rating_of(town, "王芳", "self")
    assert rating is not None and rating.state == "submitted"
    said = [m.text for m in wang.inbox_since(mark)]
    assert any("已提交" in text for text in said), said  # the outcome, in a new message
    assert not any("出了点问题" in text for text in said)


async def _office_flow(clerk: Any, texts: Any, kind: str, today: date) -> None:
    """/discipline, /reward or /deduct for 王芳 of 经济发展办公室, up to the Confirm button,
    by the buttons' labels."""
    await clerk.command(kind)
    await clerk.press("经济发展办公室")
    await clerk.press("王芳")
    onward = [d for d in clerk.last().callback_data if d.startswith("off:next:")]
    if onward:  # people are ticked, then the flow goes on with them
        await clerk.press_data(onward[0], message_id=clerk.last().message_id)
    if kind == "discipline":
        await clerk.press(L(texts, "office.violation", title="迟到", points="2"))
        await clerk.press(L(texts, "office.today", day=today.strftime("%m-%d")))
        await clerk.press(L(texts, "office.skip"))
    else:
        await clerk.send("200")
        await clerk.send("季度工作突出" if kind == "reward" else "多次迟到早退")


@pytest.mark.parametrize(
    ("kind", "model"),
    [("reward", BonusEntry), ("deduct", BonusEntry), ("discipline", DisciplineRecord)],
)
async def test_a_confirmation_retried_after_a_lost_reply_records_once(
    town: Any, texts: Any, app: Any, kind: str, model: Any
) -> None:
    """10.4: a crash between the record's commit and the message edit left the persisted draft
    (same token) and its Confirm button alive; the retry wrote a second record. The same for a
    discipline record, a reward and a deduction."""
    today = town.services.now().astimezone(town.services.settings.zone).date()
    await town.open_month(today.year, today.month)
    clerk = await town.signup("周晓燕")
    await _office_flow(clerk, texts, kind, today)
    confirm = clerk.last()
    # What the database-backed persistence held before the press: restored below, as after a
    # crash that lost the write of the conversation state (the record itself was committed).
    before = copy.deepcopy(app.user_data[clerk.id])
    data = str(confirm.button(L(texts, "office.confirm"))["callback_data"])
    first = await clerk.press_data(data, message_id=confirm.message_id)
    assert first.answered and not first.show_alert
    app.user_data[clerk.id].clear()
    app.user_data[clerk.id].update(before)
    retried = await clerk.press_data(data, message_id=confirm.message_id)
    assert retried.answered
    async with town.services.sessions() as session:
        records = (await session.exec(select(model))).all()
    assert len(records) == 1, records
    if model is BonusEntry:
        assert records[0].kind == ("reward" if kind == "reward" else "deduction")
    created = "discipline.create" if model is DisciplineRecord else "bonus.create"
    assert len(await audits(town, created)) == 1


async def test_uncast_drafts_are_deleted_when_the_month_closes(town: Any, texts: Any) -> None:
    """10.2: rows of (voter, ratee, grade) of ballots never cast outlived the close."""
    period = await town.open_month(2026, 11)
    voter = await town.signup("吴磊")
    await voter.command("vote")
    ballot = voter.last()
    good = texts.label("zh", "ballot.grade.good")
    data = next(
        b["callback_data"]
        for row in (ballot.reply_markup or {})["inline_keyboard"]
        for b in row
        if b["text"] == good
    )
    await voter.press_data(data, message_id=ballot.message_id)
    async with town.services.sessions() as session:
        assert len((await session.exec(select(BallotDraft))).all()) == 1
    async with transaction(town.services.sessions) as session:
        row = await session.get(Period, period.id)
        assert row is not None
        closed = await appraisal.close_period(
            session=session, period=row, now=utcnow() + timedelta(days=10)
        )
    assert closed.drafts_discarded == 1
    async with town.services.sessions() as session:
        assert (await session.exec(select(BallotDraft))).all() == []
