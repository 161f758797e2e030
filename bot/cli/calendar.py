"""The calendar commands of ``kaohe``: ``leave`` (请假) and ``calendar`` (the official holidays).

``kaohe leave add 王芳 2026-08-01 2026-08-10 --reason 病假`` marks a cadre on leave: no
reminders for those days, and a self-score missed with the deadline inside them is excused.
``kaohe calendar import FILE`` loads a year's official schedule of holidays and swapped working
days (the format is in :mod:`bot.rules.workdays` and the README); ``kaohe calendar show YEAR``
prints the schedule the bot will use. The running bot notices both within a minute.
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import Any

from bot.cli.main import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Abort, Cli, run_in_unit

__all__ = ["register"]


def _day(cli: Cli, text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        cli.say("cli/day_bad", err=True, text=text)
        raise Abort(EXIT_USAGE) from None


async def _one_cadre(
    cli: Cli, session: Any, unit_id: int, name: str, department: str | None
) -> Any:
    from storage.models import Department
    from storage.queries.roster import find_cadres_by_name

    found = [
        c
        for c in await find_cadres_by_name(session=session, unit_id=unit_id, name=name)
        if c.active
    ]
    names = {d.id: d.name for d in (await session.exec(_departments(Department, unit_id))).all()}
    if department:
        found = [c for c in found if names.get(c.department_id) == department]
    if len(found) != 1:
        cli.say(
            "cli/leave_person",
            err=True,
            name=name,
            matches=[names.get(c.department_id, "") for c in found],
        )
        raise Abort(EXIT_FAILED if not found else EXIT_USAGE)
    return found[0]


def _departments(model: Any, unit_id: int) -> Any:
    from sqlmodel import select

    return select(model).where(model.unit_id == unit_id)


def cmd_leave_add(cli: Cli, args: argparse.Namespace) -> int:
    from storage.queries.calendar import add_leave

    first, last = _day(cli, args.first), _day(cli, args.last)
    if last < first:
        cli.say("cli/leave_backwards", err=True, first=first, last=last)
        return EXIT_USAGE

    async def work(session: Any, unit_id: int) -> int:
        cadre = await _one_cadre(cli, session, unit_id, args.name, args.department)
        leave = await add_leave(
            session=session,
            unit_id=unit_id,
            cadre_id=cadre.id,
            starts_on=first,
            ends_on=last,
            reason=args.reason,
            created_by="cli",
            now=cli.now(),
        )
        cli.say("cli/leave_added", leave=leave, name=cadre.name)
        return EXIT_OK

    return run_in_unit(cli, work)


def cmd_leave_list(cli: Cli, args: argparse.Namespace) -> int:
    from storage.queries.calendar import list_leave
    from storage.queries.roster import list_cadres

    async def work(session: Any, unit_id: int) -> int:
        since = None if args.all else cli.now().astimezone(cli.settings.zone).date()
        rows = await list_leave(session=session, unit_id=unit_id, since=since)
        names = {c.id: c.name for c in await list_cadres(session=session, unit_id=unit_id)}
        cli.say("cli/leave_list", rows=rows, names=names, all=args.all)
        return EXIT_OK

    return run_in_unit(cli, work)


def cmd_leave_remove(cli: Cli, args: argparse.Namespace) -> int:
    from storage.queries.calendar import remove_leave

    async def work(session: Any, unit_id: int) -> int:
        removed = await remove_leave(session=session, unit_id=unit_id, leave_id=args.id)
        if removed is None:
            cli.say("cli/leave_none", err=True, id=args.id)
            return EXIT_FAILED
        cli.say("cli/leave_removed", leave=removed)
        return EXIT_OK

    return run_in_unit(cli, work)


def cmd_calendar_import(cli: Cli, args: argparse.Namespace) -> int:
    from bot.rules.workdays import CalendarFileError, parse_calendar_file
    from storage.queries.calendar import replace_year

    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        cli.say("cli/file_missing", err=True, path=str(path))
        return EXIT_USAGE
    try:
        loaded = parse_calendar_file(text)
    except CalendarFileError as exc:
        cli.say("cli/calendar_invalid", err=True, path=str(path), problems=exc.problems)
        return EXIT_USAGE

    async def work(session: Any, unit_id: int) -> int:
        stored = await replace_year(session=session, loaded=loaded, now=cli.now())
        cli.say(
            "cli/calendar_imported",
            year=loaded.year,
            holidays=len(loaded.holidays),
            workdays=len(loaded.workdays),
            stored=stored,
        )
        return EXIT_OK

    return run_in_unit(cli, work)


def cmd_calendar_show(cli: Cli, args: argparse.Namespace) -> int:
    from bot.jobs.workdays import load_workdays

    async def work(session: Any, unit_id: int) -> int:
        workdays = await load_workdays(session=session)
        year = args.year
        holidays = sorted((d, n) for d, n in workdays.holidays.items() if d.year == year)
        worked = sorted((d, n) for d, n in workdays.workdays.items() if d.year == year)
        cli.say(
            "cli/calendar_show",
            year=year,
            known=workdays.knows(year),
            holidays=holidays,
            workdays=worked,
        )
        return EXIT_OK

    return run_in_unit(cli, work)


def register(sub: Any) -> None:
    leave = sub.add_parser("leave")
    actions = leave.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = actions.add_parser("add")
    p.add_argument("name")
    p.add_argument("first")
    p.add_argument("last")
    p.add_argument("--reason")
    p.add_argument("--department")
    p.set_defaults(func=cmd_leave_add)
    p = actions.add_parser("list")
    p.add_argument("--all", action="store_true")
    p.set_defaults(func=cmd_leave_list)
    p = actions.add_parser("remove")
    p.add_argument("id", type=int)
    p.set_defaults(func=cmd_leave_remove)

    calendar = sub.add_parser("calendar")
    actions = calendar.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = actions.add_parser("import")
    p.add_argument("file")
    p.set_defaults(func=cmd_calendar_import)
    p = actions.add_parser("show")
    p.add_argument("year", type=int)
    p.set_defaults(func=cmd_calendar_show)
