"""The appraisal rules as pure functions: no Telegram, no database, no clock.

Every figure that a report shows or the database stores is computed here, so the rules live in
one place and can be tested by hand. The design follows three promises of the product:

* **Exact and reproducible.** All arithmetic is :class:`~decimal.Decimal`; floats are refused
  because ``0.1 + 0.2`` must not decide a grade. Scores are rounded ROUND_HALF_UP to one decimal
  and money to two, and every stage works from the *rounded* figures of the stage before. What a
  cadre is shown is exactly what the next stage used, so recomputing from the shown figures gives
  the same result.
* **Explained.** Every function returns a frozen dataclass carrying the figure *and* a breakdown
  (inputs, weights used, renormalisation, flags). ``as_dict()`` turns it into plain JSON-safe data
  (decimals become strings, so nothing is lost) for the reports and the database.
* **Fair by construction.** Missing submissions follow the scheme's policy instead of silently
  counting as zero, ties at the cap on 优秀 are flagged for the leadership rather than broken at
  random, and leadership adjustments need a written reason.

Parameters come from the scheme (``bot.rules.scheme.Scheme`` has adapters such as
``scheme.source_weights()``); this module holds no defaults of its own, so the scheme file stays
the single source of truth.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from enum import Enum, StrEnum
from typing import Any, Generic, Literal, TypeVar

__all__ = [
    "GRADE_ORDER",
    "Adjustment",
    "Bonus",
    "Deduction",
    "DemocraticRules",
    "DemocraticScore",
    "Flag",
    "Grade",
    "GradeAssignment",
    "GradeBands",
    "GradePoints",
    "ItemLine",
    "ItemScore",
    "MissingPolicy",
    "MissingRule",
    "MonthlyScore",
    "OfficeRulesScore",
    "PeriodScore",
    "ScoringError",
    "Source",
    "SourceLine",
    "SourceWeights",
    "Tally",
    "WeightedRating",
    "annual_score",
    "assign_grades",
    "democratic_score",
    "grade",
    "half_year_score",
    "judged_item_score",
    "mean_score",
    "month_target",
    "monthly_score",
    "office_rules_mean",
    "office_rules_score",
    "quantified_item_score",
    "quarterly_score",
    "round_money",
    "round_score",
    "to_decimal",
    "weighted_rating",
    "year_end_bonus",
]

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)
SCORE_STEP = Decimal("0.1")
MONEY_STEP = Decimal("0.01")
WEIGHT_STEP = Decimal("0.0001")

K = TypeVar("K")
Number = Decimal | int


class ScoringError(ValueError):
    """An input the rules refuse (a negative target, a score above 100, an empty reason, ...).

    A ``ValueError`` so that callers validating user input can catch both in one place.
    """


class Grade(StrEnum):
    """The four grades (考评等次) by stable ASCII key; the 优秀/良好 labels live in templates."""

    EXCELLENT = "excellent"  # 优秀
    GOOD = "good"  # 良好
    PASS = "pass"  # 及格
    FAIL = "fail"  # 不及格


GRADE_ORDER: tuple[Grade, ...] = (Grade.EXCELLENT, Grade.GOOD, Grade.PASS, Grade.FAIL)
"""Best to worst; "the next grade down" is the next entry."""


class Source(StrEnum):
    """The three sources of a monthly score."""

    HEAD = "head"  # 部门负责人考评
    DEMOCRATIC = "democratic"  # 民主测评
    SELF = "self"  # 本人自评


class MissingRule(StrEnum):
    """What to do with a source that was not submitted."""

    ZERO = "zero"  # counts 0 (the cadre's own omission)
    RENORMALISE = "renormalise"  # left out, the other weights scaled up to the full score


class Flag(StrEnum):
    """Remarks attached to a figure; reports translate them, the office follows them up."""

    SELF_MISSING = "self_missing"  # no self-score: counted 0 (the cadre is reminded)
    SELF_EXCUSED = "self_excused"  # no self-score, on leave (请假): left out, not counted 0
    HEAD_MISSING = "head_missing"  # no head rating: left out; the *head* is flagged
    DEMOCRATIC_MISSING = "democratic_missing"  # no democratic score: left out
    TOO_FEW_BALLOTS = "too_few_ballots"  # fewer ballots than the scheme's minimum
    NO_SOURCES = "no_sources"  # nothing left to score from
    TARGET_EXCEEDED = "target_exceeded"  # quantified item: actual above target, capped at 100
    FLOORED = "floored"  # the figure would have been negative and was floored at 0
    CLAMPED = "clamped"  # adjustments pushed the figure outside 0-100; clamped
    INCOMPLETE = "incomplete"  # some months/quarters of the period have no score
    TIE_AT_CAP = "tie_at_cap"  # tied at the edge of the cap on 优秀: the leadership decides
    CAPPED = "capped"  # 优秀 by its score but beyond the cap on 优秀


_SOURCE_MISSING_FLAG = {
    Source.HEAD: Flag.HEAD_MISSING,
    Source.DEMOCRATIC: Flag.DEMOCRATIC_MISSING,
    Source.SELF: Flag.SELF_MISSING,
}


# ---------------------------------------------------------------------------------------------
# Numbers


def to_decimal(value: Any, *, name: str = "value") -> Decimal:
    """Return ``value`` as a finite Decimal; floats and booleans are refused, not guessed at."""
    if isinstance(value, bool | float):
        raise ScoringError(f"{name} must be a Decimal or an int, not {type(value).__name__}")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ScoringError(f"{name} must be a finite number, got {value}")
        return value
    raise ScoringError(f"{name} must be a Decimal or an int, not {type(value).__name__}")


def _non_negative_zero(value: Decimal) -> Decimal:
    """Turn ``-0.0`` into ``0.0`` so that a figure never prints with a stray minus sign."""
    return abs(value) if value.is_zero() else value


def round_score(value: Decimal) -> Decimal:
    """Round a score to one decimal, half up (the way people round by hand: 89.95 -> 90.0)."""
    return _non_negative_zero(value.quantize(SCORE_STEP, rounding=ROUND_HALF_UP))


def round_money(value: Decimal) -> Decimal:
    """Round an amount of money to the cent, half up."""
    return _non_negative_zero(value.quantize(MONEY_STEP, rounding=ROUND_HALF_UP))


def _score_input(value: Any, *, name: str) -> Decimal:
    """A 0-100 score given by a person or an earlier stage; anything else is a bug upstream."""
    score = to_decimal(value, name=name)
    if not ZERO <= score <= HUNDRED:
        raise ScoringError(f"{name} must be between 0 and 100, got {score}")
    return score


def _plain(value: Any) -> Any:
    """Turn a breakdown into JSON-safe data: decimals to strings, enums to their keys."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name.rstrip("_"): _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {
            (k if isinstance(k, str | int) else str(_plain(k))): _plain(v) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class _Explained:
    """Mixin for the result dataclasses: ``as_dict()`` for reports and the database."""

    def as_dict(self) -> dict[str, Any]:
        """Return the figure and its breakdown as plain data (decimals as strings)."""
        result = _plain(self)
        assert isinstance(result, dict)
        return result


