"""The report commands of ``kaohe``: ``report`` (a period's summary and files) and ``bonus`` (the
office's bonus bases).

``kaohe report quarter 2026-Q1`` prints the summary the leadership chat gets (the same templates,
its HTML taken out for the terminal); ``--xlsx FILE`` and ``--png FILE`` write the sheet and the
chart; ``--post`` queues the summary, the chart and the sheet for the leadership chat in the
outbox, where the running bot's sender picks them up. A second ``--post`` of the same period
queues nothing (each message is keyed by the period, the chat and its part) unless ``--again``.
``report half`` and ``report year`` do the same for a half-year and the year; ``report bonus 2026
--xlsx FILE`` writes the year-end bonus sheet. A period whose report is not out (a quarter not
published, a half-year or year not closed) is refused with its state.

``kaohe bonus import FILE [--year Y]`` stores each cadre's bonus base (奖金基数) for the year:
all rows or none, every problem named by its row and column (exit 2). A year already scored is
not rewritten unless ``--force``, which scores the year again so that the stored bonuses and
the bonus sheet follow. ``kaohe bonus list`` prints each cadre's base, or the scheme's default.
"""

from __future__ import annotations

import argparse
import html
import re
from pathlib import Path
from typing import Any

from bot.cli.main import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Abort, Cli, run_in_unit, say_issues

__all__ = ["plain_text", "register"]


# --- the terminal's text ---------------------------------------------------------------------

_TAG = re.compile(r"</?[a-zA-Z][^<>]*>")


def plain_text(message: str) -> str:
    """A message in Telegram's HTML as a terminal shows it: the tags dropped, the entities
    (``&lt;`` of a name someone typed) turned back into their characters."""
    return html.unescape(_TAG.sub("", message))


def _year(cli: Cli, args: argparse.Namespace) -> int:
    """``--year``, else the current year on the CLI's clock in the town's time zone."""
    return int(args.year or cli.now().astimezone(cli.settings.zone).year)


# --- bonus ------------------------------------------------------------------------------------


def _issues(cli: Cli, errors: Any) -> None:
    say_issues(cli, errors, issue="bonus/issue", nothing="cli/bonus_nothing_imported")


def cmd_bonus_import(cli: Cli, args: argparse.Namespace) -> int:
    from bot.appraisal.bonus import ImportOutcome, import_bases
    from bot.rules.bonus import BonusFileError
    from bot.sheets.bonus import read_bonus
    from storage.queries.bonus import BonusImportError

    path = Path(args.file)
    if not path.exists():
        cli.say("cli/file_missing", err=True, path=str(path))
        return EXIT_USAGE
    try:
        rows = read_bonus(path)
    except BonusFileError as exc:
        _issues(cli, exc.errors)
        return EXIT_USAGE
    year = _year(cli, args)

    async def work(session: Any, unit_id: int) -> int:
        try:
            report = await import_bases(
                session=session,
                unit_id=unit_id,
                year=year,
                rows=rows,
                source=path.name,
                now=cli.now(),
                force=args.force,
                actor="cli",
            )
        except BonusImportError as exc:
            _issues(cli, exc.errors)
            raise Abort(EXIT_USAGE) from exc
        refused = report.outcome is ImportOutcome.YEAR_CLOSED
        cli.say("cli/bonus_imported", err=refused, report=report, path=str(path))
        return EXIT_FAILED if refused else EXIT_OK

    return run_in_unit(cli, work)


def _default_base(cli: Cli, period: Any) -> Any:
    """The scheme's bonus table for the year: the one frozen with the year, else the scheme in
    force; None when neither can be read (``kaohe scheme check`` explains)."""
    from bot.core.scheme_file import read_scheme
    from bot.rules.scheme import SchemeError
    from storage.queries.schemes import scheme_of

    if period is not None and period.scheme is not None:
        return scheme_of(period).bonus
    try:
        scheme, _, _ = read_scheme(cli.settings.scheme_file)
    except SchemeError:
        return None
    return scheme.bonus


