"""A chat as its people see it: the messages of both sides, in order, as they are now.

Read from the fake Bot API's own records (the messages Telegram's servers would keep), so what
the page shows, what a test reads and what a transcript file prints are the same thing. A bot
message carries its visible text with Telegram's entities (offsets in UTF-16 code units, as the
Bot API gives them and as a browser's strings count), its buttons, and its file if it has one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from bot.emulator.records import StoredMessage
from bot.emulator.telegram import FakeTelegram

__all__ = ["Attachment", "Button", "Entry", "chat_entries"]


@dataclass(frozen=True)
class Button:
    """One inline button: ``data`` for a press, or a ``url`` to open."""

    text: str
    data: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Attachment:
    """A file in a message (a photo or a document), fetched by ``file_id``."""

    kind: str  # photo | document | sticker
    file_id: str
    file_name: str | None
    mime_type: str | None
    size: int


@dataclass(frozen=True)
class Entry:
    """One message of a chat, as it is now (after the bot's edits)."""

    message_id: int
    from_bot: bool
    sender: str
    sender_id: int
    at: datetime
    """When it was sent, in the town's zone."""
    text: str
    """The visible text or caption."""
    entities: list[dict[str, Any]] = field(default_factory=list)
    buttons: list[list[Button]] = field(default_factory=list)
    attachment: Attachment | None = None
    edited: bool = False
    reply_to: int | None = None
    seq: int = 0
    """The fake's change counter when this message last changed (see ``FakeTelegram.seq``)."""

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON values (the time as ISO 8601 with its offset)."""
        data = asdict(self)
        data["at"] = self.at.isoformat(timespec="seconds")
        return data


def _attachment(fake: FakeTelegram, content: dict[str, Any]) -> Attachment | None:
    for kind in ("photo", "document", "sticker"):
        value = content.get(kind)
        if not value:
            continue
        item = value[-1] if isinstance(value, list) else value
        stored = fake.files.get(str(item.get("file_id")))
        return Attachment(
            kind=kind,
            file_id=str(item.get("file_id")),
            file_name=item.get("file_name") or (stored.file_name if stored else None),
            mime_type=item.get("mime_type") or (stored.mime_type if stored else None),
            size=int(item.get("file_size") or (len(stored.data) if stored else 0)),
        )
    return None


def _entry(fake: FakeTelegram, message: StoredMessage, zone: tzinfo) -> Entry:
    content = message.content
    sender = message.from_user or {}
    name = " ".join(
        str(part) for part in (sender.get("first_name"), sender.get("last_name")) if part
    )
    return Entry(
        message_id=message.message_id,
        from_bot=message.from_bot,
        sender=name,
        sender_id=int(sender.get("id") or 0),
        at=datetime.fromtimestamp(message.date, UTC).astimezone(zone),
        text=str(content.get("text", content.get("caption", "")) or ""),
        entities=list(content.get("entities") or content.get("caption_entities") or []),
        buttons=[
            [
                Button(
                    text=str(b.get("text", "")),
                    data=b.get("callback_data"),
                    url=b.get("url"),
                )
                for b in row
            ]
            for row in message.inline_keyboard
        ],
        attachment=_attachment(fake, content),
        edited=bool(message.edits),
        reply_to=message.reply_to_message_id,
        seq=message.updated_seq,
    )


def chat_entries(fake: FakeTelegram, chat_id: int, zone: tzinfo) -> list[Entry]:
    """Every surviving message of the chat, from its people and from the bot, in order."""
    return [_entry(fake, m, zone) for m in fake.chat_messages(chat_id)]
