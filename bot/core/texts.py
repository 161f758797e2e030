"""The one renderer of every user-facing text.

Messages are Jinja2 templates under ``templates/<lang>/<name>.j2``; short labels (buttons, grade
names, role names) live in ``templates/<lang>/labels.toml`` so that no text a person reads is
written in Python. Handlers, the CLI and tests all go through :class:`Texts`, so a test can assert
against exactly what a user sees.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from bot.rules.numbers import figure, money, one_decimal, plain

LANGUAGES: tuple[str, ...] = ("zh", "en")
DEFAULT_TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"


def _flatten(prefix: str, table: Mapping[str, Any], out: dict[str, str]) -> None:
    for key, value in table.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping):
            _flatten(name, value, out)
        else:
            out[name] = str(value)


class Texts:
    """Render templates and look up labels for one of :data:`LANGUAGES`.

    HTML autoescaping is on for every template, because messages are sent with HTML parse mode
    and carry names and notes that people typed.
    """

    def __init__(self, templates_dir: Path | None = None, default_language: str = "zh") -> None:
        self.templates_dir = templates_dir or DEFAULT_TEMPLATES_DIR
        if default_language not in LANGUAGES:
            raise ValueError(default_language)
        self.default_language = default_language
        self.env = Environment(
            loader=FileSystemLoader(str(self.templates_dir)),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            extensions=["jinja2.ext.loopcontrols"],
        )
        # Terminal output (the CLI) is plain text: same templates folder, no HTML escaping.
        self.plain_env = Environment(
            loader=FileSystemLoader(str(self.templates_dir)),
            autoescape=False,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        for env in (self.env, self.plain_env):
            env.globals["label"] = self._label_global
            env.filters["score"] = one_decimal
            env.filters["plain"] = plain
            env.filters["figure"] = figure
            env.filters["money"] = money
            env.filters["when"] = when
            env.filters["day"] = day
            env.filters["clip"] = clip

    def lang(self, language: str | None) -> str:
        """Return a supported language, falling back to the default."""
        return language if language in LANGUAGES else self.default_language

    @cached_property
    def _labels(self) -> dict[str, dict[str, str]]:
        result: dict[str, dict[str, str]] = {}
        for language in LANGUAGES:
            path = self.templates_dir / language / "labels.toml"
            flat: dict[str, str] = {}
            if path.exists():
                _flatten("", tomllib.loads(path.read_text(encoding="utf-8")), flat)
            result[language] = flat
        return result

    def label(self, language: str | None, key: str, /, **params: Any) -> str:
        """Return a short label; ``{name}`` placeholders are filled from ``params``."""
        text = self._labels[self.lang(language)][key]
        return text.format(**params) if params else text

    def has_label(self, language: str, key: str) -> bool:
        return key in self._labels[self.lang(language)]

    def label_keys(self, language: str) -> set[str]:
        return set(self._labels[language])

    def render(self, language: str | None, name: str, /, **context: Any) -> str:
        """Render ``templates/<lang>/<name>.j2`` and strip surrounding blank lines."""
        language = self.lang(language)
        template = self.env.get_template(f"{language}/{name}.j2")
        return template.render(lang=language, **context).strip()

    def render_plain(self, language: str | None, name: str, /, **context: Any) -> str:
        """Render a template for the terminal, without HTML escaping."""
        language = self.lang(language)
        template = self.plain_env.get_template(f"{language}/{name}.j2")
        return template.render(lang=language, **context).strip()

    def _label_global(self, key: str, lang: str, **params: Any) -> str:
        return self.label(lang, key, **params)


# Weekdays as a Chinese calendar and an English one name them (Monday first, as isoweekday).
_WEEKDAYS = {"zh": "一二三四五六日", "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def day(moment: datetime | date, lang: str = "zh") -> str:
    """A day with its weekday, as a person reads it: ``12月5日（周六）``, ``Sat 5 Dec``."""
    weekday = _WEEKDAYS["en" if lang == "en" else "zh"][moment.isoweekday() - 1]
    if lang == "en":
        return f"{weekday} {moment.day} {_MONTHS_EN[moment.month - 1]}"
    return f"{moment.month}月{moment.day}日（周{weekday}）"


def when(moment: datetime, lang: str = "zh") -> str:
    """A local moment with its weekday and time: ``12月5日（周六）18:00``, ``Sat 5 Dec 18:00``."""
    return f"{day(moment, lang)}{'' if lang == 'zh' else ' '}{moment:%H:%M}"


#: How much of something a person typed is repeated back to them.
ECHO_MAX = 40


def clip(text: str, limit: int = ECHO_MAX) -> str:
    """``text`` cut to ``limit`` characters (with an ellipsis): something a person typed, before
    it is repeated to them, or an answer that must fit a small space."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


#: What one message of a listing may hold: below Telegram's 4,096 characters after parsing,
#: with room for the HTML tags.
MESSAGE_LIMIT = 4000


def pack_messages(blocks: list[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Join blocks of HTML into as few messages as fit ``limit`` characters each.

    Blocks are kept whole when they fit; a longer block is split between its lines (each line
    is complete HTML, so no tag is cut in two), and a line longer than a message (a list of
    hundreds of names) between its items, outside any tag. Nothing is dropped. Empty blocks are
    left out.
    """
    pieces: list[str] = []
    for block in (b for b in blocks if b.strip()):
        if len(block) <= limit:
            pieces.append(block)
            continue
        current = ""
        for whole in block.split("\n"):
            for line in _split_line(whole, limit):
                if current and len(current) + 1 + len(line) > limit:
                    pieces.append(current)
                    current = ""
                current = f"{current}\n{line}" if current else line
        if current:
            pieces.append(current)
    messages: list[str] = []
    for piece in pieces:
        if messages and len(messages[-1]) + 2 + len(piece) <= limit:
            messages[-1] += "\n\n" + piece
        else:
            messages.append(piece)
    return messages


#: Where a long line may be broken: after an item separator or a space.
_BREAKS = frozenset("、，,；; ")


def _split_line(line: str, limit: int) -> list[str]:
    """``line`` in pieces of at most ``limit`` characters, broken after a separator that lies
    outside every HTML element and entity (else at the last place outside them)."""
    pieces: list[str] = []
    while len(line) > limit:
        depth, in_tag, in_entity = 0, False, False
        best = last_free = 0
        for index, char in enumerate(line[:limit]):
            if in_tag:
                if char == ">":
                    in_tag = False
                continue
            if char == "<":
                in_tag = True
                closing = line.startswith("</", index)
                depth += -1 if closing else 1
                continue
            if char == "&":
                in_entity = True
            elif in_entity and char == ";":
                in_entity = False
                continue
            if depth == 0 and not in_entity:
                last_free = index + 1
                if char in _BREAKS:
                    best = index + 1
        cut = best or last_free or limit
        pieces.append(line[:cut].rstrip())
        line = line[cut:].lstrip()
    pieces.append(line)
    return pieces
