"""The appraisal commands of ``kaohe``: ``scheme``, ``targets``, ``periods`` and ``score``.

These let the office run the appraisal calendar by hand (the scheduler calls the same service
functions in :mod:`bot.appraisal.periods` on its own clock) and check any figure from a terminal. As
in :mod:`bot.cli.main`, each command returns 0 when done, 1 when the work failed or was refused, 2
when the command, a code or the scheme file is wrong; every text comes from
``templates/<lang>/cli/``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.cli.main import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Abort, Cli, run_in_unit, say_issues
from bot.core.scheme_file import load_scheme
from bot.rules.numbers import exact
from bot.rules.scheme import Scheme, SchemeError
from bot.rules.secrecy import public_breakdown, public_inputs

__all__ = ["register"]


def _local(cli: Cli) -> Callable[[datetime | None], str]:
    """A template helper: a stored time in the unit's time zone, to the minute."""
    from bot.core.clock import aware_utc

    def show(value: datetime | None) -> str:
        aware = None if value is None else aware_utc(value)
        return (
            "" if aware is None else aware.astimezone(cli.settings.zone).strftime("%Y-%m-%d %H:%M")
        )

    return show


def _scheme_errors(cli: Cli, exc: SchemeError, *, err: bool = True) -> None:
    cli.say("cli/scheme_invalid", err=err, source=exc.source, problems=exc.problems)


def _scheme_context(scheme: Scheme) -> dict[str, Any]:
    return {
        "scheme": scheme,
        "categories": [(c, scheme.items_for(c)) for c in scheme.categories],
        "fingerprint": scheme.fingerprint(),
    }


# --- scheme ------------------------------------------------------------------------------------


def cmd_scheme_check(cli: Cli, args: argparse.Namespace) -> int:
    try:
        scheme = load_scheme(Path(args.file))
    except SchemeError as exc:
        _scheme_errors(cli, exc, err=False)
        return EXIT_USAGE
    cli.say("cli/scheme_valid", path=args.file, **_scheme_context(scheme))
    return EXIT_OK


def cmd_scheme_show(cli: Cli, args: argparse.Namespace) -> int:
    from bot.core.scheme_file import read_scheme

    if args.period is None:
        try:
            scheme, _, path = read_scheme(cli.settings.scheme_file)
        except SchemeError as exc:
            _scheme_errors(cli, exc)
            return EXIT_USAGE
        cli.say("cli/scheme_show", source=str(path), period=None, **_scheme_context(scheme))
        return EXIT_OK

    from storage.queries.schemes import scheme_of

    async def work(session: Any, unit_id: int) -> int:
        period = await _find_period(cli, session, unit_id, args.period)
        if period.scheme is None:
            cli.say("cli/scheme_not_frozen", err=True, period=period.code)
            return EXIT_FAILED
        scheme = scheme_of(period)
        cli.say("cli/scheme_show", source=None, period=period.code, **_scheme_context(scheme))
        return EXIT_OK

    return run_in_unit(cli, work)


# --- targets -----------------------------------------------------------------------------------


def _issues(cli: Cli, errors: Any) -> None:
    say_issues(cli, errors, issue="targets/issue", nothing="cli/targets_nothing_imported")


def cmd_targets_import(cli: Cli, args: argparse.Namespace) -> int:
    from bot.core.scheme_file import read_scheme
    from bot.rules.targets import TargetFileError
    from bot.sheets.targets import read_targets
    from storage.queries.targets import TargetImportError, import_targets

    path = Path(args.file)
    if not path.exists():
        cli.say("cli/file_missing", err=True, path=str(path))
        return EXIT_USAGE
    try:
        rows = read_targets(path)
    except TargetFileError as exc:
        _issues(cli, exc.errors)
        return EXIT_FAILED
    try:
        scheme, _, _ = read_scheme(cli.settings.scheme_file)
    except SchemeError as exc:
        _scheme_errors(cli, exc)
        return EXIT_USAGE
    year = args.year or cli.now().astimezone(cli.settings.zone).year

    async def work(session: Any, unit_id: int) -> int:
        try:
            report = await import_targets(
                session=session,
                unit_id=unit_id,
                year=year,
                rows=rows,
                scheme=scheme,
                actor="cli",
                now=cli.now(),
            )
        except TargetImportError as exc:
            _issues(cli, exc.errors)
            raise Abort from exc
        cli.say("cli/targets_report", report=report)
        return EXIT_OK

    return run_in_unit(cli, work)


