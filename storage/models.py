"""SQLModel tables.

Every domain row belongs to a unit (a town) so that one deployment can later serve a county's
towns without a rewrite. Timestamps are timezone-aware UTC. Roles are stored as a sorted,
comma-separated set of role keys (``cadre,head``): the set is tiny and rarely queried alone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Index,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlmodel import Field, SQLModel

from bot.rules.roles import Role, decode_roles


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend.

    PostgreSQL keeps the zone; SQLite hands back naive values, which ``astimezone`` would then
    read as the server's local time. Values are stored in UTC and always come back aware.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: timestamps must be timezone-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Unit(SQLModel, table=True):
    """A town (or any organisation) that runs one appraisal."""

    __tablename__ = "unit"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    timezone: str = Field(default="Asia/Shanghai", max_length=64)
    leadership_chat_id: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class Department(SQLModel, table=True):
    """A department (部门) of a unit; cadres belong to exactly one."""

    __tablename__ = "department"
    __table_args__ = (UniqueConstraint("unit_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    name: str = Field(max_length=100)
    position: int = Field(default=0)


class Cadre(SQLModel, table=True):
    """A person on the roster: everyone the bot knows, whatever their roles."""

    __tablename__ = "cadre"
    __table_args__ = (
        UniqueConstraint("unit_id", "department_id", "name"),
        Index("ix_cadre_unit_telegram", "unit_id", "telegram_user_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    department_id: int = Field(foreign_key="department.id", index=True)
    name: str = Field(max_length=50)
    # The person's place in the roster file (rank within the department), for every list.
    position: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    roles: str = Field(default="cadre", max_length=64)
    title: str | None = Field(default=None, max_length=50)
    supervisor_id: int | None = Field(default=None, foreign_key="cadre.id")
    village: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=32)
    active: bool = Field(default=True)
    telegram_user_id: int | None = Field(default=None, sa_type=BigInteger, unique=True)
    language: str | None = Field(default=None, max_length=8)
    bound_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)

    @property
    def role_set(self) -> set[Role]:
        return decode_roles(self.roles)

    def has(self, role: Role) -> bool:
        return role in self.role_set

    @property
    def is_village_stationed(self) -> bool:
        return bool(self.village)


class InviteCode(SQLModel, table=True):
    """A one-time sign-up code; only its SHA-256 is stored, so a database copy leaks no codes."""

    __tablename__ = "invite_code"

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    cadre_id: int = Field(foreign_key="cadre.id", index=True)
    code_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    used_by_telegram_id: int | None = Field(default=None, sa_type=BigInteger)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by: str = Field(default="cli", max_length=64)


class SignupFailure(SQLModel, table=True):
    """A wrong sign-up code, kept to rate-limit guessing (5 a user an hour)."""

    __tablename__ = "signup_failure"

    id: int | None = Field(default=None, primary_key=True)
    telegram_user_id: int = Field(sa_type=BigInteger, index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class AuditLog(SQLModel, table=True):
    """Who changed what, when, from which value to which, and why."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    actor_cadre_id: int | None = Field(default=None, foreign_key="cadre.id")
    actor: str = Field(max_length=100)
    action: str = Field(max_length=64, index=True)
    entity: str = Field(max_length=64)
    entity_id: int | None = Field(default=None)
    old_value: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    new_value: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    reason: str | None = Field(default=None, max_length=500)


class ProcessedUpdate(SQLModel, table=True):
    """Update ids already handled: Telegram may deliver an update twice.

    Keyed by the bot too: update ids are each bot's own sequence, and the towns of a county may
    run their bots on one database. Rows of before the key had the bot carry ``bot_id`` 0.
    """

    __tablename__ = "processed_update"

    bot_id: int = Field(
        default=0,
        sa_type=BigInteger,
        primary_key=True,
        sa_column_kwargs={"autoincrement": False, "server_default": "0"},
    )
    update_id: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True)


