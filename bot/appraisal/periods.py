"""The appraisal calendar and the scoring engine on the database.

The rules are pure and live in :mod:`bot.rules.scoring`; this module feeds them from the database
and stores what they return. It is the one service behind the office's CLI and the scheduler:
closing March must do the same thing whether a clerk types ``kaohe periods close 2026-03`` or the
scheduler fires at 18:00 on April 5th. So every function takes the clock as an explicit ``now``
(aware), imports nothing from Telegram, and leaves the commit to the caller's unit of work.

The life of a period::

    scheduled ──open──▶ open ──close──▶ closed                       (months, halves, the year)
                                  └──▶ in_review ──publish──▶ published      (quarters)

* **Opening** freezes the scheme in force into the period (``Period.scheme`` plus a deduplicated
  :class:`~storage.models.SchemeVersion`), so later edits of the scheme file only reach later
  periods. A month opens its quarter, half-year and year with it. When the democratic evaluation
  runs in that month, every tally row is created at zero (see :mod:`storage.queries.results`).
* **Closing a month** scores every assessed cadre: the head's rating and the self-score over the
  frozen scheme's items (quantified items from the targets), the democratic score from the
  tallies, the monthly score, the office-rules score and the grade.
* **Closing a quarter** (all its months closed) averages the monthly results, applies the
  leadership's adjustments and grades under the cap on 优秀; it then waits in review. Half-years
  and the year summarise the quarters; the year also computes the year-end bonus.
* **Recompute** runs the same engine again without writing and reports every difference from
  the stored results: "recomputing gives the same figure" is checked, not assumed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.rules import scoring
from bot.rules.scheme import DEFAULT_SCHEME_PATH, Item, Scheme, SchemeError, parse_scheme
from storage.models import (
    Period,
    PeriodKind,
    PeriodState,
    Rating,
    RatingLine,
    RatingSource,
    Result,
    SchemeVersion,
    Target,
)
from storage.queries import audit
from storage.queries import periods as periods_q
from storage.queries import results as results_q
from storage.queries import schemes as schemes_q
from storage.queries import targets as targets_q

__all__ = [
    "ACTOR_SYSTEM",
    "Computed",
    "Difference",
    "Outcome",
    "PeriodStateError",
    "Transition",
    "YearReport",
    "close_period",
    "compute",
    "compute_month",
    "compute_summary",
    "create_year",
    "ensure_scheme_in_force",
    "open_period",
    "publish_quarter",
    "read_scheme",
    "recompute",
    "run_due",
    "scheme_path",
    "score_half",
    "score_month",
    "score_period",
    "score_quarter",
    "score_year",
]

ACTOR_SYSTEM = "system"

# Audit actions (entity "period" or "result").
ACTION_OPEN = "period.open"
ACTION_CLOSE = "period.close"
ACTION_PUBLISH = "period.publish"
ACTION_WINDOW = "period.window"
ACTION_RESULT = "result.update"


def _check_now(now: datetime) -> datetime:
    """The explicit clock, in UTC; a naive time would be read in the server's zone, so refuse it."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(UTC)


def _utc(value: datetime | None) -> datetime | None:
    return periods_q.as_utc(value)


def _json(value: Any) -> Any:
    """Plain JSON data exactly as the database will give it back (int keys become strings)."""
    return json.loads(json.dumps(value, ensure_ascii=False))


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


# ---------------------------------------------------------------------------------------------
# The scheme in force


def scheme_path(scheme_file: Path | None) -> Path:
    """The scheme file in force: ``SCHEME_FILE``, else ``examples/scheme.toml``.

    An empty ``SCHEME_FILE=`` in ``.env`` reaches the settings as ``Path(".")``; it means "not
    set" as well.
    """
    if scheme_file is None or scheme_file == Path():
        return DEFAULT_SCHEME_PATH
    return scheme_file


def read_scheme(scheme_file: Path | None) -> tuple[Scheme, str, Path]:
    """Read and validate the scheme in force: (scheme, its text, its path).

    Raise :class:`~bot.rules.scheme.SchemeError` with every problem: a period must never open
    under a scheme that does not validate.
    """
    path = scheme_path(scheme_file)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SchemeError([("", f"cannot read the file: {exc}")], str(path)) from None
    return parse_scheme(text, source=str(path)), text, path


async def ensure_scheme_in_force(
    *, session: AsyncSession, unit_id: int, scheme_file: Path | None
) -> tuple[SchemeVersion, Scheme]:
    """The stored version of the scheme in force (created on first use) and the scheme."""
    scheme, text, path = read_scheme(scheme_file)
    version = await schemes_q.ensure_scheme_version(
        session=session, unit_id=unit_id, scheme=scheme, source_text=text, loaded_from=str(path)
    )
    return version, scheme


def _frozen(period: Period) -> Scheme:
    scheme = schemes_q.frozen_scheme(period)
    if scheme is None:
        raise PeriodStateError(f"period {period.code} has no frozen scheme; open it first")
    return scheme


def _freeze(period: Period, version: SchemeVersion) -> None:
    period.scheme = dict(version.content)
    period.scheme_version_id = version.id


