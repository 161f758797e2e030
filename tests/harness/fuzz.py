"""The project's fuzzer: a seeded walk of the whole town through every capability, with junk.

Why a walk and not single shots: the defects worth finding live in conversation states (a
forged press in the middle of a rating, a photo while a self-score question is open, a stale
button after the month closed), so people keep their state from one step to the next. Each
step is one of

- *ordinary*: a signed-up person presses a button on one of their last messages (the
  scheduler's start buttons among them), answers with something plausible or silly, sends a
  command (with or without arguments: ``/extend`` and ``/leave`` with dates and reasons too), a
  photo, a file, a sticker, or edits what they sent; now and then someone who knows what they
  want goes through a whole task (:data:`INTENTS`: a self-score to Submit, a head's rating to
  Confirm, a ballot cast, a discipline record, a reward and a deduction recorded, /status and a
  department, a start button of the scheduler's, a leave recorded, a deadline moved), so that
  every state is reached, not only the first screens;
- *the calendar*: every so often the clock moves to the next event and the scheduler runs it
  (reminders with their start buttons, the deadline, the next opening), so old buttons go stale;
- *hostile*: a person presses callback data forged from what the bot has built (ids beyond any
  database, another unit's ids, unknown keys and tokens, truncated, oversized, non-ASCII, no
  family), a start button of a month that is over, a cadre without the role presses another
  person's head, office, status or start-to-rate buttons, a stranger or a person of another unit
  does anything at all, in private or in a group.

After every step: no generic error reply and no error logged, every press answered, no Bot API
call Telegram would refuse, no name shown to a stranger, and none but their own to a cadre
pressing buttons that are not theirs; after a hostile step the appraisal's data (everything but
conversation state, update claims, the sign-up throttle and the scheduler's own bookkeeping of
its events and outbox) is exactly as before.

Reproducible: ``random.Random(seed)`` picks every step, what a step queued is sent before the
next one (the sender's own task would deliver it at a moment of its choosing), and a failure
names the seed and the step (``FUZZ_SEED=<seed> FUZZ_STEPS=<n>`` replays it).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot.appraisal.month import current_month
from bot.appraisal.progress import month_snapshot
from bot.chat.keyboards import Family
from bot.emulator.entities import EntityParseError
from bot.emulator.simulator import SimMessage, SimUser
from bot.emulator.telegram import html_to_text
from bot.rules.raters import raters_of
from storage.queries.roster import list_cadres
from tests.harness.ballot import ballot_message, fill_ballot
from tests.harness.town import VOLATILE, fingerprint

#: What a hostile step must not change: all but :data:`VOLATILE` and the scheduler's own
#: bookkeeping (an event claimed, a queued message sent, by its background tasks).
IGNORED = VOLATILE | {"calendar_event", "outbox"}

COMMANDS = (
    "start",
    "help",
    "whoami",
    "lang",
    "cancel",
    "selfscore",
    "rate",
    "vote",
    "myscore",
    "status",
    "discipline",
    "reward",
    "deduct",
    "invite",
    "extend",
    "leave",
    "bind_leadership",
)
GRADES = ("excellent", "good", "pass", "fail")
#: What people come to do.
WORK = {
    "selfscore": {"cadre"},
    "rate": {"head", "leader"},
    "vote": {"cadre"},
    "discipline": {"office"},
    "reward": {"office"},
    "deduct": {"office"},
    "status": {"office"},
    "extend": {"office"},
    "leave": {"office"},
}
#: Whole tasks, in the order a cycle of them comes round (a rating after a self-score it can
#: rate); each step that is an intent takes the next.
INTENTS = (
    "selfscore",
    "vote",
    "discipline",
    "status",
    "go",
    "rate",
    "reward",
    "leave",
    "deduct",
    "extend",
)
ANSWERS = (
    "80",
    "90",
    "95",
    "跳过",
    "跳过",
    "80",
    "100",
    "0",
    "85.5",
    "101",
    "-5",
    "88分",
    "九十",
    "跳过",
    "skip",
    "保持",
    "好",
    "是",
    "200",
    "季度工作突出",
    "2026-11-03",
    "11月3日",
    "/cancel",
)
#: Ids no database of this test holds, and ones past PostgreSQL's integer and SQLite's.
FAR_IDS = (2**31, 2**63, 10**30, 2**63 - 1, 999_999_999)
#: Role-bound buttons a cadre without that role must not be able to use.
ROLE_BOUND = ("rate:", "off:", "st:", "inv:", "go:rate:")
#: Buttons of the scheduler's messages that start a task in a month.
START_BUTTONS = ("go:", "selfscore:start:")
#: Commands the office types with arguments (dates, a name, a reason).
TYPED = ("extend", "leave")
#: A rating's way forward: confirm, a score, an item, a person.
RATE_WAY = ("rate:ok:", "rate:s:", "rate:ts:", "rate:i:", "rate:p:")
#: An office flow's way forward, by action, and the actions that lead elsewhere.
OFFICE_WAY = ("dept", "who", "vio", "day", "skip")
OFFICE_ASIDE = ("back", "x", "list", "new", "undo", "yes")
PLAIN_CADRES = ("吴磊", "王芳", "冯超", "褚文斌", "卫红梅", "沈刚", "韩雪")
#: Bot API refusals the bot provokes on purpose and handles.
TOLERATED = ("message is not modified",)


def junk(rng: random.Random) -> str:
    """Text nobody should type, and some everybody does."""
    pieces = [
        "",
        " ",
        "\u200b",
        "<b>粗</b>",
        "&amp;",
        "<script>",
        "😀" * rng.randint(1, 30),
        "𠀀𪚥",
        "٠١٢",
        "１００",
        "\u202e反向",
        "a" * rng.randint(100, 5000),
        "张" * rng.randint(100, 4100),
        "/" + "x" * rng.randint(1, 40),
        "\n\n\n",
        "null",
        "9" * 40,
        "1e309",
        "NaN",
        "-0",
    ]
    return "".join(rng.choice(pieces) for _ in range(rng.randint(1, 3)))[:4096]


@dataclass
class Step:
    number: int
    actor: str
    action: str
    hostile: bool

    def __str__(self) -> str:
        kind = "hostile" if self.hostile else "ordinary"
        return f"step {self.number} ({kind}) {self.actor}: {self.action}"


@dataclass
class Outcomes(logging.Handler):
    """How each update ended, from the bot's one log line per update: where the walk went."""

    seen: dict[str, int] = field(default_factory=dict)  # outcome -> updates
    paths: dict[str, int] = field(default_factory=dict)  # "button go:vote -> vote:shown" -> updates

    def __post_init__(self) -> None:
        logging.Handler.__init__(self, logging.INFO)

    def emit(self, record: logging.LogRecord) -> None:
        if not isinstance(record.args, tuple) or len(record.args) < 3:
            return
        what, outcome = str(record.args[-3]), str(record.args[-2])
        self.seen[outcome] = self.seen.get(outcome, 0) + 1
        path = f"{what} -> {outcome}"
        self.paths[path] = self.paths.get(path, 0) + 1

    def __hash__(self) -> int:
        return id(self)


