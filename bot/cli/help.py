"""The ``kaohe`` command speaks the office's language, ``--help`` and usage mistakes included.

Every help text of every command and option lives in ``templates/<lang>/cli/help.toml``, keyed by
the command's path and the option's name (``periods.open.until``; ``_`` is the command's own
line); placeholders such as ``PERIOD`` are worded by its ``[metavar]`` table, and argparse's own
words (``usage:``, ``options``, ``show this help message and exit``) by its ``[argparse]`` table.
:func:`localize` walks the finished parser and puts them in, so the code that declares a command
carries no text a clerk reads. A usage mistake (a missing argument, an unknown command, a number
that is not one) is said by ``templates/<lang>/cli/usage_error.j2`` from a code and its figures,
not in argparse's English.

The language is the office's ``DEFAULT_LANGUAGE``, read on its own (:func:`office_language`) so
that ``kaohe --help`` works before the other settings do.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
import unicodedata
from collections.abc import Iterator, Mapping
from functools import partial
from typing import Any, NoReturn

from bot.core.config import office_language
from bot.core.texts import Texts

__all__ = ["KaoheParser", "help_texts", "localize", "office_language", "parsers", "usage_problem"]


def help_texts(texts: Texts, lang: str) -> dict[str, Any]:
    """``templates/<lang>/cli/help.toml`` as a nested table."""
    path = texts.templates_dir / texts.lang(lang) / "cli" / "help.toml"
    return tomllib.loads(path.read_text(encoding="utf-8"))


def _columns(text: str) -> int:
    """How many terminal columns ``text`` takes (a Chinese character takes two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


# A wide character alone, or a run of other characters with the spaces after it.
_WIDE = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f"
_TOKENS = re.compile(rf"[{_WIDE}]|[^\s{_WIDE}]+\s*|\s+")


class _Formatter(argparse.HelpFormatter):
    """argparse's layout in the office's language: the word before the usage line, the colon
    after a section's title, and columns counted as a terminal shows Chinese (two a character)."""

    def __init__(
        self,
        prog: str,
        *,
        usage_prefix: str = "usage: ",
        colon: str = ":",
        titles: tuple[str, ...] = (),
    ) -> None:
        super().__init__(prog, max_help_position=32)
        self.usage_prefix = usage_prefix
        self.colon = colon
        self.titles = titles

    def add_usage(self, usage: Any, actions: Any, groups: Any, prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, prefix or self.usage_prefix)

    def add_argument(self, action: argparse.Action) -> None:
        super().add_argument(action)
        if action.help is not argparse.SUPPRESS:
            # The help column counts terminal columns, as the padding below does.
            invocations = [self._format_action_invocation(action)]
            invocations += [
                self._format_action_invocation(sub)
                for sub in self._iter_indented_subactions(action)
            ]
            longest = max(map(_columns, invocations)) + self._current_indent
            self._action_max_length = max(self._action_max_length, longest)

    def format_help(self) -> str:
        text = super().format_help()
        for title in self.titles:
            text = text.replace(f"\n{title}:\n", f"\n{title}{self.colon}\n")
        return text

    def _split_lines(self, text: str, width: int) -> list[str]:
        if _columns(text) == len(text):
            return super()._split_lines(text, width)
        lines: list[str] = []
        line = ""
        for token in _TOKENS.findall(" ".join(text.split())):
            if line and _columns(line + token.rstrip()) > width:
                lines.append(line.rstrip())
                line = token.lstrip()
            else:
                line += token
        return [*lines, line.rstrip()] if line.strip() else lines

    def _format_action(self, action: argparse.Action) -> str:
        # argparse pads by characters; a Chinese one takes two columns, so take one space off
        # the padding for each, or start the help on the next line when there is no room.
        text = super()._format_action(action)
        header = " " * self._current_indent + self._format_action_invocation(action)
        extra = _columns(header) - len(header)
        first, newline, rest = text.partition("\n")
        if not extra or first == header or not first.startswith(header):
            return text
        words = first[len(header) :].lstrip(" ")
        gap = len(first) - len(header) - len(words)
        if gap - extra >= 2:
            return header + " " * (gap - extra) + words + newline + rest
        position = min(self._action_max_length + 2, self._max_help_position)
        return f"{header}\n{' ' * position}{words}{newline}{rest}"


class KaoheParser(argparse.ArgumentParser):
    """An argument parser whose mistakes are told in the office's language (after
    :func:`localize`); without it, argparse's own words."""

    texts: Texts | None = None
    lang: str = "zh"

    def error(self, message: str) -> NoReturn:
        if self.texts is None:
            super().error(message)
        self.print_usage(sys.stderr)
        problem = usage_problem(message)
        text = self.texts.render_plain(self.lang, "cli/usage_error", prog=self.prog, **problem)
        self.exit(2, text + "\n")


# argparse's messages (Python 3.11 to 3.13), as codes with their figures.
_PROBLEMS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("required", re.compile(r"^the following arguments are required: (?P<names>.+)$")),
    ("unrecognized", re.compile(r"^unrecognized arguments: (?P<names>.+)$")),
    (
        "invalid_choice",
        re.compile(
            r"^argument (?P<argument>[^:]+): invalid choice: '?(?P<value>.*?)'? "
            r"\(choose from (?P<choices>.+)\)$"
        ),
    ),
    (
        "invalid_value",
        re.compile(
            r"^argument (?P<argument>[^:]+): invalid (?P<type>\w+) value: '?(?P<value>.*?)'?$"
        ),
    ),
    ("expected_one", re.compile(r"^argument (?P<argument>[^:]+): expected one argument$")),
    (
        "ambiguous",
        re.compile(r"^ambiguous option: (?P<value>\S+) could match (?P<choices>.+)$"),
    ),
)


