"""Tests of the test harness itself, with a tiny bare PTB Application built here.

Why: every other test of kaohe trusts the fake Telegram to answer like the real one; these tests
pin the behaviours that trust rests on (commands and deep links, buttons, Telegram's 400/403/429
answers, long polling over real HTTP).
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import html
import json
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import pytest
from telegram import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError, TimedOut
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)

from bot.emulator.request import FakeRequest
from bot.emulator.server import serve
from bot.emulator.simulator import Simulator
from bot.emulator.telegram import (
    BOT_TOKEN,
    BOT_USERNAME,
    FakeTelegram,
    FloodLimits,
    html_to_text,
    parse_html,
)

TOKEN = BOT_TOKEN
E = TypeVar("E", bound=TelegramError)
Context = ContextTypes.DEFAULT_TYPE


@dataclass
class TinyBot:
    """A bare Application plus what its error handler caught."""

    app: Application[Any, Any, Any, Any, Any, Any]
    errors: list[BaseException] = field(default_factory=list)

    def error(self, kind: type[E]) -> E:
        """The single error of this kind the bot met."""
        found = [e for e in self.errors if isinstance(e, kind)]
        assert len(found) == 1, self.errors
        return found[0]


def add_handlers(bot: TinyBot) -> None:
    """Echo, /start with args, an inline keyboard, and commands that break Telegram's rules."""

    async def start_cmd(update: Update, context: Context) -> None:
        assert update.effective_user and update.effective_message
        name = html.escape(update.effective_user.first_name)
        payload = " ".join(context.args or [])
        keyboard = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton("同意", callback_data="agree:1"),
                    InlineKeyboardButton("拒绝申请", callback_data="refuse:1"),
                ],
                [InlineKeyboardButton("两次", callback_data="twice:1")],
            ]
        )
        await update.effective_message.reply_text(
            f"欢迎 <b>{name}</b>\n参数：{html.escape(payload) or '无'}", reply_markup=keyboard
        )

    async def agree_callback(update: Update, context: Context) -> None:
        query = update.callback_query
        assert query
        await query.answer("已同意")
        await query.edit_message_text("你已<b>同意</b>")

    async def refuse_callback(update: Update, context: Context) -> None:
        query = update.callback_query
        assert query
        await query.answer("确定拒绝？", show_alert=True)

    async def twice_callback(update: Update, context: Context) -> None:
        query = update.callback_query
        assert query
        await query.answer()
        await query.answer("again")

    async def long_cmd(update: Update, context: Context) -> None:
        assert update.effective_message
        await update.effective_message.reply_text("长" * 4097)

    async def exact_cmd(update: Update, context: Context) -> None:
        assert update.effective_message
        # 4096 visible characters: the tags do not count
        await update.effective_message.reply_text("<b>" + "字" * 4096 + "</b>")

    async def broken_cmd(update: Update, context: Context) -> None:
        assert update.effective_message
        await update.effective_message.reply_text("<b>未闭合")

    async def br_cmd(update: Update, context: Context) -> None:
        assert update.effective_message
        await update.effective_message.reply_text("第一行<br>第二行")

    async def bigdata_cmd(update: Update, context: Context) -> None:
        assert update.effective_message
        data = "rate:" + "汉" * 20  # 5 + 60 bytes
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("评分", callback_data=data)]])
        await update.effective_message.reply_text("请评分", reply_markup=keyboard)

    async def notify_cmd(update: Update, context: Context) -> None:
        assert context.args
        await context.bot.send_message(int(context.args[0]), "通知")

    async def keyboard_cmd(update: Update, context: Context) -> None:
        assert update.effective_message
        await update.effective_message.reply_text(
            "请选择", reply_markup=ReplyKeyboardMarkup([["优秀", "称职"], ["基本称职"]])
        )

    async def echo_msg(update: Update, context: Context) -> None:
        assert update.effective_message and update.effective_message.text
        await update.effective_message.reply_text(html.escape(update.effective_message.text))

    async def photo_msg(update: Update, context: Context) -> None:
        message = update.effective_message
        assert message and message.photo
        await message.reply_text(f"photo:{message.photo[-1].file_id}")

    async def document_msg(update: Update, context: Context) -> None:
        message = update.effective_message
        assert message and message.document
        file = await message.document.get_file()
        data = await file.download_as_bytearray()
        await message.reply_text(f"document:{message.document.file_name}:{bytes(data).decode()}")

    async def sticker_msg(update: Update, context: Context) -> None:
        assert update.effective_message
        await update.effective_message.reply_text("sticker")

    async def on_error(update: object, context: Context) -> None:
        assert context.error is not None
        bot.errors.append(context.error)

    app = bot.app
    app.add_handler(CommandHandler("start", start_cmd))
    app.add_handler(CommandHandler("long", long_cmd))
    app.add_handler(CommandHandler("exact", exact_cmd))
    app.add_handler(CommandHandler("broken", broken_cmd))
    app.add_handler(CommandHandler("br", br_cmd))
    app.add_handler(CommandHandler("bigdata", bigdata_cmd))
    app.add_handler(CommandHandler("notify", notify_cmd))
    app.add_handler(CommandHandler("keyboard", keyboard_cmd))
    app.add_handler(CallbackQueryHandler(agree_callback, pattern=r"^agree:\d+$"))
    app.add_handler(CallbackQueryHandler(refuse_callback, pattern=r"^refuse:\d+$"))
    app.add_handler(CallbackQueryHandler(twice_callback, pattern=r"^twice:\d+$"))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo_msg))
    app.add_handler(MessageHandler(filters.PHOTO, photo_msg))
    app.add_handler(MessageHandler(filters.Document.ALL, document_msg))
    app.add_handler(MessageHandler(filters.Sticker.ALL, sticker_msg))
    app.add_error_handler(on_error)


