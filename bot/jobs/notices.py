"""What the scheduler says, and to whom: every message of an event, rendered in its reader's
language and queued in the outbox within the event's own transaction.

Each message's outbox key is the event's name and the recipient (``open@12:cadre:7``), so the
work of an event, done again after a crash, queues nothing twice. People never signed up cannot
be messaged: the office is told who they are. Ballots are secret: a head's digest and the
office's figures name who has not *self-scored*, and give the unit's count of ballots only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.appraisal.progress import MonthSnapshot, PersonMonth, TaskState
from bot.chat import keyboards
from bot.chat.myscore import result_view
from bot.chat.selfscore import SELFSCORE
from bot.chat.tasks import GO
from bot.core.services import Services
from bot.core.texts import MESSAGE_LIMIT, Texts, pack_messages
from bot.rules.roles import Role
from bot.rules.secrecy import public_breakdown
from storage.engine import transaction
from storage.models import Cadre, Period, Result
from storage.queries import outbox as outbox_q
from storage.queries.office import PeriodResult
from storage.queries.roster import list_cadres

__all__ = ["Notices", "Tasks"]


@dataclass(frozen=True)
class Tasks:
    """One person's part of a month: their self-score (its state, None if they are not
    assessed or it is done), the people they still rate, and whether their ballot is pending."""

    self: str | None
    rate: tuple[dict[str, str], ...]
    vote: bool

    def __bool__(self) -> bool:
        return bool(self.self or self.rate or self.vote)

    def as_dict(self) -> dict[str, Any]:
        return {"self": self.self, "rate": list(self.rate), "vote": self.vote}


def tasks_of(snapshot: MonthSnapshot, cadre: Cadre, *, everything: bool = False) -> Tasks:
    """What ``cadre`` has left in ``snapshot`` (``everything``: what they have this month)."""
    me = snapshot.person(cadre.id or 0)
    own = None
    vote = False
    if me is not None:
        if everything or not me.self_state.done:
            own = me.self_state.value if not me.self_state.done else TaskState.NOT_STARTED.value
        vote = me.ballot_cast is False or (everything and me.ballot_cast is not None)
    people = snapshot.rates(cadre.id or 0) if everything else snapshot.to_rate(cadre.id or 0)
    rate = tuple(
        {"name": p.cadre.name, "state": p.head_state.value}
        for p in people
        if everything or not p.head_state.done
    )
    return Tasks(self=own, rate=rate, vote=vote)


class Notices:
    """Renders and queues the scheduler's messages for one unit."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.texts: Texts = services.texts

    # -- helpers -----------------------------------------------------------------------------

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.services.settings.zone)

    def lang(self, cadre: Cadre) -> str:
        return self.texts.lang(cadre.language)

    def buttons(self, lang: str, period: Period, tasks: Tasks) -> dict[str, Any] | None:
        rows = []
        if tasks.self:
            key = {"ready": "submit_self", "started": "continue_self"}.get(tasks.self, "start_self")
            rows.append(
                [SELFSCORE.button(self.texts.label(lang, f"jobs.{key}"), "start", period.id)]
            )
        if tasks.rate:
            label = self.texts.label(lang, "jobs.rate", n=len(tasks.rate))
            rows.append([GO.button(label, "rate", period.id)])
        if tasks.vote:
            rows.append([GO.button(self.texts.label(lang, "jobs.vote"), "vote", period.id)])
        return keyboards.markup(rows).to_dict() if rows else None

    async def office(self, session: AsyncSession, unit_id: int) -> list[Cadre]:
        """The office's people who can be messaged."""
        return [
            c
            for c in await list_cadres(session=session, unit_id=unit_id)
            if c.active and c.telegram_user_id and c.has(Role.OFFICE)
        ]

    async def queue(
        self,
        session: AsyncSession,
        *,
        event: str,
        kind: str,
        cadre: Cadre,
        template: str,
        period: Period | None,
        markup: dict[str, Any] | None = None,
        suffix: str = "",
        **values: Any,
    ) -> bool:
        """Render ``template`` for ``cadre`` and queue it (once per event, recipient, suffix).

        A text longer than one Telegram message (the office's summary of a large unit, with
        everyone missing named) is queued as several, split between its lines; the buttons go
        with the last part."""
        assert cadre.telegram_user_id is not None
        text = self.texts.render(self.lang(cadre), template, period=period, **values)
        parts = pack_messages([text]) if len(text) > MESSAGE_LIMIT else [text]
        queued = False
        for index, part in enumerate(parts):
            queued |= await outbox_q.enqueue(
                session=session,
                unit_id=cadre.unit_id,
                key=f"{event}:{kind}:{cadre.id}{suffix}" + (f":{index}" if index else ""),
                event=event,
                kind=kind,
                chat_id=cadre.telegram_user_id,
                text=part,
                reply_markup=markup if index == len(parts) - 1 else None,
                period_id=period.id if period is not None else None,
                cadre_id=cadre.id,
                now=self.services.now(),
            )
        return queued

    # -- the messages of a month -------------------------------------------------------------

    async def opening(
        self,
        session: AsyncSession,
        event: str,
        snapshot: MonthSnapshot,
        moved_from: datetime | None,
    ) -> int:
        """Each person with something to do this month: what, until when, with start buttons;
        the office: who never signed up."""
        period = snapshot.period
        count = 0
        for cadre in snapshot.everyone:
            tasks = tasks_of(snapshot, cadre, everything=True)
            if not tasks or not cadre.telegram_user_id:
                continue
            lang = self.lang(cadre)
            count += await self.queue(
                session,
                event=event,
                kind="opening",
                cadre=cadre,
                template="jobs/opening",
                period=period,
                markup=self.buttons(lang, period, tasks),
                name=cadre.name,
                deadline=self.local(period.closes_at),
                moved_from=self.local(moved_from) if moved_from else None,
                tasks=tasks.as_dict(),
            )
        unsigned = [c for c in snapshot.everyone if not c.telegram_user_id]
        if unsigned:
            groups = _by_department(snapshot, unsigned)
            for office in await self.office(session, period.unit_id):
                count += await self.queue(
                    session,
                    event=event,
                    kind="unsigned",
                    cadre=office,
                    template="jobs/unsigned",
                    period=period,
                    departments=groups,
                )
        return count

    async def reminders(
        self,
        session: AsyncSession,
        event: str,
        snapshot: MonthSnapshot,
        on_leave: set[int],
        now: datetime,
    ) -> int:
        """Only the late, with exactly what is left; each head, their own people still pending;
        the office, the figures per department. Nobody on leave is reminded."""
        period = snapshot.period
        count = await self.pending(session, event, snapshot, on_leave, now)
        for head in snapshot.everyone:
            if not head.has(Role.HEAD) or not head.telegram_user_id:
                continue
            mine = [
                p
                for p in snapshot.people
                if p.cadre.department_id == head.department_id
                and p.cadre.id != head.id
                and not p.self_state.done
                and p.cadre.id not in on_leave
            ]
            if mine:
                count += await self.queue(
                    session,
                    event=event,
                    kind="digest",
                    cadre=head,
                    template="jobs/digest",
                    period=period,
                    deadline=self.local(period.closes_at),
                    people=[{"name": p.cadre.name, "state": p.self_state.value} for p in mine],
                )
        figures = _participation(snapshot)
        leave_names = [c.name for c in snapshot.everyone if c.id in on_leave]
        for office in await self.office(session, period.unit_id):
            count += await self.queue(
                session,
                event=event,
                kind="participation",
                cadre=office,
                template="jobs/participation",
                period=period,
                deadline=self.local(period.closes_at),
                departments=figures,
                ballot=_ballot_figures(snapshot),
                on_leave=leave_names,
            )
        return count

    async def pending(
        self,
        session: AsyncSession,
        event: str,
        snapshot: MonthSnapshot,
        on_leave: set[int],
        now: datetime,
    ) -> int:
        """Each person with something left (and not on leave), exactly what, with start buttons:
        the personal part of a reminder, also sent when the office asks from /status."""
        period = snapshot.period
        left = max(0, int((period.closes_at - now).total_seconds() // 3600))
        count = 0
        for cadre in snapshot.everyone:
            if cadre.id in on_leave or not cadre.telegram_user_id:
                continue
            tasks = tasks_of(snapshot, cadre)
            if not tasks:
                continue
            lang = self.lang(cadre)
            count += await self.queue(
                session,
                event=event,
                kind="reminder",
                cadre=cadre,
                template="jobs/reminder",
                period=period,
                markup=self.buttons(lang, period, tasks),
                name=cadre.name,
                deadline=self.local(period.closes_at),
                left=(left // 24, left % 24),
                tasks=tasks.as_dict(),
            )
        return count

    async def extended(
        self, session: AsyncSession, event: str, snapshot: MonthSnapshot, reason: str | None
    ) -> int:
        """Everyone still pending hears the new deadline."""
        period = snapshot.period
        count = 0
        for cadre in snapshot.everyone:
            tasks = tasks_of(snapshot, cadre)
            if not tasks or not cadre.telegram_user_id:
                continue
            lang = self.lang(cadre)
            count += await self.queue(
                session,
                event=event,
                kind="extended",
                cadre=cadre,
                template="jobs/extended",
                period=period,
                markup=self.buttons(lang, period, tasks),
                name=cadre.name,
                deadline=self.local(period.closes_at),
                reason=reason,
                tasks=tasks.as_dict(),
            )
        return count

    async def closing(
        self,
        session: AsyncSession,
        event: str,
        snapshot: MonthSnapshot,
        results: Sequence[Result],
        *,
        auto_submitted: int,
        excused: set[int],
        send_results: bool,
    ) -> int:
        """The office's summary; each cadre's monthly result, privately."""
        period = snapshot.period
        count = 0
        names = snapshot.department_names
        missing = [
            {"name": p.cadre.name, "department": names.get(p.cadre.department_id, "")}
            for p in snapshot.people
            if not p.self_state.done and p.cadre.id not in excused
        ]
        owing = []
        for rater in snapshot.everyone:
            left = [p for p in snapshot.to_rate(rater.id or 0) if p.cadre.id not in excused]
            if left:
                owing.append({"name": rater.name, "count": len(left)})
        for office in await self.office(session, period.unit_id):
            count += await self.queue(
                session,
                event=event,
                kind="summary",
                cadre=office,
                template="jobs/summary",
                period=period,
                total=len(snapshot.people),
                self_done=snapshot.self_done,
                head_done=snapshot.head_done,
                auto=auto_submitted,
                ballot=_ballot_figures(snapshot),
                missing=missing,
                excused=[p.cadre.name for p in snapshot.people if p.cadre.id in excused],
                owing=owing,
            )
        if send_results:
            people = {c.id: c for c in snapshot.everyone}
            for result in results:
                cadre = people.get(result.cadre_id)
                if cadre is None or not cadre.telegram_user_id:
                    continue
                shown = PeriodResult(
                    period=period,
                    result=result.model_copy(
                        update={"breakdown": public_breakdown(result.breakdown or {})}
                    ),
                )
                count += await self.queue(
                    session,
                    event=event,
                    kind="result",
                    cadre=cadre,
                    template="jobs/result",
                    period=period,
                    name=cadre.name,
                    r=result_view(shown),
                )
        return count

    async def calendar_unknown(
        self, session: AsyncSession, unit_id: int, period: Period, years: Sequence[int]
    ) -> int:
        """Tell the office, once per year, that a year's official schedule is not loaded."""
        count = 0
        for year in years:
            for office in await self.office(session, unit_id):
                count += await self.queue(
                    session,
                    event=f"calendar-unknown:{year}",
                    kind="calendar",
                    cadre=office,
                    template="jobs/calendar_unknown",
                    period=period,
                    year=year,
                )
        return count

    async def undelivered(
        self,
        session: AsyncSession,
        unit_id: int,
        event: str,
        what: str,
        period: Period | None,
        people: Sequence[tuple[str, str]],
    ) -> int:
        """Tell the office which messages of ``event`` did not arrive, and why."""
        count = 0
        for office in await self.office(session, unit_id):
            count += await self.queue(
                session,
                event=f"undelivered:{event}",
                kind="undelivered",
                cadre=office,
                template="jobs/undelivered",
                period=period,
                what=what,
                people=[{"name": name, "why": why} for name, why in people],
            )
        return count


def _by_department(snapshot: MonthSnapshot, cadres: Sequence[Cadre]) -> list[dict[str, Any]]:
    groups: dict[int, list[str]] = {}
    for cadre in cadres:
        groups.setdefault(cadre.department_id, []).append(cadre.name)
    names = snapshot.department_names
    return [{"name": names.get(d, ""), "people": people} for d, people in groups.items()]


def _participation(snapshot: MonthSnapshot) -> list[dict[str, Any]]:
    rows = []
    for name, members in snapshot.by_department():
        rows.append(
            {
                "name": name,
                "total": len(members),
                "self_done": sum(1 for p in members if p.self_state.done),
                "head_done": sum(1 for p in members if p.head_state.done),
            }
        )
    return rows


def _ballot_figures(snapshot: MonthSnapshot) -> dict[str, int] | None:
    if not snapshot.ballot:
        return None
    voters = sum(1 for p in snapshot.people if p.ballot_cast is not None)
    return {"cast": snapshot.ballots_cast, "voters": voters}


def on_leave_at(leave: dict[int, list[Any]], day: date) -> set[int]:
    """Who of ``leave`` (by cadre) is on leave on ``day``."""
    return {
        cadre_id
        for cadre_id, spans in leave.items()
        if any(span.starts_on <= day <= span.ends_on for span in spans)
    }


def pending_persons(snapshot: MonthSnapshot) -> list[PersonMonth]:
    return [p for p in snapshot.people if not p.self_state.done]


async def report_undelivered(services: Services, event: str) -> None:
    """Once every message of ``event`` is final: tell the office which did not arrive."""
    if event.startswith(("undelivered:", "calendar-unknown:")):
        return
    async with transaction(services.sessions) as session:
        states = await outbox_q.event_states(session=session, unit_id=services.unit, event=event)
        if any(state not in outbox_q.FINAL_STATES for state in states):
            return
        if not states["failed"] + states["unreachable"]:
            return
        lost = await outbox_q.event_rows(
            session=session, unit_id=services.unit, event=event, states=("failed", "unreachable")
        )
        people = {c.id: c for c in await list_cadres(session=session, unit_id=services.unit)}
        named = [
            (people[r.cadre_id].name if r.cadre_id in people else str(r.chat_id), r.state)
            for r in lost
        ]
        period = await session.get(Period, lost[0].period_id) if lost[0].period_id else None
        await Notices(services).undelivered(
            session, services.unit, event, lost[0].kind, period, named
        )
