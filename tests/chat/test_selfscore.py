"""Self-scores end to end: /selfscore in the chat, rows in the database, on both backends."""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.chat import keyboards
from bot.emulator.telegram import html_to_text
from storage.models import Period, PeriodKind, PeriodState, RatingLine, utcnow
from tests.harness.appraisal import (
    SUBMIT,
    L,
    add_targets,
    answer_all,
    audits,
    close_period,
    quantified_scheme,
    rating_lines,
    rating_of,
)
from tests.harness.phone import phone_lines

self_rating = partial(rating_of, source="self")
lines = partial(rating_lines, source="self")


def problem(texts: Any, kind: str, figure: str = "score", lang: str = "zh") -> str:
    """The sentence the bot says about a refused answer, from the same templates."""
    module = texts.env.get_template(f"{lang}/selfscore/_parts.j2").module
    return html_to_text(str(module.problem(kind, figure))).strip()


# --- the whole self-score ------------------------------------------------------------------


async def test_village_cadre_scores_three_items_with_note_and_evidence(
    town: Any, texts: Any
) -> None:
    period = await town.open_month(2026, 11)
    wang = await town.signup("王芳")  # stationed in 杨柳村: three items
    await wang.command("selfscore")
    first = wang.last().text
    assert "2026年11月自评" in first and "共 3 项" in first
    due = period.closes_at.astimezone(ZoneInfo("Asia/Shanghai"))  # shown in the town's zone
    assert f"截止 {due.month}月{due.day}日 {due:%H:%M}" in first
    assert "第 1/3 项：本职工作" in first and "权重 70" in first
    assert wang.reply_keyboard() == [
        ["100", "95", "90", "85"],
        ["80", "75", "70", "60"],
        [L(texts, "selfscore.back")],
    ]

    await wang.send("85")
    details = wang.last().text  # note and evidence in one optional step
    assert "第 1/3 项：本职工作" in details and "本项得分 85.0" in details
    assert wang.reply_keyboard() == [[L(texts, "selfscore.skip")], [L(texts, "selfscore.back")]]
    await wang.send_photo(file_id="photo-duty", caption="完成杨柳村 <b>入户</b> 核查 32 户")
    second = wang.last().text
    assert "第 2/3 项：中心工作" in second
    await wang.send("95")
    await wang.send_document("台账.pdf", b"%PDF-1.4", file_id="doc-central")
    assert "第 3/3 项：蹲点村党建行政和经济工作" in wang.last().text
    await answer_all(wang, ["87.5", L(texts, "selfscore.skip")])  # one skip for an item

    saved, summary = wang.messages()[-2:]
    assert "已保存全部答案" in saved.text
    assert wang.reply_keyboard() == []  # the reply keyboard is closed
    # 85 × 70 + 95 × 10 + 87.5 × 20 = 8650 → 86.5
    assert "加权合计：86.5" in summary.text
    assert "1. 本职工作（权重 70）：85.0" in summary.text
    assert "说明：完成杨柳村 <b>入户</b> 核查 32 户" in summary.text  # typed text stays text
    assert "&lt;b&gt;入户&lt;/b&gt;" in (summary.html or "")
    assert "📎 已附照片" in summary.text and "📎 已附文件" in summary.text
    assert summary.buttons == [
        [SUBMIT],
        [L(texts, "selfscore.change"), L(texts, "selfscore.cancel")],
    ]
    draft = await self_rating(town, "王芳")
    assert draft is not None and draft.state == "draft" and draft.total is None

    answer = await wang.press(SUBMIT)
    assert answer.answered and not answer.show_alert and "86.5" in (answer.text or "")
    after = wang.last()
    assert after.message_id == summary.message_id and after.edit_count == 1
    assert "已提交" in after.text
    assert after.buttons == [[L(texts, "selfscore.change"), L(texts, "selfscore.close")]]

    rating = await self_rating(town, "王芳")
    assert rating is not None
    assert (rating.state, rating.total, rating.rater_id) == (
        "submitted",
        Decimal("86.5"),
        rating.ratee_id,
    )
    assert rating.submitted_at is not None
    saved_lines = await lines(town, "王芳")
    assert {k: (v.score, v.evidence_kind) for k, v in saved_lines.items()} == {
        "duty": (Decimal(85), "photo"),
        "central": (Decimal(95), "document"),
        "village": (Decimal("87.5"), None),
    }
    assert saved_lines["duty"].evidence_file_id == "photo-duty"
    assert saved_lines["central"].evidence_file_id == "doc-central"
    assert saved_lines["duty"].note == "完成杨柳村 <b>入户</b> 核查 32 户"