def tiny_bot(fake: FakeTelegram, *, concurrent: int = 1) -> TinyBot:
    """The Application wired to the fake at the HTTP edge, HTML by default like kaohe."""
    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .request(FakeRequest(fake))
        .get_updates_request(FakeRequest(fake))
        .defaults(Defaults(parse_mode=ParseMode.HTML))
        .concurrent_updates(concurrent)
        .build()
    )
    bot = TinyBot(app)
    add_handlers(bot)
    return bot


@pytest.fixture
def fake() -> FakeTelegram:
    return FakeTelegram(callback_query_timeout=None)  # the real clock: see tests/conftest.py


@pytest.fixture
def bot(fake: FakeTelegram) -> TinyBot:
    return tiny_bot(fake)


@pytest.fixture
async def sim(fake: FakeTelegram, bot: TinyBot) -> AsyncIterator[Simulator]:
    async with Simulator(bot.app, fake) as simulator:
        yield simulator


# -- conversation basics ---------------------------------------------------------------------


async def test_command_and_deep_link_arrive_with_args(sim: Simulator) -> None:
    user = sim.user(1001, "王<主任>")
    await user.command("start")
    assert user.last().text == "欢迎 王<主任>\n参数：无"
    assert user.last().html == "欢迎 <b>王&lt;主任&gt;</b>\n参数：无"
    assert user.last().buttons == [["同意", "拒绝申请"], ["两次"]]
    assert user.last().callback_data == ["agree:1", "refuse:1", "twice:1"]

    await user.command("start", "invite-ABC123")
    assert user.last().text.endswith("参数：invite-ABC123")
    sent = sim.sent[-1]["message"]
    assert sent["text"] == "/start invite-ABC123"
    assert sent["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert sim.fake.calls_to("sendMessage")[-1].params["parse_mode"] == "HTML"


async def test_echo_inbox_and_message_ids_shared_with_user(sim: Simulator) -> None:
    user = sim.user(1002, "李四")
    mark = user.mark()
    await user.send("你好 <不是标签>")
    await user.send("第二条")
    inbox = user.inbox_since(mark)
    assert [m.text for m in inbox] == ["你好 <不是标签>", "第二条"]
    # user message 1, bot reply 2, user 3, bot 4: one id sequence per chat, as in Telegram
    assert [m.message_id for m in inbox] == [2, 4]
    assert user.inbox_since(user.mark()) == []


async def test_press_by_label_reaches_handler_and_edit_is_recorded(sim: Simulator) -> None:
    user = sim.user(1003, "张三")
    await user.command("start")
    original = user.last()
    answer = await user.press("同意")
    assert answer.answered and answer.text == "已同意" and not answer.show_alert
    edited = user.last()
    assert edited.message_id == original.message_id
    assert edited.text == "你已同意"
    assert edited.edit_count == 1
    # editMessageText without reply_markup removes the keyboard, as on Telegram
    assert edited.buttons == []
    stored = sim.fake.message(user.chat_id, edited.message_id)
    assert stored is not None and stored.edits[0].content["text"].startswith("欢迎 张三")
    assert user.changed_since(0)[0].message_id == edited.message_id


async def test_press_prefix_alert_and_unknown_label(sim: Simulator) -> None:
    user = sim.user(1004, "赵六")
    await user.command("start")
    answer = await user.press("拒绝")  # unique prefix of 拒绝申请
    assert answer.text == "确定拒绝？" and answer.show_alert
    with pytest.raises(AssertionError, match="no unique button"):
        await user.press("不存在")


async def test_message_not_modified_and_missing_message(sim: Simulator, bot: TinyBot) -> None:
    user = sim.user(1005, "钱七")
    await user.command("start")
    message_id = user.last().message_id
    await user.press("同意")
    # a stale copy of the old keyboard pressed again: same edit -> "message is not modified"
    answer = await user.press_data("agree:1", message_id=message_id)
    assert answer.answered
    assert "message is not modified" in bot.error(BadRequest).message.lower()

    status, body = sim.fake.handle(
        "editMessageText", {"chat_id": user.chat_id, "message_id": 999, "text": "x"}
    )
    assert (status, body["description"]) == (400, "Bad Request: message to edit not found")
    status, body = sim.fake.handle("deleteMessage", {"chat_id": user.chat_id, "message_id": 999})
    assert (status, body["description"]) == (400, "Bad Request: message to delete not found")


# -- Telegram's refusals reach the bot as PTB exceptions ---------------------------------------


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("long", "message is too long"),
        ("broken", "can't parse entities: can't find end tag corresponding to start tag \"b\""),
        ("br", 'can\'t parse entities: unsupported start tag "br" at byte offset 9'),
        ("bigdata", "button_data_invalid"),
    ],
)
async def test_bad_requests_reach_the_bot(
    sim: Simulator, bot: TinyBot, command: str, expected: str
) -> None:
    user = sim.user(1006, "孙八")
    await user.command(command)
    assert bot.error(BadRequest).message.lower() == expected
    assert user.messages() == []


