"""The ``kaohe`` command: everything the office clerk runs on the server.

Each subcommand returns an exit code: 0 done, 1 the work failed (e.g. a bad roster row), 2 the
command or the settings are wrong. Settings problems are reported once, naming the setting and
the fix, without a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
import sqlite3
import sys
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.core.clock import Clock, SystemClock
from bot.core.config import Settings, SettingsError, load_settings
from bot.core.logs import setup_logging
from bot.core.texts import Texts
from storage import migrate
from storage.engine import (
    create_engine,
    forget_old_row_versions,
    is_sqlite,
    make_session_factory,
    safe_url,
    sqlite_path,
    transaction,
)
from storage.queries.ballots import SECRET_TABLES

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class Cli:
    """What every subcommand needs: settings, texts in the clerk's language, output."""

    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.texts = Texts(default_language=settings.default_language)
        self.lang = settings.default_language

    def now(self) -> datetime:
        """The CLI's clock (the system clock; a test may hand in another)."""
        return self.clock.now()

    def say(self, template: str, /, *, err: bool = False, **values: Any) -> None:
        text = self.texts.render_plain(self.lang, template, **values)
        print(text, file=sys.stderr if err else sys.stdout, flush=True)


def _run(coro: Coroutine[Any, Any, int]) -> int:
    return asyncio.run(coro)


# --- run ---------------------------------------------------------------------------------------


def cmd_run(cli: Cli, args: argparse.Namespace) -> int:
    settings = cli.settings
    if settings.bot_token is None:
        if getattr(args, "or_sandbox", False):
            from bot.cli.sandbox import sandbox_without_token

            return sandbox_without_token(cli)
        cli.say("cli/no_token", err=True)
        return EXIT_USAGE
    clock = _simulated_clock(cli, args)
    setup_logging(settings.log_level, secrets=_secrets(settings))
    from bot.app import build_application, build_services

    _run(_upgrade(settings))
    reached = _wait_for_telegram(cli)
    if reached is not None:
        return reached
    app = build_application(settings, services=build_services(settings, clock=clock))
    from telegram.error import InvalidToken, NetworkError

    try:
        if settings.webhook_url:
            app.run_webhook(
                listen=settings.webhook_listen,
                port=settings.webhook_port,
                url_path=webhook_path(settings.webhook_url),
                webhook_url=settings.webhook_url,
                secret_token=webhook_secret(settings),
                allowed_updates=ALLOWED_UPDATES,
            )
        else:
            app.run_polling(allowed_updates=ALLOWED_UPDATES)
    except (InvalidToken, NetworkError) as exc:
        # Telegram went away between the check and the start: one line, no traceback.
        from bot.cli.reach import Outcome, Reach, detail_of

        outcome = Outcome.TOKEN_REFUSED if isinstance(exc, InvalidToken) else Outcome.UNREACHABLE
        reach = Reach(outcome, detail=detail_of(exc, settings.bot_token.get_secret_value()))
        cli.say("cli/telegram_wait", err=True, r=reach, attempt=1, wait=None)
        return EXIT_FAILED
    return EXIT_OK


def _wait_for_telegram(cli: Cli) -> int | None:
    """Reach Telegram before starting, retrying with backoff while it cannot be reached (one
    line each time); an exit code when it will not do (a refused token), else None."""
    from bot.cli.reach import Outcome, Reach, wait_for_telegram

    def say(reach: Reach, attempt: int, wait: float | None) -> None:
        cli.say("cli/telegram_wait", err=True, r=reach, attempt=attempt, wait=wait)

    try:
        reached = asyncio.run(wait_for_telegram(cli.settings, say))
    except KeyboardInterrupt:
        return EXIT_FAILED
    if reached.ok:
        return None
    return EXIT_USAGE if reached.outcome is Outcome.TOKEN_REFUSED else EXIT_FAILED