async def test_quantified_item_asks_each_target_and_scores_from_targets(
    town: Any, texts: Any
) -> None:
    await town.open_month(2026, 11, scheme=quantified_scheme())
    t1, t2 = await add_targets(town, "冯超")
    feng = await town.signup("冯超")
    await feng.command("selfscore")
    question = feng.last().text
    assert "第 1/2 项：本职工作" in question
    # A month is compared with its share of the year's target: 120 户 ÷ 12 = 10 户.
    assert "目标 1/2：T1 农户信息核查" in question and "本月目标 10户（全年目标值 120户" in question
    assert feng.reply_keyboard() == [[L(texts, "selfscore.back")]]

    await feng.send("132户")  # a unit typed along: not a number
    assert problem(texts, "not_a_number", "actual") in feng.last().text
    await feng.send("-3")
    assert problem(texts, "out_of_range", "actual") in feng.last().text
    assert await lines(town, "冯超") == {}

    await feng.send("12")  # above the month's target: capped at 100
    assert "目标 2/2：T2 台账录入" in feng.last().text
    assert "本月目标 3.33份（全年目标值 40份" in feng.last().text
    await feng.send("2.5")
    await feng.send(L(texts, "selfscore.skip"))
    assert "第 2/2 项：中心工作" in feng.last().text
    await answer_all(feng, ["85", L(texts, "selfscore.skip")])

    summary = feng.last().text
    # T1 min(12/10, 1) = 100, T2 2.5/(40/12) = 75; (60 × 100 + 40 × 75) / 100 = 90.0
    # total 0.9 × 90 + 0.1 × 85 = 89.5
    assert "本职工作（权重 90）：90.0" in summary
    assert "T1 农户信息核查：完成 12 / 本月目标 10户" in summary
    assert "加权合计：89.5" in summary
    saved = await lines(town, "冯超")
    assert saved["duty.T1"].actual == Decimal(12) and saved["duty.T1"].target_id == t1.id
    assert saved["duty.T2"].actual == Decimal("2.5") and saved["duty.T2"].target_id == t2.id
    assert saved["central"].score == Decimal(85)
    await feng.press(SUBMIT)
    rating = await self_rating(town, "冯超")
    assert rating is not None and rating.total == Decimal("89.5")


async def test_quantified_item_without_targets_cannot_be_submitted(town: Any, texts: Any) -> None:
    await town.open_month(2026, 11, scheme=quantified_scheme())
    feng = await town.signup("冯超")  # no targets entered by the office
    await feng.command("selfscore")
    assert "第 2/2 项：中心工作" in feng.last().text  # 本职工作 has no question
    await answer_all(feng, ["85", L(texts, "selfscore.skip")])
    summary = feng.last()
    assert "无法计分" in summary.text and "请联系党政办" in summary.text
    assert SUBMIT not in summary.labels
    period_id = summary.callback_data[0].split(":")[2]
    answer = await feng.press_data(f"selfscore:submit:{period_id}")
    assert answer.show_alert and "1 项没有填完" in (answer.text or "")
    rating = await self_rating(town, "冯超")
    assert rating is not None and rating.state == "draft"


# --- refusals ------------------------------------------------------------------------------