# ---------------------------------------------------------------------------------------------
# The calendar


class PeriodStateError(RuntimeError):
    """A period cannot be scored in its state (e.g. it never opened, so nothing is frozen)."""


@dataclass(frozen=True)
class _Window:
    starts_on: date
    ends_on: date
    opens_at: datetime
    closes_at: datetime
    review_ends_at: datetime | None


def _month_end(year: int, month: int) -> date:
    return (date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)) - timedelta(days=1)


def _windows(scheme: Scheme, year: int) -> dict[tuple[PeriodKind, int], _Window]:
    """Every period of a year with its window, from the scheme's monthly window (stored UTC)."""
    months = {}
    for month in range(1, 13):
        opens, closes = scheme.monthly_window.window(year, month)
        months[month] = (opens.astimezone(UTC), closes.astimezone(UTC))
    review = timedelta(days=scheme.quarterly.review_days)
    windows: dict[tuple[PeriodKind, int], _Window] = {}
    spans = [(PeriodKind.MONTH, n) for n in range(1, 13)]
    spans += [(PeriodKind.QUARTER, n) for n in range(1, 5)]
    spans += [(PeriodKind.HALF, 1), (PeriodKind.HALF, 2), (PeriodKind.YEAR, 1)]
    for kind, number in spans:
        first, last = periods_q.month_span(kind, number)
        closes = months[last][1]
        windows[(kind, number)] = _Window(
            starts_on=date(year, first, 1),
            ends_on=_month_end(year, last),
            opens_at=months[first][0],
            closes_at=closes,
            review_ends_at=closes + review if kind == PeriodKind.QUARTER else None,
        )
    return windows


def _window_of(period: Period) -> tuple[Any, ...]:
    return (
        period.starts_on,
        period.ends_on,
        _utc(period.opens_at),
        _utc(period.closes_at),
        _utc(period.review_ends_at),
    )


@dataclass
class YearReport:
    """What :func:`create_year` did, period by period."""

    year: int
    created: list[Period] = field(default_factory=list)
    updated: list[Period] = field(default_factory=list)  # scheduled, window moved by the scheme
    unchanged: list[Period] = field(default_factory=list)


async def create_year(
    *, session: AsyncSession, unit_id: int, year: int, scheme: Scheme, actor: str = ACTOR_SYSTEM
) -> YearReport:
    """Create the year's 12 months, 4 quarters, 2 halves and the year; safe to run again.

    Windows come from ``scheme`` (the scheme in force). Running it again after the scheme's
    window changed moves the windows of periods still scheduled (nothing is frozen in them yet)
    and leaves every other period alone.
    """
    report = YearReport(year=year)
    for (kind, number), window in _windows(scheme, year).items():
        period = await periods_q.get_period(
            session=session, unit_id=unit_id, kind=kind, year=year, number=number
        )
        wanted = (
            window.starts_on,
            window.ends_on,
            window.opens_at,
            window.closes_at,
            window.review_ends_at,
        )
        if period is None:
            period = Period(
                unit_id=unit_id,
                kind=kind.value,
                year=year,
                number=number,
                starts_on=window.starts_on,
                ends_on=window.ends_on,
                opens_at=window.opens_at,
                closes_at=window.closes_at,
                review_ends_at=window.review_ends_at,
                state=PeriodState.SCHEDULED.value,
            )
            session.add(period)
            report.created.append(period)
        elif period.state == PeriodState.SCHEDULED and _window_of(period) != wanted:
            old = {"opens_at": str(_utc(period.opens_at)), "closes_at": str(_utc(period.closes_at))}
            period.opens_at, period.closes_at = window.opens_at, window.closes_at
            period.review_ends_at = window.review_ends_at
            session.add(period)
            report.updated.append(period)
            audit.record(
                session=session,
                unit_id=unit_id,
                actor=actor,
                action=ACTION_WINDOW,
                entity="period",
                entity_id=period.id,
                old=old,
                new={"opens_at": str(window.opens_at), "closes_at": str(window.closes_at)},
            )
        else:
            report.unchanged.append(period)
    await session.flush()
    return report


class Outcome(StrEnum):
    """What an open / close / publish request did; the CLI words each one."""

    OPENED = "opened"
    CLOSED = "closed"
    PUBLISHED = "published"
    ALREADY_OPEN = "already_open"  # nothing changed
    ALREADY_CLOSED = "already_closed"  # nothing changed: a closed period stays closed
    ALREADY_PUBLISHED = "already_published"  # nothing changed
    NOT_OPEN = "not_open"  # closing a period that never opened: refused
    PARTS_NOT_CLOSED = "parts_not_closed"  # a summary whose months/quarters are still open: refused
    NOT_IN_REVIEW = "not_in_review"  # publishing a quarter that is not in review: refused


_CHANGED = frozenset({Outcome.OPENED, Outcome.CLOSED, Outcome.PUBLISHED})
_NO_OP = frozenset({Outcome.ALREADY_OPEN, Outcome.ALREADY_CLOSED, Outcome.ALREADY_PUBLISHED})


