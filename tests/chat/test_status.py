"""``/status`` for the office while a month is open: "filled in, only Submit left" told apart
from "not started" (also by /myscore and by a reminder), and "remind the missing" from /status.

Every test runs on SQLite and on PostgreSQL, through the real Application on the fake Bot API;
the reminders go out through the running bot's own outbox sender.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlmodel import col, select

from bot.appraisal import ratings
from storage.engine import transaction
from storage.models import AuditLog, OutboxMessage, Period
from storage.queries.schemes import scheme_of
from tests.harness.appraisal import audits, cast_for, submit_self

SCORES = {"duty": "85", "central": "90"}


async def _draft_every_item(
    town: Any, period: Period, name: str, *, rater: str | None = None
) -> None:
    """``name``'s self-score (or ``rater``'s rating of them) with every item answered and
    提交 (确认) never pressed."""
    cadre = await town.cadre(name)
    by = await town.cadre(rater) if rater else cadre
    async with transaction(town.services.sessions) as session:
        for item in scheme_of(period).items_for("ordinary"):
            await ratings.record_answer(
                session=session,
                period=period,
                ratee=cadre,
                rater=by,
                source="head" if rater else "self",
                key=item.key,
                item_key=item.key,
                score=Decimal("88"),
                now=town.services.now(),
            )


async def _reminders(town: Any) -> list[OutboxMessage]:
    async with town.services.sessions() as session:
        rows = await session.exec(
            select(OutboxMessage)
            .where(col(OutboxMessage.event).startswith("remind@"))
            .order_by(col(OutboxMessage.id))
        )
        return list(rows.all())


def _line(text: str, start: str) -> str:
    return next(line for line in text.split("\n") if start in line)


async def test_filled_in_only_submit_left_is_not_not_started(town: Any, texts: Any) -> None:
    """A complete draft never submitted reads "filled in, only Submit left" in /myscore, /status
    and a reminder, and never as "not started" (nor as 0 points)."""
    period = await town.open_month(2026, 11)
    clerk = await town.signup("周晓燕")
    ready = await town.signup("冯超")
    idle = await town.signup("吴磊")
    head = await town.signup("郑海涛")  # rates 冯超 and 王芳: 冯超's rating filled in, not sent
    await _draft_every_item(town, period, "冯超")
    await _draft_every_item(town, period, "冯超", rater="郑海涛")

    await ready.command("myscore")
    mine = ready.last().text
    assert "🟡 自评：已填完，只差提交" in mine and "还没提交 — 发送 /selfscore" not in mine
    await idle.command("myscore")
    assert "⬜ 自评：还没提交 — 发送 /selfscore" in idle.last().text
    assert "已填完" not in idle.last().text
    await head.command("myscore")
    to_rate = _line(head.last().text, "还要评分：")
    assert "冯超（已评完，只差确认）" in to_rate and "王芳、" in to_rate and "王芳（" not in to_rate

    await clerk.command("status")
    home = clerk.last().text
    assert "自评已提交 0/12（另有 1 人已填完、只差提交，截止时自动提交）" in home
    await clerk.press("经济发展办公室")
    economy = clerk.last().text
    assert _line(economy, "已填完未提交") == "已填完未提交：冯超"
    assert "冯超" not in _line(economy, "未开始")
    assert "郑海涛 待评 冯超（已填完未提交）" in economy and "郑海涛 待评 王芳\n" in economy + "\n"
    await clerk.press(texts.label("zh", "status.back"))
    await clerk.press("党政办公室")
    assert "吴磊" in _line(clerk.last().text, "未开始") and "已填完未提交" not in clerk.last().text

    # The reminder says the same: only Submit left for one, not started for the other.
    await clerk.press(texts.label("zh", "status.back"))
    await clerk.press(texts.label("zh", "status.remind"), message=clerk.last())
    await town.app.sender.flush()
    [to_ready] = [m for m in ready.messages() if "提醒" in m.text]
    [to_idle] = [m for m in idle.messages() if "提醒" in m.text]
    assert "自评：已填完，只差点“提交”" in to_ready.text and "还没开始" not in to_ready.text
    assert "自评：还没开始" in to_idle.text and "已填完" not in to_idle.text
    assert texts.label("zh", "jobs.submit_self") in to_ready.labels
    assert texts.label("zh", "jobs.start_self") in to_idle.labels
    [to_head] = [m for m in head.messages() if "提醒" in m.text]
    rating = _line(to_head.text, "评分：")
    assert "冯超（只差确认）" in rating and "王芳、" in rating and "王芳（" not in rating

    # English says it too.
    await ready.command("lang")
    await ready.press("English")
    await ready.command("myscore")
    assert "Self-score: filled in, only Submit left" in ready.last().text


async def test_remind_the_missing_from_status(town: Any, texts: Any) -> None:
    period = await town.open_month(2026, 11)
    clerk = await town.signup("周晓燕")  # the office clerk is a cadre too: pending herself
    people = {name: await town.signup(name) for name in ("冯超", "吴磊", "沈刚", "钱志强")}
    away = await town.signup("卫红梅")
    await submit_self(town, period, "沈刚", SCORES)
    await cast_for(town, period, "沈刚")  # 沈刚 has nothing left: not reminded
    today = town.services.now().astimezone(town.services.settings.zone).date().isoformat()
    await clerk.command("leave", "卫红梅", today, today, "病假")  # on leave: not reminded
    assert "卫红梅" in clerk.last().text

    await clerk.command("status")
    home = clerk.last()
    remind = texts.label("zh", "status.remind")
    assert remind in home.labels
    marks = {name: user.mark() for name, user in [*people.items(), ("卫红梅", away)]}

    answer = await clerk.press(remind, message=home)
    # Pending and reachable: 周晓燕, 冯超 and 吴磊 (their self-scores and ballots), 钱志强 (the
    # heads he rates). 沈刚 is done, 卫红梅 on leave, the rest never signed up.
    assert answer.text == texts.label("zh", "status.reminded", n=4)
    # The same message, now saying so (the clerk's own reminder may already be below it).
    [screen] = [m for m in clerk.messages() if m.message_id == home.message_id]
    assert remind not in screen.labels
    assert "已提醒还没做完的 4 人" in screen.text
    rows = await _reminders(town)
    assert len(rows) == 4 and {r.kind for r in rows} == {"reminder"}
    await town.app.sender.flush()
    for name in ("冯超", "吴磊"):
        [reminder] = people[name].inbox_since(marks[name])
        assert "自评" in reminder.text and "民主测评" in reminder.text, name
    [leader] = people["钱志强"].inbox_since(marks["钱志强"])
    assert "郑海涛" in leader.text and "陈静" in leader.text
    assert people["沈刚"].inbox_since(marks["沈刚"]) == []
    assert away.inbox_since(marks["卫红梅"]) == []
    [row] = await audits(town, "period.remind")
    assert (row.actor, row.entity_id, row.new_value["reminded"]) == ("周晓燕", period.id, 4)
    clerk_id = (await town.cadre("周晓燕")).id
    assert row.actor_cadre_id == clerk_id

    # Once per press: the same button again (a double tap, an old screen) reminds nobody.
    [data] = [d for d in home.callback_data if d.startswith("st:remind:")]
    again = await clerk.press_data(data, message_id=home.message_id)
    assert again.show_alert and "已经用过" in (again.text or "")
    assert len(await _reminders(town)) == 4
    assert len(await audits(town, "period.remind")) == 1

    # A new look at /status can remind again: only whoever is still pending.
    await submit_self(town, period, "吴磊", SCORES)
    await cast_for(town, period, "吴磊")
    await clerk.command("status")
    answer = await clerk.press(remind, message=clerk.last())
    assert answer.text == texts.label("zh", "status.reminded", n=3)
    await town.app.sender.flush()
    assert len(await _reminders(town)) == 7
    assert len(people["冯超"].inbox_since(marks["冯超"])) == 2
    assert len(people["吴磊"].inbox_since(marks["吴磊"])) == 1


async def test_remind_is_for_the_office_and_an_open_month(town: Any, texts: Any) -> None:
    period = await town.open_month(2026, 11)
    clerk = await town.signup("周晓燕")
    cadre = await town.signup("冯超")
    await clerk.command("status")
    [data] = [d for d in clerk.last().callback_data if d.startswith("st:remind:")]
    # Another person pressing the office's button (a forwarded or forged press) is refused.
    refused = await cadre.press_data(data)
    assert refused.show_alert
    # After the deadline the button reminds nobody: the month is not open any more.
    async with transaction(town.services.sessions) as session:
        row = await session.get(Period, period.id)
        assert row is not None
        row.state = "closed"
        session.add(row)
    closed = await clerk.press_data(data, message_id=clerk.last().message_id)
    assert closed.show_alert
    assert await _reminders(town) == []
    async with town.services.sessions() as session:
        assert (
            await session.exec(select(AuditLog).where(AuditLog.action == "period.remind"))
        ).all() == []
