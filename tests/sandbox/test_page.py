"""The sandbox page in a real headless Chromium: a cadre self-scores with one mistake, presses
Submit, the clock is moved to the deadline, and the result is read, all by clicking and typing.

Needs Debian's ``chromium`` (``apt-get install -y chromium``) and Playwright's Python package (the
dev extra); Playwright's own browser download is never used. Without either, the test is skipped
and says which is missing. It always takes a screenshot (in the test's temporary folder);
``KAOHE_SANDBOX_SCREENSHOT=docs/sandbox.png`` also writes it there (the README's picture).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.core.config import Settings
from bot.sandbox.sandbox import Sandbox
from bot.sandbox.web import SandboxServer

SH = ZoneInfo("Asia/Shanghai")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# ms: the most a step may take. The sender paces messages a second a chat, and a deadline takes
# the start buttons off the month's messages at the same pace before the clock stops moving.
WAIT = 30_000

try:
    from playwright.async_api import Page, async_playwright, expect
except ImportError:  # pragma: no cover - depends on the machine
    pytest.skip(
        "Playwright is not installed: pip install -e '.[dev]' (the browser test needs it)",
        allow_module_level=True,
    )
if not Path(CHROMIUM).exists():  # pragma: no cover - depends on the machine
    pytest.skip(
        "Chromium is not installed: apt-get install -y chromium (the browser test needs it)",
        allow_module_level=True,
    )


@pytest.fixture
async def page(tmp_path: Path) -> AsyncIterator[tuple[Sandbox, Page]]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]  # pydantic-settings takes _env_file at construction
        data_dir=tmp_path / "data",
        unit_name="青山镇",
    )
    start = datetime(2026, 7, 25, 8, 0, tzinfo=SH)
    async with Sandbox(settings, start=start) as sandbox:
        server = await SandboxServer(sandbox).start()
        try:
            async with async_playwright() as playwright:
                context = await playwright.chromium.launch_persistent_context(
                    str(tmp_path / "profile"),
                    executable_path=CHROMIUM,
                    headless=True,
                    args=ARGS,
                    viewport={"width": 1000, "height": 820},
                )
                try:
                    tab = context.pages[0] if context.pages else await context.new_page()
                    await tab.goto(server.url)
                    yield sandbox, tab
                finally:
                    await context.close()
        finally:
            await server.stop()


async def _type(page: Page, text: str) -> None:
    """Type ``text`` and send it; return once the bot has handled it."""
    await page.fill("#input", text)
    async with page.expect_response(lambda r: r.url.endswith("/send"), timeout=WAIT):
        await page.press("#input", "Enter")


async def _tap(page: Page, button: Any, path: str = "/send") -> None:
    """Click a button; return once the bot has handled what it sent (``/send``, ``/press``)."""
    async with page.expect_response(lambda r: r.url.endswith(path), timeout=WAIT):
        await button.click()


async def _shows(page: Page, sandbox: Sandbox, chat_id: int) -> None:
    """Wait until the page shows the chat as the bot left it: as many bubbles, the last one's
    words (its first line: the rest may wrap) at the end."""
    entries = sandbox.transcript(chat_id)
    await expect(page.locator("#log .msg")).to_have_count(len(entries), timeout=WAIT)
    first_line = entries[-1].text.splitlines()[0]
    await expect(page.locator("#log .msg").last).to_contain_text(first_line, timeout=WAIT)


async def test_a_cadre_self_scores_in_the_browser_and_reads_the_result(
    page: Any, tmp_path: Path
) -> None:
    sandbox, tab = page
    texts = sandbox.services.texts
    label = lambda key, **values: texts.label("zh", key, **values)  # noqa: E731
    wu = sandbox.chat_of("吴磊")

    # Everyone is on the list; open 吴磊's chat: his sign-up is there.
    await expect(tab.locator(".person")).to_have_count(len(await sandbox.chats()))
    await tab.locator(".person", has_text="吴磊").click()
    await expect(tab.locator("#head-title")).to_have_text("吴磊")
    await _shows(tab, sandbox, wu)

    # The month opens in front of us.
    opening = label("sandbox.event.open", period="2026-07")
    await expect(tab.locator("#clock-next-event")).to_contain_text(opening)
    await tab.locator("#clock-next").click()
    await expect(tab.locator("#log .msg.bot").last).to_contain_text("2026年7月", timeout=WAIT)
    await _shows(tab, sandbox, wu)

    # /selfscore: a mistake first, then the answers, typed and from the reply keyboard.
    await _type(tab, "/selfscore")
    await _shows(tab, sandbox, wu)
    await _type(tab, "abc")
    await _shows(tab, sandbox, wu)
    await expect(tab.locator("#log .msg.bot").last).to_contain_text("⚠️")
    keyboard = tab.locator("#reply-kb")
    await _tap(tab, keyboard.get_by_role("button", name="85", exact=True))
    await _shows(tab, sandbox, wu)
    await _tap(tab, keyboard.get_by_role("button", name=label("selfscore.skip")))
    await _shows(tab, sandbox, wu)
    await _type(tab, "90")
    await _shows(tab, sandbox, wu)
    await _tap(tab, keyboard.get_by_role("button", name=label("selfscore.skip")))
    await _shows(tab, sandbox, wu)

    # Press Submit under the summary: the bot's answer shows as a toast.
    submit = tab.locator("#log .kb button", has_text=label("selfscore.submit")).last
    await _tap(tab, submit, "/press")
    await expect(tab.locator("#toast")).to_be_visible(timeout=WAIT)
    await expect(tab.locator("#toast")).to_contain_text("85.5")

    # The clock to the deadline, one event at a time (he has not voted: reminders come).
    upcoming = tab.locator("#clock-next-event")
    for _ in range(6):
        await expect(upcoming).to_have_attribute("data-period", "2026-07")
        last = await upcoming.get_attribute("data-kind") == "close"
        await tab.locator("#clock-next").click()
        await expect(tab.locator("#clock-next")).to_be_enabled(timeout=WAIT)
        if last:
            break
    else:
        raise AssertionError("the deadline never came")
    # The bot's sender delivers the closing's messages in its own time (paced as on Telegram).
    await sandbox.app.sender.flush()
    await _shows(tab, sandbox, wu)
    result = tab.locator("#log .msg.bot").last
    await expect(result).to_contain_text("85.5")
    await expect(result).to_contain_text(label("grade.good"))
    await expect(tab.locator("#clock-now")).to_contain_text("2026-08-05")
    assert "85.5" in sandbox.transcript(wu)[-1].text

    picture = tmp_path / "sandbox.png"
    await tab.screenshot(path=str(picture))
    assert picture.stat().st_size > 10_000
    wanted = os.environ.get("KAOHE_SANDBOX_SCREENSHOT")
    if wanted:
        shutil.copyfile(picture, wanted)
