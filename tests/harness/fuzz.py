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
  every state is reached, not only the first screens; while a quarter is under review or
  published, the quarter's tasks too (:data:`REVIEW_INTENTS`, :data:`PUBLISHED_INTENTS`: a
  reviewing leader through the review message (a cadre, a month item by item, the evidence, an
  adjustment with its typed reason, junk, media and empty text first, then confirmed, cancelled
  or double-tapped), the chair's Publish (double-tapped), a cadre's appeal (before publication,
  with a reason typed as anything, cancelled or confirmed, then a second one), a leader's answer
  (upheld with junk scores first, or rejected; then answered again by the other reviewer), and
  ``/report`` with and without a period);
- *the calendar*: every so often the clock moves to the next event and the scheduler runs it
  (reminders with their start buttons, the deadline, the next opening, the end of a quarter's
  review, its announcement, the end of its notice), so old buttons go stale;
- *hostile*: a person presses callback data forged from what the bot has built (ids beyond any
  database, another unit's ids, unknown keys and tokens, truncated, oversized, non-ASCII, no
  family), a start button of a month that is over, a cadre without the role presses another
  person's head, office, status, start-to-rate, review or answer buttons, a stranger or a person
  of another unit does anything at all, in private or in a group; and in the quarter
  (:meth:`Fuzzer.review_hostile`): someone presses a confirm or cancel button of another
  person's draft (another leader's token), a leader who does not review presses the review's
  buttons, a cadre appeals when they may not (before publication, after the window, a second
  time), a reviewing leader presses the review's buttons after publication or answers an appeal
  answered already.

After every step: no generic error reply and no error logged, every press answered, no Bot API
call Telegram would refuse, no name shown to a stranger, and none but their own to a cadre
pressing buttons that are not theirs; after a hostile step the appraisal's data (everything but
conversation state, update claims, the sign-up throttle and the scheduler's own bookkeeping of
its events and outbox; :data:`GUARDED` among it) is exactly as before, and so it is after the
second tap of a double tap (a confirmation, Publish), an appeal that may not be and an appeal
answered again; an upheld appeal's new score is the score the leader confirmed.

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
from decimal import Decimal
from typing import Any

from sqlalchemy import LargeBinary
from sqlmodel import SQLModel, select

from bot.appraisal import review as review_service
from bot.appraisal.month import current_month
from bot.appraisal.progress import month_snapshot
from bot.chat.keyboards import Family
from bot.emulator.entities import EntityParseError
from bot.emulator.simulator import SimMessage, SimUser
from bot.emulator.telegram import html_to_text
from bot.rules.raters import raters_of
from storage.models import Result, ScoreAdjustment
from storage.queries import reviews as reviews_q
from storage.queries.roster import list_cadres
from storage.queries.schemes import scheme_of
from tests.harness.appraisal import cast_for, submit_self
from tests.harness.ballot import ballot_message, fill_ballot
from tests.harness.town import VOLATILE

