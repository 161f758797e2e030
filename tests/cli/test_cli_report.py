"""``kaohe report quarter|half|year|bonus`` and a bonus base changed after the year closed.

The example town's 2026 is played through the appraisal services on a clock set to each window
(each month opened, rated and closed by the engine, each quarter reviewed and published, the
halves and the year closed): 吴磊 is rated 90 and 周晓燕 80 by their head and themselves every
month, everyone else has nothing and scores 0. The commands then run in-process as the clerk
types them, on SQLite and PostgreSQL. What they print is the leadership chat's summary, rendered
by the same templates; the files are read back with openpyxl and by their PNG signature; a post
lands in the outbox once.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from bot.cli.main import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from bot.cli.report import plain_text
from bot.core.scheme_file import default_scheme
from bot.core.texts import Texts
from bot.reports.build import period_report
from bot.reports.messages import summary_messages
from storage.models import Cadre, OutboxMessage, Rating, RatingLine, Result, Unit
from storage.queries.periods import find_period
from tests.cli.conftest import Kaohe
from tests.cli.test_cli_bonus import EXAMPLES, audits, in_db, stored_bases

TEXTS = Texts()
YEAR = 2026
#: Rated by their head (李明) and by themselves, every item, every month.
RATED = {"吴磊": 90, "周晓燕": 80}
PNG = b"\x89PNG\r\n\x1a\n"
LEADERSHIP_CHAT = -100_555_0001


# --- the year, played through the services -----------------------------------------------------


async def _unit_id(session: Any) -> int:
    unit = (await session.exec(select(Unit))).one()
    assert unit.id is not None
    return int(unit.id)


async def _period(session: Any, code: str) -> Any:
    period = await find_period(session=session, unit_id=await _unit_id(session), code=code)
    assert period is not None
    return period


def play_months(url: str, first: int, last: int) -> None:
    """Open each month at its window's start, rate, close it at its deadline; close a quarter
    (to the leadership's review) when its last month has closed."""
    from bot.appraisal import periods as appraisal

    scheme = default_scheme()

    async def work(session: Any) -> None:
        unit_id = await _unit_id(session)
        people = {c.name: c for c in (await session.exec(select(Cadre))).all()}
        for month in range(first, last + 1):
            opens, closes = scheme.monthly_window.window(YEAR, month)
            period = await _period(session, f"{YEAR}-{month:02d}")
            opened = await appraisal.open_period(
                session=session, period=period, now=opens.astimezone(UTC), scheme_file=None
            )
            assert opened.changed, opened.outcome
            for name, score in RATED.items():
                for rater, source in (("李明", "head"), (name, "self")):
                    rating = Rating(
                        unit_id=unit_id,
                        period_id=period.id,
                        ratee_id=people[name].id,
                        rater_id=people[rater].id,
                        source=source,
                        state="submitted",
                        submitted_at=closes.astimezone(UTC) - timedelta(days=1),
                    )
                    session.add(rating)
                    await session.flush()
                    for item in ("duty", "central"):
                        session.add(
                            RatingLine(
                                rating_id=rating.id,
                                line_key=item,
                                item_key=item,
                                score=Decimal(score),
                            )
                        )
            await session.flush()
            closed = await appraisal.close_period(
                session=session, period=period, now=closes.astimezone(UTC)
            )
            assert closed.changed, closed.outcome
            if month % 3 == 0:
                quarter = await _period(session, f"{YEAR}-Q{month // 3}")
                closed = await appraisal.close_period(
                    session=session, period=quarter, now=closes.astimezone(UTC)
                )
                assert closed.changed, closed.outcome

    in_db(url, work)


def publish(url: str, code: str) -> None:
    """The chair publishes a reviewed quarter."""
    from bot.appraisal.periods import publish_quarter

    async def work(session: Any) -> None:
        quarter = await _period(session, code)
        now = quarter.closed_at + timedelta(days=2)
        assert (await publish_quarter(session=session, period=quarter, now=now)).changed

    in_db(url, work)


def close(url: str, code: str) -> None:
    """Close a half-year or the year (its quarters published)."""
    from bot.appraisal.periods import close_period

    async def work(session: Any) -> None:
        period = await _period(session, code)
        now = datetime(YEAR + 1, 1, 20, 10, tzinfo=UTC) if code == str(YEAR) else period.closes_at
        closed = await close_period(session=session, period=period, now=now)
        assert closed.changed, closed.outcome

    in_db(url, work)


def summary_text(url: str, code: str, lang: str = "zh") -> str:
    """The leadership chat's summary of ``code``, as the terminal shows it."""

    async def work(session: Any) -> str:
        report = await period_report(
            session=session,
            period=await _period(session, code),
            unit_name="青山镇",
            zone=ZoneInfo("Asia/Shanghai"),
        )
        messages = summary_messages(report, TEXTS, lang, chart=False, sheet=False)
        return "\n\n".join(plain_text(m) for m in messages)

    return str(in_db(url, work))


def outbox(url: str) -> list[OutboxMessage]:
    async def work(session: Any) -> list[OutboxMessage]:
        statement = select(OutboxMessage).order_by(OutboxMessage.id)
        return list((await session.exec(statement)).all())

    return list(in_db(url, work))


def bind_leadership_chat(url: str) -> None:
    async def work(session: Any) -> None:
        unit = (await session.exec(select(Unit))).one()
        unit.leadership_chat_id = LEADERSHIP_CHAT
        session.add(unit)

    in_db(url, work)


def year_bonus(url: str) -> dict[str, str]:
    """Each cadre's stored year-end bonus (the year's result)."""

    async def work(session: Any) -> dict[str, str]:
        year = await _period(session, str(YEAR))
        rows = (
            await session.exec(select(Result, Cadre).join(Cadre).where(Result.period_id == year.id))
        ).all()
        return {cadre.name: result.breakdown["bonus"]["amount"] for result, cadre in rows}

    return dict(in_db(url, work))


def bonus_sheet(path: Path) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """The bonus sheet's rows by name (values by column key) and its total row."""
    sheet = load_workbook(io.BytesIO(path.read_bytes())).active
    assert sheet is not None
    keys = ("department", "name", "base", "amount")
    heads = {TEXTS.label("zh", f"report.sheet.bonus_column.{k}"): k for k in keys}
    header = next(
        row for row in sheet.iter_rows(values_only=True) if heads.keys() <= set(row) - {None}
    )
    where = {heads[h]: index for index, h in enumerate(header) if h in heads}
    rows = [row for row in sheet.iter_rows(values_only=True) if row is not header]
    people = {
        row[where["name"]]: {k: row[i] for k, i in where.items()}
        for row in rows
        if row[where["name"]] not in (None, "name") and isinstance(row[where["base"]], int | float)
    }
    total = next(r for r in rows if r[0] == TEXTS.label("zh", "report.sheet.total"))
    return people, {k: total[i] for k, i in where.items()}


# --- the tests ---------------------------------------------------------------------------------


def test_quarter_report_printed_written_posted_once(
    kaohe: Kaohe, db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert kaohe("roster", "import", str(EXAMPLES / "roster.xlsx"))[0] == EXIT_OK
    assert kaohe("periods", "create", str(YEAR))[0] == EXIT_OK
    play_months(db, 1, 3)

    # In review: not out yet, and nothing is written.
    code, out, err = kaohe("report", "quarter", "2026-Q1", "--xlsx", str(tmp_path / "q1.xlsx"))
    assert code == EXIT_FAILED and out == ""
    assert "2026 年第一季度（2026-Q1）的考核结果还没有出来，现在的状态是“评审中”" in err
    assert not (tmp_path / "q1.xlsx").exists()
    code, _, err = kaohe("report", "half", "2026-H1")
    assert code == EXIT_FAILED and "现在的状态是“进行中”" in err
    code, _, err = kaohe("report", "quarter", "2026")
    assert code == EXIT_USAGE and "“2026”是全年考核期，不是季度" in err
    code, _, err = kaohe("report", "quarter", "2026-Q5")
    assert code == EXIT_USAGE and "看不懂考核期" in err
    code, _, err = kaohe("report", "quarter", "2027-Q1")
    assert code == EXIT_FAILED and "kaohe periods create 2027" in err

    publish(db, "2026-Q1")
    q1_xlsx, q1_png = tmp_path / "out" / "q1.xlsx", tmp_path / "q1.png"
    files = ("--xlsx", str(q1_xlsx), "--png", str(q1_png))
    code, out, _ = kaohe("report", "quarter", "2026q1", *files)
    assert code == EXIT_OK
    summary = summary_text(db, "2026-Q1")
    assert out.startswith(summary)  # the leadership chat's text, for the terminal
    assert "<b>" not in out and "&lt;" not in out
    assert "青山镇 2026年第1季度考核结果" in out
    assert "优秀 1 · 良好 1 · 及格 0 · 不及格 10（共 12 人）" in out
    assert "1. 吴磊（党政办公室） 90.0" in out and "1. 周晓燕（党政办公室） 80.0" in out
    assert "随后发送" not in out  # no file "follows" in a terminal
    assert f"已写入 {q1_xlsx}" in out and f"已写入 {q1_png}" in out
    assert q1_png.read_bytes().startswith(PNG)
    workbook = load_workbook(q1_xlsx)
    first = workbook.worksheets[0]
    assert "青山镇" in str(first["A1"].value) and "2026" in str(first["A1"].value)
    scores = {
        row[1]: row for row in first.iter_rows(values_only=True) if row[1] in ("吴磊", "周晓燕")
    }
    assert 90.0 in scores["吴磊"] and 80.0 in scores["周晓燕"]  # numbers, not text
    assert len(workbook.worksheets) == 1 + 4  # the summary and the four departments

    # --post: nowhere to post before the leadership chat is bound.
    code, _, err = kaohe("report", "quarter", "2026-Q1", "--post")
    assert code == EXIT_FAILED and "还没有绑定领导小组群" in err and "/bind_leadership" in err
    assert outbox(db) == []
    bind_leadership_chat(db)
    code, out, _ = kaohe("report", "quarter", "2026-Q1", "--post")
    assert code == EXIT_OK and "已交给机器人发到领导小组群" in out
    queued = outbox(db)
    assert {m.chat_id for m in queued} == {LEADERSHIP_CHAT}
    assert all(m.state == "pending" and m.period_id is not None for m in queued)
    kinds = [m.kind for m in queued]
    assert kinds[-2:] == ["chart", "sheet"] and set(kinds[:-2]) == {"summary"}
    assert f"{len(queued)} 条" in out
    chart, sheet = queued[-2:]
    assert chart.media == "photo" and chart.payload is not None and chart.payload.startswith(PNG)
    assert sheet.media == "document" and sheet.filename == "青山镇2026-Q1考核结果.xlsx"
    assert sheet.payload is not None
    assert load_workbook(io.BytesIO(sheet.payload)).worksheets[0]["A1"].value == first["A1"].value
    assert "<b>" in queued[0].text and "随后发送" in queued[0].text  # HTML, files follow
    assert len(in_db(db, audits("report.post"))) == 1

    # Posting twice queues nothing twice; --again does.
    code, out, _ = kaohe("report", "quarter", "2026-Q1", "--post")
    assert code == EXIT_OK and "没有重复发送" in out and "待发 " in out and "--again" in out
    assert len(outbox(db)) == len(queued)
    code, out, _ = kaohe("report", "quarter", "2026-Q1", "--post", "--again")
    assert code == EXIT_OK and "已交给机器人发到领导小组群" in out
    assert len(outbox(db)) == 2 * len(queued)
    assert len(in_db(db, audits("report.post"))) == 2

    monkeypatch.setenv("DEFAULT_LANGUAGE", "en")
    code, out, _ = kaohe("report", "quarter", "2026-Q1")
    assert code == EXIT_OK and out.startswith(summary_text(db, "2026-Q1", "en"))
    code, _, err = kaohe("report", "half", "2026-H1")
    assert code == EXIT_FAILED and "The report of 2026-H1 is not out yet" in err


def test_year_reports_and_a_base_changed_after_the_year_closed(
    kaohe: Kaohe, db: str, tmp_path: Path
) -> None:
    assert kaohe("roster", "import", str(EXAMPLES / "roster.xlsx"))[0] == EXIT_OK
    assert kaohe("periods", "create", str(YEAR))[0] == EXIT_OK
    code, _, _ = kaohe("bonus", "import", str(EXAMPLES / "bonus.xlsx"), "--year", str(YEAR))
    assert code == EXIT_OK
    for quarter in range(1, 5):
        play_months(db, 3 * quarter - 2, 3 * quarter)
        publish(db, f"{YEAR}-Q{quarter}")
        if quarter == 2:
            close(db, f"{YEAR}-H1")
    code, _, err = kaohe("report", "year", str(YEAR))
    assert code == EXIT_FAILED and "“进行中”" in err
    close(db, f"{YEAR}-H2")
    close(db, str(YEAR))

    code, out, _ = kaohe("report", "half", "2026-H1", "--xlsx", str(tmp_path / "h1.xlsx"))
    assert code == EXIT_OK and out.startswith(summary_text(db, "2026-H1"))
    assert "2026年上半年" in out and "由各季度公布的得分平均而来" in out
    assert load_workbook(tmp_path / "h1.xlsx").worksheets[0].max_row > 12
    code, out, _ = kaohe("report", "year", "2026", "--png", str(tmp_path / "year.png"))
    assert code == EXIT_OK and out.startswith(summary_text(db, "2026"))
    assert "优秀 1 · 良好 1" in out and (tmp_path / "year.png").read_bytes().startswith(PNG)

    # The year's bonus used the office's bases: base × (0.15 × 100/100 + 0.85 × score/100).
    # 吴磊 10000 × 0.915 = 9150.00; 周晓燕 10000 × 0.83 = 8300.00; the four heads (12000.00)
    # scored 0: 1800.00 each; the six others 1500.00 each. Total 33650.00.
    bonus = year_bonus(db)
    assert (bonus["吴磊"], bonus["周晓燕"], bonus["李明"], bonus["韩雪"]) == (
        "9150.00",
        "8300.00",
        "1800.00",
        "1500.00",
    )
    code, out, _ = kaohe("report", "bonus", "2026", "--xlsx", str(tmp_path / "bonus.xlsx"))
    assert code == EXIT_OK and "合计 33650.00" in out and "吴磊\t党政办公室\t基数 10000.00" in out
    people, total = bonus_sheet(tmp_path / "bonus.xlsx")
    assert people["李明"]["base"] == 12000.0 and people["吴磊"]["amount"] == 9150.0
    assert total["amount"] == 33650.0 and total["base"] == 4 * 12000.0 + 8 * 10000.0
    code, _, err = kaohe("report", "bonus", "2026-H1", "--xlsx", str(tmp_path / "h.xlsx"))
    assert code == EXIT_USAGE and not (tmp_path / "h.xlsx").exists()

    # A new base for 吴磊 after the year closed: refused without --force, nothing stored.
    changed = (EXAMPLES / "bonus.xlsx").read_bytes()
    (tmp_path / "bases.xlsx").write_bytes(changed)
    workbook = load_workbook(tmp_path / "bases.xlsx")
    sheet = workbook.active
    assert sheet is not None and sheet["A4"].value == "吴磊"
    sheet["C4"] = 11000
    workbook.save(tmp_path / "bases.xlsx")
    args = ("bonus", "import", str(tmp_path / "bases.xlsx"), "--year", str(YEAR))
    code, _, err = kaohe(*args)
    assert code == EXIT_FAILED
    assert "没有导入：2026 年度考核已经结束" in err and "修改 1 人" in err and "--force" in err
    assert in_db(db, stored_bases)["吴磊"] == Decimal("10000.00")
    assert year_bonus(db)["吴磊"] == "9150.00"
    assert len(in_db(db, audits("bonus.import"))) == 1  # the first import only

    # Forced: stored, the year scored again, every change audited; the sheet follows.
    code, out, _ = kaohe(*args, "--force")
    assert code == EXIT_OK
    assert "修改：吴磊（党政办公室）" in out and "1 人的年终绩效奖有变化" in out
    assert "吴磊（党政办公室）：9150.00 → 10065.00" in out
    assert in_db(db, stored_bases)["吴磊"] == Decimal("11000.00")
    assert year_bonus(db)["吴磊"] == "10065.00" and year_bonus(db)["李明"] == "1800.00"
    forced = in_db(db, audits("bonus.import"))[-1]
    assert forced.new_value is not None
    assert (forced.new_value["forced"], forced.new_value["rescored"]) == (True, 1)
    assert forced.entity_id is not None  # the year's period
    assert any(a.reason == "rescored 2026" for a in in_db(db, audits("result.update")))
    code, out, _ = kaohe("report", "bonus", "2026", "--xlsx", str(tmp_path / "bonus2.xlsx"))
    assert code == EXIT_OK and "合计 34565.00" in out
    people, total = bonus_sheet(tmp_path / "bonus2.xlsx")
    assert people["吴磊"]["base"] == 11000.0 and people["吴磊"]["amount"] == 10065.0
    assert total["amount"] == 34565.0
    code, out, _ = kaohe("bonus", "list", "--year", str(YEAR))
    assert "吴磊\t党政办公室\t11000.00" in out
