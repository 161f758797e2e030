"""``kaohe demo``: a whole quarter of a town, played by itself in the sandbox, then stopped.

The bot is the sandbox's (:class:`~bot.sandbox.sandbox.Sandbox`: the real Application on the
in-process fake Telegram, a fresh SQLite file of its own), and so are its people: each is the
sandbox's simulated Telegram user (:meth:`Sandbox.person`), who types and presses buttons by
label as a person does. Nothing here writes what a person does to the database: the self-score
goes through ``/selfscore``'s questions (or the opening message's button), ratings through
``/rate``'s buttons, ballots through ``/vote``, the office's records through ``/discipline`` and
``/reward``, the review through the review message's buttons and typed reasons, the appeal
through the result's Appeal button. The demo only reads, to choose whom to play (who rates whom,
the quarter's scores) and to tell the story.

People behave like people, drawn from ``random.Random(seed)``: most answer within a few days of
the opening message, some only after a reminder, one never; one changes an answer before
submitting, one types nonsense first and gets the one-line correction; a head forgets one
rating in one month; the office records a violation and a reward; a reviewing leader adjusts
one score with a reason and the chair publishes; one cadre appeals and a leader answers.

The clock stands still between the demo's moves (its ``monotonic`` never advances), so a seed
replays the same chats: the demo moves it to each person's moment, and the calendar's openings,
reminders, deadlines, publication and the end of the public notice run on the way, through the
bot's own scheduler. The sender is not paced as for Telegram (the fake Telegram is in-process).

Each simulated day is told in one line with a progress bar (plain text, no TTY needed), with the
day's key moments under it; :mod:`bot.sandbox.export` then writes the quarter's sheet, the chart
and every chat as one HTML page.
"""

from __future__ import annotations

import heapq
import random
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from bot.appraisal.progress import month_snapshot
from bot.core.config import Settings
from bot.core.scheme_file import read_scheme
from bot.emulator.simulator import SimMessage, SimUser
from bot.jobs.sender import Pacer
from bot.rules.calendar import Event, EventKind
from bot.rules.roles import Role
from bot.rules.scheme import Scheme
from bot.sandbox.export import Outputs, write_outputs
from bot.sandbox.sandbox import Sandbox, TownFiles
from storage.models import Cadre, Period, Result
from storage.queries import calendar as calendar_q
from storage.queries import periods as periods_q
from storage.queries import results as results_q

__all__ = ["DemoError", "DemoOptions", "Moment", "Played", "Quarter", "run_demo", "still"]

#: What a person is said to do (``say("cli/demo_moment", ...)``): a template and its values.
Say = Callable[..., None]

#: When people are at their desks (local time, Monday to Friday).
DESK_OPENS = time(8, 30)
DESK_CLOSES = time(18, 0)
#: When they still answer their phone (an evening, a weekend).
AWAKE = time(8, 0)
ASLEEP = time(22, 0)
#: The score buttons a rater presses (as the rating message shows them).
SCORE_BUTTONS = (95, 90, 85, 80, 75, 70, 60)
#: The violation the office records (the example scheme's key of a lateness).
LATE = "late"
#: The width of the progress bar, in characters.
BAR = 24
#: A quarter that has not ended after this many simulated days is a bug, not a slow town.
MAX_DAYS = 200


def still() -> float:
    """The real time of the demo's clock: it stands still, so it moves only when moved."""
    return 0.0


class DemoError(RuntimeError):
    """A person could not go on: the bot did not ask or show what a person expected."""


@dataclass(frozen=True)
class DemoOptions:
    """What ``kaohe demo`` was asked for."""

    out: Path = Path("demo-output")
    lang: str = "zh"
    seed: int = 1
    months: int = 3


@dataclass(frozen=True)
class Moment:
    """A key moment of a day, told under the day's line (``kind`` picks the words)."""

    at: datetime
    kind: str
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class Quarter:
    """What happened to the quarter (for the story's end and for whoever checks the demo)."""

    code: str | None = None
    adjusted: str | None = None
    adjuster: str | None = None
    delta: str | None = None
    reason: str | None = None
    appellant: str | None = None
    answerer: str | None = None
    upheld: bool | None = None
    new_score: str | None = None


@dataclass
class Played:
    """The demo's run: the months played, the quarter, every moment told, the files written."""

    months: list[str] = field(default_factory=list)
    quarter: Quarter = field(default_factory=Quarter)
    moments: list[Moment] = field(default_factory=list)
    days: int = 0
    outputs: Outputs | None = None


@dataclass(order=True)
class _Action:
    when: datetime
    order: int
    run: Callable[[], Awaitable[None]] = field(compare=False)


@dataclass
class _Person:
    """A cadre of the town as the demo plays them: how good their month is (their merit), and
    the parts the seed gave them."""

    cadre: Cadre
    department: str
    merit: float

    @property
    def name(self) -> str:
        return self.cadre.name