#: What a hostile step must not change: all but :data:`VOLATILE` and the scheduler's own
#: bookkeeping (an event claimed, a queued message sent, by its background tasks).
IGNORED = VOLATILE | {"calendar_event", "outbox"}
#: The quarter's figures and what changes them: legitimate steps write them (an adjustment
#: confirmed, an appeal filed or answered, the quarter scored again), a hostile one never.
GUARDED = ("score_adjustment", "appeal", "result")

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
    "report",
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
#: The quarter's whole tasks while it is in review ("appeal": one too early), and once it is
#: published ("appeal": one in the window, or too late); each quarter's intent takes the next
#: of its state's.
REVIEW_INTENTS = ("review", "publish", "appeal", "review", "publish")
PUBLISHED_INTENTS = ("appeal", "answer", "report", "appeal", "answer", "review", "appeal", "answer")
#: Reasons and answers typed in the review: plausible, marked up, long, bidirectional.
REASONS = (
    "防汛值守受县表彰",
    "经核实，三月信访化解工作应予计入。",
    "<b>加分</b> & <i>理由</i> <a href='x'>链接</a>",
    "理由" * 400,
    "\u202e由理\u200b",
    "Reason in English",
)
#: Scores typed for an upheld appeal: junk first, then one that holds.
SCORES = ("九十", "abc", "1e309", "NaN", "-5", "101", "９０", "88分", "", "90.5")
#: What /report is typed with.
PERIODS = ("", "2026-Q2", "2026-Q3", "2026-H1", "2026", "2026-06", "Q2", "2026-q2", "2026-Q9")
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
ROLE_BOUND = ("rate:", "off:", "st:", "inv:", "go:rate:", "rv:", "ap:up:", "ap:rej:")
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
#: The review's buttons that find the review message: a cadre, a month, back to the list.
REVIEW_WAY = ("rv:who:", "rv:mon:", "rv:adj:", "rv:list:")
#: The review's and the appeals' buttons that carry a draft's token.
TOKENED = ("rv:ok:", "rv:no:", "ap:ok:", "ap:no:")
#: The review's buttons that write (or lead to writing) only while the quarter is in review.
IN_REVIEW_ONLY = ("rv:adj:", "rv:by:", "rv:pub:", "rv:puby:", "rv:ok:")
#: Steps that change the calendar (the notice of a deadline moved is an event of its own).
CALENDAR_CHANGES = ("command /extend", "command /leave", "intent extend", "intent leave")
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
    :meth:`run` does so every ``every`` steps. ``quarter``: the quarter whose review, publication
    and appeals the walk goes through (its months closed: in review, or later).
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
        quarter: int | None = None,
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
        self.others = 0  # presses of buttons not one's own so far
        self.hostiles = 0  # hostile steps in the quarter so far
        self.month: int | None = None  # the month open now
        self.quarter = quarter
        self.quarter_state: str | None = None  # the quarter's state now
        self.quarter_intents: dict[str, int] = {}  # the quarter's intents started, by state
        self.reviewers: list[str] = []  # the reviewing leaders signed up, the chair first
        self.chair: str | None = None
        self.bystanders: list[str] = []  # leaders who do not review
        self.ids: dict[str, int] = {}  # name -> cadre id
        # (chat, data) of the latest rv/ap buttons, by family and action ("rv:ok")
        self.review_seen: dict[str, list[tuple[int, str]]] = {}
        self.clean: dict[str, list[Any]] | None = None  # the data, if known as is
        self._rows_sql: str | None = None

    # -- the walk ----------------------------------------------------------------------------

    async def run(self, steps: int, *, every: int = 0) -> None:
        everyone = await self._roster()
        for cadre in everyone:
            self.ids[cadre.name] = cadre.id
            if cadre.name in self.people:
                self.roles[cadre.name] = set(cadre.roles.split(","))
                if (self.people[cadre.name].info.get("language_code") or "").startswith("en"):
                    self.english.add(cadre.name)
            self.raters[cadre.name] = [r.name for r in raters_of(cadre, everyone)]
        self.month = await self._open_month()
        if self.quarter is not None:
            period = await self.town.period(self.quarter)
            self.quarter_state = period.state
            scheme = scheme_of(period)
            signed = [c for c in everyone if c.name in self.people]
            self.reviewers = [
                c.name
                for c in sorted(signed, key=lambda c: not review_service.is_chair(c, scheme))
                if review_service.is_reviewer(c, scheme)
            ]
            self.chair = next((c.name for c in signed if review_service.is_chair(c, scheme)), None)
            self.bystanders = [
                c.name
                for c in signed
                if "leader" in c.roles.split(",") and c.name not in self.reviewers
            ]
        for call in self.fake.calls:
            self.collect(call)
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
        self.quarter_state = await self._quarter_state()
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
        own = actor if action.startswith("others'") or self._blind(action, actor) else None
        problems = self.problems(calls, mark, query_ids, own=own)
        if hostile and not problems:
            after = await self.fingerprint()
            if after != before:
                problems.append(f"the appraisal's data changed: {changed(before or {}, after)}")
            self.clean = after
        if problems:
            raise AssertionError(f"seed {self.seed}, {step}: " + "; ".join(problems))

    def _blind(self, action: str, actor: str) -> bool:
        """Whether a hostile step in the quarter is by someone who may see no other name: a
        cadre, or a leader who does not review."""
        return action.startswith("review ") and (
            actor in self.bystanders or "leader" not in self.roles.get(actor, set())
        )

    async def settle(self, action: str) -> None:
        """Send now what the step queued (a person told of an office record, the notice of a
        deadline moved, a quarter's reports once published) rather than whenever the sender's
        own task gets to it, so that the next step finds the chats as they will be: the walk
        stays replayable."""
        state = await self._quarter_state()
        published = state != self.quarter_state
        self.quarter_state = state
        if self.calendar is not None and (published or action.startswith(CALENDAR_CHANGES)):
            await self.calendar.settle()
        sender = getattr(self.town.app, "sender", None)
        if sender is not None:
            await sender.flush()

    async def _roster(self) -> list[Any]:
        async with self.town.services.sessions() as session:
            return await list_cadres(session=session, unit_id=self.town.services.unit_id)

    async def _quarter_state(self) -> str | None:
        if self.quarter is None:
            return None
        return str((await self.town.period(self.quarter)).state)

    async def _open_month(self) -> int | None:
        async with self.town.services.sessions() as session:
            month = await current_month(
                session=session, unit_id=self.town.services.unit_id, now=self.town.services.now()
            )
        return month.id if month is not None else None

    # -- ordinary steps ----------------------------------------------------------------------

    def ordinary(self) -> tuple[str, str, Run]:
        # Tasks are gone through while a month takes answers (between months, every command
        # says when the next one opens: the ordinary steps try that), and while a quarter is
        # reviewed or open to appeals (more often: those phases are short in a fast slice).
        quarter = self.quarter_state in ("in_review", "published")
        rate = {"in_review": 0.35, "published": 0.3}.get(str(self.quarter_state), 0.12)
        if self.rng.random() < rate and (self.month is not None or quarter):
            if quarter and (self.month is None or self.rng.random() < 0.4):
                state = str(self.quarter_state)
                cycle = REVIEW_INTENTS if state == "in_review" else PUBLISHED_INTENTS
                done = self.quarter_intents.get(state, 0)
                kind = cycle[done % len(cycle)]
                self.quarter_intents[state] = done + 1
            else:
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
        if kind == "publish" and self.chair is not None:
            return self.chair, self.publish_through(self.people[self.chair])
        if kind in ("review", "answer") and self.reviewers:
            name = self.rng.choice(self.reviewers)
            if kind == "review":
                return name, self.review_through(self.people[name])
            return name, self.answer_through(self.people[name])
        if kind == "appeal":
            return "a cadre", self.appeal_through()
        if kind in ("report", "review", "publish", "answer"):  # (nobody reviews: /report)
            name = self.rng.choice(self._holding("leader") + self._holding("office"))
            # The quarter's report, named or as the latest (junk periods: the ordinary steps).
            period = self.rng.choice(PERIODS[:2])
            return name, self.command(self.people[name], "report", [period] if period else [])
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

    async def _press(self, user: SimUser, data: str, message_id: int | None, ids: list[str]) -> Any:
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

    # -- the quarter -------------------------------------------------------------------------

    def review_message(self, user: SimUser) -> SimMessage | None:
        """The latest message of ``user``'s with the review's way around on it (the review
        message, edited in place as they go; a cadre's screen after a confirmation)."""
        for stored in reversed(self.fake.bot_messages(user.chat_id)[-200:]):
            message = SimMessage.from_stored(self.fake, stored)
            if any(d.startswith(REVIEW_WAY) for d in message.callback_data):
                return message
        return None

    def reread(self, user: SimUser, message_id: int) -> SimMessage:
        stored = self.fake.message(user.chat_id, message_id)
        assert stored is not None
        return SimMessage.from_stored(self.fake, stored)

    async def unchanged(self, what: str, action: Awaitable[Any]) -> None:
        """Do ``action`` (the second tap of a double tap, an appeal that may not be) and check
        that it changed nothing."""
        before = await self.fingerprint()
        await action
        after = await self.fingerprint()
        if after != before:
            raise AssertionError(f"{what} changed the data: {changed(before, after)}")

    async def typed(self, user: SimUser, confirm: str, answers: list[str]) -> SimMessage | None:
        """Answer the review's typed question (a reason, a score, an answer): now and then a
        sticker, a photo, a file or next to nothing first, then ``answers`` in turn until the
        confirmation (a ``confirm`` button) shows; that message, or None."""
        first: list[str | None] = []
        if self.rng.random() < 0.4:
            first = [self.rng.choice([None, None, "\u200b", "。", "-"])]
        for answer in [*first, *answers]:
            if answer is None:
                roll = self.rng.random()
                if roll < 0.4:
                    await user.send_sticker()
                elif roll < 0.7:
                    await user.send_photo(caption=self.rng.choice(["", "证明"]))
                else:
                    await user.send_document("说明.pdf", b"%PDF-1.4 reason")
            elif answer.strip():
                await user.send(answer)
            else:
                await user.send_sticker()
            last = self.latest(user, 1)[0]
            if any(d.startswith(confirm) for d in last.callback_data):
                return last
        return None

    def reason(self) -> str:
        return self.rng.choice(REASONS) if self.rng.random() < 0.7 else junk(self.rng)

    async def confirm(
        self, user: SimUser, message: SimMessage, family: str, ids: list[str]
    ) -> bool:
        """Confirm (now and then tapped twice: the second changes nothing) or, now and then,
        cancel the draft on ``message``; whether it was confirmed."""
        ok = [d for d in message.callback_data if d.startswith(f"{family}:ok:")]
        no = [d for d in message.callback_data if d.startswith(f"{family}:no:")]
        if no and self.rng.random() < 0.15:
            await self._press(user, no[0], message.message_id, ids)
            return False
        await self._press(user, ok[0], message.message_id, ids)
        if self.rng.random() < 0.5:
            await self.unchanged(
                f"a second tap of {ok[0]}", self._press(user, ok[0], message.message_id, ids)
            )
        return True

    def review_through(self, user: SimUser) -> Run:
        """A reviewing leader goes down the review message person by person (one to three of
        them): a cadre, a month item by item (and its evidence), back, then an adjustment with
        its typed reason, confirmed or cancelled, and back to the list."""

        async def run() -> list[str]:
            ids: list[str] = []
            for _ in range(self.rng.randint(1, 3)):
                screen = self.review_message(user)
                if screen is None:
                    break  # published: the list says so, without buttons
                if not await self.review_one(user, screen, ids):
                    break
            return ids

        return run

    async def review_one(self, user: SimUser, screen: SimMessage, ids: list[str]) -> bool:
        """One cadre of the review from ``screen`` (now and then the one leading the list: who
        is 优秀 is decided at the top); whether an adjustment was confirmed."""
        top = f"rv:who:{self.quarter}:{await self.top()}" if self.rng.random() < 0.3 else ""

        async def on(prefix: str) -> bool:
            nonlocal screen
            found = [d for d in screen.callback_data if d.startswith(prefix)]
            if not found:
                return False
            data = top if top in found else self.rng.choice(found)
            await self._press(user, data, screen.message_id, ids)
            screen = self.reread(user, screen.message_id)
            return True

        if not await on("rv:who:"):
            await on("rv:list:")
            await on("rv:who:")
        if await on("rv:mon:"):
            if self.rng.random() < 0.6:
                await on("rv:ev:")
            await on("rv:who:")
        if self.rng.random() < 0.15 or not await on("rv:adj:") or not await on("rv:by:"):
            await on("rv:list:")
            return False
        message = await self.typed(user, "rv:ok:", [self.reason(), "工作突出"])
        if message is None or not await self.confirm(user, message, "rv", ids):
            return False
        screen = self.reread(user, message.message_id)
        await on("rv:list:")
        return True

    def publish_through(self, user: SimUser) -> Run:
        """The chair: back to the list, Publish, yes (tapped twice now and then); but while
        nobody has adjusted a score yet, the chair reviews instead."""

        async def run() -> list[str]:
            if not await self.adjusted():
                return await self.review_through(user)()
            ids: list[str] = []
            screen = self.review_message(user)
            if screen is None:
                return ids  # published already: the list says so, without buttons
            for action in ("rv:list:", "rv:pub:", "rv:puby:"):
                found = [d for d in screen.callback_data if d.startswith(action)]
                if action == "rv:list:" and any(
                    d.startswith("rv:pub") for d in screen.callback_data
                ):
                    continue  # on the list already
                if not found:
                    return ids
                await self._press(user, found[0], screen.message_id, ids)
                if action == "rv:puby:" and self.rng.random() < 0.5:
                    await self.unchanged(
                        "a second tap of Publish",
                        self._press(user, found[0], screen.message_id, ids),
                    )
                screen = self.reread(user, screen.message_id)
            return ids

        return run

    def draft(self, user: SimUser) -> dict[str, Any]:
        """The review's draft under way of ``user`` (what their confirmation will write)."""
        data = self.town.app.user_data.get(user.id) or {}
        return dict(data.get("review") or {})

    async def appellants_by_id(self) -> dict[int, Any]:
        return {a.id: a for a in (await self.appellants()).values()}

    async def appellants(self) -> dict[int, Any]:
        """The quarter's appeals by cadre id."""
        assert self.quarter is not None
        async with self.town.services.sessions() as session:
            appeals = await reviews_q.appeals_of(session=session, period_id=self.quarter)
        return {a.cadre_id: a for a in appeals}

    def appeal_through(self) -> Run:
        """A cadre's appeal (half the time one whose score a leader changed): before
        publication a press that is refused; in the window the Appeal button under their
        result, a reason typed as anything, confirmed (or cancelled), then Appeal again,
        refused; after the window, refused. A refusal changes nothing."""

        async def run() -> list[str]:
            ids: list[str] = []
            adjusted = [n for n in await self.adjusted() if n in self.people]
            cadres = self._holding("cadre")
            name = self.rng.choice(adjusted if adjusted and self.rng.random() < 0.5 else cadres)
            user = self.people[name]
            message_id, data = self.find(user, ("ap:new:",), 200)
            data = data or f"ap:new:{self.quarter}"
            if self.quarter_state == "in_review" or self.ids.get(name) in await self.appellants():
                await self.unchanged(
                    f"an appeal by {name} that may not be",
                    self._press(user, data, message_id or None, ids),
                )
                return ids
            answer = await self._press(user, data, message_id or None, ids)
            if answer.show_alert:
                return ids  # the window is over: refused
            message = await self.typed(user, "ap:ok:", [self.reason(), "成绩计算有误"])
            if message is not None and await self.confirm(user, message, "ap", ids):
                await self.unchanged(
                    f"a second appeal by {name}", self._press(user, data, message_id or None, ids)
                )
            return ids

        return run

    async def top(self) -> int | None:
        """The cadre with the quarter's highest score."""
        async with self.town.services.sessions() as session:
            rows = await session.exec(
                select(Result.cadre_id, Result.score).where(Result.period_id == self.quarter)
            )
            scored = [(score, cadre) for cadre, score in rows.all() if score is not None]
        return max(scored)[1] if scored else None

    async def adjusted(self) -> list[str]:
        """Whose quarterly score a leader changed, in roster order."""
        async with self.town.services.sessions() as session:
            rows = await session.exec(
                select(ScoreAdjustment.cadre_id).where(ScoreAdjustment.period_id == self.quarter)
            )
            changed = set(rows.all())
        return [n for n, i in self.ids.items() if i in changed]

    def answer_through(self, user: SimUser) -> Run:
        """A reviewing leader answers an open appeal from its notice: upheld (junk scores first,
        then one that holds, then the answer) or rejected (the answer), confirmed; then the
        appeal is answered again (by the other reviewer, or the same), refused."""

        async def run() -> list[str]:
            ids: list[str] = []
            appeals = await self.appellants()
            open_ = [a.id for a in appeals.values() if a.state == "open"]
            buttons = [
                (m.message_id, d)
                for m in self.latest(user, 200)
                for d in m.callback_data
                if d.startswith(("ap:up:", "ap:rej:"))
            ]
            live = [(m, d) for m, d in buttons if int(d.split(":")[2]) in open_]
            if not live:
                if buttons:
                    message_id, data = self.rng.choice(buttons)
                    await self.unchanged(
                        "an appeal answered twice", self._press(user, data, message_id, ids)
                    )
                return ids
            message_id, data = self.rng.choice(live)
            appeal = int(data.split(":")[2])
            uphold = data.startswith("ap:up:")
            await self._press(user, data, message_id, ids)
            answers = [self.reason(), "经核实，维持原结果。"]
            if uphold:
                junk_scores = self.rng.sample(SCORES[:-1], self.rng.randint(0, 2))
                answers = [*junk_scores, "90.5", *answers]
            message = await self.typed(user, "ap:ok:", answers)
            score = self.draft(user).get("score")
            if message is None or not await self.confirm(user, message, "ap", ids):
                return ids
            # What the leader confirmed is what is written: an upheld appeal's new score is the
            # score typed.
            stored = (await self.appellants_by_id()).get(appeal)
            upheld = stored is not None and stored.state == "upheld" and score is not None
            if upheld and stored.new_score != Decimal(str(score)):
                raise AssertionError(
                    f"appeal {appeal} upheld with {score}, stored {stored.new_score}"
                )
            other = self.people[self.rng.choice(self.reviewers)]
            again = [
                (m.message_id, d)
                for m in self.latest(other, 200)
                for d in m.callback_data
                if d.split(":")[-1] == str(appeal) and d.startswith(("ap:up:", "ap:rej:"))
            ]
            if again:
                message_id, data = self.rng.choice(again)
                await self.unchanged(
                    "an appeal answered twice", self._press(other, data, message_id, ids)
                )
            return ids

        return run

    @property
    def review_buttons(self) -> list[tuple[int, str]]:
        """The latest review and appeal buttons of every action: (chat, data)."""
        return [b for kind in sorted(self.review_seen) for b in self.review_seen[kind]]

    def review_hostile(self) -> tuple[str, str, Run]:
        """A press in the quarter that must change nothing: another person's draft's confirm or
        cancel (another leader's token), the review's buttons by a leader who does not review,
        an appeal when the cadre may not (or a first press in the window, which only asks for
        the reason), the review's buttons after publication or an answered appeal's."""
        kinds = ["appeal"]
        tokens = [(c, d) for c, d in self.review_buttons if d.startswith(TOKENED)]
        if tokens:
            kinds.append("token")
        if self.bystanders:
            kinds.append("bystander")
        if self.quarter_state in ("published", "final") and self.reviewers:
            kinds.append("late")
        self.hostiles += 1  # each kind in turn
        kind = kinds[self.hostiles % len(kinds)]
        if kind == "token":
            chat, data = self.rng.choice(tokens)
            name = self.rng.choice(sorted(n for n in self.people if self.people[n].chat_id != chat))
        elif kind == "bystander":
            name = self.rng.choice(self.bystanders)
            seen = [d for _, d in self.review_buttons if d.startswith(ROLE_BOUND[-3:])]
            data = self.rng.choice(seen) if seen else f"rv:list:{self.quarter}:0"
        elif kind == "late":
            name = self.rng.choice(self.reviewers)
            seen = [
                d
                for _, d in self.review_buttons
                if d.startswith((*IN_REVIEW_ONLY, "ap:up:", "ap:rej:"))
            ]
            cadre = self.ids[self.rng.choice(self._holding("cadre"))]
            data = self.rng.choice(seen) if seen else f"rv:adj:{self.quarter}:{cadre}"
            if data.startswith("rv:pub") and self.chair is not None:
                name = self.chair  # (anyone else is refused as not the chair)
        else:
            name = self.rng.choice(self._holding("cadre"))
            data = f"ap:new:{self.quarter}"
        return f"review {kind} {data}", name, self.press(self.people[name], data, None)

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
        if command == "report" and roll < 0.8:
            return [self.rng.choice(PERIODS[1:])]
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
        if roll < 0.72 and self.quarter is not None:
            return self.review_hostile()
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
        """A recent button of a head's, the office's, a rater's, the review's or an answer's:
        each kind in turn, so that a short walk presses every kind."""
        kinds = sorted(k for k, found in self.bound.items() if found)
        if not kinds:
            return None
        self.others += 1
        return self.rng.choice(self.bound[kinds[self.others % len(kinds)]])

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
            self.collect(call)
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

    def collect(self, call: Any) -> None:
        """Keep the buttons a call put on a message that hostile steps press later: start
        buttons, role-bound ones, the review's and the appeals' (with the chat they went to)."""
        for data in _data_of(call.params):
            if data.startswith(START_BUTTONS):
                self.starts.add(data)
            kind = next((k for k in ROLE_BOUND if data.startswith(k)), None)
            if kind is not None:
                self.bound[kind] = [*self.bound.get(kind, [])[-19:], data]
            if data.startswith(("rv:", "ap:")):
                chat = int(call.params.get("chat_id") or 0)
                action = ":".join(data.split(":")[:2])
                self.review_seen[action] = [*self.review_seen.get(action, [])[-9:], (chat, data)]

    async def fingerprint(self) -> dict[str, list[Any]]:
        """Every row of every table but :data:`IGNORED`'s, of every unit, in one statement: as
        :func:`tests.harness.town.fingerprint`, at a fraction of its cost (the walk takes two
        a hostile step)."""
        if self._rows_sql is None:
            self._rows_sql = rows_statement(IGNORED)
        rows: dict[str, list[Any]] = {}
        async with self.town.services.engine.connect() as connection:
            for table, row in (await connection.exec_driver_sql(self._rows_sql)).all():
                rows.setdefault(str(table), []).append(row)
        return {table: sorted(found) for table, found in rows.items()}


