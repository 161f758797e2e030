"""One-time sign-up codes and the binding of Telegram accounts to roster entries."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Cadre, InviteCode, SignupFailure
from storage.queries import audit

# No 0/O, 1/I/L: codes are read off paper and typed by hand when a deep link cannot be tapped.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10
MAX_FAILURES_PER_HOUR = 5


def hash_code(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode("ascii", "ignore")).hexdigest()


def normalise_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


async def issue_code(
    *,
    session: AsyncSession,
    cadre: Cadre,
    ttl: timedelta,
    created_by: str,
    now: datetime,
) -> tuple[str, InviteCode]:
    """Create a code for ``cadre``, revoking any unused earlier one, and return it in clear once."""
    await session.exec(
        update(InviteCode)
        .where(col(InviteCode.cadre_id) == cadre.id)
        .where(col(InviteCode.used_at).is_(None))
        .where(col(InviteCode.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    code = new_code()
    row = InviteCode(
        unit_id=cadre.unit_id,
        cadre_id=cadre.id or 0,
        code_hash=hash_code(code),
        created_at=now,
        expires_at=now + ttl,
        created_by=created_by,
    )
    session.add(row)
    audit.record(
        session=session,
        unit_id=cadre.unit_id,
        actor=created_by,
        action="invite.issue",
        entity="cadre",
        entity_id=cadre.id,
        new={"expires_at": row.expires_at.isoformat()},
        at=now,
    )
    await session.flush()
    return code, row


class RedeemOutcome(StrEnum):
    BOUND = "bound"
    REBOUND = "rebound"  # the person had another Telegram account before; it is replaced
    ALREADY = "already"  # this very account is already bound to this person
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"
    REVOKED = "revoked"
    INACTIVE = "inactive"
    TAKEN = "taken"  # this Telegram account is bound to someone else
    RATE_LIMITED = "rate_limited"


@dataclass(frozen=True)
class Redemption:
    outcome: RedeemOutcome
    cadre: Cadre | None = None


async def recent_failures(*, session: AsyncSession, telegram_user_id: int, now: datetime) -> int:
    since = now - timedelta(hours=1)
    result = await session.exec(
        select(func.count())
        .select_from(SignupFailure)
        .where(SignupFailure.telegram_user_id == telegram_user_id)
        .where(col(SignupFailure.at) >= since)
    )
    return int(result.one())


async def redeem_code(
    *,
    session: AsyncSession,
    unit_id: int,
    code: str,
    telegram_user_id: int,
    language: str | None,
    now: datetime,
) -> Redemption:
    """Bind ``telegram_user_id`` to the roster entry of ``code`` if the code is good.

    Only codes of ``unit_id`` count: another unit's code (a county deployment sharing the
    database) is as unknown here as a made-up one. Wrong codes count towards the hourly limit; a
    used, expired or revoked code does not (the person holds a real code and needs a new one,
    not a lock-out).
    """
    if await recent_failures(session=session, telegram_user_id=telegram_user_id, now=now) >= (
        MAX_FAILURES_PER_HOUR
    ):
        return Redemption(RedeemOutcome.RATE_LIMITED)
    invite = (
        await session.exec(
            select(InviteCode).where(
                InviteCode.code_hash == hash_code(code), InviteCode.unit_id == unit_id
            )
        )
    ).first()
    if invite is None:
        session.add(SignupFailure(telegram_user_id=telegram_user_id, at=now))
        return Redemption(RedeemOutcome.UNKNOWN)
    cadre = await session.get(Cadre, invite.cadre_id)
    if cadre is None or cadre.unit_id != unit_id:
        return Redemption(RedeemOutcome.UNKNOWN)
    if invite.used_at is not None:
        if (
            invite.used_by_telegram_id == telegram_user_id
            and cadre.telegram_user_id == telegram_user_id
        ):
            return Redemption(RedeemOutcome.ALREADY, cadre)
        return Redemption(RedeemOutcome.USED, cadre)
    if invite.revoked_at is not None:
        return Redemption(RedeemOutcome.REVOKED, cadre)
    if invite.expires_at <= now:
        return Redemption(RedeemOutcome.EXPIRED, cadre)
    if not cadre.active:
        return Redemption(RedeemOutcome.INACTIVE, cadre)
    holder = (
        await session.exec(select(Cadre).where(Cadre.telegram_user_id == telegram_user_id))
    ).first()
    if holder is not None and holder.id != cadre.id:
        return Redemption(RedeemOutcome.TAKEN, holder)

    previous = cadre.telegram_user_id
    invite.used_at = now
    invite.used_by_telegram_id = telegram_user_id
    cadre.telegram_user_id = telegram_user_id
    cadre.bound_at = now
    cadre.updated_at = now
    if cadre.language is None and language in ("zh", "en"):
        cadre.language = language
    session.add(invite)
    session.add(cadre)
    audit.record(
        session=session,
        unit_id=cadre.unit_id,
        actor=f"tg:{telegram_user_id}",
        actor_cadre_id=cadre.id,
        action="cadre.bind",
        entity="cadre",
        entity_id=cadre.id,
        old={"telegram_user_id": previous},
        new={"telegram_user_id": telegram_user_id},
        at=now,
    )
    await session.flush()
    if previous is not None and previous != telegram_user_id:
        return Redemption(RedeemOutcome.REBOUND, cadre)
    return Redemption(RedeemOutcome.BOUND, cadre)