def cmd_targets_list(cli: Cli, args: argparse.Namespace) -> int:
    from bot.core.scheme_file import default_scheme, read_scheme
    from storage.queries.results import cadres_by_id
    from storage.queries.roster import departments, find_cadres_by_name, list_cadres
    from storage.queries.targets import list_targets

    year = args.year or cli.now().astimezone(cli.settings.zone).year
    try:
        scheme, _, _ = read_scheme(cli.settings.scheme_file)
    except SchemeError:
        scheme = default_scheme()  # only titles are needed here; `scheme check` explains
    titles: dict[str, str] = {}
    for category in scheme.categories:
        for item in scheme.items_for(category):
            titles.setdefault(item.key, item.title(cli.lang))

    async def work(session: Any, unit_id: int) -> int:
        wanted = None
        if args.name:
            found = await find_cadres_by_name(
                session=session, unit_id=unit_id, name=args.name, active_only=False
            )
            if not found:
                cli.say("cli/targets_unknown", err=True, name=args.name)
                return EXIT_FAILED
            wanted = [c.id for c in found if c.id is not None]
        targets = await list_targets(session=session, unit_id=unit_id, year=year, cadre_ids=wanted)
        people = await cadres_by_id(session=session, ids={t.cadre_id for t in targets})
        names = {d.id: d.name for d in await departments(session=session, unit_id=unit_id)}
        roster = await list_cadres(session=session, unit_id=unit_id, active_only=False)
        order = {c.id: index for index, c in enumerate(roster)}
        items = list(titles)
        targets.sort(
            key=lambda t: (
                order.get(t.cadre_id, len(order)),
                items.index(t.item_key) if t.item_key in items else len(items),
                t.code,
            )
        )
        groups: dict[int, list[Any]] = {}
        for target in targets:
            groups.setdefault(target.cadre_id, []).append(target)
        cli.say(
            "cli/targets_list",
            year=year,
            groups=[
                {
                    "cadre": people[cid],
                    "department": names.get(people[cid].department_id, ""),
                    "targets": rows,
                }
                for cid, rows in groups.items()
            ],
            titles=titles,
        )
        return EXIT_OK

    return run_in_unit(cli, work)


# --- periods -----------------------------------------------------------------------------------


async def _find_period(cli: Cli, session: Any, unit_id: int, code: str) -> Any:
    """The period a code names, or print why there is none and abort."""
    from storage.queries.periods import PeriodCodeError, find_period

    try:
        period = await find_period(session=session, unit_id=unit_id, code=code)
    except PeriodCodeError:
        cli.say("cli/periods_bad_code", err=True, code=code)
        raise Abort(EXIT_USAGE) from None
    if period is None:
        cli.say("cli/periods_unknown", err=True, code=code, year=code.strip()[:4])
        raise Abort(EXIT_FAILED)
    return period


def cmd_periods_list(cli: Cli, args: argparse.Namespace) -> int:
    from bot.core.clock import aware_utc
    from bot.jobs.plan import planned_events
    from bot.jobs.workdays import load_workdays, unknown_years
    from storage.queries.periods import list_periods
    from storage.queries.schemes import list_scheme_versions

    async def work(session: Any, unit_id: int) -> int:
        periods = await list_periods(session=session, unit_id=unit_id, year=args.year)
        versions = {
            v.id: v.fingerprint
            for v in await list_scheme_versions(session=session, unit_id=unit_id)
        }
        events = await planned_events(session=session, unit_id=unit_id)
        nxt: dict[int, Any] = {}
        for event in events:
            nxt.setdefault(event.period_id, event)
        workdays = await load_workdays(session=session)
        zone = cli.settings.zone
        deadlines = [e.due for e in events] + [p.closes_at for p in periods if p.state == "open"]
        unknown = unknown_years(
            workdays, *(aware_utc(d).astimezone(zone).date() for d in deadlines)
        )
        cli.say(
            "cli/periods_list",
            periods=periods,
            versions=versions,
            local=_local(cli),
            nxt=nxt,
            unknown=unknown,
            now=cli.now(),
        )
        return EXIT_OK

    return run_in_unit(cli, work)


