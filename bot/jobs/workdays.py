"""The working-day calendar the bot runs on: the ``chinese-calendar`` package's years, with the
years the office loaded itself (``kaohe calendar import``) taking precedence."""

from __future__ import annotations

from datetime import date

import chinese_calendar
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.rules.workdays import CalendarFile, Workdays
from storage.queries.calendar import calendar_days

__all__ = ["PACKAGE_YEARS", "load_workdays", "package_workdays", "unknown_years"]


def _package_years() -> frozenset[int]:
    years = {d.year for d in chinese_calendar.holidays} | {
        d.year for d in chinese_calendar.workdays
    }
    return frozenset(years)


PACKAGE_YEARS = _package_years()


def package_workdays() -> Workdays:
    """The years the package knows (2004-2026 in 1.11.0)."""
    return Workdays(
        holidays=dict(chinese_calendar.holidays),
        workdays=dict(chinese_calendar.workdays),
        known_years=PACKAGE_YEARS,
    )


async def load_workdays(*, session: AsyncSession) -> Workdays:
    """The package's years, then each year the office loaded replacing the package's."""
    workdays = package_workdays()
    loaded: dict[int, CalendarFile] = {}
    for row in await calendar_days(session=session):
        year = loaded.setdefault(row.year, CalendarFile(year=row.year, holidays={}, workdays={}))
        (year.holidays if row.kind == "holiday" else year.workdays)[row.day] = row.name
    for year in loaded.values():
        workdays = workdays.with_year(year)
    return workdays


def unknown_years(workdays: Workdays, *days: date) -> list[int]:
    """The years among ``days`` whose official schedule is not known."""
    return sorted({d.year for d in days if not workdays.knows(d.year)})