@dataclass
class ErrorLog(logging.Handler):
    """Every record of level ERROR or more, from any logger."""

    records: list[logging.LogRecord] = field(default_factory=list)

    def __post_init__(self) -> None:
        logging.Handler.__init__(self, logging.ERROR)

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def __hash__(self) -> int:
        return id(self)


Run = Callable[[], Awaitable[list[str]]]


class Fuzzer:
    """One walk over a town whose people are signed up and whose month is open.

    ``calendar`` moves the clock to the calendar's next event and lets the scheduler run it;
    :meth:`run` does so every ``every`` steps.
    """

    def __init__(
        self,
        town: Any,
        texts: Any,
        seed: int,
        *,
        stranger: SimUser,
        outsider: SimUser,
        foreign_ids: dict[str, list[int]],
        group: Any,
        calendar: Calendar | None = None,
    ) -> None:
        self.town = town
        self.texts = texts
        self.seed = seed
        self.rng = random.Random(seed)
        self.fake = town.sim.fake
        self.people: dict[str, SimUser] = dict(town.users)
        self.stranger = stranger
        self.outsider = outsider
        self.foreign_ids = foreign_ids
        self.group = group
        self.calendar = calendar
        self.sent: dict[int, list[Any]] = {}
        self.errors = ErrorLog()
        self.outcomes = Outcomes()
        self.generic = {
            html_to_text(texts.render(lang, "errors/internal")).strip() for lang in ("zh", "en")
        }
        self.unknown = {
            html_to_text(texts.render(lang, "basics/unknown")).strip() for lang in ("zh", "en")
        }
        self.names = set(self.people)
        self.counts: dict[str, int] = {}
        self.focus: list[str] = []
        self.roles: dict[str, set[str]] = {}
        self.english: set[str] = set()
        self.raters: dict[str, list[str]] = {}  # name -> who rates them
        self.submitted: list[str] = []  # whose self-score an intent submitted
        self.intents = 0  # intents started: the next one is INTENTS[intents % len(INTENTS)]
        self.events: list[str] = []  # the calendar's events the walk let run
        self.starts: set[str] = set()  # start buttons the scheduler sent
        self.bound: dict[str, list[str]] = {}  # the latest role-bound buttons, by kind
        self.month: int | None = None  # the month open now
        self.clean: dict[str, list[tuple[Any, ...]]] | None = None  # the data, if known as is

    # -- the walk ----------------------------------------------------------------------------

    async def run(self, steps: int, *, every: int = 0) -> None:
        everyone = await self._roster()
        for cadre in everyone:
            if cadre.name in self.people:
                self.roles[cadre.name] = set(cadre.roles.split(","))
                if (self.people[cadre.name].info.get("language_code") or "").startswith("en"):
                    self.english.add(cadre.name)
            self.raters[cadre.name] = [r.name for r in raters_of(cadre, everyone)]
        self.month = await self._open_month()
        root, updates = logging.getLogger(), logging.getLogger("kaohe.updates")
        root.addHandler(self.errors)
        updates.addHandler(self.outcomes)
        level = updates.level
        updates.setLevel(logging.INFO)
        try:
            for number in range(1, steps + 1):
                if self.calendar is not None and every and number % every == 0:
                    await self.next_event(number)
                await self.step(number)
        finally:
            root.removeHandler(self.errors)
            updates.removeHandler(self.outcomes)
            updates.setLevel(level)

    async def next_event(self, number: int) -> None:
        """Let the calendar's next event happen: the scheduler's messages are checked too."""
        assert self.calendar is not None
        calls, mark = len(self.fake.calls), self.fake.seq
        ran = await self.calendar.tick()
        self.clean = None
        self.events += ran
        self.counts["calendar"] = self.counts.get("calendar", 0) + 1
        self.month = await self._open_month()
        problems = self.problems(calls, mark, [])
        if problems:
            raise AssertionError(
                f"seed {self.seed}, step {number} (calendar: {ran}): " + "; ".join(problems)
            )

    async def step(self, number: int) -> None:
        hostile = self.rng.random() < 0.35
        action, actor, run = self.hostile() if hostile else self.ordinary()
        step = Step(number, actor, action, hostile)
        self.counts[action.split(" ")[0]] = self.counts.get(action.split(" ")[0], 0) + 1
        # The data as the last hostile step left it, unless something may have changed it since.
        before = (self.clean or await self.fingerprint()) if hostile else None
        self.clean = None
        calls, mark = len(self.fake.calls), self.fake.seq
        try:
            query_ids = await run()
            if not hostile:
                await self.settle(action)
        except AssertionError as failure:
            raise AssertionError(f"seed {self.seed}, {step}: {failure}") from failure
        # A cadre pressing buttons that are not theirs learns no one's name but their own.
        own = actor if action.startswith("others'") else None
        problems = self.problems(calls, mark, query_ids, own=own)
        if hostile and not problems:
            after = await self.fingerprint()
            if after != before:
                problems.append("the appraisal's data changed")
            self.clean = after
        if problems:
            raise AssertionError(f"seed {self.seed}, {step}: " + "; ".join(problems))

    async def settle(self, action: str) -> None:
        """Send now what the step queued (a person told of an office record, the notice of a
        deadline moved) rather than whenever the sender's own task gets to it, so that the next
        step finds the chats as they will be: the walk stays replayable."""
        if self.calendar is not None and action.startswith(("command /extend", "command /leave")):
            await self.calendar.settle()
        sender = getattr(self.town.app, "sender", None)
        if sender is not None:
            await sender.flush()

    async def _roster(self) -> list[Any]:
        async with self.town.services.sessions() as session:
            return await list_cadres(session=session, unit_id=self.town.services.unit_id)

    async def _open_month(self) -> int | None:
        async with self.town.services.sessions() as session:
            month = await current_month(
                session=session, unit_id=self.town.services.unit_id, now=self.town.services.now()
            )
        return month.id if month is not None else None

    # -- ordinary steps ----------------------------------------------------------------------

    def ordinary(self) -> tuple[str, str, Run]:
        # Tasks are gone through while a month takes answers (between months, every command
        # says when the next one opens: the ordinary steps try that).
        if self.rng.random() < 0.1 and self.month is not None:
            kind = INTENTS[self.intents % len(INTENTS)]
            self.intents += 1
            name, run = self.intent(kind)
            return f"intent {kind}", name, run
        # A few people at a time, so that each goes deep into a conversation before the walk
        # moves on to others.
        if not self.focus or self.rng.random() < 1 / 60:
            self.focus = self.rng.sample(sorted(self.people), 4)
        name = self.rng.choice(self.focus)
        user = self.people[name]
        if self.idle(user) and self.rng.random() < 0.9:
            mine = [c for c in WORK if WORK[c] & self.roles.get(name, set())]
            command = self.rng.choice(mine if mine and self.rng.random() < 0.8 else list(WORK))
            args = self.command_args(command, plausible=True) if command in TYPED else []
            return f"command /{command}", name, self.command(user, command, args)
        roll = self.rng.random()
        if roll < 0.5:
            data = self.own_button(user)
            if data is not None:
                message_id, value = data
                return f"press {value}", name, self.press(user, value, message_id)
        if roll < 0.78:
            answer = self.rng.choice(ANSWERS) if self.rng.random() < 0.85 else junk(self.rng)
            return f"send {answer[:30]!r}", name, self.send(user, answer)
        if roll < 0.9:
            command = self.rng.choice(COMMANDS)
            args = self.command_args(command)
            return (
                f"command /{command} {' '.join(args)[:30]}",
                name,
                self.command(user, command, args),
            )
        if roll < 0.94:
            return "edit", name, self.edit(user)
        if roll < 0.96:
            return "group command", name, self.group_command(user)
        return "media", name, self.media(user)

    def _holding(self, role: str) -> list[str]:
        return sorted(n for n in self.people if role in self.roles.get(n, set()))

    def intent(self, kind: str) -> tuple[str, Run]:
        """Who goes through a whole task of ``kind``, and how."""
        if kind in ("discipline", "reward", "deduct", "status", "leave", "extend"):
            name = self.rng.choice(self._holding("office"))
            user = self.people[name]
            if kind == "status":
                return name, self.status_through(user)
            if kind == "leave":
                return name, self.command(user, "leave", self.typed_args("leave", sure=True))
            if kind == "extend":
                return name, self.extend_through(user)
            return name, self.office_through(user, name, kind)
        if kind == "rate":
            return "a rater", self.rate_through()
        if kind == "go":
            holders = [n for n in sorted(self.people) if self.find(self.people[n], ("go:",), 30)[1]]
            name = self.rng.choice(holders or self._holding("cadre"))
            return name, self.go_through(self.people[name])
        name = self.rng.choice(self._holding("cadre"))
        if kind == "selfscore":
            return name, self.selfscore_through(self.people[name], name)
        return name, self.vote_through(self.people[name], name)

    def lang(self, name: str) -> str:
        return "en" if name in self.english else "zh"

    def find(self, user: SimUser, prefixes: tuple[str, ...], count: int = 8) -> tuple[int, str]:
        """The latest button of ``prefixes`` on the bot's last ``count`` messages, or (0, "")."""
        for message in reversed(self.latest(user, count)):
            found = [d for d in message.callback_data if d.startswith(prefixes)]
            if found:
                return message.message_id, self.rng.choice(found)
        return 0, ""

    async def _press(self, user: SimUser, data: str, message_id: int, ids: list[str]) -> Any:
        answer = await user.press_data(data, message_id=message_id)
        ids.append(answer.query_id)
        return answer

    def selfscore_through(self, user: SimUser, name: str) -> Run:
        """A self-score answered question by question (the reply keyboard's figures, or skip)
        up to Submit, begun from a start button of the scheduler's or with /selfscore."""

        async def run() -> list[str]:
            ids: list[str] = []
            message_id, start = self.find(user, ("selfscore:start:",))
            if start and self.rng.random() < 0.5:
                await self._press(user, start, message_id, ids)
            else:
                await user.command("selfscore")
            for _ in range(30):
                last = self.latest(user, 1)[0]
                submit = [d for d in last.callback_data if d.startswith("selfscore:submit:")]
                if submit:
                    answer = await self._press(user, submit[0], last.message_id, ids)
                    if not answer.show_alert:
                        self.submitted.append(name)
                    break
                if last.text.strip() in self.unknown:
                    break
                keys = [b for row in user.reply_keyboard() for b in row]
                figures = [b for b in keys if b.replace(".", "", 1).isdigit()]
                if figures:
                    await user.send(self.rng.choice(figures))
                elif keys:
                    await user.send(self.texts.label(self.lang(name), "selfscore.skip"))
                else:
                    await user.send(self.rng.choice(["90", "85", "120"]))
            return ids

        return run

    async def _to_rate(self) -> tuple[str, str] | None:
        """A rater (signed up) and a person of theirs whose self-score is in and whose rating
        is not: the month's, as the office would see it."""
        async with self.town.services.sessions() as session:
            month = await current_month(
                session=session, unit_id=self.town.services.unit_id, now=self.town.services.now()
            )
            if month is None:
                return None
            snapshot = await month_snapshot(session=session, period=month)
        pairs = [
            (rater.name, person.cadre.name)
            for person in snapshot.people
            if person.self_state.done and not person.head_state.done
            for rater in person.raters
            if rater.name in self.people
        ]
        return self.rng.choice(pairs) if pairs else None

    def rate_through(self) -> Run:
        """A head's (or leader's) rating of someone whose self-score is in: the person, a
        score for each item, and Confirm (or whatever a rater's /rate offers, if nobody)."""

        async def run() -> list[str]:
            ids: list[str] = []
            pair = await self._to_rate()
            if pair is None:
                # Nobody's self-score is in yet: someone rated by a signed-up rater sends theirs.
                rated = [n for n in self._holding("cadre") if set(self.raters[n]) & self.names]
                ratee = self.rng.choice(rated)
                ids += await self.selfscore_through(self.people[ratee], ratee)()
                pair = await self._to_rate()
            if pair is None:
                name = self.rng.choice(self._holding("head") + self._holding("leader"))
                await self.people[name].command("rate")
                return ids
            name, ratee = pair
            user = self.people[name]
            await user.command("rate")
            for _ in range(14):
                last = self.latest(user, 1)[0]
                buttons = _buttons(last)
                by = {way: [d for _, d in buttons if d.startswith(way)] for way in RATE_WAY}
                if by["rate:ok:"]:
                    await self._press(user, by["rate:ok:"][0], last.message_id, ids)
                    break
                scores = by["rate:s:"] + by["rate:ts:"]
                if scores:
                    await self._press(user, self.rng.choice(scores), last.message_id, ids)
                elif by["rate:i:"]:
                    await self._press(user, by["rate:i:"][0], last.message_id, ids)
                elif by["rate:p:"]:
                    theirs = [d for label, d in buttons if label.endswith(" " + ratee)]
                    choice = (theirs or by["rate:p:"])[0]
                    await self._press(user, choice, last.message_id, ids)
                else:
                    break
            return ids

        return run

    def vote_through(self, user: SimUser, name: str) -> Run:
        """A whole ballot, as a voter who knows what they want: grade all, submit, confirm."""

        async def run() -> list[str]:
            lang = self.lang(name)
            await user.command("vote")
            try:
                given = await fill_ballot(user, self.texts, lambda _: self.rng.choice(GRADES), lang)
                message = ballot_message(user)
                await user.press(
                    self.texts.label(lang, "ballot.submit", n=len(given)), message=message
                )
                await user.press(
                    self.texts.label(lang, "ballot.confirm"), message=ballot_message(user)
                )
            except AssertionError:
                pass  # refused (no ballot now, already cast, not a voter): the checks still run
            return []

        return run

    def office_through(self, user: SimUser, name: str, kind: str) -> Run:
        """A whole office record (discipline, reward, deduction): each step's pick once (a
        department, a person, a violation, a day), then on (the next step, skip the note),
        every typed step answered, then Confirm."""
        typed = ["200", "季度工作突出"] if kind != "discipline" else ["今天", "会议迟到十分钟"]

        async def run() -> list[str]:
            ids: list[str] = []
            answers = iter(typed)
            pressed: set[str] = set()
            await user.command(kind)
            for _ in range(14):
                last = self.latest(user, 1)[0]
                actions: dict[str, list[str]] = {}
                for data in last.callback_data:
                    if data.startswith("off:"):
                        actions.setdefault(data.split(":")[1], []).append(data)
                if "ok" in actions:
                    await self._press(user, actions["ok"][0], last.message_id, ids)
                    break
                forward = [a for a in OFFICE_WAY if a in actions and a not in pressed]
                forward += [a for a in actions if a not in (*OFFICE_WAY, *OFFICE_ASIDE)]
                if forward:
                    pressed.add(forward[0])
                    data = self.rng.choice(actions[forward[0]])
                    await self._press(user, data, last.message_id, ids)
                elif actions or last.text.strip() not in self.unknown:
                    await user.send(next(answers, "200"))
                else:
                    break
            return ids

        return run

    def status_through(self, user: SimUser) -> Run:
        """/status, a department's names, back home; the unsigned, now and then."""

        async def run() -> list[str]:
            ids: list[str] = []
            await user.command("status")
            for prefix in ("st:dept:", "st:home:", "st:unsigned:", "st:code:"):
                last = self.latest(user, 1)[0]
                found = [d for d in last.callback_data if d.startswith(prefix)]
                if not found:
                    continue
                await self._press(user, self.rng.choice(found), last.message_id, ids)
            return ids

        return run

    def extend_through(self, user: SimUser) -> Run:
        """/extend the open month's deadline by a few days, with a reason."""

        async def run() -> list[str]:
            async with self.town.services.sessions() as session:
                month = await current_month(
                    session=session,
                    unit_id=self.town.services.unit_id,
                    now=self.town.services.now(),
                )
            if month is None:
                await user.command("extend", *self.typed_args("extend"))
                return []
            zone = self.town.services.settings.zone
            later = month.closes_at.astimezone(zone) + timedelta(days=self.rng.randint(1, 4))
            await user.command("extend", later.date().isoformat(), "18:00", "防汛抢险")
            return []

        return run

    def go_through(self, user: SimUser) -> Run:
        """A start button of the scheduler's latest message (to rate, to vote)."""

        async def run() -> list[str]:
            ids: list[str] = []
            message_id, data = self.find(user, ("go:",), 30)
            if data:
                await self._press(user, data, message_id, ids)
            return ids

        return run

    def latest(self, user: SimUser, count: int) -> list[SimMessage]:
        """The bot's last ``count`` messages to ``user`` (not all of them: the walk is long)."""
        stored = self.fake.bot_messages(user.chat_id)[-count:]
        return [SimMessage.from_stored(self.fake, m) for m in stored]

    def idle(self, user: SimUser) -> bool:
        """Whether the bot's last word to ``user`` was "I did not understand": no conversation."""
        messages = self.latest(user, 1)
        return not messages or messages[-1].text.strip() in self.unknown

    def own_button(self, user: SimUser) -> tuple[int, str] | None:
        messages = [m for m in self.latest(user, 3) if m.callback_data]
        if not messages:
            return None
        message = self.rng.choice(messages)
        # The last buttons are mostly the way forward (next page, submit, confirm): favoured,
        # so that flows get finished as well as wandered through.
        if self.rng.random() < 0.3:
            return message.message_id, self.rng.choice(message.callback_data[-3:])
        return message.message_id, self.rng.choice(message.callback_data)

    def command_args(self, command: str, *, plausible: bool = False) -> list[str]:
        roll = self.rng.random()
        if command in TYPED and (plausible or roll < 0.6):
            return self.typed_args(command)
        if roll < 0.6:
            return []
        if command == "lang":
            return [self.rng.choice(["en", "zh", "fr", junk(self.rng)[:100]])]
        if command == "invite":
            return [self.rng.choice(sorted(self.names))]
        return [junk(self.rng)[:200]]

    def typed_args(self, command: str, *, sure: bool = False) -> list[str]:
        """What the office types after /extend and /leave: mostly right, sometimes not (always
        right if ``sure``)."""
        today = self.town.services.now().astimezone(self.town.services.settings.zone).date()

        def day(low: int, high: int) -> str:
            return (today + timedelta(days=self.rng.randint(low, high))).strftime("%m-%d")

        if command == "extend":
            choices = [
                [day(-2, 25), "18:00", "防汛抢险，多数同志下村"],
                [day(-2, 25), "防汛"],
                [day(0, 25)],
                [day(0, 25), "25:99", "原因"],
                [junk(self.rng)[:300]],
            ]
        else:
            if sure:
                name = self.rng.choice(sorted(self.names))
                return [name, day(-3, 3), day(4, 12), "病假"]
            name = self.rng.choice([*sorted(self.names), "外镇人", "无此人"])
            choices = [
                [name, day(-5, 5), day(0, 12), "病假"],
                [name, day(-5, 5), day(-8, 12)],
                [name, "今天"],
                [name, day(0, 3), day(4, 9), junk(self.rng)[:300]],
                [junk(self.rng)[:100], day(0, 1), day(1, 2)],
            ]
        return self.rng.choice(choices)

    # -- hostile steps -----------------------------------------------------------------------

    def hostile(self) -> tuple[str, str, Run]:
        roll = self.rng.random()
        if roll < 0.35:
            name = self.rng.choice(sorted(self.people))
            data = self.forged()
            return f"forged {data!r}", name, self.press(self.people[name], data, None)
        if roll < 0.5:
            name = self.rng.choice([n for n in PLAIN_CADRES if n in self.people])
            data = self.others_button()
            if data is not None:
                return f"others' {data}", name, self.press(self.people[name], data, None)
        if roll < 0.58:
            stale = sorted(d for d in self.starts if not d.endswith(f":{self.month}"))
            go = [d for d in stale if d.startswith("go:")]
            if go and self.rng.random() < 0.7:
                stale = go
            if stale:
                name = self.rng.choice(sorted(self.people))
                data = self.rng.choice(stale)
                return f"stale {data}", name, self.press(self.people[name], data, None)
        outsider = self.rng.choice([self.stranger, self.outsider])
        who = "stranger" if outsider is self.stranger else "outsider"
        roll = self.rng.random()
        if roll < 0.35:
            data = self.forged() if self.rng.random() < 0.5 else (self.any_button() or "zz:1")
            return f"press {data!r}", who, self.press(outsider, data, None)
        if roll < 0.6:
            command = self.rng.choice(COMMANDS)
            args = self.command_args(command)
            return f"command /{command}", who, self.command(outsider, command, args)
        if roll < 0.75:
            return "group command", who, self.group_command(outsider)
        if roll < 0.9:
            answer = self.rng.choice(ANSWERS) if self.rng.random() < 0.5 else junk(self.rng)
            return f"send {answer[:30]!r}", who, self.send(outsider, answer)
        return "media", who, self.media(outsider)

    def any_button(self) -> str | None:
        seen = [d for m in self.fake.calls[-400:] for d in _data_of(m.params)]
        return self.rng.choice(seen) if seen else None

    def others_button(self) -> str | None:
        """A recent button of a head's, the office's or a rater's, of any of those kinds."""
        kinds = sorted(k for k, found in self.bound.items() if found)
        return self.rng.choice(self.bound[self.rng.choice(kinds)]) if kinds else None

    def forged(self) -> str:
        """Callback data the bot would not have built, grown from data it did build."""
        base = self.any_button() or "selfscore:start:1"
        parts = base.split(":")
        family = Family.all.get(parts[0])
        args = family.actions.get(parts[1], ()) if family and len(parts) > 1 else ()
        roll = self.rng.random()
        if args and roll < 0.55:
            index = self.rng.randrange(len(args))
            arg = args[index]
            if arg.kind == "id":
                # Another unit's ids only where they name the same kind of row: a period id of
                # another unit may well be a cadre id here.
                value = str(self.rng.choice([*FAR_IDS, *self.foreign_ids.get(arg.name, [])]))
            elif arg.kind == "int":
                value = self.rng.choice([str(arg.maximum + 1), "-1", "1.5", str(10**20)])
            elif arg.kind in ("key", "choice"):
                value = self.rng.choice(["zzz", "DUTY", "duty2", "../x", "x" * 33])
            elif arg.kind == "token":
                value = self.rng.choice(["0000", "ffffffff", "zz", "0" * 17])
            else:
                value = self.rng.choice(["20261399", "x", "99999999"])
            parts[2 + index] = value
            return ":".join(parts)
        variants = [
            base[: self.rng.randrange(max(1, len(base)))],
            base + ":1",
            base.upper(),
            base.replace(":", "::", 1),
            base + "x" * 80,
            "投票:" + base,
            "zz:" + base,
            "",
            ":" * 5,
            parts[0],
        ]
        return self.rng.choice(variants)[:200]

    # -- actions: each returns the callback query ids it created -----------------------------

    def press(
        self, user: SimUser, data: str, message_id: int | None
    ) -> Callable[[], Awaitable[list[str]]]:
        async def run() -> list[str]:
            if message_id is not None and self.fake.message(user.chat_id, message_id) is None:
                message = None
            else:
                message = message_id
            answer = await user.press_data(data, message_id=message)
            return [answer.query_id]

        return run

    def send(self, user: SimUser, answer: str) -> Callable[[], Awaitable[list[str]]]:
        async def run() -> list[str]:
            if not answer.strip():
                await user.send_sticker()
                return []
            update = await user.send(answer)
            if update.message is not None:
                self.sent.setdefault(user.chat_id, []).append(update.message)
            return []

        return run

    def command(
        self, user: SimUser, command: str, args: list[str]
    ) -> Callable[[], Awaitable[list[str]]]:
        async def run() -> list[str]:
            await user.command(command, *args)
            return []

        return run

    def group_command(self, user: SimUser) -> Callable[[], Awaitable[list[str]]]:
        async def run() -> list[str]:
            command = self.rng.choice(("bind_leadership", "status", "help", "start", "vote"))
            await self.group.command(user, command)
            return []

        return run

    def edit(self, user: SimUser) -> Callable[[], Awaitable[list[str]]]:
        async def run() -> list[str]:
            sent = self.sent.get(user.chat_id)
            if not sent:
                await user.send(self.rng.choice(ANSWERS))
                return []
            edited = self.rng.choice(sent).to_dict()
            edited.update(text=self.rng.choice(ANSWERS), edit_date=edited["date"] + 5)
            await self.town.sim.deliver(
                {"update_id": self.fake.next_update_id(), "edited_message": edited}
            )
            return []

        return run

    def media(self, user: SimUser) -> Callable[[], Awaitable[list[str]]]:
        async def run() -> list[str]:
            roll = self.rng.random()
            if roll < 0.4:
                await user.send_photo(caption=self.rng.choice(["", "证明", junk(self.rng)[:1024]]))
            elif roll < 0.7:
                await user.send_document("材料.pdf", b"%PDF-1.4 fuzz")
            else:
                await user.send_sticker()
            return []

        return run

    # -- checks ------------------------------------------------------------------------------

    def problems(
        self, calls: int, mark: int, query_ids: list[str], *, own: str | None = None
    ) -> list[str]:
        found: list[str] = []
        for query_id in query_ids:
            answer = self.fake.callback_answer(query_id)
            if answer is None:
                found.append(f"callback query {query_id} unanswered")
            elif own is not None:
                shown = [n for n in self.names - {own} if n in str(answer.get("text") or "")]
                if shown:
                    found.append(f"names {shown} shown to {own} in an alert")
        private = self.people[own].chat_id if own is not None else None
        for call in self.fake.calls[calls:]:
            if call.status != 200:
                description = str(call.response.get("description", ""))
                if not any(t in description for t in TOLERATED):
                    found.append(f"{call.method} refused: {call.status} {description[:120]}")
            for data in _data_of(call.params):
                if data.startswith(START_BUTTONS):
                    self.starts.add(data)
                kind = next((k for k in ROLE_BOUND if data.startswith(k)), None)
                if kind is not None:
                    self.bound[kind] = [*self.bound.get(kind, [])[-19:], data]
            said = " ".join(str(call.params.get(key) or "") for key in ("text", "caption"))
            if said and any(g in _visible(said, call.params) for g in self.generic):
                found.append(f"generic error in {call.method}")
            chat = call.params.get("chat_id")
            if chat in (self.stranger.chat_id, self.outsider.chat_id):
                shown = [n for n in self.names if n in said]
                if shown:
                    found.append(f"names {shown} shown to a stranger")
            if own is not None and chat == private:
                shown = [n for n in self.names - {own} if n in said]
                if shown:
                    found.append(f"names {shown} shown to {own}")
        if self.errors.records:
            record = self.errors.records[0]
            found.append(f"logged {record.levelname}: {record.getMessage()[:200]}")
            self.errors.records.clear()
        return found

    async def fingerprint(self) -> dict[str, list[tuple[Any, ...]]]:
        return await fingerprint(self.town, ignore=IGNORED)


