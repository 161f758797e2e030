"""Head ratings end to end: /rate with inline buttons on one message, on both backends."""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

from sqlmodel import select

from bot.appraisal import ratings
from bot.emulator.telegram import html_to_text
from bot.rules.roles import Role
from storage.engine import transaction
from storage.models import Cadre, Period, PeriodState
from storage.queries import ratings as ratings_q
from storage.queries.roster import assessed_cadres
from tests.harness.appraisal import (
    SUBMIT,
    L,
    add_targets,
    answer_all,
    audits,
    close_period,
    item,
    person,
    quantified_scheme,
    rating_lines,
    rating_of,
    submit_self,
)
from tests.harness.phone import PHONE_TEXT_LINES, phone_lines, screen_lines

ROOT = Path(__file__).resolve().parents[2]
head_rating = partial(rating_of, source="head")
head_lines = partial(rating_lines, source="head")


# --- the head's flow ------------------------------------------------------------------------


async def test_head_rates_a_cadre_by_buttons_on_one_message_and_typed_scores_below(
    town: Any, texts: Any, fake: Any
) -> None:
    await town.open_month(2026, 11)
    wang = await town.signup("王芳")
    await wang.command("selfscore")
    await wang.send("85")
    await wang.send_photo(file_id="wang-photo", caption="完成入户核查 32 户")
    await answer_all(wang, ["90", "跳过", "87.5", "跳过"])
    await wang.press(SUBMIT)

    head = await town.signup("郑海涛")  # head of 经济发展办公室
    await head.command("rate")
    board = head.last()
    assert "2026年11月考评打分" in board.text and "本部门：" in board.text
    assert "⏳ 冯超 — 等待自评" in board.text and "✏️ 王芳 — 自评已交，待评分" in board.text
    assert board.labels == [person(texts, "todo", "王芳"), person(texts, "wait", "冯超")]
    assert "郑海涛" not in board.text  # never themselves
    mark = head.mark()
    calls = len(fake.calls)

    answer = await head.press(person(texts, "todo", "王芳"))
    assert answer.answered and not answer.show_alert
    card = head.last()
    assert card.message_id == board.message_id and card.edit_count == 1
    assert card.text.startswith("王芳 · 经济发展办公室 · 蹲点杨柳村")
    assert "第 1/2 位 · 自评已交，合计 86.0" in card.text
    assert "1. 本职工作：85.0 📎" in card.text and "说明：完成入户核查 32 户" in card.text
    assert card.buttons == [
        [item(texts, "本职工作"), L(texts, "rate.evidence")],
        [item(texts, "中心工作")],
        [item(texts, "蹲点村党建行政和经济工作")],
        [L(texts, "rate.back_list")],
    ]
    methods = [c.method.lower() for c in fake.calls[calls:]]
    assert methods.index("answercallbackquery") < methods.index("editmessagetext")

    await head.press(item(texts, "本职工作"))
    view = head.last()
    assert view.text.startswith("第 1/3 项：本职工作（权重 70）\n评分对象：王芳")
    assert "刚记下" not in view.text
    assert view.buttons == [
        ["95", "90", "85", "80"],
        ["75", "70", "60"],
        [L(texts, "rate.same_self", value="85.0"), L(texts, "rate.type")],
        [L(texts, "rate.back_person", name="王芳")],
    ]
    answer = await head.press("90")
    # The press is answered with the item and the score, and the next item says so first.
    assert answer.text == texts.render_plain(
        "zh", "rating/scored_short", name="王芳", title="本职工作", target=None, score=90
    )
    assert "本职工作" in answer.text and "90" in answer.text and not answer.show_alert
    view = head.last()  # straight on to the next item still to rate
    assert view.text.startswith(
        "第 2/3 项：中心工作（权重 10）\n评分对象：王芳\n✓ 刚记下：本职工作 90.0 分"
    )
    assert "<b>第 2/3 项：中心工作</b>" in (view.html or "")
    answer = await head.press(L(texts, "rate.same_self", value="90.0"))
    assert "中心工作" in (answer.text or "") and "90.0" in (answer.text or "")
    assert head.last().text.startswith("第 3/3 项：蹲点村党建行政和经济工作")
    await head.press(L(texts, "rate.back_person", name="王芳"))  # Back without scoring
    assert "还有 1 项未评" in head.last().text
    assert head.last().labels[:3] == [
        item(texts, "本职工作", "90.0"),
        L(texts, "rate.evidence"),
        item(texts, "中心工作", "90.0"),
    ]
    await head.press(item(texts, "蹲点村党建行政和经济工作"))
    await head.press(L(texts, "rate.type"))
    assert "请在聊天框输入分数" in head.last().text
    assert head.last().buttons == [
        [L(texts, "rate.cancel_typing")],
        [L(texts, "rate.back_person", name="王芳")],
    ]
    assert head.inbox_since(mark) == []  # all of it in the one message

    await head.send("高")
    refusal = head.last()
    assert refusal.message_id != board.message_id
    assert "这不是一个数字" in refusal.text and "王芳 · 蹲点村党建行政和经济工作" in refusal.text
    await head.send("100.5")
    assert "分数必须在 0 到 100 之间" in head.last().text
    await head.send("88.55")
    assert "最多只能有一位小数" in head.last().text
    await head.send_sticker()
    assert "这里需要输入一个数字" in head.last().text
    assert set(await head_lines(town, "王芳")) == {"duty", "central"}
    await head.send("88.5")
    # The typed score is confirmed where the head is looking: a new message at the bottom,
    # which carries the buttons from now on; the message far up keeps its text only.
    card = head.last()
    assert card.message_id != board.message_id and card.edit_count == 0
    assert card.text.startswith("王芳 · 经济发展办公室")
    assert "✓ 刚记下：蹲点村党建行政和经济工作 88.5 分" in card.text
    assert item(texts, "蹲点村党建行政和经济工作", "88.5") in card.labels
    # 90 × 70 + 90 × 10 + 88.5 × 20 = 8970 → 89.7
    confirm = L(texts, "rate.confirm", total="89.7")
    assert [confirm] in card.buttons
    old = next(m for m in head.messages() if m.message_id == board.message_id)
    assert old.buttons == [] and "请在聊天框输入分数" in old.text
    assert len(head.inbox_since(mark)) == 5  # the four refusals and the confirmation

    answer = await head.press(confirm, message=card.message_id)
    assert answer.text == texts.render(
        "zh", "rating/submitted_short", name="王芳", sheet=_Total("89.7")
    )
    card = next(m for m in head.messages() if m.message_id == card.message_id)
    assert "✅ 已提交，合计 89.7" in card.text and [confirm] not in card.buttons
    rating = await head_rating(town, "王芳")
    zheng = await town.cadre("郑海涛")
    assert rating is not None
    assert (rating.state, rating.total, rating.rater_id) == ("submitted", Decimal("89.7"), zheng.id)
    assert {k: v.score for k, v in (await head_lines(town, "王芳")).items()} == {
        "duty": Decimal(90),
        "central": Decimal(90),
        "village": Decimal("88.5"),
    }

    await head.press(L(texts, "rate.back_list"), message=card.message_id)
    board = next(m for m in head.messages() if m.message_id == card.message_id)
    assert board.labels == [person(texts, "done", "王芳"), person(texts, "wait", "冯超")]
    assert "✅ 王芳 — 已评 89.7" in board.text and "还有 1 位待评" in board.text
    assert len(head.inbox_since(mark)) == 5