# ---------------------------------------------------------------------------------------------
# Parameters (built from the scheme by bot.rules.scheme)


@dataclass(frozen=True)
class SourceWeights:
    """Weights of the three sources of the monthly score; they add up to 1."""

    head: Decimal
    democratic: Decimal
    self_: Decimal

    def __post_init__(self) -> None:
        for source in Source:
            weight = to_decimal(self.of(source), name=f"weight of {source}")
            if weight < 0:
                raise ScoringError(f"the weight of {source} must not be negative")
        if self.head + self.democratic + self.self_ != ONE:
            raise ScoringError("the source weights must add up to 1")

    def of(self, source: Source) -> Decimal:
        """Return the weight of one source."""
        return {
            Source.HEAD: self.head,
            Source.DEMOCRATIC: self.democratic,
            Source.SELF: self.self_,
        }[source]


@dataclass(frozen=True)
class MissingPolicy:
    """What each source does when it was not submitted (see :class:`MissingRule`)."""

    head: MissingRule
    democratic: MissingRule
    self_: MissingRule

    def of(self, source: Source) -> MissingRule:
        """Return the rule for one source."""
        return {
            Source.HEAD: self.head,
            Source.DEMOCRATIC: self.democratic,
            Source.SELF: self.self_,
        }[source]


@dataclass(frozen=True)
class GradeBands:
    """Lowest score of each grade; below ``pass_`` is 不及格."""

    excellent: Decimal
    good: Decimal
    pass_: Decimal

    def __post_init__(self) -> None:
        if not HUNDRED >= self.excellent > self.good > self.pass_ >= ZERO:
            raise ScoringError("grade bands must satisfy 100 >= excellent > good > pass >= 0")


