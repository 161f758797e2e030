"""The fuzzer's walk through the town (``tests/harness/fuzz.py``), on both backends.

The town runs its calendar by itself on a clock the walk moves: the year is created, July opens
through the scheduler (with its start buttons), and every few steps the clock goes on to the
next event (reminders, the deadline, August's opening, ...), so the scheduler's messages and
buttons are walked through, and go stale, like everything else.

``make test`` runs a fast slice (a few hundred steps with a fixed seed) and checks that it went
everywhere that matters; the long run is ``FUZZ_STEPS=20000 FUZZ_SEED=<any> make test-fuzz``
(see the README). A failure names its seed and step, and the same seed and step count replay it
exactly.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.appraisal import periods as appraisal
from bot.appraisal.month import current_month
from bot.core.clock import ManualClock
from bot.core.scheme_file import default_scheme
from bot.jobs.sender import Pacer
from storage.engine import transaction
from storage.queries.roster import list_cadres
from tests.harness.fuzz import Calendar, Fuzzer
from tests.harness.town import OTHER_USER, foreign_month, other_unit

STEPS = int(os.environ.get("FUZZ_STEPS", "300"))
SEEDS = [int(os.environ["FUZZ_SEED"])] if os.environ.get("FUZZ_SEED") else [20261201]
ENGLISH = ("王芳", "蒋伟", "钱志强")
UNSIGNED = "韩雪"  # never signs up: /status lists them, with a button for a new code
SH = ZoneInfo("Asia/Shanghai")
#: Where the fast slice must have been, by the outcome of an update (see ``Outcomes``).
REACHED = {
    "office:recorded:discipline",
    "office:recorded:reward",
    "office:recorded:deduction",
    "status:home",
    "status:dept",
    "selfscore:submit",
    "rate:ok",
    "vote:cast",
    "leave:added",
    "extend:extended",
}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 7, 24, 8, 0, tzinfo=SH))


@pytest.mark.parametrize("seed", SEEDS)
async def test_a_seeded_walk_breaks_no_promise(
    town: Any, texts: Any, clock: ManualClock, seed: int
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
    for name in ENGLISH:
        town.person(name, language_code="en")
    async with town.services.sessions() as session:
        roster = await list_cadres(session=session, unit_id=town.services.unit)
    for cadre in roster:
        if cadre.name != UNSIGNED:
            await town.signup(cadre.name)
    outsider_cadre, _ = await other_unit(town, bound=True)
    outsider = town.sim.user(OTHER_USER, "外镇人")
    stranger = town.sim.user(9_000_002, "路人甲")
    group = town.sim.group(-100_777, "镇领导班子")
    calendar = Calendar(town, clock)
    while not any(e.startswith("open@") for e in await calendar.tick()):
        pass  # July opens: everyone hears what to do, with start buttons
    july = await town.period(await _open_month_id(town))
    fuzzer = Fuzzer(
        town,
        texts,
        seed,
        stranger=stranger,
        outsider=outsider,
        foreign_ids={
            "cadre": [outsider_cadre.id],
            "ratee": [outsider_cadre.id],
            "department": [outsider_cadre.department_id],
            "period": [(await foreign_month(town, outsider_cadre.unit_id, july)).id],
        },
        group=group,
        calendar=calendar,
    )
    await fuzzer.run(STEPS, every=max(30, STEPS // 60))
    # The walk went everywhere it should: presses of every kind, hostile and ordinary, through
    # the calendar, and into the far end of every task.
    assert {"press", "forged", "stale", "others'", "send", "command", "media", "intent"} <= set(
        fuzzer.counts
    ), fuzzer.counts
    assert any(e.startswith("close@") for e in fuzzer.events), fuzzer.events
    assert any(e.startswith("open@") for e in fuzzer.events), fuzzer.events
    missing = REACHED - set(fuzzer.outcomes.seen)
    assert not missing, (missing, sorted(fuzzer.outcomes.seen))
    # Each kind of role-bound button was pressed by a cadre without the role, and refused.
    refused = {p.split(":")[0] for p in fuzzer.outcomes.paths if p.endswith("-> refused:role")}
    assert {"button st", "button off", "button rate", "button go"} <= refused, refused
    started = {p for p in fuzzer.outcomes.paths if p.startswith("button go:")}
    assert {"button go:vote -> vote:shown", "button go:rate -> rate:list"} & started, started
    assert any(p.endswith("go:closed") for p in started), started
    print(sorted(fuzzer.outcomes.seen.items()))


async def _open_month_id(town: Any) -> int:
    async with town.services.sessions() as session:
        month = await current_month(
            session=session, unit_id=town.services.unit, now=town.services.now()
        )
    assert month is not None and month.id is not None
    return month.id
