"""``kaohe sandbox``: the bot and a whole town on this computer, in the browser, no Telegram.

Also what ``kaohe run --or-sandbox`` (``make run``) starts while ``BOT_TOKEN`` is empty, so that a
newcomer sees the bot working before going live. The sandbox itself is :mod:`bot.sandbox`; this
module reads the options, says in the terminal what runs where, and stops on Ctrl+C.

``kaohe demo`` (``make demo``) plays a whole quarter of the town in a sandbox of its own, by
itself, tells it day by day in the terminal and leaves its files in ``--out``
(:mod:`bot.sandbox.demo`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.cli.main import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Cli, say_issues
from bot.core.logs import setup_logging
from bot.rules.scheme import SchemeError

__all__ = ["cmd_demo", "cmd_sandbox", "register", "sandbox_without_token"]


def _start(cli: Cli, text: str | None) -> datetime | None:
    """The local moment of ``--clock`` (None: the sandbox's default); exit 2 on a bad one."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        cli.say("cli/clock_bad", err=True, text=text, speed=1)
        raise SystemExit(EXIT_USAGE) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=cli.settings.zone)


def _files(cli: Cli, args: argparse.Namespace) -> Any:
    from bot.sandbox.sandbox import TownFiles

    defaults = TownFiles()
    # An office's own roster comes without the example's targets unless it names its own.
    targets = defaults.targets if not args.roster else None
    files = TownFiles(
        roster=Path(args.roster) if args.roster else defaults.roster,
        scheme=Path(args.scheme) if args.scheme else defaults.scheme,
        targets=Path(args.targets) if args.targets else targets,
    )
    for path in (files.roster, files.scheme, files.targets):
        if path is not None and not path.exists():
            cli.say("cli/file_missing", err=True, path=str(path))
            raise SystemExit(EXIT_USAGE)
    return files


def cmd_sandbox(cli: Cli, args: argparse.Namespace) -> int:
    return _sandbox(cli, args, without_token=False)


def sandbox_without_token(cli: Cli) -> int:
    """``kaohe run --or-sandbox`` with no token: the sandbox with its defaults."""
    args = build_args([])
    return _sandbox(cli, args, without_token=True)


def _sandbox(cli: Cli, args: argparse.Namespace, *, without_token: bool) -> int:
    from bot.sandbox.sandbox import Sandbox, SandboxRefused

    if args.lang:
        cli.lang = args.lang  # the terminal speaks the sandbox's language too
    start = _start(cli, args.clock)
    files = _files(cli, args)
    try:
        sandbox = Sandbox(
            cli.settings,
            files=files,
            db=Path(args.db) if args.db else None,
            start=start,
            language=args.lang or cli.settings.default_language,
            reference=cli.now(),
        )
    except SandboxRefused as refused:
        cli.say("cli/sandbox_refused", err=True, reason=refused.reason, path=str(refused.path))
        return EXIT_USAGE
    except SchemeError as exc:
        cli.say("cli/scheme_invalid", err=True, source=exc.source, problems=exc.problems)
        return EXIT_USAGE
    # The page and this terminal are the sandbox's output; the log says only what went wrong.
    level = cli.settings.log_level if cli.settings.log_level != "INFO" else "WARNING"
    setup_logging(level)
    return asyncio.run(_serve(cli, sandbox, args.port, without_token=without_token))