@dataclass(frozen=True)
class GradePoints:
    """Points of a democratic-evaluation ballot of each grade (95/85/70/50 by default)."""

    excellent: Decimal
    good: Decimal
    pass_: Decimal
    fail: Decimal

    def __post_init__(self) -> None:
        if not HUNDRED >= self.excellent > self.good > self.pass_ > self.fail >= ZERO:
            raise ScoringError(
                "ballot points must satisfy 100 >= excellent > good > pass > fail >= 0"
            )

    def of(self, grade: Grade) -> Decimal:
        """Return the points of one grade."""
        return {
            Grade.EXCELLENT: self.excellent,
            Grade.GOOD: self.good,
            Grade.PASS: self.pass_,
            Grade.FAIL: self.fail,
        }[grade]


@dataclass(frozen=True)
class DemocraticRules:
    """How ballots become a democratic score."""

    points: GradePoints
    min_ballots: int  # fewer ballots than this: no score
    trim_from: int  # with this many ballots or more, drop one highest and one lowest

    def __post_init__(self) -> None:
        if self.min_ballots < 1:
            raise ScoringError("min_ballots must be at least 1")
        if self.trim_from < 3:
            raise ScoringError("trim_from must be at least 3, so that a ballot is left to count")


# ---------------------------------------------------------------------------------------------
# Items: judged, quantified, and the weighted rating over a category's items


@dataclass(frozen=True)
class ItemScore(_Explained):
    """The 0-100 score of one assessment item."""

    score: Decimal
    method: Literal["judged", "quantified"]
    actual: Decimal | None = None  # quantified only
    target: Decimal | None = None  # quantified only
    ratio: Decimal | None = None  # min(actual / target, 1), unrounded
    flags: tuple[Flag, ...] = ()


def judged_item_score(value: Number) -> ItemScore:
    """Score an item the rater judged: the given 0-100 figure, rounded to one decimal."""
    return ItemScore(score=round_score(_score_input(value, name="item score")), method="judged")


TWELVE = Decimal(12)


def month_target(
    annual: Number, month: int, pace: str, monthly: Sequence[Decimal | None] | None = None
) -> Decimal:
    """The target a month's actual figure is compared with.

    The month's own figure when the targets sheet gives one (``monthly``, January first);
    otherwise the annual target ÷ 12 (``pace`` "even"), or the whole annual target (``pace``
    "annual", how version 1 of the scheme scored). A cadre exactly on pace scores full points.
    """
    if not 1 <= month <= 12:
        raise ScoringError(f"month must be 1-12, got {month}")
    annual_d = to_decimal(annual, name="annual target")
    if monthly is not None and len(monthly) == 12 and monthly[month - 1] is not None:
        own = monthly[month - 1]
        assert own is not None
        return to_decimal(own, name="month target")
    if pace == "annual":
        return annual_d
    if pace != "even":
        raise ScoringError(f"unknown pace {pace!r}")
    return annual_d / TWELVE


def quantified_item_score(actual: Number, target: Number) -> ItemScore:
    """Score an item against its target: min(actual / target, 1) × 100.

    Over-achieving is capped at the item's full points so that one easy target cannot make up for
    the rest of the work; a target of zero or less is refused because it would make every actual
    a full score (or divide by zero).
    """
    actual_d = to_decimal(actual, name="actual")
    target_d = to_decimal(target, name="target")
    if target_d <= 0:
        raise ScoringError(f"the target must be greater than 0, got {target_d}")
    if actual_d < 0:
        raise ScoringError(f"the actual figure must not be negative, got {actual_d}")
    ratio = actual_d / target_d
    flags: tuple[Flag, ...] = ()
    if ratio > ONE:
        ratio, flags = ONE, (Flag.TARGET_EXCEEDED,)
    return ItemScore(
        score=round_score(ratio * HUNDRED),
        method="quantified",
        actual=actual_d,
        target=target_d,
        ratio=ratio,
        flags=flags,
    )


@dataclass(frozen=True)
class ItemLine(_Explained):
    """One item of a weighted rating."""

    key: str
    score: Decimal
    weight: Decimal
    contribution: Decimal  # weight × score / total weight, to two decimals, for display


@dataclass(frozen=True)
class WeightedRating(_Explained):
    """A head's rating or a self-score: 0-100 over the weighted items of the cadre's category."""

    score: Decimal
    lines: tuple[ItemLine, ...]
    weighted_sum: Decimal  # Σ weight × score, exact
    weight_total: Decimal  # Σ weight (100 with the scheme's weights)