class _Total:
    """Stands in for a sheet in a short template that only reads ``sheet.total.score``."""

    def __init__(self, value: str) -> None:
        self.total = type("T", (), {"score": Decimal(value)})()


async def test_evidence_is_sent_on_request(town: Any, texts: Any, fake: Any) -> None:
    period = await town.open_month(2026, 11)
    fake.register_file("photo", file_id="wang-photo")  # as 王芳 sent them with her self-score
    fake.register_file("document", file_id="wang-doc", file_name="台账.xlsx")
    await submit_self(
        town,
        period,
        "王芳",
        {"duty": "85", "central": "90", "village": "80"},
        evidence={"duty": ("wang-photo", "photo"), "village": ("wang-doc", "document")},
        notes={"village": "村集体经济台账"},
    )
    head = await town.signup("郑海涛")
    await head.command("rate")
    await head.press(person(texts, "todo", "王芳"))
    card = head.last()
    assert card.buttons[0][1] == L(texts, "rate.evidence")
    await head.press(L(texts, "rate.evidence"), message=card.message_id)
    photo = head.last()
    assert photo.photo == "wang-photo" and "王芳 · 本职工作" in photo.text
    evidence_buttons = [d for d in card.callback_data if d.startswith("rate:ev:")]
    assert len(evidence_buttons) == 2
    await head.press_data(evidence_buttons[1], message_id=card.message_id)
    document = head.last()
    assert document.document == "wang-doc" and "说明：村集体经济台账" in document.text
    assert [c.params["photo"] for c in fake.calls_to("sendPhoto")] == ["wang-photo"]
    no_evidence = evidence_buttons[0].replace(":duty", ":central")
    answer = await head.press_data(no_evidence, message_id=card.message_id)
    assert answer.show_alert and answer.text == texts.render("zh", "rating/no_evidence_short")

    fake.files.pop("wang-photo")  # a file Telegram no longer has
    mark = head.mark()
    await head.press_data(evidence_buttons[0], message_id=card.message_id)
    assert [m.text for m in head.inbox_since(mark)] == [
        html_to_text(texts.render("zh", "rating/evidence_gone"))
    ]


