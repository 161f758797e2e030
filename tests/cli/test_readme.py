"""The README's commands work as written from a fresh clone.

A clerk copies them: the first-run steps call the installed command by its path
(``.venv/bin/kaohe``, since ``kaohe`` alone is "command not found" until the virtualenv is
activated), and every ``kaohe`` command and option the README names exists in the real parser.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from bot.cli.help import parsers
from bot.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
COMMAND = re.compile(r"`((?:\.venv/bin/)?kaohe [^`]+)`")


def _section(title: str) -> str:
    start = README.index(f"## {title}")
    end = README.find("\n## ", start + 3)
    return README[start : end if end != -1 else None]


def test_the_first_run_steps_call_the_installed_command() -> None:
    steps = _section("Going live")
    commands = COMMAND.findall(steps)
    assert ".venv/bin/kaohe check" in commands
    bare = [c for c in commands if not c.startswith(".venv/bin/") and c != "kaohe …"]
    assert bare == [], "a step a clerk copies must run from a fresh clone"
    assert "source .venv/bin/activate" in steps


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def test_every_command_and_option_the_readme_names_exists() -> None:
    top = build_parser()
    commands = COMMAND.findall(README)
    assert len(commands) > 30
    for text in commands:
        words = text.removeprefix(".venv/bin/").split()[1:]
        if not words or words[0] == "…":
            continue
        name = words[0].strip("[]")
        assert name in _subcommands(top), text
        parser = _subcommands(top)[name]
        # Each "a|b|c" alternative at the start of a word names an action of that command.
        actions = _subcommands(parser)
        if actions:
            first = words[1].strip("[]").split("|") if len(words) > 1 else []
            named = [w for w in first if re.fullmatch(r"[a-z]+", w)]
            assert named and all(w in actions for w in named), text
            for word in words[2:]:
                for piece in word.split("|")[1:]:
                    if re.fullmatch(r"[a-z]+", piece):
                        assert piece in actions, (text, piece)
        # Every --option belongs to the command or one of its actions.
        known = {
            option
            for _, each in parsers(parser)
            for action in each._actions
            for option in action.option_strings
        }
        for option in re.findall(r"--[a-z][a-z-]*", text):
            assert option in known, (text, option)
