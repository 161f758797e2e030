"""The office's records and /status, end to end: the clerk's buttons and answers in, rows out.

Every test runs on SQLite and on PostgreSQL. The month is opened around today (the town's local
date), so that "today" and "yesterday" are real dates of the open month whatever day it runs.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.app import build_application
from bot.emulator.request import FakeRequest
from bot.emulator.simulator import Simulator, SimUser
from bot.rules.figures import InputError, parse_day
from storage.engine import transaction
from storage.models import (
    BallotParticipation,
    BonusEntry,
    Cadre,
    Department,
    DisciplineRecord,
    OutboxMessage,
    Period,
    PeriodState,
    Rating,
    utcnow,
)
from tests.harness.appraisal import audits, rating_lines

ZONE = ZoneInfo("Asia/Shanghai")
lines = partial(rating_lines, source="self")


def _today() -> date:
    return datetime.now(ZONE).date()


async def _open(town: Any) -> Period:
    today = _today()
    return await town.open_month(today.year, today.month)


async def _rows(town: Any, model: Any) -> list[Any]:
    async with town.services.sessions() as session:
        return list((await session.exec(select(model).order_by(model.id))).all())


async def _set_period(town: Any, period: Period, **values: Any) -> None:
    async with transaction(town.services.sessions) as session:
        row = await session.get(Period, period.id)
        for key, value in values.items():
            setattr(row, key, value)
        session.add(row)


def _data(user: SimUser, action: str) -> str:
    """The callback data of the latest keyboard's button for ``action``."""
    return next(d for d in user.last().callback_data if d.split(":")[1] == action)


async def _pick(clerk: SimUser, texts: Any, *names: str, lang: str = "zh") -> None:
    """On the person step: tick ``names``, then go on."""
    for name in names:
        await clerk.press(name)
    await clerk.press(texts.label(lang, "office.onward", n=len(names)))


async def _to_date_step(clerk: SimUser, texts: Any) -> int:
    """/discipline → 经济发展办公室 → 王芳 → 迟到; return the flow message's id."""
    await clerk.command("discipline")
    flow = clerk.last()
    assert "第 1/6 步" in flow.text and "选部门" in flow.text
    await clerk.press("经济发展办公室")
    assert "第 2/6 步" in clerk.last().text
    # The roster's order (the head first), not the code points' (冯 王 郑).
    assert clerk.last().labels == [
        "郑海涛",
        "王芳",
        "冯超",
        texts.label("zh", "office.onward", n=0),
        texts.label("zh", "office.departments"),
        "✖ 取消",
    ]
    await _pick(clerk, texts, "王芳")
    assert "第 3/6 步" in clerk.last().text
    await clerk.press(texts.label("zh", "office.violation", title="迟到", points="2"))
    message = clerk.last()
    assert message.message_id == flow.message_id and message.edit_count == 4
    assert "第 4/6 步：日期" in message.text and "事项：迟到（扣 2 分）" in message.text
    return flow.message_id


# --- dates as people type them --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("11-03", date(2026, 11, 3)),
        ("2026-11-03", date(2026, 11, 3)),
        ("２０２６／１１／０３", date(2026, 11, 3)),  # a Chinese keyboard's full-width digits
        ("11月3日", date(2026, 11, 3)),
        ("11月3号", date(2026, 11, 3)),
        ("3号", date(2026, 11, 3)),
        ("3", date(2026, 11, 3)),
        ("今天", date(2026, 11, 26)),
        ("昨天", date(2026, 11, 25)),
        ("前天", date(2026, 11, 24)),
        (" Yesterday ", date(2026, 11, 25)),
    ],
)
def test_dates_typed_the_ways_people_type_them(typed: str, expected: date) -> None:
    window = {"first": date(2026, 11, 1), "last": date(2026, 11, 30), "today": date(2026, 11, 26)}
    assert parse_day(typed, **window) == expected


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("上周三", "not_a_date"),
        ("11", None),  # the 11th: fine
        ("31", "no_such_date"),  # November has 30 days
        ("27", "future"),
        ("10-31", "out_of_range"),
        ("明天", "not_a_date"),
    ],
)
def test_dates_refused_with_their_reason(typed: str, error: str | None) -> None:
    window = {"first": date(2026, 11, 1), "last": date(2026, 11, 30), "today": date(2026, 11, 26)}
    if error is None:
        assert parse_day(typed, **window) == date(2026, 11, 11)
        return
    with pytest.raises(InputError) as refused:
        parse_day(typed, **window)
    assert refused.value.key == error


def test_a_day_alone_in_a_window_into_january_takes_the_right_month() -> None:
    # The December window runs to 5 January: "3" is 3 January, "28" is 28 December.
    window = {"first": date(2026, 12, 1), "last": date(2027, 1, 5), "today": date(2027, 1, 5)}
    assert parse_day("3", **window) == date(2027, 1, 3)
    assert parse_day("28", **window) == date(2026, 12, 28)


# --- /discipline ----------------------------------------------------------------------------------


