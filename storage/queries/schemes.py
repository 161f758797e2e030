"""Scheme versions: every scheme that was ever in force when a period opened, kept verbatim.

A period freezes the scheme in force when it opens ("the scheme that scored a period is frozen
with it"). The frozen copy lives on the period itself (``Period.scheme``, so a period can always
be scored on its own), and the version row keeps the file's text and where it came from, so the
office can see what changed between two periods. Versions are deduplicated by fingerprint per
unit: opening twelve months under one unchanged file makes one row, not twelve.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.rules.scheme import Scheme
from storage.models import Period, SchemeVersion

__all__ = [
    "SchemeNotFrozen",
    "ensure_scheme_version",
    "get_scheme_version",
    "list_scheme_versions",
    "scheme_content",
    "scheme_of",
]


def scheme_content(scheme: Scheme) -> dict[str, Any]:
    """The scheme as plain JSON data (decimals as exact strings), as stored with a period."""
    content: dict[str, Any] = json.loads(scheme.to_json())
    return content


class SchemeNotFrozen(LookupError):
    """The period has not opened, so no scheme is frozen with it yet."""


def scheme_of(period: Period) -> Scheme:
    """The scheme frozen with ``period`` when it opened; :class:`SchemeNotFrozen` before that.

    The one way to read a period's rules: whoever asks (a press, a close, a report) gets the same
    scheme, parsed once per distinct content.
    """
    if period.scheme is None:
        raise SchemeNotFrozen(f"period {period.code} has no frozen scheme (it never opened)")
    # Keep the stored key order: it is the scheme file's order of items and violations.
    return _scheme_from_text(json.dumps(period.scheme, ensure_ascii=False))


@lru_cache(maxsize=32)
def _scheme_from_text(text: str) -> Scheme:
    return Scheme.from_json(text)


async def get_scheme_version(*, session: AsyncSession, version_id: int) -> SchemeVersion | None:
    """One stored scheme version."""
    return await session.get(SchemeVersion, version_id)


async def list_scheme_versions(*, session: AsyncSession, unit_id: int) -> list[SchemeVersion]:
    """The unit's scheme versions, oldest first."""
    statement = (
        select(SchemeVersion)
        .where(SchemeVersion.unit_id == unit_id)
        .order_by(col(SchemeVersion.id))
    )
    return list((await session.exec(statement)).all())


async def _by_fingerprint(
    session: AsyncSession, unit_id: int, fingerprint: str
) -> SchemeVersion | None:
    statement = select(SchemeVersion).where(
        SchemeVersion.unit_id == unit_id, SchemeVersion.fingerprint == fingerprint
    )
    return (await session.exec(statement)).first()


async def ensure_scheme_version(
    *,
    session: AsyncSession,
    unit_id: int,
    scheme: Scheme,
    source_text: str,
    loaded_from: str | None = None,
) -> SchemeVersion:
    """The version row of ``scheme`` for the unit, created on first use.

    Equal schemes (same fingerprint) share one row even if their files differ in comments or
    layout: the row keeps the first text seen. Two processes adding the same version at once
    (bot and CLI) meet on the unique constraint; the loser reads the winner's row.
    """
    fingerprint = scheme.fingerprint()
    found = await _by_fingerprint(session, unit_id, fingerprint)
    if found is not None:
        return found
    version = SchemeVersion(
        unit_id=unit_id,
        fingerprint=fingerprint,
        content=scheme_content(scheme),
        source_text=source_text,
        loaded_from=loaded_from,
    )
    try:
        async with session.begin_nested():
            session.add(version)
            await session.flush()
    except IntegrityError:
        found = await _by_fingerprint(session, unit_id, fingerprint)
        if found is None:
            raise
        return found
    return version