async def test_text_length_counts_visible_characters(sim: Simulator, bot: TinyBot) -> None:
    user = sim.user(1007, "周九")
    await user.command("exact")
    assert len(user.last().text) == 4096
    assert bot.errors == []


async def test_forbidden_for_user_who_never_started(sim: Simulator, bot: TinyBot) -> None:
    admin = sim.user(1008, "管理员")
    sim.fake.never_started(2001)
    await admin.command("notify", "2001")
    assert "can't initiate conversation" in bot.error(Forbidden).message
    # once the user writes to the bot, the chat exists
    newcomer = sim.user(2001, "新人")
    await newcomer.send("在吗")
    await admin.command("notify", "2001")
    assert newcomer.last().text == "通知"
    await newcomer.block_bot()
    await admin.command("notify", "2001")
    assert sum("blocked by the user" in str(e) for e in bot.errors) == 1


async def test_answering_a_callback_query_twice_fails(sim: Simulator, bot: TinyBot) -> None:
    user = sim.user(1009, "吴十")
    await user.command("start")
    answer = await user.press("两次")
    assert answer.answered and answer.text is None
    assert bot.error(BadRequest).message == (
        "Query is too old and response timeout expired or query id is invalid"
    )


def test_an_alert_over_200_characters_is_refused(fake: FakeTelegram) -> None:
    fake.add_user(1015, "钱十五")
    query_id = fake.register_callback_query(1015, None, None, "x:1")
    status, body = fake.handle(
        "answerCallbackQuery", {"callback_query_id": query_id, "text": "长" * 201}
    )
    assert (status, body["description"]) == (400, "Bad Request: MESSAGE_TOO_LONG")
    status, _ = fake.handle(
        "answerCallbackQuery", {"callback_query_id": query_id, "text": "长" * 200}
    )
    assert status == 200


