"""An in-memory Telegram Bot API: the state and the answers of Telegram's servers, no transport.

Why: the project's rule is to drive the real ``telegram.ext.Application`` and fake only Telegram's
HTTP edge. ``FakeTelegram.handle(method, params)`` is that edge as a pure state machine; the
transports (``request.FakeRequest`` in-process, ``http_server.serve`` over real HTTP) only decode
requests and encode answers, so both behave the same.

It validates what Telegram validates and what matters to kaohe (text length after HTML parsing,
well-formed HTML, 1-64 byte callback data, "message is not modified", stale callback queries,
private chats the user never started, flood limits on demand) and answers with Telegram's own error
shapes and descriptions, so the bot under test meets the same ``BadRequest``/``Forbidden`` that it
would meet in production.

Not modelled: inline mode, payments, business connections, forum topics, webhooks delivery (the
webhook URL is only stored), Markdown parsing (Markdown texts are stored and counted as sent).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime as dtm
import itertools
import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

from bot.emulator.entities import (
    EntityParseError,
    html_to_text,
    parse_html,
    trim_entities,
    utf16_len,
)
from bot.emulator.records import (
    ApiError,
    Call,
    CallbackQueryState,
    ChatState,
    Edit,
    Failure,
    FloodLimits,
    SimulatedHang,
    SimulatedTimeout,
    StoredFile,
    StoredMessage,
    Upload,
    bad_request,
    iter_buttons,
)

BOT_ID = 7_000_000_001
BOT_USERNAME = "kaohe_test_bot"
BOT_FIRST_NAME = "考核助手(测试)"
BOT_TOKEN = f"{BOT_ID}:TEST-kaohe-fake-token"

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_ALERT_LENGTH = 200  # answerCallbackQuery's text: "0-200 characters"
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
DELETE_WINDOW_SECONDS = 48 * 3600


__all__ = [
    "BOT_ID",
    "BOT_TOKEN",
    "BOT_USERNAME",
    "JSON",
    "ApiError",
    "Call",
    "ChatState",
    "FakeTelegram",
    "FloodLimits",
    "SimulatedHang",
    "SimulatedTimeout",
    "StoredMessage",
    "Upload",
    "html_to_text",
    "iter_buttons",
    "utf16_len",
]

T = TypeVar("T")
Clock = Callable[[], "float | dtm.datetime"]
JSON = dict[str, Any]

_SENDING_METHODS = {
    "sendmessage",
    "sendphoto",
    "senddocument",
    "sendsticker",
    "copymessage",
    "forwardmessage",
}

# ---------------------------------------------------------------------------------------------
# Parameter decoding shared by all transports
# ---------------------------------------------------------------------------------------------

_INT_FIELDS = {
    "chat_id",
    "message_id",
    "from_chat_id",
    "offset",
    "limit",
    "user_id",
    "message_thread_id",
    "reply_to_message_id",
    "cache_time",
    "max_connections",
    "until_date",
}
_BOOL_FIELDS = {
    "show_alert",
    "disable_notification",
    "protect_content",
    "drop_pending_updates",
    "allow_sending_without_reply",
    "disable_web_page_preview",
    "revoke_messages",
    "only_if_banned",
    "for_channels",
    "has_spoiler",
    "disable_content_type_detection",
}
_JSON_FIELDS = {
    "reply_markup",
    "scope",
    "commands",
    "allowed_updates",
    "entities",
    "caption_entities",
    "link_preview_options",
    "reply_parameters",
    "menu_button",
    "media",
    "message_ids",
    "rights",
}


def normalize_params(params: dict[str, Any]) -> JSON:
    """Coerce wire values (strings from forms, JSON-in-strings) to the types Telegram means.

    Why: PTB sends every parameter as a string (nested objects JSON-encoded), an HTTP client may
    send typed JSON; Telegram accepts both, and so must the fake.
    """
    out: JSON = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, str):
            if key in _JSON_FIELDS:
                try:
                    value = json.loads(value)
                except ValueError as exc:
                    if key == "reply_markup":
                        raise bad_request("can't parse reply keyboard markup JSON object") from exc
                    raise bad_request(f"can't parse {key} JSON object") from exc
            elif key in _INT_FIELDS:
                if re.fullmatch(r"-?\d+", value.strip()):
                    value = int(value)
                elif key != "chat_id" and key != "from_chat_id":
                    raise bad_request(f"invalid {key} specified")
            elif key in _BOOL_FIELDS:
                value = value.strip().lower() in {"true", "1"}
        out[key] = value
    return out


# ---------------------------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------------------------

MethodImpl = Callable[[JSON, dict[str, Upload]], Any]


#: How long a waiting helper (``wait_for``, the simulator's waits for a fetch, a message or an
#: answer, the HTTP server's thread) waits at most. The waits are event-driven and end as soon as
#: what they wait for happens, so this bound only costs time when a bot is truly broken; it is
#: long so that no test depends on the machine's speed (a loaded CI machine, a slow subprocess).
PATIENCE = 60.0


class FakeTelegram:
    """Telegram's Bot API servers, in memory: chats, messages, files, updates, commands.

    Thread-safe (one lock) so that an HTTP server thread and the test's event loop can share it;
    ``wait_for`` wakes waiters of any event loop whenever the state changes.
    """

    def __init__(
        self,
        *,
        clock: Clock = time.time,
        token: str | None = None,
        require_start: bool = False,
        privacy_mode: bool = True,
        callback_query_timeout: float | None = 15.0,
        flood: FloodLimits | None = None,
    ) -> None:
        """Configure the fake Telegram.

        Args:
            clock: the server's time (epoch seconds or an aware datetime); message dates, the
                callback-query timeout and flood windows follow it.
            token: when set, requests carrying another token get 401 Unauthorized.
            require_start: when True, any private chat whose user never wrote to the bot gets
                403 (Telegram's real rule); when False, only ``unstarted_users`` do.
            privacy_mode: the bot's group privacy mode (``can_read_all_group_messages`` is its
                negation); ``SimGroup.send`` honours it.
            callback_query_timeout: seconds after which answering a callback query fails, on
                ``clock`` (Telegram's is about 15 s). Tests on the real clock pass None, so that
                a slow or loaded machine cannot make a press too old; a test of late answers
                sets it (0 makes every answer late) or moves a clock of its own.
            flood: sending limits to enforce (None: unlimited).
        """
        self.clock = clock
        self.token = token
        self.require_start = require_start
        self.privacy_mode = privacy_mode
        self.callback_query_timeout = callback_query_timeout
        self.flood = flood
        self.blocked_users: set[int] = set()
        self.unstarted_users: set[int] = set()
        self.started_users: set[int] = set()
        self.users: dict[int, JSON] = {}
        self.chats: dict[int, ChatState] = {}
        self.files: dict[str, StoredFile] = {}
        self.callback_queries: dict[str, CallbackQueryState] = {}
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.default_menu_button: JSON = {"type": "default"}
        self.bot_settings: dict[tuple[str, str], Any] = {}
        self.webhook: JSON = {}
        self.calls: list[Call] = []
        self.updates: list[JSON] = []
        self.delivered_update_ids: set[int] = set()
        self.allowed_updates: list[str] | None = None
        self._lock = threading.RLock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._failures: dict[str, deque[Failure]] = {}
        self._update_ids = itertools.count(1)
        self._file_counter = itertools.count(1)
        self._query_counter = itertools.count(1)
        self._seq = 0
        self._poll_generation = 0
        self._polls_waiting = 0
        # While set, a getUpdates that would confirm fetched updates is never answered: the
        # process is taken to die right after a fetch, so Telegram delivers them again.
        self.confirmations_lost = False
        # Random faults on top of the queued ones (benchmarks): called with each call's method
        # and parameters, it returns the failure that call meets, or None.
        self.chaos: Callable[[str, JSON], Failure | None] | None = None
        self._sent_at: deque[tuple[float, int]] = deque()
        self._methods: dict[str, MethodImpl] = {
            "getme": self._get_me,
            "logout": lambda p, f: True,
            "close": lambda p, f: True,
            "sendmessage": self._send_message,
            "sendphoto": self._send_photo,
            "senddocument": self._send_document,
            "sendsticker": self._send_sticker,
            "sendchataction": self._send_chat_action,
            "copymessage": self._copy_message,
            "forwardmessage": self._forward_message,
            "editmessagetext": self._edit_message_text,
            "editmessagecaption": self._edit_message_caption,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "deletemessages": self._delete_messages,
            "pinchatmessage": self._pin_chat_message,
            "unpinchatmessage": self._unpin_chat_message,
            "answercallbackquery": self._answer_callback_query,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "setchatmenubutton": self._set_chat_menu_button,
            "getchatmenubutton": self._get_chat_menu_button,
            "setmydescription": self._bot_setting("description"),
            "setmyshortdescription": self._bot_setting("short_description"),
            "setmyname": self._bot_setting("name"),
            "getmydescription": self._get_bot_setting("description"),
            "getmyshortdescription": self._get_bot_setting("short_description"),
            "getmyname": self._get_bot_setting("name"),
            "getfile": self._get_file,
            "getchat": self._get_chat,
            "getchatmember": self._get_chat_member,
            "getchatadministrators": self._get_chat_administrators,
            "leavechat": self._leave_chat,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "getupdates": self._get_updates,
        }

    # -- time, sequence, notification --------------------------------------------------------

    def now(self) -> float:
        """The server's current time in epoch seconds."""
        value = self.clock()
        if isinstance(value, dtm.datetime):
            return value.timestamp()
        return float(value)

    def _date(self) -> int:
        return int(self.now())

    @property
    def seq(self) -> int:
        """A counter bumped by every message created, edited or deleted (see ``mark``)."""
        return self._seq

    def _bump(self) -> int:
        self._seq += 1
        return self._seq

    def notify(self) -> None:
        """Wake every ``wait_for`` (any thread, any loop): the state may have changed."""
        with self._lock:
            waiters = list(self._waiters)
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        for loop, event in waiters:
            if loop is running:
                event.set()
            elif not loop.is_closed():
                # the loop may close between the check and the call
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(event.set)

    async def wait_for(
        self,
        predicate: Callable[[], T],
        timeout: float = PATIENCE,  # noqa: ASYNC109 - a bounded wait is the point of this helper
        *,
        message: str | None = None,
        raise_on_timeout: bool = True,
    ) -> T:
        """Wait until ``predicate()`` is truthy and return its value, or raise ``TimeoutError``.

        Event-driven: the predicate is re-checked after every Bot API call and every change the
        simulator makes, so it must depend on this fake's state (messages, calls, answers).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = asyncio.Event()
            entry = (loop, event)
            with self._lock:
                self._waiters.add(entry)
            try:
                result = predicate()
                if result:
                    return result
                remaining = deadline - loop.time()
                if remaining <= 0:
                    if raise_on_timeout:
                        raise TimeoutError(message or f"condition not met within {timeout}s")
                    return result
                try:
                    # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation
                    async with asyncio.timeout(remaining):
                        await event.wait()
                except TimeoutError:
                    result = predicate()
                    if result or not raise_on_timeout:
                        return result
                    raise TimeoutError(message or f"condition not met within {timeout}s") from None
            finally:
                with self._lock:
                    self._waiters.discard(entry)

    # -- configuration helpers for tests -----------------------------------------------------

    @property
    def bot_user(self) -> JSON:
        """The bot as a ``User`` object (the ``from`` of its messages)."""
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": BOT_FIRST_NAME,
            "username": BOT_USERNAME,
        }

    def add_user(
        self,
        user_id: int,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> JSON:
        """Register a Telegram user and their private chat with the bot; return the ``User``."""
        user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        with self._lock:
            self.users[user_id] = user
            chat = self.chats.get(user_id)
            if chat is None:
                chat = ChatState(id=user_id, type="private")
                self.chats[user_id] = chat
            chat.first_name = first_name
            chat.last_name = last_name
            chat.username = username
        return user

    def add_group(self, chat_id: int, title: str, *, type: str = "supergroup") -> ChatState:
        """Register a group (negative id) that contains the bot."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        with self._lock:
            chat = self.chats.get(chat_id)
            if chat is None:
                chat = ChatState(id=chat_id, type=type, title=title)
                self.chats[chat_id] = chat
            chat.title = title
        return chat

    def block(self, user_id: int) -> None:
        """The user blocked the bot: sends to them fail with 403 until they write again."""
        with self._lock:
            self.blocked_users.add(user_id)

    def never_started(self, user_id: int) -> None:
        """The user never pressed Start: the bot can't initiate a conversation with them."""
        with self._lock:
            self.unstarted_users.add(user_id)
            self.started_users.discard(user_id)

    def set_member_status(self, chat_id: int, user_id: int, status: str) -> None:
        """Set a user's status in a group: creator, administrator, member, left or kicked."""
        with self._lock:
            self._chat(chat_id).members[user_id] = status

    def remove_bot_from_group(self, chat_id: int) -> None:
        """The bot was kicked: sends to this group fail with 403."""
        with self._lock:
            self._chat(chat_id).bot_status = "kicked"

    def fail_next(
        self,
        method: str,
        status: int = 500,
        description: str | None = None,
        retry_after: int | None = None,
        *,
        times: int = 1,
        deliver: bool = False,
        timeout: bool = False,
        hang: bool = False,
        chat_id: int | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (``"*"``: any method) fail; with
        ``chat_id``, only calls to that chat.

        ``deliver=True`` applies the call before failing (a send whose answer got lost);
        ``timeout=True`` makes the transport time out instead of answering; ``hang=True`` makes
        the HTTP server never answer (the call is not applied and is recorded with status 0, so
        a test can wait for it and kill the bot at that moment).
        """
        if description is None:
            if status == 429:
                description = f"Too Many Requests: retry after {retry_after or 1}"
            elif status == 502:
                description = "Bad Gateway"
            elif status == 409:
                description = "Conflict: terminated by other getUpdates request"
            else:
                description = "Internal Server Error"
        if status == 429 and retry_after is None:
            retry_after = 1
        with self._lock:
            self._failures.setdefault(method.lower(), deque()).append(
                Failure(status, description, retry_after, times, deliver, timeout, hang, chat_id)
            )

    def register_file(
        self,
        kind: str,
        data: bytes | None = None,
        *,
        file_id: str | None = None,
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> StoredFile:
        """Store a file (user-sent or uploaded) and give it an id, as Telegram does."""
        with self._lock:
            number = next(self._file_counter)
            file_id = file_id or f"{kind.upper()}-{number:06d}-fakeid"
            existing = self.files.get(file_id)
            if existing is not None:
                if data is not None:
                    existing.data = data
                return existing
            stored = StoredFile(
                file_id=file_id,
                file_unique_id=f"U{number:06d}",
                kind=kind,
                data=data if data is not None else f"fake-content:{file_id}".encode(),
                file_name=file_name,
                mime_type=mime_type,
                width=1280 if kind == "photo" else 512 if kind == "sticker" else 0,
                height=960 if kind == "photo" else 512 if kind == "sticker" else 0,
            )
            self.files[file_id] = stored
            return stored

    def file_by_path(self, path: str) -> StoredFile | None:
        """The file whose ``file_path`` is a suffix of ``path`` (download URLs)."""
        with self._lock:
            for stored in self.files.values():
                if stored.file_path and (
                    path == stored.file_path or path.endswith("/" + stored.file_path)
                ):
                    return stored
        return None

    # -- what the simulator uses -------------------------------------------------------------

    def next_update_id(self) -> int:
        """A fresh ``update_id`` (global, increasing)."""
        with self._lock:
            return next(self._update_ids)

    def push_update(self, update: JSON) -> None:
        """Queue an update for ``getUpdates`` (what happens when a user acts on real Telegram)."""
        with self._lock:
            self.updates.append(update)
        self.notify()

    def delivered(self, update_id: int) -> bool:
        """Whether ``getUpdates`` has handed this update to the bot."""
        with self._lock:
            return update_id in self.delivered_update_ids

    def record_user_message(
        self,
        chat_id: int,
        user_id: int,
        content: JSON,
        *,
        reply_to_message_id: int | None = None,
    ) -> JSON:
        """Store a message a user sent (ids shared with the bot's messages, as in Telegram) and
        return it as a ``Message`` object."""
        with self._lock:
            chat = self._chat(chat_id)
            user = self.users[user_id]
            if chat.type == "private":
                self.started_users.add(user_id)
                self.unstarted_users.discard(user_id)
                self.blocked_users.discard(user_id)
            else:
                if chat.members.get(user_id) in (None, "left"):
                    chat.members[user_id] = "member"
            message = self._new_message(
                chat,
                from_bot=False,
                from_user=user,
                content=content,
                reply_to_message_id=reply_to_message_id,
            )
            data = self.message_api(message)
        self.notify()
        return data

    def register_callback_query(
        self, user_id: int, chat_id: int | None, message_id: int | None, data: str | None
    ) -> str:
        """Open a callback query (a button press) that the bot must answer; return its id."""
        with self._lock:
            query_id = f"{user_id}{next(self._query_counter):08d}"
            self.callback_queries[query_id] = CallbackQueryState(
                id=query_id,
                user_id=user_id,
                chat_id=chat_id,
                message_id=message_id,
                data=data,
                created_at=self.now(),
            )
        return query_id

    def callback_answer(self, query_id: str) -> JSON | None:
        """The parameters the bot answered the query with, or ``None`` while unanswered."""
        with self._lock:
            query = self.callback_queries.get(query_id)
            return None if query is None else query.answer

    def message(self, chat_id: int, message_id: int) -> StoredMessage | None:
        """A stored message (deleted ones included)."""
        with self._lock:
            chat = self.chats.get(chat_id)
            return None if chat is None else chat.messages.get(message_id)

    def chat_messages(self, chat_id: int, *, include_deleted: bool = False) -> list[StoredMessage]:
        """All messages of a chat in order, from users and from the bot."""
        with self._lock:
            chat = self.chats.get(chat_id)
            if chat is None:
                return []
            return [m for m in chat.messages.values() if include_deleted or not m.deleted]

    def bot_messages(self, chat_id: int, *, include_deleted: bool = False) -> list[StoredMessage]:
        """The bot's messages in a chat, in order, as they are now (after edits)."""
        return [
            m for m in self.chat_messages(chat_id, include_deleted=include_deleted) if m.from_bot
        ]

    def last_bot_message(self, chat_id: int) -> StoredMessage | None:
        """The bot's latest surviving message in a chat."""
        messages = self.bot_messages(chat_id)
        return messages[-1] if messages else None

    def reply_keyboard(self, chat_id: int) -> JSON | None:
        """The reply keyboard the chat shows now (None after ``remove_keyboard``)."""
        with self._lock:
            chat = self.chats.get(chat_id)
            return None if chat is None else chat.reply_keyboard

    def calls_to(self, method: str) -> list[Call]:
        """Recorded calls of one method (case-insensitive)."""
        wanted = method.lower()
        with self._lock:
            return [c for c in self.calls if c.method.lower() == wanted]

    def commands_for(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """The command list set for exactly this scope and language (what getMyCommands says)."""
        with self._lock:
            return list(self.commands.get(self._commands_key(scope, language_code), []))

    def visible_commands(
        self, chat_id: int, user_id: int | None = None, language_code: str | None = None
    ) -> list[JSON]:
        """The menu a user sees in a chat, resolved with Telegram's documented fallback order."""
        with self._lock:
            chat = self.chats.get(chat_id) or ChatState(
                id=chat_id, type="private" if chat_id > 0 else "supergroup"
            )
            if chat.type == "private":
                scopes: list[JSON] = [
                    {"type": "chat", "chat_id": chat_id},
                    {"type": "all_private_chats"},
                    {"type": "default"},
                ]
            else:
                is_admin = user_id is not None and chat.members.get(user_id) in (
                    "administrator",
                    "creator",
                )
                scopes = []
                if user_id is not None:
                    scopes.append({"type": "chat_member", "chat_id": chat_id, "user_id": user_id})
                if is_admin:
                    scopes.append({"type": "chat_administrators", "chat_id": chat_id})
                scopes.append({"type": "chat", "chat_id": chat_id})
                if is_admin:
                    scopes.append({"type": "all_chat_administrators"})
                scopes += [{"type": "all_group_chats"}, {"type": "default"}]
            for scope in scopes:
                for lang in ([language_code] if language_code else []) + [""]:
                    key = self._commands_key(scope, lang)
                    if key in self.commands:
                        return list(self.commands[key])
        return []

    # -- dispatch ----------------------------------------------------------------------------

    def handle(
        self,
        method: str,
        params: dict[str, Any],
        *,
        files: dict[str, Upload] | None = None,
        token: str | None = None,
    ) -> tuple[int, JSON]:
        """Answer one Bot API call: ``(http_status, json_body)``. ``getUpdates`` never waits here
        (see ``handle_async`` for long polling)."""
        if method.lower() == "getupdates":
            self._new_poll()
        return self._handle(method, params, files or {}, token)

    @property
    def polls_waiting(self) -> int:
        """How many ``getUpdates`` long polls are waiting now (1 once a bot polls)."""
        return self._polls_waiting

    @property
    def polls_started(self) -> int:
        """How many ``getUpdates`` calls came in so far: a bot (re)started is ready once this
        grew and a poll is waiting, whatever an earlier process left hanging."""
        return self._poll_generation

    def _new_poll(self) -> int:
        """Count a ``getUpdates``; a newer one ends any poll still waiting (409)."""
        with self._lock:
            self._poll_generation += 1
            generation = self._poll_generation
        self.notify()
        return generation

    async def handle_async(
        self,
        method: str,
        params: dict[str, Any],
        *,
        files: dict[str, Upload] | None = None,
        token: str | None = None,
    ) -> tuple[int, JSON]:
        """Like ``handle``, but ``getUpdates`` with a ``timeout`` long-polls: it waits for an
        update, and a newer ``getUpdates`` ends it with 409, as on Telegram."""
        if method.lower() != "getupdates":
            return self._handle(method, params, files or {}, token)
        generation = self._new_poll()
        try:
            p = normalize_params(params)
            timeout = float(p.get("timeout") or 0)
        except (ApiError, ValueError):
            return self._handle(method, params, files or {}, token)
        if self.confirmations_lost and self._confirms_delivered(p.get("offset")):
            self._record(method, p, files or {}, 0, {})
            raise SimulatedHang(method)
        if timeout > 0 and not self._failure_pending("getupdates") and not self.webhook:
            offset = p.get("offset")
            if "allowed_updates" in p:
                with self._lock:
                    self.allowed_updates = p["allowed_updates"] or None
            with self._lock:
                self._polls_waiting += 1
            self.notify()
            try:
                await self.wait_for(
                    lambda: self._poll_generation != generation or self._has_updates(offset),
                    timeout=timeout,
                    raise_on_timeout=False,
                )
            finally:
                with self._lock:
                    self._polls_waiting -= 1
                self.notify()
            if self._poll_generation != generation:
                error = ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one "
                    "bot instance is running",
                )
                return self._record(method, p, {}, error.status, error.body())
        return self._handle(method, params, files or {}, token)

    def _confirms_delivered(self, offset: Any) -> bool:
        """Whether a getUpdates with ``offset`` would confirm an update already fetched."""
        if not isinstance(offset, int) or offset <= 0:
            return False
        with self._lock:
            return any(
                u["update_id"] < offset and u["update_id"] in self.delivered_update_ids
                for u in self.updates
            )

    def _failure_pending(self, method: str) -> bool:
        with self._lock:
            return bool(self._failures.get(method) or self._failures.get("*"))

    def _take_failure(self, method: str, params: JSON | None = None) -> Failure | None:
        chat = (params or {}).get("chat_id")
        with self._lock:
            for key in (method, "*"):
                queue = self._failures.get(key)
                for failure in list(queue or ()):
                    if failure.chat_id is not None and failure.chat_id != chat:
                        continue
                    failure.times -= 1
                    if failure.times <= 0:
                        assert queue is not None
                        queue.remove(failure)
                    return failure
        if self.chaos is not None:
            return self.chaos(method, params or {})
        return None

    def _handle(
        self, method: str, params: dict[str, Any], files: dict[str, Upload], token: str | None
    ) -> tuple[int, JSON]:
        key = method.lower()
        if self.token is not None and token is not None and token != self.token:
            error = ApiError(401, "Unauthorized")
            return self._record(method, dict(params), files, error.status, error.body())
        impl = self._methods.get(key)
        if impl is None:
            error = ApiError(404, "Not Found: method not found")
            return self._record(method, dict(params), files, error.status, error.body())
        try:
            p = normalize_params(params)
        except ApiError as error:
            return self._record(method, dict(params), files, error.status, error.body())
        failure = self._take_failure(key, p)
        if failure is not None and not failure.deliver:
            return self._fail(method, p, files, failure)
        try:
            with self._lock:
                result = impl(p, files)
        except ApiError as error:
            return self._record(method, p, files, error.status, error.body())
        if failure is not None:
            return self._fail(method, p, files, failure)
        return self._record(method, p, files, 200, {"ok": True, "result": result})

    def _fail(
        self, method: str, p: JSON, files: dict[str, Upload], failure: Failure
    ) -> tuple[int, JSON]:
        if failure.hang:
            self._record(method, p, files, 0, {})
            raise SimulatedHang(method)
        error = ApiError(
            failure.status,
            failure.description,
            {"retry_after": failure.retry_after} if failure.retry_after else None,
        )
        self._record(method, p, files, error.status, error.body())
        if failure.timeout:
            raise SimulatedTimeout(method)
        return error.status, error.body()

    def _record(
        self, method: str, p: JSON, files: dict[str, Upload], status: int, body: JSON
    ) -> tuple[int, JSON]:
        with self._lock:
            self.calls.append(Call(method, p, dict(files), status, body, self.now()))
        self.notify()
        return status, body

    # -- internals: chats, messages, validation ----------------------------------------------

    def _chat(self, chat_id: int) -> ChatState:
        chat = self.chats.get(chat_id)
        if chat is None:
            raise KeyError(f"unknown chat {chat_id}; add it with add_user/add_group first")
        return chat

    def _target_chat(self, p: JSON, *, sending: bool = True) -> ChatState:
        """Resolve ``chat_id`` the way Telegram would, with its 400/403 answers."""
        if "chat_id" not in p or p["chat_id"] in ("", None):
            raise bad_request("chat_id is empty")
        chat_id = p["chat_id"]
        if isinstance(chat_id, str):
            for candidate in self.chats.values():
                if (
                    candidate.username
                    and "@" + candidate.username == chat_id
                    and candidate.type != "private"
                ):
                    return candidate
            raise bad_request("chat not found")
        chat = self.chats.get(chat_id)
        if chat is None:
            if chat_id <= 0 or self.require_start or not sending:
                raise bad_request("chat not found")
            chat = ChatState(id=chat_id, type="private", first_name=f"User {chat_id}")
            self.chats[chat_id] = chat
        if not sending:
            return chat
        if chat.type == "private":
            if chat_id in self.blocked_users:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if chat_id in self.unstarted_users or (
                self.require_start and chat_id not in self.started_users
            ):
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        elif chat.bot_status in ("kicked", "left"):
            kind = "supergroup chat" if chat.type == "supergroup" else "group chat"
            verb = "kicked from the" if chat.bot_status == "kicked" else "not a member of the"
            raise ApiError(403, f"Forbidden: bot was {verb} {kind}")
        return chat

    def _new_message(
        self,
        chat: ChatState,
        *,
        from_bot: bool,
        content: JSON,
        from_user: JSON | None = None,
        raw_text: str | None = None,
        parse_mode: str | None = None,
        reply_markup: JSON | None = None,
        reply_to_message_id: int | None = None,
    ) -> StoredMessage:
        seq = self._bump()
        message = StoredMessage(
            message_id=chat.next_message_id,
            chat_id=chat.id,
            from_bot=from_bot,
            from_user=self.bot_user if from_bot else (from_user or {}),
            date=self._date(),
            content=content,
            raw_text=raw_text,
            parse_mode=parse_mode,
            reply_markup=reply_markup,
            reply_to_message_id=reply_to_message_id,
            created_seq=seq,
            updated_seq=seq,
        )
        chat.messages[message.message_id] = message
        chat.next_message_id += 1
        if from_bot and reply_markup:
            if "keyboard" in reply_markup:
                chat.reply_keyboard = reply_markup
            elif reply_markup.get("remove_keyboard"):
                chat.reply_keyboard = None
        return message

    def message_api(self, message: StoredMessage, *, nested: bool = False) -> JSON:
        """The message as a Bot API ``Message`` object, as it is now."""
        chat = self.chats[message.chat_id]
        data: JSON = {
            "message_id": message.message_id,
            "from": message.from_user,
            "chat": chat.to_api(),
            "date": message.date,
            **copy.deepcopy(message.content),
        }
        if message.edit_date:
            data["edit_date"] = message.edit_date
        if message.reply_markup and "inline_keyboard" in message.reply_markup:
            data["reply_markup"] = copy.deepcopy(message.reply_markup)
        if message.reply_to_message_id and not nested:
            replied = chat.messages.get(message.reply_to_message_id)
            if replied is not None and not replied.deleted:
                data["reply_to_message"] = self.message_api(replied, nested=True)
        return data

    def _formatted(
        self,
        text: Any,
        parse_mode: str | None,
        entities: list[JSON] | None,
        *,
        kind: str,
    ) -> tuple[str, list[JSON]]:
        """Parse and validate a text or caption; return (visible text, entities)."""
        limit = MAX_TEXT_LENGTH if kind == "text" else MAX_CAPTION_LENGTH
        text = "" if text is None else str(text)
        mode = (parse_mode or "").lower()
        if mode == "html":
            try:
                plain, parsed = parse_html(text)
            except EntityParseError as exc:
                raise bad_request(f"can't parse entities: {exc}") from None
        else:
            plain, parsed = text, list(entities or [])
        plain, parsed = trim_entities(plain, parsed)
        if kind == "text" and not plain:
            raise bad_request("message text is empty")
        if len(plain) > limit:
            raise bad_request(
                "message is too long" if kind == "text" else "message caption is too long"
            )
        return plain, parsed

    def _check_markup(self, markup: Any) -> JSON | None:
        """Validate a reply_markup as Telegram does for the parts kaohe uses."""
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise bad_request(
                    'can\'t parse inline keyboard button: field "inline_keyboard" '
                    "must be an Array of Arrays"
                )
            actions = (
                "callback_data",
                "url",
                "login_url",
                "switch_inline_query",
                "switch_inline_query_current_chat",
                "switch_inline_query_chosen_chat",
                "callback_game",
                "pay",
                "web_app",
                "copy_text",
            )
            for row in rows:
                for button in row:
                    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                        raise bad_request(
                            'can\'t parse inline keyboard button: Field "text" '
                            "must be of type String"
                        )
                    if not any(key in button for key in actions):
                        raise bad_request(
                            "can't parse inline keyboard button: Text buttons are unallowed in "
                            "the inline keyboard"
                        )
                    if "callback_data" in button:
                        data = button["callback_data"]
                        size = len(str(data).encode("utf-8"))
                        if not isinstance(data, str) or not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                            raise bad_request("BUTTON_DATA_INVALID")
                    if "url" in button and not re.match(r"^(https?|tg)://\S+$", str(button["url"])):
                        raise bad_request("BUTTON_URL_INVALID")
        elif "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise bad_request("can't parse reply keyboard markup JSON object")
        return markup

    def _reply_to(self, chat: ChatState, p: JSON) -> int | None:
        parameters = p.get("reply_parameters") or {}
        message_id = parameters.get("message_id") or p.get("reply_to_message_id")
        if not message_id:
            return None
        target = chat.messages.get(int(message_id))
        if target is None or target.deleted:
            if parameters.get("allow_sending_without_reply") or p.get(
                "allow_sending_without_reply"
            ):
                return None
            raise bad_request("message to be replied not found")
        return target.message_id

    def _flood_check(self, chat: ChatState) -> None:
        """Refuse with 429 + retry_after when the configured sending limits are exceeded."""
        if self.flood is None:
            return
        now = self.now()
        sent = self._sent_at
        while sent and sent[0][0] <= now - 60:
            sent.popleft()
        checks: list[tuple[int | None, float, Callable[[tuple[float, int]], bool]]] = [
            (self.flood.global_per_second, 1.0, lambda item: True),
            (self.flood.chat_per_second, 1.0, lambda item: item[1] == chat.id),
        ]
        if chat.type != "private":
            checks.append((self.flood.group_per_minute, 60.0, lambda item: item[1] == chat.id))
        for limit, window, selects in checks:
            if limit is None:
                continue
            recent = [t for t, c in sent if t > now - window and selects((t, c))]
            if len(recent) >= limit:
                retry_after = max(1, math.ceil(recent[0] + window - now))
                raise ApiError(
                    429,
                    f"Too Many Requests: retry after {retry_after}",
                    {"retry_after": retry_after},
                )
        sent.append((now, chat.id))

    def _editable(self, p: JSON) -> tuple[ChatState, StoredMessage]:
        if p.get("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        chat = self._target_chat(p, sending=False)
        if "message_id" not in p:
            raise bad_request("message_id is empty")
        message = chat.messages.get(p["message_id"])
        if message is None or message.deleted:
            raise bad_request("message to edit not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        return chat, message

    def _apply_edit(
        self,
        message: StoredMessage,
        keys: tuple[str, str],
        content: JSON,
        raw_text: str | None,
        parse_mode: str | None,
        markup: JSON | None,
    ) -> JSON:
        """Replace the text (or caption) and markup, keeping the old version in ``edits``."""
        same_content = all(message.content.get(k) == content.get(k) for k in keys)
        if same_content and (message.reply_markup or None) == (markup or None):
            raise bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        self._keep_version(message)
        for key in keys:
            message.content.pop(key, None)
            if content.get(key):
                message.content[key] = content[key]
        message.raw_text = raw_text
        message.parse_mode = parse_mode
        message.reply_markup = markup
        message.edit_date = self._date()
        message.updated_seq = self._bump()
        return self.message_api(message)

    @staticmethod
    def _keep_version(message: StoredMessage) -> None:
        message.edits.append(
            Edit(
                date=message.edit_date or message.date,
                content=copy.deepcopy(message.content),
                raw_text=message.raw_text,
                parse_mode=message.parse_mode,
                reply_markup=copy.deepcopy(message.reply_markup),
            )
        )

    def _media_content(
        self, p: JSON, files: dict[str, Upload], field_name: str, kind: str
    ) -> StoredFile:
        value = p.get(field_name)
        upload = files.get(field_name)
        if isinstance(value, str) and value.startswith("attach://"):
            upload = files.get(value.removeprefix("attach://"))
        if upload is not None:
            return self.register_file(
                kind, upload.data, file_name=upload.filename, mime_type=upload.mime_type
            )
        if not isinstance(value, str) or not value:
            raise bad_request(f"there is no {field_name} in the request")
        if value in self.files:
            return self.files[value]
        if re.match(r"^https?://", value):
            return self.register_file(kind, None, file_name=value.rsplit("/", 1)[-1])
        raise bad_request("wrong file identifier/HTTP URL specified")

    @staticmethod
    def _commands_key(scope: JSON | None, language_code: str | None) -> tuple[str, str]:
        scope = scope or {"type": "default"}
        normalized = {
            k: (int(v) if k in ("chat_id", "user_id") and str(v).lstrip("-").isdigit() else v)
            for k, v in scope.items()
        }
        return json.dumps(normalized, sort_keys=True), language_code or ""

    def _has_updates(self, offset: int | None) -> bool:
        with self._lock:
            return any(
                self._allowed(u) and (not offset or offset < 0 or u["update_id"] >= offset)
                for u in self.updates
            )

    def _allowed(self, update: JSON) -> bool:
        kinds = [k for k in update if k != "update_id"]
        kind = kinds[0] if kinds else ""
        if self.allowed_updates:
            return kind in self.allowed_updates
        return kind not in {"chat_member", "message_reaction", "message_reaction_count"}

    # -- methods -----------------------------------------------------------------------------

    def _get_me(self, p: JSON, files: dict[str, Upload]) -> JSON:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _send_message(self, p: JSON, files: dict[str, Upload]) -> JSON:
        chat = self._target_chat(p)
        if "text" not in p:
            raise bad_request("message text is empty")
        plain, entities = self._formatted(
            p["text"], p.get("parse_mode"), p.get("entities"), kind="text"
        )
        markup = self._check_markup(p.get("reply_markup"))
        reply_to = self._reply_to(chat, p)
        self._flood_check(chat)
        content: JSON = {"text": plain}
        if entities:
            content["entities"] = entities
        message = self._new_message(
            chat,
            from_bot=True,
            content=content,
            raw_text=str(p["text"]),
            parse_mode=p.get("parse_mode"),
            reply_markup=markup,
            reply_to_message_id=reply_to,
        )
        return self.message_api(message)

    def _send_media(self, p: JSON, files: dict[str, Upload], field_name: str, kind: str) -> JSON:
        chat = self._target_chat(p)
        stored = self._media_content(p, files, field_name, kind)
        content: JSON = {}
        if kind == "photo":
            content["photo"] = [
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "width": stored.width,
                    "height": stored.height,
                    "file_size": len(stored.data),
                }
            ]
        elif kind == "sticker":
            content["sticker"] = {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
            }
        else:
            document: JSON = {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": len(stored.data),
            }
            if stored.file_name:
                document["file_name"] = stored.file_name
            if stored.mime_type:
                document["mime_type"] = stored.mime_type
            content["document"] = document
        raw_caption = p.get("caption")
        if raw_caption:
            caption, caption_entities = self._formatted(
                raw_caption, p.get("parse_mode"), p.get("caption_entities"), kind="caption"
            )
            if caption:
                content["caption"] = caption
            if caption_entities:
                content["caption_entities"] = caption_entities
        markup = self._check_markup(p.get("reply_markup"))
        reply_to = self._reply_to(chat, p)
        self._flood_check(chat)
        message = self._new_message(
            chat,
            from_bot=True,
            content=content,
            raw_text=str(raw_caption) if raw_caption else None,
            parse_mode=p.get("parse_mode"),
            reply_markup=markup,
            reply_to_message_id=reply_to,
        )
        return self.message_api(message)

    def _send_photo(self, p: JSON, files: dict[str, Upload]) -> JSON:
        return self._send_media(p, files, "photo", "photo")

    def _send_document(self, p: JSON, files: dict[str, Upload]) -> JSON:
        return self._send_media(p, files, "document", "document")

    def _send_sticker(self, p: JSON, files: dict[str, Upload]) -> JSON:
        return self._send_media(p, files, "sticker", "sticker")

    def _send_chat_action(self, p: JSON, files: dict[str, Upload]) -> bool:
        self._target_chat(p)
        return True

    def _copy_or_forward(self, p: JSON, *, forward: bool) -> JSON:
        source_chat = self._target_chat({"chat_id": p.get("from_chat_id")}, sending=False)
        source = source_chat.messages.get(p.get("message_id", 0))
        if source is None or source.deleted:
            raise bad_request(f"message to {'forward' if forward else 'copy'} not found")
        chat = self._target_chat(p)
        self._flood_check(chat)
        message = self._new_message(
            chat,
            from_bot=True,
            content=copy.deepcopy(source.content),
            raw_text=source.raw_text,
            parse_mode=source.parse_mode,
            reply_markup=self._check_markup(p.get("reply_markup")),
        )
        if forward:
            return self.message_api(message)
        return {"message_id": message.message_id}

    def _copy_message(self, p: JSON, files: dict[str, Upload]) -> JSON:
        return self._copy_or_forward(p, forward=False)

    def _forward_message(self, p: JSON, files: dict[str, Upload]) -> JSON:
        return self._copy_or_forward(p, forward=True)

    def _edit_message_text(self, p: JSON, files: dict[str, Upload]) -> JSON:
        _, message = self._editable(p)
        if "text" not in message.content:
            raise bad_request("there is no text in the message to edit")
        if "text" not in p:
            raise bad_request("message text is empty")
        plain, entities = self._formatted(
            p["text"], p.get("parse_mode"), p.get("entities"), kind="text"
        )
        content: JSON = {"text": plain}
        if entities:
            content["entities"] = entities
        # Telegram drops the inline keyboard when an edit carries no reply_markup.
        markup = self._check_markup(p.get("reply_markup"))
        return self._apply_edit(
            message, ("text", "entities"), content, str(p["text"]), p.get("parse_mode"), markup
        )

    def _edit_message_caption(self, p: JSON, files: dict[str, Upload]) -> JSON:
        _, message = self._editable(p)
        if "text" in message.content:
            raise bad_request("there is no caption in the message to edit")
        content: JSON = {}
        raw = p.get("caption")
        if raw:
            caption, entities = self._formatted(
                raw, p.get("parse_mode"), p.get("caption_entities"), kind="caption"
            )
            content = {"caption": caption, "caption_entities": entities}
        markup = self._check_markup(p.get("reply_markup"))
        return self._apply_edit(
            message,
            ("caption", "caption_entities"),
            content,
            str(raw) if raw else None,
            p.get("parse_mode"),
            markup,
        )

    def _edit_message_reply_markup(self, p: JSON, files: dict[str, Upload]) -> JSON:
        _, message = self._editable(p)
        markup = self._check_markup(p.get("reply_markup"))
        if (message.reply_markup or None) == (markup or None):
            raise bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        self._keep_version(message)
        message.reply_markup = markup
        message.edit_date = self._date()
        message.updated_seq = self._bump()
        return self.message_api(message)

    def _delete_one(self, chat: ChatState, message_id: int) -> None:
        message = chat.messages.get(message_id)
        if message is None or message.deleted:
            raise bad_request("message to delete not found")
        if chat.type == "private" and self.now() - message.date > DELETE_WINDOW_SECONDS:
            raise bad_request("message can't be deleted for everyone")
        message.deleted = True
        message.updated_seq = self._bump()

    def _delete_message(self, p: JSON, files: dict[str, Upload]) -> bool:
        chat = self._target_chat(p, sending=False)
        if "message_id" not in p:
            raise bad_request("message_id is empty")
        self._delete_one(chat, p["message_id"])
        return True

    def _delete_messages(self, p: JSON, files: dict[str, Upload]) -> bool:
        chat = self._target_chat(p, sending=False)
        for message_id in p.get("message_ids") or []:
            try:
                self._delete_one(chat, int(message_id))
            except ApiError:
                continue
        return True

    def _pin_chat_message(self, p: JSON, files: dict[str, Upload]) -> bool:
        chat = self._target_chat(p, sending=False)
        message = chat.messages.get(p.get("message_id", 0))
        if message is None or message.deleted:
            raise bad_request("message to pin not found")
        chat.pinned.append(message.message_id)
        return True

    def _unpin_chat_message(self, p: JSON, files: dict[str, Upload]) -> bool:
        chat = self._target_chat(p, sending=False)
        if not chat.pinned:
            raise bad_request("message to unpin not found")
        message_id = p.get("message_id") or chat.pinned[-1]
        if message_id not in chat.pinned:
            raise bad_request("message to unpin not found")
        chat.pinned.remove(message_id)
        return True

    def _answer_callback_query(self, p: JSON, files: dict[str, Upload]) -> bool:
        query = self.callback_queries.get(str(p.get("callback_query_id", "")))
        too_old = (
            self.callback_query_timeout is not None
            and query is not None
            and self.now() - query.created_at > self.callback_query_timeout
        )
        if query is None or query.answer is not None or too_old:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        if len(str(p.get("text") or "")) > MAX_ALERT_LENGTH:
            raise bad_request("MESSAGE_TOO_LONG")
        query.answer = {
            "text": p.get("text"),
            "show_alert": bool(p.get("show_alert", False)),
            "url": p.get("url"),
            "cache_time": p.get("cache_time"),
        }
        self._bump()
        return True

    def _set_my_commands(self, p: JSON, files: dict[str, Upload]) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise bad_request("too many commands specified")
        for command in commands:
            name = command.get("command", "") if isinstance(command, dict) else ""
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(name)):
                raise bad_request("BOT_COMMAND_INVALID")
            description = str(command.get("description", ""))
            if not 1 <= len(description) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._commands_key(p.get("scope"), p.get("language_code"))] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    def _get_my_commands(self, p: JSON, files: dict[str, Upload]) -> list[JSON]:
        key = self._commands_key(p.get("scope"), p.get("language_code"))
        return copy.deepcopy(self.commands.get(key, []))

    def _delete_my_commands(self, p: JSON, files: dict[str, Upload]) -> bool:
        self.commands.pop(self._commands_key(p.get("scope"), p.get("language_code")), None)
        return True

    def _set_chat_menu_button(self, p: JSON, files: dict[str, Upload]) -> bool:
        button = p.get("menu_button") or {"type": "default"}
        if "chat_id" in p:
            self._target_chat(p, sending=False).menu_button = button
        else:
            self.default_menu_button = button
        return True

    def _get_chat_menu_button(self, p: JSON, files: dict[str, Upload]) -> JSON:
        if "chat_id" in p:
            chat = self._target_chat(p, sending=False)
            return chat.menu_button or self.default_menu_button
        return self.default_menu_button

    def _bot_setting(self, name: str) -> MethodImpl:
        def setter(p: JSON, files: dict[str, Upload]) -> bool:
            self.bot_settings[(name, p.get("language_code") or "")] = p.get(name) or ""
            return True

        return setter

    def _get_bot_setting(self, name: str) -> MethodImpl:
        def getter(p: JSON, files: dict[str, Upload]) -> JSON:
            value = self.bot_settings.get((name, p.get("language_code") or ""), "")
            if name == "name" and not value:
                value = BOT_FIRST_NAME
            return {name: value}

        return getter

    def _get_file(self, p: JSON, files: dict[str, Upload]) -> JSON:
        stored = self.files.get(str(p.get("file_id", "")))
        if stored is None:
            raise bad_request("invalid file_id")
        if len(stored.data) > MAX_DOWNLOAD_BYTES:
            raise bad_request("file is too big")
        if stored.file_path is None:
            folder = {"photo": "photos", "sticker": "stickers"}.get(stored.kind, "documents")
            suffix = ""
            if stored.kind == "photo":
                suffix = ".jpg"
            elif stored.kind == "sticker":
                suffix = ".webp"
            elif stored.file_name and "." in stored.file_name:
                suffix = "." + stored.file_name.rsplit(".", 1)[-1]
            stored.file_path = f"{folder}/file_{stored.file_unique_id}{suffix}"
        return stored.file_api()

    def _get_chat(self, p: JSON, files: dict[str, Upload]) -> JSON:
        chat = self._target_chat(p, sending=False)
        return {
            **chat.to_api(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _member_api(self, chat: ChatState, user_id: int) -> JSON:
        user: JSON | None
        if user_id == BOT_ID:
            status, user = chat.bot_status, self.bot_user
        else:
            user = self.users.get(user_id)
            if user is None:
                raise bad_request("user not found")
            if chat.type == "private":
                status = "member" if user_id == chat.id else "left"
            else:
                status = chat.members.get(user_id, "left")
        member: JSON = {"status": status, "user": user}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(
                {
                    key: key != "can_be_edited" and key != "is_anonymous"
                    for key in (
                        "can_be_edited",
                        "is_anonymous",
                        "can_manage_chat",
                        "can_delete_messages",
                        "can_manage_video_chats",
                        "can_restrict_members",
                        "can_promote_members",
                        "can_change_info",
                        "can_invite_users",
                        "can_post_stories",
                        "can_edit_stories",
                        "can_delete_stories",
                    )
                }
            )
        elif status == "kicked":
            member["until_date"] = 0
        return member

    def _get_chat_member(self, p: JSON, files: dict[str, Upload]) -> JSON:
        chat = self._target_chat(p, sending=False)
        if "user_id" not in p:
            raise bad_request("user_id is empty")
        return self._member_api(chat, p["user_id"])

    def _get_chat_administrators(self, p: JSON, files: dict[str, Upload]) -> list[JSON]:
        chat = self._target_chat(p, sending=False)
        return [
            self._member_api(chat, user_id)
            for user_id, status in chat.members.items()
            if status in ("creator", "administrator")
        ]

    def _leave_chat(self, p: JSON, files: dict[str, Upload]) -> bool:
        chat = self._target_chat(p, sending=False)
        chat.bot_status = "left"
        return True

    def _set_webhook(self, p: JSON, files: dict[str, Upload]) -> bool:
        url = str(p.get("url") or "")
        if not url:
            self.webhook = {}
            return True
        if not url.startswith("https://") and not url.startswith("http://127."):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook = {
            "url": url,
            "secret_token": p.get("secret_token"),
            "allowed_updates": p.get("allowed_updates"),
        }
        if p.get("drop_pending_updates"):
            self.updates.clear()
        return True

    def _delete_webhook(self, p: JSON, files: dict[str, Upload]) -> bool:
        self.webhook = {}
        if p.get("drop_pending_updates"):
            self.updates.clear()
        return True

    def _get_webhook_info(self, p: JSON, files: dict[str, Upload]) -> JSON:
        info: JSON = {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self.updates),
        }
        if self.webhook.get("allowed_updates"):
            info["allowed_updates"] = self.webhook["allowed_updates"]
        return info

    def _get_updates(self, p: JSON, files: dict[str, Upload]) -> list[JSON]:
        if self.webhook:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        if "allowed_updates" in p:
            self.allowed_updates = p["allowed_updates"] or None
        offset = p.get("offset")
        if offset:
            if offset > 0:
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
            else:
                self.updates = self.updates[offset:]
        self.updates = [u for u in self.updates if self._allowed(u)]
        limit = int(p.get("limit") or 100)
        if not 1 <= limit <= 100:
            limit = 100
        result = copy.deepcopy(self.updates[:limit])
        self.delivered_update_ids.update(u["update_id"] for u in result)
        return result