@dataclass
class Transition:
    """The answer to one open / close / publish request."""

    period: Period
    outcome: Outcome
    also_opened: list[Period] = field(default_factory=list)  # the month's quarter, half, year
    pending: list[Period] = field(default_factory=list)  # parts still open (PARTS_NOT_CLOSED)
    results: list[Result] = field(default_factory=list)  # stored by a close
    tallies: int = 0  # tally rows created by opening a month with a ballot

    @property
    def changed(self) -> bool:
        """Whether the request changed anything."""
        return self.outcome in _CHANGED

    @property
    def refused(self) -> bool:
        """Whether the request was refused (as opposed to done, or already done)."""
        return not self.changed and self.outcome not in _NO_OP


def _audit_state(
    session: AsyncSession,
    period: Period,
    action: str,
    old_state: str,
    actor: str,
    extra: Mapping[str, Any] | None = None,
) -> None:
    audit.record(
        session=session,
        unit_id=period.unit_id,
        actor=actor,
        action=action,
        entity="period",
        entity_id=period.id,
        old={"state": old_state},
        new={"state": period.state, **(extra or {})},
    )


async def _open_one(
    session: AsyncSession, period: Period, version: SchemeVersion, now: datetime, actor: str
) -> None:
    old_state = period.state
    _freeze(period, version)
    period.state = PeriodState.OPEN.value
    period.opened_at = now
    session.add(period)
    _audit_state(
        session, period, ACTION_OPEN, old_state, actor, {"scheme_fingerprint": version.fingerprint}
    )


async def open_period(
    *,
    session: AsyncSession,
    period: Period,
    now: datetime,
    scheme_file: Path | None,
    actor: str = ACTOR_SYSTEM,
) -> Transition:
    """Open a scheduled period: freeze the scheme in force into it and, for a month, create the
    ballot's tally rows and open its quarter, half-year and year if they are still scheduled.

    An open period is left as it is (``ALREADY_OPEN``), and a closed one is never reopened
    (``ALREADY_CLOSED``): "a closed period is closed".
    """
    now = _check_now(now)
    if period.state == PeriodState.OPEN:
        return Transition(period, Outcome.ALREADY_OPEN)
    if period.state != PeriodState.SCHEDULED:
        return Transition(period, Outcome.ALREADY_CLOSED)
    assert period.id is not None
    version, scheme = await ensure_scheme_in_force(
        session=session, unit_id=period.unit_id, scheme_file=scheme_file
    )
    transition = Transition(period, Outcome.OPENED)
    if period.kind == PeriodKind.MONTH:
        # The window follows the frozen scheme (the file may have changed since create_year).
        opens, closes = scheme.monthly_window.window(period.year, period.number)
        period.opens_at, period.closes_at = opens.astimezone(UTC), closes.astimezone(UTC)
    await _open_one(session, period, version, now, actor)
    if period.kind == PeriodKind.MONTH:
        if scheme.democratic_in_month(period.number):
            cadres = await results_q.assessed_cadres(session=session, unit_id=period.unit_id)
            transition.tallies = await results_q.create_tallies(
                session=session,
                period_id=period.id,
                ratee_ids=[c.id for c in cadres if c.id is not None],
                grades=[g.value for g in scoring.GRADE_ORDER],
            )
        for container in await periods_q.containers_of(session=session, period=period):
            if container.state == PeriodState.SCHEDULED:
                await _open_one(session, container, version, now, actor)
                transition.also_opened.append(container)
    await session.flush()
    return transition


async def _parts_to_close(session: AsyncSession, period: Period) -> list[Period]:
    """The months (of a quarter) or quarters (of a half or year) the period is made of."""
    if period.kind == PeriodKind.QUARTER:
        return await periods_q.months_of(session=session, period=period)
    return await periods_q.quarters_of(session=session, period=period)


def _expected_parts(period: Period) -> int:
    return {PeriodKind.QUARTER: 3, PeriodKind.HALF: 2, PeriodKind.YEAR: 4}.get(
        PeriodKind(period.kind), 0
    )