async def test_bad_answers_are_refused_and_the_same_question_comes_again(
    town: Any, texts: Any
) -> None:
    await town.open_month(2026, 11)
    feng = await town.signup("冯超")
    await feng.command("selfscore")
    question = feng.last().text
    assert "第 1/2 项：本职工作" in question

    refusals = [
        (feng.send("很好"), "not_a_number"),
        (feng.send("101"), "out_of_range"),
        (feng.send("-1"), "out_of_range"),
        (feng.send("85.55"), "too_many_decimals"),
        (feng.send_sticker(), "number_expected"),
        (feng.send_photo(), "number_expected"),
        (feng.send_document("a.pdf"), "number_expected"),
    ]
    for action, kind in refusals:
        mark = feng.mark()
        await action
        reply = feng.inbox_since(mark)
        assert len(reply) == 1, kind
        # One line says what was wrong, the next asks the same question again; nothing else.
        said, again = reply[0].text.split("\n")
        assert said == "⚠️ " + problem(texts, kind), kind
        assert again.startswith("第 1/2 项：本职工作 — 请打分"), kind
        assert await lines(town, "冯超") == {}, kind

    await feng.send("８７．５")  # full-width digits from a Chinese keyboard are fine
    assert (await lines(town, "冯超"))["duty"].score == Decimal("87.5")
    await feng.send_sticker()  # a sticker where a note or evidence is expected
    said, again = feng.last().text.split("\n")
    assert said == "⚠️ " + problem(texts, "details_expected")
    assert again.startswith("第 1/2 项：本职工作 — 可写一句")
    await feng.send("x" * 501)
    assert feng.last().text.startswith("⚠️ " + problem(texts, "too_long"))
    await feng.send_photo(file_id="proof", caption="x" * 501)
    assert feng.last().text.startswith("⚠️ " + problem(texts, "too_long"))
    duty = (await lines(town, "冯超"))["duty"]
    assert (duty.note, duty.evidence_file_id) == (None, None)
    await feng.send_photo(file_id="proof")  # evidence without a note
    assert "第 2/2 项：中心工作" in feng.last().text
    duty = (await lines(town, "冯超"))["duty"]
    assert (duty.note, duty.evidence_file_id) == (None, "proof")


async def test_back_goes_to_the_previous_question(town: Any, texts: Any) -> None:
    await town.open_month(2026, 11)
    feng = await town.signup("冯超")
    await feng.command("selfscore")
    await feng.send(L(texts, "selfscore.back"))
    assert feng.last().text.startswith("⚠️ " + problem(texts, "first"))
    await answer_all(feng, ["80", "写台账"])
    assert "第 2/2 项：中心工作" in feng.last().text
    await feng.send(L(texts, "selfscore.back"))  # back to the note and evidence of 本职工作
    assert "第 1/2 项：本职工作" in feng.last().text and "现有说明：写台账" in feng.last().text
    await feng.send(L(texts, "selfscore.back"))
    assert "已填 80 分" in feng.last().text
    await feng.send("82")
    assert (await lines(town, "冯超"))["duty"].score == Decimal(82)
    await feng.send(L(texts, "selfscore.skip"))  # keeps the note
    assert (await lines(town, "冯超"))["duty"].note == "写台账"


async def test_cancel_leaves_keeps_the_draft_and_selfscore_resumes(town: Any, texts: Any) -> None:
    await town.open_month(2026, 11)
    feng = await town.signup("冯超")
    await feng.command("selfscore")
    await answer_all(feng, ["80", L(texts, "selfscore.skip")])
    await feng.command("cancel")
    assert feng.last().text == html_to_text(texts.render("zh", "selfscore/cancelled"))
    assert feng.reply_keyboard() == []
    await feng.send("90")  # no question is open: nothing is recorded
    assert feng.last().text == html_to_text(texts.render("zh", "basics/unknown"))
    assert set(await lines(town, "冯超")) == {"duty"}
    await feng.command("cancel")  # nothing to cancel any more
    assert feng.last().text == html_to_text(texts.render("zh", "basics/nothing_to_cancel"))

    await feng.command("selfscore")  # resumes at the first unanswered item
    assert "第 2/2 项：中心工作" in feng.last().text
    await answer_all(feng, ["90", L(texts, "selfscore.skip")])
    assert "加权合计：81.0" in feng.last().text  # 0.9 × 80 + 0.1 × 90


