"""The scheduler runs the calendar by itself: a whole quarter of the example town on a clock the
test moves by hand, through the real Application, the outbox and the fake Bot API.

Nothing sleeps: the test sets the clock to the next event and lets the scheduler run what is
due (``Scheduler.run_until_idle``: the events, then every message they queued).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from bot.appraisal import periods as appraisal
from bot.appraisal.progress import month_snapshot
from bot.core.clock import ManualClock
from bot.core.scheme_file import default_scheme
from storage.engine import transaction
from storage.models import OutboxMessage, Period, PeriodState, Result
from storage.queries import calendar as calendar_q
from storage.queries import periods as periods_q
from tests.harness.appraisal import cast_for, submit_self

SH = ZoneInfo("Asia/Shanghai")
UNSIGNED = "韩雪"
ON_LEAVE = "王芳"
SCORES = {"duty": "85", "central": "90"}
VILLAGE = {"duty": "85", "central": "90", "village": "80"}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 7, 24, 8, 0, tzinfo=SH))


class Walk:
    """Moves the clock from event to event and keeps what was sent, event by event."""

    def __init__(self, town: Any, clock: ManualClock) -> None:
        self.town = town
        self.clock = clock
        self.scheduler = town.app.scheduler
        self.seen = 0
        self.events: list[tuple[str, str]] = []  # (local time, event name with period code)
        self.sent: dict[str, dict[str, list[str]]] = {}  # event -> kind -> recipients
        self.order: list[str] = []  # events in the order their messages went out

    async def codes(self) -> dict[int, str]:
        async with self.town.services.sessions() as session:
            periods = await periods_q.list_periods(session=session, unit_id=self.town.services.unit)
        return {p.id or 0: p.code for p in periods}

    async def next(self) -> list[str]:
        """Go to the next moment something is due and run it; return the events that ran."""
        pending = await self.scheduler.pending_events()
        now = self.clock.now()
        upcoming = [e for e in pending if e.due > now]
        assert upcoming, "nothing left on the calendar"
        self.clock.set(upcoming[0].due)
        ran = await self.scheduler.run_until_idle()
        codes = await self.codes()
        names = []
        for r in ran:
            if r.outcome is None or r.outcome.outcome in ("waiting", "skipped"):
                continue
            name = (
                f"{r.event.key.split(':')[0]}:{r.event.key.split(':')[1]}"
                if r.event.key.startswith("remind")
                else r.event.key
            )
            label = f"{name}@{codes[r.event.period_id]}"
            names.append(label)
            self.events.append((self.clock.now().astimezone(SH).strftime("%m-%d %H:%M"), label))
        await self._collect(ran, codes)
        return names

    async def _collect(self, ran: Any, codes: dict[int, str]) -> None:
        async with self.town.services.sessions() as session:
            rows = (
                await session.exec(
                    select(OutboxMessage)
                    .where(col(OutboxMessage.id) > self.seen)
                    .order_by(col(OutboxMessage.id))
                )
            ).all()
            people = {c.id: c.name for c in await _everyone(session, self.town.services.unit)}
        for row in rows:
            self.seen = max(self.seen, row.id or 0)
            assert row.state == "sent", (row.key, row.state, row.last_error)
            event = _label(row.event, codes)
            if event not in self.order:
                self.order.append(event)
            self.sent.setdefault(event, defaultdict(list))[row.kind].append(people[row.cadre_id])

    async def until(self, label: str) -> None:
        while label not in await self.next():
            pass


def _label(event: str, codes: dict[int, str]) -> str:
    key, _, period = event.rpartition("@")
    if key.startswith("remind:"):
        key = ":".join(key.split(":")[:2])
    return f"{key}@{codes.get(int(period), period)}" if period.isdigit() else event


async def _everyone(session: Any, unit_id: int) -> list[Any]:
    from storage.queries.roster import list_cadres

    return await list_cadres(session=session, unit_id=unit_id)


async def _month(town: Any, code: str) -> Period:
    async with town.services.sessions() as session:
        found = await periods_q.find_period(session=session, unit_id=town.services.unit, code=code)
    assert found is not None
    return found


async def _do_the_month(
    town: Any, code: str, *, late: set[str], no_ballot: set[str], idle_raters: set[str]
) -> None:
    """Everyone self-scores, rates and votes, except ``late`` (self), ``no_ballot`` and the
    ``idle_raters`` (who rate nobody)."""
    period = await _month(town, code)
    async with town.services.sessions() as session:
        snapshot = await month_snapshot(session=session, period=period)
    for person in snapshot.people:
        name = person.cadre.name
        if name not in late:
            await submit_self(town, period, name, VILLAGE if person.cadre.village else SCORES)
        rater = person.raters[0].name if person.raters else None
        if rater and rater not in idle_raters:
            await submit_self(
                town, period, name, VILLAGE if person.cadre.village else SCORES, rater=rater
            )
        if name not in no_ballot and name != UNSIGNED:
            await cast_for(town, period, name)


async def test_a_quarter_runs_by_itself(town: Any, clock: ManualClock, fake: Any) -> None:
    services = town.services
    wang = await town.cadre(ON_LEAVE)
    async with transaction(services.sessions) as session:
        await appraisal.create_year(
            session=session,
            unit_id=services.unit,
            year=2026,
            scheme=default_scheme(),
            now=clock.now(),
        )
        await calendar_q.add_leave(
            session=session,
            unit_id=services.unit,
            cadre_id=wang.id,
            starts_on=date(2026, 8, 1),
            ends_on=date(2026, 8, 10),
            reason="病假",
            created_by="test",
            now=clock.now(),
        )
    names = [c.name for c in await _roster(town)]
    for name in names:
        if name != UNSIGNED:
            await town.signup(name)
    walk = Walk(town, clock)
    greetings = len([c for c in fake.calls_to("sendMessage") if c.ok])

    # July opens: everyone with something to do hears what, until when; the office hears who
    # never signed up.
    assert await walk.next() == ["open@2026-07"]
    opening = walk.sent["open@2026-07"]
    signed = set(names) - {UNSIGNED}
    assert set(opening["opening"]) == signed
    assert opening["unsigned"] == ["周晓燕"]
    july = await _month(town, "2026-07")
    await _do_the_month(
        town,
        "2026-07",
        late={"冯超", "沈刚", ON_LEAVE},
        no_ballot={"冯超", ON_LEAVE},
        idle_raters={"蒋伟"},
    )

    # Reminders go only to the late, never to a person on leave; heads get their own people.
    assert await walk.next() == ["remind:3d@2026-07"]
    first = walk.sent["remind:3d@2026-07"]
    assert sorted(first["reminder"]) == sorted(["冯超", "蒋伟", "沈刚"])
    assert sorted(first["digest"]) == sorted(["郑海涛", "蒋伟"])
    assert first["participation"] == ["周晓燕"]
    await submit_self(town, july, "沈刚", SCORES)
    assert await walk.next() == ["remind:1d@2026-07"]
    assert walk.sent["remind:1d@2026-07"]["reminder"] == ["冯超", "蒋伟"]
    assert await walk.next() == ["remind:2h@2026-07"]
    assert walk.sent["remind:2h@2026-07"]["reminder"] == ["冯超", "蒋伟"]

    # The deadline: scored, the office's summary, each cadre's own result.
    assert await walk.next() == ["close@2026-07"]
    closing = walk.sent["close@2026-07"]
    assert closing["summary"] == ["周晓燕"]
    assessed_signed = signed - {"赵建国", "钱志强", "孙丽华"}
    assert set(closing["result"]) == assessed_signed
    july = await _month(town, "2026-07")
    assert july.state == PeriodState.CLOSED
    results = await _results(town, july)
    assert (
        "self_excused" in results[ON_LEAVE].flags and "self_missing" not in results[ON_LEAVE].flags
    )
    assert "self_missing" in results["冯超"].flags
    assert "owes_ratings" in results["蒋伟"].flags

    # August: the deadline of Saturday 5 September moves to Monday the 7th.
    assert await walk.next() == ["open@2026-08"]
    august = await _month(town, "2026-08")
    assert august.closes_at.astimezone(SH) == datetime(2026, 9, 7, 18, 0, tzinfo=SH)
    await _do_the_month(town, "2026-08", late=set(), no_ballot=set(), idle_raters={"蒋伟"})
    await walk.until("close@2026-08")
    for key in ("remind:3d@2026-08", "remind:1d@2026-08", "remind:2h@2026-08"):
        assert walk.sent[key]["reminder"] == ["蒋伟"], key
        assert "digest" not in walk.sent[key] or walk.sent[key]["digest"] == ["蒋伟"]

    # September: the deadline of Monday 5 October (National Day) moves to Thursday the 8th;
    # the reminders due during the holiday go on its first working morning, as one.
    assert await walk.next() == ["open@2026-09"]
    september = await _month(town, "2026-09")
    assert september.closes_at.astimezone(SH) == datetime(2026, 10, 8, 18, 0, tzinfo=SH)
    await _do_the_month(town, "2026-09", late=set(), no_ballot=set(), idle_raters=set())
    assert await walk.next() == ["remind:3d@2026-09"]
    assert "reminder" not in walk.sent.get("remind:3d@2026-09", {})  # nobody is late
    assert await walk.next() == ["remind:2h@2026-09"]

    # The quarter closes with its last month and goes to review; unreviewed, it is published
    # when the review window ends.
    assert await walk.next() == ["close@2026-09", "close@2026-Q3"]
    quarter = await _month(town, "2026-Q3")
    assert quarter.state == PeriodState.IN_REVIEW
    assert await walk.next() == ["publish@2026-Q3"]
    quarter = await _month(town, "2026-Q3")
    assert quarter.state == PeriodState.PUBLISHED
    # Published, the quarter is announced at once (its reports: with no leadership group bound
    # in this town, the summary and the files go to the office, with a note saying so).
    await walk._collect(await walk.scheduler.run_until_idle(), await walk.codes())

    assert walk.events == [
        ("07-25 09:00", "open@2026-07"),
        ("08-03 08:00", "remind:3d@2026-07"),
        ("08-04 18:00", "remind:1d@2026-07"),
        ("08-05 16:00", "remind:2h@2026-07"),
        ("08-05 18:00", "close@2026-07"),
        ("08-25 09:00", "open@2026-08"),
        ("09-04 18:00", "remind:3d@2026-08"),
        ("09-07 08:00", "remind:1d@2026-08"),
        ("09-07 16:00", "remind:2h@2026-08"),
        ("09-07 18:00", "close@2026-08"),
        ("09-25 09:00", "open@2026-09"),
        ("10-08 08:00", "remind:3d@2026-09"),
        ("10-08 16:00", "remind:2h@2026-09"),
        ("10-08 18:00", "close@2026-09"),
        ("10-08 18:00", "close@2026-Q3"),
        ("10-13 18:00", "publish@2026-Q3"),
    ]
    # Every message, to whom, event by event in the order they went out.
    everyone = ["冯超", "卫红梅", "吴磊", "周晓燕", "孙丽华", "李明", "沈刚", "王芳", "蒋伟"]
    everyone += ["褚文斌", "赵建国", "郑海涛", "钱志强", "陈静"]
    cadres = sorted(set(everyone) - {"孙丽华", "赵建国", "钱志强"})
    opening = {"opening": sorted(everyone), "unsigned": ["周晓燕"]}
    closing = {"summary": ["周晓燕"], "result": cadres}
    office = ["周晓燕"]
    expected = {
        "open@2026-07": opening,
        "remind:3d@2026-07": {
            "reminder": ["冯超", "沈刚", "蒋伟"],
            "digest": ["蒋伟", "郑海涛"],
            "participation": office,
        },
        "remind:1d@2026-07": {
            "reminder": ["冯超", "蒋伟"],
            "digest": ["郑海涛"],
            "participation": office,
        },
        "remind:2h@2026-07": {
            "reminder": ["冯超", "蒋伟"],
            "digest": ["郑海涛"],
            "participation": office,
        },
        "close@2026-07": closing,
        "open@2026-08": opening,
        "remind:3d@2026-08": {"reminder": ["蒋伟"], "participation": office},
        "remind:1d@2026-08": {"reminder": ["蒋伟"], "participation": office},
        "remind:2h@2026-08": {"reminder": ["蒋伟"], "participation": office},
        "close@2026-08": closing,
        "open@2026-09": opening,
        "remind:3d@2026-09": {"participation": office},
        "remind:2h@2026-09": {"participation": office},
        "close@2026-09": closing,
        "close@2026-Q3": {"review": ["赵建国", "钱志强"]},
        "announce@2026-Q3": {
            "unbound": office,
            "summary": office,
            "chart": office,
            "sheet": office,
            "result": cadres,
        },
    }
    assert walk.order == list(expected)
    assert {
        e: {k: sorted(v) for k, v in kinds.items()} for e, kinds in walk.sent.items()
    } == expected
    # Every queued message reached Telegram, once.
    sent = [
        c
        for method in ("sendMessage", "sendPhoto", "sendDocument")
        for c in fake.calls_to(method)
        if c.ok
    ][greetings:]
    async with services.sessions() as session:
        rows = (await session.exec(select(OutboxMessage))).all()
    assert len({r.key for r in rows}) == len(rows)
    assert sum(1 for r in rows if r.state == "sent") == len(sent)


async def _roster(town: Any) -> list[Any]:
    async with town.services.sessions() as session:
        return await _everyone(session, town.services.unit)


async def _results(town: Any, period: Period) -> dict[str, Result]:
    people = {c.id: c.name for c in await _roster(town)}
    async with town.services.sessions() as session:
        rows = (await session.exec(select(Result).where(Result.period_id == period.id))).all()
    return {people[r.cadre_id]: r for r in rows}


async def _second_bot(settings: Any, fake: Any, clock: ManualClock) -> Any:
    """Another Application on the same database, Telegram and clock (a restart, or a second
    process sharing a PostgreSQL database)."""
    from bot.app import build_application, build_services
    from bot.emulator.request import FakeRequest
    from bot.emulator.simulator import Simulator

    services = build_services(settings, clock=clock)
    app = build_application(
        settings, request=FakeRequest(fake), rate_limit=False, services=services
    )
    return Simulator(app, fake, via="processor")


async def _year_with_people(town: Any) -> list[str]:
    await town.create_years(2026)
    names = [c.name for c in await _roster(town) if c.name != UNSIGNED]
    for name in names:
        await town.signup(name)
    return names


async def test_a_restart_across_the_deadline_closes_once_and_sends_nothing_twice(
    town: Any, sim: Any, clock: ManualClock, fake: Any, settings: Any
) -> None:
    await _year_with_people(town)
    walk = Walk(town, clock)
    assert await walk.next() == ["open@2026-07"]
    assert await walk.next() == ["remind:3d@2026-07"]
    reminded = len(walk.sent["remind:3d@2026-07"]["reminder"])
    assert reminded > 0

    # The bot stops between the first reminder and the deadline, and starts after it.
    await sim.__aexit__(None, None, None)
    clock.set(datetime(2026, 8, 6, 9, 0, tzinfo=SH))
    async with await _second_bot(settings, fake, clock) as second:
        scheduler = second.app.scheduler
        await scheduler.run_until_idle()
        async with second.app.services.sessions() as session:
            events = await calendar_q.events_of_unit(
                session=session, unit_id=second.app.services.unit
            )
            july = await periods_q.find_period(
                session=session, unit_id=second.app.services.unit, code="2026-07"
            )
            rows = (await session.exec(select(OutboxMessage))).all()
        outcomes = {e.key.split(":2026")[0]: e.outcome for e in events if e.period_id == july.id}
        # The missed reminders are superseded by the deadline, which ran once, at start-up.
        assert outcomes == {
            "open": "done",
            "remind:3d": "done",
            "remind:1d": "superseded",
            "remind:2h": "superseded",
            "close": "done",
        }
        assert july.state == PeriodState.CLOSED
        kinds = [r.kind for r in rows]
        assert kinds.count("reminder") == reminded
        assert kinds.count("summary") == 1
        assert len({r.key for r in rows}) == len(rows)
        assert all(r.state == "sent" for r in rows)
        # A second start finds nothing to do.
        assert [r for r in await scheduler.tick() if r.outcome is not None] == []
    await town.services.engine.dispose()


async def test_an_event_that_died_half_way_is_taken_over_after_its_lease(
    town: Any, clock: ManualClock, fake: Any
) -> None:
    await _year_with_people(town)
    scheduler = town.app.scheduler
    july = await _month(town, "2026-07")
    clock.set(july.opens_at)
    # Another process claimed the opening and died before its work committed.
    async with transaction(town.services.sessions) as session:
        claim = await calendar_q.claim_event(
            session=session,
            unit_id=town.services.unit,
            period_id=july.id,
            key="open",
            due_at=july.opens_at,
            owner="other:1:dead",
            now=clock.now(),
        )
    assert claim is not None
    await scheduler.run_until_idle()
    assert (await _month(town, "2026-07")).state == PeriodState.SCHEDULED  # within its lease
    clock.advance(calendar_q.LEASE)
    clock.advance(calendar_q.LEASE / 10)
    await scheduler.run_until_idle()
    assert (await _month(town, "2026-07")).state == PeriodState.OPEN
    async with town.services.sessions() as session:
        rows = (
            await session.exec(select(OutboxMessage).where(OutboxMessage.kind == "opening"))
        ).all()
    assert len(rows) == len({r.cadre_id for r in rows}) > 0


async def test_two_bots_on_one_database_send_each_message_once(
    town: Any, clock: ManualClock, fake: Any, settings: Any
) -> None:
    names = await _year_with_people(town)
    july = await _month(town, "2026-07")
    async with await _second_bot(settings, fake, clock) as second:
        second.app.sender.pacer = town.app.sender.pacer
        # Both bots wake to the same moments: the opening, the first reminder, the deadline.
        clock.set(july.opens_at)
        await asyncio.gather(
            town.app.scheduler.run_until_idle(), second.app.scheduler.run_until_idle()
        )
        pending = await town.app.scheduler.pending_events()
        first = next(e.due for e in pending if e.key.startswith("remind"))
        for moment in (first, july.closes_at):
            clock.set(moment)
            await asyncio.gather(
                town.app.scheduler.run_until_idle(), second.app.scheduler.run_until_idle()
            )
            await asyncio.gather(town.app.sender.flush(), second.app.sender.flush())
    sent = [
        (c.params["chat_id"], c.params.get("text")) for c in fake.calls_to("sendMessage") if c.ok
    ]
    for words, people in (
        ("考核开始了", len(names)),
        ("考核提醒", None),
        ("月度得分已经算出", None),
    ):
        chats = [chat for chat, text in sent if words in str(text)]
        assert chats, words
        assert len(chats) == len(set(chats)), f"{words}: someone got it twice"
        if people is not None:
            assert len(chats) == people
    async with town.services.sessions() as session:
        events = await calendar_q.events_of_unit(session=session, unit_id=town.services.unit)
    july_events = [e for e in events if e.period_id == july.id]
    assert {e.key.split(":")[0] for e in july_events} == {"open", "remind", "close"}
    assert len({e.key for e in july_events}) == len(july_events)


async def test_broadcast_through_429_timeouts_5xx_and_blocked_people(
    town: Any, clock: ManualClock, fake: Any
) -> None:
    names = await _year_with_people(town)
    app = town.app
    app.sender.backoff = 0.01  # the backoff's real seconds: kept short here
    july = await _month(town, "2026-07")
    blocked = town.users["冯超"]
    gone = town.users["沈刚"]  # a chat Telegram no longer knows (the account was deleted)
    fake.block(blocked.id)
    fake.fail_next("sendMessage", 400, "Bad Request: chat not found", chat_id=gone.id, times=9)
    fake.fail_next("sendMessage", 429, retry_after=1)
    fake.fail_next("sendMessage", timeout=True, deliver=True)  # delivered, but the answer is lost
    fake.fail_next("sendMessage", timeout=True)  # not delivered: tried again, arrives once
    fake.fail_next("sendMessage", 502, times=3)
    clock.set(july.opens_at)
    await app.scheduler.run_until_idle()

    stats = app.sender.stats
    assert (stats.rate_limited, stats.timed_out, stats.unreachable) == (1, 2, 2)
    openings = {
        user.id: count
        for user in town.users.values()
        if (count := sum(1 for m in user.messages() if "考核开始了" in m.text))
    }
    reached = {town.users[n].id for n in names} - {blocked.id, gone.id}
    assert set(openings) == reached  # everyone but those who cannot be reached
    # One message was delivered twice: its first try timed out after delivering, and a lost
    # opening would be worse. The sender counts it.
    assert sorted(openings.values()).count(2) == 1
    assert stats.possible_duplicates == 2  # both timed-out tries are counted as possible
    # The office hears who was not reached, and why.
    clerk = town.users["周晓燕"]
    report = next(m for m in clerk.messages() if "没有送达" in m.text)
    assert "冯超" in report.text and "屏蔽" in report.text and "沈刚" in report.text

    # A reminder that keeps failing is given up after a bounded number of tries, and reported.
    july = await _month(town, "2026-07")
    async with town.services.sessions() as session:
        snapshot = await month_snapshot(session=session, period=july)
    for person in snapshot.people:
        if person.cadre.name != "吴磊":
            await submit_self(
                town, july, person.cadre.name, VILLAGE if person.cadre.village else SCORES
            )
    fake.fail_next("sendMessage", 502, times=app.sender.max_attempts, chat_id=town.users["吴磊"].id)
    events = [e for e in await app.scheduler.pending_events() if e.key.startswith("remind:3d")]
    clock.set(events[0].due)
    await app.scheduler.run_until_idle()
    async with town.services.sessions() as session:
        rows = (
            await session.exec(select(OutboxMessage).where(OutboxMessage.kind == "reminder"))
        ).all()
    wu_id = (await town.cadre("吴磊")).id
    wu = next(r for r in rows if r.cadre_id == wu_id)
    assert (wu.state, wu.attempts) == ("failed", app.sender.max_attempts)
    report = [m for m in clerk.messages() if "没有送达" in m.text][-1]
    assert "吴磊" in report.text and "发送多次失败" in report.text