async def test_discipline_record_end_to_end(town: Any, texts: Any) -> None:
    clerk = await town.signup("周晓燕")
    period = await _open(town)
    today = _today()
    await _to_date_step(clerk, texts)
    assert texts.label("zh", "office.today", day=today.strftime("%m-%d")) in clerk.last().labels

    await clerk.send("上周三")
    assert "⚠️ 看不懂这个日期" in clerk.last().text and "第 4/6 步" in clerk.last().text
    await clerk.send("02-30")
    assert "没有这一天" in clerk.last().text
    tomorrow = today + timedelta(days=1)
    await clerk.send(tomorrow.isoformat())
    assert f"{tomorrow.isoformat()} 还没到" in clerk.last().text
    before = period.starts_on - timedelta(days=1)
    await clerk.send(before.isoformat())
    assert f"{before.isoformat()} 不在本月考核期内" in clerk.last().text
    await clerk.send_sticker()
    assert "不能发送贴纸、图片或文件" in clerk.last().text and "第 4/6 步" in clerk.last().text
    assert await _rows(town, DisciplineRecord) == []

    await clerk.send(today.strftime("%m-%d"))
    assert "第 5/6 步：备注" in clerk.last().text
    assert f"日期：{today.isoformat()}" in clerk.last().text
    await clerk.send("晨会迟到 <20> 分钟")
    confirm = clerk.last()
    assert "第 6/6 步：确认" in confirm.text and "备注：晨会迟到 <20> 分钟" in confirm.text
    assert "&lt;20&gt;" in (confirm.html or "")
    await clerk.press(texts.label("zh", "office.confirm"))
    assert "✅ 已登记" in clerk.last().text

    wang, zhou = await town.cadre("王芳"), await town.cadre("周晓燕")
    [record] = await _rows(town, DisciplineRecord)
    assert (
        record.unit_id,
        record.period_id,
        record.cadre_id,
        record.violation_key,
        record.deduction,
        record.occurred_on,
        record.note,
        record.created_by_id,
        record.undone_at,
    ) == (
        town.services.unit_id,
        period.id,
        wang.id,
        "late",
        Decimal("2"),
        today,
        "晨会迟到 <20> 分钟",
        zhou.id,
        None,
    )
    [entry] = await audits(town, "discipline.create")
    assert (entry.actor, entry.actor_cadre_id, entry.entity_id, entry.old_value) == (
        "周晓燕",
        zhou.id,
        record.id,
        None,
    )
    assert entry.new_value == {
        "period_id": period.id,
        "cadre_id": wang.id,
        "cadre": "王芳",
        "violation": "late",
        "deduction": "2",
        "occurred_on": today.isoformat(),
        "note": "晨会迟到 <20> 分钟",
    }


async def test_deduction_comes_from_the_frozen_scheme(town: Any, texts: Any) -> None:
    from bot.core.scheme_file import default_scheme

    clerk = await town.signup("周晓燕")
    today = _today()
    raw = default_scheme().model_dump(mode="json", by_alias=True)
    raw["office_rules"]["violations"]["late"]["points"] = "4.5"
    scheme = type(default_scheme()).model_validate(raw)
    await town.open_month(today.year, today.month, scheme=scheme)
    await clerk.command("discipline")
    await clerk.press("经济发展办公室")
    await _pick(clerk, texts, "王芳")
    await clerk.press(texts.label("zh", "office.violation", title="迟到", points="4.5"))
    await clerk.press(texts.label("zh", "office.today", day=today.strftime("%m-%d")))
    await clerk.press(texts.label("zh", "office.skip"))
    assert "事项：迟到（扣 4.5 分）" in clerk.last().text
    await clerk.press(texts.label("zh", "office.confirm"))
    [record] = await _rows(town, DisciplineRecord)
    assert (record.deduction, record.note, record.occurred_on) == (Decimal("4.5"), None, today)


async def test_back_buttons_and_cancel(town: Any, texts: Any) -> None:
    clerk = await town.signup("周晓燕")
    await _open(town)
    mark = clerk.mark()
    flow_id = await _to_date_step(clerk, texts)
    await clerk.press(texts.label("zh", "office.back"))
    assert "第 3/6 步" in clerk.last().text
    await clerk.press(texts.label("zh", "office.back"))
    assert "第 2/6 步" in clerk.last().text
    assert texts.label("zh", "office.picked", name="王芳") in clerk.last().labels  # still ticked
    await clerk.press(texts.label("zh", "office.picked", name="王芳"))  # unticked
    assert "王芳" in clerk.last().labels
    await clerk.press(texts.label("zh", "office.departments"))
    assert "第 1/6 步" in clerk.last().text
    await clerk.press("综合治理办公室")
    await _pick(clerk, texts, "韩雪")
    assert "人员：<b>韩雪</b>" in (clerk.last().html or "")
    assert "事项：" not in clerk.last().text  # chosen anew
    await clerk.press(texts.label("zh", "office.cancel"))
    assert "已退出机关制度登记" in clerk.last().text and clerk.last().buttons == []
    assert clerk.last().message_id == flow_id and len(clerk.inbox_since(mark)) == 1

    # /cancel in a typed step ends it; the text that follows is no longer taken as a date.
    await _to_date_step(clerk, texts)
    await clerk.command("cancel")
    assert "已退出机关制度登记" in clerk.last().text
    await clerk.send("11-03")
    assert clerk.last().text == texts.render("zh", "basics/unknown")
    assert await _rows(town, DisciplineRecord) == []


