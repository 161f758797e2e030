"""The scheme file (考核方案): every rule of the appraisal that a township may set, in TOML.

Why a file and not constants: each town weighs its items, windows and grades its own way, and the
office clerk must be able to read and change them without a programmer. So the file is validated
strictly and all at once: unknown keys are refused (a typo must not silently fall back to a
default), every problem is reported with its key path (``items.village``,
``bonus.office_rules_share``) in a single :class:`SchemeError`, and TOML syntax errors carry their
line and column.

``examples/scheme.toml`` is the one source of truth for the defaults; :func:`default_scheme`
loads it and these models hold no defaults of their own (the only optional key is the cap on the
share of 优秀, which is "none" when absent).

A period freezes the scheme in force with :meth:`Scheme.to_json` and :meth:`Scheme.fingerprint`,
so changing the file later never rewrites the past; :meth:`Scheme.from_json` brings it back.

The adapters (:meth:`Scheme.source_weights`, :meth:`Scheme.grade_bands`, ...) hand the relevant
part to the pure functions of :mod:`bot.rules.scoring`.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from bot.rules import scoring
from bot.rules.numbers import plain

__all__ = [
    "ORDINARY",
    "VILLAGE",
    "BallotPoints",
    "Bonus",
    "CategoryItems",
    "Democratic",
    "Grades",
    "Item",
    "ItemsTable",
    "Missing",
    "MonthlyWindow",
    "Notifications",
    "OfficeRules",
    "Quarterly",
    "Scheme",
    "SchemeError",
    "SchemeProblem",
    "Sources",
    "Targets",
    "Violation",
    "ViolationTable",
    "parse_scheme",
    "upgrade",
]


ORDINARY = "ordinary"  # 机关干部: every cadre
VILLAGE = "village"  # 分工蹲点村干部: a cadre with an assigned village
REQUIRED_CATEGORIES: tuple[str, ...] = (ORDINARY, VILLAGE)

HUNDRED = Decimal(100)

Key = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Percent = Annotated[Decimal, Field(ge=0, le=100)]
Share = Annotated[Decimal, Field(ge=0, le=1)]
Duration = Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{0,3}[dhm]$")]

_WEIGHTS_ERROR = "category_weights"
_KEY_HINT = "use lowercase ASCII letters, digits and _, starting with a letter"


def _rule(code: str, message: str, **params: Any) -> PydanticCustomError:
    """A validation failure: ``code`` and ``params`` for the templates that word it in the
    office's language (``templates/<lang>/cli/scheme_invalid.j2``), and ``message`` in English
    for logs and as the fallback."""
    text = message.replace("{", "(").replace("}", ")")
    return PydanticCustomError(code, text, {k: _param(v) for k, v in params.items()})


def _param(value: Any) -> Any:
    if isinstance(value, Decimal):
        return plain(value)
    if isinstance(value, list | tuple):
        return [_param(v) for v in value]
    return value if isinstance(value, int | str) else str(value)


class _Model(BaseModel):
    """Frozen (a frozen period must not change under us) and strict about unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def _with_keys(data: Any) -> Any:
    """Copy each table's name into its ``key`` so an item knows its own key."""
    if isinstance(data, dict):
        return {k: ({"key": k, **v} if isinstance(v, dict) else v) for k, v in data.items()}
    return data


# ---------------------------------------------------------------------------------------------
# Items


class Item(_Model):
    """One assessment item of a category (本职工作, 中心工作, 蹲点村工作)."""

    key: Key
    title_zh: Title
    title_en: Title
    weight: Annotated[Decimal, Field(gt=0, le=100)]
    method: Literal["judged", "quantified"]

    @property
    def quantified(self) -> bool:
        """Whether the item is scored from targets: min(actual / target, 1) × 100."""
        return self.method == "quantified"

    def title(self, language: str) -> str:
        """The title in ``zh`` or ``en`` (any other language gets the Chinese title)."""
        return self.title_en if language == "en" else self.title_zh