async def close_period(
    *,
    session: AsyncSession,
    period: Period,
    now: datetime,
    scheme_file: Path | None = None,
    actor: str = ACTOR_SYSTEM,
) -> Transition:
    """Close a period and score it.

    A month must be open. A quarter, half-year or year needs all its parts (months, or quarters)
    closed first, and is refused with the list of those still pending otherwise. A quarter goes
    to review (``in_review``, for ``quarterly.review_days`` from now); the others to ``closed``.
    Closing a closed period changes nothing (``ALREADY_CLOSED``). ``scheme_file`` is only read
    when a summary never opened (so has nothing frozen): it freezes the scheme in force then.
    """
    now = _check_now(now)
    if period.state in periods_q.CLOSED_STATES:
        return Transition(period, Outcome.ALREADY_CLOSED)
    if period.kind == PeriodKind.MONTH:
        if period.state != PeriodState.OPEN:
            return Transition(period, Outcome.NOT_OPEN)
    else:
        parts = await _parts_to_close(session, period)
        pending = [p for p in parts if p.state not in periods_q.CLOSED_STATES]
        if pending or len(parts) < _expected_parts(period):
            return Transition(period, Outcome.PARTS_NOT_CLOSED, pending=pending)
        if period.scheme is None:
            version, _ = await ensure_scheme_in_force(
                session=session, unit_id=period.unit_id, scheme_file=scheme_file
            )
            _freeze(period, version)
    results = await score_period(session=session, period=period, now=now, actor=actor)
    old_state = period.state
    period.closed_at = now
    if period.kind == PeriodKind.QUARTER:
        period.state = PeriodState.IN_REVIEW.value
        period.review_ends_at = now + timedelta(days=_frozen(period).quarterly.review_days)
    else:
        period.state = PeriodState.CLOSED.value
    session.add(period)
    _audit_state(session, period, ACTION_CLOSE, old_state, actor, {"results": len(results)})
    await session.flush()
    return Transition(period, Outcome.CLOSED, results=results)


async def publish_quarter(
    *, session: AsyncSession, period: Period, now: datetime, actor: str = ACTOR_SYSTEM
) -> Transition:
    """Publish a reviewed quarter: the appeal window (``quarterly.appeal_days``) starts now.

    Only the state changes here; sending the summary and each cadre's result is the reports'.
    """
    now = _check_now(now)
    if period.kind != PeriodKind.QUARTER or period.state not in (
        PeriodState.IN_REVIEW,
        PeriodState.PUBLISHED,
    ):
        return Transition(period, Outcome.NOT_IN_REVIEW)
    if period.state == PeriodState.PUBLISHED:
        return Transition(period, Outcome.ALREADY_PUBLISHED)
    old_state = period.state
    period.state = PeriodState.PUBLISHED.value
    period.published_at = now
    period.appeal_ends_at = now + timedelta(days=_frozen(period).quarterly.appeal_days)
    session.add(period)
    _audit_state(session, period, ACTION_PUBLISH, old_state, actor)
    await session.flush()
    return Transition(period, Outcome.PUBLISHED)


async def run_due(
    *,
    session: AsyncSession,
    unit_id: int,
    now: datetime,
    scheme_file: Path | None,
    actor: str = "scheduler",
) -> list[Transition]:
    """Open and close whatever is due at ``now``; the scheduler's one entry point.

    A month opens when its window has started and not yet ended: a month whose whole window
    passed while nobody ran the bot stays scheduled for the office to decide, rather than being
    opened and closed at once with every submission missing. Periods close when their window has
    ended, months first, so that a quarter closing at the same moment finds its months closed.
    Publication is not done here: the leadership's review decides when a quarter is published.
    """
    now = _check_now(now)
    done: list[Transition] = []
    periods = await periods_q.list_periods(session=session, unit_id=unit_id)
    for period in periods:
        opens, closes = _utc(period.opens_at), _utc(period.closes_at)
        if (
            period.kind == PeriodKind.MONTH
            and period.state == PeriodState.SCHEDULED
            and opens is not None
            and closes is not None
            and opens <= now < closes
        ):
            done.append(
                await open_period(
                    session=session, period=period, now=now, scheme_file=scheme_file, actor=actor
                )
            )
    for kind in (PeriodKind.MONTH, PeriodKind.QUARTER, PeriodKind.HALF, PeriodKind.YEAR):
        for period in periods:
            closes = _utc(period.closes_at)
            if (
                period.kind == kind
                and period.state == PeriodState.OPEN
                and closes is not None
                and closes <= now
            ):
                transition = await close_period(
                    session=session, period=period, now=now, scheme_file=scheme_file, actor=actor
                )
                if transition.changed:
                    done.append(transition)
    return done


# ---------------------------------------------------------------------------------------------
# Scoring


@dataclass(frozen=True)
class Computed:
    """One cadre's figure for a period, as it is (or would be) stored in a ``Result``."""

    cadre_id: int
    score: Decimal | None
    office_rules: Decimal | None
    grade: str | None
    flags: list[str]
    breakdown: dict[str, Any]
    inputs: dict[str, Any]
    scheme_fingerprint: str


@dataclass
class _Rated:
    """A self-score or head's rating turned into a 0-100 figure (or why it could not be)."""

    rating: scoring.WeightedRating | None
    breakdown: dict[str, Any] | None
    line_ids: list[int] = field(default_factory=list)
    target_ids: list[int] = field(default_factory=list)
    exceeded: bool = False
    problems: list[dict[str, Any]] = field(default_factory=list)