async def test_list_and_undo(town: Any, texts: Any) -> None:
    clerk = await town.signup("周晓燕")
    period = await _open(town)
    today = _today()
    for name, violation, points in (("王芳", "迟到", "2"), ("冯超", "旷工", "5")):
        await clerk.command("discipline")
        await clerk.press("经济发展办公室")
        await _pick(clerk, texts, name)
        await clerk.press(texts.label("zh", "office.violation", title=violation, points=points))
        await clerk.press(texts.label("zh", "office.today", day=today.strftime("%m-%d")))
        await clerk.press(texts.label("zh", "office.skip"))
        await clerk.press(texts.label("zh", "office.confirm"))
    await clerk.press(texts.label("zh", "office.records_month", count=2))
    listing = clerk.last()
    assert "共 2 条" in listing.text
    assert (
        "1. 王芳 · 迟到（扣 2 分）" in listing.text and "2. 冯超 · 旷工（扣 5 分）" in listing.text
    )

    await clerk.press(texts.label("zh", "office.undo", n=1))
    assert "确定撤销第 1 条吗？" in clerk.last().text
    yes = _data(clerk, "yes")
    await clerk.press(texts.label("zh", "office.undo_yes"))
    after = clerk.last()
    assert after.message_id == listing.message_id
    assert "1. 王芳 · 迟到（扣 2 分）" in after.text and "（已撤销）" in after.text
    assert texts.label("zh", "office.undo", n=1) not in after.labels
    assert texts.label("zh", "office.undo", n=2) in after.labels

    again = await clerk.press_data(yes, message_id=after.message_id)
    assert again.show_alert and "已失效" in (again.text or "")
    wang, zhou = await town.cadre("王芳"), await town.cadre("周晓燕")
    records = await _rows(town, DisciplineRecord)
    assert len(records) == 2  # never deleted
    undone = next(r for r in records if r.cadre_id == wang.id)
    assert undone.undone_at is not None and undone.undone_by_id == zhou.id
    assert next(r for r in records if r.cadre_id != wang.id).undone_at is None
    [entry] = await audits(town, "discipline.undo")
    assert entry.entity_id == undone.id and entry.actor_cadre_id == zhou.id
    assert entry.old_value["undone_at"] is None and entry.old_value["deduction"] == "2"
    assert entry.new_value["undone_by"] == "周晓燕" and entry.new_value["undone_at"]

    # A record of another month cannot be undone from this list, even with a forged button.
    async with transaction(town.services.sessions) as session:
        other = Period(
            unit_id=town.services.unit_id,
            kind="month",
            year=2020,
            number=1,
            starts_on=date(2020, 1, 1),
            ends_on=date(2020, 1, 31),
            opens_at=utcnow() - timedelta(days=2000),
            closes_at=utcnow() - timedelta(days=1990),
            state=PeriodState.CLOSED.value,
        )
        session.add(other)
        await session.flush()
        foreign = DisciplineRecord(
            unit_id=town.services.unit_id,
            period_id=other.id,
            cadre_id=wang.id,
            violation_key="late",
            deduction=Decimal(2),
            occurred_on=date(2020, 1, 3),
        )
        session.add(foreign)
    token = _data(clerk, "new").split(":")[2]
    forged = await clerk.press_data(f"off:undo:{token}:{foreign.id}")
    assert forged.show_alert and "找不到" in (forged.text or "")
    async with town.services.sessions() as session:
        assert (await session.get(DisciplineRecord, foreign.id)).undone_at is None
    assert period.id != other.id


async def test_list_pages(town: Any, texts: Any) -> None:
    clerk = await town.signup("周晓燕")
    period = await _open(town)
    wang = await town.cadre("王芳")
    async with transaction(town.services.sessions) as session:
        for day in range(11):
            session.add(
                DisciplineRecord(
                    unit_id=town.services.unit_id,
                    period_id=period.id,
                    cadre_id=wang.id,
                    violation_key="no_sign_in",
                    deduction=Decimal(1),
                    occurred_on=period.starts_on,
                    note="x" * 300 + str(day),
                )
            )
    await clerk.command("discipline")
    await clerk.press(texts.label("zh", "office.records_month", count=11))
    first = clerk.last()
    assert (
        "共 11 条，第 1/2 页" in first.text
        and "8. 王芳" in first.text
        and "9. 王芳" not in first.text
    )
    await clerk.press(texts.label("zh", "office.next"))
    second = clerk.last()
    assert second.message_id == first.message_id
    assert "第 2/2 页" in second.text and "9. 王芳" in second.text and "11. 王芳" in second.text
    assert texts.label("zh", "office.undo", n=11) in second.labels


async def test_double_tap_on_confirm_records_once(town: Any, texts: Any) -> None:
    clerk = await town.signup("周晓燕")
    await _open(town)
    today = _today()
    await _to_date_step(clerk, texts)
    await clerk.press(texts.label("zh", "office.today", day=today.strftime("%m-%d")))
    await clerk.press(texts.label("zh", "office.skip"))
    confirm = clerk.last()
    data = _data(clerk, "ok")
    first = await clerk.press_data(data, message_id=confirm.message_id)
    second = await clerk.press_data(data, message_id=confirm.message_id)
    assert first.answered and not first.show_alert
    assert second.answered and second.show_alert and "已失效" in (second.text or "")
    await town.sim.replay()  # the same update delivered again by Telegram
    assert len(await _rows(town, DisciplineRecord)) == 1
    assert len(await audits(town, "discipline.create")) == 1


async def test_confirm_again_after_a_failed_edit_records_once(
    town: Any, texts: Any, fake: Any
) -> None:
    clerk = await town.signup("周晓燕")
    await _open(town)
    await clerk.command("reward")
    await clerk.press("党政办公室")
    await _pick(clerk, texts, "吴磊")
    await clerk.send("200")
    await clerk.send("季度工作突出")
    confirm = clerk.last()
    data = _data(clerk, "ok")
    # The record is written, then Telegram fails to show the receipt: the old buttons stay.
    fake.fail_next("editMessageText", 400, "Bad Request: message can't be edited")
    first = await clerk.press_data(data, message_id=confirm.message_id)
    assert first.answered and not first.show_alert
    # The confirmation message keeps its old buttons and the clerk is told something failed.
    assert "已登记" not in clerk.messages()[-2].text
    assert clerk.messages()[-2].message_id == confirm.message_id
    assert clerk.last().text == texts.render("zh", "errors/internal")
    second = await clerk.press(texts.label("zh", "office.confirm"), message=confirm.message_id)
    assert second.show_alert and "已失效" in (second.text or "")
    assert len(await _rows(town, BonusEntry)) == 1


