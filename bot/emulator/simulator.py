"""The user simulator: tests read like a script of what people do in Telegram.

Why: kaohe's behaviour is a conversation (send a command, press a button by its label, read the
last message), so tests say exactly that::

    async with Simulator(app, fake) as sim:
        chair = sim.user(1001, "王主任")
        await chair.command("start", invite_code)
        await chair.press("确认")
        assert "已登记" in chair.last().text

Updates are real ``telegram.Update`` objects built with ``Update.de_json`` from the JSON Telegram
would send, and the user's messages are stored in the ``FakeTelegram`` too (message ids are shared
per chat with the bot's messages, as in Telegram). Nothing in the application is patched: updates
enter through ``Application.process_update`` (default), through the application's
``update_processor`` (the path of PTB's polling), or through ``getUpdates`` itself.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal

from telegram import Update
from telegram.ext import Application, ExtBot

from bot.emulator.telegram import (
    BOT_USERNAME,
    JSON,
    PATIENCE,
    FakeTelegram,
    StoredMessage,
    iter_buttons,
    utf16_len,
)

Via = Literal["process", "processor", "polling"]
_COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]{3,64})?(?=\s|$)")


@dataclass(frozen=True)
class SimMessage:
    """A bot message as the user sees it now (after edits)."""

    message_id: int
    chat_id: int
    text: str
    """Visible text (or caption): HTML tags removed, entities decoded, trimmed."""
    html: str | None
    """The text (or caption) exactly as the bot sent it, with its markup."""
    parse_mode: str | None
    buttons: list[list[str]]
    """Inline keyboard labels, row by row."""
    callback_data: list[str]
    """Every button's callback_data, flattened in reading order."""
    reply_markup: JSON | None
    photo: str | None
    document: str | None
    edit_count: int
    deleted: bool
    raw: JSON = field(repr=False)
    """The ``Message`` object as the Bot API would return it."""

    @classmethod
    def from_stored(cls, fake: FakeTelegram, stored: StoredMessage) -> SimMessage:
        """Snapshot a stored message."""
        rows = stored.inline_keyboard
        return cls(
            message_id=stored.message_id,
            chat_id=stored.chat_id,
            text=stored.text or "",
            html=stored.raw_text,
            parse_mode=stored.parse_mode,
            buttons=[[str(b.get("text", "")) for b in row] for row in rows],
            callback_data=[
                str(b["callback_data"])
                for b in iter_buttons(stored.reply_markup)
                if "callback_data" in b
            ],
            reply_markup=stored.reply_markup,
            photo=stored.photo_file_id,
            document=stored.document_file_id,
            edit_count=len(stored.edits),
            deleted=stored.deleted,
            raw=fake.message_api(stored),
        )

    @property
    def labels(self) -> list[str]:
        """All inline button labels, flattened."""
        return [label for row in self.buttons for label in row]

    def button(self, label: str) -> JSON:
        """The inline button with this label (exact, else the unique prefix match)."""
        buttons: list[JSON] = [
            b for row in (self.reply_markup or {}).get("inline_keyboard", []) for b in row
        ]
        exact = [b for b in buttons if b.get("text") == label]
        if exact:
            return exact[0]
        prefixed = [b for b in buttons if str(b.get("text", "")).startswith(label)]
        if len(prefixed) == 1:
            return prefixed[0]
        raise AssertionError(
            f"no unique button {label!r} in message {self.message_id}; labels: {self.labels}"
            + (f" ({len(prefixed)} match the prefix)" if prefixed else "")
        )


@dataclass(frozen=True)
class CallbackAnswer:
    """What the bot answered to a button press (``answered`` is False if it never did)."""

    query_id: str
    answered: bool
    text: str | None = None
    show_alert: bool = False
    url: str | None = None