def _rate(
    rating: Rating | None,
    lines: Sequence[RatingLine],
    items: Sequence[Item],
    weights: Mapping[str, Decimal],
    targets: Mapping[str, Sequence[Target]],
) -> _Rated:
    """Score a submitted rating over the category's items of the frozen scheme.

    A judged item is the line keyed by the item; a quantified item is the points-weighted mean
    of its target lines, each min(actual / target, 1) × 100. A rating that cannot be scored (a
    missing line, a target without a figure) counts as not submitted, and says why.
    """
    if rating is None:
        return _Rated(None, None)
    rated = _Rated(None, None)
    item_scores: dict[str, Decimal] = {}
    item_details: list[dict[str, Any]] = []
    for item in items:
        if not item.quantified:
            line = next((ln for ln in lines if ln.line_key == item.key), None)
            if line is None or line.score is None:
                rated.problems.append({"item": item.key, "code": "no_score"})
                continue
            try:
                judged = scoring.judged_item_score(line.score)
            except scoring.ScoringError:
                rated.problems.append({"item": item.key, "code": "invalid", "line_id": line.id})
                continue
            assert line.id is not None
            rated.line_ids.append(line.id)
            item_scores[item.key] = judged.score
            item_details.append({"key": item.key, "line_id": line.id, **judged.as_dict()})
            continue
        item_targets = list(targets.get(item.key, ()))
        if not item_targets:
            rated.problems.append({"item": item.key, "code": "no_targets"})
            continue
        scored: dict[str, scoring.ItemScore] = {}
        points: dict[str, Decimal] = {}
        target_lines: list[dict[str, Any]] = []
        for target in item_targets:
            assert target.id is not None
            line = next((ln for ln in lines if ln.target_id == target.id), None)
            problem = None
            if target.target_value is None:
                problem = "no_target_value"
            elif line is None or line.actual is None:
                problem = "no_actual"
            if problem is not None:
                rated.problems.append({"item": item.key, "code": problem, "target": target.code})
                continue
            assert line is not None and line.actual is not None and line.id is not None
            try:
                line_score = scoring.quantified_item_score(line.actual, target.target_value)
            except scoring.ScoringError:
                rated.problems.append({"item": item.key, "code": "invalid", "target": target.code})
                continue
            rated.line_ids.append(line.id)
            rated.target_ids.append(target.id)
            rated.exceeded |= scoring.Flag.TARGET_EXCEEDED in line_score.flags
            scored[target.code] = line_score
            points[target.code] = target.points
            target_lines.append(
                {
                    "code": target.code,
                    "target_id": target.id,
                    "line_id": line.id,
                    "points": str(target.points),
                    **line_score.as_dict(),
                }
            )
        if len(scored) != len(item_targets):
            continue
        combined = scoring.weighted_rating(scored, points)
        item_scores[item.key] = combined.score
        item_details.append(
            {
                "key": item.key,
                "method": "quantified",
                "score": str(combined.score),
                "targets": target_lines,
                "weighted": combined.as_dict(),
            }
        )
    rated.breakdown = {
        "rating_id": rating.id,
        "rater_id": rating.rater_id,
        "items": item_details,
        "problems": rated.problems,
    }
    if rated.problems:
        return rated
    rated.rating = scoring.weighted_rating(item_scores, weights)
    rated.breakdown["weighted"] = rated.rating.as_dict()
    return rated


async def _month_group(session: AsyncSession, period: Period) -> list[int]:
    cadres = await results_q.assessed_cadres(session=session, unit_id=period.unit_id)
    return [c.id for c in cadres if c.id is not None]


async def _stored_group(session: AsyncSession, period: Period) -> list[int]:
    assert period.id is not None
    return [r.cadre_id for r in await results_q.results_for(session=session, period_id=period.id)]


