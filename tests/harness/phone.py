"""How much of a phone's screen a message takes: its text as a small phone wraps it, and its
rows of buttons.

A 360-dp-wide phone (the small Android phones of a township office) shows about 18 Chinese
characters a line in a message bubble; a Latin letter or a digit takes about half as much. A row
of inline buttons is about as tall as two lines of text. "Fits a phone" means the text takes
at most about 15 lines, so that with its buttons it is read without scrolling.
"""

from __future__ import annotations

import math
import unicodedata
from typing import Any

#: The width of a message bubble on a small phone, in half-width columns.
PHONE_COLUMNS = 36
#: The height of one row of inline buttons, in lines of text.
BUTTON_ROW_LINES = 2
#: What a screen of text may take to be read without scrolling.
PHONE_TEXT_LINES = 15


def columns(text: str) -> int:
    """Half-width columns: a Chinese character, full-width sign or emoji takes two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def phone_lines(text: str, width: int = PHONE_COLUMNS) -> int:
    """The lines ``text`` takes in a bubble ``width`` columns wide (an empty line counts)."""
    return sum(max(1, math.ceil(columns(line) / width)) for line in text.split("\n"))


def screen_lines(message: Any) -> int:
    """A message's text lines and its button rows, in lines of text."""
    return phone_lines(message.text) + BUTTON_ROW_LINES * len(message.buttons)
