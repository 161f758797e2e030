"""The sandbox: the real bot, a whole town and a clock that moves when told, on one machine.

Nothing here imitates the bot. :class:`Sandbox` builds the Application exactly as ``kaohe run``
does (:func:`bot.app.build_application`: the same handlers, jobs, templates and scoring), but
hands it the in-process fake Bot API (:mod:`bot.emulator`) instead of an HTTP client, a fresh
SQLite file in a sandbox folder instead of the deployment's database, and a
:class:`~bot.core.clock.SimulatedClock` that runs at real speed and jumps on demand. The town
comes in through the office's own paths (:mod:`bot.sandbox.town`): the roster and targets
imported, the year's calendar created, everyone signed up with ``/start CODE``, the leadership
group bound with ``/bind_leadership``.

Then a person can be played (``send``, ``press``, ``send_file``), the clock moved (``advance``,
``next_event``) so that openings, reminders and closings happen, and every chat read back
(``transcript``). The web page (:mod:`bot.sandbox.web`) and the demo drive these same methods::

    async with Sandbox(settings) as sandbox:
        li = sandbox.chat_of("李明")
        await sandbox.next_event()                  # the month opens: everyone is told
        await sandbox.send(li, "/selfscore")
        print(sandbox.transcript(li)[-1].text)

Safety: the database is a file the sandbox made itself (a marker file beside it says so) and
never the deployment's; the bot's only HTTP client is the fake, so nothing reaches the network.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from types import TracebackType
from typing import Any

from pydantic import SecretStr

from bot.core.clock import SimulatedClock, SystemClock, aware_utc
from bot.core.config import Settings
from bot.core.scheme_file import DEFAULT_SCHEME_PATH, read_scheme
from bot.emulator.records import StoredFile
from bot.emulator.request import FakeRequest
from bot.emulator.simulator import CallbackAnswer, Simulator, SimUser
from bot.emulator.telegram import BOT_TOKEN, BOT_USERNAME, FakeTelegram
from bot.jobs.scheduler import Ran
from bot.rules.roles import ROLE_ORDER
from bot.sandbox.town import LEADERSHIP_GROUP_ID, Town
from bot.sandbox.transcript import Entry, chat_entries
from storage import migrate
from storage.engine import create_engine, sqlite_path

__all__ = [
    "EXAMPLES",
    "MARKER_SUFFIX",
    "Chat",
    "Sandbox",
    "SandboxRefused",
    "TownFiles",
    "Upcoming",
    "sandbox_database",
]

log = logging.getLogger("kaohe.sandbox")

#: The example town shipped with the bot.
EXAMPLES = DEFAULT_SCHEME_PATH.parent
#: A database is the sandbox's own when a file of this suffix lies beside it.
MARKER_SUFFIX = ".sandbox"
#: Where the sandbox keeps its database, under DATA_DIR.
FOLDER = "sandbox"


@dataclass(frozen=True)
class TownFiles:
    """The office's files the sandbox town is made of (default: the example town)."""

    roster: Path = EXAMPLES / "roster.xlsx"
    scheme: Path = EXAMPLES / "scheme.toml"
    targets: Path | None = EXAMPLES / "targets.xlsx"


class SandboxRefused(Exception):
    """The sandbox will not use this database: ``reason`` is ``deployment`` (it is the one the
    bot serves the office from) or ``foreign`` (an existing file the sandbox did not make)."""

    def __init__(self, reason: str, path: Path) -> None:
        super().__init__(f"{reason}: {path}")
        self.reason = reason
        self.path = path


def sandbox_database(settings: Settings, db: Path | None = None) -> Path:
    """The sandbox's SQLite file: ``db`` or ``DATA_DIR/sandbox/kaohe.db``, refused when it is
    the deployment's database or an existing file the sandbox did not make."""
    path = (db or settings.data_dir / FOLDER / "kaohe.db").expanduser().resolve()
    deployment = sqlite_path(settings.resolved_database_url)
    if deployment is not None and deployment.expanduser().resolve() == path:
        raise SandboxRefused("deployment", path)
    if path.exists() and not _marker(path).exists():
        raise SandboxRefused("foreign", path)
    return path


def _marker(path: Path) -> Path:
    return path.with_name(path.name + MARKER_SUFFIX)