async def compute_month(
    *,
    session: AsyncSession,
    period: Period,
    cadre_ids: Sequence[int] | None = None,
    categories: Mapping[int, str] | None = None,
) -> list[Computed]:
    """Score a month for ``cadre_ids`` (default: the stored group, else every assessed cadre).

    ``categories`` overrides a cadre's category (``recompute`` passes the stored ones, so that a
    village assigned later does not rewrite an old month). Nothing is written.
    """
    assert period.id is not None
    scheme = _frozen(period)
    fingerprint = scheme.fingerprint()
    ids = list(cadre_ids) if cadre_ids is not None else await _stored_group(session, period)
    if cadre_ids is None and not ids:
        ids = await _month_group(session, period)
    cadres = await results_q.cadres_by_id(session=session, ids=ids)
    ratings = await results_q.submitted_ratings(session=session, period_id=period.id)
    by_source = {(r.ratee_id, r.source): r for r in ratings}
    lines = await results_q.rating_lines(
        session=session, rating_ids=[r.id for r in ratings if r.id is not None]
    )
    targets: dict[int, dict[str, list[Target]]] = {}
    for target in await targets_q.list_targets(
        session=session, unit_id=period.unit_id, year=period.year, cadre_ids=ids
    ):
        targets.setdefault(target.cadre_id, {}).setdefault(target.item_key, []).append(target)
    ballot = scheme.democratic_in_month(period.number)
    tallies = await results_q.tally_counts(session=session, period_id=period.id) if ballot else {}
    records: dict[int, list[Any]] = {}
    for record in await results_q.discipline_records(session=session, period_id=period.id):
        records.setdefault(record.cadre_id, []).append(record)

    bands = scheme.grade_bands()
    computed: list[Computed] = []
    for cadre_id in ids:
        cadre = cadres.get(cadre_id)
        category = (categories or {}).get(cadre_id) or scheme.category_for(
            has_village=bool(cadre and cadre.is_village_stationed)
        )
        items = scheme.items_for(category)
        weights = scheme.weights_for(category)
        rated: dict[str, _Rated] = {}
        for source in (RatingSource.HEAD, RatingSource.SELF):
            rating = by_source.get((cadre_id, source.value))
            rating_lines = lines.get(rating.id, []) if rating and rating.id is not None else []
            rated[source.value] = _rate(
                rating, rating_lines, items, weights, targets.get(cadre_id, {})
            )
        head, self_ = rated["head"], rated["self"]

        democratic = None
        tally: dict[str, int] | None = None
        if ballot:
            counts = tallies.get(cadre_id, {})
            tally = {g.value: counts.get(g.value, 0) for g in scoring.GRADE_ORDER}
            democratic = scoring.democratic_score(tally, scheme.democratic_rules())
        monthly = scoring.monthly_score(
            head.rating,
            democratic,
            self_.rating,
            scheme.source_weights(),
            scheme.missing_policy(),
        )
        own_records = records.get(cadre_id, [])
        office = scoring.office_rules_score(
            [scoring.Deduction(points=r.deduction, key=r.violation_key) for r in own_records],
            base=scheme.office_rules.base,
        )
        flags = [f.value for f in monthly.flags]
        if not ballot:
            # No evaluation ran this month: nothing is missing, the source simply does not apply.
            flags = [f for f in flags if f != scoring.Flag.DEMOCRATIC_MISSING]
        for source, result in rated.items():
            if result.problems:
                flags.append(f"{source}_incomplete")
        if head.exceeded or self_.exceeded:
            flags.append(scoring.Flag.TARGET_EXCEEDED.value)
        if scoring.Flag.FLOORED in office.flags:
            flags.append("office_rules_floored")
        grade = None if monthly.score is None else scoring.grade(monthly.score, bands).value
        computed.append(
            Computed(
                cadre_id=cadre_id,
                score=monthly.score,
                office_rules=office.score,
                grade=grade,
                flags=_unique(flags),
                breakdown=_json(
                    {
                        "kind": period.kind,
                        "category": category,
                        "ballot": ballot,
                        "head": head.breakdown,
                        "self": self_.breakdown,
                        "democratic": None if democratic is None else democratic.as_dict(),
                        "monthly": monthly.as_dict(),
                        "office_rules": office.as_dict(),
                    }
                ),
                inputs=_json(
                    {
                        "category": category,
                        "ratings": sorted(
                            b["rating_id"] for b in (head.breakdown, self_.breakdown) if b
                        ),
                        "rating_lines": sorted(head.line_ids + self_.line_ids),
                        "targets": sorted(set(head.target_ids + self_.target_ids)),
                        "discipline": [r.id for r in own_records],
                        "tally": tally,
                    }
                ),
                scheme_fingerprint=fingerprint,
            )
        )
    return computed


def _grading(
    scores: Mapping[int, Decimal], scheme: Scheme
) -> tuple[scoring.GradeAssignment[int], dict[str, Any]]:
    assignment = scoring.assign_grades(scores, scheme.grade_bands(), scheme.excellent_cap)
    summary = {
        "graded": len(scores),
        "cap": None if assignment.cap is None else str(assignment.cap),
        "max_excellent": assignment.max_excellent,
        "eligible": len(assignment.eligible),
        "slots_for_tied": assignment.slots_for_tied,
        "tied": sorted(assignment.tied),
        "capped": sorted(assignment.capped),
    }
    return assignment, summary


async def _summary_group(
    session: AsyncSession, period: Period, part_results: Mapping[int, Mapping[int, Result]]
) -> list[int]:
    """Who a quarter/half/year grades: the stored group, else assessed cadres with a part result."""
    stored = await _stored_group(session, period)
    if stored:
        return stored
    with_results = {cid for results in part_results.values() for cid in results}
    return [cid for cid in await _month_group(session, period) if cid in with_results]


_SUMMARY_SCORE: dict[str, Callable[..., scoring.PeriodScore]] = {
    PeriodKind.QUARTER: scoring.quarterly_score,
    PeriodKind.HALF: scoring.half_year_score,
    PeriodKind.YEAR: scoring.annual_score,
}