def _visible(said: str, params: dict[str, Any]) -> str:
    """What a person would read of a text (the raw text if Telegram could not parse it)."""
    if str(params.get("parse_mode", "")).upper() != "HTML":
        return said
    try:
        return html_to_text(said)
    except EntityParseError:
        return said


def _data_of(params: dict[str, Any]) -> list[str]:
    markup = params.get("reply_markup")
    if not isinstance(markup, dict):
        return []
    return [
        str(button["callback_data"])
        for row in markup.get("inline_keyboard", [])
        for button in row
        if "callback_data" in button
    ]


def _buttons(message: SimMessage) -> list[tuple[str, str]]:
    """The message's buttons as (label, callback data)."""
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    return [
        (str(b["text"]), str(b["callback_data"]))
        for row in rows
        for b in row
        if "callback_data" in b
    ]


@dataclass
class Calendar:
    """The town's calendar on a clock the walk moves by hand."""

    town: Any
    clock: Any

    async def tick(self) -> list[str]:
        """Move the clock to the next event and let the scheduler run what is due and send
        what it queued; the names of the events that ran (none once the calendar is over)."""
        scheduler = self.town.app.scheduler
        now = self.clock.now()
        upcoming = [e for e in await scheduler.pending_events() if e.due > now]
        if not upcoming:
            return []
        self.clock.set(upcoming[0].due)
        ran = await scheduler.run_until_idle()
        return [r.event.name for r in ran if r.outcome is not None]

    async def settle(self) -> None:
        """Run now what a change of the calendar made due (the notice of a deadline moved),
        rather than whenever the scheduler's own task gets to it: the walk stays replayable."""
        await self.town.app.scheduler.run_until_idle()