async def test_closed_period_refuses_late_answers_and_old_buttons(town: Any, texts: Any) -> None:
    clerk = await town.signup("周晓燕")
    period = await _open(town)
    today = _today()

    # A late typed answer.
    await _to_date_step(clerk, texts)
    await clerk.send(today.strftime("%m-%d"))
    await _set_period(town, period, state=PeriodState.CLOSED.value)
    await clerk.send("晨会迟到")
    assert clerk.last().text == texts.render("zh", "office/closed", reason="closed")
    await clerk.send("晨会迟到")
    assert clerk.last().text == texts.render("zh", "basics/unknown")

    # An old Confirm button, the window having passed in the meantime.
    await _set_period(town, period, state=PeriodState.OPEN.value)
    await _to_date_step(clerk, texts)
    await clerk.press(texts.label("zh", "office.today", day=today.strftime("%m-%d")))
    await clerk.press(texts.label("zh", "office.skip"))
    await _set_period(town, period, closes_at=utcnow() - timedelta(minutes=1))
    answer = await clerk.press(texts.label("zh", "office.confirm"))
    assert answer.show_alert and answer.text == texts.render("zh", "office/alert", reason="closed")
    assert clerk.last().buttons == []
    assert await _rows(town, DisciplineRecord) == []
    await clerk.command("discipline")
    assert clerk.last().text == texts.render("zh", "office/no_month")


async def test_forged_presses_by_the_office_change_nothing(town: Any, texts: Any) -> None:
    clerk = await town.signup("周晓燕")
    await _open(town)
    await clerk.command("discipline")
    await clerk.press("经济发展办公室")
    token = _data(clerk, "who").split(":")[2]
    leader = await town.cadre("赵建国")  # a leader: not assessed
    elsewhere = await town.cadre("韩雪")  # not in the department shown
    for data in (
        f"off:who:{token}:{leader.id}",
        f"off:who:{token}:{elsewhere.id}",
        f"off:who:{token}:999999",
        f"off:who:{token}:abc",
    ):
        answer = await clerk.press_data(data)
        assert answer.show_alert and "找不到" in (answer.text or ""), data
    for data in (f"off:ok:{token}", "off:who:deadbeef:1", "off:zz:" + token, "off:who"):
        answer = await clerk.press_data(data)
        assert answer.show_alert and "已失效" in (answer.text or ""), data
    assert "第 2/6 步" in clerk.last().text
    assert await _rows(town, DisciplineRecord) == []


async def test_not_office_is_refused_for_commands_and_buttons(town: Any, texts: Any) -> None:
    clerk = await town.signup("周晓燕")
    wang = await town.signup("王芳")
    await _open(town)
    for command in ("discipline", "reward", "deduct", "status"):
        await wang.command(command)
        assert "只对党政办开放" in wang.last().text, command
    await clerk.command("discipline")
    await clerk.press("经济发展办公室")
    token = _data(clerk, "who").split(":")[2]
    wang_id = (await town.cadre("王芳")).id
    for data in (f"off:who:{token}:{wang_id}", f"off:ok:{token}", f"off:list:{token}:0"):
        answer = await wang.press_data(data)
        assert answer.show_alert and answer.text == texts.render("zh", "access/not_allowed_short")
    assert "第 2/6 步" in clerk.last().text
    assert await _rows(town, DisciplineRecord) == []
    assert await _rows(town, BonusEntry) == []


async def test_no_open_month(town: Any, texts: Any) -> None:
    clerk = await town.signup("周晓燕")
    await clerk.command("discipline")
    assert "现在没有正在进行的月度考核" in clerk.last().text
    await clerk.command("status")
    assert clerk.last().text == texts.render("zh", "office/status_no_month")


# --- /reward and /deduct --------------------------------------------------------------------------


async def test_reward_with_bad_amounts_then_good(town: Any, texts: Any) -> None:
    clerk = await town.signup("周晓燕")
    period = await _open(town)
    await clerk.command("reward")
    assert "第 1/5 步" in clerk.last().text and f"{period.year}年度" in clerk.last().text
    await clerk.press("社会事务办公室")
    await _pick(clerk, texts, "卫红梅")
    assert "第 3/5 步：金额" in clerk.last().text
    for bad, phrase in (
        ("abc", "请输入一个数字金额"),
        ("0", "金额必须大于 0"),
        ("-5", "金额必须大于 0"),
        ("1.234", "金额最多两位小数"),
        ("100000000", "金额过大"),
    ):
        await clerk.send(bad)
        assert f"⚠️ {phrase}" in clerk.last().text and "第 3/5 步" in clerk.last().text, bad
    await clerk.send_photo()
    assert "不能发送贴纸、图片或文件" in clerk.last().text
    assert await _rows(town, BonusEntry) == []
    await clerk.send("１,５００.５元")  # full-width digits from a Chinese keyboard
    assert "第 4/5 步：事由" in clerk.last().text and "金额：1500.50 元" in clerk.last().text

    # The reason is required: a file, blanks or an overlong text do not count as one.
    await clerk.send_document("reason.pdf", b"%PDF")
    assert "不能发送贴纸、图片或文件" in clerk.last().text and "第 4/5 步" in clerk.last().text
    await clerk.send("   ")
    assert "内容不能为空" in clerk.last().text
    await clerk.send("好" * 501)
    assert "最多 500 字" in clerk.last().text
    await clerk.send("获县级防汛表彰")
    assert "第 5/5 步：确认" in clerk.last().text and "事由：获县级防汛表彰" in clerk.last().text
    await clerk.press(texts.label("zh", "office.confirm"))

    wei, zhou = await town.cadre("卫红梅"), await town.cadre("周晓燕")
    [entry] = await _rows(town, BonusEntry)
    assert (
        entry.unit_id,
        entry.year,
        entry.cadre_id,
        entry.kind,
        entry.amount,
        entry.reason,
        entry.created_by_id,
    ) == (
        town.services.unit_id,
        period.year,
        wei.id,
        "reward",
        Decimal("1500.50"),
        "获县级防汛表彰",
        zhou.id,
    )
    [audit] = await audits(town, "bonus.create")
    assert audit.reason == "获县级防汛表彰" and audit.entity_id == entry.id
    assert audit.new_value == {
        "year": period.year,
        "cadre_id": wei.id,
        "cadre": "卫红梅",
        "kind": "reward",
        "amount": "1500.50",
    }