def cmd_periods_create(cli: Cli, args: argparse.Namespace) -> int:
    from bot.appraisal.periods import create_year
    from bot.core.scheme_file import read_scheme

    try:
        scheme, _, path = read_scheme(cli.settings.scheme_file)
    except SchemeError as exc:
        _scheme_errors(cli, exc)
        return EXIT_USAGE

    async def work(session: Any, unit_id: int) -> int:
        report = await create_year(
            session=session,
            unit_id=unit_id,
            year=args.year,
            scheme=scheme,
            now=cli.now(),
            actor="cli",
        )
        cli.say("cli/periods_created", report=report, source=str(path), local=_local(cli))
        return EXIT_OK

    return run_in_unit(cli, work)


def _transition_exit(transition: Any) -> int:
    return EXIT_FAILED if transition.refused else EXIT_OK


def _grade_counts(results: list[Any]) -> dict[str, int]:
    return dict(Counter(r.grade for r in results if r.grade))


_MOMENT = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2}))?$")


def _moment(cli: Cli, text: str | None) -> datetime | None:
    """A deadline typed by the clerk (``2026-12-10`` or ``2026-12-10 18:00``, the town's
    time; a day alone means 18:00); abort with a usage message when it is not one."""
    if text is None:
        return None
    match = _MOMENT.match(text.strip())
    try:
        if match is None:
            raise ValueError(text)
        year, month, day, hour, minute = (int(g) if g else None for g in match.groups())
        assert year is not None and month is not None and day is not None
        return datetime(year, month, day, hour or 18, minute or 0, tzinfo=cli.settings.zone)
    except ValueError:
        cli.say("cli/moment_bad", err=True, text=text)
        raise Abort(EXIT_USAGE) from None


def cmd_periods_open(cli: Cli, args: argparse.Namespace) -> int:
    from bot.appraisal.periods import open_period
    from bot.jobs.workdays import load_workdays

    async def work(session: Any, unit_id: int) -> int:
        period = await _find_period(cli, session, unit_id, args.period)
        try:
            transition = await open_period(
                session=session,
                period=period,
                now=cli.now(),
                scheme_file=cli.settings.scheme_file,
                actor="cli",
                closes_at=_moment(cli, args.until),
                workdays=await load_workdays(session=session),
            )
        except SchemeError as exc:
            _scheme_errors(cli, exc)
            raise Abort(EXIT_USAGE) from exc
        cli.say(
            "cli/periods_transition",
            t=transition,
            command="open",
            grades={},
            local=_local(cli),
        )
        return _transition_exit(transition)

    return run_in_unit(cli, work)


def cmd_periods_reopen(cli: Cli, args: argparse.Namespace) -> int:
    from bot.appraisal.periods import reopen_period

    async def work(session: Any, unit_id: int) -> int:
        period = await _find_period(cli, session, unit_id, args.period)
        until = _moment(cli, args.until)
        assert until is not None
        transition = await reopen_period(
            session=session,
            period=period,
            now=cli.now(),
            until=until,
            reason=args.reason,
            actor="cli",
        )
        cli.say(
            "cli/periods_transition",
            t=transition,
            command="reopen",
            grades={},
            local=_local(cli),
        )
        return _transition_exit(transition)

    return run_in_unit(cli, work)


