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

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.appraisal.progress import TaskState, month_snapshot
from bot.appraisal.results import (
    ACTOR_SYSTEM,
    check_now,
    frozen,
    parts_of,
    score_period,
)
from bot.core.clock import aware_utc
from bot.core.scheme_file import read_scheme
from bot.rules import scoring
from bot.rules.calendar import working_deadline
from bot.rules.scheme import Scheme
from bot.rules.workdays import Workdays
from storage.models import (
    Period,
    PeriodKind,
    PeriodState,
    Result,
    SchemeVersion,
)
from storage.queries import audit
from storage.queries import ballots as ballots_q
from storage.queries import periods as periods_q
from storage.queries import ratings as ratings_q
from storage.queries import results as results_q
from storage.queries import roster as roster_q
from storage.queries import schemes as schemes_q

__all__ = [
    "Outcome",
    "Transition",
    "YearReport",
    "close_period",
    "create_year",
    "ensure_scheme_in_force",
    "extend_period",
    "open_period",
    "publish_quarter",
    "reopen_period",
    "run_due",
]


# Audit actions (entity "period" or "result").
ACTION_OPEN = "period.open"
ACTION_CLOSE = "period.close"
ACTION_PUBLISH = "period.publish"
ACTION_WINDOW = "period.window"
ACTION_REOPEN = "period.reopen"
ACTION_EXTEND = "period.extend"
ACTION_AUTO_SUBMIT = "rating.auto_submit"


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else aware_utc(value)


# ---------------------------------------------------------------------------------------------
# The scheme in force


async def ensure_scheme_in_force(
    *, session: AsyncSession, unit_id: int, scheme_file: Path | None
) -> tuple[SchemeVersion, Scheme]:
    """The stored version of the scheme in force (created on first use) and the scheme."""
    scheme, text, path = read_scheme(scheme_file)
    version = await schemes_q.ensure_scheme_version(
        session=session, unit_id=unit_id, scheme=scheme, source_text=text, loaded_from=str(path)
    )
    return version, scheme


def _freeze(period: Period, version: SchemeVersion) -> None:
    period.scheme = dict(version.content)
    period.scheme_version_id = version.id


# ---------------------------------------------------------------------------------------------
# The calendar


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
    *,
    session: AsyncSession,
    unit_id: int,
    year: int,
    scheme: Scheme,
    now: datetime,
    actor: str = ACTOR_SYSTEM,
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
                at=now,
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
    NOT_A_MONTH = "not_a_month"  # quarters, halves and the year open with their months: refused
    WINDOW_PASSED = "window_passed"  # the month's deadline is past: refused without a new one
    ANOTHER_OPEN = "another_open"  # one month takes answers at a time: refused (pending: it)
    REOPENED = "reopened"  # a month closed by mistake takes answers again until the new deadline
    EXTENDED = "extended"  # an open month's deadline moved
    NOT_CLOSED = "not_closed"  # reopening a month that is not closed: refused
    PUBLISHED_ALREADY = "published_already"  # reopening a month whose quarter is published
    DEADLINE_PASSED = "deadline_passed"  # a new deadline that is not in the future: refused


_CHANGED = frozenset(
    {Outcome.OPENED, Outcome.CLOSED, Outcome.PUBLISHED, Outcome.REOPENED, Outcome.EXTENDED}
)
_NO_OP = frozenset({Outcome.ALREADY_OPEN, Outcome.ALREADY_CLOSED, Outcome.ALREADY_PUBLISHED})


@dataclass
class Transition:
    """The answer to one open / close / publish request."""

    period: Period
    outcome: Outcome
    also_opened: list[Period] = field(default_factory=list)  # the month's quarter, half, year
    pending: list[Period] = field(default_factory=list)  # parts still open (PARTS_NOT_CLOSED)
    results: list[Result] = field(default_factory=list)  # stored by a close
    # Ballot drafts never cast, deleted by closing their month: the caller then clears the old
    # row versions after the commit (storage.engine.forget_old_row_versions, SECRET_TABLES).
    drafts_discarded: int = 0
    # Complete drafts submitted on their authors' behalf by the close.
    auto_submitted: int = 0
    tallies: int = 0  # tally rows created by opening a month with a ballot
    # The deadline the window had before opening moved it off a day off (None: not moved).
    deadline_moved_from: datetime | None = None

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
    now: datetime,
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
        at=now,
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
        session,
        period,
        ACTION_OPEN,
        old_state,
        actor,
        now,
        {"scheme_fingerprint": version.fingerprint},
    )


