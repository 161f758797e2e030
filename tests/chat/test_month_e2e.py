"""A whole month for the example town, through the fake Bot API, then closed and scored.

Every cadre self-scores (one changes an answer before submitting, one attaches evidence), every
head and leader rates, colleagues vote, the office records two violations and a reward; the
database then holds exactly the expected rows, no ballot row can be joined to its rater, and
closing the month scores everyone from those rows.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import inspect as sa_inspect
from sqlmodel import func, select

from bot.appraisal import periods as appraisal
from bot.appraisal import results as scoring_run
from bot.appraisal.month import items_of
from bot.rules.roles import Role
from storage.engine import transaction
from storage.models import (
    AuditLog,
    BallotDraft,
    BallotParticipation,
    BallotTally,
    BonusEntry,
    Cadre,
    DisciplineRecord,
    Period,
    Rating,
    RatingLine,
    Result,
    utcnow,
)
from storage.queries.schemes import scheme_of
from tests.chat.test_selfscore import SUBMIT, answer_all
from tests.harness.ballot import cast_ballot

ZONE = ZoneInfo("Asia/Shanghai")


async def _all(town: Any, model: Any) -> list[Any]:
    async with town.services.sessions() as session:
        return list((await session.exec(select(model))).all())


async def _self_score(user: Any, scores: list[str], texts: Any, *, evidence: bool = False) -> None:
    skip = texts.label("zh", "selfscore.skip")
    await user.command("selfscore")
    for index, score in enumerate(scores):
        if evidence and index == 0:
            await user.send(score)
            await user.send_photo(file_id="evidence-photo", caption="完成入户核查 32 户")
        else:
            await answer_all(user, [score, skip])


async def _rate(head: Any, name: str, titles: list[str], score: str, texts: Any) -> None:
    """/rate → the person → the first item → a score for each item (each score leads on to the
    next item) → Confirm."""
    await head.command("rate")
    mark = texts.label("zh", "rate.mark.todo")
    await head.press(texts.label("zh", "rate.person", mark=mark, name=name))
    await head.press(texts.label("zh", "rate.item", title=titles[0], score="—"))
    for number, title in enumerate(titles, 1):
        shown = head.last().text
        assert f"第 {number}/{len(titles)} 项：{title}" in shown and f"评分对象：{name}" in shown
        await head.press(score)
    await head.press("✅ 确认提交")


async def _record(clerk: Any, command: str, department: str, name: str, texts: Any) -> None:
    await clerk.command(command)
    await clerk.press(department)
    await clerk.press(name)  # ticked (several people may share one record), then onward
    await clerk.press(texts.label("zh", "office.onward", n=1))


async def test_a_whole_month(town: Any, texts: Any) -> None:
    people = await town.signup_all()
    today = datetime.now(ZONE).date()
    period = await town.open_month(today.year, today.month)
    scheme = scheme_of(period)
    async with town.services.sessions() as session:
        roster = list((await session.exec(select(Cadre))).all())
    assessed = sorted((c for c in roster if c.has(Role.CADRE)), key=lambda c: c.id)
    assert len(assessed) == 12

    # Self-scores: everyone; 吴磊 changes an answer before submitting, 王芳 attaches a photo.
    for index, cadre in enumerate(assessed):
        titles = [item.title_zh for item in items_of(cadre, scheme)]
        scores = [str(80 + index), "85", "90"][: len(titles)]
        user = people[cadre.name]
        await _self_score(user, scores, texts, evidence=cadre.name == "王芳")
        if cadre.name == "吴磊":
            await user.press(texts.label("zh", "selfscore.change"))
            await user.press(
                texts.label("zh", "selfscore.item_button", title=titles[0], score=f"{scores[0]}.0")
            )
            await answer_all(user, ["93", texts.label("zh", "selfscore.skip")])
        await user.press(SUBMIT)
        assert "已提交" in user.last().text, (cadre.name, user.last().text)

    # Head ratings: each head rates their department; leaders rate the heads they supervise.
    by_id = {c.id: c for c in roster}
    for cadre in assessed:
        if cadre.has(Role.HEAD):
            rater = by_id[cadre.supervisor_id]
        else:
            rater = next(
                c for c in roster if c.has(Role.HEAD) and c.department_id == cadre.department_id
            )
        titles = [item.title_zh for item in items_of(cadre, scheme)]
        await _rate(people[rater.name], cadre.name, titles, "90", texts)

    # The democratic evaluation: everyone grades every colleague.
    for cadre in assessed:
        await cast_ballot(
            people[cadre.name], texts, lambda name: "excellent" if "王" in name else "good"
        )

    # The office: two violations and a reward.
    clerk = people["周晓燕"]
    for name, department in (("沈刚", "综合治理办公室"), ("冯超", "经济发展办公室")):
        await _record(clerk, "discipline", department, name, texts)
        await clerk.press(texts.label("zh", "office.violation", title="迟到", points="2"))
        await clerk.press(texts.label("zh", "office.today", day=today.strftime("%m-%d")))
        await clerk.send("晨会迟到")
        await clerk.press(texts.label("zh", "office.confirm"))
        assert "✅ 已登记" in clerk.last().text
    await _record(clerk, "reward", "党政办公室", "吴磊", texts)
    await clerk.send("500")
    await clerk.send("县级表彰")
    await clerk.press(texts.label("zh", "office.confirm"))
    assert "✅ 已登记" in clerk.last().text

    # Exactly the expected rows.
    ratings = await _all(town, Rating)
    lines = await _all(town, RatingLine)
    item_count = sum(len(items_of(c, scheme)) for c in assessed)
    assert item_count == 26  # 10 ordinary cadres × 2 items + 2 village-stationed × 3
    for source in ("self", "head"):
        mine = [r for r in ratings if r.source == source]
        assert sorted(r.ratee_id for r in mine) == [c.id for c in assessed]
        assert {r.state for r in mine} == {"submitted"}
        assert len([ln for ln in lines if ln.rating_id in {r.id for r in mine}]) == item_count
    wu = next(c for c in assessed if c.name == "吴磊")
    wu_self = next(r for r in ratings if r.source == "self" and r.ratee_id == wu.id)
    wu_duty = next(ln for ln in lines if ln.rating_id == wu_self.id and ln.item_key == "duty")
    assert wu_duty.score == Decimal(93)
    wang = next(c for c in assessed if c.name == "王芳")
    wang_self = next(r for r in ratings if r.source == "self" and r.ratee_id == wang.id)
    assert [
        (ln.evidence_kind, ln.evidence_file_id)
        for ln in lines
        if ln.rating_id == wang_self.id and ln.evidence_file_id
    ] == [("photo", "evidence-photo")]

    assert sorted(p.rater_id for p in await _all(town, BallotParticipation)) == [
        c.id for c in assessed
    ]
    assert await _all(town, BallotDraft) == []
    tallies = await _all(town, BallotTally)
    assert sum(t.count for t in tallies) == 12 * 11
    for cadre in assessed:
        counts = {t.grade: t.count for t in tallies if t.ratee_id == cadre.id}
        expected = "excellent" if "王" in cadre.name else "good"
        assert counts == {"excellent": 0, "good": 0, "pass": 0, "fail": 0, expected: 11}

    records = await _all(town, DisciplineRecord)
    assert sorted(by_id[r.cadre_id].name for r in records) == ["冯超", "沈刚"]
    assert {(r.violation_key, r.deduction, r.period_id) for r in records} == {
        ("late", Decimal(2), period.id)
    }
    [reward] = await _all(town, BonusEntry)
    assert (by_id[reward.cadre_id].name, reward.kind, reward.amount) == (
        "吴磊",
        "reward",
        Decimal("500.00"),
    )
    audit_actions = {a.action for a in await _all(town, AuditLog)}
    assert {"discipline.create", "bonus.create"} <= audit_actions

    # No ballot row can be joined to its rater: the tallies carry no rater, time or serial.
    async with town.services.engine.connect() as connection:
        columns = await connection.run_sync(
            lambda sync: {
                table: {c["name"] for c in sa_inspect(sync).get_columns(table)}
                for table in ("ballot_tally", "ballot_participation", "ballot_draft")
            }
        )
    assert columns["ballot_tally"] == {"period_id", "ratee_id", "grade", "count"}
    assert "grade" not in columns["ballot_participation"]

    # Closing the month scores everyone from these rows.
    async with transaction(town.services.sessions) as session:
        row = await session.get(Period, period.id)
        transition = await appraisal.close_period(session=session, period=row, now=utcnow())
    assert transition.outcome.value == "closed"
    results = {r.cadre_id: r for r in await _all(town, Result) if r.period_id == period.id}
    assert sorted(results) == [c.id for c in assessed]
    for cadre in assessed:
        result = results[cadre.id]
        assert result.score is not None and not {"self_missing", "head_missing"} & set(result.flags)
    assert results[by_id[records[0].cadre_id].id].office_rules == Decimal("98.0")
    # 吴磊: head 90; democratic 11 × 良好 = 85; self 93 × 0.9 + 85 × 0.1 = 92.2;
    # 0.5 × 90 + 0.3 × 85 + 0.2 × 92.2 = 88.94 → 88.9
    assert results[wu.id].score == Decimal("88.9")
    async with town.services.sessions() as session:
        differences = await scoring_run.recompute(
            session=session, period=await session.get(Period, period.id)
        )
        assert differences == []
        assert (await session.exec(select(func.count()).select_from(Result))).one() >= 12