def rows_statement(ignore: frozenset[str]) -> str:
    """One SELECT of every row of every table but ``ignore``'s, each row as (table, its values
    as one text): SQLite and PostgreSQL both cast any column to text."""
    selects = []
    for table in SQLModel.metadata.sorted_tables:
        if table.name in ignore:
            continue
        assert not any(isinstance(c.type, LargeBinary) for c in table.columns), table.name
        values = " || '|' || ".join(
            f"COALESCE(CAST(\"{c.name}\" AS TEXT), '-')" for c in table.columns
        )
        selects.append(f"SELECT CAST('{table.name}' AS TEXT), {values} FROM \"{table.name}\"")
    return " UNION ALL ".join(selects)


def changed(before: dict[str, list[Any]], after: dict[str, list[Any]]) -> list[str]:
    """The tables whose rows differ."""
    return sorted(t for t in before.keys() | after.keys() if before.get(t) != after.get(t))


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

    async def until(self, name: str, *, limit: int = 40) -> list[str]:
        """Move from event to event until the event ``name`` (``close@12``) has run; every
        event that ran on the way."""
        ran: list[str] = []
        for _ in range(limit):
            now = await self.tick()
            if not now:
                break
            ran += now
            if name in now:
                return ran
        raise AssertionError(f"{name} never ran: {ran}")