def weighted_rating(
    item_scores: Mapping[str, Number | ItemScore], weights: Mapping[str, Number]
) -> WeightedRating:
    """Combine item scores with the category's weights: Σ weight × score / Σ weight.

    Every item of the category must be scored and no other: a rating that skips 中心工作 is
    incomplete, not a rating of 90 points out of 90.
    """
    missing = [key for key in weights if key not in item_scores]
    extra = [key for key in item_scores if key not in weights]
    if missing or extra:
        raise ScoringError(f"items do not match the category: missing {missing}, unknown {extra}")
    weight_total = ZERO
    weighted_sum = ZERO
    scored: list[tuple[str, Decimal, Decimal]] = []
    for key, raw_weight in weights.items():
        weight = to_decimal(raw_weight, name=f"weight of {key}")
        if weight < 0:
            raise ScoringError(f"the weight of {key} must not be negative")
        raw = item_scores[key]
        score = raw.score if isinstance(raw, ItemScore) else _score_input(raw, name=key)
        scored.append((key, score, weight))
        weight_total += weight
        weighted_sum += weight * score
    if weight_total <= 0:
        raise ScoringError("the item weights add up to 0")
    lines = tuple(
        ItemLine(
            key=key,
            score=score,
            weight=weight,
            contribution=round_money(weight * score / weight_total),
        )
        for key, score, weight in scored
    )
    return WeightedRating(
        score=round_score(weighted_sum / weight_total),
        lines=lines,
        weighted_sum=weighted_sum,
        weight_total=weight_total,
    )


# ---------------------------------------------------------------------------------------------
# Democratic evaluation (民主测评)


@dataclass(frozen=True)
class Tally(_Explained):
    """How many ballots gave each grade.

    Ballots are secret, so only tallies exist: a tally says nothing about who voted what.
    """

    excellent: int = 0
    good: int = 0
    pass_: int = 0
    fail: int = 0

    def __post_init__(self) -> None:
        for grade_ in Grade:
            count = self.count(grade_)
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise ScoringError(f"the count of {grade_} must be a whole number >= 0")

    @classmethod
    def of(cls, grades: Tally | Mapping[str, int]) -> Tally:
        """Accept a tally or a mapping such as ``{"excellent": 4, "good": 7}``."""
        if isinstance(grades, Tally):
            return grades
        unknown = [key for key in grades if key not in set(Grade)]
        if unknown:
            raise ScoringError(f"unknown grades {unknown}")
        return cls(
            excellent=grades.get(Grade.EXCELLENT, 0),
            good=grades.get(Grade.GOOD, 0),
            pass_=grades.get(Grade.PASS, 0),
            fail=grades.get(Grade.FAIL, 0),
        )

    @classmethod
    def from_grades(cls, grades: Iterable[Grade | str]) -> Tally:
        """Count individual ballots (their order is forgotten on purpose)."""
        counts = Counter(Grade(g) for g in grades)
        return cls.of({g.value: counts[g] for g in Grade})

    def count(self, grade_: Grade) -> int:
        """Return the number of ballots of one grade."""
        return {
            Grade.EXCELLENT: self.excellent,
            Grade.GOOD: self.good,
            Grade.PASS: self.pass_,
            Grade.FAIL: self.fail,
        }[grade_]

    @property
    def total(self) -> int:
        """The number of ballots."""
        return self.excellent + self.good + self.pass_ + self.fail


@dataclass(frozen=True)
class DemocraticScore(_Explained):
    """The democratic score of one cadre, or ``None`` with the reason there is none."""

    score: Decimal | None
    reason: Flag | None  # Flag.TOO_FEW_BALLOTS when score is None
    tally: Tally
    ballots: int
    dropped: tuple[Grade, ...]  # (highest, lowest) when trimmed, else ()
    counted: int  # ballots that were averaged
    points_total: Decimal | None  # Σ points of the counted ballots