@dataclass(frozen=True)
class Upcoming:
    """The calendar's next event: what (``kind``: open, remind, extended, close, publish), of
    which period (``period``: its code), and when (``due``, in the town's zone)."""

    kind: str
    period: str
    due: datetime
    key: str


@dataclass(frozen=True)
class Chat:
    """A chat of the town: a person's private chat with the bot, or the leadership group."""

    chat_id: int
    title: str
    department: str | None = None
    job: str | None = None
    roles: tuple[str, ...] = ()
    members: tuple[tuple[int, str], ...] = ()
    """Who can speak in it: ``(user id, name)``."""

    @property
    def is_group(self) -> bool:
        return self.chat_id < 0


class Sandbox:
    """The bot and its town on a fake Telegram, a sandbox database and a movable clock.

    ``start`` (default): the hour before the window of the current quarter's first month opens,
    so that a whole quarter lies ahead; ``reference`` is the real "now" that picks the quarter.
    ``monotonic``: the real time the clock runs on (default: the machine's). The demo's stands
    still, so that the clock moves only when it is moved and a seed replays the same chats.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        files: TownFiles | None = None,
        db: Path | None = None,
        start: datetime | None = None,
        language: str | None = None,
        reference: datetime | None = None,
        monotonic: Callable[[], float] | None = None,
    ) -> None:
        self.files = files or TownFiles()
        self.database = sandbox_database(settings, db)
        self.language = language or settings.default_language
        self.settings = settings.model_copy(
            update={
                "bot_token": SecretStr(BOT_TOKEN),
                "bot_username": BOT_USERNAME,
                "database_url": f"sqlite+aiosqlite:///{self.database.as_posix()}",
                "data_dir": self.database.parent,
                "default_language": self.language,
                "leadership_chat_id": None,
                "telegram_api_base_url": None,
                "telegram_api_file_url": None,
                "telegram_proxy_url": None,
                "webhook_url": None,
                "webhook_secret_token": None,
                "scheme_file": self.files.scheme,
            }
        )
        self.zone: tzinfo = self.settings.zone
        self._reference = reference or SystemClock().now()
        origin = start or self._quarter_start()
        self.clock = (
            SimulatedClock(origin, speed=1.0)
            if monotonic is None
            else SimulatedClock(origin, speed=1.0, monotonic=monotonic)
        )
        self.fake = FakeTelegram(clock=self.clock.now)
        self.app: Any = None
        self.sim: Simulator | None = None
        self.town: Town | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def _quarter_start(self) -> datetime:
        """An hour before the window of the current quarter's first month opens, by the scheme
        (``SchemeError`` if the scheme file is not valid)."""
        today = aware_utc(self._reference).astimezone(self.zone)
        scheme, _, _ = read_scheme(self.files.scheme)
        opens, _ = scheme.monthly_window.window(today.year, (today.month - 1) // 3 * 3 + 1)
        return aware_utc(opens) - timedelta(hours=1)

    async def start(self) -> Sandbox:
        """Make the database afresh, start the bot, bring the town in; see the module doc."""
        from bot.app import build_application, build_services

        await self._fresh_database()
        services = build_services(self.settings, clock=self.clock)
        request = FakeRequest(self.fake)
        self.app = build_application(
            self.settings, request=request, services=services, rate_limit=False
        )
        self.sim = Simulator(self.app, self.fake, via="processor")
        await self.sim.__aenter__()
        try:
            await self._bring_in_the_town()
        except BaseException:
            await self.stop()
            raise
        return self

    async def _fresh_database(self) -> None:
        path = self.database
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm", "-journal"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
        _marker(path).write_text(
            "This database was made by `kaohe sandbox` and is replaced at each start.\n",
            encoding="utf-8",
        )
        engine = create_engine(self.settings.resolved_database_url)
        try:
            await migrate.upgrade(engine)
        finally:
            await engine.dispose()

    async def _bring_in_the_town(self) -> None:
        assert self.sim is not None
        town = Town(
            app=self.app,
            sim=self.sim,
            actor="sandbox",
            language_code="en" if self.language == "en" else "zh-hans",
        )
        self.town = town
        year = self.now().year
        await town.import_roster(self.files.roster)
        if self.files.targets is not None:
            await town.import_targets(self.files.targets, year=year, scheme_file=self.files.scheme)
        await town.signup_all()
        title = self.services.texts.label(self.language, "sandbox.group_title")
        await town.bind_leadership(title)
        # The calendar last, so that a window open already greets everyone: the months whose
        # windows have passed are passed over, as in a deployment started mid-year.
        await self._create_calendar(town, year)
        await self.app.scheduler.rebuild()
        await self.settle()

    async def _create_calendar(self, town: Town, year: int) -> None:
        """This year's and next year's periods, as ``kaohe periods create`` makes them."""
        scheme, _, _ = read_scheme(self.files.scheme)
        await town.create_years(year, year + 1, scheme=scheme)

    async def stop(self) -> None:
        """Stop the bot (its scheduler, its sender) and close the database."""
        if self.sim is not None:
            sim, self.sim = self.sim, None
            await sim.__aexit__(None, None, None)

    async def __aenter__(self) -> Sandbox:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- what is running ---------------------------------------------------------------------

    @property
    def services(self) -> Any:
        return self.app.services

    def now(self) -> datetime:
        """The sandbox's time now, in the town's zone."""
        return self.clock.now().astimezone(self.zone)

    def _town(self) -> Town:
        if self.town is None:
            raise RuntimeError("the sandbox is not started")
        return self.town

    # -- the clock ---------------------------------------------------------------------------

    async def upcoming(self) -> Upcoming | None:
        """The calendar's next event after now (None when nothing is planned)."""
        scheduler = self.app.scheduler
        now = self.clock.now()
        later = [e for e in await scheduler.pending_events() if e.due > now]
        if not later:
            return None
        event = later[0]
        period = await self._town().period(event.period_id)
        return Upcoming(
            kind=event.kind.value,
            period=period.code,
            due=event.due.astimezone(self.zone),
            key=event.key,
        )

    async def settle(self, *, send: bool = True) -> list[Ran]:
        """Run every event due by now; with ``send``, also deliver every message they queued
        (without it, the bot's sender delivers them in its own time, paced as in production)."""
        scheduler = self.app.scheduler
        if send:
            return list(await scheduler.run_until_idle())
        return list(await scheduler.tick())

    async def advance(self, delta: timedelta, *, send: bool = True) -> list[Ran]:
        """Move the clock forward by ``delta`` and run what fell due on the way, in order."""
        self.clock.jump(delta)
        return await self.settle(send=send)

    async def next_event(self, *, send: bool = True) -> Upcoming | None:
        """Move the clock to the next event and run it (and whatever is due with it); return
        the event, or None when the calendar has nothing left."""
        event = await self.upcoming()
        if event is None:
            return None
        self.clock.jump_to(event.due)
        await self.settle(send=send)
        return event

    # -- the town's chats --------------------------------------------------------------------

    async def chats(self) -> list[Chat]:
        """Everyone on the roster (a private chat each, in roster order), then the group."""
        town = self._town()
        texts, lang = self.services.texts, self.language
        found: list[Chat] = []
        for cadre, department in await town.roster():
            user = town.users.get(cadre.name)
            if user is None:
                continue
            roles = tuple(
                texts.label(lang, f"sheet.role.{r.value}") for r in ROLE_ORDER if cadre.has(r)
            )
            found.append(
                Chat(
                    chat_id=user.id,
                    title=cadre.name,
                    department=department,
                    job=cadre.title,
                    roles=roles,
                )
            )
        group = town.group
        if group is not None:
            chat = self.fake.chats[group.chat_id]
            members = tuple(
                (user_id, town.member_of(user_id) or str(user_id))
                for user_id, status in chat.members.items()
                if status not in ("left", "kicked")
            )
            found.append(Chat(chat_id=group.chat_id, title=chat.title or "", members=members))
        return found

    def chat_of(self, name: str) -> int:
        """The private chat id of the person called ``name``."""
        return self._town().users[name].id

    @property
    def group_id(self) -> int:
        """The leadership group's chat id."""
        group = self._town().group
        return group.chat_id if group is not None else LEADERSHIP_GROUP_ID

    def person(self, name: str) -> SimUser:
        """The simulated Telegram user of ``name`` (for the simulator's own API: ``press`` by
        label, ``last()``...)."""
        return self._town().users[name]

    def _speaker(self, chat_id: int, user_id: int | None) -> SimUser:
        town = self._town()
        wanted = chat_id if chat_id > 0 else user_id
        for user in town.users.values():
            if user.id == wanted:
                return user
        raise KeyError(f"nobody {wanted} can speak in chat {chat_id}")

    # -- acting as a person ------------------------------------------------------------------

    async def send(self, chat_id: int, text: str, *, user_id: int | None = None) -> None:
        """Type ``text`` (a ``/command`` too) into the chat; in the group, as ``user_id``."""
        user = self._speaker(chat_id, user_id)
        group = self._town().group
        if chat_id > 0:
            await user.send(text)
        elif group is not None and group.chat_id == chat_id:
            await group.send(user, text)
        else:
            raise KeyError(chat_id)

    async def press(
        self, chat_id: int, message_id: int, row: int, column: int, *, user_id: int | None = None
    ) -> CallbackAnswer:
        """Press the inline button at ``row``, ``column`` of a message; return the bot's answer
        (its toast or alert). ``LookupError`` if there is no such button."""
        user = self._speaker(chat_id, user_id)
        stored = self.fake.message(chat_id, message_id)
        if stored is None or stored.deleted:
            raise LookupError(f"no message {message_id} in chat {chat_id}")
        try:
            button = stored.inline_keyboard[row][column]
        except IndexError:
            raise LookupError(f"no button {row},{column} on message {message_id}") from None
        data = button.get("callback_data")
        if data is None:
            raise LookupError(f"button {row},{column} of message {message_id} is not pressed")
        assert self.sim is not None
        update, query_id = self.sim.callback_update(user.id, str(data), stored)
        await self.sim.deliver(update)
        answer = self.fake.callback_answer(query_id)
        if answer is None:
            return CallbackAnswer(query_id=query_id, answered=False)
        return CallbackAnswer(
            query_id=query_id,
            answered=True,
            text=answer.get("text"),
            show_alert=bool(answer.get("show_alert")),
            url=answer.get("url"),
        )

    async def send_file(
        self,
        chat_id: int,
        *,
        data: bytes,
        file_name: str,
        mime_type: str = "application/octet-stream",
        photo: bool = False,
        caption: str | None = None,
        user_id: int | None = None,
    ) -> None:
        """Send a photo or a document. In the group, Telegram keeps it from the bot (privacy
        mode): it is shown there, and the bot never hears of it."""
        user = self._speaker(chat_id, user_id)
        if chat_id < 0:
            content: dict[str, Any] = {"caption": caption} if caption else {}
            stored = self.fake.register_file(
                "photo" if photo else "document", data, file_name=file_name, mime_type=mime_type
            )
            if photo:
                content["photo"] = [
                    {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
                    | {"width": stored.width, "height": stored.height, "file_size": len(data)}
                ]
            else:
                content["document"] = {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "file_name": file_name,
                    "mime_type": mime_type,
                    "file_size": len(data),
                }
            assert self.sim is not None
            self.sim.message_update(chat_id, user.id, content)
            return
        if photo:
            await user.send_photo(data=data, caption=caption)
        else:
            await user.send_document(file_name, data, mime_type=mime_type, caption=caption)

    # -- reading -----------------------------------------------------------------------------

    def transcript(self, chat_id: int) -> list[Entry]:
        """The chat as it is now: every message of both sides, in order."""
        return chat_entries(self.fake, chat_id, self.zone)

    def reply_keyboard(self, chat_id: int) -> list[list[str]]:
        """The reply keyboard shown above the chat's input now (empty: none)."""
        markup = self.fake.reply_keyboard(chat_id) or {}
        return [
            [b if isinstance(b, str) else str(b.get("text", "")) for b in row]
            for row in markup.get("keyboard", [])
        ]

    def commands(self, chat_id: int, user_id: int | None = None) -> list[dict[str, str]]:
        """The command menu the person sees in this chat."""
        speaker = chat_id if chat_id > 0 else user_id
        language = "en" if self.language == "en" else "zh"
        return [
            {"command": str(c["command"]), "description": str(c["description"])}
            for c in self.fake.visible_commands(chat_id, speaker, language)
        ]

    def file(self, file_id: str) -> StoredFile | None:
        """A file of a chat (what a person downloads), by its id."""
        return self.fake.files.get(file_id)

    @property
    def seq(self) -> int:
        """Grows whenever a message is sent, edited or deleted, or a press is answered."""
        return self.fake.seq
