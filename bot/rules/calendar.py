"""The appraisal calendar's events, derived from a period and its frozen scheme.

The database is the calendar: each period's window and state, with the scheme frozen into it,
say what happens when. This module turns them into :class:`Event` values (an opening, each
reminder, a deadline, the end of a quarter's review, a notice of a moved deadline), each with a
name unique per period, so that the scheduler can claim it once and a restart can tell what is
still to do. Pure: times come in, events go out.

Timing rules (``docs/scheduler.md`` words them for the office):

- a reminder goes out the scheme's offsets before the deadline (default 3 days, 1 day, 2 hours);
  one that falls on a day off moves to the start of the next working day (the end of the quiet
  hours), one in the quiet hours (default 22:00-08:00) to their end; a reminder that would then
  not come before the deadline is dropped, and two that land together are one;
- the deadline itself is moved to a working day when the month opens
  (:func:`working_deadline`), so everyone is told the deadline that holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.rules.scheme import Scheme
from bot.rules.workdays import Workdays, next_working_moment

__all__ = [
    "Event",
    "EventKind",
    "PeriodTimes",
    "events_of",
    "out_of_quiet",
    "reminder_key",
    "working_deadline",
]


class EventKind(StrEnum):
    OPEN = "open"
    REMIND = "remind"
    CLOSE = "close"
    PUBLISH = "publish"
    EXTENDED = "extended"
    ANNOUNCE = "announce"  # a published quarter's summary and personal results go out
    FINAL = "final"  # the public notice is over: the results become final


#: At one instant, what runs first: months before the periods made of them, and within a period
#: an opening before a reminder before a deadline.
_KIND_RANK = {"month": 0, "quarter": 1, "half": 2, "year": 3}
_EVENT_RANK = {
    EventKind.OPEN: 0,
    EventKind.EXTENDED: 1,
    EventKind.REMIND: 2,
    EventKind.CLOSE: 3,
    EventKind.PUBLISH: 4,
    EventKind.ANNOUNCE: 5,
    EventKind.FINAL: 6,
}


@dataclass(frozen=True)
class PeriodTimes:
    """What the calendar needs of a period (a row of the periods table)."""

    id: int
    kind: str
    state: str
    opens_at: datetime
    closes_at: datetime
    review_ends_at: datetime | None = None
    #: Deadline moves of an open month (audit id, when), each told to those still pending.
    extensions: tuple[tuple[int, datetime], ...] = ()
    #: For a quarter, half-year or year: the latest deadline of its months (one may have moved
    #: off a holiday past the summary's own end), so that it closes after them.
    parts_close_at: datetime | None = None
    #: A published quarter: when it was published, and when its public notice ends.
    published_at: datetime | None = None
    notice_ends_at: datetime | None = None


@dataclass(frozen=True)
class Event:
    """One thing that happens at ``due`` to period ``period_id``; ``key`` is unique within it."""

    due: datetime
    period_id: int
    kind: EventKind
    key: str
    period_kind: str = "month"

    @property
    def name(self) -> str:
        """The job's name and the claim's identity: key and period."""
        return f"{self.key}@{self.period_id}"

    @property
    def order(self) -> tuple[datetime, int, int, int]:
        """Time order, ties broken so that a month closes before its quarter."""
        return (
            self.due,
            _KIND_RANK.get(self.period_kind, 9),
            _EVENT_RANK[self.kind],
            self.period_id,
        )


def reminder_key(offset: timedelta, deadline: datetime) -> str:
    """``remind:3d:202612051000``: the offset as the scheme writes it, and the deadline (UTC) it
    counts back from, so that a moved deadline has reminders of its own."""
    minutes = int(offset.total_seconds() // 60)
    if minutes % (24 * 60) == 0:
        text = f"{minutes // (24 * 60)}d"
    elif minutes % 60 == 0:
        text = f"{minutes // 60}h"
    else:
        text = f"{minutes}m"
    return f"remind:{text}:{deadline.astimezone(UTC):%Y%m%d%H%M}"


def out_of_quiet(moment: datetime, zone: ZoneInfo, start: time, end: time) -> datetime:
    """``moment``, or the end of the quiet hours it falls in (local ``start``-``end``, which may
    span midnight)."""
    local = moment.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    if start == end:
        return moment
    if start < end:
        quiet = start <= clock < end
        end_day = local.date()
    else:
        quiet = clock >= start or clock < end
        end_day = local.date() + timedelta(days=1) if clock >= start else local.date()
    if not quiet:
        return moment
    return datetime.combine(end_day, end, zone).astimezone(moment.tzinfo)


def working_deadline(closes_at: datetime, scheme: Scheme, workdays: Workdays) -> datetime:
    """The deadline moved to the next working day when the scheme says so."""
    window = scheme.monthly_window
    if not window.working_days:
        return closes_at
    return next_working_moment(closes_at, window.zone, workdays)


def _reminders(period: PeriodTimes, scheme: Scheme, workdays: Workdays | None) -> Iterable[Event]:
    window, quiet = scheme.monthly_window, scheme.notifications
    seen: set[datetime] = set()
    # Reminders of before a deadline move are replaced by the notice of the move.
    moved = max((at for _, at in period.extensions), default=None)
    for offset in window.reminder_offsets:
        due = period.closes_at - offset
        if workdays is not None and window.working_days:
            local = due.astimezone(window.zone).date()
            if not workdays.is_working(local):
                # First thing on the next working day (when the quiet hours end).
                day = workdays.next_working(local)
                due = datetime.combine(day, quiet.quiet_end, window.zone).astimezone(UTC)
        due = out_of_quiet(due, window.zone, quiet.quiet_start, quiet.quiet_end)
        if due >= period.closes_at or due < period.opens_at or due in seen:
            continue
        if moved is not None and due <= moved:
            continue
        seen.add(due)
        key = reminder_key(offset, period.closes_at)
        yield Event(due, period.id, EventKind.REMIND, key, period.kind)


def events_of(
    period: PeriodTimes, scheme: Scheme | None, workdays: Workdays | None = None
) -> list[Event]:
    """Every event of ``period`` still possible in its state, in time order.

    A scheduled month opens at ``opens_at``; an open month has its reminders, its deadline and a
    notice per deadline move; a quarter, half-year or year that is open closes at ``closes_at``
    (once its parts have closed); a quarter in review is published when the review ends; a
    published quarter is announced (its reports go out) and becomes final when its public notice
    ends. Closed months and summaries have none.
    """
    events: list[Event] = []
    kind, state = period.kind, period.state
    if kind == "month" and state == "scheduled":
        events.append(Event(period.opens_at, period.id, EventKind.OPEN, "open", kind))
    elif kind == "month" and state == "open":
        if scheme is not None:
            events.extend(_reminders(period, scheme, workdays))
        for audit_id, at in period.extensions:
            events.append(Event(at, period.id, EventKind.EXTENDED, f"extended:{audit_id}", kind))
        events.append(Event(period.closes_at, period.id, EventKind.CLOSE, "close", kind))
    elif kind != "month" and state == "open":
        due = max(period.closes_at, period.parts_close_at or period.closes_at)
        events.append(Event(due, period.id, EventKind.CLOSE, "close", kind))
    elif kind == "quarter" and state == "in_review" and period.review_ends_at is not None:
        events.append(Event(period.review_ends_at, period.id, EventKind.PUBLISH, "publish", kind))
    if kind == "quarter" and state in ("published", "final") and period.published_at is not None:
        # Published by the chair or by the scheduler: either way the reports go out once.
        events.append(Event(period.published_at, period.id, EventKind.ANNOUNCE, "announce", kind))
    if kind == "quarter" and state == "published" and period.notice_ends_at is not None:
        events.append(Event(period.notice_ends_at, period.id, EventKind.FINAL, "final", kind))
    return sorted(events, key=lambda e: e.order)