async def test_head_may_rate_before_the_self_score_arrives(town: Any, texts: Any) -> None:
    period = await town.open_month(2026, 11)
    head = await town.signup("郑海涛")
    await head.command("rate")
    await head.press(person(texts, "wait", "冯超"))
    assert "⏳ 还没交自评，可以先评" in head.last().text
    await head.press(item(texts, "本职工作"))
    assert L(texts, "rate.same_self", value="85.0") not in head.last().labels
    assert head.last().labels[-2:] == [
        L(texts, "rate.type"),
        L(texts, "rate.back_person", name="冯超"),
    ]
    forged = next(d for d in head.last().callback_data if d.startswith("rate:s:")).rsplit(":", 1)
    answer = await head.press_data(forged[0] + ":self")
    assert answer.show_alert and answer.text == texts.render("zh", "rating/no_self_short")
    await head.press("85")
    await head.press("80")
    card = head.last()
    assert [L(texts, "rate.confirm", total="84.5")] in card.buttons
    await head.press(L(texts, "rate.confirm", total="84.5"))
    rating = await head_rating(town, "冯超")
    assert rating is not None and rating.state == "submitted"

    await submit_self(town, period, "冯超", {"duty": "90", "central": "90"})
    await head.press(L(texts, "rate.back_list"))
    assert "✅ 冯超 — 已评 84.5" in head.last().text
    await head.press(person(texts, "done", "冯超"))
    assert "自评已交，合计 90.0" in head.last().text  # shown once it arrives


async def test_quantified_item_same_as_reported_or_typed(town: Any, texts: Any) -> None:
    period = await town.open_month(2026, 11, scheme=quantified_scheme())
    await add_targets(town, "冯超")
    await submit_self(town, period, "冯超", {"central": "85"}, actuals={"T1": "13", "T2": "3"})
    head = await town.signup("郑海涛")
    await head.command("rate")
    await head.press(person(texts, "todo", "冯超"))
    await head.press(item(texts, "本职工作"))
    view = head.last()
    # November is compared with its share of the year: 120 户 ÷ 12 = 10, 40 份 ÷ 12 = 3.33.
    assert "T1 农户信息核查：本月目标 10户（全年 120）" in view.text
    assert "上报：13户 · 您确认：未确认" in view.text
    assert view.buttons == [
        [
            L(texts, "rate.same_reported", code="T1", value="13"),
            L(texts, "rate.type_actual", code="T1"),
        ],
        [
            L(texts, "rate.same_reported", code="T2", value="3"),
            L(texts, "rate.type_actual", code="T2"),
        ],
        [L(texts, "rate.back_person", name="冯超")],
    ]
    await head.press(L(texts, "rate.same_reported", code="T1", value="13"))
    assert "上报：13户 · 您确认：13户" in head.last().text
    await head.press(L(texts, "rate.type_actual", code="T2"))
    assert "T2 的实际完成数（单位：份）" in head.last().text
    await head.send("-2")
    assert "实际完成数不能小于 0" in head.last().text
    await head.send("2")
    typed = head.last()  # confirmed below, on the same item
    assert typed.message_id != view.message_id and "✓ 刚记下：本职工作 T2 2份" in typed.text
    assert "上报：3份 · 您确认：2份" in typed.text
    assert "按您确认的数，本项得分：84.0" in typed.text  # (60 × 100 + 40 × 60) / 100
    await head.press(L(texts, "rate.back_person", name="冯超"), message=typed.message_id)
    await head.press(item(texts, "中心工作"))
    await head.press("80")
    # T1 100, T2 2/(40/12) = 60: (60 × 100 + 40 × 60) / 100 = 84; total 0.9 × 84 + 0.1 × 80
    await head.press(L(texts, "rate.confirm", total="83.6"))
    rating = await head_rating(town, "冯超")
    assert rating is not None and rating.total == Decimal("83.6")
    lines = await head_lines(town, "冯超")
    assert (lines["duty.T1"].actual, lines["duty.T2"].actual) == (Decimal(13), Decimal(2))