async def test_injected_429_and_timeout(
    sim: Simulator, bot: TinyBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PTB 22 warns on every RetryAfter unless opted in to timedelta retry_after (its v23 type)
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    user = sim.user(1010, "郑十一")
    sim.fake.fail_next("sendMessage", 429, retry_after=7)
    await user.send("一")
    retry_after = bot.error(RetryAfter).retry_after
    assert retry_after == dtm.timedelta(seconds=7)
    assert user.messages() == []
    # a lost answer: delivered, but the bot sees a timeout
    sim.fake.fail_next("sendMessage", timeout=True, deliver=True)
    await user.send("二")
    assert isinstance(bot.errors[-1], TimedOut)
    assert [m.text for m in user.messages()] == ["二"]
    # a hang: not applied, recorded without a status (over HTTP no answer ever comes)
    sim.fake.fail_next("sendMessage", hang=True)
    await user.send("三")
    assert isinstance(bot.errors[-1], TimedOut)
    assert [m.text for m in user.messages()] == ["二"]
    assert sim.fake.calls_to("sendMessage")[-1].status == 0


# -- other kinds of updates ------------------------------------------------------------------


async def test_photo_document_sticker_and_download(sim: Simulator) -> None:
    user = sim.user(1011, "冯十二")
    await user.send_photo(file_id="PHOTO-1")
    assert user.last().text == "photo:PHOTO-1"
    await user.send_document("名单.xlsx", b"payload-bytes")
    assert user.last().text == "document:名单.xlsx:payload-bytes"
    await user.send_sticker()
    assert user.last().text == "sticker"


async def test_reply_keyboard_labels(sim: Simulator) -> None:
    user = sim.user(1012, "陈十三")
    assert user.reply_keyboard() == []
    await user.command("keyboard")
    assert user.reply_keyboard() == [["优秀", "称职"], ["基本称职"]]


async def test_group_commands_mention_and_privacy_mode(sim: Simulator) -> None:
    group = sim.group(-100123, "党政办")
    member = sim.user(1013, "褚十四")
    update = await group.command(member, "start", "x")
    assert update.effective_message is not None
    assert update.effective_message.text == f"/start@{BOT_USERNAME} x"
    assert group.last().text.endswith("参数：x")
    assert await group.send(member, "闲聊") is None  # privacy mode: not delivered
    await group.send(member, "回复机器人", reply_to=group.last())
    assert group.last().text == "回复机器人"


async def test_commands_per_scope_and_language(sim: Simulator, bot: TinyBot) -> None:
    ext_bot = bot.app.bot
    user = sim.user(1014, "卫十五")
    await ext_bot.set_my_commands([BotCommand("start", "开始")])
    await ext_bot.set_my_commands(
        [BotCommand("start", "开始"), BotCommand("rate", "评分")],
        scope=BotCommandScopeAllPrivateChats(),
        language_code="zh",
    )
    await ext_bot.set_my_commands(
        [BotCommand("admin", "管理")], scope=BotCommandScopeChat(user.chat_id)
    )
    commands = await ext_bot.get_my_commands(
        scope=BotCommandScopeAllPrivateChats(), language_code="zh"
    )
    assert [c.command for c in commands] == ["start", "rate"]
    assert [c["command"] for c in sim.fake.visible_commands(user.chat_id, language_code="zh")] == [
        "admin"
    ]
    assert [c["command"] for c in sim.fake.visible_commands(42, language_code="zh")] == [
        "start",
        "rate",
    ]
    assert [c["command"] for c in sim.fake.visible_commands(42, language_code="en")] == ["start"]
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await ext_bot.set_my_commands([BotCommand("Bad-Name", "x")])


async def test_feed_many_concurrently_and_replay(fake: FakeTelegram) -> None:
    concurrent_bot = tiny_bot(fake, concurrent=8)
    async with Simulator(concurrent_bot.app, fake) as sim:
        users = [sim.user(3000 + i, f"用户{i}") for i in range(20)]
        updates = [sim.message_update(u.chat_id, u.id, {"text": f"hi {u.id}"}) for u in users]
        await sim.feed_many(updates)
        assert all(u.last().text == f"hi {u.id}" for u in users)
        ids = [u["update_id"] for u in updates]
        assert ids == sorted(ids) and len(set(ids)) == 20
        replayed = await sim.replay(updates[0])
        assert replayed.update_id == ids[0]
        assert len(users[0].messages()) == 2  # the bare bot does not deduplicate


# -- the fake on its own -----------------------------------------------------------------------


def test_html_parser_matches_telegram_rules() -> None:
    text, entities = parse_html('<b>粗</b> <a href="https://t.me">链</a> &lt;&amp;&gt; &nbsp;')
    assert text == "粗 链 <&> &nbsp;"
    assert entities[0] == {"type": "bold", "offset": 0, "length": 1}
    assert entities[1]["url"] == "https://t.me"
    assert html_to_text("  <i>x</i> \n") == "x"
    assert parse_html("<span class='tg-spoiler'>s</span>")[1][0]["type"] == "spoiler"


def test_unknown_method_and_webhook_conflict(fake: FakeTelegram) -> None:
    assert fake.handle("sendPigeon", {}) == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found: method not found"},
    )
    assert fake.handle("setWebhook", {"url": "https://example.invalid/hook"})[0] == 200
    status, body = fake.handle("getUpdates", {})
    assert status == 409 and "webhook is active" in body["description"]
    assert fake.handle("deleteWebhook", {})[0] == 200
    assert fake.handle("getUpdates", {}) == (200, {"ok": True, "result": []})