async def compute_summary(
    *, session: AsyncSession, period: Period, cadre_ids: Sequence[int] | None = None
) -> list[Computed]:
    """Score a quarter, half-year or year from its parts' stored results; nothing is written.

    A quarter averages its months; a half-year and the year average their quarters (so the
    leadership's quarterly adjustments count). Adjustments recorded against the period itself
    are applied, grades follow the frozen scheme's bands and cap, and the year adds the
    year-end bonus.
    """
    assert period.id is not None
    scheme = _frozen(period)
    fingerprint = scheme.fingerprint()
    parts = await _parts_to_close(session, period)
    months = await periods_q.months_of(session=session, period=period)
    part_results = await results_q.results_by_period(
        session=session, period_ids=[p.id for p in parts if p.id is not None]
    )
    month_results = (
        part_results
        if period.kind == PeriodKind.QUARTER
        else await results_q.results_by_period(
            session=session, period_ids=[m.id for m in months if m.id is not None]
        )
    )
    ids = (
        list(cadre_ids)
        if cadre_ids is not None
        else await _summary_group(session, period, part_results)
    )
    adjustments: dict[int, list[Any]] = {}
    for adjustment in await results_q.score_adjustments(session=session, period_id=period.id):
        adjustments.setdefault(adjustment.cadre_id, []).append(adjustment)
    entries: dict[int, list[Any]] = {}
    if period.kind == PeriodKind.YEAR:
        for entry in await results_q.bonus_entries(
            session=session, unit_id=period.unit_id, year=period.year
        ):
            entries.setdefault(entry.cadre_id, []).append(entry)

    score_of = _SUMMARY_SCORE[period.kind]
    staged: list[
        tuple[int, scoring.PeriodScore, Decimal | None, dict[str, Any], dict[str, Any]]
    ] = []
    for cadre_id in ids:
        own_parts = [part_results.get(p.id or 0, {}).get(cadre_id) for p in parts]
        own_months = [month_results.get(m.id or 0, {}).get(cadre_id) for m in months]
        own_adjustments = adjustments.get(cadre_id, [])
        figure = score_of(
            [None if r is None else r.score for r in own_parts],
            [scoring.Adjustment(value=a.delta, reason=a.reason) for a in own_adjustments],
        )
        office_mean = scoring.office_rules_mean(
            None if r is None else r.office_rules for r in own_months
        )
        breakdown: dict[str, Any] = {
            "kind": period.kind,
            "parts": [
                {
                    "period": p.code,
                    "result_id": None if r is None else r.id,
                    "score": None if r is None or r.score is None else str(r.score),
                }
                for p, r in zip(parts, own_parts, strict=True)
            ],
            "score": figure.as_dict(),
            "office_rules_months": [
                None if r is None or r.office_rules is None else str(r.office_rules)
                for r in own_months
            ],
        }
        inputs: dict[str, Any] = {
            "part_results": [r.id for r in own_parts if r is not None],
            "month_results": [r.id for r in own_months if r is not None],
            "adjustments": [a.id for a in own_adjustments],
        }
        staged.append((cadre_id, figure, office_mean, breakdown, inputs))

    scores = {cid: fig.score for cid, fig, _, _, _ in staged if fig.score is not None}
    assignment, grading = _grading(scores, scheme)
    computed: list[Computed] = []
    for cadre_id, figure, office_mean, breakdown, inputs in staged:
        flags = [f.value for f in figure.flags]
        flags += [f.value for f in assignment.flags.get(cadre_id, ())]
        grade = assignment.grades.get(cadre_id)
        breakdown["grading"] = grading
        if period.kind == PeriodKind.YEAR:
            own_entries = entries.get(cadre_id, [])
            inputs["bonus_entries"] = [e.id for e in own_entries]
            bonus = None
            if figure.score is not None and office_mean is not None:
                bonus = scoring.year_end_bonus(
                    scheme.bonus.base,
                    office_mean,
                    figure.score,
                    scheme.bonus.office_rules_share,
                    rewards=[e.amount for e in own_entries if e.kind == "reward"],
                    deductions=[e.amount for e in own_entries if e.kind == "deduction"],
                )
                if scoring.Flag.FLOORED in bonus.flags:
                    flags.append("bonus_floored")
            breakdown["bonus"] = None if bonus is None else bonus.as_dict()
            breakdown["currency"] = scheme.bonus.currency
        computed.append(
            Computed(
                cadre_id=cadre_id,
                score=figure.score,
                office_rules=office_mean,
                grade=None if grade is None else grade.value,
                flags=_unique(flags),
                breakdown=_json(breakdown),
                inputs=_json(inputs),
                scheme_fingerprint=fingerprint,
            )
        )
    return computed


async def compute(
    *,
    session: AsyncSession,
    period: Period,
    cadre_ids: Sequence[int] | None = None,
    categories: Mapping[int, str] | None = None,
) -> list[Computed]:
    """Score any period without writing (months: :func:`compute_month`; else summaries)."""
    if period.kind == PeriodKind.MONTH:
        return await compute_month(
            session=session, period=period, cadre_ids=cadre_ids, categories=categories
        )
    return await compute_summary(session=session, period=period, cadre_ids=cadre_ids)