async def test_deduct_in_english_with_list_and_undo(town: Any, texts: Any) -> None:
    clerk = await town.signup("周晓燕")
    await clerk.command("lang", "en")
    year = _today().year  # no month open: the current year
    await clerk.command("deduct")
    assert "Bonus deduction · year " + str(year) in clerk.last().text
    assert "Step 1/5" in clerk.last().text
    await clerk.press("综合治理办公室")
    await _pick(clerk, texts, "沈刚", lang="en")
    await clerk.send("-5")
    assert "⚠️ The amount must be more than 0." in clerk.last().text
    await clerk.send("80")
    await clerk.send("Absent from the flood-duty roster")
    assert "Step 5/5: confirm" in clerk.last().text and "Amount: 80.00 yuan" in clerk.last().text
    await clerk.press(texts.label("en", "office.confirm"))
    assert "✅ Recorded" in clerk.last().text

    await clerk.press(texts.label("en", "office.records_year", year=year, count=1))
    assert "1. 沈刚 · 80.00 yuan" in clerk.last().text
    await clerk.press(texts.label("en", "office.undo", n=1))
    await clerk.press(texts.label("en", "office.undo_yes"))
    assert "(undone)" in clerk.last().text
    [entry] = await _rows(town, BonusEntry)
    assert entry.kind == "deduction" and entry.year == year and entry.amount == Decimal("80.00")
    assert entry.undone_at is not None
    [undo] = await audits(town, "bonus.undo")
    assert undo.entity_id == entry.id and undo.old_value["amount"] == "80.00"

    # The reward list does not show deductions, nor may its buttons undo them.
    await clerk.command("reward")
    await clerk.press(texts.label("en", "office.records_year", year=year, count=0))
    assert "No records yet" in clerk.last().text
    token = _data(clerk, "new").split(":")[2]
    forged = await clerk.press_data(f"off:undo:{token}:{entry.id}")
    assert forged.show_alert and "can't be found" in (forged.text or "")


async def test_reward_survives_a_restart(town: Any, texts: Any, settings: Any, fake: Any) -> None:
    clerk = await town.signup("周晓燕")
    await _open(town)
    wu = (await town.cadre("吴磊")).id
    await clerk.command("reward")
    await clerk.press("党政办公室")
    await _pick(clerk, texts, "吴磊")
    assert "第 3/5 步：金额" in clerk.last().text
    await town.sim.__aexit__(None, None, None)

    app2 = build_application(settings, request=FakeRequest(fake), rate_limit=False)
    async with Simulator(app2, fake, via="processor") as sim2:
        again = sim2.user(clerk.id, "周晓燕")
        await again.send("300")
        assert "第 4/5 步：事由" in again.last().text and "人员：吴磊" in again.last().text
        await again.send("季度工作突出")
        await again.press(texts.label("zh", "office.confirm"))
        assert "✅ 已登记" in again.last().text
        async with app2.services.sessions() as session:
            [entry] = (await session.exec(select(BonusEntry))).all()
    assert (entry.amount, entry.reason, entry.cadre_id) == (Decimal("300.00"), "季度工作突出", wu)


# --- /status --------------------------------------------------------------------------------------


async def _submit(
    town: Any, period: Period, ratee: str, source: str, rater: str, state: str
) -> None:
    async with transaction(town.services.sessions) as session:
        ratee_id, rater_id = (await town.cadre(ratee)).id, (await town.cadre(rater)).id
        session.add(
            Rating(
                unit_id=town.services.unit_id,
                period_id=period.id,
                ratee_id=ratee_id,
                rater_id=rater_id,
                source=source,
                state=state,
                total=Decimal("88.0"),
                submitted_at=utcnow() if state == "submitted" else None,
            )
        )


async def _voted(town: Any, period: Period, *names: str) -> None:
    async with transaction(town.services.sessions) as session:
        for name in names:
            session.add(
                BallotParticipation(
                    unit_id=town.services.unit_id,
                    period_id=period.id,
                    rater_id=(await town.cadre(name)).id,
                    cast_on=_today(),
                )
            )


def _names(line: str, after: str) -> set[str]:
    return set(line.split(after, 1)[1].split("；")[0].split("（")[0].split("、"))


def _line(text: str, start: str) -> str:
    return next(line for line in text.split("\n") if line.startswith(start))


