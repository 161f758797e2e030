"""Self-score and head-rating rows: a rating, its lines, submitting, and the audit of changes.

A self-score and a head's rating are the same shape (:class:`~storage.models.Rating` with
:class:`~storage.models.RatingLine` rows), told apart by ``source``; what they add up to is
:mod:`bot.appraisal.ratings`. Every write reports whether it changed anything, so that a double
tap or a repeated answer never records twice, and the caller audits only real changes. Every
write takes the moment it happens (``now``) from the caller's clock. Nothing here commits: the
caller's unit of work does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.rules.raters import is_assessed
from storage.engine import insert_for
from storage.models import Cadre, Period, Rating, RatingLine, RatingSource, RatingState, Target
from storage.queries import audit

__all__ = [
    "ACTION_RATING_CHANGE",
    "ACTION_SELF_CHANGE",
    "MISSING",
    "LineChange",
    "ensure_rating",
    "get_rating",
    "line_key",
    "participation",
    "period_ratings",
    "rating_lines",
    "record_change",
    "save_line",
    "submit_rating",
    "update_total",
    "year_actuals",
]

# The audit log's action names for changes made after a rating was submitted (entity "rating").
ACTION_SELF_CHANGE = "selfscore.change"
ACTION_RATING_CHANGE = "rating.change"
# participation(): the state of a rating that does not exist.
MISSING = "missing"

_UNSET: Any = object()
_LINE_FIELDS = ("score", "actual", "note", "evidence_file_id", "evidence_kind")


# --- ratings and their lines -----------------------------------------------------------------


def line_key(item_key: str, target: Target | None = None) -> str:
    """The key of an item's line (``duty``) or of one target's line (``duty.T1``)."""
    return item_key if target is None else f"{item_key}.{target.code}"


async def get_rating(
    *, session: AsyncSession, period_id: int, ratee_id: int, source: RatingSource | str
) -> Rating | None:
    """The self-score or head's rating of ``ratee_id`` in a period, draft or submitted."""
    return (
        await session.exec(
            select(Rating).where(
                Rating.period_id == period_id,
                Rating.ratee_id == ratee_id,
                Rating.source == str(source),
            )
        )
    ).first()


def _insert_ignoring_conflict(session: AsyncSession, model: Any, values: dict[str, Any]) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING`` for the backend in use (a race is not an error)."""
    return insert_for(session, model).values(**values).on_conflict_do_nothing()


async def ensure_rating(
    *,
    session: AsyncSession,
    period: Period,
    ratee: Cadre,
    rater: Cadre,
    source: RatingSource | str,
    now: datetime,
) -> Rating:
    """The rating of ``ratee`` from ``source``, created as a draft if there is none yet.

    The unique key (period, ratee, source) decides a race between two raters: both end up with
    the same row.
    """
    assert period.id is not None and ratee.id is not None and rater.id is not None
    existing = await get_rating(
        session=session, period_id=period.id, ratee_id=ratee.id, source=source
    )
    if existing is not None:
        return existing
    await session.exec(
        _insert_ignoring_conflict(
            session,
            Rating,
            {
                "unit_id": period.unit_id,
                "period_id": period.id,
                "ratee_id": ratee.id,
                "rater_id": rater.id,
                "source": str(source),
                "state": RatingState.DRAFT.value,
                "updated_at": now,
            },
        )
    )
    created = await get_rating(
        session=session, period_id=period.id, ratee_id=ratee.id, source=source
    )
    assert created is not None
    return created


async def rating_lines(*, session: AsyncSession, rating_id: int) -> list[RatingLine]:
    """The lines of one rating, in the order they were first written."""
    return list(
        (
            await session.exec(
                select(RatingLine)
                .where(RatingLine.rating_id == rating_id)
                .order_by(col(RatingLine.id))
            )
        ).all()
    )


def _line_values(line: RatingLine | None) -> dict[str, Any]:
    """A line's answer as plain JSON for the audit log (decimals as their exact text)."""
    if line is None:
        return {name: None for name in _LINE_FIELDS}
    values: dict[str, Any] = {}
    for name in _LINE_FIELDS:
        value = getattr(line, name)
        values[name] = str(value) if isinstance(value, Decimal) else value
    return values


@dataclass(frozen=True)
class LineChange:
    """What :func:`save_line` did: ``changed`` is False when the answer was already there."""

    line: RatingLine
    changed: bool
    old: dict[str, Any]
    new: dict[str, Any]