async def test_cancel_button_of_the_summary_keeps_the_draft(town: Any, texts: Any) -> None:
    await town.open_month(2026, 11)
    feng = await town.signup("冯超")
    await feng.command("selfscore")
    await answer_all(feng, ["80", "跳过", "90", "跳过"])
    summary = feng.last()
    await feng.press(L(texts, "selfscore.cancel"))
    assert feng.last().message_id == summary.message_id
    assert feng.last().text == html_to_text(texts.render("zh", "selfscore/cancelled"))
    rating = await self_rating(town, "冯超")
    assert rating is not None and rating.state == "draft"
    await feng.command("selfscore")  # every item answered: straight to the summary
    assert "加权合计：81.0" in feng.last().text and SUBMIT in feng.last().labels


# --- on a phone ------------------------------------------------------------------------------


async def test_questions_are_short_and_say_the_way_out_once(town: Any, texts: Any) -> None:
    await town.open_month(2026, 11)
    wang = await town.signup("王芳")  # three items
    mark = wang.mark()
    await wang.command("selfscore")
    # One skip passes the optional note and evidence of an item: six answers for three items.
    await answer_all(wang, ["85", "跳过", "90", "跳过", "80", "跳过"])
    *questions, _saved, summary = wang.inbox_since(mark)
    assert len(questions) == 6 and "加权合计" in summary.text
    first, *others = questions
    assert phone_lines(first.text) <= 6  # the month, the item, the question and the way out
    assert all(phone_lines(q.text) <= 5 for q in others), [q.text for q in others]
    # The way out is said once, on the first question of the run.
    assert "/cancel" in first.text and not any("/cancel" in q.text for q in others)
    assert [q.text.split("\n")[0] for q in others[1::2]] == [
        "第 2/3 项：中心工作（权重 10）",
        "第 3/3 项：蹲点村党建行政和经济工作（权重 20）",
    ]

    await wang.command("selfscore")  # everything answered: the summary, no question
    await wang.press(L(texts, "selfscore.change"))
    await wang.press(L(texts, "selfscore.item_button", title="中心工作", score="90.0"))
    change = wang.last().text  # a change is a new run: the way back to the summary, once
    assert "/cancel" in change and L(texts, "selfscore.back") in change
    await wang.send("91")
    assert "/cancel" not in wang.last().text


async def test_scores_typed_as_people_type_them(town: Any, texts: Any) -> None:
    await town.open_month(2026, 11)
    feng = await town.signup("冯超")
    await feng.command("selfscore")
    typed = {"88分": 88, "88 分": 88, "８８分": 88, "九十": 90, "八十五": 85, "一百": 100}
    for text, value in typed.items():
        await feng.send(text)
        assert (await lines(town, "冯超"))["duty"].score == Decimal(value), text
        assert "本项得分" in feng.last().text, text  # on to the note
        await feng.send(L(texts, "selfscore.back"))  # and back to the score
    for text, kind in (("八五", "unclear_chinese"), ("一百零一", "out_of_range")):
        await feng.send(text)
        said, again = feng.last().text.split("\n")
        assert said == "⚠️ " + problem(texts, kind), text
        assert again.startswith("第 1/2 项：本职工作 — 已填 100 分"), text
    assert (await lines(town, "冯超"))["duty"].score == Decimal(100)


