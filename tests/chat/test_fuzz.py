"""The fuzzer's walk through the town (``tests/harness/fuzz.py``), on both backends.

``make test`` runs a fast slice (a few hundred steps with fixed seeds); the long run is
``FUZZ_STEPS=20000 FUZZ_SEED=<any> make test-fuzz`` (see the README). A failure names its seed
and step, and the same seed and step count replay it exactly.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from storage.engine import transaction
from storage.models import Period
from tests.harness.fuzz import Fuzzer, turn_of_the_month
from tests.harness.town import OTHER_USER, other_unit

STEPS = int(os.environ.get("FUZZ_STEPS", "300"))
SEEDS = [int(os.environ["FUZZ_SEED"])] if os.environ.get("FUZZ_SEED") else [20261201]
ENGLISH = ("王芳", "蒋伟", "钱志强")


async def _foreign_month(town: Any, unit_id: int, like: Period) -> int:
    """The same month, open, in the other unit: its id is a forged press's best guess."""
    async with transaction(town.services.sessions) as session:
        row = Period(
            unit_id=unit_id,
            kind=like.kind,
            year=like.year,
            number=like.number,
            starts_on=like.starts_on,
            ends_on=like.ends_on,
            opens_at=like.opens_at,
            closes_at=like.closes_at,
            state=like.state,
            scheme=like.scheme,
        )
        session.add(row)
        await session.flush()
        assert row.id is not None
        return row.id


@pytest.mark.parametrize("seed", SEEDS)
async def test_a_seeded_walk_breaks_no_promise(town: Any, texts: Any, seed: int) -> None:
    period = await town.open_month(2026, 11)
    for name in ENGLISH:
        town.person(name, language_code="en")
    await town.signup_all()
    outsider_cadre, _ = await other_unit(town, bound=True)
    outsider = town.sim.user(OTHER_USER, "外镇人")
    stranger = town.sim.user(9_000_002, "路人甲")
    group = town.sim.group(-100_777, "镇领导班子")
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
            "period": [await _foreign_month(town, outsider_cadre.unit_id, period)],
        },
        group=group,
    )
    await fuzzer.run(STEPS, turn=await turn_of_the_month(town, period))
    # The walk went everywhere it should: presses of every kind, hostile and ordinary.
    assert {"press", "forged", "send", "command", "media"} <= set(fuzzer.counts), fuzzer.counts
    print(sorted(fuzzer.outcomes.seen.items()))
