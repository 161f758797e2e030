"""What the appraisal tests share: labels, a quantified scheme, targets, and the stored rows.

The self-score, rating and office tests read the same rows back (a cadre's rating from one
source and its lines, the audit rows of an action) and set up the same things (targets of a
quantified item, a closed period); this keeps one copy of each.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlmodel import select

from bot.appraisal import ratings
from bot.core.scheme_file import DEFAULT_SCHEME_PATH
from bot.rules.scheme import parse_scheme
from storage.engine import transaction
from storage.models import AuditLog, Cadre, Period, PeriodState, Rating, RatingLine, Target

SUBMIT = "✅ 提交"


def L(texts: Any, key: str, **params: Any) -> str:
    """A button label as the Chinese user sees it."""
    return str(texts.label("zh", key, **params))


def quantified_scheme() -> Any:
    """The example scheme with 本职工作 of ordinary cadres scored on targets."""
    text = DEFAULT_SCHEME_PATH.read_text(encoding="utf-8")
    text = text.replace('\nmethod = "judged"', '\nmethod = "quantified"', 1)
    scheme = parse_scheme(text)
    assert scheme.item("ordinary", "duty").quantified
    assert not scheme.item("village", "duty").quantified
    return scheme


async def add_targets(town: Any, name: str, year: int = 2026) -> list[Target]:
    """Two targets of 本职工作 for ``name`` (120 户 for 60 points, 40 份 for 40 points)."""
    cadre = await town.cadre(name)
    rows = [
        Target(
            unit_id=cadre.unit_id,
            cadre_id=cadre.id,
            year=year,
            item_key="duty",
            code="T1",
            title="农户信息核查",
            quantified=True,
            target_value=Decimal(120),
            measure_unit="户",
            points=Decimal(60),
        ),
        Target(
            unit_id=cadre.unit_id,
            cadre_id=cadre.id,
            year=year,
            item_key="duty",
            code="T2",
            title="台账录入",
            quantified=True,
            target_value=Decimal(40),
            measure_unit="份",
            points=Decimal(40),
        ),
    ]
    async with town.services.sessions() as session:
        session.add_all(rows)
        await session.commit()
        for row in rows:
            await session.refresh(row)
    return rows


async def rating_of(town: Any, name: str, source: str) -> Rating | None:
    """The rating of ``name`` from ``source`` ("self", "head"), or None."""
    cadre = await town.cadre(name)
    async with town.services.sessions() as session:
        return (
            await session.exec(
                select(Rating).where(Rating.ratee_id == cadre.id, Rating.source == source)
            )
        ).first()


async def rating_lines(town: Any, name: str, source: str) -> dict[str, RatingLine]:
    """The lines of that rating by line key (none when there is no rating)."""
    rating = await rating_of(town, name, source)
    if rating is None:
        return {}
    async with town.services.sessions() as session:
        rows = (
            await session.exec(select(RatingLine).where(RatingLine.rating_id == rating.id))
        ).all()
    return {row.line_key: row for row in rows}


async def audits(town: Any, action: str) -> list[AuditLog]:
    """The audit rows of ``action``, oldest first."""
    async with town.services.sessions() as session:
        return list(
            (
                await session.exec(
                    select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)
                )
            ).all()
        )


async def close_period(town: Any, period: Period) -> None:
    async with town.services.sessions() as session:
        row = await session.get(Period, period.id)
        row.state = PeriodState.CLOSED.value
        session.add(row)
        await session.commit()


async def answer_all(user: Any, answers: list[str]) -> None:
    for text in answers:
        await user.send(text)


def person(texts: Any, mark: str, name: str) -> str:
    return L(texts, "rate.person", mark=L(texts, f"rate.mark.{mark}"), name=name)


def item(texts: Any, title: str, score: str = "—") -> str:
    return L(texts, "rate.item", title=title, score=score)


async def submit_self(
    town: Any,
    period: Period,
    name: str,
    scores: dict[str, str],
    *,
    evidence: dict[str, tuple[str, str]] | None = None,
    notes: dict[str, str] | None = None,
    actuals: dict[str, str] | None = None,
    rater: str | None = None,
) -> None:
    """A submitted self-score (or, with ``rater``, that head's rating), written through the same
    query functions the bot uses."""
    cadre = await town.cadre(name)
    by = await town.cadre(rater) if rater else cadre
    source = "head" if rater else "self"
    async with transaction(town.services.sessions) as session:
        for key, value in scores.items():
            extra: dict[str, Any] = {}
            if evidence and key in evidence:
                extra["evidence"] = evidence[key]
            if notes and key in notes:
                extra["note"] = notes[key]
            await ratings.record_answer(
                session=session,
                period=period,
                ratee=cadre,
                rater=by,
                source=source,
                key=key,
                item_key=key,
                score=Decimal(value),
                now=town.services.now(),
                **extra,
            )
        targets = {t.code: t for t in await targets_of(session, cadre)}
        for code, value in (actuals or {}).items():
            target = targets[code]
            await ratings.record_answer(
                session=session,
                period=period,
                ratee=cadre,
                rater=by,
                source=source,
                key=f"{target.item_key}.{code}",
                item_key=target.item_key,
                target_id=target.id,
                actual=Decimal(value),
                now=town.services.now(),
            )
        outcome, _ = await ratings.submit_sheet(
            session=session, period=period, ratee=cadre, source=source, now=town.services.now()
        )
    assert outcome is ratings.SubmitOutcome.SUBMITTED


async def cast_for(
    town: Any,
    period: Period,
    name: str,
    grade: str = "good",
    *,
    grades: dict[str, str] | None = None,
) -> None:
    """``name``'s ballot, every colleague graded ``grade`` (or as ``grades`` gives by name), cast
    through the ballot service."""
    from bot.appraisal import ballots
    from storage.queries import ballots as ballots_q

    voter = await town.cadre(name)
    async with transaction(town.services.sessions) as session:
        ballot = await ballots.open_ballot(
            session=session,
            unit_id=voter.unit_id,
            voter=voter,
            period_id=period.id,
            now=town.services.now(),
        )
        for colleague in ballot.colleagues:
            await ballots_q.set_draft(
                session=session,
                period_id=period.id,
                rater_id=voter.id,
                ratee_id=colleague.id,
                grade=(grades or {}).get(colleague.name, grade),
            )
        await ballots.cast(
            session=session,
            unit_id=voter.unit_id,
            voter=voter,
            period_id=period.id,
            today=town.services.now().date(),
            now=town.services.now(),
        )


async def targets_of(session: Any, cadre: Cadre) -> list[Any]:
    from storage.queries.targets import list_targets

    return await list_targets(
        session=session, unit_id=cadre.unit_id, year=2026, cadre_ids=[cadre.id]
    )