class Simulator:
    """Feeds updates from simulated users into a real ``Application``.

    ``via`` picks the entry path of the users' actions: ``"process"`` (``app.process_update``),
    ``"processor"`` (``app.update_processor``, as PTB's polling does) or ``"polling"`` (queue the
    update for ``getUpdates``; then ``app`` may be None, e.g. for a separate ``kaohe run``).
    Used as ``async with``, it runs the application like ``run_polling`` does (``initialize``,
    ``post_init``, [``updater.start_polling``], ``start`` ... and the reverse), without signals.
    """

    def __init__(
        self,
        app: Application[Any, Any, Any, Any, Any, Any] | None,
        fake: FakeTelegram,
        *,
        via: Via = "process",
        answer_timeout: float = PATIENCE,
        poll_timeout: float = 10.0,
    ) -> None:
        if app is None and via != "polling":
            raise ValueError("without an Application, updates can only go through getUpdates")
        self.app = app
        self.fake = fake
        self.via: Via = via
        self.answer_timeout = answer_timeout
        self.poll_timeout = poll_timeout
        self.sent: list[JSON] = []
        self._started = False

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> Simulator:
        app = self.app
        if app is not None and not app.running:
            await app.initialize()
            try:
                if app.post_init:
                    await app.post_init(app)
                if self.via == "polling" and app.updater is not None:
                    poll = dtm.timedelta(seconds=self.poll_timeout)
                    await app.updater.start_polling(timeout=poll)
                await app.start()
            except BaseException:
                # leave nothing half-open behind a failed start (no leaked clients or tasks)
                if app.updater is not None and app.updater.running:
                    await app.updater.stop()
                await app.shutdown()
                raise
            self._started = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        app = self.app
        if app is None or not self._started:
            return
        self._started = False
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
            if app.post_stop:
                await app.post_stop(app)
        await app.shutdown()
        if app.post_shutdown:
            await app.post_shutdown(app)

    # -- actors ------------------------------------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str = "测试用户",
        *,
        last_name: str | None = None,
        language_code: str | None = "zh-hans",
        username: str | None = None,
    ) -> SimUser:
        """A Telegram user (registered with the fake, private chat included)."""
        self.fake.add_user(
            user_id,
            first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
        )
        return SimUser(self, user_id)

    def group(self, chat_id: int, title: str, *, type: str = "supergroup") -> SimGroup:
        """A group (negative id) with the bot in it."""
        self.fake.add_group(chat_id, title, type=type)
        return SimGroup(self, chat_id)

    # -- building updates --------------------------------------------------------------------

    @property
    def bot(self) -> ExtBot[Any] | None:
        """The application's bot, for ``Update.de_json``."""
        return self.app.bot if self.app is not None else None

    def to_update(self, data: JSON) -> Update:
        """A real ``Update`` from its JSON, bound to the application's bot."""
        update = Update.de_json(data, self.bot)
        if self.app is not None and self.app.bot.callback_data_cache is not None:
            self.app.bot.insert_callback_data(update)
        return update

    def message_update(
        self, chat_id: int, user_id: int, content: JSON, *, reply_to: int | None = None
    ) -> JSON:
        """Store a user's message in the fake and wrap it in an update (JSON)."""
        message = self.fake.record_user_message(
            chat_id, user_id, content, reply_to_message_id=reply_to
        )
        return {"update_id": self.fake.next_update_id(), "message": message}

    def callback_update(
        self, user_id: int, data: str, message: StoredMessage | None
    ) -> tuple[JSON, str]:
        """A button press as an update (JSON) and the id of its callback query."""
        query_id = self.fake.register_callback_query(
            user_id,
            message.chat_id if message else None,
            message.message_id if message else None,
            data,
        )
        query: JSON = {
            "id": query_id,
            "from": self.fake.users[user_id],
            "chat_instance": f"ci{message.chat_id if message else user_id}",
            "data": data,
        }
        if message is not None:
            query["message"] = self.fake.message_api(message)
        return {"update_id": self.fake.next_update_id(), "callback_query": query}, query_id

    # -- feeding -----------------------------------------------------------------------------

    def _require_app(self) -> Application[Any, Any, Any, Any, Any, Any]:
        if self.app is None:
            raise RuntimeError("this simulator has no Application; use feed_via_polling")
        return self.app

    async def feed(self, update: Update | JSON) -> Update:
        """``await app.process_update(update)``: the handlers run before this returns."""
        app = self._require_app()
        obj = update if isinstance(update, Update) else self.to_update(update)
        await app.process_update(obj)
        return obj

    async def feed_via_processor(self, update: Update | JSON) -> Update:
        """Through ``app.update_processor`` (its concurrency limit applies), as polling does."""
        app = self._require_app()
        obj = update if isinstance(update, Update) else self.to_update(update)
        await app.update_processor.process_update(obj, app.process_update(obj))
        return obj

    async def feed_many(self, updates: Iterable[Update | JSON]) -> list[Update]:
        """Feed all updates concurrently through the update processor."""
        return list(await asyncio.gather(*(self.feed_via_processor(u) for u in updates)))

    async def feed_via_polling(
        self,
        update: JSON,
        *,
        timeout: float = PATIENCE,  # noqa: ASYNC109 - bounded wait, same API as FakeTelegram.wait_for
    ) -> None:
        """Queue the update for ``getUpdates`` and wait until the bot has fetched it (its
        handling may still be running: wait for its effect with ``fake.wait_for``)."""
        self.fake.push_update(update)
        update_id = update["update_id"]
        await self.fake.wait_for(
            lambda: self.fake.delivered(update_id),
            timeout=timeout,
            message=f"update {update_id} was not fetched by getUpdates within {timeout}s",
        )

    async def deliver(self, data: JSON) -> Update:
        """Send an update JSON along this simulator's ``via`` path; keep it for ``replay``."""
        self.sent.append(data)
        if self.via == "polling":
            await self.feed_via_polling(data)
            return Update.de_json(data, self.bot)
        if self.via == "processor":
            return await self.feed_via_processor(data)
        return await self.feed(data)

    async def replay(self, update: Update | JSON | None = None) -> Update:
        """Deliver an update again with the same ``update_id`` (default: the last one sent)."""
        if update is None:
            if not self.sent:
                raise AssertionError("nothing was sent yet")
            update = self.sent[-1]
        data = update.to_dict() if isinstance(update, Update) else update
        return await self.deliver(data)


