"""The one clock: every "now" of the handlers, the services, the queries and the scheduler.

The bot never reads the wall clock itself. Production runs on :class:`SystemClock`; a trial,
the sandbox or a demo runs on :class:`SimulatedClock`, which starts at a chosen instant and may
run faster than real time (``kaohe run --clock 2026-11-24T08:00 --speed 3600``: one real second
is an hour); tests set a :class:`ManualClock` and move it by hand. All of them hand out aware UTC
datetimes, so nothing downstream can mistake the server's zone for the town's.

A clock that can be moved tells whoever listens (:meth:`Clock.subscribe`), so that the scheduler
re-plans its timers when the sandbox jumps to the next event.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

__all__ = ["Clock", "ManualClock", "SimulatedClock", "SystemClock", "aware_utc"]


def aware_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive time is refused: it would be read in the server's zone."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: give a time zone")
    return moment.astimezone(UTC)


class Clock:
    """What every clock offers: the time now, how long until a moment, and change notices."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[], None]] = []

    def now(self) -> datetime:
        """The current instant, aware, in UTC."""
        raise NotImplementedError

    @property
    def speed(self) -> float:
        """Simulated seconds per real second (1 for the system clock)."""
        return 1.0

    @property
    def simulated(self) -> bool:
        """Whether this clock departs from the wall clock (logged loudly, shown in /whoami)."""
        return False

    def real_seconds_until(self, moment: datetime) -> float:
        """Real seconds to wait until the clock shows ``moment`` (0 if it already has)."""
        left = (aware_utc(moment) - self.now()).total_seconds()
        return max(0.0, left / self.speed) if self.speed > 0 else float("inf")

    def real_span(self, span: timedelta) -> timedelta:
        """``span`` of real time as this clock counts it: a lease or a backoff measured on a
        clock that runs 3600 times faster must last 3600 times longer on it. A clock that stands
        still (tests) counts it as it is."""
        return span * max(1.0, self.speed)

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` whenever the clock is moved by hand (not as time passes)."""
        self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[], None]) -> None:
        """Stop calling ``listener`` (a scheduler that stopped)."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _moved(self) -> None:
        for listener in list(self._listeners):
            listener()


class SystemClock(Clock):
    """The wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock(Clock):
    """A clock that stands still until moved: tests drive it, nothing sleeps."""

    def __init__(self, start: datetime) -> None:
        super().__init__()
        self._now = aware_utc(start)

    def now(self) -> datetime:
        return self._now

    @property
    def speed(self) -> float:
        return 0.0

    @property
    def simulated(self) -> bool:
        return True

    def set(self, moment: datetime) -> None:
        """Move to ``moment`` (forward or back)."""
        self._now = aware_utc(moment)
        self._moved()

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by ``delta``; return the new time."""
        self.set(self._now + delta)
        return self._now


class SimulatedClock(Clock):
    """A clock that starts at ``start`` and runs ``speed`` times faster than real time.

    ``jump`` moves it forward at once (the sandbox's "next event" button).
    """

    def __init__(
        self,
        start: datetime,
        speed: float = 1.0,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._origin = aware_utc(start)
        self._speed = float(speed)
        self._monotonic = monotonic
        self._started = monotonic()

    def now(self) -> datetime:
        elapsed = (self._monotonic() - self._started) * self._speed
        return self._origin + timedelta(seconds=elapsed)

    @property
    def speed(self) -> float:
        return self._speed

    @property
    def simulated(self) -> bool:
        return True

    def jump(self, delta: timedelta) -> datetime:
        """Move forward by ``delta`` at once; return the new time."""
        if delta < timedelta(0):
            raise ValueError("a simulated clock only moves forward")
        self._origin = self.now() + delta
        self._started = self._monotonic()
        self._moved()
        return self._origin

    def jump_to(self, moment: datetime) -> datetime:
        """Move forward to ``moment`` (no-op if it has passed)."""
        delta = aware_utc(moment) - self.now()
        return self.jump(delta) if delta > timedelta(0) else self.now()