# --- on a phone ------------------------------------------------------------------------------


async def test_every_score_press_is_answered_with_the_item_and_the_score(
    town: Any, texts: Any
) -> None:
    period = await town.open_month(2026, 11)
    await submit_self(town, period, "王芳", {"duty": "85", "central": "90", "village": "80"})
    head = await town.signup("郑海涛")
    await head.command("rate")
    await head.press(person(texts, "todo", "王芳"))
    await head.press(item(texts, "本职工作"))

    def toast(title: str, score: str) -> str:
        return texts.render_plain(
            "zh",
            "rating/scored_short",
            name="王芳",
            title=title,
            target=None,
            score=Decimal(score),
        )

    # The same spot tapped twice: two items scored, and each answer says which.
    first = await head.press("85")
    assert head.last().text.startswith("第 2/3 项：中心工作")
    second = await head.press("85")
    assert (first.text, second.text) == (toast("本职工作", "85"), toast("中心工作", "85"))
    assert not first.show_alert and not second.show_alert
    card = head.last()  # the last item leads back to the person, saying what was recorded
    assert card.text.startswith("第 3/3 项：蹲点村党建行政和经济工作")
    third = await head.press(L(texts, "rate.same_self", value="80.0"))
    assert third.text == toast("蹲点村党建行政和经济工作", "80")
    assert "✓ 刚记下：蹲点村党建行政和经济工作 80.0 分" in head.last().text
    assert [L(texts, "rate.confirm", total="84.0")] in head.last().buttons
    # A press that scores nothing (a person, an item) answers without a toast.
    opened = await head.press(item(texts, "中心工作", "85.0"))
    assert opened.answered and not opened.text


async def test_a_typed_score_with_a_unit_or_in_chinese_numerals(town: Any, texts: Any) -> None:
    period = await town.open_month(2026, 11)
    await submit_self(town, period, "冯超", {"duty": "85", "central": "90"})
    head = await town.signup("郑海涛")
    await head.command("rate")
    await head.press(person(texts, "todo", "冯超"))
    await head.press(item(texts, "本职工作"))
    await head.press(L(texts, "rate.type"))
    await head.send("八五")
    assert "这个中文数字读不准" in head.last().text
    await head.send("八十八分")
    assert (await head_lines(town, "冯超"))["duty"].score == Decimal(88)
    assert "✓ 刚记下：本职工作 88.0 分" in head.last().text
    await head.press(L(texts, "rate.type"))
    await head.send("９２ 分")
    assert (await head_lines(town, "冯超"))["central"].score == Decimal(92)


async def test_the_person_screen_fits_a_phone_for_everyone_of_the_example_town(
    town: Any, texts: Any
) -> None:
    """Every rater of the example town, every person they rate, each with a self-score as long
    as it can be: every item with the longest note and evidence. The person screen's text takes
    at most ~15 lines of a small phone, and with its buttons it is read without scrolling."""
    period = await town.open_month(2026, 11)
    note = "完成入户核查，整理台账，协助开展秋季防火宣传。" * 25
    async with town.services.sessions() as session:
        assessed = await assessed_cadres(session=session, unit_id=town.services.unit_id)
    for cadre in assessed:
        items = ["duty", "central", "village"] if cadre.village else ["duty", "central"]
        await submit_self(
            town,
            period,
            cadre.name,
            dict.fromkeys(items, "85"),
            notes=dict.fromkeys(items, note[:500]),
            evidence={key: (f"{cadre.name}-{key}", "photo") for key in items},
        )
    raters = ["李明", "郑海涛", "陈静", "蒋伟", "赵建国", "钱志强", "孙丽华"]
    sizes: dict[tuple[str, str], tuple[int, int]] = {}
    for rater in raters:
        user = await town.signup(rater)
        await user.command("rate")
        board = user.last()
        for label in board.labels:
            await user.press(label, message=board.message_id)
            screen = user.last()
            sizes[(rater, label)] = (phone_lines(screen.text), screen_lines(screen))
            await user.press(L(texts, "rate.back_list"), message=board.message_id)
    assert len(sizes) == len(assessed)  # everyone assessed has a rater, and only one
    largest = max(sizes.values())
    assert largest[0] <= PHONE_TEXT_LINES, sizes
    assert max(screen for _, screen in sizes.values()) <= 25, sizes

    # The largest of them once every item is scored: the line saying what was just recorded
    # and the Confirm button come in, and it still fits.
    head = town.person("陈静")
    await head.command("rate")
    await head.press(person(texts, "todo", "褚文斌"))
    await head.press(item(texts, "本职工作"))
    for _ in range(3):
        await head.press("90")
    done = head.last()
    assert "✓ 刚记下" in done.text and [L(texts, "rate.confirm", total="90.0")] in done.buttons
    assert phone_lines(done.text) <= PHONE_TEXT_LINES and screen_lines(done) <= 25, done.text
    # The item's own screen shows the note whole; the person's cuts it to a line.
    notes = [line for line in done.text.split("\n") if "说明：完成入户核查" in line]
    assert len(notes) == 3 and all(phone_lines(line) == 1 for line in notes), notes


