"""The callback-data scheme and every inline button: one table per family of buttons.

Callback data is ``<family>:<action>[:<arg>...]``: ASCII, colon-separated, at most 64 bytes
(Telegram's limit). Each family declares, per action, the fields its arguments carry
(:class:`Family`); buttons are built and presses are parsed only through that declaration, so a
button that does not match its own route cannot be built, and a press that does not match one
(forged, from an older version, an id beyond any database's range) is recognised here as stale
before any handler runs. Arguments are database ids and short keys, never free text, so buttons
keep working after a restart and a press can be checked against the database.

Each capability hands :meth:`Family.dispatcher` a table from action to handler; adding a button
to the bot (the review's and the appeal's to come) is one more entry in a table.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar, Literal

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

MAX_CALLBACK_BYTES = 64
#: Database ids are INTEGER columns: PostgreSQL's hold 32 bits (SQLite's 64), so an id beyond
#: 2**31 - 1 can exist in no database of this bot and is a stale (forged) press; passed on, it
#: made asyncpg raise OverflowError.
MAX_ID = 2**31 - 1
_PART = re.compile(r"^[A-Za-z0-9_.\-]{1,40}$")
_KEY = re.compile(r"^[a-z0-9_]{1,32}$")
_TOKEN = re.compile(r"^[0-9a-f]{4,16}$")

Kind = Literal["id", "int", "key", "token", "choice", "date", "text"]


class Stale(ValueError):
    """A press this bot would not have built: parsed as nothing."""


@dataclass(frozen=True)
class Arg:
    """One argument of a route: its name and what it may hold."""

    name: str
    kind: Kind
    choices: tuple[str, ...] = ()
    maximum: int = 10_000

    def read(self, text: str) -> Any:
        """The argument's value, or :class:`Stale`."""
        if self.kind in ("id", "int"):
            if not text.isdigit() or len(text) > 19:
                raise Stale(text)
            value = int(text)
            upper = MAX_ID if self.kind == "id" else self.maximum
            low = 1 if self.kind == "id" else 0
            if not low <= value <= upper:
                raise Stale(text)
            return value
        if self.kind == "key":
            if not _KEY.match(text):
                raise Stale(text)
            return text
        if self.kind == "token":
            if not _TOKEN.match(text):
                raise Stale(text)
            return text
        if self.kind == "choice":
            if text not in self.choices:
                raise Stale(text)
            return text
        if self.kind == "date":
            try:
                return datetime.strptime(text, "%Y%m%d").date()
            except ValueError:
                raise Stale(text) from None
        if not _PART.match(text):
            raise Stale(text)
        return text

    def write(self, value: object) -> str:
        """The argument as it travels in the button."""
        text = value.strftime("%Y%m%d") if isinstance(value, date) else str(value)
        self.read(text)  # a button that its own route would refuse is a bug: raise here
        return text


def ID(name: str) -> Arg:
    """A database id (1 .. 2**31-1)."""
    return Arg(name, "id")


def INT(name: str, maximum: int = 10_000) -> Arg:
    """A small non-negative number (a page)."""
    return Arg(name, "int", maximum=maximum)


def KEY(name: str) -> Arg:
    """A scheme key (an item, a violation): lowercase ASCII."""
    return Arg(name, "key")


def TOKEN(name: str) -> Arg:
    """A short random hex token that ties a button to one flow."""
    return Arg(name, "token")


def CHOICE(name: str, *choices: str) -> Arg:
    """One of a fixed set of short values."""
    return Arg(name, "choice", choices=tuple(choices))


def DATE(name: str) -> Arg:
    """A date, as ``yyyymmdd``."""
    return Arg(name, "date")


@dataclass(frozen=True)
class Press:
    """A parsed press: its family, action and named argument values."""

    family: str
    action: str
    values: Mapping[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)


Handler = Callable[[Update, Any, Press], Coroutine[Any, Any, object]]
Refuse = Callable[[Update, Any], Coroutine[Any, Any, object]]


