"""The work of each calendar event, done in one transaction with its claim marked done.

Why one transaction: the period's change (opened, closed, published) and every message it
queues commit together, so a process that dies half-way leaves nothing half-done: the claim stays
``running``, its lease runs out, and the event is done again from the start (each step is safe to
repeat: an open month is left open, a queued message is not queued twice). A reminder whose
successor is due as well (the bot was down across both) is superseded rather than sent: people
get the latest word, once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.appraisal import periods as appraisal
from bot.appraisal import review
from bot.appraisal.progress import month_snapshot
from bot.core.clock import aware_utc
from bot.core.services import Services
from bot.jobs import buttons, reports
from bot.jobs.notices import Notices, on_leave_at
from bot.jobs.workdays import load_workdays, unknown_years
from bot.rules.calendar import Event, EventKind, events_of
from bot.rules.workdays import Workdays
from storage.models import AuditLog, Period, PeriodKind, PeriodState
from storage.queries import calendar as calendar_q
from storage.queries import periods as periods_q
from storage.queries.schemes import scheme_of

__all__ = ["EventOutcome", "period_times", "run_event"]

log = logging.getLogger("kaohe.scheduler")

ACTOR = "scheduler"


@dataclass
class EventOutcome:
    """How an event's work ended: ``done``, ``superseded``, ``skipped``, or ``waiting`` (not
    ready: the claim is given back and the event is tried again later)."""

    outcome: str
    messages: int = 0
    detail: dict[str, Any] = field(default_factory=dict)


def period_times(
    period: Period,
    extensions: tuple[tuple[int, datetime], ...] = (),
    parts_close_at: datetime | None = None,
) -> Any:
    """The calendar's view of a period row."""
    from bot.rules.calendar import PeriodTimes

    assert period.id is not None
    return PeriodTimes(
        id=period.id,
        kind=period.kind,
        state=period.state,
        opens_at=aware_utc(period.opens_at),
        closes_at=aware_utc(period.closes_at),
        review_ends_at=aware_utc(period.review_ends_at) if period.review_ends_at else None,
        extensions=extensions,
        parts_close_at=parts_close_at,
        published_at=aware_utc(period.published_at) if period.published_at else None,
        notice_ends_at=aware_utc(period.notice_ends_at) if period.notice_ends_at else None,
    )


async def run_event(
    *,
    session: AsyncSession,
    services: Services,
    event: Event,
    now: datetime,
    scheme_file: Path | None,
) -> EventOutcome:
    """Do ``event``'s work in the caller's transaction (which also marks the claim done)."""
    period = await session.get(Period, event.period_id)
    if period is None or period.unit_id != services.unit:
        return EventOutcome("skipped", detail={"reason": "no such period"})
    notices = Notices(services)
    workdays = await load_workdays(session=session)
    if event.kind is EventKind.OPEN:
        return await _open(session, services, notices, period, event, now, scheme_file, workdays)
    if event.kind is EventKind.REMIND:
        return await _remind(session, notices, period, event, now, workdays)
    if event.kind is EventKind.EXTENDED:
        return await _extended(session, notices, period, event)
    if event.kind is EventKind.CLOSE:
        return await _close(session, services, notices, period, event, now, scheme_file)
    if event.kind is EventKind.ANNOUNCE:
        return await _announce(session, services, period, event)
    if event.kind is EventKind.FINAL:
        return await _final(session, services, period, event, now)
    return await _publish(session, period, now)


async def _open(
    session: AsyncSession,
    services: Services,
    notices: Notices,
    period: Period,
    event: Event,
    now: datetime,
    scheme_file: Path | None,
    workdays: Workdays,
) -> EventOutcome:
    if period.state != PeriodState.SCHEDULED:
        return EventOutcome("skipped", detail={"reason": f"period is {period.state}"})
    transition = await appraisal.open_period(
        session=session,
        period=period,
        now=now,
        scheme_file=scheme_file,
        actor=ACTOR,
        workdays=workdays,
    )
    if transition.outcome is appraisal.Outcome.ANOTHER_OPEN:
        # The month before is still open (its deadline was extended past this opening).
        return EventOutcome("waiting", detail={"reason": "another month is open"})
    if not transition.changed:
        return EventOutcome("skipped", detail={"reason": transition.outcome.value})
    snapshot = await month_snapshot(session=session, period=period)
    messages = await notices.opening(
        session, event.name, snapshot, moved_from=transition.deadline_moved_from
    )
    scheme = scheme_of(period)
    times = [aware_utc(period.closes_at)]
    times += [e.due for e in events_of(period_times(period), scheme, workdays)]
    zone = scheme.monthly_window.zone
    unknown = unknown_years(workdays, *(t.astimezone(zone).date() for t in times))
    if unknown and scheme.monthly_window.working_days:
        messages += await notices.calendar_unknown(session, period.unit_id, period, unknown)
    return EventOutcome(
        "done",
        messages=messages,
        detail={"opened": [p.code for p in [period, *transition.also_opened]]},
    )


