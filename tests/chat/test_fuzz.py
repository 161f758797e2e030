"""The fuzzer's walk through the town (``tests/harness/fuzz.py``), on both backends.

The town runs its calendar by itself on a clock the walk moves. Before the walk, the second
quarter is played in bulk through the services (the harness's ``play_month``, not random steps):
April and May opened and closed by hand with everyone's self-score, June run by the scheduler
with every self-score, rating and ballot; so the walk starts where a quarter's review does: the
quarter has closed and waits for the reviewing leaders, who have the review message. Every few
steps the clock goes on to the next event (July's opening, reminders, the end of the review, the
end of the public notice, the deadline, August's opening, ...), so the scheduler's messages and
buttons are walked through, and go stale, like everything else: the review, the publication (by
the chair's button or the scheduler), the results with their Appeal button, the appeals and
their answers, and /report, beside the months' tasks.

The town's scheme gives the review 20 days and the appeal window and the public notice 31 (the
example's are 5), so that they overlap July's window: the walk goes through the quarter and the
month at once, as a town does, within the fast slice's few hundred steps.

``make test`` runs a fast slice (a few hundred steps with a fixed seed) and checks that it went
everywhere that matters; the long run is ``FUZZ_STEPS=20000 FUZZ_SEED=<any> make test-fuzz``
(see the README). A failure names its seed and step, and the same seed and step count replay it
exactly.
"""

from __future__ import annotations

import os
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.appraisal import periods as appraisal
from bot.core.clock import ManualClock
from bot.core.config import Settings
from bot.core.scheme_file import DEFAULT_SCHEME_PATH, load_scheme
from bot.jobs.sender import Pacer
from storage.engine import transaction
from storage.models import Appeal, AppealState, Period, ScoreAdjustment
from storage.queries import periods as periods_q
from storage.queries.roster import list_cadres
from tests.harness.fuzz import GUARDED, IGNORED, Calendar, Fuzzer, play_month
from tests.harness.town import OTHER_USER, fingerprint, foreign_month, other_unit

STEPS = int(os.environ.get("FUZZ_STEPS", "300"))
SEEDS = [int(os.environ["FUZZ_SEED"])] if os.environ.get("FUZZ_SEED") else [20261201]
ENGLISH = ("王芳", "蒋伟", "钱志强")
UNSIGNED = "韩雪"  # never signs up: /status lists them, with a button for a new code
SH = ZoneInfo("Asia/Shanghai")
#: The photo one cadre sends with June's 本职工作 (the review's 📎 button sends it back).
EVIDENCE = "EVIDENCE-FUZZ-DUTY"
#: The quarter's days in the fuzz town's scheme (the example's are 5): see the docstring.
QUARTER_DAYS = {"review_days": 20, "appeal_days": 31, "notice_days": 31}
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
    # The quarter: the review list, a cadre, a month item by item, an adjustment confirmed,
    # published by the chair, an appeal filed, and /report.
    "review:list",
    "review:who",
    "review:month",
    "review:adjusted",
    "review:published",
    "appeal:filed",
    "report:2026-Q2",
}
#: An appeal answered: one of these.
ANSWERED = {"appeal:upheld", "appeal:rejected"}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 6, 24, 8, 0, tzinfo=SH))


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """The example scheme with the quarter's days of :data:`QUARTER_DAYS`."""
    text = DEFAULT_SCHEME_PATH.read_text(encoding="utf-8")
    for key, days in QUARTER_DAYS.items():
        assert f"\n{key} = 5 " in text, key
        text = text.replace(f"\n{key} = 5 ", f"\n{key} = {days} ", 1)
    path = tmp_path / "scheme.toml"
    path.write_text(text, encoding="utf-8")
    return settings.model_copy(update={"scheme_file": path})