# --- server-side checks ---------------------------------------------------------------------


async def test_foreign_and_forged_presses_are_refused_and_change_nothing(
    town: Any, texts: Any
) -> None:
    period = await town.open_month(2026, 11)
    await submit_self(town, period, "王芳", {"duty": "85", "central": "90", "village": "80"})
    wang = await town.cadre("王芳")
    other_head = await town.signup("陈静")  # head of 社会事务办公室
    await other_head.command("rate")
    board = other_head.last()
    assert "王芳" not in board.text
    foreign = [
        f"rate:p:{period.id}:{wang.id}",
        f"rate:i:{period.id}:{wang.id}:duty",
        f"rate:s:{period.id}:{wang.id}:duty:95",
        f"rate:s:{period.id}:{wang.id}:duty:self",
        f"rate:t:{period.id}:{wang.id}:duty",
        f"rate:ok:{period.id}:{wang.id}",
    ]
    for data in foreign:
        mark = other_head.mark()
        answer = await other_head.press_data(data, message_id=board.message_id)
        assert answer.show_alert, data
        assert answer.text == texts.render("zh", "rating/foreign_short"), data
        assert other_head.changed_since(mark) == [], data
    chen = await town.cadre("陈静")
    own = await other_head.press_data(f"rate:p:{period.id}:{chen.id}")  # never themselves
    assert own.show_alert and own.text == texts.render("zh", "rating/foreign_short")
    assert await head_rating(town, "王芳") is None
    assert other_head.last().message_id == board.message_id
    assert next(m for m in other_head.messages()).edit_count == 0

    head = await town.signup("郑海涛")  # 王芳's own head, pressing buttons nobody built
    for data in (
        f"rate:s:{period.id}:{wang.id}:duty:99",  # not a score the buttons offer
        f"rate:s:{period.id}:{wang.id}:duty:not-a-score",
        f"rate:s:{period.id}:{wang.id}:nosuchitem:95",
        f"rate:ts:{period.id}:{wang.id}:duty:12345",  # no such target
        f"rate:zz:{period.id}",
        "rate:s:x:y",
        "rate:p",
    ):
        answer = await head.press_data(data)
        assert answer.show_alert, data
        assert answer.text == texts.render("zh", "access/stale_short"), data
    cadre = await town.signup("冯超")  # not a head: may not rate at all
    answer = await cadre.press_data(f"rate:s:{period.id}:{wang.id}:duty:95")
    assert answer.show_alert and answer.text == texts.render("zh", "access/not_allowed_short")
    await cadre.command("rate")
    assert "只对" in cadre.last().text
    assert await head_rating(town, "王芳") is None


async def test_stale_press_after_the_period_closed(town: Any, texts: Any) -> None:
    period = await town.open_month(2026, 11)
    await submit_self(town, period, "王芳", {"duty": "85", "central": "90", "village": "80"})
    head = await town.signup("郑海涛")
    await head.command("rate")
    await head.press(person(texts, "todo", "王芳"))
    await head.press(item(texts, "本职工作"))
    await head.press(L(texts, "rate.type"))
    card = head.last()
    await close_period(town, period)

    mark = head.mark()
    answer = await head.press(L(texts, "rate.back_person", name="王芳"), message=card.message_id)
    assert answer.show_alert and answer.text == texts.render("zh", "rating/closed_short")
    assert head.changed_since(mark) == []
    await head.send("90")  # the typed figure comes in late
    assert head.last().text == html_to_text(texts.render("zh", "rating/closed"))
    assert await head_rating(town, "王芳") is None
    await head.command("rate")
    assert "的填报已经结束" in head.last().text  # as /selfscore and /vote say it