class _ChatView:
    """What a participant sees of one chat: the bot's messages, marks, waiting."""

    sim: Simulator
    chat_id: int

    @property
    def fake(self) -> FakeTelegram:
        return self.sim.fake

    def last(self) -> SimMessage:
        """The bot's latest surviving message in this chat (AssertionError if none)."""
        stored = self.fake.last_bot_message(self.chat_id)
        if stored is None:
            raise AssertionError(f"the bot has sent nothing to chat {self.chat_id}")
        return SimMessage.from_stored(self.fake, stored)

    def messages(self) -> list[SimMessage]:
        """All the bot's surviving messages in this chat, in order, as they are now."""
        return [SimMessage.from_stored(self.fake, m) for m in self.fake.bot_messages(self.chat_id)]

    def mark(self) -> int:
        """A point in time for ``inbox_since``/``changed_since``."""
        return self.fake.seq

    def inbox_since(self, mark: int) -> list[SimMessage]:
        """The bot's messages that arrived in this chat after ``mark`` (as they are now)."""
        return [
            SimMessage.from_stored(self.fake, m)
            for m in self.fake.bot_messages(self.chat_id)
            if m.created_seq > mark
        ]

    def changed_since(self, mark: int) -> list[SimMessage]:
        """The bot's messages created, edited or deleted after ``mark`` (deleted included)."""
        return [
            SimMessage.from_stored(self.fake, m)
            for m in self.fake.bot_messages(self.chat_id, include_deleted=True)
            if m.updated_seq > mark
        ]

    async def wait_for_message(
        self,
        since: int,
        timeout: float = PATIENCE,  # noqa: ASYNC109 - bounded wait, same API as FakeTelegram.wait_for
    ) -> SimMessage:
        """Wait for the first bot message after ``since`` (for ``via="polling"``)."""
        await self.fake.wait_for(
            lambda: self.inbox_since(since),
            timeout=timeout,
            message=f"no bot message in chat {self.chat_id} within {timeout}s",
        )
        return self.inbox_since(since)[0]

    def _find_message(self, message: SimMessage | int | None) -> StoredMessage:
        if message is None:
            for stored in reversed(self.fake.bot_messages(self.chat_id)):
                if stored.inline_keyboard:
                    return stored
            raise AssertionError(f"no bot message with an inline keyboard in chat {self.chat_id}")
        message_id = message.message_id if isinstance(message, SimMessage) else message
        found = self.fake.message(self.chat_id, message_id)
        if found is None:
            raise AssertionError(f"no message {message_id} in chat {self.chat_id}")
        return found

    async def _press(
        self, user_id: int, label: str, message: SimMessage | int | None
    ) -> CallbackAnswer:
        stored = self._find_message(message)
        button = SimMessage.from_stored(self.fake, stored).button(label)
        if "callback_data" not in button:
            raise AssertionError(f"button {label!r} has no callback_data: {button}")
        return await self._press_data(user_id, str(button["callback_data"]), stored)

    async def _press_data(
        self, user_id: int, data: str, stored: StoredMessage | None
    ) -> CallbackAnswer:
        update, query_id = self.sim.callback_update(user_id, data, stored)
        await self.sim.deliver(update)
        answer = self.fake.callback_answer(query_id)
        if answer is None and self.sim.via == "polling":
            await self.fake.wait_for(
                lambda: self.fake.callback_answer(query_id),
                timeout=self.sim.answer_timeout,
                raise_on_timeout=False,
            )
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


