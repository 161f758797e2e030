"""Updates from different people run concurrently; one person's stay in order; bursts on SQLite
never fail with "database is locked"; the log has one secret-free line per update."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

import pytest
from sqlmodel import select

from bot.app import build_application
from bot.core.config import Settings
from bot.emulator.request import FakeRequest
from bot.emulator.simulator import Simulator, _text_content
from bot.emulator.telegram import FakeTelegram
from storage.models import Cadre
from tests.conftest import TEST_TOKEN


class InFlight(FakeRequest):
    """The network edge, counting how many sendMessage calls are in flight per chat and overall."""

    def __init__(self, fake: FakeTelegram) -> None:
        super().__init__(fake, latency=0.01)
        self.now: Counter[int] = Counter()
        self.most: Counter[int] = Counter()
        self.total = 0
        self.most_total = 0

    async def do_request(self, url: str, method: str, request_data: Any = None, **kw: Any) -> Any:
        chat = None
        if url.endswith("/sendMessage") and request_data is not None:
            chat = int(request_data.parameters["chat_id"])
            self.now[chat] += 1
            self.total += 1
            self.most[chat] = max(self.most[chat], self.now[chat])
            self.most_total = max(self.most_total, self.total)
        try:
            return await super().do_request(url, method, request_data, **kw)
        finally:
            if chat is not None:
                self.now[chat] -= 1
                self.total -= 1


@pytest.fixture
async def counted(settings: Settings) -> Any:
    fake = FakeTelegram(callback_query_timeout=None)
    request = InFlight(fake)
    app = build_application(settings, request=request, rate_limit=False)
    async with Simulator(app, fake, via="processor") as sim:
        yield sim, request


def _message(sim: Simulator, user_id: int, text: str) -> dict[str, Any]:
    return sim.message_update(user_id, user_id, _text_content(text))


async def test_one_person_in_order_many_people_at_once(counted: Any) -> None:
    sim, request = counted
    users = [sim.user(9000 + i, f"路人{i}") for i in range(8)]
    # Each stranger sends three messages at once; every person gets three replies.
    updates = [_message(sim, u.id, text) for u in users for text in ("一", "二", "三")]
    await sim.feed_many(updates)
    for user in users:
        assert len(user.messages()) == 3
        assert request.most[user.id] == 1, "one person's updates overlapped"
    assert request.most_total > 1, "different people's updates never ran at the same time"


async def test_one_persons_commands_take_effect_in_order(town: Any) -> None:
    user = await town.signup("王芳")
    sim = town.sim
    switches = ["/lang en", "/lang zh", "/lang en", "/lang zh", "/lang en"]
    mark = user.mark()
    await sim.feed_many([_message(sim, user.id, text) for text in switches])
    replies = [m.text for m in user.inbox_since(mark)]
    assert [r.startswith("Done") for r in replies] == [True, False, True, False, True]
    assert (await town.cadre("王芳")).language == "en"


async def test_a_burst_of_signups_never_locks_the_database(town: Any) -> None:
    async with town.services.sessions() as session:
        names = [c.name for c in (await session.exec(select(Cadre))).all()]
    codes = {name: await town.code_for(name) for name in names}
    people = {name: town.person(name) for name in names}
    await town.sim.feed_many(
        [_message(town.sim, people[n].id, f"/start {codes[n]}") for n in names]
    )
    for name in names:
        assert "登记成功" in people[name].last().text, name
        assert (await town.cadre(name)).telegram_user_id == people[name].id


async def test_log_line_per_update_and_no_token(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.core.logs import RedactSecrets

    fake = FakeTelegram(callback_query_timeout=None)
    app = build_application(settings, request=FakeRequest(fake), rate_limit=False)
    handler_filter = RedactSecrets([TEST_TOKEN])
    caplog.handler.addFilter(handler_filter)
    caplog.set_level(logging.INFO)
    async with Simulator(app, fake, via="processor") as sim:
        stranger = sim.user(4321, "路人")
        await stranger.command("whoami")
        logging.getLogger("kaohe.test").info("url https://x/bot%s/getMe", TEST_TOKEN)
    lines = [r.getMessage() for r in caplog.records if r.name == "kaohe.updates"]
    assert len(lines) == 1
    assert "user=4321 /whoami -> refused:stranger" in lines[0]
    assert all(TEST_TOKEN not in r.getMessage() for r in caplog.records)
    assert "url https://x/bot***/getMe" in caplog.text


async def test_person_data_is_written_through(town: Any) -> None:
    """The processor writes persistence through after each update: a crash loses nothing."""
    user = town.person("李明")
    await user.command("lang", "en")  # not signed up: remembered in user_data
    from storage.models import PersistedData

    async with town.services.sessions() as session:
        rows = (await session.exec(select(PersistedData))).all()
    assert any(
        r.kind == "user" and r.key == str(user.id) and r.data == {"lang": "en"} for r in rows
    )


def test_debug_logging_keeps_telegram_requests_out() -> None:
    """At LOG_LEVEL=DEBUG the bot's own loggers debug, but python-telegram-bot's request logs
    (which would carry ballots) stay at INFO."""
    from bot.core.logs import setup_logging

    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        setup_logging("DEBUG")
        assert logging.getLogger("kaohe.updates").isEnabledFor(logging.DEBUG)
        assert not logging.getLogger("telegram.ext.ExtBot").isEnabledFor(logging.DEBUG)
        assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        logging.getLogger("telegram").setLevel(logging.NOTSET)