@pytest.mark.parametrize("seed", SEEDS)
async def test_a_seeded_walk_breaks_no_promise(
    town: Any, texts: Any, clock: ManualClock, settings: Settings, seed: int
) -> None:
    # The sender paces in real seconds (one message a second to a chat): not waited for here.
    town.app.sender.pacer = Pacer(per_second=10_000.0, private_gap=0.0, group_gap=0.0)
    assert settings.scheme_file is not None
    scheme = load_scheme(settings.scheme_file)
    await town.create_years(2026, scheme=scheme)
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

    # The second quarter, played in bulk: April and May run by the office's hand (opened, their
    # self-scores in, closed at once), June by the scheduler with every source and a photo as
    # evidence; the quarter closes with June and waits in review.
    play = random.Random(seed)
    for code in ("2026-04", "2026-05"):
        await _by_hand(town, await _period(town, code), play, settings.scheme_file)
    calendar = Calendar(town, clock)
    june, quarter = await _period(town, "2026-06"), await _period(town, "2026-Q2")
    town.sim.fake.register_file("photo", b"photo of the flood duty", file_id=EVIDENCE)
    await calendar.until(f"open@{june.id}")
    await play_month(town, await town.period(june.id or 0), play, evidence=EVIDENCE)
    await calendar.until(f"close@{quarter.id}")
    quarter = await town.period(quarter.id or 0)
    assert quarter.state == "in_review", quarter.state

    foreign_quarter = await foreign_month(town, outsider_cadre.unit_id, quarter)
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
            "period": [
                (await foreign_month(town, outsider_cadre.unit_id, june)).id,
                foreign_quarter.id,
            ],
            "appeal": [await _foreign_appeal(town, foreign_quarter, outsider_cadre.id)],
        },
        group=group,
        calendar=calendar,
        quarter=quarter.id,
    )
    await fuzzer.run(STEPS, every=max(30, STEPS // 60))
    # The walk went everywhere it should: presses of every kind, hostile and ordinary, through
    # the calendar, and into the far end of every task.
    kinds = {"press", "forged", "stale", "others'", "send", "command", "media", "intent", "review"}
    assert kinds <= set(fuzzer.counts), fuzzer.counts
    assert any(e.startswith("close@") for e in fuzzer.events), fuzzer.events
    assert any(e.startswith("open@") for e in fuzzer.events), fuzzer.events
    assert f"final@{quarter.id}" in fuzzer.events, fuzzer.events
    missing = REACHED - set(fuzzer.outcomes.seen)
    assert not missing, (missing, sorted(fuzzer.outcomes.seen))
    assert ANSWERED & set(fuzzer.outcomes.seen), sorted(fuzzer.outcomes.seen)
    # Each kind of role-bound button was pressed by a cadre without the role, and refused.
    refused = {p.split(":")[0] for p in fuzzer.outcomes.paths if p.endswith("-> refused:role")}
    assert {"button st", "button off", "button rate", "button go", "button rv", "button ap"} <= (
        refused
    ), refused
    started = {p for p in fuzzer.outcomes.paths if p.startswith("button go:")}
    assert {"button go:vote -> vote:shown", "button go:rate -> rate:list"} & started, started
    assert any(p.endswith("go:closed") for p in started), started
    # The review's refusals: a leader who does not review, a quarter no longer in review, an
    # appeal too early or too late or twice, an appeal answered twice.
    said = {o for o in fuzzer.outcomes.seen if o.startswith("review:refused:")}
    assert {
        "review:refused:not_reviewer",
        "review:refused:not_in_review",
        "review:refused:already_appealed",
        "review:refused:already_answered",
    } <= said, said
    assert {"review:refused:not_published", "review:refused:window_over"} & said, said
    # The guarded tables were compared on every hostile step (the walk's one-statement reading
    # holds every row the plain one does), and legitimate steps wrote them.
    assert not set(GUARDED) & IGNORED
    rows, plain = await fuzzer.fingerprint(), await fingerprint(town, ignore=IGNORED)
    assert {t: len(r) for t, r in rows.items()} == {t: len(r) for t, r in plain.items() if r}
    assert set(GUARDED) <= set(rows), sorted(rows)
    async with town.services.sessions() as session:
        adjustments = (await session.exec(select(ScoreAdjustment))).all()
        appeals = (await session.exec(select(Appeal).where(Appeal.period_id == quarter.id))).all()
    assert adjustments, "no adjustment written"
    assert any(a.state != AppealState.OPEN for a in appeals), appeals
    print(sorted(fuzzer.outcomes.seen.items()))


async def _period(town: Any, code: str) -> Period:
    async with town.services.sessions() as session:
        found = await periods_q.find_period(session=session, unit_id=town.services.unit, code=code)
    assert found is not None
    return found


async def _by_hand(town: Any, month: Period, play: random.Random, scheme_file: Any) -> None:
    """Open ``month`` now (its window long past: for an hour), its self-scores in, close it:
    what ``kaohe periods open`` and ``close`` do for a month the bot was not used in."""
    now = town.services.now()
    async with transaction(town.services.sessions) as session:
        opened = await appraisal.open_period(
            session=session,
            period=month,
            now=now,
            scheme_file=scheme_file,
            closes_at=now + timedelta(hours=1),
        )
    assert opened.changed, opened
    await play_month(town, await town.period(month.id or 0), play, full=False)
    async with transaction(town.services.sessions) as session:
        closed = await appraisal.close_period(
            session=session, period=await session.get(Period, month.id), now=now
        )
    assert closed.changed, closed


async def _foreign_appeal(town: Any, quarter: Period, cadre_id: int | None) -> int:
    """An appeal of the other unit's person against the other unit's quarter: its id is a
    forged answer's best guess."""
    assert cadre_id is not None and quarter.id is not None
    async with transaction(town.services.sessions) as session:
        row = Appeal(
            unit_id=quarter.unit_id, period_id=quarter.id, cadre_id=cadre_id, reason="外镇申诉"
        )
        session.add(row)
        await session.flush()
        assert row.id is not None
    return row.id