async def _store(
    session: AsyncSession,
    period: Period,
    computed: Sequence[Computed],
    now: datetime,
    actor: str,
) -> list[Result]:
    """Store results; a stored figure that changes is audited with its old and new values."""
    assert period.id is not None
    stored: list[Result] = []
    for item in computed:
        row, old = await results_q.save_result(
            session=session,
            unit_id=period.unit_id,
            period_id=period.id,
            cadre_id=item.cadre_id,
            score=item.score,
            office_rules=item.office_rules,
            grade=item.grade,
            flags=item.flags,
            breakdown=item.breakdown,
            inputs=item.inputs,
            scheme_fingerprint=item.scheme_fingerprint,
            computed_at=now,
        )
        if old:
            shown = ("score", "office_rules", "grade", "flags")
            audit.record(
                session=session,
                unit_id=period.unit_id,
                actor=actor,
                action=ACTION_RESULT,
                entity="result",
                entity_id=row.id,
                old=_json(
                    {k: _plain(v) for k, v in old.items() if k in shown} | {"changed": sorted(old)}
                ),
                new=_json({k: _plain(getattr(row, k)) for k in shown if k in old}),
                reason=f"rescored {period.code}",
            )
        stored.append(row)
    return stored


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


async def score_period(
    *, session: AsyncSession, period: Period, now: datetime, actor: str = ACTOR_SYSTEM
) -> list[Result]:
    """Score a period and store one result per cadre (again: results are replaced, audited).

    Closing calls this; so can the quarterly review after an adjustment. The group is the one
    already stored, else every assessed cadre (months) or every assessed cadre with a result in
    the period's parts (quarters, halves, the year).
    """
    now = _check_now(now)
    computed = await compute(session=session, period=period)
    results = await _store(session, period, computed, now, actor)
    await session.flush()
    return results


def _kind_check(period: Period, kind: PeriodKind) -> None:
    if period.kind != kind:
        raise ValueError(f"{period.code} is a {period.kind}, not a {kind.value}")


async def score_month(
    *, session: AsyncSession, period: Period, now: datetime, actor: str = ACTOR_SYSTEM
) -> list[Result]:
    """Score a month (see :func:`compute_month`) and store the results."""
    _kind_check(period, PeriodKind.MONTH)
    return await score_period(session=session, period=period, now=now, actor=actor)


async def score_quarter(
    *, session: AsyncSession, period: Period, now: datetime, actor: str = ACTOR_SYSTEM
) -> list[Result]:
    """Score a quarter from its months' results and adjustments, and store the results."""
    _kind_check(period, PeriodKind.QUARTER)
    return await score_period(session=session, period=period, now=now, actor=actor)


async def score_half(
    *, session: AsyncSession, period: Period, now: datetime, actor: str = ACTOR_SYSTEM
) -> list[Result]:
    """Score a half-year from its quarters' results, and store the results."""
    _kind_check(period, PeriodKind.HALF)
    return await score_period(session=session, period=period, now=now, actor=actor)


async def score_year(
    *, session: AsyncSession, period: Period, now: datetime, actor: str = ACTOR_SYSTEM
) -> list[Result]:
    """Score the year (annual score, year-end bonus) from the quarters, and store the results."""
    _kind_check(period, PeriodKind.YEAR)
    return await score_period(session=session, period=period, now=now, actor=actor)


# ---------------------------------------------------------------------------------------------
# Recompute


@dataclass(frozen=True)
class Difference:
    """A stored figure that the engine does not reproduce from the stored inputs."""

    cadre_id: int
    field: str  # "score", "grade", ..., or a path into the breakdown: "breakdown.monthly.score"
    stored: Any
    recomputed: Any


def _paths(prefix: str, stored: Any, fresh: Any, out: list[tuple[str, Any, Any]]) -> None:
    if isinstance(stored, dict) and isinstance(fresh, dict):
        for key in _unique([*stored, *fresh]):
            _paths(f"{prefix}.{key}", stored.get(key), fresh.get(key), out)
    elif isinstance(stored, list) and isinstance(fresh, list) and len(stored) == len(fresh):
        for index, (a, b) in enumerate(zip(stored, fresh, strict=True)):
            _paths(f"{prefix}[{index}]", a, b, out)
    elif stored != fresh:
        out.append((prefix, stored, fresh))


async def recompute(*, session: AsyncSession, period: Period) -> list[Difference]:
    """Score the period again from what the database holds and compare with the stored results.

    The same group of cadres and the stored categories are used, with the period's frozen
    scheme; nothing is written. An empty list means every stored figure, flag, breakdown and
    list of inputs is reproduced exactly.
    """
    assert period.id is not None
    stored = await results_q.results_for(session=session, period_id=period.id)
    if not stored:
        return []
    categories = {
        r.cadre_id: str(r.inputs["category"]) for r in stored if (r.inputs or {}).get("category")
    }
    fresh = {
        c.cadre_id: c
        for c in await compute(
            session=session,
            period=period,
            cadre_ids=[r.cadre_id for r in stored],
            categories=categories,
        )
    }
    differences: list[Difference] = []
    for row in stored:
        new = fresh[row.cadre_id]
        for name in ("score", "office_rules", "grade", "flags", "scheme_fingerprint"):
            if getattr(row, name) != getattr(new, name):
                differences.append(
                    Difference(row.cadre_id, name, getattr(row, name), getattr(new, name))
                )
        for name in ("breakdown", "inputs"):
            paths: list[tuple[str, Any, Any]] = []
            _paths(name, _json(getattr(row, name)), getattr(new, name), paths)
            differences.extend(Difference(row.cadre_id, p, a, b) for p, a, b in paths)
    return differences