async def open_period(
    *,
    session: AsyncSession,
    period: Period,
    now: datetime,
    scheme_file: Path | None,
    actor: str = ACTOR_SYSTEM,
    closes_at: datetime | None = None,
    workdays: Workdays | None = None,
) -> Transition:
    """Open a scheduled month: freeze the scheme in force into it, create the ballot's tally
    rows, and open its quarter, half-year and year if they are still scheduled.

    With ``workdays`` (and the scheme's ``working_days``), a deadline that falls on a weekend or
    a public holiday moves to the same hour of the next working day, before anyone is told it.

    An open period is left as it is (``ALREADY_OPEN``), and a closed one is never reopened
    (``ALREADY_CLOSED``): "a closed period is closed". Only months open (``NOT_A_MONTH``), one
    at a time (``ANOTHER_OPEN``, with the open one in ``pending``), and never with their
    deadline already past (``WINDOW_PASSED``) unless ``closes_at`` gives a new one: answers
    would all be refused as late.
    """
    now = check_now(now)
    if period.state == PeriodState.OPEN:
        return Transition(period, Outcome.ALREADY_OPEN)
    if period.state != PeriodState.SCHEDULED:
        return Transition(period, Outcome.ALREADY_CLOSED)
    if period.kind != PeriodKind.MONTH:
        return Transition(period, Outcome.NOT_A_MONTH)
    assert period.id is not None
    other = await periods_q.open_month(session=session, unit_id=period.unit_id)
    if other is not None:
        return Transition(period, Outcome.ANOTHER_OPEN, pending=[other])
    version, scheme = await ensure_scheme_in_force(
        session=session, unit_id=period.unit_id, scheme_file=scheme_file
    )
    # The window follows the frozen scheme (the file may have changed since create_year).
    opens, closes = scheme.monthly_window.window(period.year, period.number)
    deadline = aware_utc(closes_at) if closes_at is not None else closes.astimezone(UTC)
    moved_from = None
    if closes_at is None and workdays is not None:
        moved = working_deadline(deadline, scheme, workdays)
        if moved != deadline:
            moved_from, deadline = deadline, moved
    if deadline <= now:
        return Transition(period, Outcome.WINDOW_PASSED)
    transition = Transition(period, Outcome.OPENED, deadline_moved_from=moved_from)
    period.opens_at, period.closes_at = min(opens.astimezone(UTC), now), deadline
    await _open_one(session, period, version, now, actor)
    if scheme.democratic_in_month(period.number):
        cadres = await roster_q.assessed_cadres(session=session, unit_id=period.unit_id)
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
    now = check_now(now)
    if period.state in periods_q.CLOSED_STATES:
        return Transition(period, Outcome.ALREADY_CLOSED)
    if period.kind == PeriodKind.MONTH:
        if period.state != PeriodState.OPEN:
            return Transition(period, Outcome.NOT_OPEN)
    else:
        parts = await parts_of(session, period)
        # A half-year and the year are made of quarters as published (adjustments included).
        ready = (
            periods_q.CLOSED_STATES
            if period.kind == PeriodKind.QUARTER
            else periods_q.PUBLISHED_STATES
        )
        pending = [p for p in parts if p.state not in ready]
        if pending or len(parts) < _expected_parts(period):
            return Transition(period, Outcome.PARTS_NOT_CLOSED, pending=pending)
        if period.scheme is None:
            version, _ = await ensure_scheme_in_force(
                session=session, unit_id=period.unit_id, scheme_file=scheme_file
            )
            _freeze(period, version)
    submitted = 0
    if period.kind == PeriodKind.MONTH:
        submitted = await _submit_ready(session, period, now, actor)
    results = await score_period(session=session, period=period, now=now, actor=actor)
    discarded = 0
    if period.kind == PeriodKind.MONTH and period.id is not None:
        # An uncast draft is not a vote, and must not outlive the window (nor reach a backup).
        discarded = await ballots_q.discard_drafts(session=session, period_id=period.id)
    old_state = period.state
    period.closed_at = now
    if period.kind == PeriodKind.QUARTER:
        period.state = PeriodState.IN_REVIEW.value
        period.review_ends_at = now + timedelta(days=frozen(period).quarterly.review_days)
    else:
        period.state = PeriodState.CLOSED.value
    session.add(period)
    _audit_state(session, period, ACTION_CLOSE, old_state, actor, now, {"results": len(results)})
    await session.flush()
    return Transition(
        period,
        Outcome.CLOSED,
        results=results,
        drafts_discarded=discarded,
        auto_submitted=submitted,
    )


async def _submit_ready(session: AsyncSession, period: Period, now: datetime, actor: str) -> int:
    """Submit, on their behalf, every self-score and head rating of ``period`` that has every
    item answered but was never submitted; audited. Return how many."""
    snapshot = await month_snapshot(session=session, period=period)
    count = 0
    for person in snapshot.people:
        for source, state, sheet in (
            ("self", person.self_state, person.self_sheet),
            ("head", person.head_state, person.head_sheet),
        ):
            if state is not TaskState.READY or sheet is None or sheet.total is None:
                continue
            assert sheet.rating is not None and sheet.rating.id is not None
            if await ratings_q.submit_rating(
                session=session,
                rating_id=sheet.rating.id,
                total=sheet.total.score,
                now=now,
                auto=True,
            ):
                count += 1
                audit.record(
                    session=session,
                    unit_id=period.unit_id,
                    actor=actor,
                    action=ACTION_AUTO_SUBMIT,
                    entity="rating",
                    entity_id=sheet.rating.id,
                    old={"state": "draft"},
                    new={"state": "submitted", "source": source, "total": str(sheet.total.score)},
                    reason="every item answered; submitted at the deadline",
                    at=now,
                )
    await session.flush()
    return count