async def test_double_tap_on_confirm_submits_once(town: Any, texts: Any) -> None:
    period = await town.open_month(2026, 11)
    await submit_self(town, period, "冯超", {"duty": "85", "central": "90"})
    head = await town.signup("郑海涛")
    await head.command("rate")
    await head.press(person(texts, "todo", "冯超"))
    await head.press(item(texts, "本职工作"))
    await head.press(L(texts, "rate.same_self", value="85.0"))
    await head.press("90")
    await head.press(item(texts, "中心工作", "90.0"))
    await head.press(L(texts, "rate.chosen", value="90"))  # the same score again: nothing new
    card = head.last()
    confirm = next(d for d in card.callback_data if d.startswith("rate:ok:"))
    first = await head.press_data(confirm, message_id=card.message_id)
    submitted = await head_rating(town, "冯超")
    second = await head.press_data(confirm, message_id=card.message_id)
    assert first.text and "85.5" in first.text
    assert second.answered and not second.show_alert
    assert second.text == texts.render("zh", "rating/already_short", name="冯超")
    again = await head_rating(town, "冯超")
    assert submitted is not None and again is not None
    assert (again.submitted_at, again.total) == (submitted.submitted_at, Decimal("85.5"))
    assert await audits(town, "rating.change") == []


async def test_change_after_confirm_is_audited(town: Any, texts: Any) -> None:
    period = await town.open_month(2026, 11)
    await submit_self(town, period, "冯超", {"duty": "85", "central": "90"})
    head = await town.signup("郑海涛")
    await head.command("rate")
    await head.press(person(texts, "todo", "冯超"))
    await head.press(item(texts, "本职工作"))
    await head.press("85")
    await head.press("90")  # the score leads on to 中心工作
    await head.press(L(texts, "rate.confirm", total="85.5"))
    await head.press(item(texts, "中心工作", "90.0"))
    await head.press("70")
    assert "✅ 已提交，合计 83.5" in head.last().text
    rating = await head_rating(town, "冯超")
    assert rating is not None and (rating.state, rating.total) == ("submitted", Decimal("83.5"))
    (change,) = await audits(town, "rating.change")
    zheng = await town.cadre("郑海涛")
    assert (change.actor, change.actor_cadre_id, change.entity_id) == (
        "郑海涛",
        zheng.id,
        rating.id,
    )
    assert change.old_value["line_key"] == "central"
    assert (change.old_value["score"], change.new_value["score"]) == ("90", "70")
    assert (change.old_value["total"], change.new_value["total"]) == ("85.5", "83.5")


async def test_leader_rates_the_heads_they_supervise(town: Any, texts: Any) -> None:
    period = await town.open_month(2026, 11)
    await submit_self(town, period, "郑海涛", {"duty": "90", "central": "90"})
    mayor = await town.signup("钱志强")  # supervises 郑海涛 and 陈静
    await mayor.command("rate")
    board = mayor.last()
    assert "分管的部门负责人：" in board.text and "本部门：" not in board.text
    assert board.labels == [person(texts, "todo", "郑海涛"), person(texts, "wait", "陈静")]
    await mayor.press(person(texts, "todo", "郑海涛"))
    await mayor.press(item(texts, "本职工作"))
    for title in ("本职工作", "中心工作"):
        assert f"项：{title}（权重" in mayor.last().text and "评分对象：郑海涛" in mayor.last().text
        await mayor.press(L(texts, "rate.same_self", value="90.0"))
    await mayor.press(L(texts, "rate.confirm", total="90.0"))
    rating = await head_rating(town, "郑海涛")
    assert rating is not None and rating.state == "submitted"
    assert rating.rater_id == (await town.cadre("钱志强")).id

    head = await town.signup("郑海涛")
    await head.command("rate")
    assert "郑海涛" not in head.last().text  # a head does not rate themselves
    other_leader = await town.signup("孙丽华")  # supervises 蒋伟 only
    await other_leader.command("rate")
    assert other_leader.last().labels == [person(texts, "wait", "蒋伟")]
    zheng = await town.cadre("郑海涛")
    answer = await other_leader.press_data(f"rate:p:{period.id}:{zheng.id}")
    assert answer.show_alert and answer.text == texts.render("zh", "rating/foreign_short")