class PersistedConversation(SQLModel, table=True):
    """The state of one ConversationHandler for one key, so conversations survive a restart."""

    __tablename__ = "persisted_conversation"

    name: str = Field(primary_key=True, max_length=64)
    key: str = Field(primary_key=True, max_length=128)
    state: Any = Field(default=None, sa_type=JSON)


class PersistedData(SQLModel, table=True):
    """python-telegram-bot's user, chat and bot data, as JSON (kind: user, chat, bot, callback)."""

    __tablename__ = "persisted_data"

    kind: str = Field(primary_key=True, max_length=16)
    key: str = Field(primary_key=True, max_length=64)
    data: Any = Field(default=None, sa_type=JSON)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


# --- Appraisal: scheme, periods, targets, submissions, ballots, office records, results -------


class DecimalText(TypeDecorator[Decimal]):
    """A Decimal stored as its exact text.

    Scores and money must come back exactly as computed (recompute must equal the stored
    figure); SQLite has no decimal type and SQLAlchemy warns when it would round-trip through
    float, so both backends store the canonical string.
    """

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Any) -> str | None:
        return None if value is None else str(Decimal(value))

    def process_result_value(self, value: str | None, dialect: Any) -> Decimal | None:
        return None if value is None else Decimal(value)


class SchemeVersion(SQLModel, table=True):
    """A scheme file as loaded; a period freezes the version in force when it opens."""

    __tablename__ = "scheme_version"
    __table_args__ = (UniqueConstraint("unit_id", "fingerprint"),)

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    fingerprint: str = Field(max_length=64)
    content: dict[str, Any] = Field(sa_type=JSON)
    source_text: str = Field(sa_type=Text)
    loaded_from: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class PeriodKind(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    HALF = "half"
    YEAR = "year"


class PeriodState(StrEnum):
    """scheduled → open → closed; quarters go on: in_review → published → final (the public
    notice, 公示, is over and no appeal is pending)."""

    SCHEDULED = "scheduled"
    OPEN = "open"
    CLOSED = "closed"
    IN_REVIEW = "in_review"
    PUBLISHED = "published"
    FINAL = "final"


class Period(SQLModel, table=True):
    """A month, quarter, half-year or year of one unit, with its window (stored in UTC)."""

    __tablename__ = "period"
    __table_args__ = (UniqueConstraint("unit_id", "kind", "year", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    kind: str = Field(max_length=16)
    year: int
    number: int  # month 1-12, quarter 1-4, half 1-2, year 1
    starts_on: date
    ends_on: date
    opens_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    closes_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    review_ends_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    appeal_ends_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The end of the public notice (公示) of a published quarter: then its results are final.
    notice_ends_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    state: str = Field(default=PeriodState.SCHEDULED.value, max_length=16, index=True)
    scheme_version_id: int | None = Field(default=None, foreign_key="scheme_version.id")
    scheme: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    opened_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finalised_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def code(self) -> str:
        """The period's short name, as the CLI accepts it: 2026-03, 2026-Q1, 2026-H1, 2026."""
        if self.kind == PeriodKind.MONTH:
            return f"{self.year}-{self.number:02d}"
        if self.kind == PeriodKind.QUARTER:
            return f"{self.year}-Q{self.number}"
        if self.kind == PeriodKind.HALF:
            return f"{self.year}-H{self.number}"
        return str(self.year)


class Target(SQLModel, table=True):
    """One line of a cadre's annual target rules (目标管理考核细则), under one scheme item.

    A quantified target has a figure and a unit and is scored from the reported actual; a judged
    one is scored 0-100. The points of one cadre's targets under one item add up to 100.
    """

    __tablename__ = "target"
    __table_args__ = (UniqueConstraint("cadre_id", "year", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    cadre_id: int = Field(foreign_key="cadre.id", index=True)
    year: int
    item_key: str = Field(max_length=32)
    code: str = Field(max_length=16)
    title: str = Field(max_length=200)
    quantified: bool = Field(default=False)
    target_value: Decimal | None = Field(default=None, sa_type=DecimalText)
    measure_unit: str | None = Field(default=None, max_length=20)
    points: Decimal = Field(sa_type=DecimalText)
    # Each month's own target figure (exact text, January first; null: the annual ÷ 12).
    monthly: list[str | None] | None = Field(default=None, sa_type=JSON)

    def month_figures(self) -> list[Decimal | None] | None:
        """:attr:`monthly` as decimals, for :func:`bot.rules.scoring.month_target`."""
        if not self.monthly:
            return None
        return [None if m is None else Decimal(m) for m in self.monthly]


class RatingSource(StrEnum):
    SELF = "self"
    HEAD = "head"


class RatingState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"


class Rating(SQLModel, table=True):
    """A self-score or a head's rating of one cadre for one month."""

    __tablename__ = "rating"
    __table_args__ = (UniqueConstraint("period_id", "ratee_id", "source"),)

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    period_id: int = Field(foreign_key="period.id", index=True)
    ratee_id: int = Field(foreign_key="cadre.id", index=True)
    rater_id: int = Field(foreign_key="cadre.id")
    source: str = Field(max_length=8)
    state: str = Field(default=RatingState.DRAFT.value, max_length=16)
    total: Decimal | None = Field(default=None, sa_type=DecimalText)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Submitted at the deadline on the person's behalf: every item was answered, 提交 was not
    # pressed. The result says so.
    auto_submitted: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class RatingLine(SQLModel, table=True):
    """One answer inside a rating: an item (or one target of it) with its score or actual."""

    __tablename__ = "rating_line"
    __table_args__ = (UniqueConstraint("rating_id", "line_key"),)

    id: int | None = Field(default=None, primary_key=True)
    rating_id: int = Field(foreign_key="rating.id", index=True)
    line_key: str = Field(max_length=48)  # item key, or "<item>.<target code>"
    item_key: str = Field(max_length=32)
    target_id: int | None = Field(default=None, foreign_key="target.id")
    score: Decimal | None = Field(default=None, sa_type=DecimalText)
    actual: Decimal | None = Field(default=None, sa_type=DecimalText)
    note: str | None = Field(default=None, max_length=1000)
    evidence_file_id: str | None = Field(default=None, max_length=200)
    evidence_kind: str | None = Field(default=None, max_length=16)


class BallotParticipation(SQLModel, table=True):
    """That a rater cast their democratic ballot in a period; it says nothing of the grades."""

    __tablename__ = "ballot_participation"
    __table_args__ = (UniqueConstraint("period_id", "rater_id"),)

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    period_id: int = Field(foreign_key="period.id", index=True)
    rater_id: int = Field(foreign_key="cadre.id")
    cast_on: date


class BallotDraft(SQLModel, table=True):
    """A ballot still being filled in: the voter's own until cast, then deleted."""

    __tablename__ = "ballot_draft"

    period_id: int = Field(foreign_key="period.id", primary_key=True)
    rater_id: int = Field(foreign_key="cadre.id", primary_key=True)
    ratee_id: int = Field(foreign_key="cadre.id", primary_key=True)
    grade: str = Field(max_length=16)


class BallotTally(SQLModel, table=True):
    """How many cast ballots gave a ratee each grade.

    All rows of a period are created (at zero) when its ballot opens and casting only adds one to
    counts, so neither row ids nor insertion order nor timestamps can tie a grade to a rater.
    """

    __tablename__ = "ballot_tally"

    period_id: int = Field(foreign_key="period.id", primary_key=True)
    ratee_id: int = Field(foreign_key="cadre.id", primary_key=True)
    grade: str = Field(max_length=16, primary_key=True)
    count: int = Field(default=0)


class DisciplineRecord(SQLModel, table=True):
    """An office-rules violation (机关制度) recorded by the office; undone, never deleted.

    ``draft_token`` is the confirmed flow's token: a retried confirmation of the same flow (after
    a crash between the record's commit and the reply) meets the unique key instead of writing
    the record twice.
    """

    __tablename__ = "discipline_record"
    __table_args__ = (
        UniqueConstraint(
            "unit_id", "draft_token", "cadre_id", name="uq_discipline_record_draft_token"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    period_id: int = Field(foreign_key="period.id", index=True)
    cadre_id: int = Field(foreign_key="cadre.id", index=True)
    violation_key: str = Field(max_length=32)
    deduction: Decimal = Field(sa_type=DecimalText)
    occurred_on: date
    note: str | None = Field(default=None, max_length=500)
    draft_token: str | None = Field(default=None, max_length=32)
    created_by_id: int | None = Field(default=None, foreign_key="cadre.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    undone_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    undone_by_id: int | None = Field(default=None, foreign_key="cadre.id")


class BonusEntryKind(StrEnum):
    REWARD = "reward"
    DEDUCTION = "deduction"


class BonusEntry(SQLModel, table=True):
    """A one-off reward or deduction (money) on a cadre's year-end bonus, with its reason
    (``draft_token``: as for :class:`DisciplineRecord`)."""

    __tablename__ = "bonus_entry"
    __table_args__ = (
        UniqueConstraint("unit_id", "draft_token", "cadre_id", name="uq_bonus_entry_draft_token"),
    )

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    year: int = Field(index=True)
    cadre_id: int = Field(foreign_key="cadre.id", index=True)
    kind: str = Field(max_length=16)
    amount: Decimal = Field(sa_type=DecimalText)
    reason: str = Field(max_length=500)
    draft_token: str | None = Field(default=None, max_length=32)
    created_by_id: int | None = Field(default=None, foreign_key="cadre.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    undone_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    undone_by_id: int | None = Field(default=None, foreign_key="cadre.id")


class ScoreAdjustment(SQLModel, table=True):
    """A leadership adjustment of a cadre's quarterly score, always with a written reason."""

    __tablename__ = "score_adjustment"

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    period_id: int = Field(foreign_key="period.id", index=True)
    cadre_id: int = Field(foreign_key="cadre.id", index=True)
    delta: Decimal = Field(sa_type=DecimalText)
    reason: str = Field(max_length=500)
    leader_id: int | None = Field(default=None, foreign_key="cadre.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class AppealState(StrEnum):
    OPEN = "open"
    UPHELD = "upheld"
    REJECTED = "rejected"


class Appeal(SQLModel, table=True):
    """A cadre's appeal (申诉) against a published quarterly result: one per cadre and quarter.

    A reviewing leader answers it in writing: upheld with a new score (the quarter is re-graded,
    the change audited) or rejected. The scores and grades before and after are kept with it.
    """

    __tablename__ = "appeal"
    __table_args__ = (UniqueConstraint("period_id", "cadre_id"),)

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    period_id: int = Field(foreign_key="period.id", index=True)
    cadre_id: int = Field(foreign_key="cadre.id", index=True)
    reason: str = Field(max_length=1000)
    state: str = Field(default=AppealState.OPEN.value, max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    answered_by_id: int | None = Field(default=None, foreign_key="cadre.id")
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    answer: str | None = Field(default=None, max_length=1000)
    old_score: Decimal | None = Field(default=None, sa_type=DecimalText)
    new_score: Decimal | None = Field(default=None, sa_type=DecimalText)
    old_grade: str | None = Field(default=None, max_length=16)
    new_grade: str | None = Field(default=None, max_length=16)


class BonusBase(SQLModel, table=True):
    """A cadre's year-end bonus base (奖金基数) for one year, as the office imported it; a cadre
    without one gets the scheme's default base."""

    __tablename__ = "bonus_base"
    __table_args__ = (UniqueConstraint("cadre_id", "year"),)

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    cadre_id: int = Field(foreign_key="cadre.id", index=True)
    year: int
    base: Decimal = Field(sa_type=DecimalText)
    source: str | None = Field(default=None, max_length=200)
    imported_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class Result(SQLModel, table=True):
    """A cadre's computed figure for a period, with the breakdown and the inputs that made it."""

    __tablename__ = "result"
    __table_args__ = (UniqueConstraint("period_id", "cadre_id"),)

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    period_id: int = Field(foreign_key="period.id", index=True)
    cadre_id: int = Field(foreign_key="cadre.id", index=True)
    score: Decimal | None = Field(default=None, sa_type=DecimalText)
    office_rules: Decimal | None = Field(default=None, sa_type=DecimalText)
    grade: str | None = Field(default=None, max_length=16)
    flags: list[str] = Field(default_factory=list, sa_type=JSON)
    breakdown: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    inputs: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    scheme_fingerprint: str | None = Field(default=None, max_length=64)
    computed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class CalendarEvent(SQLModel, table=True):
    """A timed event of a period (an opening, a reminder, a deadline, the end of a review), claimed
    before its work so that it runs once, even with two bots on one database.

    The calendar itself is the periods table and the frozen scheme; this row exists only once an
    event was claimed. ``state`` is ``running`` while its work goes on (another process may take
    it over when ``claimed_at`` is older than the lease) and ``done`` after; ``outcome`` says how
    it ended (``done``, ``superseded`` by a later event due at once, ``skipped``).
    """

    __tablename__ = "calendar_event"
    __table_args__ = (UniqueConstraint("period_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    period_id: int = Field(foreign_key="period.id", index=True)
    key: str = Field(max_length=48)
    due_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    state: str = Field(default="running", max_length=16)
    owner: str = Field(max_length=64)
    claimed_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome: str | None = Field(default=None, max_length=32)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class OutboxMessage(SQLModel, table=True):
    """One logical message the bot sends by itself (an opening, a reminder, a result, a report).

    ``key`` names it uniquely (the event and the recipient), so that no logic of the bot ever
    queues the same message twice; the sender claims pending rows, sends them under Telegram's
    limits and records how it went. ``possible_duplicate`` marks a retry after a send that timed
    out and may have been delivered (Telegram has no idempotency key).
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("unit_id", "key"),
        Index("ix_outbox_state_next", "state", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    key: str = Field(max_length=120)
    event: str = Field(max_length=64, index=True)
    kind: str = Field(max_length=32)
    period_id: int | None = Field(default=None, foreign_key="period.id")
    cadre_id: int | None = Field(default=None, foreign_key="cadre.id")
    chat_id: int = Field(sa_type=BigInteger)
    text: str = Field(sa_type=Text)  # the message, or the caption of a photo or document
    reply_markup: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    # A photo or a document (a chart, a sheet) rather than a text message: its bytes and name.
    media: str | None = Field(default=None, max_length=16)
    payload: bytes | None = Field(default=None, sa_type=LargeBinary)
    filename: str | None = Field(default=None, max_length=120)
    state: str = Field(default="pending", max_length=16)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    message_id: int | None = Field(default=None, sa_type=BigInteger)
    possible_duplicate: bool = Field(default=False)
    last_error: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class Leave(SQLModel, table=True):
    """A cadre on leave (请假) for a span of days: no reminders, and a missed submission excused."""

    __tablename__ = "leave"

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    cadre_id: int = Field(foreign_key="cadre.id", index=True)
    starts_on: date
    ends_on: date
    reason: str | None = Field(default=None, max_length=200)
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class CalendarDay(SQLModel, table=True):
    """A day of a year's official schedule that the office loaded (``kaohe calendar import``):
    a public holiday, or a weekend day worked instead (调休)."""

    __tablename__ = "calendar_day"

    day: date = Field(primary_key=True)
    year: int = Field(index=True)
    kind: str = Field(max_length=16)  # holiday, workday
    name: str = Field(default="", max_length=50)
    imported_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