def usage_problem(message: str) -> dict[str, Any]:
    """A code and its figures for one of argparse's messages (``other`` with the message)."""
    for code, pattern in _PROBLEMS:
        match = pattern.match(message.strip())
        if match:
            values = dict(match.groupdict())
            if "choices" in values:
                values["choices"] = [c.strip(" '") for c in values["choices"].split(",")]
            if "names" in values:
                values["names"] = values["names"].split(", ")
            return {"code": code, **values}
    return {"code": "other", "message": message}


def parsers(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every parser of the command tree with its path (``()`` for ``kaohe`` itself)."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from parsers(sub, (*path, name))


def _table(tree: Mapping[str, Any], path: tuple[str, ...]) -> Mapping[str, Any]:
    table: Any = tree.get("kaohe", {}) if not path else tree
    for name in path:
        table = table.get(name, {}) if isinstance(table, Mapping) else {}
    return table if isinstance(table, Mapping) else {}


def _line(table: Mapping[str, Any]) -> str | None:
    value = table.get("_")
    return value if isinstance(value, str) else None


def localize(parser: argparse.ArgumentParser, texts: Texts, lang: str) -> argparse.ArgumentParser:
    """Put the help texts of ``lang`` into every command and option of ``parser``."""
    tree = help_texts(texts, lang)
    words: Mapping[str, str] = tree.get("argparse", {})
    metavars: Mapping[str, str] = tree.get("metavar", {})
    positionals, options = words.get("positionals"), words.get("options")
    formatter = partial(
        _Formatter,
        usage_prefix=words.get("usage", "usage: "),
        colon=words.get("colon", ":"),
        titles=tuple(t for t in (positionals, options) if t),
    )
    for path, each in parsers(parser):
        table = _table(tree, path)
        if isinstance(each, KaoheParser):
            each.texts, each.lang = texts, texts.lang(lang)
        each.formatter_class = formatter
        each.description = _line(table) or each.description
        if path == () and isinstance(table.get("epilog"), str):
            each.epilog = table["epilog"]
        each._positionals.title = positionals or each._positionals.title
        each._optionals.title = options or each._optionals.title
        for action in each._actions:
            _localize_action(action, table, tree, path, words, metavars)
    return parser


def _localize_action(
    action: argparse.Action,
    table: Mapping[str, Any],
    tree: Mapping[str, Any],
    path: tuple[str, ...],
    words: Mapping[str, str],
    metavars: Mapping[str, str],
) -> None:
    if isinstance(action, argparse._HelpAction):
        action.help = words.get("help", action.help)
        return
    if isinstance(action, argparse._SubParsersAction):
        # Every command in the list, in the order declared, even one declared without help.
        named = {choice.dest: choice for choice in action._choices_actions}
        listed = []
        for name in action.choices:
            line = _line(_table(tree, (*path, name)))
            choice = named.get(name) or action._ChoicesPseudoAction(name, (), line)
            choice.help = line if line is not None else choice.help
            listed.append(choice)
        action._choices_actions[:] = listed
        if isinstance(action.metavar, str):
            action.metavar = metavars.get(action.metavar, action.metavar)
        return
    help_line = table.get(action.dest)
    if isinstance(help_line, str):
        action.help = help_line
    if action.nargs == 0:
        return  # a flag: no value to name
    shown = action.metavar or (action.dest.upper() if action.option_strings else action.dest)
    if isinstance(shown, str):
        action.metavar = metavars.get(shown, shown)