def democratic_score(grades: Tally | Mapping[str, int], rules: DemocraticRules) -> DemocraticScore:
    """Average the points of the ballots, trimming one highest and one lowest when there are many.

    Trimming blunts a single friend or a single grudge; below the minimum number of ballots an
    average says more about who happened to vote than about the cadre, so there is no score and
    the monthly score renormalises the source away.
    """
    tally = Tally.of(grades)
    ballots = tally.total
    if ballots < rules.min_ballots:
        return DemocraticScore(
            score=None,
            reason=Flag.TOO_FEW_BALLOTS,
            tally=tally,
            ballots=ballots,
            dropped=(),
            counted=0,
            points_total=None,
        )
    points_total = sum((rules.points.of(g) * tally.count(g) for g in Grade), ZERO)
    counted = ballots
    dropped: tuple[Grade, ...] = ()
    if ballots >= rules.trim_from:
        present = [g for g in GRADE_ORDER if tally.count(g) > 0]
        highest, lowest = present[0], present[-1]
        points_total -= rules.points.of(highest) + rules.points.of(lowest)
        counted -= 2
        dropped = (highest, lowest)
    return DemocraticScore(
        score=round_score(points_total / counted),
        reason=None,
        tally=tally,
        ballots=ballots,
        dropped=dropped,
        counted=counted,
        points_total=points_total,
    )


# ---------------------------------------------------------------------------------------------
# Monthly score


@dataclass(frozen=True)
class SourceLine(_Explained):
    """One source of a monthly score, as it was used."""

    source: Source
    value: Decimal | None  # the figure submitted, None when missing
    weight: Decimal  # the scheme's weight
    counted: Decimal | None  # the figure used: value, 0 under the ZERO rule, None if left out
    weight_used: Decimal  # weight / total weight of the counted sources, 4 decimals (display)
    rule: MissingRule | None  # the rule applied when the source was missing


@dataclass(frozen=True)
class MonthlyScore(_Explained):
    """A cadre's monthly score (月度考核) and how it came about.

    ``score = round(weighted_sum / weight_total)``; ``weight_total`` is below 1 exactly when a
    source was left out and the others were renormalised.
    """

    score: Decimal | None
    lines: tuple[SourceLine, ...]
    weighted_sum: Decimal
    weight_total: Decimal
    flags: tuple[Flag, ...]

    @property
    def renormalised(self) -> bool:
        """Whether a missing source was left out and the other weights scaled up."""
        return any(line.counted is None for line in self.lines)


def _source_figure(value: Any, *, name: str) -> tuple[Decimal | None, Flag | None]:
    """Accept a plain score or an earlier result; return the figure and a reason for none."""
    if value is None:
        return None, None
    if isinstance(value, DemocraticScore):
        return value.score, value.reason
    if isinstance(value, WeightedRating | ItemScore):
        return value.score, None
    return _score_input(value, name=name), None


def monthly_score(
    head: Number | WeightedRating | None,
    democratic: Number | DemocraticScore | None,
    self_: Number | WeightedRating | None,
    weights: SourceWeights,
    policy: MissingPolicy,
    excused: frozenset[Source] = frozenset(),
) -> MonthlyScore:
    """Combine the head's rating, the democratic score and the self-score (0.5/0.3/0.2).

    A missing source follows ``policy``: a missing self-score is the cadre's own omission and
    counts 0; a missing head rating is not the cadre's fault, so it is left out and the remaining
    weights are scaled up to the full score (and the head is flagged); a democratic evaluation
    with too few ballots is likewise left out. A missing source in ``excused`` (the self-score of
    a cadre on leave at the deadline) is no omission: left out like a missing head rating, and
    flagged as excused rather than missing.
    """
    given = {Source.HEAD: head, Source.DEMOCRATIC: democratic, Source.SELF: self_}
    flags: list[Flag] = []
    staged: list[tuple[Source, Decimal | None, Decimal, Decimal | None, MissingRule | None]] = []
    for source in Source:
        value, reason = _source_figure(given[source], name=f"the {source} score")
        weight = weights.of(source)
        if value is not None:
            staged.append((source, value, weight, value, None))
            continue
        rule = MissingRule.RENORMALISE if source in excused else policy.of(source)
        if source in excused:
            flags.append(
                Flag.SELF_EXCUSED if source is Source.SELF else _SOURCE_MISSING_FLAG[source]
            )
        else:
            flags.append(_SOURCE_MISSING_FLAG[source])
        if reason is not None and reason not in flags:
            flags.append(reason)
        counted = ZERO if rule is MissingRule.ZERO else None
        staged.append((source, None, weight, counted, rule))
    weight_total = sum((w for _, _, w, c, _ in staged if c is not None), ZERO)
    weighted_sum = sum((w * c for _, _, w, c, _ in staged if c is not None), ZERO)
    if weight_total <= 0:
        flags.append(Flag.NO_SOURCES)
        score = None
    else:
        score = round_score(weighted_sum / weight_total)
    lines = tuple(
        SourceLine(
            source=source,
            value=value,
            weight=weight,
            counted=counted,
            weight_used=(
                (weight / weight_total).quantize(WEIGHT_STEP, rounding=ROUND_HALF_UP)
                if counted is not None and weight_total > 0
                else ZERO
            ),
            rule=rule,
        )
        for source, value, weight, counted, rule in staged
    )
    return MonthlyScore(
        score=score,
        lines=lines,
        weighted_sum=weighted_sum,
        weight_total=weight_total,
        flags=tuple(flags),
    )