async def test_keep_the_score_and_change_only_the_note(town: Any, texts: Any) -> None:
    await town.open_month(2026, 11)
    feng = await town.signup("冯超")
    await feng.command("selfscore")
    await answer_all(feng, ["80", "跳过", "87.5", "跳过"])
    await feng.press(SUBMIT)

    await feng.press(L(texts, "selfscore.change"))
    await feng.press(L(texts, "selfscore.item_button", title="中心工作", score="87.5"))
    keep = L(texts, "selfscore.keep", value="87.5")
    assert keep == "保持 87.5"
    assert feng.reply_keyboard()[0] == [keep] and f"点“{keep}”不改" in feng.last().text
    await feng.send(keep)
    assert "本项得分 87.5" in feng.last().text  # the score stays; the note is asked
    await feng.send("牵头完成秋季防火检查")
    assert "已保存修改" in feng.messages()[-2].text
    assert "加权合计：80.8" in feng.last().text  # 0.9 × 80 + 0.1 × 87.5 = 80.75

    central = (await lines(town, "冯超"))["central"]
    assert (central.score, central.note) == (Decimal("87.5"), "牵头完成秋季防火检查")
    (change,) = await audits(town, "selfscore.change")  # only the note changed
    assert (change.old_value["note"], change.new_value["note"]) == (None, "牵头完成秋季防火检查")
    assert "score" not in change.new_value or change.new_value["score"] == "87.5"

    await feng.command("lang", "en")  # the other language's button keeps too
    await feng.command("selfscore")
    await feng.press(texts.label("en", "selfscore.change"))
    await feng.press(texts.label("en", "selfscore.item_button", title="Own duties", score="80.0"))
    assert feng.reply_keyboard()[0] == ["Keep 80"]
    await feng.send("保持 80")
    assert "This item scores 80.0" in feng.last().text


async def test_a_quantified_item_keeps_its_actual_figures(town: Any, texts: Any) -> None:
    await town.open_month(2026, 11, scheme=quantified_scheme())
    await add_targets(town, "冯超")
    feng = await town.signup("冯超")
    await feng.command("selfscore")
    await answer_all(feng, ["12", "2.5", "跳过", "85", "跳过"])
    await feng.press(L(texts, "selfscore.change"))
    await feng.press(L(texts, "selfscore.item_button", title="本职工作", score="90.0"))
    assert feng.reply_keyboard() == [["保持 12"], [L(texts, "selfscore.back")]]
    await feng.send("保持 12")
    assert feng.reply_keyboard()[0] == ["保持 2.5"]
    await feng.send("3")
    await feng.send("跳过")
    saved = await lines(town, "冯超")
    assert (saved["duty.T1"].actual, saved["duty.T2"].actual) == (Decimal(12), Decimal(3))


# --- changing --------------------------------------------------------------------------------


async def test_change_an_answer_from_the_summary(town: Any, texts: Any, fake: Any) -> None:
    await town.open_month(2026, 11)
    feng = await town.signup("冯超")
    await feng.command("selfscore")
    await answer_all(feng, ["80", "跳过", "90", "跳过"])
    summary = feng.last()
    assert "加权合计：81.0" in summary.text

    await feng.press(L(texts, "selfscore.change"))
    picker = feng.last()
    assert picker.message_id == summary.message_id and picker.edit_count == 1
    assert picker.buttons == [
        [L(texts, "selfscore.item_button", title="本职工作", score="80.0")],
        [L(texts, "selfscore.item_button", title="中心工作", score="90.0")],
        [L(texts, "selfscore.to_summary")],
    ]
    await feng.press(L(texts, "selfscore.to_summary"))
    assert feng.last().message_id == summary.message_id and "加权合计：81.0" in feng.last().text
    await feng.press(L(texts, "selfscore.change"))
    await feng.press(L(texts, "selfscore.item_button", title="本职工作", score="80.0"))
    question = feng.last()
    assert "本职工作（权重 90） · 修改" in question.text and "已填 80 分" in question.text
    await answer_all(feng, ["95", "补录了台账"])
    saved, updated = feng.messages()[-2:]
    assert "已保存修改" in saved.text
    assert "加权合计：94.5" in updated.text  # 0.9 × 95 + 0.1 × 90
    assert "说明：补录了台账" in updated.text
    rating = await self_rating(town, "冯超")
    assert rating is not None and rating.state == "draft"
    assert await audits(town, "selfscore.change") == []  # a draft changes without a trace