class Family:
    """The buttons of one capability: ``actions`` maps each action to the arguments it carries."""

    all: ClassVar[dict[str, Family]] = {}

    def __init__(self, name: str, actions: Mapping[str, Sequence[Arg]]) -> None:
        if not _PART.match(name) or name in Family.all:
            raise ValueError(f"bad or repeated button family {name!r}")
        self.name = name
        self.actions = {action: tuple(args) for action, args in actions.items()}
        Family.all[name] = self

    @property
    def pattern(self) -> str:
        """The anchored handler pattern of the family."""
        return rf"^{re.escape(self.name)}:[A-Za-z0-9_.\-:]*$"

    def data(self, action: str, *values: object) -> str:
        """Callback data of ``action`` with ``values``; raise ValueError if they do not fit."""
        args = self.actions[action]
        if len(values) != len(args):
            raise ValueError(f"{self.name}:{action} takes {len(args)} arguments")
        data = ":".join(
            [self.name, action, *(a.write(v) for a, v in zip(args, values, strict=True))]
        )
        if len(data.encode("ascii")) > MAX_CALLBACK_BYTES:
            raise ValueError(f"callback data {data!r} exceeds {MAX_CALLBACK_BYTES} bytes")
        return data

    def button(self, label: str, action: str, *values: object) -> InlineKeyboardButton:
        """An inline button of ``action``."""
        return InlineKeyboardButton(label, callback_data=self.data(action, *values))

    def parse(self, data: str | None) -> Press | None:
        """The press ``data`` names, or None for anything this family would not have built."""
        if not data or len(data.encode("utf-8")) > MAX_CALLBACK_BYTES:
            return None
        parts = data.split(":")
        if len(parts) < 2 or parts[0] != self.name or parts[1] not in self.actions:
            return None
        args = self.actions[parts[1]]
        if len(parts) - 2 != len(args):
            return None
        try:
            values = {a.name: a.read(text) for a, text in zip(args, parts[2:], strict=True)}
        except Stale:
            return None
        return Press(self.name, parts[1], values)

    def dispatcher(
        self, routes: Mapping[str, Handler], *, stale: Refuse
    ) -> Callable[[Update, Any], Coroutine[Any, Any, object]]:
        """One callback for the family: parse the press once, then the route's handler.

        A press that parses as nothing, or names an action without a handler, goes to ``stale``
        (an alert, and nothing changes).
        """
        missing = set(routes) - set(self.actions)
        if missing:
            raise ValueError(f"routes for undeclared actions {sorted(missing)} of {self.name}")

        async def dispatch(update: Update, context: Any) -> object:
            query = update.callback_query
            press = self.parse(query.data if query is not None else None)
            handler = routes.get(press.action) if press is not None else None
            if press is None or handler is None:
                return await stale(update, context)
            return await handler(update, context, press)

        dispatch.__name__ = f"{self.name}_callback"
        dispatch.__doc__ = f"Route a press of the {self.name} buttons to its handler."
        return dispatch


def button(label: str, family: str, action: str, *values: object) -> InlineKeyboardButton:
    """A button of a declared family, by the family's name (for code that sends another
    capability's buttons, such as the scheduler's start buttons)."""
    return Family.all[family].button(label, action, *values)


#: What one row of buttons may hold on a small phone (320 points wide, labels of about 14
#: points), in columns: a Han character is two, a Latin letter or digit one. Telegram gives
#: each button of a row the same width and cuts a label that does not fit its share, so a
#: row's widest label (with its padding) times its number of buttons must stay within this.
ROW_COLUMNS = 40
#: The padding and the gap each button takes besides its label, in columns.
BUTTON_COLUMNS = 2


def row_fits(labels: Sequence[str]) -> bool:
    """Whether a row of buttons with these labels fits a small phone uncut."""
    return not labels or (max(map(columns, labels)) + BUTTON_COLUMNS) * len(labels) <= ROW_COLUMNS


def columns(label: str) -> int:
    """How wide ``label`` is on a phone, in columns (:data:`ROW_COLUMNS`)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in label)


def fit(
    buttons: Iterable[InlineKeyboardButton], *, most: int = 4
) -> list[list[InlineKeyboardButton]]:
    """Buttons in rows that fit a small phone, in order: at most ``most`` a row, and a label
    too long to share a row (a long department's name) on a row of its own."""
    rows: list[list[InlineKeyboardButton]] = []
    row: list[InlineKeyboardButton] = []
    for button in buttons:
        if row and (len(row) >= most or not row_fits([b.text for b in [*row, button]])):
            rows.append(row)
            row = []
        row.append(button)
    if row:
        rows.append(row)
    return rows


def markup(rows: Iterable[Sequence[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    """An inline keyboard of the non-empty ``rows``."""
    return InlineKeyboardMarkup([list(row) for row in rows if row])