async def _remind(
    session: AsyncSession,
    notices: Notices,
    period: Period,
    event: Event,
    now: datetime,
    workdays: Workdays,
) -> EventOutcome:
    if period.state != PeriodState.OPEN:
        return EventOutcome("skipped", detail={"reason": f"period is {period.state}"})
    # A later reminder, or the deadline, due as well: this one is old news.
    later = [
        e
        for e in events_of(period_times(period), scheme_of(period), workdays)
        if e.kind in (EventKind.REMIND, EventKind.CLOSE) and event.due < e.due <= now
    ]
    if later:
        return EventOutcome("superseded", detail={"by": later[-1].key})
    snapshot = await month_snapshot(session=session, period=period)
    today = now.astimezone(notices.services.settings.zone).date()
    leave = await calendar_q.leave_between(
        session=session, unit_id=period.unit_id, first=today, last=today
    )
    messages = await notices.reminders(
        session, event.name, snapshot, on_leave_at(leave, today), now
    )
    return EventOutcome("done", messages=messages)


async def _extended(
    session: AsyncSession, notices: Notices, period: Period, event: Event
) -> EventOutcome:
    if period.state != PeriodState.OPEN:
        return EventOutcome("skipped", detail={"reason": f"period is {period.state}"})
    audit_id = int(event.key.split(":", 1)[1])
    row = await session.get(AuditLog, audit_id)
    snapshot = await month_snapshot(session=session, period=period)
    messages = await notices.extended(session, event.name, snapshot, row.reason if row else None)
    return EventOutcome("done", messages=messages)


async def _close(
    session: AsyncSession,
    services: Services,
    notices: Notices,
    period: Period,
    event: Event,
    now: datetime,
    scheme_file: Path | None,
) -> EventOutcome:
    if period.state != PeriodState.OPEN:
        return EventOutcome("skipped", detail={"reason": f"period is {period.state}"})
    if aware_utc(period.closes_at) > now:
        return EventOutcome("waiting", detail={"reason": "the deadline moved"})
    if period.kind != PeriodKind.MONTH:
        transition = await appraisal.close_period(
            session=session, period=period, now=now, scheme_file=scheme_file, actor=ACTOR
        )
        if transition.outcome is appraisal.Outcome.PARTS_NOT_CLOSED:
            return EventOutcome("waiting", detail={"pending": [p.code for p in transition.pending]})
        messages = 0
        if transition.changed and period.kind == PeriodKind.QUARTER:
            messages = await reports.queue_review(services, session, period, event.name)
        elif transition.changed:
            messages = await reports.queue_summary(services, session, period, event.name)
        return EventOutcome(
            "done",
            messages=messages,
            detail={"outcome": transition.outcome.value, "results": len(transition.results)},
        )
    transition = await appraisal.close_period(
        session=session, period=period, now=now, scheme_file=scheme_file, actor=ACTOR
    )
    if not transition.changed:
        return EventOutcome("skipped", detail={"reason": transition.outcome.value})
    # The month's start buttons are over: what is not sent yet goes without them, and the
    # scheduler takes them off what was sent once this transaction is in (bot.jobs.buttons).
    unsent = await buttons.drop_pending(session, unit_id=period.unit_id, period_id=period.id or 0)
    snapshot = await month_snapshot(session=session, period=period)
    excused = {r.cadre_id for r in transition.results if (r.inputs or {}).get("on_leave")}
    messages = await notices.closing(
        session,
        event.name,
        snapshot,
        transition.results,
        auto_submitted=transition.auto_submitted,
        excused=excused,
        send_results=scheme_of(period).notifications.monthly_result,
    )
    return EventOutcome(
        "done",
        messages=messages,
        detail={
            "results": len(transition.results),
            "auto_submitted": transition.auto_submitted,
            "drafts_discarded": transition.drafts_discarded,
            "sent_without_buttons": unsent,
        },
    )


async def _publish(session: AsyncSession, period: Period, now: datetime) -> EventOutcome:
    """The review time is over and the chair did not publish: publish now. The reports go out
    with the ``announce`` event that a published quarter has, however it was published."""
    transition = await appraisal.publish_quarter(
        session=session, period=period, now=now, actor=ACTOR
    )
    if not transition.changed:
        return EventOutcome("skipped", detail={"reason": transition.outcome.value})
    return EventOutcome("done", detail={"published": period.code})


async def _announce(
    session: AsyncSession, services: Services, period: Period, event: Event
) -> EventOutcome:
    if period.state not in (PeriodState.PUBLISHED, PeriodState.FINAL):
        return EventOutcome("skipped", detail={"reason": f"period is {period.state}"})
    messages = await reports.queue_announcement(services, session, period, event.name)
    return EventOutcome("done", messages=messages)


async def _final(
    session: AsyncSession, services: Services, period: Period, event: Event, now: datetime
) -> EventOutcome:
    outcome = await review.finalise(session=session, period=period, now=now, actor=ACTOR)
    if outcome != "done":
        return EventOutcome(
            outcome, detail={"reason": "an appeal waits" if outcome == "waiting" else period.state}
        )
    messages = await reports.queue_final(services, session, period, event.name)
    return EventOutcome("done", messages=messages)


async def extensions_of(
    session: AsyncSession, periods: list[Period]
) -> dict[int, tuple[tuple[int, datetime], ...]]:
    """The deadline moves of open months (audit id, when), by period."""
    open_months = [p.id for p in periods if p.kind == PeriodKind.MONTH and p.state == "open"]
    if not open_months:
        return {}
    rows = await periods_q.extensions(session=session, period_ids=[i for i in open_months if i])
    found: dict[int, list[tuple[int, datetime]]] = {}
    for row in rows:
        assert row.id is not None and row.entity_id is not None
        found.setdefault(row.entity_id, []).append((row.id, aware_utc(row.at)))
    return {k: tuple(v) for k, v in found.items()}
