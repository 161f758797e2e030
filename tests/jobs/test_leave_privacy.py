"""Why a person is on leave is the office's to know: the reason typed with ``/leave`` is shown in
the office's ``/leave`` list and nowhere else. Through a whole month run by the scheduler (the
opening, every reminder, the deadline, the results), nobody but the office is told the reason;
the office's figures name who is on leave, without it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.appraisal import periods as appraisal
from bot.core.clock import ManualClock
from bot.core.scheme_file import default_scheme
from bot.jobs.sender import Pacer
from storage.engine import transaction
from storage.models import OutboxMessage
from storage.queries.roster import list_cadres
from tests.harness.fuzz import Calendar

SH = ZoneInfo("Asia/Shanghai")
REASON = "家中老人住院陪护"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 7, 24, 8, 0, tzinfo=SH))


async def test_a_leave_reason_is_shown_to_the_office_only(
    town: Any, clock: ManualClock, fake: Any
) -> None:
    # The sender paces in real seconds (one message a second to a chat): not waited for here.
    town.app.sender.pacer = Pacer(per_second=10_000.0, private_gap=0.0, group_gap=0.0)
    async with transaction(town.services.sessions) as session:
        await appraisal.create_year(
            session=session,
            unit_id=town.services.unit,
            year=2026,
            scheme=default_scheme(),
            now=clock.now(),
        )
        roster = await list_cadres(session=session, unit_id=town.services.unit)
    for cadre in roster:
        await town.signup(cadre.name)
    calendar = Calendar(town, clock)
    while not any(e.startswith("open@") for e in await calendar.tick()):
        pass
    clerk = town.users["周晓燕"]
    await clerk.command("leave", "王芳", "2026-07-25", "2026-08-10", REASON)
    assert REASON in clerk.last().text
    await clerk.command("leave")
    assert REASON in clerk.last().text  # the office's list

    while not any(e.startswith("close@") for e in await calendar.tick()):
        pass
    told = {
        name: [m.text for m in user.messages() if REASON in m.text]
        for name, user in town.users.items()
    }
    assert {name for name, texts in told.items() if texts} == {"周晓燕"}
    assert len(told["周晓燕"]) == 2  # the reply to /leave, and the list
    # The office's figures at a reminder say who is on leave, and no more.
    figures = [m.text for m in clerk.messages() if "请假中" in m.text]
    assert figures and all("王芳" in text and REASON not in text for text in figures)
    wang = await town.cadre("王芳")
    async with town.services.sessions() as session:
        kinds = (
            await session.exec(select(OutboxMessage.kind).where(OutboxMessage.cadre_id == wang.id))
        ).all()
    assert "reminder" not in kinds and "result" in kinds  # not reminded while on leave