async def test_get_updates_long_poll_offset_and_conflict(fake: FakeTelegram) -> None:
    poll = asyncio.create_task(fake.handle_async("getUpdates", {"timeout": "30"}))
    await fake.wait_for(lambda: fake.polls_waiting == 1)
    fake.push_update({"update_id": 1, "message": {"message_id": 1}})
    status, body = await poll
    assert status == 200 and [u["update_id"] for u in body["result"]] == [1]
    # not confirmed yet: fetched again; confirmed with offset: gone
    assert len(fake.handle("getUpdates", {"offset": 1})[1]["result"]) == 1
    assert fake.handle("getUpdates", {"offset": 2})[1]["result"] == []
    # a second poller ends the first with 409
    first = asyncio.create_task(fake.handle_async("getUpdates", {"timeout": 30, "offset": 2}))
    await fake.wait_for(lambda: fake.polls_waiting == 1)
    second = asyncio.create_task(fake.handle_async("getUpdates", {"timeout": 1, "offset": 2}))
    status, body = await first
    assert status == 409 and "terminated by other getUpdates request" in body["description"]
    second.cancel()
    with pytest.raises(asyncio.CancelledError):
        await second
    assert fake.polls_waiting == 0


def test_flood_limits_with_controlled_clock() -> None:
    now = [1_800_000_000.0]
    fake = FakeTelegram(clock=lambda: now[0], flood=FloodLimits(group_per_minute=20))
    fake.add_group(-1001, "群")
    for i in range(20):
        assert fake.handle("sendMessage", {"chat_id": -1001, "text": f"{i}"})[0] == 200
    status, body = fake.handle("sendMessage", {"chat_id": -1001, "text": "21"})
    assert status == 429 and body["parameters"]["retry_after"] == 60
    now[0] += 60
    assert fake.handle("sendMessage", {"chat_id": -1001, "text": "21"})[0] == 200


def test_callback_query_expires_with_clock() -> None:
    now = [1_800_000_000.0]
    fake = FakeTelegram(clock=lambda: now[0])
    fake.add_user(5, "甲")
    query_id = fake.register_callback_query(5, None, None, "x")
    now[0] += 16
    status, body = fake.handle("answerCallbackQuery", {"callback_query_id": query_id})
    assert status == 400 and body["description"].startswith("Bad Request: query is too old")


# -- over real HTTP ----------------------------------------------------------------------------


