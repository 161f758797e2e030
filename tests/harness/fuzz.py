"""The project's fuzzer: a seeded walk of the whole town through every capability, with junk.

Why a walk and not single shots: the defects worth finding live in conversation states (a
forged press in the middle of a rating, a photo while a self-score question is open, a stale
button after the month closed), so people keep their state from one step to the next. Each
step is one of

- *ordinary*: a signed-up person presses a button on one of their last messages, answers with
  something plausible or silly, sends a command (with or without arguments), a photo, a file,
  a sticker, or edits what they sent;
- *hostile*: a person presses callback data forged from what the bot has built (ids beyond any
  database, another unit's ids, unknown keys and tokens, truncated, oversized, non-ASCII, no
  family), a cadre without the role presses another person's head, office or status buttons, a
  stranger or a person of another unit does anything at all, in private or in a group.

After every step: no generic error reply and no error logged, every press answered, no Bot API
call Telegram would refuse, no name shown to a stranger; after a hostile step the appraisal's
data (everything but conversation state, update claims and the sign-up throttle) is exactly as
before. Halfway through, the month closes and the next one opens, so old buttons go stale.

Reproducible: ``random.Random(seed)`` picks every step, and a failure names the seed and the
step (``FUZZ_SEED=<seed> FUZZ_STEPS=<n>`` replays it).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlmodel import SQLModel

from bot.appraisal import periods as appraisal
from bot.chat.keyboards import Family
from bot.emulator.entities import EntityParseError
from bot.emulator.simulator import SimMessage, SimUser
from bot.emulator.telegram import html_to_text
from storage.engine import transaction
from storage.models import Period
from tests.harness.ballot import ballot_message, fill_ballot

#: Tables whose rows may change on any update: conversation state, update claims, the throttle.
VOLATILE = {"persisted_conversation", "persisted_data", "processed_update", "signup_failure"}

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
    "status": {"office", "leader"},
}
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
#: Role-bound families a cadre without that role must not be able to use.
ROLE_FAMILIES = ("rate", "off", "st", "inv")
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

    seen: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        logging.Handler.__init__(self, logging.INFO)

    def emit(self, record: logging.LogRecord) -> None:
        outcome = str(record.args[-2]) if isinstance(record.args, tuple) else ""
        self.seen[outcome] = self.seen.get(outcome, 0) + 1

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


class Fuzzer:
    """One walk over a town whose people are all signed up and whose month is open."""

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

    # -- the walk ----------------------------------------------------------------------------

    async def run(self, steps: int, *, turn: Callable[[], Awaitable[None]] | None = None) -> None:
        for name in self.people:
            cadre = await self.town.cadre(name)
            self.roles[name] = set(cadre.roles.split(","))
            if (self.people[name].info.get("language_code") or "").startswith("en"):
                self.english.add(name)
        root, updates = logging.getLogger(), logging.getLogger("kaohe.updates")
        root.addHandler(self.errors)
        updates.addHandler(self.outcomes)
        level = updates.level
        updates.setLevel(logging.INFO)
        try:
            for number in range(1, steps + 1):
                if turn is not None and number == steps // 2:
                    await turn()
                await self.step(number)
        finally:
            root.removeHandler(self.errors)
            updates.removeHandler(self.outcomes)
            updates.setLevel(level)

    async def step(self, number: int) -> None:
        hostile = self.rng.random() < 0.35
        action, actor, run = self.hostile() if hostile else self.ordinary()
        step = Step(number, actor, action, hostile)
        self.counts[action.split(" ")[0]] = self.counts.get(action.split(" ")[0], 0) + 1
        before = await self.fingerprint() if hostile else None
        calls, mark = len(self.fake.calls), self.fake.seq
        try:
            query_ids = await run()
        except AssertionError as failure:
            raise AssertionError(f"seed {self.seed}, {step}: {failure}") from failure
        problems = self.problems(calls, mark, query_ids)
        if hostile and not problems and await self.fingerprint() != before:
            problems.append("the appraisal's data changed")
        if problems:
            raise AssertionError(f"seed {self.seed}, {step}: " + "; ".join(problems))

    # -- ordinary steps ----------------------------------------------------------------------

    def ordinary(self) -> tuple[str, str, Callable[[], Awaitable[list[str]]]]:
        # A few people at a time, so that each goes deep into a conversation before the walk
        # moves on to others.
        if not self.focus or self.rng.random() < 1 / 60:
            self.focus = self.rng.sample(sorted(self.people), 4)
        name = self.rng.choice(self.focus)
        user = self.people[name]
        if self.rng.random() < 0.03:
            intent = self.rng.choice([self.vote_through, self.reward_through])
            return f"intent {intent.__name__}", name, intent(user, name)
        if self.idle(user) and self.rng.random() < 0.9:
            mine = [c for c in WORK if WORK[c] & self.roles.get(name, set())]
            command = self.rng.choice(mine if mine and self.rng.random() < 0.8 else list(WORK))
            return f"command /{command}", name, self.command(user, command, [])
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

    def vote_through(self, user: SimUser, name: str) -> Callable[[], Awaitable[list[str]]]:
        """A whole ballot, as a voter who knows what they want: grade all, submit, confirm."""

        async def run() -> list[str]:
            lang = "en" if name in self.english else "zh"
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

    def reward_through(self, user: SimUser, name: str) -> Callable[[], Awaitable[list[str]]]:
        """A whole reward entry by whoever tries: an office member gets it recorded."""

        async def run() -> list[str]:
            lang = "en" if name in self.english else "zh"
            await user.command("reward")
            try:
                await user.press(self.rng.choice(user.last().labels[:-1]))
                await user.press(self.rng.choice(user.last().labels[:-1]))
                await user.send(self.rng.choice(["200", "50", "0", "abc"]))
                await user.send("季度工作突出")
                await user.press(self.texts.label(lang, "office.confirm"))
            except (AssertionError, IndexError):
                pass
            return []

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

    def command_args(self, command: str) -> list[str]:
        roll = self.rng.random()
        if roll < 0.6:
            return []
        if command == "lang":
            return [self.rng.choice(["en", "zh", "fr", junk(self.rng)[:100]])]
        if command == "invite":
            return [self.rng.choice(sorted(self.names))]
        return [junk(self.rng)[:200]]

    # -- hostile steps -----------------------------------------------------------------------

    def hostile(self) -> tuple[str, str, Callable[[], Awaitable[list[str]]]]:
        roll = self.rng.random()
        if roll < 0.4:
            name = self.rng.choice(sorted(self.people))
            data = self.forged()
            return f"forged {data!r}", name, self.press(self.people[name], data, None)
        if roll < 0.55:
            name = self.rng.choice([n for n in PLAIN_CADRES if n in self.people])
            data = self.others_button()
            if data is not None:
                return f"others' {data}", name, self.press(self.people[name], data, None)
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
        seen = [d for m in self.fake.calls[-400:] for d in _data_of(m.params)]
        bound = [d for d in seen if d.split(":")[0] in ROLE_FAMILIES]
        return self.rng.choice(bound) if bound else None

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

    def problems(self, calls: int, mark: int, query_ids: list[str]) -> list[str]:
        found: list[str] = []
        for query_id in query_ids:
            if self.fake.callback_answer(query_id) is None:
                found.append(f"callback query {query_id} unanswered")
        for call in self.fake.calls[calls:]:
            if call.status != 200:
                description = str(call.response.get("description", ""))
                if not any(t in description for t in TOLERATED):
                    found.append(f"{call.method} refused: {call.status} {description[:120]}")
            said = " ".join(str(call.params.get(key) or "") for key in ("text", "caption"))
            if said and any(g in _visible(said, call.params) for g in self.generic):
                found.append(f"generic error in {call.method}")
            chat = call.params.get("chat_id")
            if chat in (self.stranger.chat_id, self.outsider.chat_id):
                shown = [n for n in self.names if n in said]
                if shown:
                    found.append(f"names {shown} shown to a stranger")
        if self.errors.records:
            record = self.errors.records[0]
            found.append(f"logged {record.levelname}: {record.getMessage()[:200]}")
            self.errors.records.clear()
        return found

    async def fingerprint(self) -> dict[str, list[tuple[Any, ...]]]:
        tables = [t for t in SQLModel.metadata.sorted_tables if t.name not in VOLATILE]
        rows: dict[str, list[tuple[Any, ...]]] = {}
        async with self.town.services.sessions() as session:
            for table in tables:
                result = await session.exec(select(table))
                rows[table.name] = sorted(tuple(map(str, r)) for r in result.all())
        return rows


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


async def turn_of_the_month(town: Any, period: Period) -> Callable[[], Awaitable[None]]:
    """Close ``period`` (as the deadline would) and open the next month: old buttons go stale."""

    async def turn() -> None:
        async with transaction(town.services.sessions) as session:
            row = await session.get(Period, period.id)
            assert row is not None
            await appraisal.close_period(session=session, period=row, now=row.closes_at)
        await town.open_month(period.year + period.number // 12, period.number % 12 + 1)

    return turn