async def test_person_who_is_head_and_leader_sees_both_lists(town: Any, texts: Any) -> None:
    await town.open_month(2026, 11)
    async with town.services.sessions() as session:
        li = (await session.exec(select(Cadre).where(Cadre.name == "李明"))).one()
        jiang = (await session.exec(select(Cadre).where(Cadre.name == "蒋伟"))).one()
        li.roles = "cadre,head,leader"
        jiang.supervisor_id = li.id
        session.add_all([li, jiang])
        await session.commit()
    li_ming = await town.signup("李明")
    await li_ming.command("rate")
    board = li_ming.last()
    assert "本部门：" in board.text and "分管的部门负责人：" in board.text
    assert board.labels == [  # in the roster's order
        person(texts, "wait", "周晓燕"),
        person(texts, "wait", "吴磊"),
        person(texts, "wait", "蒋伟"),
    ]


async def test_typed_rating_while_a_self_score_question_is_open(town: Any, texts: Any) -> None:
    period = await town.open_month(2026, 11)
    await submit_self(town, period, "冯超", {"duty": "85", "central": "90"})
    head = await town.signup("郑海涛")  # also a cadre, half-way through his own self-score
    await head.command("selfscore")
    await head.send("88")
    assert "本项得分 88.0" in head.last().text  # his note is awaited
    await head.command("rate")
    await head.press(person(texts, "todo", "冯超"))
    await head.press(item(texts, "本职工作"))
    await head.press(L(texts, "rate.type"))
    await head.send("77")  # asked for most recently: it is the rating figure
    assert (await head_lines(town, "冯超"))["duty"].score == Decimal(77)
    async with town.services.sessions() as session:
        own = await ratings.load_sheet(
            session=session, period=period, ratee=await town.cadre("郑海涛"), source="self"
        )
    assert own.answer("duty").note is None  # type: ignore[union-attr]  # present in this test's data
    await head.send("整理经发办台账")  # the self-score goes on where it was
    async with town.services.sessions() as session:
        own = await ratings.load_sheet(
            session=session, period=period, ratee=await town.cadre("郑海涛"), source="self"
        )
    assert own.answer("duty").note == "整理经发办台账"  # type: ignore[union-attr]  # present in this test's data
    assert (await head_lines(town, "冯超"))["duty"].score == Decimal(77)

    # The typed 77 led the rating message on to 中心工作: a new rating figure asked for...
    await head.press(L(texts, "rate.type"))
    await head.command("selfscore")  # ...then the self-score again: that wins
    await head.send(L(texts, "selfscore.skip"))
    assert "central" not in await head_lines(town, "冯超")


async def test_cancel_while_typing(town: Any, texts: Any) -> None:
    period = await town.open_month(2026, 11)
    await submit_self(town, period, "冯超", {"duty": "85", "central": "90"})
    head = await town.signup("郑海涛")
    await head.command("rate")
    await head.press(person(texts, "todo", "冯超"))
    await head.press(item(texts, "本职工作"))
    await head.press(L(texts, "rate.type"))
    card = head.last()
    await head.command("cancel")
    assert head.last().text == html_to_text(texts.render("zh", "rating/cancelled"))
    await head.send("80")
    assert head.last().text == html_to_text(texts.render("zh", "basics/unknown"))
    assert await head_rating(town, "冯超") is None
    await head.press(L(texts, "rate.cancel_typing"))  # the old prompt's button still works
    card = next(m for m in head.messages() if m.message_id == card.message_id)
    assert "点分数打分" in card.text and L(texts, "rate.type") in card.labels


async def test_rating_in_english(town: Any, texts: Any) -> None:
    period = await town.open_month(2026, 11)
    await submit_self(town, period, "冯超", {"duty": "85", "central": "90"})
    head = await town.signup("郑海涛")
    await head.command("lang", "en")
    await head.command("rate")
    assert "Ratings for November 2026" in head.last().text
    await head.press("✏️ 冯超")
    assert "self-score submitted, total 85.5" in head.last().text
    await head.press(texts.label("en", "rate.item", title="Own duties", score="—"))
    await head.press(texts.label("en", "rate.type"))
    await head.send("lots")
    assert "That is not a number" in head.last().text


# --- who rates whom, and progress -----------------------------------------------------------