class CategoryItems(RootModel[dict[Key, Item]]):
    """The items of one cadre category, keyed by item key; their weights add up to 100."""

    model_config = ConfigDict(frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _inject_keys(cls, data: Any) -> Any:
        return _with_keys(data)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not self.root:
            raise _rule("category_empty", "a category needs at least one item")
        for name, item in self.root.items():
            if item.key != name:
                raise _rule(
                    "item_key_mismatch",
                    f"item '{name}' has key '{item.key}'; drop the key or make it match",
                    name=name,
                    key=item.key,
                )
        total = sum((item.weight for item in self.root.values()), Decimal(0))
        if total != HUNDRED:
            # The category's name is only known one level up: _errors_from puts it back in.
            raise PydanticCustomError(
                _WEIGHTS_ERROR,
                "the weights of this category add up to {total}, not 100",
                {"total": plain(total)},
            )
        return self


class ItemsTable(RootModel[dict[Key, CategoryItems]]):
    """All categories; ``ordinary`` and ``village`` must both be present."""

    model_config = ConfigDict(frozen=True)

    @model_validator(mode="after")
    def _check(self) -> Self:
        missing = [c for c in REQUIRED_CATEGORIES if c not in self.root]
        if missing:
            raise _rule(
                "missing_categories", f"missing categories: {', '.join(missing)}", missing=missing
            )
        return self


# ---------------------------------------------------------------------------------------------
# Sources, missing submissions, democratic evaluation, grades


class Sources(_Model):
    """Weights of the three sources of the monthly score; they add up to 1."""

    head: Share
    democratic: Share
    self_: Share = Field(alias="self")

    @model_validator(mode="after")
    def _check(self) -> Self:
        total = self.head + self.democratic + self.self_
        if total != 1:
            raise _rule(
                "source_weights", f"the source weights add up to {plain(total)}, not 1", total=total
            )
        return self


class Missing(_Model):
    """What each source does when it was not submitted: ``zero`` or ``renormalise``."""

    head: scoring.MissingRule
    democratic: scoring.MissingRule
    self_: scoring.MissingRule = Field(alias="self")


class BallotPoints(_Model):
    """Points of a ballot of each grade; strictly decreasing."""

    excellent: Percent
    good: Percent
    pass_: Percent = Field(alias="pass")
    fail: Percent

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not self.excellent > self.good > self.pass_ > self.fail:
            raise _rule("points_order", "the points must decrease: excellent > good > pass > fail")
        return self


class Democratic(_Model):
    """The democratic evaluation (民主测评)."""

    cadence: Literal["monthly", "quarterly"]
    scope: Literal["unit", "department"]
    scope_department_above: Annotated[int, Field(ge=1)]
    min_ballots: Annotated[int, Field(ge=1)]
    trim_from: Annotated[int, Field(ge=3)]
    points: BallotPoints


class Grades(_Model):
    """Grade bands and the optional cap on the share of 优秀."""

    excellent: Percent
    good: Percent
    pass_: Percent = Field(alias="pass")
    tie_rule: Literal["flag"]
    excellent_cap: Annotated[Decimal, Field(gt=0, le=1)] | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not self.excellent > self.good > self.pass_:
            raise _rule("bands_order", "the bands must decrease: excellent > good > pass")
        return self


# ---------------------------------------------------------------------------------------------
# Windows


def _duration(text: str) -> timedelta:
    """Read a reminder offset such as ``3d``, ``2h`` or ``30m`` (a clerk knows these, not ISO)."""
    amount, unit = int(text[:-1]), text[-1]
    return {"d": timedelta(days=amount), "h": timedelta(hours=amount)}.get(
        unit, timedelta(minutes=amount)
    )


class MonthlyWindow(_Model):
    """When the appraisal of month M is open, and when people are reminded.

    It opens on ``open_day`` of M and closes on ``close_day`` of M+1; days stop at 28 so that
    every month, February included, has them.
    """

    open_day: Annotated[int, Field(ge=1, le=28)]
    open_time: time
    close_day: Annotated[int, Field(ge=1, le=28)]
    close_time: time
    timezone: str
    remind_at_opening: bool
    remind_before_deadline: tuple[Duration, ...]
    working_days: bool  # a deadline or reminder on a weekend or holiday moves to a working day

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise _rule(
                "unknown_timezone", f"unknown time zone '{value}', e.g. Asia/Shanghai", value=value
            ) from exc
        return value

    @field_validator("open_time", "close_time")
    @classmethod
    def _naive(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise _rule(
                "local_time", "give a local time such as 09:00:00; the zone is set by 'timezone'"
            )
        return value

    @model_validator(mode="after")
    def _check(self) -> Self:
        # The shortest window is the one that opens in February of a common year.
        shortest = datetime.combine(date(2023, 3, self.close_day), self.close_time) - (
            datetime.combine(date(2023, 2, self.open_day), self.open_time)
        )
        offsets = self.reminder_offsets
        if len(set(offsets)) != len(offsets):
            raise _rule("reminder_repeat", "the reminders before the deadline repeat an offset")
        too_early = [text for text in self.remind_before_deadline if _duration(text) >= shortest]
        if too_early:
            raise _rule(
                "reminder_too_early",
                f"reminders {', '.join(too_early)} would fall before the window opens "
                f"(the shortest window lasts {shortest})",
                offsets=too_early,
                days=shortest.days,
                hours=shortest.seconds // 3600,
            )
        return self

    @property
    def zone(self) -> ZoneInfo:
        """The town's time zone."""
        return ZoneInfo(self.timezone)

    @property
    def reminder_offsets(self) -> tuple[timedelta, ...]:
        """How long before the deadline each reminder goes out, longest first."""
        return tuple(sorted((_duration(t) for t in self.remind_before_deadline), reverse=True))

    def window(self, year: int, month: int) -> tuple[datetime, datetime]:
        """Return (opens, closes) of the appraisal of ``month``, as aware datetimes."""
        if not 1 <= month <= 12:
            raise ValueError(f"month must be 1-12, got {month}")
        next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
        opens = datetime.combine(date(year, month, self.open_day), self.open_time, self.zone)
        closes = datetime.combine(
            date(next_year, next_month, self.close_day), self.close_time, self.zone
        )
        return opens, closes

    def reminder_times(self, year: int, month: int) -> tuple[datetime, ...]:
        """Return when reminders for ``month`` go out, in order (aware datetimes)."""
        opens, closes = self.window(year, month)
        times = [opens] if self.remind_at_opening else []
        times += [closes - offset for offset in self.reminder_offsets]
        return tuple(sorted(set(times)))


class Quarterly(_Model):
    """The quarterly review (逐人逐条), the public notice (公示) and the appeal window."""

    review_days: Annotated[int, Field(ge=1, le=31)]
    appeal_days: Annotated[int, Field(ge=1, le=31)]
    notice_days: Annotated[int, Field(ge=1, le=31)]
    reviewers: tuple[Title, ...]  # roster titles (职务) of the reviewing leaders
    chair: Title  # the title of the one who publishes (组长)
    rank_band: bool  # tell each cadre their rank band (前 20% …) with their result

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not self.reviewers:
            raise _rule("reviewers_empty", "name at least one reviewing leader by title")
        if self.chair not in self.reviewers:
            raise _rule(
                "chair_not_reviewer",
                f"the chair '{self.chair}' must be one of the reviewers",
                chair=self.chair,
            )
        return self


class Targets(_Model):
    """How a quantified item's annual target is spread over the months.

    ``even``: each month's target is the annual target ÷ 12 (unless the targets sheet gives the
    month its own figure); ``annual``: a month is compared with the whole year's target (how
    version 1 of the scheme scored, kept for the periods frozen under it).
    """

    pace: Literal["even", "annual"]


class Notifications(_Model):
    """What the bot sends by itself, and when it keeps quiet."""

    quiet_start: time  # no reminder between quiet_start and quiet_end (local time)
    quiet_end: time
    monthly_result: bool  # each cadre privately gets their monthly result when a month closes

    @field_validator("quiet_start", "quiet_end")
    @classmethod
    def _naive(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise _rule("local_time", "give a local time such as 22:00:00")
        return value


# ---------------------------------------------------------------------------------------------
# Office rules and bonus


class Violation(_Model):
    """One kind of breach of the office rules (机关制度) and what it costs."""

    key: Key
    title_zh: Title
    title_en: Title
    points: Annotated[Decimal, Field(gt=0, le=100)]

    def title(self, language: str) -> str:
        """The title in ``zh`` or ``en`` (any other language gets the Chinese title)."""
        return self.title_en if language == "en" else self.title_zh


class ViolationTable(RootModel[dict[Key, Violation]]):
    """The catalogue of violations, keyed by violation key."""

    model_config = ConfigDict(frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _inject_keys(cls, data: Any) -> Any:
        return _with_keys(data)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not self.root:
            raise _rule("violations_empty", "the catalogue needs at least one violation")
        for name, violation in self.root.items():
            if violation.key != name:
                raise _rule(
                    "violation_key_mismatch",
                    f"violation '{name}' has key '{violation.key}'; make it match",
                    name=name,
                    key=violation.key,
                )
        return self


class OfficeRules(_Model):
    """The monthly office-rules score: a base minus the catalogue's deductions."""

    base: Annotated[Decimal, Field(gt=0, le=100)]
    violations: ViolationTable


class Bonus(_Model):
    """The year-end performance bonus (年终绩效管理奖)."""

    base: Annotated[Decimal, Field(ge=0)]
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
    office_rules_share: Decimal

    @field_validator("base")
    @classmethod
    def _cents(cls, value: Decimal) -> Decimal:
        if value != value.quantize(Decimal("0.01")):
            raise _rule("money_decimals", "money has at most two decimals")
        return value

    @field_validator("office_rules_share")
    @classmethod
    def _share(cls, value: Decimal) -> Decimal:
        if not Decimal("0.10") <= value <= Decimal("0.20"):
            raise _rule(
                "share_range",
                f"must be between 0.10 and 0.20 (10%-20%), got {plain(value)}",
                value=value,
            )
        return value


# ---------------------------------------------------------------------------------------------
# The scheme


class Scheme(_Model):
    """The whole appraisal scheme, as frozen with each period."""

    version: Literal[2]
    items: ItemsTable
    sources: Sources
    missing: Missing
    democratic: Democratic
    grades: Grades
    monthly_window: MonthlyWindow
    quarterly: Quarterly
    office_rules: OfficeRules
    bonus: Bonus
    targets: Targets
    notifications: Notifications

    # -- items ---------------------------------------------------------------------------------

    @property
    def categories(self) -> tuple[str, ...]:
        """The category keys, in file order."""
        return tuple(self.items.root)

    def items_for(self, category: str) -> tuple[Item, ...]:
        """The items of a category, in file order."""
        try:
            return tuple(self.items.root[category].root.values())
        except KeyError:
            raise KeyError(f"unknown category {category!r}") from None

    def item(self, category: str, key: str) -> Item:
        """One item of a category."""
        for item in self.items_for(category):
            if item.key == key:
                return item
        raise KeyError(f"category {category!r} has no item {key!r}")

    def weights_for(self, category: str) -> dict[str, Decimal]:
        """Item key -> weight, ready for :func:`bot.rules.scoring.weighted_rating`."""
        return {item.key: item.weight for item in self.items_for(category)}

    @staticmethod
    def category_for(*, has_village: bool) -> str:
        """The category of a cadre: ``village`` when a village is assigned, else ``ordinary``."""
        return VILLAGE if has_village else ORDINARY

    # -- office rules --------------------------------------------------------------------------

    @property
    def violations(self) -> tuple[Violation, ...]:
        """The catalogue of violations, in file order."""
        return tuple(self.office_rules.violations.root.values())

    def violation(self, key: str) -> Violation:
        """One violation of the catalogue by key."""
        try:
            return self.office_rules.violations.root[key]
        except KeyError:
            raise KeyError(f"unknown violation {key!r}") from None

    def deduction(self, key: str) -> scoring.Deduction:
        """A recorded violation as a :class:`bot.rules.scoring.Deduction`."""
        return scoring.Deduction(points=self.violation(key).points, key=key)

    # -- adapters to bot.rules.scoring --------------------------------------------------------

    def source_weights(self) -> scoring.SourceWeights:
        """The monthly-score weights for :func:`bot.rules.scoring.monthly_score`."""
        s = self.sources
        return scoring.SourceWeights(head=s.head, democratic=s.democratic, self_=s.self_)

    def missing_policy(self) -> scoring.MissingPolicy:
        """The missing-submission policy for :func:`bot.rules.scoring.monthly_score`."""
        m = self.missing
        return scoring.MissingPolicy(head=m.head, democratic=m.democratic, self_=m.self_)

    def democratic_rules(self) -> scoring.DemocraticRules:
        """The ballot rules for :func:`bot.rules.scoring.democratic_score`."""
        d = self.democratic
        points = scoring.GradePoints(
            excellent=d.points.excellent,
            good=d.points.good,
            pass_=d.points.pass_,
            fail=d.points.fail,
        )
        return scoring.DemocraticRules(
            points=points, min_ballots=d.min_ballots, trim_from=d.trim_from
        )

    def grade_bands(self) -> scoring.GradeBands:
        """The grade bands for :func:`~bot.rules.scoring.grade` and ``assign_grades``."""
        g = self.grades
        return scoring.GradeBands(excellent=g.excellent, good=g.good, pass_=g.pass_)

    @property
    def excellent_cap(self) -> Decimal | None:
        """The cap on the share of 优秀 (``None``: no cap)."""
        return self.grades.excellent_cap

    def democratic_scope(self, unit_size: int) -> Literal["unit", "department"]:
        """Who grades whom in a unit of ``unit_size`` cadres."""
        if self.democratic.scope == "department":
            return "department"
        return "department" if unit_size > self.democratic.scope_department_above else "unit"

    def democratic_in_month(self, month: int) -> bool:
        """Whether the window of ``month`` carries a democratic evaluation.

        With a quarterly cadence it runs in the last month of each quarter (March, June, ...).
        """
        return self.democratic.cadence == "monthly" or month % 3 == 0

    # -- freezing ------------------------------------------------------------------------------

    def to_json(self) -> str:
        """The scheme as JSON, to be stored with a period (decimals kept exact, as strings)."""
        return self.model_dump_json(by_alias=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> Scheme:
        """Bring back a scheme frozen with :meth:`to_json` (a version 1 one as it scored then)."""
        try:
            return cls.model_validate(upgrade(json.loads(text)))
        except ValidationError as exc:
            raise SchemeError(_errors_from(exc)) from None

    def fingerprint(self) -> str:
        """SHA-256 of the canonical JSON: equal schemes give equal fingerprints.

        Canonical means sorted keys and decimals without trailing zeros, so that ``0.5`` and
        ``0.50`` (the same rule) do not look like a change of scheme.
        """
        canonical = json.dumps(
            _canonical(self.model_dump(mode="python", by_alias=True)),
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return plain(value)
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


# ---------------------------------------------------------------------------------------------
# Loading


@dataclass(frozen=True)
class SchemeProblem:
    """One problem of a scheme file: where (a key path), what (a code and its figures), and
    pydantic's or our English sentence (for logs, and for a code the templates do not word)."""

    path: str
    code: str
    message: str
    params: dict[str, Any] = field(default_factory=dict)


class SchemeError(Exception):
    """A scheme file that cannot be used: every problem at once.

    ``problems`` carry codes for the templates; ``errors`` the same as (key path, English message)
    pairs.
    """

    def __init__(
        self, problems: list[SchemeProblem] | list[tuple[str, str]], source: str | None = None
    ) -> None:
        self.problems = [
            p if isinstance(p, SchemeProblem) else SchemeProblem(p[0], "other", p[1])
            for p in problems
        ]
        errors = [(p.path, p.message) for p in self.problems]
        self.errors = errors
        self.source = source
        lines = [f"{path}: {message}" if path else message for path, message in errors]
        head = f"invalid scheme {source}" if source else "invalid scheme"
        super().__init__(head + "\n" + "\n".join(f"  {line}" for line in lines))


_MESSAGES = {
    "extra_forbidden": "unknown key",
    "missing": "missing key",
}


def _errors_from(exc: ValidationError) -> list[SchemeProblem]:
    """Turn pydantic's errors into problems a clerk can act on: key path, code, figures."""
    result: list[SchemeProblem] = []
    for error in exc.errors(include_url=False):
        loc = [str(part) for part in error["loc"]]
        code = error["type"]
        message = _MESSAGES.get(code, error["msg"])
        params = {k: _param(v) for k, v in (error.get("ctx") or {}).items()}
        if "input" in error and isinstance(error["input"], str | int | Decimal):
            params.setdefault("input", _param(error["input"]))
        if code == _WEIGHTS_ERROR and loc:
            params["category"] = loc[-1]
            message = (
                f"the weights of category '{loc[-1]}' add up to {params.get('total')}, not 100"
            )
        elif loc and loc[-1] == "[key]":
            loc.pop()
            code, params = "bad_key", {"value": loc[-1]}
            message = f"'{loc[-1]}' is not a valid key: {_KEY_HINT}"
        elif code == "string_pattern_mismatch" and loc and loc[-1] == "key":
            # The key copied from a table name that was already reported: say it once.
            if any(p.path == ".".join(loc[:-1]) and p.code == "bad_key" for p in result):
                continue
            code, params = "bad_key", {"value": params.get("input", "")}
            message = f"not a valid key: {_KEY_HINT}"
        elif code == "string_pattern_mismatch" and "remind_before_deadline" in loc:
            code = "reminder_format"
            message = "write an offset as a number and d, h or m, e.g. '3d', '2h', '30m'"
        message = message.removeprefix("Value error, ")
        result.append(SchemeProblem(".".join(loc), code, message, params))
    return result


_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")


def parse_scheme(text: str, *, source: str | None = None) -> Scheme:
    """Parse and validate the text of a scheme file; raise :class:`SchemeError` on any problem."""
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raw = str(exc.args[0]) if exc.args else str(exc)
        match = _POSITION.search(raw)
        reason = _POSITION.sub("", raw)
        line = getattr(exc, "lineno", None) or (match.group(1) if match else None)
        column = getattr(exc, "colno", None) or (match.group(2) if match else None)
        where = f" at line {line}, column {column}" if line else ""
        problem = SchemeProblem(
            "",
            "toml_syntax",
            f"TOML syntax error{where}: {reason}",
            {"line": line, "column": column, "reason": reason},
        )
        raise SchemeError([problem], source) from None
    try:
        return Scheme.model_validate(upgrade(data))
    except ValidationError as exc:
        raise SchemeError(_errors_from(exc), source) from None


#: What version 2 added, with the values that stand for how version 1 worked: months compared
#: with the year's target, and the notifications, review and calendar as the product shipped
#: them. A version 1 file (or a period frozen under one) reads as version 2 with these.
V1_ADDITIONS: dict[str, dict[str, Any]] = {
    "targets": {"pace": "annual"},
    "notifications": {"quiet_start": "22:00:00", "quiet_end": "08:00:00", "monthly_result": True},
    "quarterly": {
        "notice_days": 5,
        "reviewers": ["党委书记", "镇长"],
        "chair": "党委书记",
        "rank_band": False,
    },
    "monthly_window": {"working_days": True},
}


def upgrade(data: Any) -> Any:
    """A scheme of version 1 as version 2: its new keys take :data:`V1_ADDITIONS`' values.

    Anything else (a later version, a key misspelt) goes through unchanged, to be refused with
    its key path by the validation.
    """
    if not isinstance(data, dict) or data.get("version") != 1:
        return data
    upgraded = {**data, "version": 2}
    for section, values in V1_ADDITIONS.items():
        current = upgraded.get(section)
        if current is None:
            upgraded[section] = dict(values)
        elif isinstance(current, dict):
            upgraded[section] = {**values, **current}
    return upgraded
