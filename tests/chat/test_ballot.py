"""The secret democratic evaluation, end to end: /vote, the ballot's buttons, casting, secrecy.

Every test runs on SQLite and on PostgreSQL (the ``database_url`` fixture). The example town has
12 assessed cadres in four departments, so each voter grades 11 colleagues on two pages (6 + 5),
in the roster's order under their departments' headings.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import inspect, text
from sqlmodel import select

from bot.app import build_application
from bot.appraisal import ballots as ballot_service
from bot.core.scheme_file import DEFAULT_SCHEME_PATH
from bot.emulator.request import FakeRequest
from bot.emulator.simulator import Simulator
from bot.rules.scheme import parse_scheme
from bot.rules.scoring import democratic_score
from storage.engine import transaction
from storage.models import (
    AuditLog,
    BallotDraft,
    BallotParticipation,
    Cadre,
    Period,
    PeriodState,
    PersistedConversation,
    PersistedData,
    utcnow,
)
from storage.queries import ballots
from storage.queries.schemes import scheme_of
from tests.harness.ballot import (
    ballot_message,
    ballot_row,
    cast_ballot,
    fill_ballot,
    grade_data,
    grade_one,
    headings_on,
    names_on,
)

ROOT = Path(__file__).resolve().parents[2]
GRADES = ("excellent", "good", "pass", "fail")
ZH = {"excellent": "优秀", "good": "良好", "pass": "及格", "fail": "不及格"}


# --- helpers ----------------------------------------------------------------------------------


async def _rows(town: Any, model: Any) -> list[Any]:
    async with town.services.sessions() as session:
        return list((await session.exec(select(model))).all())


async def _tallies(town: Any, period: Period) -> dict[int, dict[str, int]]:
    async with town.services.sessions() as session:
        return await ballots.tallies(session=session, period_id=period.id)


async def _november(town: Any) -> Period:
    async with town.services.sessions() as session:
        return (await session.exec(select(Period).where(Period.number == 11))).one()


async def _ids(town: Any, *names: str) -> dict[str, int]:
    return {name: (await town.cadre(name)).id for name in names}


def _alert(texts: Any, reason: str, lang: str = "zh", **values: Any) -> str:
    context = {"reason": reason, "period": None, "missing": [], "next": None, **values}
    return texts.render_plain(lang, "ballot/refused_short", **context)


async def _set_period(town: Any, period: Period, **changes: Any) -> None:
    async with transaction(town.services.sessions) as session:
        row = await session.get(Period, period.id)
        for key, value in changes.items():
            setattr(row, key, value)
        session.add(row)


def _scheme(**replacements: str) -> Any:
    source = DEFAULT_SCHEME_PATH.read_text(encoding="utf-8")
    for old, new in replacements.items():
        assert old in source
        source = source.replace(old, new)
    return parse_scheme(source)


# --- one voter, through the buttons -----------------------------------------------------------


async def test_full_ballot_through_buttons(town: Any, texts: Any, fake: Any) -> None:
    voter = await town.signup("吴磊")
    period = await town.open_month(2026, 11)
    mark = voter.mark()
    await voter.command("vote")

    ballot = voter.last()
    assert "民主测评（无记名）· 2026年11月" in ballot.text
    assert "第 1/2 步" in ballot.text and "已评 0/11" in ballot.text and "第 1/2 页" in ballot.text
    page_one = names_on(ballot)
    # The roster's order (each department's head first), department by department.
    assert page_one == ["李明", "周晓燕", "郑海涛", "王芳", "冯超", "陈静"]
    assert headings_on(ballot) == [
        texts.label("zh", "ballot.department", department=name)
        for name in ("党政办公室", "经济发展办公室", "社会事务办公室")
    ]
    assert ballot_row(ballot, page_one[0])[1:] == ["优秀", "良好", "及格", "不及格"]
    assert texts.label("zh", "ballot.submit_missing", n=11) in ballot.labels
    assert "◀" not in ballot.labels and "▶" in ballot.labels and "1/2" in ballot.labels
    assert all(len(d.encode()) <= 64 for d in ballot.callback_data)

    # Grade page one; change one grade on the way: only the new one is marked.
    first = page_one[0]
    await grade_one(voter, first, "good", texts)
    assert ballot_row(voter.last(), first)[1:] == ["优秀", "● 良好", "及格", "不及格"]
    await grade_one(voter, first, "excellent", texts)
    assert ballot_row(voter.last(), first)[1:] == ["● 优秀", "良好", "及格", "不及格"]
    choice = {name: GRADES[i % 4] for i, name in enumerate(page_one)}
    for name in page_one[1:]:
        await grade_one(voter, name, choice[name], texts)
    assert "已评 6/11" in voter.last().text and "还有 5 位同事未评" in voter.last().text

    # Submit while colleagues are missing: an alert naming them, nothing cast.
    answer = await voter.press(texts.label("zh", "ballot.submit_missing", n=5))
    page_two = ["褚文斌", "卫红梅", "蒋伟", "沈刚", "韩雪"]  # the rest, in the roster's order
    assert answer.show_alert and answer.text == _alert(texts, "incomplete", missing=page_two)
    assert await _rows(town, BallotParticipation) == []

    # Page two: the colleagues left; back and forth keeps the grades.
    await voter.press("▶")
    assert names_on(voter.last()) == page_two and "第 2/2 页" in voter.last().text
    assert "◀" in voter.last().labels and "▶" not in voter.last().labels
    # 社会事务办公室 goes on from page one: its heading again, then 综合治理办公室's.
    assert headings_on(voter.last()) == [
        texts.label("zh", "ballot.department", department=name)
        for name in ("社会事务办公室", "综合治理办公室")
    ]
    hidden = page_two[-1]
    for name in page_two:
        choice[name] = "pass"
        await grade_one(voter, name, "pass", texts)
    assert "已评 11/11" in voter.last().text
    await voter.press("◀")
    assert ballot_row(voter.last(), first)[1] == "● 优秀"

    # Submit: the confirmation step lists the grades; back returns to the ballot.
    await voter.press(texts.label("zh", "ballot.submit", n=11))
    confirm = voter.last()
    assert "第 2/2 步" in confirm.text and "提交后不能再更改" in confirm.text
    assert f"{first}：优秀" in confirm.text and f"{hidden}：及格" in confirm.text
    # Department by department, under their names.
    assert confirm.text.index("党政办公室\n李明：优秀") < confirm.text.index("综合治理办公室\n蒋伟")
    assert confirm.labels == [texts.label("zh", "ballot.confirm"), texts.label("zh", "ballot.back")]
    await voter.press(texts.label("zh", "ballot.back"))
    assert "第 1/2 步" in voter.last().text
    assert await _rows(town, BallotParticipation) == []
    drafts_before = await _rows(town, BallotDraft)
    assert len(drafts_before) == 11

    await voter.press(texts.label("zh", "ballot.submit", n=11))
    answer = await voter.press(texts.label("zh", "ballot.confirm"))
    assert answer.answered and not answer.show_alert

    # The receipt replaced the ballot: no buttons, no grade.
    receipt = voter.last()
    assert receipt.text == texts.render("zh", "ballot/cast", period=period, total=11)
    assert receipt.buttons == [] and not any(ZH[g] in receipt.text for g in GRADES)
    # One message all along: every step edited it.
    assert [m.message_id for m in voter.inbox_since(mark)] == [receipt.message_id]
    assert receipt.edit_count >= 17

    ids = await _ids(town, *choice)
    tallies = await _tallies(town, period)
    for name, grade in choice.items():
        assert tallies[ids[name]] == {g: int(g == grade) for g in GRADES}, name
    me = (await town.cadre("吴磊")).id
    assert tallies[me] == dict.fromkeys(GRADES, 0)
    assert await _rows(town, BallotDraft) == []
    [row] = await _rows(town, BallotParticipation)
    assert (row.period_id, row.rater_id) == (period.id, me)
    assert row.cast_on == datetime.now(town.services.settings.zone).date()


async def test_every_press_is_answered_before_the_message_is_edited(
    town: Any, texts: Any, fake: Any
) -> None:
    voter = await town.signup("吴磊")
    await town.open_month(2026, 11)
    await voter.command("vote")
    await grade_one(voter, "李明", "good", texts)
    await voter.press("▶")
    wanted = ("answercallbackquery", "editmessagetext")
    calls = [c.method.lower() for c in fake.calls if c.method.lower() in wanted]
    assert calls == list(wanted) * 2


async def test_a_second_vote_is_refused_and_shows_no_grades(town: Any, texts: Any) -> None:
    voter = await town.signup("吴磊")
    period = await town.open_month(2026, 11)
    await cast_ballot(voter, texts, lambda name: "good")
    before = await _tallies(town, period)

    await voter.command("vote")
    again = voter.last()
    assert again.text == texts.render(
        "zh", "ballot/refused", reason="cast", period=period, next=None, st={}
    )
    assert again.buttons == [] and not any(ZH[g] in again.text for g in GRADES)
    # A button kept from before (forged here) cannot change a cast ballot either.
    target = (await town.cadre("李明")).id
    answer = await voter.press_data(f"vote:set:{period.id}:{target}:fail")
    assert answer.show_alert and answer.text == _alert(texts, "cast")
    answer = await voter.press_data(f"vote:ok:{period.id}")
    assert answer.show_alert and answer.text == _alert(texts, "cast")
    assert await _tallies(town, period) == before
    assert await _rows(town, BallotDraft) == []
    assert len(await _rows(town, BallotParticipation)) == 1


# --- forged and stale presses -----------------------------------------------------------------


async def test_voting_for_oneself_is_refused(town: Any, texts: Any) -> None:
    voter = await town.signup("吴磊")
    period = await town.open_month(2026, 11)
    await voter.command("vote")
    me = (await town.cadre("吴磊")).id
    shown = voter.last()
    answer = await voter.press_data(
        f"vote:set:{period.id}:{me}:excellent", message_id=shown.message_id
    )
    assert answer.show_alert and answer.text == _alert(texts, "self")
    answer = await voter.press_data(f"vote:who:{period.id}:{me}", message_id=shown.message_id)
    assert answer.show_alert and answer.text == _alert(texts, "out_of_scope")
    assert await _rows(town, BallotDraft) == []
    assert voter.last().edit_count == shown.edit_count


async def test_forged_grades_ratees_and_periods_are_refused(town: Any, texts: Any) -> None:
    voter = await town.signup("吴磊")
    period = await town.open_month(2026, 11)
    await voter.command("vote")
    leader = (await town.cadre("赵建国")).id  # a leader: not assessed, not on any ballot
    colleague = (await town.cadre("李明")).id
    cases = {
        f"vote:set:{period.id}:{leader}:excellent": "out_of_scope",
        f"vote:set:{period.id}:999999:good": "out_of_scope",
        f"vote:set:{period.id}:{colleague}:superb": "stale",
        f"vote:set:{period.id}:{colleague}": "stale",
        f"vote:set:{period.id + 1000}:{colleague}:good": "stale",
        f"vote:pg:{period.id}": "stale",
        f"vote:zap:{period.id}": "stale",
        "vote:set:x:y:good": "stale",
    }
    for data, reason in cases.items():
        answer = await voter.press_data(data)
        assert answer.show_alert and answer.text == _alert(texts, reason), data
    assert await _rows(town, BallotDraft) == []
    assert await _rows(town, BallotParticipation) == []


async def test_department_scope_and_a_press_outside_it(town: Any, texts: Any) -> None:
    scheme = _scheme(**{'scope = "unit"': 'scope = "department"'})
    voter = await town.signup("吴磊")  # 党政办公室: 李明, 周晓燕 and 吴磊
    period = await town.open_month(2026, 11, scheme=scheme)
    await voter.command("vote")
    ballot = voter.last()
    assert sorted(names_on(ballot)) == sorted(["李明", "周晓燕"])
    assert "本部门同事" in ballot.text and "已评 0/2" in ballot.text and "页" not in ballot.text
    outsider = (await town.cadre("王芳")).id  # 经济发展办公室
    answer = await voter.press_data(f"vote:set:{period.id}:{outsider}:fail")
    assert answer.show_alert and answer.text == _alert(texts, "out_of_scope")
    assert await _rows(town, BallotDraft) == []
    given = await fill_ballot(voter, texts, lambda name: "excellent")
    assert sorted(given) == sorted(["李明", "周晓燕"])
    await voter.press(texts.label("zh", "ballot.submit", n=2))
    await voter.press(texts.label("zh", "ballot.confirm"))
    tallies = await _tallies(town, period)
    assert sum(sum(counts.values()) for counts in tallies.values()) == 2
    assert tallies[outsider] == dict.fromkeys(GRADES, 0)


async def test_a_leader_without_the_cadre_role_cannot_vote(town: Any, texts: Any) -> None:
    leader = await town.signup("赵建国")
    period = await town.open_month(2026, 11)
    await leader.command("vote")
    assert leader.last().text == texts.render("zh", "access/not_allowed", roles=["cadre"])
    target = (await town.cadre("李明")).id
    answer = await leader.press_data(f"vote:set:{period.id}:{target}:good")
    assert answer.show_alert and answer.text == texts.render("zh", "access/not_allowed_short")
    assert await _rows(town, BallotDraft) == []


# --- closed periods and months without a ballot -----------------------------------------------


async def test_a_closed_period_refuses_old_buttons_and_vote(town: Any, texts: Any) -> None:
    voter = await town.signup("吴磊")
    period = await town.open_month(2026, 11)
    await voter.command("vote")
    await grade_one(voter, "李明", "good", texts)
    shown = voter.last()
    drafts = await _rows(town, BallotDraft)

    # The deadline has passed but the scheduler has not closed the period yet: closed already.
    await _set_period(town, period, closes_at=utcnow() - timedelta(minutes=1))
    answer = await voter.press_data(
        grade_data(shown, "周晓燕", "优秀"), message_id=shown.message_id
    )
    assert answer.show_alert and answer.text == _alert(texts, "closed", period=period)

    await _set_period(town, period, state=PeriodState.CLOSED.value)
    for label in ("▶", texts.label("zh", "ballot.submit_missing", n=10), "李明"):
        answer = await voter.press(label, message=shown)
        assert answer.show_alert and answer.text == _alert(texts, "closed", period=period)
    answer = await voter.press_data(f"vote:ok:{period.id}", message_id=shown.message_id)
    assert answer.show_alert and answer.text == _alert(texts, "closed", period=period)
    await voter.command("vote")
    closes = (await town.period(period.id)).closes_at.astimezone(ZoneInfo("Asia/Shanghai"))
    st = {"last": {"year": 2026, "number": 11, "closes": closes}, "upcoming": None}
    assert voter.last().text == texts.render(
        "zh", "ballot/refused", reason="closed", period=period, next=None, st=st
    )
    # Said as /selfscore, /rate and /myscore say it (one source: appraisal.month.month_status).
    assert "2026年11月的填报已于" in voter.last().text

    assert voter.messages()[-2].edit_count == shown.edit_count
    assert await _rows(town, BallotDraft) == drafts
    assert await _rows(town, BallotParticipation) == []
    assert all(c == dict.fromkeys(GRADES, 0) for c in (await _tallies(town, period)).values())
    # Whoever closes the period discards the drafts never cast: they are not votes.
    async with transaction(town.services.sessions) as session:
        assert await ballots.discard_drafts(session=session, period_id=period.id) == 1
    assert await _rows(town, BallotDraft) == []


async def test_quarterly_cadence_says_when_the_next_ballot_is(town: Any, texts: Any) -> None:
    scheme = _scheme(**{'cadence = "monthly"': 'cadence = "quarterly"'})
    voter = await town.signup("吴磊")
    period = await town.open_month(2026, 11, scheme=scheme)
    await voter.command("vote")
    reply = voter.last().text
    assert "2026年11月的考核不进行民主测评" in reply
    assert "下一次在 2026年12月的考核中进行，2026-12-25 09:00 开启" in reply
    assert voter.last().buttons == []
    target = (await town.cadre("李明")).id
    answer = await voter.press_data(f"vote:set:{period.id}:{target}:good")
    assert answer.show_alert and answer.text == _alert(texts, "no_ballot", period=period)
    assert await _rows(town, BallotDraft) == []

    await _set_period(town, period, state=PeriodState.CLOSED.value)
    december = await town.open_month(2026, 12, scheme=scheme)
    await voter.command("vote")
    assert "2026年12月" in voter.last().text and len(names_on(voter.last())) == 6
    assert december.id != period.id


# --- double taps, replays, restarts -----------------------------------------------------------


async def test_double_tap_on_submit_and_confirm_counts_once(town: Any, texts: Any) -> None:
    voter = await town.signup("吴磊")
    period = await town.open_month(2026, 11)
    await voter.command("vote")
    await fill_ballot(voter, texts, lambda name: "good")
    sim = town.sim
    shown = ballot_message(voter)
    stored = town.sim.fake.message(voter.id, shown.message_id)

    submit = shown.button(texts.label("zh", "ballot.submit", n=11))["callback_data"]
    taps = [sim.callback_update(voter.id, submit, stored)[0] for _ in range(2)]
    await sim.feed_many(taps)
    assert "第 2/2 步" in voter.last().text

    confirm = voter.last().button(texts.label("zh", "ballot.confirm"))["callback_data"]
    taps_and_ids = [sim.callback_update(voter.id, confirm, stored) for _ in range(2)]
    await sim.feed_many([update for update, _ in taps_and_ids])
    answers = [sim.fake.callback_answer(query_id) for _, query_id in taps_and_ids]
    assert all(a is not None for a in answers)
    alerts = [a for a in answers if a and a.get("show_alert")]
    assert [a["text"] for a in alerts] == [_alert(texts, "cast")]

    tallies = await _tallies(town, period)
    assert sum(sum(c.values()) for c in tallies.values()) == 11
    assert all(c["good"] == 1 for rid, c in tallies.items() if sum(c.values()))
    assert len(await _rows(town, BallotParticipation)) == 1


async def test_two_racing_casts_count_once(town: Any, texts: Any) -> None:
    voter = await town.signup("吴磊")
    period = await town.open_month(2026, 11)
    await voter.command("vote")
    await fill_ballot(voter, texts, lambda name: "pass")
    cadre = await town.cadre("吴磊")

    async def attempt() -> str:
        try:
            async with transaction(town.services.sessions) as session:
                await ballot_service.cast(
                    session=session,
                    unit_id=town.services.unit_id,
                    voter=cadre,
                    period_id=period.id,
                    today=date(2026, 12, 1),
                    now=town.services.now(),
                )
        except ballot_service.BallotRefused as refused:
            return f"refused:{refused.reason.value}"
        return "cast"

    assert sorted(await asyncio.gather(attempt(), attempt())) == ["cast", "refused:cast"]
    tallies = await _tallies(town, period)
    assert sum(c["pass"] for c in tallies.values()) == 11
    assert sum(sum(c.values()) for c in tallies.values()) == 11
    [row] = await _rows(town, BallotParticipation)
    assert row.cast_on == date(2026, 12, 1)


async def test_a_replayed_update_counts_once(town: Any, texts: Any) -> None:
    voter = await town.signup("吴磊")
    period = await town.open_month(2026, 11)
    await cast_ballot(voter, texts, lambda name: "excellent")
    before = await _tallies(town, period)
    await town.sim.replay()  # the confirm press, delivered again by Telegram
    assert await _tallies(town, period) == before
    assert len(await _rows(town, BallotParticipation)) == 1

    # A replayed grade press on someone else's open ballot does not count twice either.
    other = await town.signup("李明")
    await other.command("vote")
    await grade_one(other, "吴磊", "fail", texts)
    edits = other.last().edit_count
    await town.sim.replay()
    assert other.last().edit_count == edits
    assert len(await _rows(town, BallotDraft)) == 1


async def test_the_ballot_survives_a_restart(
    town: Any, texts: Any, settings: Any, fake: Any
) -> None:
    voter = await town.signup("吴磊")
    period = await town.open_month(2026, 11)
    target = (await town.cadre("李明")).id
    await voter.command("vote")
    await grade_one(voter, "李明", "fail", texts)
    message_id = voter.last().message_id
    await town.sim.__aexit__(None, None, None)

    app2 = build_application(settings, request=FakeRequest(fake), rate_limit=False)
    async with Simulator(app2, fake, via="processor") as sim2:
        again = sim2.user(voter.id, "吴磊")
        await again.press("▶", message=message_id)
        assert names_on(again.last())[-1] == "韩雪" and "已评 1/11" in again.last().text
        await again.press("◀", message=message_id)
        assert ballot_row(again.last(), "李明")[4] == "● 不及格"
        await fill_ballot(again, texts, lambda name: "pass")
        await again.press(texts.label("zh", "ballot.submit", n=11), message=message_id)
        await again.press(texts.label("zh", "ballot.confirm"), message=message_id)
        assert again.last().message_id == message_id
        async with app2.services.sessions() as session:
            tallies = await ballots.tallies(session=session, period_id=period.id)
    assert tallies[target]["pass"] == 1 and tallies[target]["fail"] == 0
    assert sum(sum(c.values()) for c in tallies.values()) == 11


# --- several voters, English, secrecy ---------------------------------------------------------


VOTERS = ("吴磊", "李明", "王芳", "陈静", "韩雪")


def _taste(voter: str) -> Any:
    """A deterministic, voter-specific grade for each colleague."""
    return lambda name: GRADES[(len(voter) * 7 + ord(voter[0]) + ord(name[-1])) % 4]


async def test_several_voters_tallies_are_the_sum_of_their_ballots(town: Any, texts: Any) -> None:
    period = await town.open_month(2026, 11)
    expected: Counter[tuple[str, str]] = Counter()
    for name in VOTERS:
        voter = await town.signup(name)
        given = await cast_ballot(voter, texts, _taste(name))
        assert len(given) == 11 and name not in given
        expected.update(given.items())

    ids = await _ids(town, *{ratee for ratee, _ in expected})
    tallies = await _tallies(town, period)
    for (ratee, grade), n in expected.items():
        assert tallies[ids[ratee]][grade] == n
    assert sum(sum(c.values()) for c in tallies.values()) == sum(expected.values()) == 55
    async with town.services.sessions() as session:
        voted = await ballots.participation(session=session, period_id=period.id)
    assert voted == set((await _ids(town, *VOTERS)).values())
    # What the scoring reads: e.g. 王芳 was graded by the four other voters.
    score = democratic_score(tallies[ids["王芳"]], scheme_of(period).democratic_rules())
    assert score.tally.total == 4


async def test_the_ballot_in_english(town: Any, texts: Any) -> None:
    voter = await town.signup("吴磊")
    await voter.command("lang", "en")
    period = await town.open_month(2026, 11)
    await voter.command("vote")
    ballot = voter.last()
    assert "Democratic evaluation (secret ballot) · November 2026" in ballot.text
    assert "Graded 0/11 · page 1/2" in ballot.text
    assert ballot_row(ballot, "李明")[1:] == ["Exc.", "Good", "Pass", "Fail"]
    await grade_one(voter, "李明", "good", texts, lang="en")
    assert ballot_row(voter.last(), "李明")[2] == "● Good"
    answer = await voter.press("Submit (10 still", message=voter.last())
    assert answer.show_alert and answer.text.startswith("10 still to grade: ")
    answer = await voter.press("李明", message=voter.last())
    assert answer.text == "李明: “Good” chosen" and not answer.show_alert
    assert period.id is not None


async def test_secrecy_nothing_links_a_rater_to_a_grade(
    town: Any, texts: Any, caplog: Any, backend: str
) -> None:
    caplog.set_level(logging.INFO)
    period = await town.open_month(2026, 11)
    voters = {name: await town.signup(name) for name in VOTERS[:4]}
    everyone = await _ids(town, *VOTERS, "李明", "周晓燕", "郑海涛", "冯超", "褚文斌", "卫红梅")
    # One voter leaves a draft and never casts: drafts are theirs until they cast.
    for name, voter in voters.items():
        if name != "陈静":
            await cast_ballot(voter, texts, _taste(name))
    await voters["陈静"].command("vote")
    await grade_one(voters["陈静"], "李明", "fail", texts)

    # The tables: tallies carry no rater, time or serial; participation carries no grade.
    async with town.services.engine.connect() as connection:
        columns = await connection.run_sync(
            lambda sync: {
                table: {c["name"] for c in inspect(sync).get_columns(table)}
                for table in ("ballot_tally", "ballot_participation", "ballot_draft")
            }
        )
    assert columns["ballot_tally"] == {"period_id", "ratee_id", "grade", "count"}
    assert columns["ballot_participation"] == {"id", "unit_id", "period_id", "rater_id", "cast_on"}
    # Only the uncast draft remains, and it is the drafter's own.
    drafts = await _rows(town, BallotDraft)
    assert [(d.rater_id, d.ratee_id, d.grade) for d in drafts] == [
        (everyone["陈静"], everyone["李明"], "fail")
    ]
    for row in await _rows(town, BallotParticipation):
        assert set(row.model_dump()) == {"id", "unit_id", "period_id", "rater_id", "cast_on"}
    if backend == "postgresql":
        # Every cast rewrites every tally row of the period: the row versions all carry the same
        # writing transaction, so matching them against a participation row reveals nothing.
        async with town.services.engine.connect() as connection:
            stamps = (
                await connection.execute(
                    text("select distinct xmin::text from ballot_tally where period_id = :p"),
                    {"p": period.id},
                )
            ).all()
        assert len(stamps) == 1

    # The audit log says nothing about votes; the persisted chat state holds no ballot.
    for entry in await _rows(town, AuditLog):
        assert "ballot" not in entry.action and "vote" not in entry.action
        blob = f"{entry.entity} {entry.old_value} {entry.new_value} {entry.reason}"
        assert not any(grade in blob for grade in GRADES)
    for row in [*await _rows(town, PersistedData), *await _rows(town, PersistedConversation)]:
        assert not any(grade in str(row.model_dump()) for grade in GRADES)

    # The log: one line per update, "button vote:<action>", never a ratee or a grade.
    lines = [r.getMessage() for r in caplog.records]
    assert any("button vote:set -> vote:draft" in line for line in lines)
    assert any("button vote:ok -> vote:cast" in line for line in lines)
    names = set(everyone)
    words = {*GRADES, *ZH.values()}
    for line in lines:
        assert "vote:set:" not in line and "vote:who:" not in line, line
        if "vote" in line:
            assert not any(word in line for word in words), line
        if any(word in line for word in words):
            assert not any(name in line for name in names), line


# --- on a phone: order, departments, namesakes, width -----------------------------------------


async def _with_namesakes(town: Any, tmp_path: Path) -> None:
    """The example roster with two more people called 张伟, in two departments."""
    rows = (ROOT / "examples" / "roster.csv").read_text(encoding="utf-8-sig").splitlines()
    rows.insert(7, "张伟,党政办公室,干部,科员,,,")  # after 吴磊
    rows.append("张伟,综合治理办公室,干部,网格员,,,")
    path = tmp_path / "roster.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    await town.import_roster(path)


async def test_namesakes_carry_their_department_on_the_ballot_and_its_confirmation(
    town: Any, texts: Any, tmp_path: Path
) -> None:
    await _with_namesakes(town, tmp_path)
    voter = await town.signup("李明")
    await town.open_month(2026, 11)
    await voter.command("vote")
    office = texts.label("zh", "person.namesake", name="张伟", department="党政办公室")
    order = texts.label("zh", "person.namesake", name="张伟", department="综合治理办公室")
    assert names_on(voter.last())[:3] == ["周晓燕", "吴磊", office]
    assert "张伟" not in names_on(voter.last())
    answer = await voter.press(office)
    assert answer.text == texts.render_plain("zh", "ballot/who_short", name=office, grade=None)

    given = await fill_ballot(voter, texts, lambda name: "excellent" if name == office else "pass")
    assert given[office] == "excellent" and given[order] == "pass"
    await voter.press(texts.label("zh", "ballot.submit", n=len(given)))
    confirm = voter.last().text
    assert f"{office}：优秀" in confirm and f"{order}：及格" in confirm
    assert "\n张伟：" not in confirm

    # Their tallies are each their own.
    await voter.press(texts.label("zh", "ballot.confirm"))
    async with town.services.sessions() as session:
        both = (await session.exec(select(Cadre).where(Cadre.name == "张伟"))).all()
    tallies = await _tallies(town, await _november(town))
    by_department = {c.department_id: tallies[c.id] for c in both}
    assert sorted(t["excellent"] for t in by_department.values()) == [0, 1]
    assert sorted(t["pass"] for t in by_department.values()) == [0, 1]


async def test_a_missing_namesake_is_named_with_the_department(
    town: Any, texts: Any, tmp_path: Path
) -> None:
    await _with_namesakes(town, tmp_path)
    await town.open_month(2026, 11)
    order = texts.label("zh", "person.namesake", name="张伟", department="综合治理办公室")
    skipper = await town.signup("王芳")  # grades everyone but the second 张伟
    await skipper.command("vote")
    while True:
        for name in names_on(ballot_message(skipper)):
            if name != order:
                await grade_one(skipper, name, "good", texts)
        if texts.label("zh", "ballot.next") not in ballot_message(skipper).labels:
            break
        await skipper.press(texts.label("zh", "ballot.next"), message=ballot_message(skipper))
    answer = await skipper.press(
        texts.label("zh", "ballot.submit_missing", n=1), message=ballot_message(skipper)
    )
    assert answer.show_alert and answer.text == _alert(texts, "incomplete", missing=[order])


async def test_every_row_of_the_ballot_fits_a_small_phone(
    town: Any, texts: Any, tmp_path: Path
) -> None:
    from bot.chat.keyboards import row_fits

    await _with_namesakes(town, tmp_path)
    period = await town.open_month(2026, 11)
    for lang in ("zh", "en"):
        voter = await town.signup("吴磊" if lang == "zh" else "王芳")
        await voter.command("lang", lang)
        await voter.command("vote")
        # The widest labels: "fail" chosen everywhere, the namesakes' departments.
        given = await fill_ballot(voter, texts, lambda name: "fail", lang)
        while texts.label(lang, "ballot.prev") in ballot_message(voter).labels:
            await voter.press(texts.label(lang, "ballot.prev"), message=ballot_message(voter))
        pages = [ballot_message(voter)]
        while texts.label(lang, "ballot.next") in pages[-1].labels:
            await voter.press(texts.label(lang, "ballot.next"), message=pages[-1])
            pages.append(ballot_message(voter))
        assert sum(len(names_on(page)) for page in pages) == len(given) == 13
        for page in pages:
            for row in page.buttons:
                assert row_fits(row), (lang, row)
            grades = [row for row in page.buttons if len(row) == 4]
            assert len(grades) == len(names_on(page))
            fail = texts.label(lang, "ballot.short.fail")
            assert all(row[3] == texts.label(lang, "ballot.chosen", grade=fail) for row in grades)
        # A department's heading stands alone and, pressed, says how far its people are graded.
        heading = headings_on(pages[0])[0]
        assert [heading] in pages[0].buttons
        data = str(pages[0].button(heading)["callback_data"])
        answer = await voter.press_data(data, message_id=pages[0].message_id)
        assert not answer.show_alert and answer.text
    assert period.id is not None