def cmd_bonus_list(cli: Cli, args: argparse.Namespace) -> int:
    from bot.rules.raters import is_assessed
    from storage.models import PeriodKind
    from storage.queries.periods import get_period
    from storage.queries.reviews import bonus_bases
    from storage.queries.roster import departments, list_cadres

    year = _year(cli, args)

    async def work(session: Any, unit_id: int) -> int:
        bases = await bonus_bases(session=session, unit_id=unit_id, year=year)
        names = {d.id: d.name for d in await departments(session=session, unit_id=unit_id)}
        people = [
            c
            for c in await list_cadres(session=session, unit_id=unit_id, active_only=False)
            if is_assessed(c) or c.id in bases
        ]
        period = await get_period(
            session=session, unit_id=unit_id, kind=PeriodKind.YEAR, year=year, number=1
        )
        cli.say(
            "cli/bonus_list",
            year=year,
            rows=[
                {
                    "cadre": c,
                    "department": names.get(c.department_id, ""),
                    "base": bases.get(c.id or 0),
                }
                for c in people
            ],
            imported=len(bases),
            bonus=_default_base(cli, period),
        )
        return EXIT_OK

    return run_in_unit(cli, work)


# --- report ----------------------------------------------------------------------------------


def _write(cli: Cli, path: str, data: bytes) -> None:
    """Write a file the clerk asked for; abort with the reason when it cannot be written."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    except OSError as exc:
        cli.say("cli/report_unwritable", err=True, path=path, reason=exc.strerror or str(exc))
        raise Abort(EXIT_FAILED) from exc


async def _reported_period(cli: Cli, session: Any, unit_id: int, code: str, kind: str) -> Any:
    """The period ``code`` names, of ``kind``, with its report out; else say why and abort."""
    from storage.queries.periods import PeriodCodeError, find_period, parse_period_code, reported

    try:
        named, year, _ = parse_period_code(code)
    except PeriodCodeError:
        cli.say("cli/periods_bad_code", err=True, code=code)
        raise Abort(EXIT_USAGE) from None
    if named != kind:
        cli.say("cli/report_wrong_kind", err=True, code=code, kind=kind, named=str(named))
        raise Abort(EXIT_USAGE)
    period = await find_period(session=session, unit_id=unit_id, code=code)
    if period is None:
        cli.say("cli/periods_unknown", err=True, code=code, year=year)
        raise Abort(EXIT_FAILED)
    if not reported(period):
        cli.say("cli/report_not_out", err=True, period=period)
        raise Abort(EXIT_FAILED)
    return period


def _report_command(kind: str) -> Any:
    def command(cli: Cli, args: argparse.Namespace) -> int:
        return _run_report(cli, args, kind)

    return command


def _run_report(cli: Cli, args: argparse.Namespace, kind: str) -> int:
    from bot.reports import workbook
    from bot.reports.build import period_report
    from bot.reports.messages import summary_messages

    texts, lang = cli.texts, cli.lang

    async def work(session: Any, unit_id: int) -> int:
        period = await _reported_period(cli, session, unit_id, args.period, kind)
        report = await period_report(
            session=session,
            period=period,
            unit_name=cli.settings.unit_name,
            zone=cli.settings.zone,
        )
        post = args.post or args.again
        picture = None
        if args.png or post:
            from bot.reports import chart  # matplotlib loads only when a chart is asked for

            picture = chart.period_chart(report, texts, lang)
            if picture is None and args.png:
                cli.say("cli/report_no_chart", err=True)
                raise Abort(EXIT_FAILED)
        sheet = workbook.period_workbook(report, texts, lang) if args.xlsx or post else None
        posted = None
        if post:
            posted = await _post(
                cli, session, unit_id, period, report, picture, sheet, again=args.again
            )
        messages = summary_messages(report, texts, lang, chart=False, sheet=False)
        print("\n\n".join(plain_text(m) for m in messages), flush=True)
        written = []
        if args.xlsx and sheet is not None:
            _write(cli, args.xlsx, sheet)
            written.append(args.xlsx)
        if args.png and picture is not None:
            _write(cli, args.png, picture)
            written.append(args.png)
        if written or posted:
            cli.say("cli/report_done", report=report, written=written, posted=posted)
        return EXIT_OK

    return run_in_unit(cli, work)


async def _post(
    cli: Cli,
    session: Any,
    unit_id: int,
    period: Any,
    report: Any,
    picture: bytes | None,
    sheet: bytes | None,
    *,
    again: bool,
) -> dict[str, Any]:
    """Queue the summary, the chart and the sheet for the leadership chat; audited. Each is
    keyed by the period, the chat and its part, so a second post queues nothing (``--again``
    names a new post by the moment it is made)."""
    from bot.reports.messages import caption, sheet_filename, summary_messages
    from storage.queries import audit
    from storage.queries.outbox import enqueue, event_states
    from storage.queries.roster import get_unit

    unit = await get_unit(session=session, unit_id=unit_id)
    # Bound in the group with /bind_leadership, else LEADERSHIP_CHAT_ID (which the bot stores
    # at its next start).
    chat_id = (unit.leadership_chat_id if unit else None) or cli.settings.leadership_chat_id
    if not chat_id:
        cli.say("cli/report_unbound", err=True, report=report)
        raise Abort(EXIT_FAILED)
    texts, lang, now = cli.texts, cli.lang, cli.now()
    event = f"cli.report:{report.code}"
    earlier = await event_states(session=session, unit_id=unit_id, event=event)
    if again:
        event = f"{event}:{now.strftime('%Y%m%dT%H%M%S%f')}"
    parts: list[dict[str, Any]] = [
        {"kind": "summary", "suffix": f":{index}", "text": text}
        for index, text in enumerate(
            summary_messages(
                report, texts, lang, chart=picture is not None, sheet=sheet is not None
            )
        )
    ]
    if picture is not None:
        parts.append(
            {
                "kind": "chart",
                "text": caption(texts, lang, "reports/chart_caption", report=report),
                "media": "photo",
                "payload": picture,
                "filename": f"{report.code}.png",
            }
        )
    if sheet is not None:
        parts.append(
            {
                "kind": "sheet",
                "text": caption(
                    texts, lang, "reports/sheet_caption", report=report, corrected=False
                ),
                "media": "document",
                "payload": sheet,
                "filename": sheet_filename(texts, lang, report),
            }
        )
    queued = 0
    for part in parts:
        suffix = part.pop("suffix", "")
        queued += await enqueue(
            session=session,
            unit_id=unit_id,
            key=f"{event}:{part['kind']}:{chat_id}{suffix}",
            event=event,
            chat_id=chat_id,
            period_id=period.id,
            now=now,
            **part,
        )
    if queued:
        audit.record(
            session=session,
            unit_id=unit_id,
            actor="cli",
            action="report.post",
            entity="period",
            entity_id=period.id,
            new={"chat_id": chat_id, "messages": queued, "again": again},
            at=now,
        )
    return {"queued": queued, "earlier": dict(earlier), "again": again}


def cmd_report_bonus(cli: Cli, args: argparse.Namespace) -> int:
    from bot.reports import workbook
    from bot.reports.build import period_report

    async def work(session: Any, unit_id: int) -> int:
        period = await _reported_period(cli, session, unit_id, args.year, "year")
        report = await period_report(
            session=session,
            period=period,
            unit_name=cli.settings.unit_name,
            zone=cli.settings.zone,
        )
        _write(cli, args.xlsx, workbook.bonus_workbook(report, cli.texts, cli.lang))
        cli.say("cli/report_bonus", report=report, path=args.xlsx)
        return EXIT_OK

    return run_in_unit(cli, work)


# --- parser ----------------------------------------------------------------------------------


def register(sub: Any) -> None:
    """Add the ``bonus`` and ``report`` commands to ``kaohe`` (their help: ``cli/help.toml``)."""
    bonus = sub.add_parser("bonus")
    actions = bonus.add_subparsers(dest="bonus", required=True, metavar="ACTION")
    p = actions.add_parser("import")
    p.add_argument("file")
    p.add_argument("--year", type=int)
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=cmd_bonus_import)
    p = actions.add_parser("list")
    p.add_argument("--year", type=int)
    p.set_defaults(func=cmd_bonus_list)

    report = sub.add_parser("report")
    actions = report.add_subparsers(dest="report", required=True, metavar="ACTION")
    for kind, name in (("quarter", "quarter"), ("half", "half"), ("year", "year")):
        p = actions.add_parser(name)
        p.add_argument("period", metavar="PERIOD")
        p.add_argument("--xlsx", metavar="FILE")
        p.add_argument("--png", metavar="FILE")
        p.add_argument("--post", action="store_true")
        p.add_argument("--again", action="store_true")
        p.set_defaults(func=_report_command(kind))
    p = actions.add_parser("bonus")
    p.add_argument("year", metavar="YEAR")
    p.add_argument("--xlsx", metavar="FILE", required=True)
    p.set_defaults(func=cmd_report_bonus)