async def test_who_rates_whom_and_participation(town: Any) -> None:
    period = await town.open_month(2026, 11)
    await submit_self(town, period, "冯超", {"duty": "85", "central": "90"})
    names = {
        name: await town.cadre(name)
        for name in ("郑海涛", "王芳", "冯超", "钱志强", "李明", "赵建国", "周晓燕", "吴磊")
    }
    async with town.services.sessions() as session:

        async def rater(name: str) -> str | None:
            found = await ratings.rater_of(session=session, ratee=names[name])
            return found.name if found else None

        async def ratees(name: str) -> list[str]:
            return [c.name for c in await ratings.ratees_of(session=session, rater=names[name])]

        assert await rater("王芳") == "郑海涛"
        assert await rater("郑海涛") == "钱志强"
        assert await rater("李明") == "赵建国"
        assert await ratees("郑海涛") == ["王芳", "冯超"]  # in the roster's order
        assert await ratees("钱志强") == ["郑海涛", "陈静"]
        assert await ratees("李明") == ["周晓燕", "吴磊"]
        assert await ratees("冯超") == []
        states = await ratings_q.participation(session=session, period_id=period.id)
    assert states[names["冯超"].id] == {"self": "submitted", "head": "missing"}
    assert states[names["王芳"].id] == {"self": "missing", "head": "missing"}
    assert names["赵建国"].id not in states  # a leader who is not assessed
    assert Role.LEADER in names["钱志强"].role_set


async def test_a_head_without_a_supervising_leader_is_rated_by_the_other_head(
    town: Any,
) -> None:
    await town.open_month(2026, 11)
    async with town.services.sessions() as session:
        feng = (await session.exec(select(Cadre).where(Cadre.name == "冯超"))).one()
        feng.roles = "cadre,head"  # a deputy head, no supervising leader
        session.add(feng)
        await session.commit()
    zheng = await town.cadre("郑海涛")
    async with town.services.sessions() as session:
        assert (await ratings.rater_of(session=session, ratee=feng)).id == zheng.id  # type: ignore[union-attr]  # present in this test's data
        deputy = await ratings.ratees_of(session=session, rater=feng)
    assert [c.name for c in deputy] == ["王芳"]  # not 郑海涛, whom the mayor rates


async def test_save_line_reports_whether_anything_changed(town: Any) -> None:
    period = await town.open_month(2026, 11)
    feng = await town.cadre("冯超")
    async with transaction(town.services.sessions) as session:
        rating = await ratings_q.ensure_rating(
            session=session,
            period=period,
            ratee=feng,
            rater=feng,
            source="self",
            now=town.services.now(),
        )
        again = await ratings_q.ensure_rating(
            session=session,
            period=period,
            ratee=feng,
            rater=feng,
            source="self",
            now=town.services.now(),
        )
        assert again.id == rating.id
        first = await ratings_q.save_line(
            session=session, rating_id=rating.id, key="duty", item_key="duty", score=Decimal(80)
        )
        same = await ratings_q.save_line(
            session=session, rating_id=rating.id, key="duty", item_key="duty", score=Decimal(80)
        )
        noted = await ratings_q.save_line(
            session=session, rating_id=rating.id, key="duty", item_key="duty", note="台账"
        )
    assert first.changed and first.old["score"] is None and first.new["score"] == "80"
    assert not same.changed
    assert noted.changed and noted.line.score == Decimal(80) and noted.line.note == "台账"
    async with town.services.sessions() as session:
        assert len(await ratings_q.rating_lines(session=session, rating_id=rating.id)) == 1
        assert (await session.get(Period, period.id)).state == PeriodState.OPEN.value  # type: ignore[union-attr]  # present in this test's data


async def test_a_leader_tells_two_heads_of_one_name_apart(
    town: Any, texts: Any, tmp_path: Path
) -> None:
    """钱志强 supervises the heads of two departments who share a name: his list names each with
    the department."""
    rows = (ROOT / "examples" / "roster.csv").read_text(encoding="utf-8-sig")
    path = tmp_path / "roster.csv"
    path.write_text(rows.replace("郑海涛", "陈静"), encoding="utf-8")
    await town.import_roster(path)
    leader = await town.signup("钱志强")
    await town.open_month(2026, 11)
    await leader.command("rate")
    shown = [
        texts.label("zh", "person.namesake", name="陈静", department=department)
        for department in ("经济发展办公室", "社会事务办公室")
    ]
    text, labels = leader.last().text, leader.last().labels
    for name in shown:
        assert name in text
        assert any(name in label for label in labels)