async def test_status_counts_first_and_names_one_tap_away(town: Any, texts: Any) -> None:
    clerk = await town.signup("周晓燕")
    period = await _open(town)
    for name in ("王芳", "冯超", "李明"):
        await _submit(town, period, name, "self", name, "submitted")
    await _submit(town, period, "吴磊", "self", "吴磊", "draft")  # a draft is not submitted
    await _submit(town, period, "王芳", "head", "郑海涛", "submitted")
    await _voted(town, period, "王芳", "吴磊")

    await clerk.command("status")
    home = clerk.last()
    deadline = texts.env.filters["when"](period.closes_at.astimezone(ZONE), "zh")
    assert f"{period.year}年{period.number}月 填报进度" in home.text
    assert f"截止 {deadline}" in home.text
    assert "全镇 12 人" in home.text and "自评已提交 3/12" in home.text
    assert "负责人评分 1/12" in home.text and "民主测评已投 2 票" in home.text
    assert "经济发展办公室：自评 2/3 · 评分 1/3" in home.text
    assert len(home.text.split("\n")) <= 15  # a phone's screen, names one tap away
    assert "王芳" not in home.text and "未投" not in home.text
    unsigned = 15 - 1  # the roster of 15, all but the clerk
    assert f"还有 {unsigned} 人没有登记" in home.text
    assert home.buttons[0] == ["党政办公室", "经济发展办公室"]

    await clerk.press("党政办公室")
    office = clerk.last()
    assert office.message_id == home.message_id  # the same message, edited
    assert _names(_line(office.text, "未开始："), "未开始：") == {"周晓燕"}
    assert _names(_line(office.text, "填了一部分："), "填了一部分：") == {"吴磊"}
    assert "赵建国 待评 李明" in office.text
    await clerk.press(texts.label("zh", "status.back"))
    await clerk.press("经济发展办公室")
    economy = clerk.last().text
    assert _names(_line(economy, "未开始："), "未开始：") == {"郑海涛"}
    assert "郑海涛 待评 冯超" in economy and "钱志强 待评 郑海涛" in economy
    # The ballot is secret while it runs: the unit's count of ballots, never who (not) voted.
    assert "民主测评" not in economy and "投" not in economy
    for grade in ("excellent", "good", "pass", "fail"):
        assert texts.label("zh", f"grade.{grade}") not in economy

    await clerk.press(texts.label("zh", "status.back"))
    await clerk.press(texts.label("zh", "status.unsigned", n=unsigned))
    listing = clerk.last()
    assert f"没有登记的 {unsigned} 人" in listing.text and "王芳（经济发展办公室）" in listing.text
    mark = clerk.mark()
    await clerk.press(texts.label("zh", "status.code", name="王芳", department="经济发展办公室"))
    [code] = clerk.inbox_since(mark)
    assert "王芳 的登记码" in code.text and "start=" in code.text


async def test_status_of_a_large_department_fits_telegram(town: Any) -> None:
    clerk = await town.signup("周晓燕")
    await _open(town)
    async with transaction(town.services.sessions) as session:
        department = Department(unit_id=town.services.unit_id, name="驻村工作队", position=99)
        session.add(department)
        await session.flush()
        names = [f"驻村队员第{i:03d}号同志" for i in range(150)]
        for name in names:
            session.add(
                Cadre(unit_id=town.services.unit_id, department_id=department.id, name=name)
            )
    await clerk.command("status")
    home = clerk.last()
    assert "全镇 162 人" in home.text and "驻村工作队：自评 0/150" in home.text
    await clerk.press("驻村工作队")
    view = clerk.last()
    assert len(view.text) <= 4096 and len(view.html or "") <= 4096
    assert "驻村队员第000号同志" in view.text


# --- an office record and the clerk's own self-score at once ------------------------------------


async def test_typed_answers_go_to_the_question_put_most_recently(town: Any, texts: Any) -> None:
    clerk = await town.signup("周晓燕")  # the office clerk is a cadre too
    period = await _open(town)
    await _to_date_step(clerk, texts)
    today = _today()
    await clerk.send(today.strftime("%m-%d"))
    note_step = clerk.last()
    assert "第 5/6 步：备注" in note_step.text  # the office record waits for its note...

    await clerk.command("selfscore")  # ...and she starts her own self-score
    assert "第 1/2 项：本职工作" in clerk.last().text
    await clerk.send("90")  # the score of her self-score, not the record's note
    assert "本项得分 90.0" in clerk.last().text  # on to its note
    assert {k: r.score for k, r in (await lines(town, "周晓燕")).items()} == {"duty": Decimal(90)}
    office = [m for m in clerk.messages() if "机关制度登记" in m.text]
    assert office[-1] == note_step  # untouched, and nothing new of the record's

    # /cancel leaves the self-score (asked last); the record's note is the question again.
    await clerk.command("cancel")
    assert clerk.last().text == texts.render("zh", "selfscore/cancelled")
    await clerk.send("晨会迟到")
    assert "第 6/6 步：确认" in clerk.last().text and "备注：晨会迟到" in clerk.last().text
    await clerk.press(texts.label("zh", "office.confirm"))
    [record] = await _rows(town, DisciplineRecord)
    assert (record.period_id, record.note) == (period.id, "晨会迟到")
    assert set(await lines(town, "周晓燕")) == {"duty"}  # the note went nowhere else

    # Both ended: a typed message is nobody's answer.
    await clerk.send("85")
    assert clerk.last().text == texts.render("zh", "basics/unknown")
    assert {k: r.score for k, r in (await lines(town, "周晓燕")).items()} == {"duty": Decimal(90)}


