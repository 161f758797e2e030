"""Sign-up and access, end to end: updates in, Bot API calls out, rows in the database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import openpyxl
from sqlmodel import select

from bot.app import build_application
from bot.emulator.request import FakeRequest
from bot.emulator.simulator import Simulator
from storage.models import AuditLog, Cadre, InviteCode, ProcessedUpdate, SignupFailure


async def _rows(town: Any, model: Any) -> list[Any]:
    async with town.services.sessions() as session:
        return list((await session.exec(select(model))).all())


async def test_signup_with_deep_link_greets_by_name(town: Any, texts: Any, fake: Any) -> None:
    user = await town.signup("李明")

    greeting = user.last().text
    assert "登记成功" in greeting and "李明" in greeting
    assert "党政办公室" in greeting and "部门负责人" in greeting
    assert "分管领导：" in greeting
    cadre = await town.cadre("李明")
    assert cadre.telegram_user_id == user.id
    binds = [a for a in await _rows(town, AuditLog) if a.action == "cadre.bind"]
    assert [(a.entity_id, a.new_value) for a in binds] == [
        (cadre.id, {"telegram_user_id": user.id})
    ]
    menu = [c["command"] for c in fake.visible_commands(user.id)]
    assert menu == ["myscore", "selfscore", "vote", "rate", "help", "whoami", "lang"]


async def test_stranger_is_told_how_to_get_a_code_and_nothing_works(town: Any, texts: Any) -> None:
    stranger = town.sim.user(999, "路人")
    for action in (
        stranger.command("start"),
        stranger.send("你好"),
        stranger.command("whoami"),
        stranger.command("invite", "李明"),
    ):
        await action
        assert stranger.last().text == texts.render_plain("zh", "access/stranger").replace(
            "<b>", ""
        ).replace("</b>", "").replace("<code>", "").replace("</code>", "")
    assert len(stranger.messages()) == 4
    assert await _rows(town, InviteCode) == []


async def test_used_code_is_refused_and_the_same_user_is_told_he_is_in(
    town: Any, texts: Any
) -> None:
    code = await town.code_for("王芳")
    owner = town.person("王芳")
    await owner.command("start", code)
    other = town.sim.user(4242, "别人")
    await other.command("start", code)
    assert other.last().text == _plain(texts.render("zh", "signup/refused", outcome="used"))
    await owner.command("start", code)
    assert "您已经登记过了" in owner.last().text
    assert (await town.cadre("王芳")).telegram_user_id == owner.id


async def test_expired_and_wrong_codes(town: Any, texts: Any) -> None:
    code = await town.code_for("陈静", ttl=timedelta(seconds=-1))
    person = town.person("陈静")
    await person.command("start", code)
    assert person.last().text == _plain(texts.render("zh", "signup/refused", outcome="expired"))
    await person.command("start", "NOTACODE99")
    assert person.last().text == _plain(texts.render("zh", "signup/refused", outcome="unknown"))
    assert (await town.cadre("陈静")).telegram_user_id is None


async def test_wrong_codes_are_rate_limited(town: Any, texts: Any) -> None:
    guesser = town.person("蒋伟")
    for attempt in range(5):
        await guesser.command("start", f"WRONGCODE{attempt}")
    good = await town.code_for("蒋伟")
    await guesser.command("start", good)
    assert guesser.last().text == _plain(
        texts.render("zh", "signup/refused", outcome="rate_limited")
    )
    assert (await town.cadre("蒋伟")).telegram_user_id is None
    assert len(await _rows(town, SignupFailure)) == 5


async def test_new_phone_rebinds_and_is_audited(town: Any) -> None:
    old_phone = await town.signup("周晓燕")
    new_phone = town.sim.user(777, "周晓燕新手机")
    await new_phone.command("start", await town.code_for("周晓燕"))
    assert "原来绑定的 Telegram 账号已被替换" in new_phone.last().text
    assert (await town.cadre("周晓燕")).telegram_user_id == 777
    await old_phone.command("whoami")
    assert "索取您的一次性登记码" in old_phone.last().text
    binds = [a for a in await _rows(town, AuditLog) if a.action == "cadre.bind"]
    assert binds[-1].old_value == {"telegram_user_id": old_phone.id}


async def test_help_differs_by_role(town: Any, fake: Any) -> None:
    clerk = await town.signup("周晓燕")
    cadre = await town.signup("王芳")
    await clerk.command("help")
    await cadre.command("help")
    assert "/invite" in clerk.last().text
    assert "/invite" not in cadre.last().text
    assert "/whoami" in cadre.last().text
    clerk_menu = [c["command"] for c in fake.visible_commands(clerk.id)]
    assert "invite" in clerk_menu
    assert "invite" not in [c["command"] for c in fake.visible_commands(cadre.id)]


async def test_language_switch_is_remembered(town: Any, fake: Any) -> None:
    user = await town.signup("王芳")
    await user.command("lang")
    await user.press("English")
    assert user.last().text.startswith("Done: I will speak English")
    await user.command("whoami")
    assert "My roster entry" in user.last().text and "Village: " in user.last().text
    assert (await town.cadre("王芳")).language == "en"
    menu = fake.visible_commands(user.id)
    assert next(c for c in menu if c["command"] == "help")["description"] == "What I can do"
    await user.command("lang", "klingon")
    assert "There is no language" in user.last().text
    assert (await town.cadre("王芳")).language == "en"
    await user.command("lang", "zh")
    assert user.last().text == "好的，以后我用中文和您交流。"


async def test_office_invites_in_chat_and_others_cannot(town: Any) -> None:
    clerk = await town.signup("周晓燕")
    await clerk.command("invite", "王芳")
    text = clerk.last().text
    assert "王芳" in text and "https://t.me/kaohe_test_bot?start=" in text
    code = text.split("?start=")[1].split()[0]
    wang = town.person("王芳")
    await wang.command("start", code)
    assert "登记成功" in wang.last().text

    await clerk.command("invite", "不存在的人")
    assert "花名册上没有在职的“不存在的人”" in clerk.last().text
    await clerk.command("invite")
    assert "/invite 姓名" in clerk.last().text

    before = len(await _rows(town, InviteCode))
    await wang.command("invite", "李明")
    assert "只对党政办开放" in wang.last().text
    assert len(await _rows(town, InviteCode)) == before


async def test_leadership_group_binding(town: Any, texts: Any) -> None:
    clerk = await town.signup("周晓燕")
    cadre = await town.signup("王芳")
    group = town.sim.group(-100123, "考核领导小组")
    await group.command(cadre, "bind_leadership")
    assert group.last().text == _plain(texts.render("zh", "leadership/only_office"))
    stranger = town.sim.user(31337, "陌生人")
    await group.command(stranger, "bind_leadership")
    assert group.last().text == _plain(texts.render("zh", "leadership/only_office"))
    await clerk.command("bind_leadership")
    assert clerk.last().text == _plain(texts.render("zh", "leadership/only_in_group"))
    from storage.models import Unit

    assert (await _rows(town, Unit))[0].leadership_chat_id is None
    await group.command(clerk, "bind_leadership")
    assert "考核领导小组群" in group.last().text
    assert (await _rows(town, Unit))[0].leadership_chat_id == -100123


async def test_repeated_update_is_handled_once(town: Any) -> None:
    code = await town.code_for("李明")
    user = town.person("李明")
    update = await user.command("start", code)
    count = len(user.messages())
    await town.sim.replay(update)
    assert len(user.messages()) == count
    assert len(await _rows(town, ProcessedUpdate)) >= 1


async def test_inactive_person_is_refused(town: Any, example_roster: Any) -> None:
    user = await town.signup("褚文斌")
    async with town.services.sessions() as session:
        cadre = (await session.exec(select(Cadre).where(Cadre.name == "褚文斌"))).one()
        cadre.active = False
        session.add(cadre)
        await session.commit()
    await user.command("help")
    assert "已停用" in user.last().text


def _plain(html: str) -> str:
    from bot.emulator.telegram import html_to_text

    return html_to_text(html).strip()


async def test_menu_follows_a_roster_change_and_a_restart_sets_only_changed_menus(
    town: Any, fake: Any, settings: Any, example_roster: Any, tmp_path: Any
) -> None:
    wu, wang = await town.signup("吴磊"), await town.signup("王芳")
    assert "discipline" not in [c["command"] for c in fake.visible_commands(wu.id)]

    # The office re-imports the roster (with the CLI, while the bot runs): 吴磊 joins the office.
    sheet = openpyxl.load_workbook(example_roster)
    row = next(r for r in sheet.active.iter_rows(min_row=2) if r[0].value == "吴磊")
    row[2].value = "干部、办公室"
    changed = tmp_path / "roster.xlsx"
    sheet.save(changed)
    await town.import_roster(changed)

    before = len(fake.calls_to("setMyCommands"))
    await wu.command("whoami")  # his next update brings his menu up to date...
    assert "办公室" in wu.last().text
    assert "discipline" in [c["command"] for c in fake.visible_commands(wu.id)]
    await wu.command("whoami")
    await wang.command("whoami")  # ...and nobody else's menu is set again
    assert [c.params["scope"]["chat_id"] for c in fake.calls_to("setMyCommands")[before:]] == [
        wu.id
    ]

    # A restart sets the default menus and the menus that differ: none.
    await town.sim.__aexit__(None, None, None)
    before = len(fake.calls_to("setMyCommands"))
    app2 = build_application(settings, request=FakeRequest(fake), rate_limit=False)
    async with Simulator(app2, fake, via="processor"):
        scopes = [c.params["scope"]["type"] for c in fake.calls_to("setMyCommands")[before:]]
    assert scopes and set(scopes) == {"default"}
