"""The sandbox page's HTTP API, through a real HTTP client on 127.0.0.1 (no browser needed)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from bot.core.config import Settings
from bot.sandbox.sandbox import Sandbox
from bot.sandbox.web import SandboxServer

SH = ZoneInfo("Asia/Shanghai")
POST = {"X-Kaohe-Sandbox": "1"}


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[Sandbox, httpx.AsyncClient]]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]  # pydantic-settings takes _env_file at construction
        data_dir=tmp_path / "data",
        unit_name="青山镇",
    )
    start = datetime(2026, 7, 25, 8, 0, tzinfo=SH)
    async with Sandbox(settings, start=start) as sandbox:
        server = await SandboxServer(sandbox).start()
        try:
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
                yield sandbox, client
        finally:
            await server.stop()


async def _json(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_page_is_one_file_that_loads_nothing_from_elsewhere(served: Any) -> None:
    _, client = served
    page = await client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page.text)
    assert "@import" not in page.text and "<script src" not in page.text


async def test_setup_lists_the_roster_by_department_then_the_group(served: Any) -> None:
    sandbox, client = served
    setup = await _json(await client.get("/api/setup"))
    texts = sandbox.services.texts
    assert setup["lang"] == "zh"
    assert set(setup["labels"]) == {
        k.removeprefix("sandbox.") for k in texts.label_keys("zh") if k.startswith("sandbox.")
    }
    people = [c for c in setup["chats"] if not c["group"]]
    assert [c["title"] for c in people] == [c.title for c in await sandbox.chats()][:-1]
    departments = [c["department"] for c in people]
    assert departments == sorted(departments, key=departments.index)  # grouped, not scattered
    assert setup["chats"][-1]["group"] and setup["chats"][-1]["members"]
    assert setup["clock"]["next"]["kind"] == "open"


async def test_a_person_types_sends_a_file_and_downloads_it(served: Any) -> None:
    sandbox, client = served
    wu = sandbox.chat_of("吴磊")
    await _json(await client.post(f"/api/chats/{wu}/send", json={"text": "/help"}, headers=POST))
    chat = await _json(await client.get(f"/api/chats/{wu}"))
    assert chat["messages"][-2]["text"] == "/help"
    assert chat["messages"][-1]["from_bot"] and "/whoami" in chat["messages"][-1]["text"]
    assert {c["command"] for c in chat["commands"]} >= {"selfscore", "help"}

    data = "姓名,说明\n吴磊,证明材料\n".encode()
    await _json(
        await client.post(
            f"/api/chats/{wu}/file",
            files={"file": ("证明.csv", data, "text/csv")},
            headers=POST,
        )
    )
    sent = [m for m in (await _json(await client.get(f"/api/chats/{wu}")))["messages"]]
    document = next(m for m in reversed(sent) if m["attachment"])
    assert document["attachment"]["file_name"] == "证明.csv"
    download = await client.get(f"/files/{document['attachment']['file_id']}")
    assert download.status_code == 200 and download.content == data
    assert "attachment" in download.headers["content-disposition"]


async def test_the_clock_moves_to_the_next_event_and_the_long_poll_wakes(served: Any) -> None:
    sandbox, client = served
    wu = sandbox.chat_of("吴磊")
    seq = sandbox.seq
    clock = await _json(await client.post("/api/clock", json={"move": "next"}, headers=POST))
    assert clock["next"]["kind"] == "remind"
    woken = await _json(await client.get("/api/wait", params={"since": seq}))
    assert woken["seq"] > seq
    await sandbox.app.sender.flush()
    chat = await _json(await client.get(f"/api/chats/{wu}"))
    assert "2026年7月" in chat["messages"][-1]["text"]
    assert woken["clock"]["epoch_ms"] >= clock["epoch_ms"]


async def test_a_gone_button_and_foreign_requests_are_refused(served: Any) -> None:
    sandbox, client = served
    wu = sandbox.chat_of("吴磊")
    last = sandbox.transcript(wu)[-1]
    press = {"message_id": last.message_id, "row": 5, "column": 0}
    gone = await client.post(f"/api/chats/{wu}/press", json=press, headers=POST)
    assert gone.status_code == 404 and gone.json() == {"error": "gone"}
    unmarked = await client.post(f"/api/chats/{wu}/send", json={"text": "/help"})
    assert unmarked.status_code == 403
    rebound = await client.get("/api/setup", headers={"Host": "sandbox.example.org"})
    assert rebound.status_code == 403
    assert (await client.get("/api/chats/424242")).status_code == 404
    assert len(sandbox.transcript(wu)) == 2