async def test_cancel_leaves_the_office_record_asked_last(town: Any, texts: Any) -> None:
    clerk = await town.signup("周晓燕")
    await _open(town)
    await clerk.command("selfscore")
    assert "第 1/2 项：本职工作" in clerk.last().text
    await _to_date_step(clerk, texts)  # the record's date is asked after the self-score's score
    await clerk.send("88")
    assert "⚠️ 没有这一天" in clerk.last().text  # the date it was asked, refused
    assert await lines(town, "周晓燕") == {}
    await clerk.command("cancel")
    assert "已退出机关制度登记" in clerk.last().text
    await clerk.send("88")  # the self-score's question is open again
    assert {k: r.score for k, r in (await lines(town, "周晓燕")).items()} == {"duty": Decimal(88)}
    assert await _rows(town, DisciplineRecord) == []


# --- several people at once, where a record counts, and telling the person -----------------------


async def _outbox(town: Any) -> list[OutboxMessage]:
    return await _rows(town, OutboxMessage)


async def test_absentees_of_one_meeting_are_ticked_together_one_record_each(
    town: Any, texts: Any
) -> None:
    clerk = await town.signup("周晓燕")
    period = await _open(town)
    today = _today()
    await clerk.command("discipline")
    await clerk.press("经济发展办公室")
    nobody = await clerk.press(texts.label("zh", "office.onward", n=0))
    assert nobody.show_alert and nobody.text == texts.render(
        "zh", "office/alert", reason="nobody_picked"
    )
    await clerk.press("王芳")
    await clerk.press("冯超")
    await clerk.press("郑海涛")
    await clerk.press(texts.label("zh", "office.picked", name="郑海涛"))  # and unticked again
    shown = clerk.last()
    assert "第 2/6 步" in shown.text and "已选 2 人：王芳、冯超" in shown.text
    assert shown.labels[:3] == [
        "郑海涛",
        texts.label("zh", "office.picked", name="王芳"),
        texts.label("zh", "office.picked", name="冯超"),
    ]
    # Someone of another department too: the ticks stay while another department is shown.
    await clerk.press(texts.label("zh", "office.departments"))
    assert "已选 2 人" in clerk.last().text
    await clerk.press("党政办公室")
    await clerk.press("吴磊")
    await clerk.press(texts.label("zh", "office.onward", n=3))
    assert "第 3/6 步" in clerk.last().text
    await clerk.press(texts.label("zh", "office.violation", title="无故缺席会议", points="3"))
    await clerk.press(texts.label("zh", "office.today", day=today.strftime("%m-%d")))
    await clerk.send("镇村干部大会缺席")
    confirm = clerk.last()
    assert "第 6/6 步：确认" in confirm.text
    people = "王芳（经济发展办公室）、冯超（经济发展办公室）、吴磊（党政办公室）"
    assert f"人员：{people}" in confirm.text
    assert "3 人，每人一条记录" in confirm.text
    await clerk.press(texts.label("zh", "office.confirm"))
    assert "✅ 已登记 3 条" in clerk.last().text

    records = await _rows(town, DisciplineRecord)
    ids = {name: (await town.cadre(name)).id for name in ("王芳", "冯超", "吴磊")}
    assert sorted(r.cadre_id for r in records) == sorted(ids.values())
    assert {(r.period_id, r.violation_key, r.deduction, r.note) for r in records} == {
        (period.id, "missed_meeting", Decimal("3"), "镇村干部大会缺席")
    }
    assert len({r.draft_token for r in records}) == 1
    assert len(await audits(town, "discipline.create")) == 3
    await clerk.press(texts.label("zh", "office.records_month", count=3))
    assert "共 3 条" in clerk.last().text


async def test_a_date_in_the_next_month_says_which_month_it_counts_in(
    town: Any, texts: Any
) -> None:
    clerk = await town.signup("周晓燕")
    wang = await town.signup("王芳")
    today = _today()
    # The window of the month before is still open today (its deadline is days away): a
    # lateness dated today lies in this month, whose appraisal has not opened.
    before = today.replace(day=1) - timedelta(days=1)
    period = await town.open_month(before.year, before.month)
    await clerk.command("discipline")
    await clerk.press("经济发展办公室")
    await _pick(clerk, texts, "王芳")
    await clerk.press(texts.label("zh", "office.violation", title="迟到", points="2"))
    date_step = clerk.last().text
    assert "计入哪个月" in date_step and f"计入现在正在进行的 {before.month} 月考核" in date_step
    await clerk.press(texts.label("zh", "office.today", day=today.strftime("%m-%d")))
    await clerk.press(texts.label("zh", "office.skip"))
    confirm = clerk.last().text
    said = (
        f"{today:%m-%d} 在 {today.month} 月，但 {today.month} 月的考核还没有开始；"
        f"按规则，这条记录计入现在正在进行的 {before.year} 年 {before.month} 月考核"
    )
    assert said in confirm
    assert f"将计入 {before.year} 年 {before.month} 月的机关制度得分" in confirm
    await clerk.press(texts.label("zh", "office.confirm"))
    assert said in clerk.last().text
    [record] = await _rows(town, DisciplineRecord)
    assert (record.period_id, record.occurred_on) == (period.id, today)

    # 王芳 hears of it, privately: what, when, and the month it counts in.
    await town.app.sender.flush()
    notice = wang.last().text
    assert f"计入 {before.year}年{before.month}月的机关制度得分" in notice
    assert "事项：迟到（扣 2 分）" in notice and f"日期：{today.isoformat()}" in notice
    assert f"按规则计入正在进行的 {before.month} 月考核" in notice