def _simulated_clock(cli: Cli, args: argparse.Namespace) -> Clock | None:
    """The clock of ``--clock WHEN --speed N``, or None for the wall clock; exit 2 on a bad one."""
    from bot.core.clock import SimulatedClock

    start = getattr(args, "clock", None)
    speed = getattr(args, "speed", 1.0)
    if start is None:
        return None
    try:
        moment = datetime.fromisoformat(start.strip())
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=cli.settings.zone)
        if not speed > 0:
            raise ValueError(speed)
    except ValueError:
        cli.say("cli/clock_bad", err=True, text=start, speed=speed)
        raise SystemExit(EXIT_USAGE) from None
    return SimulatedClock(moment, speed)


ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]


def webhook_path(url: str) -> str:
    """The local path the webhook listens on: the path of WEBHOOK_URL, so a reverse proxy
    can forward it unchanged."""
    return urlsplit(url).path.strip("/") or "telegram"


def webhook_secret(settings: Settings) -> str:
    """WEBHOOK_SECRET_TOKEN, or one derived from the bot token, so that a stranger who finds the
    address cannot post fake updates even when the clerk left the setting empty."""
    if settings.webhook_secret_token is not None:
        return settings.webhook_secret_token.get_secret_value()
    assert settings.bot_token is not None
    return hashlib.sha256(settings.bot_token.get_secret_value().encode()).hexdigest()[:48]


def _secrets(settings: Settings) -> list[str]:
    values = [settings.bot_token, settings.telegram_proxy_url, settings.webhook_secret_token]
    secrets = [v.get_secret_value() for v in values if v is not None]
    if settings.webhook_url and settings.bot_token is not None:
        secrets.append(webhook_secret(settings))
    return secrets


# --- db ----------------------------------------------------------------------------------------


async def _upgrade(settings: Settings) -> int:
    engine = create_engine(settings.resolved_database_url)
    try:
        await migrate.upgrade(engine)
        return EXIT_OK
    finally:
        await engine.dispose()


def cmd_db_upgrade(cli: Cli, args: argparse.Namespace) -> int:
    _run(_upgrade(cli.settings))
    cli.say(
        "cli/db_upgraded",
        revision=migrate.head_revision(),
        url=safe_url(cli.settings.resolved_database_url),
    )
    return EXIT_OK


def cmd_db_current(cli: Cli, args: argparse.Namespace) -> int:
    async def current() -> str | None:
        engine = create_engine(cli.settings.resolved_database_url)
        try:
            return await migrate.current(engine)
        finally:
            await engine.dispose()

    revision = asyncio.run(current())
    head = migrate.head_revision()
    cli.say("cli/db_current", revision=revision, head=head)
    return EXIT_OK if revision == head else EXIT_FAILED


def cmd_db_backup(cli: Cli, args: argparse.Namespace) -> int:
    url = cli.settings.resolved_database_url
    if not is_sqlite(url):
        cli.say("cli/backup_postgres", err=True)
        return EXIT_USAGE
    source = sqlite_path(url)
    if source is None or not source.exists():
        cli.say("cli/backup_no_db", err=True, path=str(source))
        return EXIT_FAILED
    target = Path(args.file)
    if target.resolve() == source.resolve():
        cli.say("cli/backup_same_file", err=True)
        return EXIT_USAGE
    target.parent.mkdir(parents=True, exist_ok=True)
    # SQLite's online backup copies a consistent snapshot while the bot keeps writing.
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst, pages=256)
    cli.say("cli/backup_done", path=str(target), size=target.stat().st_size)
    return EXIT_OK


# --- work in the unit's transaction ------------------------------------------------------------


Work = Callable[[Any, int], Coroutine[Any, Any, int]]


