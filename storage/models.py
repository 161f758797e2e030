"""SQLModel tables.

Every domain row belongs to a unit (a town) so that one deployment can later serve a county's
towns without a rewrite. Timestamps are timezone-aware UTC. Roles are stored as a sorted,
comma-separated set of role keys (``cadre,head``): the set is tiny and rarely queried alone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Index, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class Role(StrEnum):
    """What a person may do; one person can hold several."""

    CADRE = "cadre"  # 机关干部: assessed, self-scores, votes
    HEAD = "head"  # 部门负责人: rates the cadres of their department
    LEADER = "leader"  # 考核领导小组成员: rates supervised heads, reviews quarters
    OFFICE = "office"  # 党政办: roster, periods, discipline records, exports


ROLE_ORDER: tuple[Role, ...] = (Role.CADRE, Role.HEAD, Role.LEADER, Role.OFFICE)


def encode_roles(roles: set[Role] | list[Role] | tuple[Role, ...]) -> str:
    return ",".join(r.value for r in ROLE_ORDER if r in set(roles))


def decode_roles(text: str) -> set[Role]:
    return {Role(part) for part in text.split(",") if part}


class Unit(SQLModel, table=True):
    """A town (or any organisation) that runs one appraisal."""

    __tablename__ = "unit"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    timezone: str = Field(default="Asia/Shanghai", max_length=64)
    leadership_chat_id: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = Field(
        default_factory=utcnow, sa_type=DateTime(timezone=True), nullable=False
    )


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
    roles: str = Field(default="cadre", max_length=64)
    title: str | None = Field(default=None, max_length=50)
    supervisor_id: int | None = Field(default=None, foreign_key="cadre.id")
    village: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=32)
    active: bool = Field(default=True)
    telegram_user_id: int | None = Field(default=None, sa_type=BigInteger, unique=True)
    language: str | None = Field(default=None, max_length=8)
    bound_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    created_at: datetime = Field(
        default_factory=utcnow, sa_type=DateTime(timezone=True), nullable=False
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_type=DateTime(timezone=True), nullable=False
    )

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
    created_at: datetime = Field(
        default_factory=utcnow, sa_type=DateTime(timezone=True), nullable=False
    )
    expires_at: datetime = Field(sa_type=DateTime(timezone=True), nullable=False)
    used_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    used_by_telegram_id: int | None = Field(default=None, sa_type=BigInteger)
    revoked_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    created_by: str = Field(default="cli", max_length=64)


class SignupFailure(SQLModel, table=True):
    """A wrong sign-up code, kept to rate-limit guessing (5 a user an hour)."""

    __tablename__ = "signup_failure"

    id: int | None = Field(default=None, primary_key=True)
    telegram_user_id: int = Field(sa_type=BigInteger, index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True), nullable=False)


class AuditLog(SQLModel, table=True):
    """Who changed what, when, from which value to which, and why."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True), nullable=False)
    actor_cadre_id: int | None = Field(default=None, foreign_key="cadre.id")
    actor: str = Field(max_length=100)
    action: str = Field(max_length=64, index=True)
    entity: str = Field(max_length=64)
    entity_id: int | None = Field(default=None)
    old_value: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    new_value: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    reason: str | None = Field(default=None, max_length=500)


class ProcessedUpdate(SQLModel, table=True):
    """Update ids already handled: Telegram may deliver an update twice."""

    __tablename__ = "processed_update"

    update_id: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    at: datetime = Field(
        default_factory=utcnow, sa_type=DateTime(timezone=True), nullable=False, index=True
    )


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
    updated_at: datetime = Field(
        default_factory=utcnow, sa_type=DateTime(timezone=True), nullable=False
    )