async def test_http_server_drives_a_polling_application(fake: FakeTelegram) -> None:
    async with serve(fake) as server:
        app = (
            ApplicationBuilder()
            .token(TOKEN)
            .base_url(server.base_url)
            .base_file_url(server.base_file_url)
            .defaults(Defaults(parse_mode=ParseMode.HTML))
            .build()
        )
        bot = TinyBot(app)
        add_handlers(bot)
        async with Simulator(app, fake, via="polling", poll_timeout=2) as sim:
            user = sim.user(4001, "蒋十六")
            mark = user.mark()
            await user.command("start", "deep")
            reply = await user.wait_for_message(mark)
            assert reply.text.endswith("参数：deep")
            answer = await user.press("同意")
            assert answer.text == "已同意"
            await fake.wait_for(lambda: user.last().text == "你已同意")
            mark = user.mark()
            await user.send_document("a.txt", b"over-http")
            assert (await user.wait_for_message(mark)).text == "document:a.txt:over-http"
        assert fake.calls_to("deleteWebhook")  # PTB's bootstrap went through the server
        assert bot.errors == []


_POLLING_SCRIPT = """
import os
from telegram.ext import ApplicationBuilder, CommandHandler

async def start(update, context):
    await update.effective_message.reply_text("pong " + " ".join(context.args))

app = (
    ApplicationBuilder()
    .token(os.environ["BOT_TOKEN"])
    .base_url(os.environ["TELEGRAM_API_BASE_URL"])
    .build()
)
app.add_handler(CommandHandler("start", start))
app.run_polling(timeout=5)
"""


async def test_http_server_drives_a_separate_process(fake: FakeTelegram) -> None:
    """The shape of an end-to-end test of ``kaohe run``: a process polling the local server."""
    async with serve(fake) as server:
        env = {**os.environ, "BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": server.base_url}
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _POLLING_SCRIPT,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            sim = Simulator(None, fake, via="polling")
            user = sim.user(4101, "韩十八")
            await fake.wait_for(lambda: fake.polls_waiting == 1, timeout=30)
            mark = user.mark()
            await user.command("start", "e2e")
            assert (await user.wait_for_message(mark)).text == "pong e2e"
        finally:
            process.terminate()
            _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
        assert process.returncode == 0, stderr.decode()


def test_http_server_in_thread_with_httpx(fake: FakeTelegram) -> None:
    fake.add_user(77, "沈十七")
    with serve(fake) as server, httpx.Client(base_url=f"{server.base_url}{TOKEN}/") as client:
        me = client.get("getMe").json()
        assert me["ok"] and me["result"]["username"] == BOT_USERNAME
        markup = {"inline_keyboard": [[{"text": "好", "callback_data": "ok:1"}]]}
        sent = client.post(
            "sendMessage",
            data={
                "chat_id": "77",
                "text": "<i>表单</i>",
                "parse_mode": "HTML",
                "reply_markup": json.dumps(markup),
            },
        ).json()
        assert sent["result"]["text"] == "表单"
        assert sent["result"]["reply_markup"] == markup
        as_json = client.post("sendMessage", json={"chat_id": 77, "text": "JSON"}).json()
        assert as_json["result"]["message_id"] == sent["result"]["message_id"] + 1
        upload = client.post(
            "sendDocument",
            data={"chat_id": "77", "caption": "附件"},
            files={"document": ("表.csv", b"a,b\r\n1,2\r\n", "text/csv")},
        ).json()
        document = upload["result"]["document"]
        assert document["file_name"] == "表.csv" and upload["result"]["caption"] == "附件"
        path = client.get("getFile", params={"file_id": document["file_id"]}).json()["result"][
            "file_path"
        ]
        download = httpx.get(f"{server.base_file_url}{TOKEN}/{path}")
        assert download.content == b"a,b\r\n1,2\r\n"
        missing = client.post("sendPigeon")
        assert missing.status_code == 404
        assert missing.json()["description"] == "Not Found: method not found"
        too_long = client.post("sendMessage", json={"chat_id": 77, "text": "x" * 4097})
        assert too_long.status_code == 400
        assert too_long.json()["description"] == "Bad Request: message is too long"