# ---------------------------------------------------------------------------------------------
# Office rules (机关制度)


@dataclass(frozen=True)
class Deduction(_Explained):
    """One recorded violation: its catalogue key and the points it costs."""

    points: Decimal
    key: str = ""

    def __post_init__(self) -> None:
        if to_decimal(self.points, name="deduction") < 0:
            raise ScoringError("a deduction must not be negative; record a reward instead")


@dataclass(frozen=True)
class OfficeRulesScore(_Explained):
    """The month's office-rules score: the base minus the deductions, never below 0."""

    score: Decimal
    base: Decimal
    deducted: Decimal
    deductions: tuple[Deduction, ...]
    flags: tuple[Flag, ...]


def office_rules_score(
    deductions: Iterable[Deduction | Number], base: Number = HUNDRED
) -> OfficeRulesScore:
    """Score the month's discipline: base (100) minus the recorded deductions, floored at 0.

    The floor keeps one bad month from eating into the performance part of the year-end bonus:
    the office-rules share is worth at most its own share.
    """
    base_d = to_decimal(base, name="base")
    items = tuple(
        d if isinstance(d, Deduction) else Deduction(points=to_decimal(d, name="deduction"))
        for d in deductions
    )
    deducted = sum((d.points for d in items), ZERO)
    raw = base_d - deducted
    flags: tuple[Flag, ...] = ()
    if raw < 0:
        raw, flags = ZERO, (Flag.FLOORED,)
    return OfficeRulesScore(
        score=round_score(raw), base=base_d, deducted=deducted, deductions=items, flags=flags
    )


def mean_score(values: Iterable[Number | None]) -> Decimal | None:
    """Mean of the given scores, skipping ``None``, rounded to one decimal; ``None`` if empty."""
    present = [to_decimal(v, name="score") for v in values if v is not None]
    if not present:
        return None
    return round_score(sum(present, ZERO) / len(present))


def office_rules_mean(scores: Iterable[Number | OfficeRulesScore | None]) -> Decimal | None:
    """The mean monthly office-rules score that enters the year-end bonus."""
    return mean_score(s.score if isinstance(s, OfficeRulesScore) else s for s in scores)


# ---------------------------------------------------------------------------------------------
# Quarter, half year, year


@dataclass(frozen=True)
class Adjustment(_Explained):
    """A leadership adjustment (逐人逐条 review): a signed value and the written reason."""

    value: Decimal
    reason: str

    def __post_init__(self) -> None:
        to_decimal(self.value, name="adjustment")
        if not isinstance(self.reason, str) or not self.reason.strip():
            raise ScoringError("an adjustment needs a written reason")


@dataclass(frozen=True)
class PeriodScore(_Explained):
    """A quarterly, half-year or annual score: a mean of shorter periods, then adjustments."""

    kind: Literal["quarter", "half_year", "year"]
    score: Decimal | None
    inputs: tuple[Decimal | None, ...]  # one per month / quarter, None when it has no score
    mean: Decimal | None  # rounded to one decimal before adjusting
    adjustments: tuple[Adjustment, ...]
    adjustment_total: Decimal
    flags: tuple[Flag, ...]


