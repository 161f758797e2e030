"""What a report says: every cadre's figures for a quarter, a half-year or the year.

A :class:`PeriodReport` is read from the stored results (:mod:`bot.reports.build`) and then only
rendered: the leadership chat's summary, the chart, the sheet, the review screens and the
personal results all show these same figures, so a message and the .xlsx sent with it can never
disagree. Every figure is one the scoring engine stored (:mod:`bot.rules.scoring`), traceable to
its inputs through ``result_id``; nothing here computes a score.

Ballots are secret: of the democratic evaluation a line carries the score only, or that there
were too few ballots (``democratic_note``), never a count of grades.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cached_property

from bot.rules.scoring import GRADE_ORDER

__all__ = [
    "BIG_CHANGE",
    "MISSING_FLAGS",
    "AdjustmentLine",
    "BonusLine",
    "MonthParticipation",
    "PeriodReport",
    "ReportLine",
]

#: A quarterly score that moved by this much or more since the quarter before is flagged for
#: the review (``big_change``): the leadership asks why before it publishes.
BIG_CHANGE = Decimal("5")

#: Flags of a month that mean a source was missing (shown in the summary's "missing" section).
MISSING_FLAGS = ("self_missing", "head_missing", "owes_ratings")


@dataclass(frozen=True)
class AdjustmentLine:
    """A leadership adjustment (or an upheld appeal) and its written reason."""

    value: Decimal
    reason: str


@dataclass(frozen=True)
class BonusLine:
    """A cadre's year-end bonus and its parts (money, to the cent), as the year's result stored
    it: base × (share × office-rules mean/100 + (1 − share) × annual score/100) + rewards −
    deductions."""

    base: Decimal
    share: Decimal
    office_rules_mean: Decimal
    office_rules_part: Decimal
    annual_score: Decimal
    performance_part: Decimal
    rewards: Decimal
    deductions: Decimal
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class ReportLine:
    """One cadre in a report, with every figure shown about them."""

    result_id: int
    cadre_id: int
    name: str
    department: str
    title: str | None
    #: The parts' scores: a quarter's three months, a half-year's two quarters, the year's four.
    parts: tuple[Decimal | None, ...]
    #: The labels of the parts, as codes (``2026-01``, ``2026-Q1``).
    part_codes: tuple[str, ...]
    #: Means over the quarter's months of each source as submitted (quarters only; None when
    #: no month has it): the head's rating, the self-score.
    head: Decimal | None
    self_score: Decimal | None
    #: The democratic score: the mean of the months' scores that had enough ballots.
    democratic: Decimal | None
    #: ``score``, ``too_few`` (held, but below the scheme's minimum of ballots in every month),
    #: or ``none`` (no evaluation in the period).
    democratic_note: str
    office_rules: Decimal | None  # the mean of the months' office-rules scores
    mean: Decimal | None  # the parts' mean, before adjustments
    adjustments: tuple[AdjustmentLine, ...]
    score: Decimal | None
    grade: str | None
    #: The period's own flags and its months' (a missing source, a tie at the cap, ...), and
    #: ``big_change`` when the score moved by :data:`BIG_CHANGE` or more since last time.
    flags: tuple[str, ...]
    previous_score: Decimal | None = None
    previous_grade: str | None = None
    bonus: BonusLine | None = None

    @property
    def change(self) -> Decimal | None:
        """The score's change since the period before (None when either is missing)."""
        if self.score is None or self.previous_score is None:
            return None
        return self.score - self.previous_score

    @property
    def missing(self) -> tuple[str, ...]:
        """The flags that say a source was missing."""
        return tuple(f for f in self.flags if f in MISSING_FLAGS)


@dataclass(frozen=True)
class MonthParticipation:
    """How many took part in one month (counts only: nothing that could name a voter)."""

    code: str
    month: int
    assessed: int
    self_done: int
    head_done: int
    ballot: bool  # whether the democratic evaluation ran that month
    ballots_cast: int