async def play_month(
    town: Any,
    period: Any,
    rng: random.Random,
    *,
    evidence: str | None = None,
    full: bool = True,
) -> None:
    """Everyone's work of an open month, done in bulk through the services the bot uses rather
    than by steps of the walk: each assessed cadre's self-score (one of them forgets it), their
    rater's rating (one rater forgets one) and every ballot, with figures from ``rng`` so that
    the quarter has grades of every kind, and the third cadre of the roster given 100 and 优秀
    by everyone (a score an adjustment pushes past 100); without ``full``, only the self-scores
    (the month has no head's rating and too few ballots: both sources are left out).
    ``evidence``: a photo's file id the first cadre sends with their 本职工作, with a note (what
    the review's 📎 button sends back)."""
    async with town.services.sessions() as session:
        snapshot = await month_snapshot(session=session, period=period)
    people = snapshot.people
    forgets_self = rng.choice(people[3:]).cadre.name if full else None
    forgets_head = rng.choice(people[3:]).cadre.name
    star = people[2].cadre.name  # 100 on everything, from everyone: near the top of the range
    for index, person in enumerate(people):
        name = person.cadre.name
        keys = ("duty", "central", "village") if person.cadre.village else ("duty", "central")
        extra: dict[str, Any] = {}
        if evidence is not None and index == 0:
            extra = {"evidence": {"duty": (evidence, "photo")}, "notes": {"duty": "汛期值守"}}
        if name != forgets_self:
            scores = {k: str(rng.choice((55, 72, 84, 88, 92, 97))) for k in keys}
            if name == star:
                scores = dict.fromkeys(keys, "100")
            await submit_self(town, period, name, scores, **extra)
        if full and name != forgets_head and person.raters:
            scores = {k: str(rng.choice((62, 78, 85, 90, 95))) for k in keys}
            if name == star:
                scores = dict.fromkeys(keys, "100")
            await submit_self(town, period, name, scores, rater=person.raters[0].name)
    names = [p.cadre.name for p in people]
    for voter in names if full else []:
        grades = {n: "excellent" if n == star else rng.choice(GRADES) for n in names if n != voter}
        await cast_for(town, period, voter, grades=grades)
