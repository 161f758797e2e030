"""Working days by China's official calendar, and the office's file of a year's schedule.

Every year the State Council publishes which days are public holidays and which weekend days are
worked instead (调休). A deadline or a reminder that falls on a day off moves to the next working
day. The bot reads the schedule of past years from the ``chinese-calendar`` package and any year
the office loaded itself (``kaohe calendar import``); a year known to neither counts weekends only,
and the office is told so (:meth:`Workdays.knows`).

The file the office writes, one line per day or range (``#`` starts a comment)::

    year 2027
    2027-01-01 ~ 2027-01-03  holiday  元旦
    2027-02-07               workday  春节调休

``holiday``/``休`` marks days off, ``workday``/``班`` weekend days that are worked. Every mistake
is reported with its line number at once (:class:`CalendarFileError`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "CalendarFile",
    "CalendarFileError",
    "CalendarProblem",
    "Workdays",
    "next_working_moment",
    "parse_calendar_file",
]

HOLIDAY = "holiday"
WORKDAY = "workday"
_KINDS = {"holiday": HOLIDAY, "休": HOLIDAY, "workday": WORKDAY, "班": WORKDAY}
#: Ranges longer than this are a typo (the longest official holiday is 8 or 9 days).
_LONGEST_RANGE = 15


@dataclass(frozen=True)
class Workdays:
    """Which days are worked: official days off and worked weekend days of the known years."""

    holidays: Mapping[date, str] = field(default_factory=dict)
    workdays: Mapping[date, str] = field(default_factory=dict)
    known_years: frozenset[int] = frozenset()

    def knows(self, year: int) -> bool:
        """Whether the official schedule of ``year`` is known (else: weekends only)."""
        return year in self.known_years

    def is_working(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def next_working(self, day: date) -> date:
        """``day`` if it is worked, else the first working day after it."""
        while not self.is_working(day):
            day += timedelta(days=1)
        return day

    def with_year(self, loaded: CalendarFile) -> Workdays:
        """These days with one year replaced by the office's file of it."""
        keep = {d: n for d, n in self.holidays.items() if d.year != loaded.year}
        work = {d: n for d, n in self.workdays.items() if d.year != loaded.year}
        return Workdays(
            holidays={**keep, **loaded.holidays},
            workdays={**work, **loaded.workdays},
            known_years=self.known_years | {loaded.year},
        )


def next_working_moment(moment: datetime, zone: ZoneInfo, workdays: Workdays) -> datetime:
    """``moment`` moved to the same local time on the next working day, if it falls on a day off."""
    local = moment.astimezone(zone)
    day = workdays.next_working(local.date())
    if day == local.date():
        return moment
    moved = datetime.combine(day, time(local.hour, local.minute, local.second), zone)
    return moved.astimezone(moment.tzinfo)


@dataclass(frozen=True)
class CalendarFile:
    """One year's official schedule as the office wrote it."""

    year: int
    holidays: dict[date, str]
    workdays: dict[date, str]


@dataclass(frozen=True)
class CalendarProblem:
    """One mistake in the file: the line, a code the templates word, its figures, and English."""

    line: int
    code: str
    message: str
    params: dict[str, object] = field(default_factory=dict)


class CalendarFileError(ValueError):
    """A calendar file that cannot be loaded: every problem at once."""

    def __init__(self, problems: list[CalendarProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"line {p.line}: {p.message}" for p in problems))


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _range(first: date, last: date) -> Iterable[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def parse_calendar_file(text: str) -> CalendarFile:
    """Read the office's file of one year; raise :class:`CalendarFileError` listing every
    mistake with its line number."""
    problems: list[CalendarProblem] = []
    year: int | None = None
    entries: list[tuple[int, date, date, str, str]] = []

    def problem(line: int, code: str, message: str, **params: object) -> None:
        problems.append(CalendarProblem(line, code, message, dict(params)))

    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip().lstrip("\ufeff")
        if not line:
            continue
        words = line.replace("～", "~").replace("至", "~").split()
        if words[0].lower() in ("year", "年份"):
            if len(words) != 2 or not words[1].isdigit() or not 2000 <= int(words[1]) <= 2100:
                problem(number, "bad_year", "write the year as: year 2027", value=line)
            elif year is not None:
                problem(number, "year_repeated", "the year is given twice")
            else:
                year = int(words[1])
            continue
        if len(words) >= 3 and words[1] == "~":
            first, last, rest = _day(words[0]), _day(words[2]), words[3:]
            if first is None or last is None:
                bad = words[0] if first is None else words[2]
                problem(number, "bad_date", f"'{bad}' is not a date like 2027-01-01", value=bad)
                continue
        else:
            first = last = _day(words[0])
            rest = words[1:]
            if first is None:
                problem(
                    number,
                    "bad_date",
                    f"'{words[0]}' is not a date like 2027-01-01",
                    value=words[0],
                )
                continue
        assert last is not None
        if last < first:
            problem(number, "range_backwards", "the range ends before it starts")
            continue
        if (last - first).days >= _LONGEST_RANGE:
            problem(
                number,
                "range_too_long",
                "a range of more than 15 days",
                days=(last - first).days + 1,
            )
            continue
        if not rest or rest[0].lower() not in _KINDS:
            found = rest[0] if rest else ""
            problem(
                number,
                "bad_kind",
                "say whether the days are a holiday (holiday or 休) or worked (workday or 班)",
                value=found,
            )
            continue
        entries.append((number, first, last, _KINDS[rest[0].lower()], " ".join(rest[1:])))

    if year is None and not any(p.code in ("bad_year", "year_repeated") for p in problems):
        problem(0, "no_year", "the file must say its year: a line 'year 2027'")
    holidays: dict[date, str] = {}
    workdays: dict[date, str] = {}
    seen: dict[date, int] = {}
    for number, first, last, kind, name in entries:
        for day in _range(first, last):
            if year is not None and day.year != year:
                problem(number, "other_year", f"{day} is not in {year}", day=str(day), year=year)
                break
            if day in seen:
                problem(
                    number,
                    "day_repeated",
                    f"{day} is already on line {seen[day]}",
                    day=str(day),
                    first=seen[day],
                )
                break
            seen[day] = number
            if kind == WORKDAY and day.weekday() < 5:
                problem(
                    number,
                    "workday_not_weekend",
                    f"{day} is a weekday: only a weekend day can be a swapped working day",
                    day=str(day),
                )
                break
            (holidays if kind == HOLIDAY else workdays)[day] = name
    if not problems and not holidays:
        problem(0, "no_holidays", "the file lists no holiday")
    if problems:
        raise CalendarFileError(sorted(problems, key=lambda p: p.line))
    assert year is not None
    return CalendarFile(year=year, holidays=holidays, workdays=workdays)
