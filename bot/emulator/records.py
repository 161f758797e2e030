"""What the emulator remembers: messages, chats, files, callback queries, calls, failures.

Plain records, so that a test (or the sandbox's page) can read the state of "Telegram's servers"
directly, and Telegram's error shapes (``ApiError``), so that the bot meets the same ``BadRequest``
and ``Forbidden`` it would meet in production.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]


class ApiError(Exception):
    """A Bot API error answer: raised inside a method, turned into ``{"ok": false, ...}``."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> JSON:
        """Shape the answer as Telegram does."""
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(description: str) -> ApiError:
    """Build a 400 with Telegram's ``Bad Request:`` prefix."""
    return ApiError(400, f"Bad Request: {description}")


class SimulatedTimeout(Exception):
    """Raised by ``handle`` for an injected timeout; each transport turns it into its own timeout
    (``telegram.error.TimedOut`` in-process, a dropped connection over HTTP)."""


class SimulatedHang(SimulatedTimeout):
    """Raised by ``handle`` for an injected hang: over HTTP the answer never comes (the crash
    tests kill the bot while it waits); in-process it is a timeout like any other."""


@dataclass(frozen=True)
class Upload:
    """A file uploaded in a multipart request (what the transports hand over as ``files``)."""

    filename: str
    data: bytes
    mime_type: str = "application/octet-stream"


@dataclass
class Call:
    """One Bot API call as the server saw it, with its answer."""

    method: str
    params: JSON
    files: dict[str, Upload]
    status: int
    response: JSON
    at: float

    @property
    def ok(self) -> bool:
        """Whether Telegram accepted the call."""
        return self.status == 200

    @property
    def result(self) -> Any:
        """The ``result`` of a successful answer (``None`` for an error)."""
        return self.response.get("result")


@dataclass
class Edit:
    """A previous version of a message, kept when the bot edits it."""

    date: int
    content: JSON
    raw_text: str | None
    parse_mode: str | None
    reply_markup: JSON | None


@dataclass
class StoredMessage:
    """A message as Telegram keeps it: current content, previous versions, deletion flag."""

    message_id: int
    chat_id: int
    from_bot: bool
    from_user: JSON
    date: int
    content: JSON
    raw_text: str | None = None
    parse_mode: str | None = None
    reply_markup: JSON | None = None
    reply_to_message_id: int | None = None
    edit_date: int | None = None
    edits: list[Edit] = field(default_factory=list)
    deleted: bool = False
    created_seq: int = 0
    updated_seq: int = 0

    @property
    def text(self) -> str | None:
        """The visible text (or caption), after entity parsing."""
        return self.content.get("text", self.content.get("caption"))

    @property
    def photo_file_id(self) -> str | None:
        """The file id of the largest photo size, if this is a photo."""
        photo = self.content.get("photo")
        return photo[-1]["file_id"] if photo else None

    @property
    def document_file_id(self) -> str | None:
        """The file id of the document, if this is one."""
        document = self.content.get("document")
        return document["file_id"] if document else None

    @property
    def inline_keyboard(self) -> list[list[JSON]]:
        """The inline keyboard rows (empty when the message has none)."""
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            rows: list[list[JSON]] = self.reply_markup["inline_keyboard"]
            return rows
        return []


@dataclass
class ChatState:
    """One chat on the server: its identity, its messages and what the bot set for it."""

    id: int
    type: str
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    next_message_id: int = 1
    members: dict[int, str] = field(default_factory=dict)
    bot_status: str = "member"
    reply_keyboard: JSON | None = None
    pinned: list[int] = field(default_factory=list)
    menu_button: JSON | None = None

    def to_api(self) -> JSON:
        """The ``Chat`` object as it appears inside messages."""
        data: JSON = {"id": self.id, "type": self.type}
        for key in ("title", "username", "first_name", "last_name"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data


@dataclass
class StoredFile:
    """A file Telegram knows by id: what was uploaded or sent by a user."""

    file_id: str
    file_unique_id: str
    kind: str
    data: bytes
    file_name: str | None = None
    mime_type: str | None = None
    file_path: str | None = None
    width: int = 0
    height: int = 0

    def file_api(self) -> JSON:
        """The ``File`` object returned by ``getFile``."""
        data: JSON = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
        }
        if self.file_path:
            data["file_path"] = self.file_path
        return data


@dataclass
class CallbackQueryState:
    """A callback query sent to the bot, and its answer once given."""

    id: str
    user_id: int
    chat_id: int | None
    message_id: int | None
    data: str | None
    created_at: float
    answer: JSON | None = None


@dataclass
class Failure:
    """An injected failure for the next call(s) of a method (``"*"`` for any)."""

    status: int
    description: str
    retry_after: int | None = None
    times: int = 1
    deliver: bool = False
    timeout: bool = False
    hang: bool = False
    chat_id: int | None = None  # only calls to this chat


@dataclass
class FloodLimits:
    """Telegram's sending limits, enforced only when passed to ``FakeTelegram(flood=...)``.

    Why optional: most tests send a handful of messages; benchmarks of bulk sending turn it on to
    see whether the bot paces itself and honours ``retry_after``.
    """

    global_per_second: int | None = 30
    group_per_minute: int | None = 20
    chat_per_second: int | None = None


def iter_buttons(markup: JSON | None) -> Iterable[JSON]:
    """Every button of an inline keyboard, row by row."""
    if markup and "inline_keyboard" in markup:
        for row in markup["inline_keyboard"]:
            yield from row