def cmd_periods_extend(cli: Cli, args: argparse.Namespace) -> int:
    from bot.appraisal.periods import extend_period

    async def work(session: Any, unit_id: int) -> int:
        period = await _find_period(cli, session, unit_id, args.period)
        until = _moment(cli, args.until)
        assert until is not None
        transition = await extend_period(
            session=session,
            period=period,
            now=cli.now(),
            until=until,
            reason=args.reason,
            actor="cli",
        )
        cli.say(
            "cli/periods_transition",
            t=transition,
            command="extend",
            grades={},
            local=_local(cli),
        )
        return _transition_exit(transition)

    return run_in_unit(cli, work)


def cmd_periods_close(cli: Cli, args: argparse.Namespace) -> int:
    from bot.appraisal.month import is_open_at
    from bot.appraisal.periods import close_period
    from bot.appraisal.progress import month_snapshot

    async def work(session: Any, unit_id: int) -> int:
        period = await _find_period(cli, session, unit_id, args.period)
        if period.kind == "month" and is_open_at(period, cli.now()) and not args.force:
            # Before the deadline a close scores everyone still missing 0: say who, and ask.
            snapshot = await month_snapshot(session=session, period=period)
            cli.say("cli/periods_close_early", period=period, s=snapshot, local=_local(cli))
            raise Abort(EXIT_FAILED)
        try:
            transition = await close_period(
                session=session,
                period=period,
                now=cli.now(),
                scheme_file=cli.settings.scheme_file,
                actor="cli",
            )
        except SchemeError as exc:
            _scheme_errors(cli, exc)
            raise Abort(EXIT_USAGE) from exc
        cli.say(
            "cli/periods_transition",
            t=transition,
            command="close",
            grades=_grade_counts(transition.results),
            local=_local(cli),
        )
        return _transition_exit(transition)

    return run_in_unit(cli, work)


# --- score -------------------------------------------------------------------------------------


def _decimal_text(value: Any) -> str | None:
    return None if value is None else str(exact(value))


def cmd_score_show(cli: Cli, args: argparse.Namespace) -> int:
    from bot.core.clock import aware_utc
    from storage.queries.results import cadres_by_id, results_for
    from storage.queries.roster import departments, list_cadres
    from storage.queries.schemes import scheme_of

    async def work(session: Any, unit_id: int) -> int:
        period = await _find_period(cli, session, unit_id, args.period)
        results = await results_for(session=session, period_id=period.id)
        people = await cadres_by_id(session=session, ids=[r.cadre_id for r in results])
        names = {d.id: d.name for d in await departments(session=session, unit_id=unit_id)}
        rows: list[dict[str, Any]] = [
            {
                "result": r,
                "cadre": people[r.cadre_id],
                "department": names.get(people[r.cadre_id].department_id, ""),
                "breakdown": public_breakdown(r.breakdown),
                # Whom this person, as a rater, did not rate (the flag owes_ratings says so).
                "owes": [
                    people[i].name if i in people else str(i)
                    for i in (r.breakdown or {}).get("owes", [])
                ],
            }
            for r in results
        ]
        if args.json:
            document = {
                "period": period.code,
                "kind": period.kind,
                "state": period.state,
                "scheme_fingerprint": (results[0].scheme_fingerprint if results else None),
                "results": [
                    {
                        "cadre_id": row["result"].cadre_id,
                        "name": row["cadre"].name,
                        "department": row["department"],
                        "score": _decimal_text(row["result"].score),
                        "office_rules": _decimal_text(row["result"].office_rules),
                        "grade": row["result"].grade,
                        "flags": row["result"].flags,
                        "owes": row["owes"],
                        "breakdown": public_breakdown(row["result"].breakdown),
                        "inputs": public_inputs(row["result"].inputs),
                        "computed_at": aware_utc(row["result"].computed_at).isoformat(),
                    }
                    for row in rows
                ],
            }
            sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
            return EXIT_OK
        scheme = scheme_of(period) if period.scheme is not None else None
        roster = await list_cadres(session=session, unit_id=unit_id, active_only=False)
        order = {c.id: index for index, c in enumerate(roster)}
        rows.sort(key=lambda row: order.get(row["cadre"].id, len(order)))
        violations: dict[str, str] = {}
        titles: dict[str, str] = {}
        if scheme is not None:
            violations = {v.key: v.title(cli.lang) for v in scheme.violations}
            for category in scheme.categories:
                for item in scheme.items_for(category):
                    titles.setdefault(item.key, item.title(cli.lang))
        cli.say(
            "cli/score_show",
            period=period,
            rows=rows,
            violations=violations,
            titles=titles,
        )
        return EXIT_OK

    return run_in_unit(cli, work)