def _text_content(text: str) -> JSON:
    """A user's text as Telegram delivers it: a leading command gets its ``bot_command``."""
    content: JSON = {"text": text}
    match = _COMMAND_RE.match(text)
    if match:
        content["entities"] = [
            {"type": "bot_command", "offset": 0, "length": utf16_len(match.group(0))}
        ]
    return content


def _command_text(name: str, args: tuple[str, ...], *, mention: bool) -> str:
    text = "/" + name.lstrip("/") + (f"@{BOT_USERNAME}" if mention else "")
    return " ".join([text, *args]) if args else text


class SimUser(_ChatView):
    """A person in their private chat with the bot."""

    def __init__(self, sim: Simulator, user_id: int) -> None:
        self.sim = sim
        self.id = user_id
        self.chat_id = user_id

    @property
    def info(self) -> JSON:
        """The ``User`` object Telegram sends for this person."""
        return self.fake.users[self.id]

    @property
    def first_name(self) -> str:
        """The user's first name."""
        return str(self.info["first_name"])

    async def send(self, text: str, *, reply_to: int | SimMessage | None = None) -> Update:
        """Type and send a text (a leading ``/command`` is recognised as Telegram does)."""
        reply_id = reply_to.message_id if isinstance(reply_to, SimMessage) else reply_to
        data = self.sim.message_update(
            self.chat_id, self.id, _text_content(text), reply_to=reply_id
        )
        return await self.sim.deliver(data)

    async def command(self, name: str, *args: str) -> Update:
        """Send ``/name arg1 arg2``; ``command("start", payload)`` is a deep link."""
        return await self.send(_command_text(name, args, mention=False))

    async def send_photo(
        self, file_id: str | None = None, *, caption: str | None = None, data: bytes | None = None
    ) -> Update:
        """Send a photo (``data`` is what ``getFile``/download return)."""
        stored = self.fake.register_file("photo", data, file_id=file_id)
        content: JSON = {
            "photo": [
                {
                    "file_id": stored.file_id + "-thumb",
                    "file_unique_id": stored.file_unique_id + "t",
                    "width": 90,
                    "height": 67,
                },
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "width": stored.width,
                    "height": stored.height,
                    "file_size": len(stored.data),
                },
            ]
        }
        if caption:
            content["caption"] = caption
        return await self.sim.deliver(self.sim.message_update(self.chat_id, self.id, content))

    async def send_document(
        self,
        file_name: str = "document.bin",
        data: bytes | None = None,
        *,
        mime_type: str = "application/octet-stream",
        file_id: str | None = None,
        caption: str | None = None,
    ) -> Update:
        """Send a file; the bot can ``get_file`` and download ``data``."""
        stored = self.fake.register_file(
            "document", data, file_id=file_id, file_name=file_name, mime_type=mime_type
        )
        content: JSON = {
            "document": {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_name": file_name,
                "mime_type": mime_type,
                "file_size": len(stored.data),
            }
        }
        if caption:
            content["caption"] = caption
        return await self.sim.deliver(self.sim.message_update(self.chat_id, self.id, content))

    async def send_sticker(self, emoji: str = "👍") -> Update:
        """Send a sticker (something most handlers should politely ignore)."""
        stored = self.fake.register_file("sticker")
        content: JSON = {
            "sticker": {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": emoji,
            }
        }
        return await self.sim.deliver(self.sim.message_update(self.chat_id, self.id, content))

    async def press(self, label: str, *, message: SimMessage | int | None = None) -> CallbackAnswer:
        """Press the inline button with this label (exact, else unique prefix) on the latest bot
        message that has an inline keyboard (or on ``message``); return the bot's answer."""
        return await self._press(self.id, label, message)

    async def press_data(self, data: str, *, message_id: int | None = None) -> CallbackAnswer:
        """Forge a press with arbitrary callback data (stale or tampered buttons)."""
        stored = (
            self._find_message(message_id)
            if message_id is not None
            else self.fake.last_bot_message(self.chat_id)
        )
        return await self._press_data(self.id, data, stored)

    def reply_keyboard(self) -> list[list[str]]:
        """The labels of the reply keyboard shown now (empty if none or removed)."""
        markup = self.fake.reply_keyboard(self.chat_id)
        if not markup:
            return []
        return [
            [b if isinstance(b, str) else str(b.get("text", "")) for b in row]
            for row in markup.get("keyboard", [])
        ]

    async def block_bot(self) -> Update:
        """Block the bot: sends to this user now fail with 403; the bot gets ``my_chat_member``."""
        self.fake.block(self.id)
        data: JSON = {
            "update_id": self.fake.next_update_id(),
            "my_chat_member": {
                "chat": self.fake.chats[self.chat_id].to_api(),
                "from": self.info,
                "date": int(self.fake.now()),
                "old_chat_member": {"status": "member", "user": self.fake.bot_user},
                "new_chat_member": {
                    "status": "kicked",
                    "user": self.fake.bot_user,
                    "until_date": 0,
                },
            },
        }
        return await self.sim.deliver(data)


