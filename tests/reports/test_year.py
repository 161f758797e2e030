"""The half-years and the year: summaries to the leadership chat, and the year-end bonus sheet to
the office, its figures checked against values computed here by hand.

The months' results are stored directly (scores and office-rules scores, as a closed month
would leave them); everything after is the product's own work: the quarters are scored by the
engine and published, and the scheduler closes the half-years and the year when their time
comes, scoring them and sending what they send.
"""

from __future__ import annotations

import io
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlmodel import select

from bot.core.clock import ManualClock
from storage.engine import transaction
from storage.models import BonusEntry, PeriodState, Result
from storage.queries import periods as periods_q
from storage.queries import reviews as reviews_q
from tests.reports.stored import money, month_score, office, store_the_year, tenth

SH = ZoneInfo("Asia/Shanghai")
CENT = Decimal("0.01")
TENTH = Decimal("0.1")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2027, 1, 6, 9, 0, tzinfo=SH))


async def test_the_year_closes_with_its_summary_and_the_bonus_sheet(
    town: Any, clock: ManualClock, fake: Any, texts: Any
) -> None:
    services = town.services
    users = await town.signup_all()
    group = await town.bind_leadership("考核领导小组")
    index = await store_the_year(town, clock)
    li, wu, feng = [await town.cadre(n) for n in ("李明", "吴磊", "冯超")]
    async with transaction(services.sessions) as session:
        await reviews_q.replace_bonus_bases(
            session=session,
            unit_id=services.unit,
            year=2026,
            bases={li.id: Decimal("12000")},
            source="test",
            now=clock.now(),
        )
        session.add(
            BonusEntry(
                unit_id=services.unit,
                year=2026,
                cadre_id=wu.id,
                kind="reward",
                amount=Decimal("500"),
                reason="县级表彰",
            )
        )
        session.add(
            BonusEntry(
                unit_id=services.unit,
                year=2026,
                cadre_id=feng.id,
                kind="deduction",
                amount=Decimal("200"),
                reason="值班脱岗",
            )
        )
    clerk = users["周晓燕"]
    before, before_group = clerk.mark(), group.mark()

    # The clock is past the year's end: the scheduler closes H1, H2 and the year (and announces
    # the published quarters it had not announced yet).
    await town.app.scheduler.run_until_idle()
    async with services.sessions() as session:
        year = await periods_q.find_period(session=session, unit_id=services.unit, code="2026")
        assert year is not None and year.state == PeriodState.CLOSED
        stored = {
            r.cadre_id: r
            for r in (await session.exec(select(Result).where(Result.period_id == year.id))).all()
        }

    # The year's summary reached the leadership chat; the bonus sheet reached the office.
    posted = group.inbox_since(before_group)
    assert any("2026年度考核结果" in m.text for m in posted)
    assert any("2026年上半年考核结果" in m.text for m in posted)
    sheets = [m for m in clerk.inbox_since(before) if m.document and "年终绩效奖" in m.text]
    assert len(sheets) == 1
    book = openpyxl.load_workbook(io.BytesIO(fake.files[sheets[0].document].data))
    rows = [r for r in book.worksheets[0].iter_rows(values_only=True) if any(r)]
    header = next(r for r in rows if "姓名" in r)
    at = {str(h): i for i, h in enumerate(header) if h}
    body = rows[rows.index(header) + 1 :]
    by_name = {r[at["姓名"]]: r for r in body if r[at["姓名"]]}
    total_row = body[-1]

    # Every figure by hand: the quarters' means, the year's mean of them, the office-rules
    # mean of the twelve months, and base × (0.15 × office + 0.85 × annual) / 100 + rewards −
    # deductions, each part to the cent.
    expected_total = Decimal(0)
    for name, i in index.items():
        quarters = [
            tenth(sum(month_score(i, m) for m in range(3 * q - 2, 3 * q + 1)) / 3)
            for q in range(1, 5)
        ]
        annual = tenth(sum(quarters) / 4)
        office_mean = tenth(sum(office(i, m) for m in range(1, 13)) / 12)
        base = Decimal("12000") if name == "李明" else Decimal("10000")
        office_part = money(base * Decimal("0.15") * office_mean / 100)
        performance_part = money(base * Decimal("0.85") * annual / 100)
        amount = office_part + performance_part
        amount += Decimal("500") if name == "吴磊" else 0
        amount -= Decimal("200") if name == "冯超" else 0
        expected_total += amount
        cadre = await town.cadre(name)
        assert stored[cadre.id].score == annual, name
        row = by_name[name]
        assert Decimal(str(row[at["基数"]])) == base, name
        assert Decimal(str(row[at["机关制度部分"]])).quantize(CENT) == office_part, name
        assert Decimal(str(row[at["绩效部分"]])).quantize(CENT) == performance_part, name
        assert Decimal(str(row[at["奖金合计"]])).quantize(CENT) == amount, name
    assert Decimal(str(total_row[at["奖金合计"]])).quantize(CENT) == expected_total
    column = [Decimal(str(r[at["奖金合计"]])) for r in by_name.values()]
    assert sum(column).quantize(CENT) == Decimal(str(total_row[at["奖金合计"]])).quantize(CENT)

    # Each cadre got their year's figure and bonus privately, after the fourth quarter's result
    # (a quarter's report goes out before the summaries made of it).
    wu_sees = [m.text for m in users["吴磊"].messages()]
    year_text = next(t for t in wu_sees if "2026年度" in t)
    assert "年终绩效奖" in year_text and "奖励 500.00" in year_text
    assert wu_sees.index(year_text) > max(i for i, t in enumerate(wu_sees) if "第4季度" in t)
