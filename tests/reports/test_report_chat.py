"""``/report`` in chat, and the scheduler's long messages split to fit Telegram."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from bot.appraisal import periods as appraisal
from bot.core.clock import ManualClock
from bot.core.scheme_file import default_scheme
from bot.jobs.notices import Notices
from storage.engine import transaction
from storage.queries import periods as periods_q
from tests.reports.stored import store_the_year

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2027, 1, 6, 9, 0, tzinfo=SH))


async def test_report_sends_the_summary_and_files_to_leaders_and_the_office(
    town: Any, clock: ManualClock, fake: Any, texts: Any
) -> None:
    mayor = await town.signup("钱志强")
    clerk = await town.signup("周晓燕")
    cadre = await town.signup("吴磊")

    await mayor.command("report")
    assert mayor.last().text == texts.render("zh", "reports/report_none", code=None)

    await store_the_year(town, clock)
    mark = mayor.mark()
    await mayor.command("report", "2026-Q2")
    got = mayor.inbox_since(mark)
    assert "2026年第2季度考核结果" in got[0].text and "优秀" in got[0].text
    assert [bool(m.photo) for m in got[-2:]] == [True, False]
    sheet = openpyxl.load_workbook(io.BytesIO(fake.files[got[-1].document].data))
    assert "2026" in str(sheet.worksheets[0]["A1"].value)

    await mayor.command("report", "2027-Q1")
    assert "2027-Q1" in mayor.last().text and "还没有公布" in mayor.last().text

    # The year is not closed yet: its report is not out; the office gets the latest quarter.
    await clerk.command("report", "2026")
    assert "还没有公布" in clerk.last().text
    mark = clerk.mark()
    await clerk.command("report")
    assert len(clerk.inbox_since(mark)) >= 3

    # A cadre may not.
    await cadre.command("report")
    assert cadre.last().text == texts.render("zh", "access/not_allowed", roles=["leader", "office"])


async def test_a_long_notice_goes_out_in_parts_that_fit(town: Any, fake: Any) -> None:
    """The office's closing summary of a large unit names everyone missing: split, not refused."""
    clerk = await town.signup("周晓燕")
    office = await town.cadre("周晓燕")
    services = town.services
    async with transaction(services.sessions) as session:
        await appraisal.create_year(
            session=session,
            unit_id=services.unit,
            year=2026,
            scheme=default_scheme(),
            now=services.now(),
        )
        period = await periods_q.find_period(session=session, unit_id=services.unit, code="2026-11")
    missing = [{"name": f"干部{i:04d}", "department": f"第{i // 20}办公室"} for i in range(600)]
    mark = clerk.mark()
    async with transaction(services.sessions) as session:
        queued = await Notices(services).queue(
            session,
            event="close@test",
            kind="summary",
            cadre=office,
            template="jobs/summary",
            period=period,
            total=600,
            self_done=0,
            head_done=0,
            auto=0,
            ballot=None,
            missing=missing,
            excused=[],
            owing=[],
        )
    assert queued
    await town.app.sender.flush()
    parts = clerk.inbox_since(mark)
    assert len(parts) > 1
    assert all(len(m.text) <= 4096 for m in parts)
    joined = "\n".join(m.text for m in parts)
    assert all(p["name"] in joined for p in missing)
    assert not [c for c in fake.calls_to("sendMessage") if not c.ok]


async def test_without_a_leadership_chat_the_office_gets_the_summary(
    town: Any, clock: ManualClock, texts: Any
) -> None:
    clerk = await town.signup("周晓燕")
    mayor = await town.signup("钱志强")
    await store_the_year(town, clock)
    await town.app.scheduler.run_until_idle()
    got = [m.text for m in clerk.messages()]
    assert any("还没有绑定领导小组群" in t for t in got)
    assert any("2026年第1季度考核结果" in t and "等次分布" in t for t in got)
    assert any("2026年度考核结果" in t for t in got)
    # A leader gets no summary in private: the leadership chat is the place for it.
    assert not any("等次分布" in m.text for m in mayor.messages())