async def _serve(cli: Cli, sandbox: Any, port: int, *, without_token: bool) -> int:
    from bot.rules.roster import RosterFileError
    from bot.rules.targets import TargetFileError
    from bot.sandbox.web import SandboxServer
    from storage.queries.roster import RosterImportError
    from storage.queries.targets import TargetImportError

    cli.say("cli/sandbox_starting", path=str(sandbox.database))
    try:
        await sandbox.start()
    except (RosterFileError, RosterImportError) as exc:
        say_issues(cli, exc.errors, issue="roster/issue", nothing="cli/nothing_imported")
        return EXIT_FAILED
    except (TargetFileError, TargetImportError) as exc:
        say_issues(cli, exc.errors, issue="targets/issue", nothing="cli/targets_nothing_imported")
        return EXIT_FAILED
    except SchemeError as exc:
        cli.say("cli/scheme_invalid", err=True, source=exc.source, problems=exc.problems)
        return EXIT_USAGE
    server = SandboxServer(sandbox, port=port)
    try:
        await server.start()
    except OSError as exc:
        cli.say("cli/sandbox_port", err=True, port=port, error=str(exc))
        await sandbox.stop()
        return EXIT_USAGE
    chats = await sandbox.chats()
    cli.say(
        "cli/sandbox_ready",
        url=server.url,
        unit=sandbox.settings.unit_name,
        people=sum(1 for c in chats if not c.is_group),
        now=sandbox.now(),
        upcoming=await sandbox.upcoming(),
        database=str(sandbox.database),
        files=sandbox.files,
        without_token=without_token,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()
        await sandbox.stop()
    cli.say("cli/sandbox_stopped")
    return EXIT_OK


def cmd_demo(cli: Cli, args: argparse.Namespace) -> int:
    from bot.rules.roster import RosterFileError
    from bot.rules.targets import TargetFileError
    from bot.sandbox.demo import DemoOptions, run_demo
    from storage.queries.roster import RosterImportError
    from storage.queries.targets import TargetImportError

    if args.lang:
        cli.lang = args.lang
    files = _files(cli, args)
    options = DemoOptions(
        out=Path(args.out),
        lang=args.lang or cli.settings.default_language,
        seed=args.seed,
        months=args.months,
    )
    # The terminal tells the story; the log says only what went wrong.
    setup_logging(cli.settings.log_level if cli.settings.log_level != "INFO" else "ERROR")
    began = cli.now()
    try:
        played = asyncio.run(
            run_demo(cli.settings, options, files=files, say=cli.say, reference=cli.now())
        )
    except (RosterFileError, RosterImportError) as exc:
        say_issues(cli, exc.errors, issue="roster/issue", nothing="cli/nothing_imported")
        return EXIT_FAILED
    except (TargetFileError, TargetImportError) as exc:
        say_issues(cli, exc.errors, issue="targets/issue", nothing="cli/targets_nothing_imported")
        return EXIT_FAILED
    except SchemeError as exc:
        cli.say("cli/scheme_invalid", err=True, source=exc.source, problems=exc.problems)
        return EXIT_USAGE
    seconds = round((cli.now() - began).total_seconds())
    cli.say("cli/demo_done", outputs=played.outputs, quarter=played.quarter, seconds=seconds)
    return EXIT_OK


def _town_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--roster", metavar="FILE", help="the office's roster (default: the example)")
    p.add_argument("--scheme", metavar="FILE", help="the office's scheme (default: the example)")
    p.add_argument(
        "--targets",
        metavar="FILE",
        help="the annual targets (default: the example's, unless --roster is given)",
    )


def add_demo_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--out", metavar="DIR", default="demo-output", help="where the files go (demo-output)"
    )
    p.add_argument("--lang", choices=("zh", "en"), help="the bot's and the story's language")
    p.add_argument("--seed", type=int, default=1, help="the people's seed: same seed, same story")
    p.add_argument(
        "--months",
        type=int,
        choices=(1, 2, 3),
        default=3,
        help="months of the quarter to play (3: with the review, publication and appeal)",
    )
    _town_arguments(p)
    p.set_defaults(func=cmd_demo)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--port", type=int, default=0, help="the page's port on 127.0.0.1 (default: a free one)"
    )
    _town_arguments(p)
    p.add_argument(
        "--clock",
        metavar="WHEN",
        help="start the simulated clock at this local time, e.g. 2026-07-25T08:00 "
        "(default: an hour before this quarter's first window opens)",
    )
    p.add_argument("--lang", choices=("zh", "en"), help="the bot's and the page's language")
    p.add_argument(
        "--db",
        metavar="PATH",
        help="the sandbox's SQLite file, made afresh (default: DATA_DIR/sandbox/kaohe.db)",
    )
    p.set_defaults(func=cmd_sandbox)


def build_args(argv: list[str]) -> argparse.Namespace:
    """The sandbox's options with their defaults (for ``kaohe run --or-sandbox``)."""
    parser = argparse.ArgumentParser(add_help=False)
    add_arguments(parser)
    return parser.parse_args(argv)


def register(sub: Any) -> None:
    """Add ``kaohe sandbox`` and ``kaohe demo`` to the ``kaohe`` command."""
    p = sub.add_parser(
        "sandbox",
        help="try the bot on this computer: a whole town in the browser, no Telegram, no token",
    )
    add_arguments(p)
    p = sub.add_parser(
        "demo", help="watch a whole quarter of the example town play by itself in the sandbox"
    )
    add_demo_arguments(p)