def _period_score(
    kind: Literal["quarter", "half_year", "year"],
    parts: Sequence[Any],
    size: int,
    adjustments: Sequence[Adjustment],
) -> PeriodScore:
    if len(parts) > size:
        raise ScoringError(f"a {kind} has at most {size} parts, got {len(parts)}")
    inputs: list[Decimal | None] = []
    for part in parts:
        value = part.score if isinstance(part, MonthlyScore | PeriodScore) else part
        inputs.append(None if value is None else _score_input(value, name="period input"))
    for adjustment in adjustments:
        if not isinstance(adjustment, Adjustment):
            raise ScoringError("adjustments must be Adjustment(value, reason)")
    flags: list[Flag] = []
    if len(inputs) < size or any(v is None for v in inputs):
        flags.append(Flag.INCOMPLETE)
    mean = mean_score(inputs)
    adjustment_total = sum((a.value for a in adjustments), ZERO)
    if mean is None:
        if adjustments:
            raise ScoringError(f"cannot adjust a {kind} that has no score")
        flags.append(Flag.NO_SOURCES)
        score = None
    else:
        raw = mean + adjustment_total
        if raw < 0 or raw > HUNDRED:
            flags.append(Flag.CLAMPED)
            raw = min(max(raw, ZERO), HUNDRED)
        score = round_score(raw)
    return PeriodScore(
        kind=kind,
        score=score,
        inputs=tuple(inputs),
        mean=mean,
        adjustments=tuple(adjustments),
        adjustment_total=adjustment_total,
        flags=tuple(flags),
    )


def quarterly_score(
    monthly_scores: Sequence[Number | MonthlyScore | None],
    adjustments: Sequence[Adjustment] = (),
) -> PeriodScore:
    """The quarterly score (季度一大考): mean of the months, then the leadership's adjustments.

    Months without a score (a cadre who joined mid-quarter) are skipped and the result is flagged
    ``incomplete``. The adjusted figure is clamped to 0-100 so that a generous adjustment cannot
    produce a score no one else could reach.
    """
    return _period_score("quarter", monthly_scores, 3, adjustments)


def half_year_score(
    quarterly_scores: Sequence[Number | PeriodScore | None],
    adjustments: Sequence[Adjustment] = (),
) -> PeriodScore:
    """The half-year summary (半年一小结): mean of the two quarterly scores.

    Quarters rather than months, so that the leadership's quarterly adjustments count.
    """
    return _period_score("half_year", quarterly_scores, 2, adjustments)


def annual_score(
    quarterly_scores: Sequence[Number | PeriodScore | None],
    adjustments: Sequence[Adjustment] = (),
) -> PeriodScore:
    """The annual performance score (全年一总结): mean of the four quarterly scores.

    Quarters rather than months, so that the adjustments made in each quarterly review count;
    with full quarters the two means coincide up to rounding.
    """
    return _period_score("year", quarterly_scores, 4, adjustments)


# ---------------------------------------------------------------------------------------------
# Grades


def grade(score: Number, bands: GradeBands) -> Grade:
    """Return the grade of a score by the bands alone (no cap)."""
    value = _score_input(score, name="score")
    if value >= bands.excellent:
        return Grade.EXCELLENT
    if value >= bands.good:
        return Grade.GOOD
    if value >= bands.pass_:
        return Grade.PASS
    return Grade.FAIL


@dataclass(frozen=True)
class GradeAssignment(_Explained, Generic[K]):
    """Grades of a group of cadres under the optional cap on the share of 优秀.

    ``tied`` cadres are tied at the cap's edge: they hold 良好 provisionally and the leadership
    decides who gets the ``slots_for_tied`` remaining 优秀 places.
    """

    grades: Mapping[K, Grade]
    flags: Mapping[K, tuple[Flag, ...]]
    scores: Mapping[K, Decimal]
    cap: Decimal | None
    max_excellent: int | None  # floor(cap × number of cadres); None without a cap
    eligible: tuple[K, ...]  # 优秀 by score alone
    tied: tuple[K, ...]
    capped: tuple[K, ...]  # 优秀 by score but beyond the cap (not tied)
    slots_for_tied: int

    def count(self, grade_: Grade) -> int:
        """Return how many cadres hold a grade."""
        return sum(1 for g in self.grades.values() if g is grade_)


