"""The callback-data scheme and every inline keyboard.

Callback data is ``<family>:<action>[:<arg>...]``: ASCII, colon-separated, at most 64 bytes
(Telegram's limit), built and parsed only here so that every handler's pattern is anchored on a
family this module knows. Arguments are database ids and short keys, never free text, so buttons
keep working after a restart and a forged press can be checked against the database.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

MAX_CALLBACK_BYTES = 64
_ARG = re.compile(r"^[A-Za-z0-9_.\-]*$")


@dataclass(frozen=True)
class Callback:
    """A parsed press: its family, action and arguments."""

    family: str
    action: str
    args: tuple[str, ...] = ()

    def int_arg(self, index: int) -> int | None:
        try:
            return int(self.args[index])
        except (IndexError, ValueError):
            return None


def pack(family: str, action: str, *args: object) -> str:
    """Build callback data; raise ValueError if it would not fit or carries unsafe text."""
    parts = [family, action, *(str(a) for a in args)]
    for part in parts:
        if not _ARG.match(part):
            raise ValueError(f"callback part {part!r} is not a short ASCII key")
    data = ":".join(parts)
    if len(data.encode("ascii")) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data {data!r} exceeds {MAX_CALLBACK_BYTES} bytes")
    return data


def unpack(data: str | None) -> Callback | None:
    """Parse callback data; None for anything this bot did not build."""
    if not data or len(data.encode("utf-8")) > MAX_CALLBACK_BYTES:
        return None
    parts = data.split(":")
    if len(parts) < 2 or not all(_ARG.match(p) for p in parts):
        return None
    return Callback(parts[0], parts[1], tuple(parts[2:]))


def pattern(family: str) -> str:
    """The anchored handler pattern of a family."""
    return rf"^{re.escape(family)}:[A-Za-z0-9_.\-:]*$"


def button(text: str, family: str, action: str, *args: object) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=pack(family, action, *args))


def markup(rows: Iterable[Sequence[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([list(row) for row in rows if row])