async def reopen_period(
    *,
    session: AsyncSession,
    period: Period,
    now: datetime,
    until: datetime,
    reason: str,
    actor: str = ACTOR_SYSTEM,
) -> Transition:
    """Open a month closed by mistake again, until ``until``; audited with ``reason``.

    Allowed while the month's quarter is not published (the review time): afterwards the
    results are public and only an appeal changes them. The stored results stay until the month
    closes again, when it is scored anew (every changed figure audited). One month at a time
    takes answers, so another open month refuses it (``ANOTHER_OPEN``).
    """
    now = check_now(now)
    until = aware_utc(until)
    if period.kind != PeriodKind.MONTH:
        return Transition(period, Outcome.NOT_A_MONTH)
    if period.state != PeriodState.CLOSED:
        return Transition(period, Outcome.NOT_CLOSED)
    if until <= now:
        return Transition(period, Outcome.DEADLINE_PASSED)
    containers = await periods_q.containers_of(session=session, period=period)
    if any(
        c.kind == PeriodKind.QUARTER and c.state in periods_q.PUBLISHED_STATES for c in containers
    ):
        return Transition(period, Outcome.PUBLISHED_ALREADY)
    other = await periods_q.open_month(session=session, unit_id=period.unit_id)
    if other is not None and other.id != period.id:
        return Transition(period, Outcome.ANOTHER_OPEN, pending=[other])
    old = {"state": period.state, "closes_at": aware_utc(period.closes_at).isoformat()}
    period.state = PeriodState.OPEN.value
    period.closes_at = until
    period.closed_at = None
    session.add(period)
    reopened: list[Period] = []
    for container in containers:
        # A quarter in review goes back to open with its month: it will close (and be scored)
        # again when its months are all closed.
        if container.state in (PeriodState.CLOSED, PeriodState.IN_REVIEW):
            container.state = PeriodState.OPEN.value
            container.closed_at = None
            session.add(container)
            reopened.append(container)
    audit.record(
        session=session,
        unit_id=period.unit_id,
        actor=actor,
        action=ACTION_REOPEN,
        entity="period",
        entity_id=period.id,
        old=old,
        new={
            "state": period.state,
            "closes_at": until.isoformat(),
            "also": [c.code for c in reopened],
        },
        reason=reason,
        at=now,
    )
    await session.flush()
    return Transition(period, Outcome.REOPENED, also_opened=reopened)


async def extend_period(
    *,
    session: AsyncSession,
    period: Period,
    now: datetime,
    until: datetime,
    reason: str,
    actor: str = ACTOR_SYSTEM,
) -> Transition:
    """Move the deadline of an open month to ``until`` (in the future); audited with ``reason``."""
    now = check_now(now)
    until = aware_utc(until)
    if period.kind != PeriodKind.MONTH:
        return Transition(period, Outcome.NOT_A_MONTH)
    if period.state != PeriodState.OPEN:
        return Transition(period, Outcome.NOT_OPEN)
    if until <= now:
        return Transition(period, Outcome.DEADLINE_PASSED)
    old = aware_utc(period.closes_at)
    period.closes_at = until
    session.add(period)
    audit.record(
        session=session,
        unit_id=period.unit_id,
        actor=actor,
        action=ACTION_EXTEND,
        entity="period",
        entity_id=period.id,
        old={"closes_at": old.isoformat()},
        new={"closes_at": until.isoformat()},
        reason=reason,
        at=now,
    )
    await session.flush()
    return Transition(period, Outcome.EXTENDED)


async def publish_quarter(
    *, session: AsyncSession, period: Period, now: datetime, actor: str = ACTOR_SYSTEM
) -> Transition:
    """Publish a reviewed quarter: the appeal window (``quarterly.appeal_days``) and the public
    notice (``quarterly.notice_days``, 公示) start now.

    Only the state changes here; sending the summary and each cadre's result is the reports'
    (:mod:`bot.reports.publish`), in the same transaction.
    """
    now = check_now(now)
    if period.kind != PeriodKind.QUARTER or period.state not in (
        PeriodState.IN_REVIEW,
        PeriodState.PUBLISHED,
        PeriodState.FINAL,
    ):
        return Transition(period, Outcome.NOT_IN_REVIEW)
    if period.state in (PeriodState.PUBLISHED, PeriodState.FINAL):
        return Transition(period, Outcome.ALREADY_PUBLISHED)
    old_state = period.state
    period.state = PeriodState.PUBLISHED.value
    period.published_at = now
    quarterly = frozen(period).quarterly
    period.appeal_ends_at = now + timedelta(days=quarterly.appeal_days)
    period.notice_ends_at = now + timedelta(days=quarterly.notice_days)
    session.add(period)
    _audit_state(session, period, ACTION_PUBLISH, old_state, actor, now)
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
    now = check_now(now)
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


# ---------------------------------------------------------------------------------------------
# Recompute