async def _with_unit(settings: Settings, work: Work) -> int:
    """Migrate, open a transaction on the unit of the settings, run ``work(session, unit_id)``."""
    from storage.queries.roster import ensure_unit

    engine = create_engine(settings.resolved_database_url)
    try:
        await migrate.upgrade(engine)
        async with transaction(make_session_factory(engine)) as session:
            unit = await ensure_unit(
                session=session, name=settings.unit_name, timezone=settings.timezone
            )
            assert unit.id is not None  # flushed by ensure_unit
            code = await work(session, unit.id)
        # Work that deleted secrets (uncast ballots, at a close) leaves no old row versions.
        await forget_old_row_versions(engine, SECRET_TABLES)
        return code
    finally:
        await engine.dispose()


class Abort(Exception):
    """Roll the transaction back after the problems were printed; carries the exit code."""

    def __init__(self, code: int = EXIT_FAILED) -> None:
        super().__init__(code)
        self.code = code


def run_in_unit(cli: Cli, work: Work) -> int:
    """Run ``work(session, unit_id)`` in one transaction; an :class:`Abort` rolls it back."""
    try:
        return _run(_with_unit(cli.settings, work))
    except Abort as abort:
        return abort.code


def say_issues(cli: Cli, errors: Sequence[Any], *, issue: str, nothing: str) -> None:
    """Print every problem found in a file (template ``issue``), then that nothing was imported."""
    for problem in errors:
        cli.say(issue, err=True, **problem.context())
    cli.say(nothing, err=True, count=len(errors))


# --- roster ------------------------------------------------------------------------------------


def cmd_roster_import(cli: Cli, args: argparse.Namespace) -> int:
    from bot.rules.roster import RosterFileError
    from bot.sheets.roster import read_roster
    from storage.queries.roster import RosterImportError, import_roster

    path = Path(args.file)
    if not path.exists():
        cli.say("cli/file_missing", err=True, path=str(path))
        return EXIT_USAGE
    try:
        rows = read_roster(path)
    except RosterFileError as exc:
        say_issues(cli, exc.errors, issue="roster/issue", nothing="cli/nothing_imported")
        return EXIT_FAILED

    async def work(session: Any, unit_id: int) -> int:
        try:
            report = await import_roster(
                session=session,
                unit_id=unit_id,
                rows=rows,
                prune=args.prune,
                actor="cli",
                now=cli.now(),
            )
        except RosterImportError as exc:
            say_issues(cli, exc.errors, issue="roster/issue", nothing="cli/nothing_imported")
            raise Abort from exc
        cli.say("roster/report", report=report, prune=args.prune)
        return EXIT_OK

    return run_in_unit(cli, work)


def cmd_roster_export(cli: Cli, args: argparse.Namespace) -> int:
    from bot.sheets.roster import write_roster
    from storage.queries.roster import roster_rows

    async def work(session: Any, unit_id: int) -> int:
        rows = await roster_rows(session=session, unit_id=unit_id)
        write_roster(Path(args.file), rows, language=cli.lang)
        cli.say("cli/roster_exported", path=args.file, count=len(rows))
        return EXIT_OK

    return run_in_unit(cli, work)


def cmd_roster_list(cli: Cli, args: argparse.Namespace) -> int:
    from storage.models import Department
    from storage.queries.roster import list_cadres

    async def work(session: Any, unit_id: int) -> int:
        people = await list_cadres(session=session, unit_id=unit_id, active_only=not args.all)
        departments = {d.id: d.name for d in (await session.exec(_select(Department))).all()}
        supervisors = {c.id: c.name for c in people}
        for cadre in people:
            cli.say(
                "cli/roster_line",
                c=cadre,
                department=departments.get(cadre.department_id, ""),
                roles=sorted(r.value for r in cadre.role_set),
                supervisor=supervisors.get(cadre.supervisor_id),
            )
        cli.say("cli/roster_count", count=len(people))
        return EXIT_OK

    return run_in_unit(cli, work)


def _select(model: Any) -> Any:
    from sqlmodel import select

    return select(model)


# --- invite ------------------------------------------------------------------------------------