async def test_submitted_self_score_can_be_changed_until_the_deadline_and_is_audited(
    town: Any, texts: Any
) -> None:
    await town.open_month(2026, 11)
    feng = await town.signup("冯超")
    await feng.command("selfscore")
    await answer_all(feng, ["80", "跳过", "90", "跳过"])
    await feng.press(SUBMIT)
    submitted = await self_rating(town, "冯超")
    assert submitted is not None and submitted.total == Decimal("81.0")

    await feng.command("selfscore")  # shows the answers, with a way to change an item
    shown = feng.last()
    assert "已提交" in shown.text and "加权合计：81.0" in shown.text
    assert shown.buttons == [[L(texts, "selfscore.change"), L(texts, "selfscore.close")]]
    await feng.press(L(texts, "selfscore.change"))
    await feng.press(L(texts, "selfscore.item_button", title="中心工作", score="90.0"))
    await answer_all(feng, ["70", "临时抽调，中心工作少"])
    assert "修改已留痕" in feng.messages()[-2].text
    assert "加权合计：79.0" in feng.last().text  # 0.9 × 80 + 0.1 × 70

    rating = await self_rating(town, "冯超")
    assert rating is not None
    assert (rating.state, rating.total, rating.submitted_at) == (
        "submitted",
        Decimal("79.0"),
        submitted.submitted_at,
    )
    trail = await audits(town, "selfscore.change")
    assert len(trail) == 2  # the score, then the note
    score_change, note_change = trail
    cadre = await town.cadre("冯超")
    assert (score_change.actor, score_change.actor_cadre_id) == ("冯超", cadre.id)
    assert score_change.entity == "rating" and score_change.entity_id == rating.id
    assert score_change.old_value["line_key"] == "central"
    assert (score_change.old_value["score"], score_change.new_value["score"]) == ("90", "70")
    assert (score_change.old_value["total"], score_change.new_value["total"]) == ("81.0", "79.0")
    assert score_change.reason
    assert (note_change.old_value["note"], note_change.new_value["note"]) == (
        None,
        "临时抽调，中心工作少",
    )
    await feng.press(L(texts, "selfscore.close"))
    assert feng.last().buttons == []


async def test_double_tap_on_submit_submits_once(town: Any, texts: Any) -> None:
    await town.open_month(2026, 11)
    feng = await town.signup("冯超")
    await feng.command("selfscore")
    await answer_all(feng, ["80", "跳过", "90", "跳过"])
    summary = feng.last()
    data = next(d for d in summary.callback_data if ":submit:" in d)
    first = await feng.press_data(data, message_id=summary.message_id)
    first_rating = await self_rating(town, "冯超")
    second = await feng.press_data(data, message_id=summary.message_id)
    assert first.answered and second.answered
    assert second.text == texts.render("zh", "selfscore/already_short")
    again = await self_rating(town, "冯超")
    assert first_rating is not None and again is not None
    assert again.submitted_at == first_rating.submitted_at
    assert feng.last().edit_count == 1
    assert await audits(town, "selfscore.change") == []


async def test_repeated_update_records_once_and_selfscore_repeats_the_open_question(
    town: Any, texts: Any, fake: Any
) -> None:
    await town.open_month(2026, 11)
    feng = await town.signup("冯超")
    await feng.command("selfscore")
    update = await feng.send("80")
    count = len(feng.messages())
    await town.sim.replay(update)  # Telegram delivers the same update again
    assert len(feng.messages()) == count
    assert "本项得分 80.0" in feng.last().text
    await feng.command("selfscore")  # in the middle: the same question again
    assert "第 1/2 项：本职工作" in feng.last().text and "本项得分 80.0" in feng.last().text
    await answer_all(feng, ["跳过", "90", "跳过"])
    assert {k: v.score for k, v in (await lines(town, "冯超")).items()} == {
        "duty": Decimal(80),
        "central": Decimal(90),
    }
    calls = len(fake.calls)
    await feng.press(SUBMIT)
    methods = [c.method.lower() for c in fake.calls[calls:]]
    assert methods.index("answercallbackquery") < methods.index("editmessagetext")


async def test_an_edited_message_is_not_an_answer(town: Any, fake: Any) -> None:
    await town.open_month(2026, 11)
    feng = await town.signup("冯超")
    await feng.command("selfscore")
    sent = await feng.send("85")
    assert sent.message is not None
    question = feng.last()
    edited = sent.message.to_dict()
    edited.update(text="60", edit_date=edited["date"] + 5)
    await town.sim.deliver({"update_id": fake.next_update_id(), "edited_message": edited})
    assert feng.last() == question  # no answer taken, nothing said
    duty = (await lines(town, "冯超"))["duty"]
    assert (duty.score, duty.note) == (Decimal(85), None)