class SimGroup(_ChatView):
    """A group chat with the bot in it; members act through ``SimUser`` objects."""

    def __init__(self, sim: Simulator, chat_id: int) -> None:
        self.sim = sim
        self.chat_id = chat_id
        self.id = chat_id

    async def send(
        self, user: SimUser, text: str, *, reply_to: int | SimMessage | None = None
    ) -> Update | None:
        """A member writes in the group. With the bot's privacy mode on (the default), Telegram
        only delivers commands and replies to the bot: otherwise this returns None."""
        reply_id = reply_to.message_id if isinstance(reply_to, SimMessage) else reply_to
        content = _text_content(text)
        replied = self.fake.message(self.chat_id, reply_id) if reply_id else None
        to_bot = "entities" in content or (replied is not None and replied.from_bot)
        data = self.sim.message_update(self.chat_id, user.id, content, reply_to=reply_id)
        if self.fake.privacy_mode and not to_bot:
            return None
        return await self.sim.deliver(data)

    async def command(self, user: SimUser, name: str, *args: str, mention: bool = True) -> Update:
        """``/name@kaohe_test_bot args`` in the group (``mention=False``: plain ``/name``)."""
        update = await self.send(user, _command_text(name, args, mention=mention))
        assert update is not None
        return update

    async def press(
        self, user: SimUser, label: str, *, message: SimMessage | int | None = None
    ) -> CallbackAnswer:
        """``user`` presses a button of a bot message in the group."""
        return await self._press(user.id, label, message)

    def set_status(self, user: SimUser, status: str) -> None:
        """Make ``user`` a creator/administrator/member/left/kicked of this group."""
        self.fake.set_member_status(self.chat_id, user.id, status)