def cmd_score_recompute(cli: Cli, args: argparse.Namespace) -> int:
    from bot.appraisal.results import recompute
    from storage.queries.results import cadres_by_id, results_for

    async def work(session: Any, unit_id: int) -> int:
        period = await _find_period(cli, session, unit_id, args.period)
        stored = await results_for(session=session, period_id=period.id)
        differences = await recompute(session=session, period=period)
        people = await cadres_by_id(session=session, ids={r.cadre_id for r in stored})
        cli.say(
            "cli/score_recompute",
            period=period.code,
            count=len(stored),
            differences=differences,
            names={cid: c.name for cid, c in people.items()},
        )
        return EXIT_FAILED if differences else EXIT_OK

    return run_in_unit(cli, work)


# --- parser ------------------------------------------------------------------------------------


def register(sub: Any) -> None:
    """Add the ``scheme``, ``targets``, ``periods`` and ``score`` commands to ``kaohe``."""
    scheme = sub.add_parser("scheme")
    actions = scheme.add_subparsers(dest="scheme", required=True, metavar="ACTION")
    p = actions.add_parser("check")
    p.add_argument("file")
    p.set_defaults(func=cmd_scheme_check)
    p = actions.add_parser("show")
    p.add_argument("--period", metavar="PERIOD")
    p.set_defaults(func=cmd_scheme_show)

    targets = sub.add_parser("targets")
    actions = targets.add_subparsers(dest="targets", required=True, metavar="ACTION")
    p = actions.add_parser("import")
    p.add_argument("file")
    p.add_argument("--year", type=int)
    p.set_defaults(func=cmd_targets_import)
    p = actions.add_parser("list")
    p.add_argument("name", nargs="?", metavar="NAME")
    p.add_argument("--year", type=int)
    p.set_defaults(func=cmd_targets_list)

    periods = sub.add_parser("periods")
    actions = periods.add_subparsers(dest="periods", required=True, metavar="ACTION")
    p = actions.add_parser("list")
    p.add_argument("--year", type=int)
    p.set_defaults(func=cmd_periods_list)
    p = actions.add_parser("create")
    p.add_argument("year", type=int)
    p.set_defaults(func=cmd_periods_create)
    p = actions.add_parser("open")
    p.add_argument("period", metavar="PERIOD")
    p.add_argument("--until", metavar="DEADLINE")
    p.set_defaults(func=cmd_periods_open)
    p = actions.add_parser("close")
    p.add_argument("period", metavar="PERIOD")
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=cmd_periods_close)
    p = actions.add_parser("reopen")
    p.add_argument("period", metavar="PERIOD")
    p.add_argument("--until", metavar="DEADLINE", required=True)
    p.add_argument("--reason", required=True)
    p.set_defaults(func=cmd_periods_reopen)
    p = actions.add_parser("extend")
    p.add_argument("period", metavar="PERIOD")
    p.add_argument("--until", metavar="DEADLINE", required=True)
    p.add_argument("--reason", required=True)
    p.set_defaults(func=cmd_periods_extend)

    score = sub.add_parser("score")
    actions = score.add_subparsers(dest="score", required=True, metavar="ACTION")
    p = actions.add_parser("show")
    p.add_argument("period", metavar="PERIOD")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_score_show)
    p = actions.add_parser("recompute")
    p.add_argument("period", metavar="PERIOD")
    p.set_defaults(func=cmd_score_recompute)