def cmd_invite(cli: Cli, args: argparse.Namespace) -> int:
    from bot.chat.invites import deep_link
    from bot.sheets.roster import InviteSheetRow, write_invite_sheet
    from storage.queries.invites import issue_code
    from storage.queries.roster import departments as roster_departments
    from storage.queries.roster import find_cadres_by_name, list_cadres

    if not args.all and not args.names:
        cli.say("cli/invite_usage", err=True)
        return EXIT_USAGE
    username = args.bot_username or cli.settings.bot_username or _ask_username(cli.settings)
    if not username:
        cli.say("cli/invite_no_username", err=True)
        return EXIT_USAGE

    async def work(session: Any, unit_id: int) -> int:
        departments = {
            d.id: d.name for d in await roster_departments(session=session, unit_id=unit_id)
        }
        if args.all:
            people = await list_cadres(session=session, unit_id=unit_id)
            if not args.rebind:
                people = [c for c in people if c.telegram_user_id is None]
        else:
            # One person a name: namesakes are told apart by --department, and a name that still
            # names two people issues nothing, so nobody's unused code is revoked unasked.
            people = []
            for name in args.names:
                found = [
                    c
                    for c in await find_cadres_by_name(session=session, unit_id=unit_id, name=name)
                    if c.active
                ]
                everywhere = [departments.get(c.department_id, "") for c in found]
                if args.department:
                    found = [
                        c for c in found if departments.get(c.department_id) == args.department
                    ]
                if len(found) != 1:
                    cli.say(
                        "cli/invite_unknown" if not found else "cli/invite_namesake",
                        err=True,
                        name=name,
                        department=args.department,
                        departments=everywhere,
                    )
                    raise Abort(EXIT_FAILED if not found else EXIT_USAGE)
                people.extend(c for c in found if c not in people)  # a name given twice: once
        sheet = []
        ttl = timedelta(days=cli.settings.invite_ttl_days)
        for index, cadre in enumerate(people, start=1):
            code, row = await issue_code(
                session=session, cadre=cadre, ttl=ttl, created_by="cli", now=cli.now()
            )
            link = deep_link(username, code)
            expires = row.expires_at.astimezone(cli.settings.zone)
            sheet.append(
                InviteSheetRow(
                    name=cadre.name,
                    department=departments[cadre.department_id],
                    code=code,
                    link=link,
                    expires=expires,
                )
            )
            cli.say(
                "cli/invite_line",
                index=index,
                total=len(people),
                name=cadre.name,
                department=departments[cadre.department_id],
                code=code,
                link=link,
                expires=expires,
            )
        if args.xlsx:
            write_invite_sheet(Path(args.xlsx), sheet)
            cli.say("cli/invite_sheet", path=args.xlsx, count=len(sheet))
        cli.say("cli/invite_done", count=len(sheet))
        return EXIT_OK

    return run_in_unit(cli, work)


def _ask_username(settings: Settings) -> str | None:
    """Ask the Bot API server for the bot's username; None if it is out of reach."""
    if settings.bot_token is None:
        return None
    from telegram import Bot
    from telegram.error import TelegramError
    from telegram.request import HTTPXRequest

    async def get_me() -> str | None:
        proxy = (
            settings.telegram_proxy_url.get_secret_value() if settings.telegram_proxy_url else None
        )
        bot = Bot(
            settings.bot_token.get_secret_value() if settings.bot_token else "",
            base_url=settings.telegram_api_base_url or "https://api.telegram.org/bot",
            request=HTTPXRequest(proxy=proxy, connect_timeout=5, read_timeout=5),
        )
        try:
            async with bot:
                return bot.username
        except (TelegramError, OSError):
            return None

    return asyncio.run(get_me())


# --- check -------------------------------------------------------------------------------------