class Demo:
    """Plays the quarter in a started sandbox; see the module doc."""

    def __init__(
        self, sandbox: Sandbox, *, seed: int = 1, months: int = 3, say: Say | None = None
    ) -> None:
        if not 1 <= months <= 3:
            raise ValueError("a quarter has 1 to 3 months to play")
        self.sandbox = sandbox
        self.rng = random.Random(seed)
        self.months = months
        self.say: Say = say or (lambda *_args, **_values: None)
        self.lang = sandbox.language
        self.texts = sandbox.services.texts
        self.played = Played()
        self._queue: list[_Action] = []
        self._order = 0
        self._today: list[Moment] = []
        self._seen: set[tuple[int, str]] = set()
        self._codes: dict[int, str] = {}
        self._people: dict[str, _Person] = {}
        self._titles: list[tuple[str, str]] = []
        self._scheme_read: Scheme | None = None
        self._bar_done = 0
        self._first_day = self._day = sandbox.now().date()
        self._quiet_since: date | None = None
        self._quarter: Period | None = None
        self._month_ids: list[int] = []
        self._finished = False
        self._day_events: list[str] = []
        self._counts: dict[str, int] = {}
        # The parts, drawn once the roster is known.
        self.never: str | None = None
        self.nonsense: str | None = None
        self.changer: str | None = None
        self.clerk: str | None = None
        self.forgetful: tuple[int, str | None, str | None] = (-1, None, None)
        self.violation: tuple[int, str | None] = (-1, None)
        self.reward: tuple[int, str | None] = (-1, None)
        self.reviewers: list[str] = []  # the reviewing leaders on the roster, the chair first

    # -- words -------------------------------------------------------------------------------

    def label(self, key: str, /, **params: Any) -> str:
        return str(self.texts.label(self.lang, key, **params))

    def _prefix(self, key: str, **params: Any) -> str:
        """The start of a label whose last placeholder is left out (``📝 去评分（``)."""
        text = self.texts.label(self.lang, key, **{k: "\x00" for k in params})
        return str(text.split("\x00", 1)[0])

    def _note(self, kind: str, at: datetime | None = None, **values: Any) -> None:
        moment = Moment(at=at or self.sandbox.now(), kind=kind, values=values)
        self._today.append(moment)
        self.played.moments.append(moment)

    def _count(self, what: str) -> None:
        self._counts[what] = self._counts.get(what, 0) + 1

    # -- the town ----------------------------------------------------------------------------

    async def _begin(self) -> None:
        sandbox = self.sandbox
        services = sandbox.services
        town = sandbox.town
        assert town is not None
        async with services.sessions() as session:
            periods = await periods_q.list_periods(session=session, unit_id=services.unit)
        self._codes = {p.id or 0: p.code for p in periods}
        first = await sandbox.upcoming()
        if first is None or first.kind != EventKind.OPEN.value:
            raise DemoError("the calendar has no month opening ahead")
        month = next(p for p in periods if p.code == first.period)
        quarter_number = (month.number - 1) // 3 + 1
        self._quarter = next(
            p
            for p in periods
            if p.kind == "quarter" and p.year == month.year and p.number == quarter_number
        )
        # The months played: from the one opening next, at most to the quarter's last.
        played = range(month.number, min(month.number + self.months, quarter_number * 3 + 1))
        self._month_ids = [
            p.id or 0
            for p in sorted(periods, key=lambda p: p.number)
            if p.kind == "month" and p.year == month.year and p.number in played
        ]
        self.played.quarter.code = self._quarter.code
        for cadre, department in await town.roster():
            self._titles.append((cadre.name, cadre.title or ""))
            if cadre.has(Role.CADRE):
                merit = round(self.rng.uniform(78.0, 95.0) * 2) / 2
                self._people[cadre.name] = _Person(cadre, department, merit)
            if cadre.has(Role.OFFICE) and self.clerk is None:
                self.clerk = cadre.name
        rules = self._scheme().quarterly
        titles = [rules.chair, *(t for t in rules.reviewers if t != rules.chair)]
        self.reviewers = [name for title in titles for name in self._by_title(title)]
        self._cast()

    def _cast(self) -> None:
        """Who plays which part (the seed decides)."""
        rng = self.rng
        people = list(self._people.values())
        names = [p.name for p in people]
        plain = [
            p.name for p in people if not p.cadre.has(Role.HEAD) and not p.cadre.has(Role.OFFICE)
        ]
        if len(names) >= 3 and plain:
            self.never = rng.choice(plain)
        answering = [n for n in names if n != self.never]
        if answering:
            self.nonsense = rng.choice(answering)
        others = [n for n in answering if n != self.nonsense] or answering
        if others:
            self.changer = rng.choice(others)
        forget_month = rng.randrange(self.months)
        self.forgetful = (forget_month, None, None)  # the head is picked when the month opens
        recordable = [n for n in answering if n != self.clerk] or answering
        if self.clerk is not None and recordable:
            self.violation = (rng.randrange(self.months), rng.choice(recordable))
            self.reward = (rng.randrange(self.months), rng.choice(recordable))

    # -- the clock ---------------------------------------------------------------------------

    def _at(self, when: datetime, run: Callable[[], Awaitable[None]]) -> None:
        self._order += 1
        heapq.heappush(self._queue, _Action(when, self._order, run))

    def _spans(
        self, low: datetime, high: datetime, opens: time, closes: time, *, weekdays: bool
    ) -> list[tuple[datetime, datetime]]:
        spans: list[tuple[datetime, datetime]] = []
        day = low.date()
        while day <= high.date():
            if day.weekday() < 5 or not weekdays:
                start = max(low, datetime.combine(day, opens, low.tzinfo))
                end = min(high, datetime.combine(day, closes, low.tzinfo))
                if end - start >= timedelta(minutes=2):
                    spans.append((start, end))
            day += timedelta(days=1)
        return spans

    def _slot(self, low: datetime, high: datetime) -> datetime:
        """A moment at a desk (a weekday, working hours) between ``low`` and ``high``; else in
        waking hours (an evening, a weekend); else any moment between them. Whole minutes."""
        spans = self._spans(low, high, DESK_OPENS, DESK_CLOSES, weekdays=True) or self._spans(
            low, high, AWAKE, ASLEEP, weekdays=False
        )
        if not spans:
            spans = [(low, max(high, low + timedelta(minutes=2)))]
        total = sum((end - start).total_seconds() for start, end in spans)
        pick = self.rng.uniform(0, total)
        for start, end in spans:
            length = (end - start).total_seconds()
            if pick <= length:
                moment = start + timedelta(seconds=pick)
                break
            pick -= length
        else:
            moment = spans[-1][0]
        moment = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
        return min(moment, high) if high > low else moment

    async def _events_done(self) -> None:
        """Tell the calendar's events that ran since last looked, and plan what follows them."""
        services = self.sandbox.services
        async with services.sessions() as session:
            rows = await calendar_q.events_of_unit(session=session, unit_id=services.unit)
        fresh = [r for r in rows if r.state == "done" and (r.period_id, r.key) not in self._seen]
        for row in sorted(fresh, key=lambda r: (r.due_at, r.id or 0)):
            self._seen.add((row.period_id, row.key))
            if row.outcome != "done":
                continue
            kind = row.key.split(":", 1)[0]
            code = self._codes.get(row.period_id, "")
            at = row.due_at.astimezone(self.sandbox.zone)
            await self._event(kind, row.period_id, code, at, self._told_at(at))

    def _told_at(self, at: datetime) -> int:
        """How many people the bot wrote to at this moment (an event's messages carry its time:
        the clock stands still while it runs)."""
        return sum(
            1
            for user in self._users()
            if any(e.from_bot and e.at == at for e in self.sandbox.transcript(user.chat_id))
        )

    def _users(self) -> list[SimUser]:
        town = self.sandbox.town
        assert town is not None
        return list(town.users.values())

    async def _event(self, kind: str, period_id: int, code: str, at: datetime, told: int) -> None:
        quarter = self._quarter
        assert quarter is not None
        ours = period_id in self._month_ids or period_id == quarter.id
        if not ours:
            return
        worded = self.label(f"sandbox.event.{kind}", period=code)
        if worded not in self._day_events:
            self._day_events.append(worded)
        if kind == EventKind.OPEN and period_id in self._month_ids:
            self.played.months.append(code)
            opening = self._first_line_of_bot(self._any_person(), since=at)
            self._note("open", at, period=code, told=told, said=opening)
            await self._plan_month(period_id)
        elif kind == EventKind.REMIND and period_id in self._month_ids:
            self._note("remind", at, period=code, told=told)
        elif kind == EventKind.CLOSE and period_id in self._month_ids:
            await self._closed_month(period_id, code, at)
            if period_id == self._month_ids[-1] and len(self._month_ids) < 3:
                self._finished = True
        elif kind == EventKind.CLOSE and period_id == quarter.id:
            await self._plan_review(at)
        elif kind == EventKind.PUBLISH and period_id == quarter.id:
            self._note("published_by_calendar", at, period=code)
        elif kind == EventKind.ANNOUNCE and period_id == quarter.id:
            await self._announced(code, at)
        elif kind == EventKind.FINAL and period_id == quarter.id:
            self._note("final", at, period=code)
            self._finished = True

    # -- the days ----------------------------------------------------------------------------

    async def play(self) -> Played:
        """Play from now to the end of the quarter's public notice (or the last month played).

        The clock goes straight to whatever comes next, a person's moment or the calendar's
        event (events first at the same moment), so that each runs at its own time; the days
        passed on the way are told as they end.
        """
        await self._begin()
        self._first_day = self._day = self.sandbox.now().date()
        while not self._finished:
            if (self._day - self._first_day).days > MAX_DAYS:
                raise DemoError(f"the quarter did not end within {MAX_DAYS} days")
            action = self._queue[0] if self._queue else None
            event = await self.sandbox.upcoming()
            if event is None and action is None:
                raise DemoError("the calendar ended before the quarter did")
            if event is not None and (action is None or event.due <= action.when):
                await self._turn_to(event.due.date())
                await self.sandbox.next_event()
                await self._events_done()
                continue
            assert action is not None
            heapq.heappop(self._queue)
            await self._turn_to(action.when.date())
            now = self.sandbox.now()
            if action.when > now:
                await self.sandbox.advance(action.when - now)
                await self._events_done()
            await action.run()
            await self.sandbox.settle()
            await self._events_done()
        await self._turn_to(self._day + timedelta(days=1))
        self.played.days = (self._day - self._first_day).days
        return self.played

    async def _turn_to(self, day: date) -> None:
        """Tell the days before ``day`` that are over: a day with something in it on its own
        line (with its moments), quiet days together."""
        while self._day < day:
            over = self._day
            busy = bool(self._today or self._day_events or self._counts)
            if busy or self._finished:
                end = await self._end_estimate()
                if self._quiet_since is not None:
                    self._tell_quiet(self._quiet_since, over - timedelta(days=1), end)
                    self._quiet_since = None
                self._tell_day(over, end)
            elif self._quiet_since is None:
                self._quiet_since = over
            self._day = over + timedelta(days=1)

    async def _end_estimate(self) -> date:
        """When the story ends: the quarter's final event if it is planned, else its review's end
        plus the public notice (or the last month's deadline when fewer months are played)."""
        events: list[Event] = await self.sandbox.app.scheduler.pending_events()
        quarter = self._quarter
        assert quarter is not None
        zone = self.sandbox.zone
        if len(self._month_ids) < 3:
            closes = [
                e.due for e in events if e.period_id == self._month_ids[-1] and e.kind == "close"
            ]
            return closes[0].astimezone(zone).date() if closes else self.sandbox.now().date()
        mine = [e for e in events if e.period_id == quarter.id]
        final = [e.due for e in mine if e.kind == EventKind.FINAL]
        if final:
            return final[0].astimezone(zone).date()
        notice = timedelta(days=self._scheme().quarterly.notice_days)
        later = [e.due for e in mine] or [self.sandbox.clock.now()]
        return (max(later) + notice).astimezone(zone).date()

    def _scheme(self) -> Scheme:
        """The town's scheme (the file the sandbox was started with, as each period froze it)."""
        if self._scheme_read is None:
            self._scheme_read, _, _ = read_scheme(self.sandbox.files.scheme)
        return self._scheme_read

    def _bar(self, day: date, end: date) -> str:
        """``[#####...]``: the share of the story's days gone by (never going back when the
        estimate of its end moves)."""
        first = self._first_day
        span = max(1, (end - first).days)
        done = min(BAR, max(self._bar_done, round(BAR * (day - first).days / span)))
        if self._finished:
            done = BAR
        self._bar_done = done
        return "[" + "#" * done + "." * (BAR - done) + "]"

    def _tell_day(self, day: date, end: date) -> None:
        weekdays = self.label("sandbox.weekdays").split()
        self.say(
            "cli/demo_day",
            bar=self._bar(day, end),
            day=day,
            weekday=weekdays[day.weekday()],
            events=list(self._day_events),
            counts={what: self._counts.get(what, 0) for what in ("self", "vote", "rate")},
            moments=sorted(self._today, key=lambda m: m.at),
        )
        self._today.clear()
        self._day_events.clear()
        self._counts.clear()

    def _tell_quiet(self, first_quiet: date, last_quiet: date, end: date) -> None:
        self.say(
            "cli/demo_quiet",
            bar=self._bar(last_quiet, end),
            first=first_quiet,
            last=last_quiet,
        )

    # -- a month -----------------------------------------------------------------------------

    async def _period(self, period_id: int) -> Period:
        town = self.sandbox.town
        assert town is not None
        return await town.period(period_id)

    async def _plan_month(self, period_id: int) -> None:
        """The month opened: who does what, when (on time, or after a reminder)."""
        rng = self.rng
        index = self._month_ids.index(period_id)
        period = await self._period(period_id)
        async with self.sandbox.services.sessions() as session:
            snapshot = await month_snapshot(session=session, period=period)
        events: list[Event] = await self.sandbox.app.scheduler.pending_events()
        mine = [e for e in events if e.period_id == period_id]
        zone = self.sandbox.zone
        now = self.sandbox.now()
        deadline = next(e.due for e in mine if e.kind == EventKind.CLOSE).astimezone(zone)
        reminders = sorted(e.due.astimezone(zone) for e in mine if e.kind == EventKind.REMIND)
        first_reminder = reminders[0] if reminders else deadline - timedelta(days=3)
        on_time = (now + timedelta(minutes=5), min(now + timedelta(days=3), first_reminder))
        late = (
            first_reminder + timedelta(minutes=20),
            min(first_reminder + timedelta(days=2), deadline - timedelta(hours=1)),
        )
        people = [p for p in snapshot.people if p.cadre.name in self._people]
        answering = [p.cadre.name for p in people if p.cadre.name != self.never]
        special = {self.nonsense, self.changer} if index == 0 else set()
        pool = [n for n in answering if n not in special]
        late_ones = set(rng.sample(pool, min(len(pool), max(1, len(people) // 6))))

        for person in people:
            name = person.cadre.name
            if name == self.never:
                continue
            window = late if name in late_ones else on_time
            button = name in late_ones or rng.random() < 0.5
            self._at(
                self._slot(*window),
                self._self_score_action(
                    name,
                    button=button,
                    late=name in late_ones,
                    nonsense=index == 0 and name == self.nonsense,
                    change=index == 0 and name == self.changer,
                ),
            )
            if snapshot.ballot:
                self._at(self._slot(*window), self._vote_action(name, button=rng.random() < 0.5))

        # Raters: each person's first rater (a head, or the leader who supervises a head).
        ratees: dict[str, list[str]] = {}
        for person in people:
            if person.raters:
                ratees.setdefault(person.raters[0].name, []).append(person.cadre.name)
        forget_month, _, _ = self.forgetful
        if index == forget_month and ratees:
            heads = [
                r for r in ratees if r in self._people and self._people[r].cadre.has(Role.HEAD)
            ]
            chosen = rng.choice(sorted(heads or ratees, key=list(ratees).index))
            choices = [n for n in ratees[chosen] if n != self.never] or ratees[chosen]
            self.forgetful = (forget_month, chosen, rng.choice(choices))
        rating_window = (now + timedelta(hours=20), min(now + timedelta(days=5), first_reminder))
        _, forgetting, forgotten = self.forgetful
        for rater, names in ratees.items():
            skip = forgotten if index == forget_month and rater == forgetting else None
            todo = [n for n in names if n != skip]
            if todo:
                self._at(
                    self._slot(*rating_window),
                    self._rate_action(rater, todo, button=rng.random() < 0.5),
                )

        if self.clerk is not None:
            month, violator = self.violation
            if month == index and violator is not None:
                self._at(self._slot(*on_time), self._violation_action(violator))
            month, rewarded = self.reward
            if month == index and rewarded is not None:
                self._at(self._slot(*on_time), self._reward_action(rewarded))

    async def _closed_month(self, period_id: int, code: str, at: datetime) -> None:
        """The month's deadline passed: who got a result, whose self-score or rating is missing."""
        async with self.sandbox.services.sessions() as session:
            results = await results_q.results_for(session=session, period_id=period_id)
        names = {p.cadre.id: p.name for p in self._people.values()}
        no_self = [names[r.cadre_id] for r in results if "self_missing" in r.flags]
        no_head = [names[r.cadre_id] for r in results if "head_missing" in r.flags]
        _, head, forgotten = self.forgetful
        self._note(
            "close",
            at,
            period=code,
            scored=sum(1 for r in results if r.score is not None),
            no_self=no_self,
            no_head=no_head,
            head=head if forgotten in no_head else None,
        )

    # -- what people do ----------------------------------------------------------------------

    def _any_person(self) -> SimUser:
        return self.sandbox.person(next(iter(self._people)))

    def _first_line_of_bot(self, user: SimUser, *, since: datetime | None = None) -> str:
        for entry in reversed(self.sandbox.transcript(user.chat_id)):
            if entry.from_bot and (since is None or entry.at >= since):
                return entry.text.split("\n", 1)[0]
        return ""

    @staticmethod
    def _first_line(message: SimMessage) -> str:
        return message.text.split("\n", 1)[0]

    @staticmethod
    def _with(user: SimUser, match: Callable[[str], bool]) -> tuple[SimMessage, str] | None:
        """The person's latest bot message with a button whose label matches, and the label."""
        for message in reversed(user.messages()):
            for label in message.labels:
                if match(label):
                    return message, label
        return None

    def _placeholder(self, user: SimUser) -> str | None:
        markup = self.sandbox.fake.reply_keyboard(user.chat_id) or {}
        value = markup.get("input_field_placeholder")
        return str(value) if value is not None else None

    def _stuck(self, user: SimUser, doing: str) -> DemoError:
        last = user.messages()[-1].text if user.messages() else ""
        return DemoError(f"{self._name_of(user)} could not go on with {doing}: {last[:300]!r}")

    def _name_of(self, user: SimUser) -> str:
        town = self.sandbox.town
        assert town is not None
        return town.member_of(user.id) or str(user.id)

    def _score(self, name: str, spread: float = 3.0) -> Decimal:
        merit = self._people[name].merit if name in self._people else 85.0
        value = merit + self.rng.uniform(-1.0, spread)
        return min(Decimal(100), Decimal(round(value * 2) / 2).quantize(Decimal("0.0")))

    @staticmethod
    def _typed(score: Decimal) -> str:
        """A score as a person types it: ``88``, ``87.5``."""
        return str(int(score)) if score == score.to_integral() else str(score)

    def _self_score_action(
        self, name: str, *, button: bool, late: bool, nonsense: bool, change: bool
    ) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            user = self.sandbox.person(name)
            starts = {
                self.label("jobs.start_self"),
                self.label("jobs.continue_self"),
                self.label("jobs.submit_self"),
            }
            found = self._with(user, starts.__contains__) if button else None
            if found is not None:
                message, label = found
                await user.press(label, message=message)
            else:
                await user.command("selfscore")
            if nonsense:
                typed = self.label("demo.says.nonsense")
                await user.send(typed)
                self._note("nonsense", name=name, typed=typed, said=self._first_line(user.last()))
            await self._answer_questions(user, name)
            if change:
                await self._change_one(user, name)
            submit = self.label("selfscore.submit")
            if submit not in user.last().labels:
                raise self._stuck(user, "/selfscore")
            await user.press(submit, message=user.last())
            self._count("self")
            if late:
                self._note("late", name=name, said=self._first_line(user.last()))

        return run

    async def _answer_questions(self, user: SimUser, name: str, *, limit: int = 40) -> None:
        details = self.label("selfscore.placeholder.details")
        submit = self.label("selfscore.submit")
        for _ in range(limit):
            if submit in user.last().labels:
                return
            asked = self._placeholder(user)
            if asked == details:
                if self.rng.random() < 0.08:
                    await user.send(self.label("demo.says.note"))
                else:
                    await user.send(self.label("selfscore.skip"))
            elif asked is not None:
                await user.send(self._typed(self._score(name)))
            else:
                raise self._stuck(user, "/selfscore")
        raise self._stuck(user, "/selfscore")

    async def _change_one(self, user: SimUser, name: str) -> None:
        """From the summary: change the first item, then back to the summary."""
        await user.press(self.label("selfscore.change"), message=user.last())
        item = user.last().buttons[0][0]
        title, _, old = item.rpartition("：" if "：" in item else ": ")
        await user.press(item, message=user.last())
        new = self._score(name, spread=5.0)
        if f"{new:.1f}" == old.strip():
            new = new - 2 if new > 60 else new + 2  # a change changes something
        await user.send(self._typed(new))
        await self._answer_questions(user, name)
        self._note("change", name=name, item=title, old=old, new=f"{new:.1f}")

    def _vote_action(self, name: str, *, button: bool) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            user = self.sandbox.person(name)
            found = (
                self._with(user, lambda label: label == self.label("jobs.vote")) if button else None
            )
            if found is not None:
                await user.press(found[1], message=found[0])
            else:
                await user.command("vote")
            await self._fill_ballot(user, name)
            submit = self._prefix("ballot.submit", n=0)
            found = self._with(user, lambda label: label.startswith(submit))
            if found is None:
                raise self._stuck(user, "/vote")
            await user.press(found[1], message=found[0])
            await user.press(self.label("ballot.confirm"), message=user.last())
            self._count("vote")

        return run

    def _grade_for(self, colleague: str) -> str:
        merit = self._people[colleague].merit if colleague in self._people else 85.0
        roll = self.rng.random()
        if merit >= 91:
            return "excellent" if roll < 0.75 else "good"
        if merit >= 83:
            return "good" if roll < 0.8 else ("excellent" if roll < 0.9 else "pass")
        return "good" if roll < 0.55 else "pass"

    async def _fill_ballot(self, user: SimUser, name: str) -> None:
        """Grade every colleague on every page: a name's row, then its row of four grades."""
        shorts = {
            grade: self.label(f"ballot.short.{grade}")
            for grade in ("excellent", "good", "pass", "fail")
        }
        next_page = self.label("ballot.next")
        for _ in range(50):
            message = user.last()
            rows = message.buttons
            for index, row in enumerate(rows[:-1]):
                grades = rows[index + 1]
                if len(row) != 1 or len(grades) != len(shorts):
                    continue
                if not all(any(g.endswith(s) for s in shorts.values()) for g in grades):
                    continue
                colleague = row[0].split("（", 1)[0].split(" (", 1)[0]
                wanted = shorts[self._grade_for(colleague)]
                column = next(i for i, g in enumerate(grades) if g == wanted)
                await self.sandbox.press(user.chat_id, message.message_id, index + 1, column)
            message = user.last()
            if next_page not in message.labels:
                return
            await user.press(next_page, message=message)
        raise self._stuck(user, "/vote")

    def _rate_action(
        self, rater: str, names: list[str], *, button: bool
    ) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            user = self.sandbox.person(rater)
            go = self._prefix("jobs.rate", n=0)
            found = self._with(user, lambda label: label.startswith(go)) if button else None
            if found is not None:
                await user.press(found[1], message=found[0])
            else:
                await user.command("rate")
            confirm = self._prefix("rate.confirm", total=0)
            for ratee in names:
                board = user.last()
                label = next((b for b in board.labels if b.endswith(" " + ratee)), None)
                if label is None:
                    raise self._stuck(user, f"/rate ({ratee})")
                await user.press(label, message=board)
                await user.press(user.last().buttons[0][0], message=user.last())
                for _ in range(12):
                    card = user.last()
                    done = [b for b in card.labels if b.startswith(confirm)]
                    if done:
                        await user.press(done[0], message=card)
                        break
                    wanted = float(self._score(ratee, spread=2.0))
                    score = min(SCORE_BUTTONS, key=lambda s: abs(s - wanted))
                    await user.press(str(score), message=card)
                else:
                    raise self._stuck(user, f"/rate ({ratee})")
                await user.press(self.label("rate.back_list"), message=user.last())
                self._count("rate")

        return run

    async def _pick_person(self, user: SimUser, name: str) -> None:
        """The office's people picker: the department, the person (ticked), onward."""
        person = self._people[name]
        await user.press(person.department, message=user.last())
        await user.press(name, message=user.last())
        await user.press(self.label("office.onward", n=1), message=user.last())

    def _violation_action(self, name: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            assert self.clerk is not None
            user = self.sandbox.person(self.clerk)
            await user.command("discipline")
            await self._pick_person(user, name)
            title, points = self._violation_worded()
            await user.press(
                self.label("office.violation", title=title, points=points), message=user.last()
            )
            await user.press(self._prefix("office.today", day=0), message=user.last())
            note = self.label("demo.says.violation")
            await user.send(note)
            await user.press(self.label("office.confirm"), message=user.last())
            self._note(
                "violation",
                clerk=self.clerk,
                name=name,
                violation=title,
                points=points,
                note=note,
                said=self._first_line(user.last()),
            )

        return run

    def _violation_worded(self) -> tuple[str, str]:
        """The violation the office records (a lateness, as the note says, where the scheme
        has one; else its first) as its button shows it: title and points."""
        catalogue = self._scheme().office_rules.violations.root
        violation = catalogue.get(LATE) or next(iter(catalogue.values()))
        return violation.title(self.lang), self._typed(violation.points)

    def _reward_action(self, name: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            assert self.clerk is not None
            user = self.sandbox.person(self.clerk)
            await user.command("reward")
            await self._pick_person(user, name)
            amount = str(self.rng.choice((300, 500, 800)))
            await user.send(amount)
            reason = self.label("demo.says.reward")
            await user.send(reason)
            await user.press(self.label("office.confirm"), message=user.last())
            self._note(
                "reward",
                clerk=self.clerk,
                name=name,
                amount=amount,
                reason=reason,
                said=self._first_line(user.last()),
            )

        return run

    # -- the quarter: review, publication, appeal --------------------------------------------

    def _by_title(self, title: str) -> list[str]:
        """Who holds this title (职务) on the roster, in roster order."""
        return [name for name, held in self._titles if held == title]

    def _chair(self) -> str | None:
        """The chair (组长) on the roster, who publishes; None when the roster has none."""
        chairs = self._by_title(self._scheme().quarterly.chair)
        return chairs[0] if chairs else None

    def _answerer(self) -> str | None:
        """The reviewing leader who adjusts and answers appeals: one who is not the chair when
        there is one, else the chair (None when the roster has no reviewer)."""
        chair = self._chair()
        return next((n for n in self.reviewers if n != chair), chair)

    async def _plan_review(self, at: datetime) -> None:
        """The quarter closed and waits in review: a reviewer adjusts one score, the chair
        publishes before the review time is up (without them on the roster, the calendar
        publishes when it is)."""
        chair, adjuster = self._chair(), self._answerer()
        if chair is None or adjuster is None:
            return
        quarter = self._quarter
        assert quarter is not None
        events = await self.sandbox.app.scheduler.pending_events()
        ends = [e.due for e in events if e.period_id == quarter.id and e.kind == "publish"]
        review_ends = ends[0].astimezone(self.sandbox.zone) if ends else at + timedelta(days=5)
        adjust_at = self._slot(at + timedelta(hours=14), at + timedelta(days=2))
        publish_at = self._slot(
            max(adjust_at + timedelta(hours=2), at + timedelta(days=2)),
            review_ends - timedelta(hours=2),
        )
        reviewing = self._first_line_of_bot(self.sandbox.person(chair), since=at)
        self._note("review", at, period=quarter.code, reviewers=self.reviewers, said=reviewing)
        self._at(adjust_at, self._adjust_action(adjuster))
        self._at(publish_at, self._publish_action(chair))

    async def _quarter_results(self) -> dict[str, Result]:
        quarter = self._quarter
        assert quarter is not None and quarter.id is not None
        async with self.sandbox.services.sessions() as session:
            rows = await results_q.results_for(session=session, period_id=quarter.id)
        names = {p.cadre.id: p.name for p in self._people.values()}
        return {names[r.cadre_id]: r for r in rows if r.cadre_id in names}

    def _adjust_action(self, leader: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            results = await self._quarter_results()
            excellent = self._scheme().grades.excellent
            scored = {n: r.score for n, r in results.items() if r.score is not None}
            below = [n for n, s in scored.items() if s < excellent and n != self.never]
            if not below:
                below = [n for n in scored if n != self.never] or list(scored)
            # The leadership looks hardest at the one just under the line of 优秀.
            name = max(below, key=lambda n: (scored[n], n))
            gap = excellent - scored[name]
            delta = next((f"+{d}" for d in (1, 2, 3) if d >= gap), "+1")
            user = self.sandbox.person(leader)
            listing = await self._review_list(user, name)
            label = next(b for b in listing.labels if b.endswith(name))
            await user.press(label, message=listing)
            await user.press(self.label("review.adjust"), message=user.last())
            await user.press(delta, message=user.last())
            reason = self.label("demo.says.adjust")
            await user.send(reason)
            toast = await user.press(self.label("review.confirm"), message=user.last())
            after = (await self._quarter_results())[name]
            quarter = self.played.quarter
            quarter.adjusted, quarter.adjuster = name, leader
            quarter.delta, quarter.reason = delta, reason
            self._note(
                "adjust",
                leader=leader,
                name=name,
                delta=delta,
                reason=reason,
                before=scored[name],
                after=after.score,
                said=toast.text or self._first_line(user.last()),
            )

        return run

    async def _review_list(self, user: SimUser, name: str) -> SimMessage:
        """The review message that shows ``name`` (turning its pages when it has several)."""
        following = self.label("review.next")
        for _ in range(20):
            found = self._with(user, lambda label: label.endswith(" " + name))
            if found is not None:
                return found[0]
            pages = self._with(user, lambda label: label == following)
            if pages is None:
                break
            await user.press(following, message=pages[0])
        raise self._stuck(user, "the review")

    def _publish_action(self, chair: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            user = self.sandbox.person(chair)
            publish = self.label("review.publish")
            found = self._with(user, lambda label: label == publish)
            if found is None:
                return  # published already: the review time ran out first
            await user.press(publish, message=found[0])
            await user.press(self.label("review.publish_yes"), message=user.last())
            self._note("publish", chair=chair, said=self._first_line(user.last()))

        return run

    async def _announced(self, code: str, at: datetime) -> None:
        """The summary, the chart and the sheet went to the leadership group, and each cadre
        their result: count the grades; one cadre will appeal."""
        results = await self._quarter_results()
        grades = ("excellent", "good", "pass", "fail")
        counts = {g: sum(1 for r in results.values() if r.grade == g) for g in grades}
        group = [e for e in self.sandbox.transcript(self.sandbox.group_id) if e.at >= at]
        files = [
            e.attachment.file_name
            for e in group
            if e.attachment and e.attachment.kind == "document" and e.attachment.file_name
        ]
        photos = sum(1 for e in group if e.attachment and e.attachment.kind == "photo")
        said = next((e.text.split("\n", 1)[0] for e in group if e.text), "")
        self._note(
            "announce", at, period=code, counts=counts, files=files, photos=photos, said=said
        )
        rules = self._scheme().quarterly
        # Who appeals: someone not graded 优秀 (and not the one adjusted, nor the one who never
        # answered).
        others = [
            n
            for n, r in results.items()
            if n not in (self.never, self.played.quarter.adjusted) and r.score is not None
        ]
        candidates = [n for n in others if results[n].grade != "excellent"] or others
        if not candidates or self._answerer() is None:
            return
        appellant = self.rng.choice(sorted(candidates, key=list(self._people).index))
        # Early enough for a leader to answer before the appeal window and the notice end.
        days = min(rules.appeal_days, rules.notice_days)
        appeal_at = self._slot(at + timedelta(hours=15), at + timedelta(days=max(1.0, days / 2)))
        self._at(appeal_at, self._appeal_action(appellant))

    def _appeal_action(self, name: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            user = self.sandbox.person(name)
            appeal = self.label("review.appeal")
            found = self._with(user, lambda label: label == appeal)
            if found is None:
                raise self._stuck(user, "the appeal")
            await user.press(appeal, message=found[0])
            reason = self.label("demo.says.appeal")
            await user.send(reason)
            await user.press(self.label("review.confirm"), message=user.last())
            self.played.quarter.appellant = name
            self._note("appeal", name=name, reason=reason, said=self._first_line(user.last()))
            answerer = self._answerer()
            assert answerer is not None
            later = self.sandbox.now()
            ends = await self._notice_ends()
            self._at(
                self._slot(
                    later + timedelta(hours=2),
                    min(later + timedelta(days=2), ends - timedelta(hours=2)),
                ),
                self._answer_action(answerer, name),
            )

        return run

    async def _notice_ends(self) -> datetime:
        """When the quarter's public notice ends (its final event), or in a day."""
        quarter = self._quarter
        assert quarter is not None
        events = await self.sandbox.app.scheduler.pending_events()
        final = [e.due for e in events if e.period_id == quarter.id and e.kind == EventKind.FINAL]
        ends = final[0] if final else self.sandbox.clock.now() + timedelta(days=1)
        return ends.astimezone(self.sandbox.zone)

    def _answer_action(self, leader: str, name: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            user = self.sandbox.person(leader)
            uphold = self.rng.random() < 0.65
            label = self.label("review.uphold" if uphold else "review.reject")
            found = self._with(user, lambda b: b == label)
            if found is None:
                raise self._stuck(user, "the appeal's answer")
            before = (await self._quarter_results())[name].score
            await user.press(label, message=found[0])
            if uphold:
                raised = min(Decimal(100), (before or Decimal(0)) + Decimal("1.5"))
                new = str(raised.quantize(Decimal("0.1")))
                await user.send(new)
                answer = self.label("demo.says.uphold", score=new)
            else:
                answer = self.label("demo.says.reject")
            await user.send(answer)
            await user.press(self.label("review.confirm"), message=user.last())
            await self.sandbox.settle()  # the answer goes out to the cadre through the outbox
            after = (await self._quarter_results())[name]
            record = self.played.quarter
            record.answerer, record.upheld = leader, uphold
            record.new_score = None if after.score is None else str(after.score)
            self._note(
                "answer",
                leader=leader,
                name=name,
                upheld=uphold,
                before=before,
                after=after.score,
                grade=after.grade,
                answer=answer,
                said=self._first_line_of_bot(self.sandbox.person(name)),
            )

        return run


async def run_demo(
    settings: Settings,
    options: DemoOptions,
    *,
    files: TownFiles | None = None,
    say: Say | None = None,
    start: datetime | None = None,
    reference: datetime | None = None,
    db: Path | None = None,
    inspect: Callable[[Sandbox, Played], Awaitable[None]] | None = None,
) -> Played:
    """Play the quarter in a sandbox of its own and write the outputs to ``options.out``.

    The sandbox's database is ``db`` or a file in a temporary folder removed afterwards.
    ``inspect`` is called with the sandbox and the run before the sandbox stops (what a test
    checks against the database and the fake Telegram's chats).
    """
    with tempfile.TemporaryDirectory(prefix="kaohe-demo-") as folder:
        sandbox = Sandbox(
            settings,
            files=files,
            db=db or Path(folder) / "kaohe.db",
            start=start,
            language=options.lang,
            reference=reference,
            monotonic=still,
        )
        if say is not None:
            say("cli/demo_starting", seed=options.seed, months=options.months)
        await sandbox.start()
        try:
            # The fake Telegram is in-process and enforces no limits: no pacing as for Telegram.
            sandbox.app.sender.pacer = Pacer(per_second=10_000.0, private_gap=0.0, group_gap=0.0)
            people = sum(1 for c in await sandbox.chats() if not c.is_group)
            if say is not None:
                say(
                    "cli/demo_start",
                    unit=sandbox.settings.unit_name,
                    people=people,
                    now=sandbox.now(),
                    seed=options.seed,
                    months=options.months,
                )
            demo = Demo(sandbox, seed=options.seed, months=options.months, say=say)
            played = await demo.play()
            played.outputs = await write_outputs(
                sandbox, options.out, quarter=played.quarter.code, seed=options.seed
            )
            if inspect is not None:
                await inspect(sandbox, played)
        finally:
            await sandbox.stop()
    return played