def assign_grades(
    scores: Mapping[K, Number], bands: GradeBands, cap: Decimal | None = None
) -> GradeAssignment[K]:
    """Grade every cadre by the bands, then apply the cap on the share of 优秀, if any.

    The cap allows at most floor(cap × number of cadres) 优秀 and is never exceeded. When cadres
    with equal scores straddle the cap's edge, no rule here may pick among them (a random draw or
    the roster order would be unfair and unexplainable), so all of them get 良好 provisionally,
    the flag ``tie_at_cap``, and the leadership decides in its review.
    """
    values = {key: _score_input(v, name=f"score of {key}") for key, v in scores.items()}
    grades: dict[K, Grade] = {key: grade(v, bands) for key, v in values.items()}
    flags: dict[K, tuple[Flag, ...]] = {key: () for key in values}
    eligible = tuple(key for key, g in grades.items() if g is Grade.EXCELLENT)
    max_excellent: int | None = None
    tied: tuple[K, ...] = ()
    capped: tuple[K, ...] = ()
    slots_for_tied = 0
    if cap is not None:
        cap_d = to_decimal(cap, name="cap")
        if not ZERO <= cap_d <= ONE:
            raise ScoringError(f"the cap on 优秀 must be a share between 0 and 1, got {cap_d}")
        max_excellent = int((cap_d * len(values)).to_integral_value(rounding=ROUND_FLOOR))
        if len(eligible) > max_excellent:
            ordered = sorted(eligible, key=lambda k: values[k], reverse=True)
            edge = values[ordered[max_excellent]]
            above = [k for k in eligible if values[k] > edge]
            at_edge = [k for k in eligible if values[k] == edge]
            below = [k for k in eligible if values[k] < edge]
            slots_for_tied = max_excellent - len(above)
            if slots_for_tied > 0:
                tied = tuple(at_edge)
                capped = tuple(below)
            else:
                capped = tuple(at_edge + below)
            for key in tied:
                grades[key], flags[key] = Grade.GOOD, (Flag.TIE_AT_CAP,)
            for key in capped:
                grades[key], flags[key] = Grade.GOOD, (Flag.CAPPED,)
    return GradeAssignment(
        grades=grades,
        flags=flags,
        scores=values,
        cap=None if cap is None else to_decimal(cap, name="cap"),
        max_excellent=max_excellent,
        eligible=eligible,
        tied=tied,
        capped=capped,
        slots_for_tied=slots_for_tied,
    )


# ---------------------------------------------------------------------------------------------
# Year-end bonus


@dataclass(frozen=True)
class Bonus(_Explained):
    """The year-end performance bonus (年终绩效管理奖) and its parts, in money."""

    amount: Decimal
    base: Decimal
    share: Decimal  # the office-rules share of the bonus
    office_rules_mean: Decimal
    annual_score: Decimal
    office_rules_part: Decimal  # base × share × office_rules_mean / 100, to the cent
    performance_part: Decimal  # base × (1 − share) × annual_score / 100, to the cent
    rewards: tuple[Decimal, ...]
    deductions: tuple[Decimal, ...]
    flags: tuple[Flag, ...] = field(default=())


def _money_list(values: Iterable[Number] | Number, *, name: str) -> tuple[Decimal, ...]:
    items = (values,) if isinstance(values, Decimal | int) else tuple(values)
    result = []
    for value in items:
        amount = to_decimal(value, name=name)
        if amount < 0:
            raise ScoringError(f"{name} must not be negative, got {amount}")
        result.append(round_money(amount))
    return tuple(result)


def year_end_bonus(
    base: Number,
    office_rules_mean: Number,
    annual_score: Number,
    share: Number,
    rewards: Iterable[Number] | Number = (),
    deductions: Iterable[Number] | Number = (),
) -> Bonus:
    """Compute base × (share × office_rules/100 + (1 − share) × annual/100) + rewards − deductions.

    Each part is rounded to the cent before adding, so the parts a cadre is shown add up to the
    amount exactly. The amount never goes below zero: a deduction takes away a bonus, it does not
    send the cadre a bill.
    """
    base_d = to_decimal(base, name="base")
    if base_d < 0:
        raise ScoringError("the bonus base must not be negative")
    share_d = to_decimal(share, name="share")
    if not ZERO <= share_d <= ONE:
        raise ScoringError(f"the office-rules share must be between 0 and 1, got {share_d}")
    office = _score_input(office_rules_mean, name="office-rules mean")
    annual = _score_input(annual_score, name="annual score")
    reward_items = _money_list(rewards, name="reward")
    deduction_items = _money_list(deductions, name="deduction")
    office_part = round_money(base_d * share_d * office / HUNDRED)
    performance_part = round_money(base_d * (ONE - share_d) * annual / HUNDRED)
    amount = office_part + performance_part + sum(reward_items, ZERO) - sum(deduction_items, ZERO)
    flags: tuple[Flag, ...] = ()
    if amount < 0:
        amount, flags = ZERO, (Flag.FLOORED,)
    return Bonus(
        amount=round_money(amount),
        base=base_d,
        share=share_d,
        office_rules_mean=office,
        annual_score=annual,
        office_rules_part=office_part,
        performance_part=performance_part,
        rewards=reward_items,
        deductions=deduction_items,
        flags=flags,
    )