@dataclass(frozen=True)
class PeriodReport:
    """A quarter's, half-year's or year's figures for every cadre graded in it."""

    unit: str
    kind: str  # quarter | half | year
    year: int
    number: int
    code: str
    state: str
    #: Local times in the town's zone (None until they happen).
    closed_at: datetime | None
    review_ends_at: datetime | None
    published_at: datetime | None
    notice_ends_at: datetime | None
    appeal_ends_at: datetime | None
    lines: tuple[ReportLine, ...]  # roster order: department, then rank within it
    departments: tuple[str, ...]  # roster order
    participation: tuple[MonthParticipation, ...] = ()
    previous_code: str | None = None
    #: The cap on 优秀 as graded: at most this many (None without a cap), and who is tied at it.
    max_excellent: int | None = None
    tied: tuple[int, ...] = ()
    currency: str = ""
    extra: dict[str, object] = field(default_factory=dict)

    def distribution(self) -> dict[str, int]:
        """How many cadres hold each grade, 优秀 first; ``none`` for those without a score."""
        counts = {g.value: 0 for g in GRADE_ORDER}
        counts["none"] = 0
        for line in self.lines:
            counts[line.grade or "none"] = counts.get(line.grade or "none", 0) + 1
        return counts

    def by_grade(self) -> list[tuple[str, list[ReportLine]]]:
        """The cadres by grade (优秀 first), highest score first within a grade; grades that
        nobody holds are left out."""
        place = {line.cadre_id: index for index, line in enumerate(self.lines)}
        groups: list[tuple[str, list[ReportLine]]] = []
        for grade in [g.value for g in GRADE_ORDER] + ["none"]:
            members = [line for line in self.lines if (line.grade or "none") == grade]
            members.sort(key=lambda line: (-(line.score or Decimal(-1)), place[line.cadre_id]))
            if members:
                groups.append((grade, members))
        return groups

    def by_department(self) -> list[tuple[str, list[ReportLine]]]:
        """The cadres by department, in roster order."""
        groups: dict[str, list[ReportLine]] = {name: [] for name in self.departments}
        for line in self.lines:
            groups.setdefault(line.department, []).append(line)
        return [(name, members) for name, members in groups.items() if members]

    def adjusted(self) -> list[ReportLine]:
        """The cadres whose score the leadership adjusted."""
        return [line for line in self.lines if line.adjustments]

    def missing(self) -> list[ReportLine]:
        """The cadres with a source missing in some month."""
        return [line for line in self.lines if line.missing]

    def changed(self) -> list[ReportLine]:
        """The cadres whose score moved by :data:`BIG_CHANGE` or more since last time,
        the largest move first."""
        moved = [
            line
            for line in self.lines
            if line.change is not None and abs(line.change) >= BIG_CHANGE
        ]
        return sorted(moved, key=lambda line: -abs(line.change or Decimal(0)))

    @cached_property
    def _by_cadre(self) -> dict[int, ReportLine]:
        return {line.cadre_id: line for line in self.lines}

    def line(self, cadre_id: int) -> ReportLine | None:
        """The line of one cadre, if graded here."""
        return self._by_cadre.get(cadre_id)

    def rank_band(self, cadre_id: int) -> str | None:
        """Where a cadre's score stands among everyone's, as a band rather than a rank (the
        scheme's ``quarterly.rank_band``): ``top10``, ``top30``, ``top50`` or ``rest`` (by the
        share of cadres scoring higher); None without a score."""
        line = self.line(cadre_id)
        if line is None or line.score is None:
            return None
        scores = list(self.scores())
        above = sum(1 for s in scores if s > line.score)
        share = Decimal(above) / Decimal(len(scores))
        for band, edge in (("top10", "0.1"), ("top30", "0.3"), ("top50", "0.5")):
            if share < Decimal(edge):
                return band
        return "rest"

    def scores(self) -> Iterable[Decimal]:
        """Every score in the report (cadres without one left out)."""
        return (line.score for line in self.lines if line.score is not None)