def cmd_check(cli: Cli, args: argparse.Namespace) -> int:
    settings = cli.settings

    async def probe() -> tuple[str | None, str | None]:
        engine = create_engine(settings.resolved_database_url)
        try:
            return await migrate.current(engine), None
        except Exception as exc:
            return None, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        finally:
            await engine.dispose()

    from bot.cli.reach import reach

    revision, db_error = asyncio.run(probe())
    telegram = asyncio.run(reach(settings))
    cli.say(
        "cli/check",
        s=settings,
        token=settings.bot_token is not None,
        url=safe_url(settings.resolved_database_url),
        revision=revision,
        head=migrate.head_revision(),
        db_error=db_error,
        telegram=telegram,
    )
    return EXIT_FAILED if db_error or not telegram.ok else EXIT_OK


# --- parser ------------------------------------------------------------------------------------


def build_parser(lang: str = "zh", texts: Texts | None = None) -> argparse.ArgumentParser:
    """The ``kaohe`` command, its help in ``lang`` (``templates/<lang>/cli/help.toml``)."""
    from bot.cli.help import KaoheParser, localize

    parser = KaoheParser(prog="kaohe")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run")
    p.add_argument("--clock", metavar="WHEN")
    p.add_argument("--speed", type=float, default=1.0)
    p.add_argument(
        "--or-sandbox",
        action="store_true",
        help="without a BOT_TOKEN, start the local sandbox instead of stopping (make run)",
    )
    p.set_defaults(func=cmd_run)

    db = sub.add_parser("db").add_subparsers(dest="db", required=True, metavar="ACTION")
    db.add_parser("upgrade").set_defaults(func=cmd_db_upgrade)
    db.add_parser("current").set_defaults(func=cmd_db_current)
    p = db.add_parser("backup")
    p.add_argument("file")
    p.set_defaults(func=cmd_db_backup)

    roster = sub.add_parser("roster").add_subparsers(dest="roster", required=True, metavar="ACTION")
    p = roster.add_parser("import")
    p.add_argument("file")
    p.add_argument("--prune", action="store_true")
    p.set_defaults(func=cmd_roster_import)
    p = roster.add_parser("export")
    p.add_argument("file")
    p.set_defaults(func=cmd_roster_export)
    p = roster.add_parser("list")
    p.add_argument("--all", action="store_true")
    p.set_defaults(func=cmd_roster_list)

    p = sub.add_parser("invite", help="print one-time sign-up codes with their deep links")
    p.add_argument("names", nargs="*", metavar="NAME")
    p.add_argument("--all", action="store_true", help="everyone on the roster not signed up yet")
    p.add_argument(
        "--department", help="the department of the person named, when two people share the name"
    )
    p.add_argument(
        "--rebind", action="store_true", help="with --all: also people already signed up"
    )
    p.add_argument("--xlsx", metavar="FILE", help="also write the codes as a printable sheet")
    p.add_argument(
        "--bot-username", help="the bot's @username for the links (default: BOT_USERNAME)"
    )
    p.set_defaults(func=cmd_invite)

    sub.add_parser("check").set_defaults(func=cmd_check)
    from bot.cli.appraisal import register  # here, not at the top: it imports this module
    from bot.cli.calendar import register as register_calendar
    from bot.cli.report import register as register_report
    from bot.cli.sandbox import register as register_sandbox

    register(sub)
    register_calendar(sub)
    register_report(sub)
    register_sandbox(sub)
    return localize(parser, texts or Texts(default_language=lang), lang)


def main(argv: Sequence[str] | None = None) -> int:
    from bot.cli.help import office_language

    parser = build_parser(office_language())
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        texts = Texts(default_language=exc.language)
        print(
            texts.render_plain(None, "cli/settings_error", problems=exc.problems), file=sys.stderr
        )
        return EXIT_USAGE
    logging.basicConfig(level=logging.WARNING)
    return int(args.func(Cli(settings), args))


if __name__ == "__main__":
    sys.exit(main())