# --- restarts, windows, closed periods -------------------------------------------------------


async def test_restart_in_the_middle_resumes_at_the_same_step(
    town: Any, texts: Any, settings: Any, fake: Any
) -> None:
    from bot.app import build_application
    from bot.emulator.request import FakeRequest
    from bot.emulator.simulator import Simulator

    await town.open_month(2026, 11)
    wang = await town.signup("王芳")
    await wang.command("selfscore")
    await wang.send("85")
    assert "本项得分 85.0" in wang.last().text  # waiting for the note or evidence of 本职工作

    await town.sim.__aexit__(None, None, None)  # the bot stops, as on a real shutdown
    app2 = build_application(settings, request=FakeRequest(fake), rate_limit=False)
    async with Simulator(app2, fake, via="processor") as sim2:
        again = sim2.user(wang.id, "王芳")
        await again.send_photo(file_id="after-restart", caption="完成入户核查")
        assert "第 2/3 项：中心工作" in again.last().text
        async with app2.services.sessions() as session:
            rows = {r.line_key: r for r in (await session.exec(select(RatingLine))).all()}
    assert rows["duty"].score == Decimal(85)
    assert rows["duty"].note == "完成入户核查"
    assert rows["duty"].evidence_file_id == "after-restart"


async def test_a_conversation_saved_at_the_old_note_or_evidence_step_goes_on(
    town: Any, texts: Any, settings: Any, fake: Any
) -> None:
    """A bot upgraded while a cadre was at the note (or evidence) question of the version that
    asked them one after the other: the next message answers the one step that asks both."""
    from bot.app import build_application
    from bot.emulator.request import FakeRequest
    from bot.emulator.simulator import Simulator
    from storage.engine import create_engine, make_session_factory
    from storage.models import PersistedConversation, PersistedData

    await town.open_month(2026, 11)
    wang = await town.signup("王芳")
    await wang.command("selfscore")
    await wang.send("85")
    await town.sim.__aexit__(None, None, None)
    engine = create_engine(settings.database_url)
    try:
        async with make_session_factory(engine)() as session:  # as the older version left them
            states = (await session.exec(select(PersistedConversation))).all()
            (row,) = [r for r in states if r.name == "selfscore" and r.state == "details"]
            row.state = "evidence"
            session.add(row)
            user = await session.get(PersistedData, ("user", str(wang.id)))
            assert user is not None and user.data["selfscore"]["step"] == "details"
            user.data = {**user.data, "selfscore": {**user.data["selfscore"], "step": "note"}}
            session.add(user)
            await session.commit()
    finally:
        await engine.dispose()

    app2 = build_application(settings, request=FakeRequest(fake), rate_limit=False)
    async with Simulator(app2, fake, via="processor") as sim2:
        again = sim2.user(wang.id, "王芳")
        await again.send("完成入户核查")
        assert "第 2/3 项：中心工作" in again.last().text
        async with app2.services.sessions() as session:
            rows = {r.line_key: r for r in (await session.exec(select(RatingLine))).all()}
    assert (rows["duty"].score, rows["duty"].note) == (Decimal(85), "完成入户核查")


async def test_no_open_month_says_when_the_next_window_opens(town: Any, texts: Any) -> None:
    feng = await town.signup("冯超")
    await feng.command("selfscore")
    assert feng.last().text == html_to_text(
        texts.render("zh", "selfscore/no_window", st={"last": None, "upcoming": None})
    )
    now = utcnow()
    async with town.services.sessions() as session:
        from datetime import date, timedelta

        session.add(
            Period(
                unit_id=town.services.unit_id,
                kind=PeriodKind.MONTH.value,
                year=2026,
                number=12,
                starts_on=date(2026, 12, 1),
                ends_on=date(2026, 12, 31),
                opens_at=now + timedelta(days=3),
                closes_at=now + timedelta(days=13),
                state=PeriodState.SCHEDULED.value,
            )
        )
        await session.commit()
    await feng.command("selfscore")
    opens = (now + timedelta(days=3)).astimezone(town.services.settings.zone)
    assert f"{opens.month}月{opens.day}日" in feng.last().text
    assert await self_rating(town, "冯超") is None


