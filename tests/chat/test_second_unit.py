"""A county deployment: a second unit in the same database, and this town's bot beside it.

Two sides of one promise ("people of another unit are strangers; every query is scoped to the
unit", issue 10, defect 1), for every capability:

- a person bound in the other unit is a stranger to every command and every family of buttons
  here: refused as a stranger, nothing changes anywhere in the database, and no name of this
  town reaches them;
- a person of this town pressing this town's buttons forged with the other unit's ids (its
  people, departments, months, records) is refused, nothing changes, and no name of the other
  unit is shown.

Every test runs through the real Application on the fake Bot API, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import select

from bot.chat.commands import COMMANDS as ALL_COMMANDS
from bot.chat.commands import PUBLIC_COMMANDS
from bot.chat.keyboards import Arg, Family
from bot.emulator.simulator import CallbackAnswer, SimUser
from bot.emulator.telegram import html_to_text
from storage.engine import transaction
from storage.models import BonusEntry, Cadre, Department, DisciplineRecord, Leave, Period, Unit
from tests.harness.appraisal import submit_self
from tests.harness.town import OTHER_USER, fingerprint, foreign_month, other_unit

#: Every family of buttons the bot has; a new one must be added to the walk below too.
FAMILIES = {"vote", "rate", "selfscore", "off", "st", "go", "lang", "inv"}
#: Every command of a signed-up person (the menu's table; the public /start, /help and /lang
#: aside), and the office's with arguments naming this town's people and dates.
COMMANDS = [
    *((c.name,) for c in ALL_COMMANDS if c.name not in PUBLIC_COMMANDS),
    ("invite", "王芳"),
    ("extend", "12-20", "18:00", "防汛"),
    ("leave", "王芳", "12-01", "12-10", "病假"),
]


async def _town_names(town: Any) -> set[str]:
    """Every name of this town a reply could show: people, departments, the town itself."""
    async with town.services.sessions() as session:
        unit_id = town.services.unit_id
        people = (await session.exec(select(Cadre).where(Cadre.unit_id == unit_id))).all()
        departments = (
            await session.exec(select(Department).where(Department.unit_id == unit_id))
        ).all()
        unit = await session.get(Unit, unit_id)
    assert unit is not None
    return {c.name for c in people} | {d.name for d in departments} | {unit.name}


def _value(arg: Arg, ids: dict[str, int], token: str, today: date) -> object:
    """A value of ``arg`` naming a real row of this town (or a valid key, token, page)."""
    if arg.kind == "id":
        return ids.get(arg.name, ids["cadre"])
    if arg.kind == "int":
        return 0
    if arg.kind == "key":
        return "duty"
    if arg.kind == "token":
        return token
    if arg.kind == "choice":
        return arg.choices[0]
    if arg.kind == "date":
        return today
    return "x"


def _presses(ids: dict[str, int], token: str, today: date) -> list[str]:
    """A press of every action of every family, each naming this town's own rows; the
    language buttons last (they are public: a stranger may pick a language)."""
    found = [
        family.data(action, *(_value(a, ids, token, today) for a in args))
        for name, family in sorted(Family.all.items(), key=lambda f: f[0] == "lang")
        for action, args in family.actions.items()
    ]
    return found


def _said(user: SimUser, answers: list[CallbackAnswer]) -> str:
    return "\n".join([m.text for m in user.messages()] + [a.text or "" for a in answers])


async def test_an_outsider_is_a_stranger_to_every_command_and_every_button(
    town: Any, texts: Any
) -> None:
    """10.1: a person bound in another unit (as its office, even) gets what a stranger gets,
    whatever they send or press, with real ids of this town; nothing changes anywhere."""
    period = await town.open_month(2026, 11)
    clerk = await town.signup("周晓燕")
    head = await town.signup("郑海涛")
    wang = await town.signup("王芳")
    await submit_self(town, period, "王芳", {"duty": "85", "central": "90", "village": "80"})
    await clerk.command("discipline")  # a flow under way: its token is in the buttons
    token = next(d for d in clerk.last().callback_data if d.startswith("off:")).split(":")[2]
    await head.command("rate")
    await wang.command("vote")
    wang_row = await town.cadre("王芳")
    ids = {
        "period": period.id,
        "cadre": wang_row.id,
        "ratee": wang_row.id,
        "department": wang_row.department_id,
        "target": 1,
        "record": 1,
    }
    outsider_row, _ = await other_unit(town, bound=True)
    outsider = town.sim.user(OTHER_USER, "外镇人")
    names = await _town_names(town)
    before = await fingerprint(town)

    stranger = html_to_text(texts.render("zh", "access/stranger"))
    for command in COMMANDS:
        await outsider.command(*command)
        assert outsider.last().text == stranger, command

    presses = _presses(ids, token, town.services.now().date())
    assert {p.split(":")[0] for p in presses} >= FAMILIES
    assert {c[0] for c in COMMANDS} >= {"status", "extend", "leave", "whoami", "discipline"}
    stranger_short = texts.render_plain("zh", "access/stranger_short")
    answers = []
    for data in presses:
        answer = await outsider.press_data(data)
        answers.append(answer)
        assert answer.answered, data
        if data.startswith("lang:"):
            # Public: a stranger may choose the language of the bot's refusals; no alert.
            assert not answer.show_alert, data
        else:
            assert answer.show_alert and answer.text == stranger_short, data

    said = _said(outsider, answers)
    assert not [n for n in names if n in said], said
    assert await fingerprint(town) == before
    async with town.services.sessions() as session:
        row = await session.get(Cadre, outsider_row.id)
    assert row is not None and row.telegram_user_id == OTHER_USER  # still theirs, there


async def _foreign_records(town: Any, unit_id: int, cadre: Cadre, month: Period) -> list[int]:
    """A discipline record and a reward of the other unit (ids an Undo button could name), and
    a leave of theirs (that this town's /leave must not list)."""
    today = town.services.now().date()
    async with transaction(town.services.sessions) as session:
        record = DisciplineRecord(
            unit_id=unit_id,
            period_id=month.id or 0,
            cadre_id=cadre.id or 0,
            violation_key="late",
            deduction=Decimal(2),
            occurred_on=month.starts_on,
        )
        reward = BonusEntry(
            unit_id=unit_id,
            year=month.year,
            cadre_id=cadre.id or 0,
            kind="reward",
            amount=Decimal(200),
            reason="外镇表彰",
        )
        leave = Leave(
            unit_id=unit_id,
            cadre_id=cadre.id or 0,
            starts_on=today,
            ends_on=today + timedelta(days=3),
            reason="外镇病假",
            created_by="外镇办公室",
        )
        session.add_all([record, reward, leave])
        await session.flush()
        return [record.id or 0, reward.id or 0]


def _refusals(texts: Any) -> set[str]:
    """Every alert that says "refused, nothing changed" to a person of this town."""
    plain = texts.render_plain
    found = {
        plain("zh", "access/stale_short"),
        plain("zh", "access/not_allowed_short"),
        plain("zh", "rating/foreign_short"),
        plain("zh", "rating/closed_short"),
        plain("zh", "selfscore/closed_short"),
        plain("zh", "jobs/closed_short"),
    }
    for reason in ("closed", "not_found", "stale", "already_undone"):
        found.add(plain("zh", "office/alert", reason=reason))
    for reason in ("stale", "closed", "out_of_scope", "no_ballot"):
        found.add(
            plain("zh", "ballot/refused_short", reason=reason, period=None, missing=[], next=None)
        )
    return found


async def _refused(user: SimUser, data: str, refusals: set[str]) -> CallbackAnswer:
    answer = await user.press_data(data)
    assert answer.answered and answer.show_alert, data
    assert answer.text is not None
    # Ballot alerts name the month when they know it: compare without it.
    assert answer.text in refusals or any(
        answer.text.endswith(r.split("的考核")[-1]) for r in refusals if "的考核" in r
    ), (data, answer.text)
    return answer


async def test_this_towns_buttons_forged_with_another_units_ids_are_refused(
    town: Any, texts: Any
) -> None:
    """10.1: a person of this town presses this town's own buttons carrying the other unit's
    person, department, month and records: each is refused, nothing changes, and nothing of
    the other unit is shown."""
    period = await town.open_month(2026, 11)
    outsider, _ = await other_unit(town, bound=True)
    there = await foreign_month(town, outsider.unit_id, period)
    foreign_ids = await _foreign_records(town, outsider.unit_id, outsider, there)
    refusals = _refusals(texts)
    p, x, dept = period.id, outsider.id, outsider.department_id

    head = await town.signup("郑海涛")  # a head (and cadre, so a voter)
    clerk = await town.signup("周晓燕")  # the office (and cadre)
    await submit_self(town, period, "冯超", {"duty": "85", "central": "90"})
    await head.command("rate")
    await head.command("vote")
    await clerk.command("status")
    before = await fingerprint(town)
    answers: list[CallbackAnswer] = []

    # A head rates, a voter grades, anyone starts a task: the other unit's person and month.
    for data in (
        f"rate:list:{there.id}",
        f"rate:p:{p}:{x}",
        f"rate:p:{there.id}:{x}",
        f"rate:i:{p}:{x}:duty",
        f"rate:s:{p}:{x}:duty:90",
        f"rate:t:{p}:{x}:duty",
        f"rate:ok:{p}:{x}",
        f"vote:set:{p}:{x}:good",
        f"vote:set:{there.id}:{x}:good",
        f"vote:who:{p}:{x}",
        f"vote:pg:{there.id}:0",
        f"vote:sub:{there.id}",
        f"vote:ok:{there.id}",
        f"selfscore:start:{there.id}",
        f"selfscore:submit:{there.id}",
        f"go:rate:{there.id}",
        f"go:vote:{there.id}",
    ):
        answers.append(await _refused(head, data, refusals))

    # The office: /status's department and code buttons, /invite's namesake picker.
    for data in (
        f"st:home:{there.id}",
        f"st:dept:{p}:{dept}",
        f"st:code:{p}:{x}",
        f"st:dept:{there.id}:{dept}",
    ):
        answers.append(await _refused(clerk, data, refusals))
    mark = clerk.mark()
    answer = await clerk.press_data(f"inv:pick:{x}")
    assert answer.answered
    assert "登记码" not in " ".join(m.text for m in clerk.inbox_since(mark))
    answers.append(answer)

    # The office's flows: the department and person pickers, the Undo of a record.
    for command in ("discipline", "reward"):
        await clerk.command(command)
        flow = clerk.last()
        token = flow.callback_data[0].split(":")[2]
        answers.append(await _refused(clerk, f"off:dept:{token}:{dept}", refusals))
        await clerk.press("经济发展办公室", message=flow)
        answers.append(await _refused(clerk, f"off:who:{token}:{x}", refusals))
        back = next(d for d in clerk.last().callback_data if d.startswith("off:back:"))
        await clerk.press_data(back, message_id=flow.message_id)
        await clerk.press_data(f"off:list:{token}:0", message_id=flow.message_id)
        assert clerk.last().callback_data, "the list of records"
        for record in foreign_ids:
            answers.append(await _refused(clerk, f"off:undo:{token}:{record}", refusals))
            answers.append(await _refused(clerk, f"off:yes:{token}:{record}", refusals))

    # Typed: the other unit's person on leave, or invited.
    await clerk.command("leave", outsider.name, "12-01", "12-10", "病假")
    assert "花名册上没有" in clerk.last().text
    await clerk.command("invite", outsider.name)
    assert "花名册上没有" in clerk.last().text
    await clerk.command("leave")
    assert outsider.name not in clerk.last().text and "外镇病假" not in clerk.last().text

    assert await fingerprint(town) == before
    for user in (head, clerk):
        # The other unit's name appears only where the clerk typed it and it is echoed back.
        shown = [
            m.text for m in user.messages() if ("外镇" in m.text) and "花名册上没有" not in m.text
        ]
        assert shown == []
    assert not [a.text for a in answers if "外镇" in (a.text or "")]