async def test_the_person_is_told_privately_of_a_record_and_of_its_undo(
    town: Any, texts: Any
) -> None:
    clerk = await town.signup("周晓燕")
    wang = await town.signup("王芳")
    shen = await town.signup("沈刚")
    await shen.command("lang", "en")
    period = await _open(town)
    today = _today()
    await _to_date_step(clerk, texts)
    await clerk.send(today.strftime("%m-%d"))
    await clerk.send("晨会迟到 <20> 分钟")
    mark = wang.mark()  # the sender runs by itself: it may deliver before the test looks
    await clerk.press(texts.label("zh", "office.confirm"))
    [record] = await _rows(town, DisciplineRecord)
    [row] = await _outbox(town)
    assert (row.kind, row.chat_id, row.cadre_id, row.period_id) == (
        "office",
        wang.chat_id,
        record.cadre_id,
        period.id,
    )
    await town.app.sender.flush()
    [notice] = wang.inbox_since(mark)
    assert notice.text.startswith("王芳，您好。党政办登记了您的一条机关制度记录")
    assert "事项：迟到（扣 2 分）" in notice.text and "备注：晨会迟到 <20> 分钟" in notice.text
    assert "&lt;20&gt;" in (notice.html or "")

    # A deduction: its reason, in the person's language. A reward is not announced.
    mark = shen.mark()
    await clerk.command("deduct")
    await clerk.press("综合治理办公室")
    await _pick(clerk, texts, "沈刚")
    await clerk.send("300")
    reason_step = clerk.last().text
    assert "获县级表彰" not in reason_step and "擅离岗位" in reason_step  # a deduction's example
    await clerk.send("防汛值班脱岗")
    await clerk.press(texts.label("zh", "office.confirm"))
    await clerk.command("reward")
    await clerk.press("综合治理办公室")
    await _pick(clerk, texts, "沈刚")
    await clerk.send("500")
    assert "获县级表彰" in clerk.last().text
    await clerk.send("获县级表彰")
    await clerk.press(texts.label("zh", "office.confirm"))
    await town.app.sender.flush()
    [told] = shen.inbox_since(mark)
    assert told.text.startswith("Dear 沈刚, the office recorded a deduction of yours")
    assert "Amount: 300.00 yuan" in told.text and "Reason: 防汛值班脱岗" in told.text
    assert len(await _outbox(town)) == 2

    # Undoing the discipline record tells 王芳 it no longer counts; undoing twice tells once.
    await clerk.command("discipline")
    await clerk.press(texts.label("zh", "office.records_month", count=1))
    await clerk.press(texts.label("zh", "office.undo", n=1))
    yes = _data(clerk, "yes")
    mark = wang.mark()
    await clerk.press(texts.label("zh", "office.undo_yes"))
    await clerk.press_data(yes)
    await town.app.sender.flush()
    [undone] = wang.inbox_since(mark)
    assert "撤销" in undone.text and "不再扣分" in undone.text and "迟到" in undone.text
    assert len(await _outbox(town)) == 3


async def test_a_retried_confirmation_tells_the_person_once_and_the_unsigned_not_at_all(
    town: Any, texts: Any, fake: Any
) -> None:
    clerk = await town.signup("周晓燕")
    await town.signup("吴磊")
    await _open(town)
    await clerk.command("deduct")
    await clerk.press("党政办公室")
    await _pick(clerk, texts, "吴磊")
    await clerk.send("200")
    await clerk.send("考勤弄虚作假")
    confirm = clerk.last()
    data = _data(clerk, "ok")
    fake.fail_next("editMessageText", 400, "Bad Request: message can't be edited")
    await clerk.press_data(data, message_id=confirm.message_id)
    await clerk.press_data(data, message_id=confirm.message_id)
    assert len(await _rows(town, BonusEntry)) == 1
    assert len(await _outbox(town)) == 1

    await clerk.command("deduct")
    await clerk.press("经济发展办公室")
    await _pick(clerk, texts, "冯超")  # never signed up: cannot be messaged
    await clerk.send("100")
    await clerk.send("迟报统计数据")
    await clerk.press(texts.label("zh", "office.confirm"))
    assert len(await _rows(town, BonusEntry)) == 2
    assert len(await _outbox(town)) == 1


async def test_every_row_of_buttons_fits_a_small_phone(town: Any, texts: Any) -> None:
    from bot.chat.keyboards import row_fits

    clerk = await town.signup("周晓燕")
    await _open(town)
    long_name = "社会治安综合治理中心办公室"
    async with transaction(town.services.sessions) as session:
        department = Department(unit_id=town.services.unit_id, name=long_name, position=9)
        session.add(department)
        await session.flush()
        session.add(
            Cadre(
                unit_id=town.services.unit_id,
                department_id=department.id,
                name="阿依古丽·买买提",
                roles="cadre",
            )
        )
    await clerk.command("discipline")
    screens = [clerk.last()]
    await clerk.press(long_name)
    screens.append(clerk.last())
    await clerk.press("阿依古丽·买买提")
    screens.append(clerk.last())
    await clerk.press(texts.label("zh", "office.onward", n=1))
    screens.append(clerk.last())
    for screen in screens:
        for row in screen.buttons:
            assert row_fits(row), row
    [department_row] = [row for row in screens[0].buttons if long_name in row]
    assert department_row == [long_name]  # a long name on a row of its own
    assert any(len(row) == 2 for row in screens[0].buttons)  # short ones two a row