async def test_closed_period_refuses_late_answers_and_old_buttons(town: Any, texts: Any) -> None:
    period = await town.open_month(2026, 11)
    feng = await town.signup("冯超")
    await feng.command("selfscore")
    await answer_all(feng, ["80", "跳过", "90", "跳过"])
    summary = feng.last()
    await feng.press(L(texts, "selfscore.change"))
    await feng.press(L(texts, "selfscore.item_button", title="中心工作", score="90.0"))
    before = await lines(town, "冯超")

    await close_period(town, period)
    await feng.send("60")  # a late answer to the open question
    assert feng.last().text == html_to_text(texts.render("zh", "selfscore/closed"))
    assert feng.reply_keyboard() == []
    after = await lines(town, "冯超")
    assert {k: v.score for k, v in after.items()} == {k: v.score for k, v in before.items()}

    await feng.command("selfscore")
    assert "的填报已经结束" in feng.last().text  # closed early: no deadline to name
    old_summary = next(m for m in feng.messages() if m.message_id == summary.message_id)
    for data in (
        f"selfscore:submit:{period.id}",
        f"selfscore:change:{period.id}",
        f"selfscore:item:{period.id}:duty",
        f"selfscore:start:{period.id}",
    ):
        mark = feng.mark()
        answer = await feng.press_data(data, message_id=summary.message_id)
        assert answer.show_alert
        assert answer.text == texts.render("zh", "selfscore/closed_short")
        assert feng.changed_since(mark) == []  # no message sent or edited
    assert next(m for m in feng.messages() if m.message_id == summary.message_id) == old_summary
    rating = await self_rating(town, "冯超")
    assert rating is not None and rating.state == "draft"


async def test_start_button_of_the_window_opening_message(town: Any, texts: Any, app: Any) -> None:
    period = await town.open_month(2026, 11)
    feng = await town.signup("冯超")
    # What the scheduler sends when the window opens (its text is the scheduler's business).
    await app.bot.send_message(
        feng.id,
        "本月考核已开放",
        reply_markup=keyboards.markup(
            [[keyboards.button("开始自评", "selfscore", "start", period.id)]]
        ),
    )
    answer = await feng.press("开始自评")
    assert answer.answered and not answer.show_alert
    assert "第 1/2 项：本职工作" in feng.last().text
    await feng.send("88")
    assert (await lines(town, "冯超"))["duty"].score == Decimal(88)

    forged = await feng.press_data("selfscore:start:999999")
    assert forged.show_alert and forged.text == texts.render("zh", "selfscore/closed_short")
    stale = await feng.press_data("selfscore:bogus:1")
    assert stale.show_alert and stale.text == texts.render("zh", "access/stale_short")


async def test_only_cadres_self_score(town: Any, texts: Any) -> None:
    await town.open_month(2026, 11)
    secretary = await town.signup("赵建国")  # a leader, not assessed
    await secretary.command("selfscore")
    assert "只对" in secretary.last().text
    answer = await secretary.press_data("selfscore:start:1")
    assert answer.show_alert
    assert answer.text == texts.render("zh", "access/not_allowed_short")


async def test_self_score_in_english(town: Any, texts: Any) -> None:
    await town.open_month(2026, 11)
    feng = await town.signup("冯超")
    await feng.command("lang", "en")
    await feng.command("selfscore")
    question = feng.last().text
    assert "Self-score for November 2026" in question and "Item 1/2: Own duties" in question
    assert feng.reply_keyboard()[-1] == [texts.label("en", "selfscore.back")]
    await feng.send("lots")
    assert feng.last().text.startswith("⚠️ " + problem(texts, "not_a_number", lang="en"))
    await answer_all(feng, ["80", "Skip", "90", "Skip"])
    assert "Weighted total: 81.0" in feng.last().text
    assert feng.last().buttons[0] == [texts.label("en", "selfscore.submit")]
