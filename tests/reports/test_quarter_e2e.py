"""The seed's first quarter, end to end, for the example town: three months of submissions, the
leadership's review with one adjustment, publication, the summary and files in the leadership
chat, each cadre's own result, an appeal round trip, and the end of the public notice.

The seed's figures (``tests/data/seed_q1.json``, ``docs/scoring.md``) are played by the example
town's twelve cadres: each seed row is given to one person of the roster (the village rows to the
village-stationed cadres), the months' ballots are cast so that each cadre's tally is the seed's,
and the clock is moved from event to event through the real scheduler (nothing sleeps).
"""

from __future__ import annotations

import io
import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlmodel import select

from bot.appraisal.progress import month_snapshot
from bot.core.clock import ManualClock
from storage.models import Appeal, AuditLog, Period, PeriodState, Result, ScoreAdjustment
from storage.queries import periods as periods_q
from tests.harness.appraisal import cast_for, submit_self

SH = ZoneInfo("Asia/Shanghai")
SEED = Path(__file__).resolve().parents[1] / "data" / "seed_q1.json"
#: Seed rows to the example town's people: village rows to the village-stationed cadres.
CAST = {
    "VV": "李明",
    "CC": "吴磊",
    "GG": "王芳",
    "EE": "周晓燕",
    "FF": "郑海涛",
    "HH": "冯超",
    "JJ": "陈静",
    "KK": "卫红梅",
    "LL": "蒋伟",
    "MM": "沈刚",
    "NN": "褚文斌",
    "PP": "韩雪",
}
GRADES = ("excellent", "good", "pass", "fail")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 1, 24, 8, 0, tzinfo=SH))


def _seed() -> dict[str, Any]:
    rows = json.loads(SEED.read_text(encoding="utf-8"))["cadres"]
    return {CAST[row["id"]]: row for row in rows}


async def _period(town: Any, code: str) -> Period:
    async with town.services.sessions() as session:
        found = await periods_q.find_period(session=session, unit_id=town.services.unit, code=code)
    assert found is not None
    return found


async def _until(town: Any, clock: ManualClock, key: str) -> None:
    """Move the clock from event to event until ``key`` (``close@2026-01``) has run."""
    scheduler = town.app.scheduler
    codes: dict[int, str] = {}
    for _ in range(40):
        pending = await scheduler.pending_events()
        upcoming = [e for e in pending if e.due > clock.now()]
        clock.set(upcoming[0].due)
        ran = await scheduler.run_until_idle()
        async with town.services.sessions() as session:
            codes = {
                p.id or 0: p.code
                for p in await periods_q.list_periods(session=session, unit_id=town.services.unit)
            }
        if any(f"{r.event.key}@{codes[r.event.period_id]}" == key for r in ran if r.outcome):
            return
    raise AssertionError(f"{key} never ran")


def _scores(values: dict[str, int] | None, village: bool) -> dict[str, str] | None:
    if values is None:
        return None
    return {k: str(v) for k, v in values.items() if village or k != "village"}


#: 郑海涛 sends a photo with his March self-score on 本职工作, with a note.
EVIDENCE = "EVIDENCE-FLOOD-DUTY"


async def _play_month(town: Any, code: str, seed: dict[str, Any], index: int) -> None:
    """Every cadre's self-score, head rating and ballot of the seed's month ``index``."""
    period = await _period(town, code)
    async with town.services.sessions() as session:
        snapshot = await month_snapshot(session=session, period=period)
    people = [p.cadre.name for p in snapshot.people]
    assert sorted(people) == sorted(seed)
    for person in snapshot.people:
        name = person.cadre.name
        month = seed[name]["months"][index]
        village = bool(person.cadre.village)
        own = _scores(month["self"], village)
        extra: dict[str, Any] = {}
        if name == "郑海涛" and index == 2:
            town.sim.fake.register_file("photo", b"photo of the flood duty", file_id=EVIDENCE)
            extra = {
                "evidence": {"duty": (EVIDENCE, "photo")},
                "notes": {"duty": "汛期连续值守 12 天"},
            }
        if own is not None:
            await submit_self(town, period, name, own, **extra)
        head = _scores(month["head"], village)
        if head is not None:
            await submit_self(town, period, name, head, rater=person.raters[0].name)
    # Ballots: the voters of each ratee, in roster order, give the seed's tally between them.
    given: dict[str, dict[str, str]] = {voter: {} for voter in people}
    for ratee in people:
        tally = seed[ratee]["months"][index]["ballots"]
        grades = [g for g in GRADES for _ in range(tally[g])]
        voters = [v for v in people if v != ratee]
        assert len(grades) == len(voters)
        for voter, grade in zip(voters, grades, strict=True):
            given[voter][ratee] = grade
    for voter in people:
        await cast_for(town, period, voter, grades=given[voter])