async def save_line(
    *,
    session: AsyncSession,
    rating_id: int,
    key: str,
    item_key: str,
    target_id: int | None = None,
    score: Decimal | None = _UNSET,
    actual: Decimal | None = _UNSET,
    note: str | None = _UNSET,
    evidence: tuple[str, str] | None = _UNSET,
) -> LineChange:
    """Upsert the line ``key`` of a rating with the given fields (the others are kept).

    ``evidence`` is (Telegram file id, "photo" | "document"). Returns whether anything changed,
    with the old and new answers, so that a repeated answer writes nothing and is not audited.
    """
    await session.exec(
        _insert_ignoring_conflict(
            session,
            RatingLine,
            {"rating_id": rating_id, "line_key": key, "item_key": item_key, "target_id": target_id},
        )
    )
    line = (
        await session.exec(
            select(RatingLine)
            .where(RatingLine.rating_id == rating_id, RatingLine.line_key == key)
            .with_for_update()
        )
    ).one()
    old = _line_values(line)
    if score is not _UNSET:
        line.score = score
    if actual is not _UNSET:
        line.actual = actual
    if note is not _UNSET:
        line.note = note
    if evidence is not _UNSET:
        line.evidence_file_id, line.evidence_kind = evidence if evidence else (None, None)
    new = _line_values(line)
    changed = old != new
    if changed:
        session.add(line)
        await session.flush()
    return LineChange(line=line, changed=changed, old=old, new=new)


async def submit_rating(
    *,
    session: AsyncSession,
    rating_id: int,
    total: Decimal,
    now: datetime,
    auto: bool = False,
) -> bool:
    """Mark a draft submitted with its total; False if it was submitted already (a double tap).

    One conditional UPDATE, so two presses racing each other submit once. ``auto``: submitted at
    the deadline on the person's behalf (every item answered, 提交 never pressed).
    """
    result = await session.exec(
        update(Rating)
        .where(col(Rating.id) == rating_id, col(Rating.state) == RatingState.DRAFT.value)
        .values(
            state=RatingState.SUBMITTED.value,
            total=total,
            submitted_at=now,
            updated_at=now,
            auto_submitted=auto,
        )
    )
    return bool(result.rowcount)


async def update_total(
    *, session: AsyncSession, rating: Rating, total: Decimal | None, now: datetime
) -> Decimal | None:
    """Store the recomputed total of a submitted rating; return the old one."""
    old = rating.total
    rating.total = total
    rating.updated_at = now
    session.add(rating)
    await session.flush()
    return old


def record_change(
    *,
    session: AsyncSession,
    rating: Rating,
    actor: Cadre,
    change: LineChange,
    old_total: Decimal | None,
    new_total: Decimal | None,
    now: datetime,
) -> None:
    """Audit a change to a submitted rating: who, the line, its old and new answer and total."""
    source = rating.source
    action = ACTION_SELF_CHANGE if source == RatingSource.SELF.value else ACTION_RATING_CHANGE
    where = {"line_key": change.line.line_key, "ratee_id": rating.ratee_id}
    audit.record(
        session=session,
        unit_id=rating.unit_id,
        actor=actor.name,
        actor_cadre_id=actor.id,
        action=action,
        entity="rating",
        entity_id=rating.id,
        old={**where, **change.old, "total": _text(old_total)},
        new={**where, **change.new, "total": _text(new_total)},
        reason="changed by the ratee before the deadline"
        if source == RatingSource.SELF.value
        else "changed by the rater before the deadline",
        at=now,
    )


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


async def period_ratings(*, session: AsyncSession, period_id: int) -> list[Rating]:
    """Every self-score and head rating of a period, draft or submitted (one query)."""
    return list((await session.exec(select(Rating).where(Rating.period_id == period_id))).all())


async def year_actuals(
    *, session: AsyncSession, ratee_id: int, year: int, before_month: int, source: str
) -> dict[int, Decimal]:
    """Per target, the actual figures ``source`` reported in submitted ratings of the year's
    months before ``before_month``: the year-to-date progress a question shows."""
    statement = (
        select(col(RatingLine.target_id), col(RatingLine.actual))
        .join(Rating, col(Rating.id) == col(RatingLine.rating_id))
        .join(Period, col(Period.id) == col(Rating.period_id))
        .where(
            Rating.ratee_id == ratee_id,
            Rating.source == source,
            Rating.state == RatingState.SUBMITTED.value,
            Period.year == year,
            Period.kind == "month",
            col(Period.number) < before_month,
            col(RatingLine.target_id).is_not(None),
            col(RatingLine.actual).is_not(None),
        )
    )
    totals: dict[int, Decimal] = {}
    for target_id, actual in (await session.exec(statement)).all():
        if target_id is not None and actual is not None:
            totals[target_id] = totals.get(target_id, Decimal(0)) + actual
    return totals


# --- progress ---------------------------------------------------------------------------------


async def participation(*, session: AsyncSession, period_id: int) -> dict[int, dict[str, str]]:
    """Per assessed cadre of the period's unit: ``{"self": state, "head": state}``.

    A state is ``submitted``, ``draft`` or ``missing`` (no row yet).
    """
    period = await session.get(Period, period_id)
    if period is None:
        return {}
    people = (
        await session.exec(
            select(Cadre)
            .where(Cadre.unit_id == period.unit_id, col(Cadre.active).is_(True))
            .order_by(col(Cadre.id))
        )
    ).all()
    result: dict[int, dict[str, str]] = {
        c.id: {RatingSource.SELF.value: MISSING, RatingSource.HEAD.value: MISSING}
        for c in people
        if c.id is not None and is_assessed(c)
    }
    ratings = (await session.exec(select(Rating).where(Rating.period_id == period_id))).all()
    for rating in ratings:
        if rating.ratee_id in result:
            result[rating.ratee_id][rating.source] = rating.state
    return result