async def _results(town: Any, period: Period) -> dict[str, Result]:
    people = {c.id: c.name for c, _ in await town.roster()}
    async with town.services.sessions() as session:
        rows = (await session.exec(select(Result).where(Result.period_id == period.id))).all()
    return {people[r.cadre_id]: r for r in rows}


def _label_of(message: Any, name: str) -> str:
    """The review list's button of ``name`` ("5 郑海涛")."""
    return next(label for label in message.labels if label.endswith(name))


def _sheet_scores(data: bytes) -> dict[str, float]:
    """Name -> quarterly score, read back from the summary sheet of the .xlsx."""
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book.worksheets[0]
    header_row = next(
        row for row in sheet.iter_rows(values_only=True) if row and "姓名" in [str(c) for c in row]
    )
    headers = [str(c) if c is not None else "" for c in header_row]
    name_at, score_at = headers.index("姓名"), headers.index("得分")
    found: dict[str, float] = {}
    started = False
    for row in sheet.iter_rows(values_only=True):
        if row == header_row:
            started = True
            continue
        if started and row and row[name_at]:
            found[str(row[name_at])] = row[score_at]
    return found


async def test_the_seeds_first_quarter_end_to_end(
    town: Any, clock: ManualClock, fake: Any, texts: Any
) -> None:
    services = town.services
    seed = _seed()
    await town.create_years(2026)
    users = await town.signup_all()
    group = await town.bind_leadership("考核领导小组")

    for index, month in enumerate(("2026-01", "2026-02", "2026-03")):
        await _until(town, clock, f"open@{month}")
        await _play_month(town, month, seed, index)
        await _until(town, clock, f"close@{month}")

    # The quarter closes with March and waits in review: each reviewer got the review message,
    # the chair's with the Publish button.
    quarter = await _period(town, "2026-Q1")
    assert quarter.state == PeriodState.IN_REVIEW
    results = await _results(town, quarter)
    assert results["李明"].score == Decimal("93.3")  # VV in docs/scoring.md
    chair, mayor = users["赵建国"], users["钱志强"]
    publish = texts.label("zh", "review.publish")
    assert publish in chair.last().labels
    assert publish not in mayor.last().labels
    assert "逐人逐条" in mayor.last().text
    assert "冯超" in mayor.last().text
    # 孙丽华 (党委副书记) leads but does not review (the scheme names 党委书记 and 镇长): no
    # review message, and a review button forged in her chat is refused.
    deputy = users["孙丽华"]
    assert not any("逐人逐条" in m.text for m in deputy.messages())
    refused = await deputy.press_data(f"rv:list:{quarter.id}:0")
    assert refused.show_alert and "参加评审" in (refused.text or "")

    # The mayor opens 郑海涛 (FF), looks at March item by item, and adjusts +1.0 with the seed's
    # reason.
    await mayor.press(_label_of(mayor.last(), "郑海涛"))
    assert "郑海涛" in mayor.last().text and "3月明细" in mayor.last().labels
    await mayor.press("3月明细")
    assert "本职工作" in mayor.last().text and "汛期连续值守 12 天" in mayor.last().text
    photos_before = len([m for m in mayor.messages() if m.photo])
    await mayor.press("📎 本职工作")
    assert [m.photo for m in mayor.messages() if m.photo][photos_before:] == [EVIDENCE]
    await mayor.press(texts.label("zh", "review.back_cadre"))
    await mayor.press(texts.label("zh", "review.adjust"))
    await mayor.press("+1")
    reason = "防汛值守受县表彰"
    await mayor.send(reason)
    assert reason in mayor.last().text
    await mayor.press(texts.label("zh", "review.confirm"))
    async with services.sessions() as session:
        adjustments = (await session.exec(select(ScoreAdjustment))).all()
    assert [(a.delta, a.reason) for a in adjustments] == [(Decimal("1"), reason)]
    assert "✎" not in mayor.last().text or reason in mayor.last().text

    # Only the chair publishes; he confirms.
    refused = await mayor.press_data(f"rv:pub:{quarter.id}")
    assert refused.show_alert
    await chair.press(publish)
    await chair.press(texts.label("zh", "review.publish_yes"))
    quarter = await _period(town, "2026-Q1")
    assert quarter.state == PeriodState.PUBLISHED
    before = group.mark()
    await town.app.scheduler.run_until_idle()

    # The leadership chat: the summary (3 优秀, 9 良好), the chart and the .xlsx.
    posted = group.inbox_since(before)
    summary = "\n".join(m.text for m in posted if m.photo is None and m.document is None)
    assert "优秀 3 · 良好 9" in summary
    assert summary.index("优秀（3 人）") < summary.index("良好（9 人）")
    assert "防汛值守受县表彰" in summary
    photos = [m for m in posted if m.photo]
    documents = [m for m in posted if m.document]
    assert len(photos) == 1 and len(documents) == 1
    sheet = _sheet_scores(fake.files[documents[0].document].data)
    results = await _results(town, quarter)
    for name, result in results.items():
        assert Decimal(str(sheet[name])).quantize(Decimal("0.1")) == result.score
        assert f"{name}（" in summary and str(result.score) in summary
    grades = sorted(r.grade for r in results.values())
    assert grades.count("excellent") == 3 and grades.count("good") == 9

    # Each cadre got their own result, with the Appeal button.
    appeal = texts.label("zh", "review.appeal")
    for name in results:
        mine = users[name].last()
        assert "考核结果已公布" in mine.text and str(results[name].score) in mine.text
        assert appeal in mine.labels

    # 冯超 (HH) appeals; the mayor upholds it with 90.5; he becomes 优秀 and the group is told.
    feng = users["冯超"]
    result_message = feng.last()
    await feng.press(appeal)
    await feng.send("三月的信访化解工作没有计入")
    await feng.press(texts.label("zh", "review.confirm"))
    assert "申诉已提交" in feng.last().text
    again = await feng.press(appeal, message=result_message)
    assert again.show_alert and "只能申诉一次" in (again.text or "")
    await town.app.scheduler.run_until_idle()
    assert "冯超" in mayor.last().text and "申诉" in mayor.last().text
    await mayor.press(texts.label("zh", "review.uphold"))
    await mayor.send("90.5")
    await mayor.send("经核实，三月信访化解工作应予计入。")
    before = group.mark()
    await mayor.press(texts.label("zh", "review.confirm"))
    await town.app.scheduler.run_until_idle()
    assert "申诉成立" in feng.last().text and "90.5" in feng.last().text
    correction = group.inbox_since(before)
    assert any("更正" in m.text and "冯超" in m.text for m in correction)
    corrected = [m for m in correction if m.document]
    assert len(corrected) == 1
    assert _sheet_scores(fake.files[corrected[0].document].data)["冯超"] == pytest.approx(90.5)
    results = await _results(town, quarter)
    assert results["冯超"].grade == "excellent"
    async with services.sessions() as session:
        row = (await session.exec(select(Appeal))).one()
        audit = (
            await session.exec(select(AuditLog).where(AuditLog.action == "appeal.answer"))
        ).one()
    assert row.state == "upheld" and row.new_score == Decimal("90.5")
    assert audit.actor == "钱志强"

    # The notice ends: the results are final and the group is told.
    before = group.mark()
    await _until(town, clock, "final@2026-Q1")
    quarter = await _period(town, "2026-Q1")
    assert quarter.state == PeriodState.FINAL
    assert any("结果生效" in m.text for m in group.inbox_since(before))

    # An appeal after the window is refused with the reason, and changes nothing.
    late = users["沈刚"]
    answer = await late.press(
        appeal, message=next(m for m in late.messages() if appeal in m.labels)
    )
    assert answer.show_alert and "申诉期已过" in (answer.text or "")
    async with services.sessions() as session:
        assert len((await session.exec(select(Appeal))).all()) == 1
