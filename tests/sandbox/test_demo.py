"""``kaohe demo``: a quarter played by itself in the sandbox, checked against what it leaves.

A smaller town than the example (two departments, six cadres) keeps the quarter short; it is
played through the same Sandbox API and the real bot as ``kaohe demo``. The terminal's story,
the sheet and the chart written to the output folder and the page of every chat are compared
with the database and with the fake Telegram's chats. The command itself runs in English as a
separate process.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from datetime import datetime
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import openpyxl
from sqlmodel import select

from bot.core.config import Settings
from bot.core.texts import Texts
from bot.emulator.request import FakeRequest
from bot.sandbox.demo import DemoOptions, Played, run_demo
from bot.sandbox.export import PAGE
from bot.sandbox.sandbox import EXAMPLES, Sandbox, TownFiles
from storage.models import (
    Appeal,
    BonusEntry,
    Cadre,
    DisciplineRecord,
    Period,
    PeriodState,
    Result,
    ScoreAdjustment,
)

SH = ZoneInfo("Asia/Shanghai")
JULY_EVE = datetime(2026, 7, 25, 8, 0, tzinfo=SH)  # an hour before the quarter's first window
ROOT = Path(__file__).resolve().parents[2]
#: The smaller town: the chair and the mayor (the reviewers), two departments with their heads.
SMALL_TOWN = ("赵建国", "钱志强", "李明", "周晓燕", "吴磊", "郑海涛", "王芳", "冯超")


def small_roster(folder: Path) -> Path:
    """The example roster with only the people of :data:`SMALL_TOWN`."""
    book = openpyxl.load_workbook(EXAMPLES / "roster.xlsx")
    sheet = book.worksheets[0]
    for index in range(sheet.max_row, 1, -1):
        if sheet.cell(index, 1).value not in SMALL_TOWN:
            sheet.delete_rows(index)
    path = folder / "花名册.xlsx"
    book.save(path)
    return path


class _Bubbles(HTMLParser):
    """The page's chats: chat id -> the text of each bubble that has one, in order; and the
    message ids of every bubble."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: dict[int, list[str]] = {}
        self.ids: dict[int, list[int]] = {}
        self.external: list[str] = []
        self._chat: int | None = None
        self._depth = 0  # inside a bubble's text: how many tags deep
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("src", "href"):
            link = values.get(name) or ""
            if link.startswith(("http:", "https:", "//")) or tag in ("script", "link"):
                self.external.append(f"{tag} {link}")
        if tag == "section" and values.get("data-chat"):
            self._chat = int(values["data-chat"] or 0)
            self.texts[self._chat], self.ids[self._chat] = [], []
        elif self._chat is not None and values.get("data-message"):
            self.ids[self._chat].append(int(values["data-message"] or 0))
        elif self._depth:
            self._depth += 1
        elif tag == "div" and values.get("class") == "text":
            self._depth, self._text = 1, []

    def handle_endtag(self, tag: str) -> None:
        if not self._depth:
            return
        self._depth -= 1
        if not self._depth and self._chat is not None:
            self.texts[self._chat].append("".join(self._text))

    def handle_data(self, data: str) -> None:
        if self._depth:
            self._text.append(data)


def _sheet_scores(path: Path, texts: Texts) -> dict[str, Decimal]:
    """Name -> score, read back from the summary sheet of the .xlsx."""
    sheet = openpyxl.load_workbook(io.BytesIO(path.read_bytes())).worksheets[0]
    name, score = (texts.label("zh", f"report.sheet.column.{k}") for k in ("name", "score"))
    rows = list(sheet.iter_rows(values_only=True))
    at = next(i for i, row in enumerate(rows) if name in row and score in row)
    header = list(rows[at])
    found: dict[str, Decimal] = {}
    for row in rows[at + 1 :]:
        if row[header.index(name)] and row[header.index(score)] is not None:
            value = Decimal(str(row[header.index(score)])).quantize(Decimal("0.1"))
            found[str(row[header.index(name)])] = value
    return found


async def _rows(sandbox: Sandbox, model: Any) -> list[Any]:
    async with sandbox.services.sessions() as session:
        return list((await session.exec(select(model))).all())


async def test_a_quarter_played_by_itself_is_what_the_database_and_the_chats_hold(
    tmp_path: Path,
) -> None:
    texts = Texts()
    live = tmp_path / "live.db"
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]  # pydantic-settings takes _env_file at construction
        data_dir=tmp_path / "data",
        unit_name="青山镇",
        database_url=f"sqlite:///{live}",
        bot_token="123456789:LIVETOKENLIVETOKENLIVETOKENLIVETOKE",  # type: ignore[arg-type]  # a str for the SecretStr field, validated by pydantic
    )
    out = tmp_path / "demo-output"
    story: list[str] = []
    checked: list[str] = []

    def say(template: str, /, **values: Any) -> None:
        story.append(texts.render_plain("zh", template, **values))

    async def inspect(sandbox: Sandbox, played: Played) -> None:
        assert all(isinstance(r, FakeRequest) for r in sandbox.app.bot._request)
        outputs = played.outputs
        assert outputs is not None and outputs.sheet is not None and outputs.chart is not None
        told = "\n".join(story)
        people = {c.id: c.name for c in await _rows(sandbox, Cadre)}
        periods = {p.code: p for p in await _rows(sandbox, Period)}
        quarter = periods["2026-Q3"]
        assert played.quarter.code == "2026-Q3" and quarter.state == PeriodState.FINAL
        assert played.months == ["2026-07", "2026-08", "2026-09"]
        results = await _rows(sandbox, Result)

        # The sheet the bot sent last to the group holds the stored quarterly results.
        stored = {people[r.cadre_id]: r.score for r in results if r.period_id == quarter.id}
        assert len(stored) == 6 and _sheet_scores(outputs.sheet, texts) == stored
        # The files are the ones in the leadership group, byte for byte.
        group = sandbox.transcript(sandbox.group_id)
        sent = {e.attachment.file_id: e.attachment for e in group if e.attachment}
        assert outputs.chart.read_bytes() in {sandbox.file(f).data for f in sent}  # type: ignore[union-attr]  # present in this test's data
        assert outputs.sheet.name == [a.file_name for a in sent.values() if a.file_name][-1]

        # The page holds every chat's messages, as the fake Telegram keeps them, and nothing from
        # elsewhere: the chart inline, the sheet beside the page.
        page = outputs.page.read_text(encoding="utf-8")
        parsed = _Bubbles()
        parsed.feed(page)
        chats = await sandbox.chats()
        assert sorted(parsed.texts) == sorted(c.chat_id for c in chats)
        for chat in chats:
            entries = sandbox.transcript(chat.chat_id)
            assert parsed.ids[chat.chat_id] == [e.message_id for e in entries], chat.title
            assert parsed.texts[chat.chat_id] == [e.text for e in entries if e.text], chat.title
        assert parsed.external == [] and "data:image/png;base64," in page
        assert f'href="{quote(outputs.sheet.name)}"' in page

        # What the people did is in the database, and the story tells it.
        # The review's one adjustment (an upheld appeal is recorded as one too, its answer the
        # reason).
        [adjustment] = [
            a
            for a in await _rows(sandbox, ScoreAdjustment)
            if a.reason == texts.label("zh", "demo.says.adjust")
        ]
        adjusted = people[adjustment.cadre_id]
        assert (played.quarter.adjusted, played.quarter.reason) == (adjusted, adjustment.reason)
        assert re.search(
            rf"{people[adjustment.leader_id or 0]} .*调整 {adjusted} \+{adjustment.delta:g} 分.*"
            + re.escape(adjustment.reason),
            told,
        ), told
        [appeal] = await _rows(sandbox, Appeal)
        appellant = people[appeal.cadre_id]
        assert appeal.state in ("upheld", "rejected") and appeal.answer
        [final] = [r for r in results if (r.period_id, r.cadre_id) == (quarter.id, appeal.cadre_id)]
        outcome = "支持申诉，改为" if appeal.state == "upheld" else "驳回，维持"
        assert f"答复 {appellant} 的申诉：{outcome} {final.score} 分" in told, told
        assert appeal.answer in told and appeal.reason in told
        [record] = await _rows(sandbox, DisciplineRecord)
        [reward] = await _rows(sandbox, BonusEntry)
        assert f"登记机关制度：{people[record.cadre_id]}" in told
        assert f"登记奖励：{people[reward.cadre_id]} {reward.amount.normalize():f} 元" in told
        months = [periods[code].id for code in played.months]
        monthly = [r for r in results if r.period_id in months]
        never = {people[r.cadre_id] for r in monthly if "self_missing" in r.flags}
        assert len(never) == 1 and all(
            "self_missing" in r.flags for r in monthly if people[r.cadre_id] in never
        )
        assert f"没有自评（计 0 分）：{never.pop()}" in told
        forgotten = [r for r in monthly if "head_missing" in r.flags]
        assert len(forgotten) == 1 and "忘了评" in told
        assert "⚠️" in told and "提交前改了一项" in told and "收到提醒后才交了自评" in told
        checked.append("inspected")

    played = await run_demo(
        settings,
        DemoOptions(out=out, lang="zh", seed=5, months=3),
        files=TownFiles(roster=small_roster(tmp_path), targets=None),
        say=say,
        start=JULY_EVE,
        inspect=inspect,
    )
    assert checked == ["inspected"]
    # A line a simulated day, with its bar; the last one full.
    days = [line for line in "\n".join(story).splitlines() if line.startswith("[")]
    assert days[0].startswith("[" + "." * 24 + "] 07-25 ") and "2026-07 开始填报" in days[0]
    assert days[-1].startswith("[" + "#" * 24 + "]") and "2026-Q3 公示期满" in days[-1]
    assert {p.name for p in out.iterdir()} == {
        PAGE,
        *(p.name for p in played.outputs.sheets),  # type: ignore[union-attr]  # present in this test's data
        *(p.name for p in played.outputs.charts),  # type: ignore[union-attr]  # present in this test's data
    }
    assert not live.exists()  # the deployment's database was never touched


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BOT_", "TELEGRAM_", "DATABASE_", "WEBHOOK_", "SCHEME_"))
    }
    env.update({"DATA_DIR": str(tmp_path / "data"), "UNIT_NAME": "青山镇", **extra})
    return env


def test_kaohe_demo_in_english(tmp_path: Path) -> None:
    texts = Texts()
    live = tmp_path / "live.db"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "demo",
            "--lang",
            "en",
            "--months",
            "1",
            "--seed",
            "2",
            "--out",
            "out",
            "--roster",
            str(small_roster(tmp_path)),
        ],
        cwd=tmp_path,
        env=_env(tmp_path, DATABASE_URL=f"sqlite:///{live}"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    terminal = result.stdout
    assert "Traceback" not in result.stderr
    # In English: the story, the bot's messages and the page's words; Chinese only in names.
    for event in ("open", "remind", "close"):
        worded = re.escape(texts.label("en", f"sandbox.event.{event}", period="PERIOD"))
        assert re.search(worded.replace("PERIOD", r"\d{4}-\d{2}"), terminal), (event, terminal)
    names = "|".join((*SMALL_TOWN, "青山镇", "经济发展办公室", "党政办公室", "杨柳村"))
    han = re.compile(r"[\u4e00-\u9fff]")
    assert not han.search(re.sub(names, "", terminal)), terminal
    page = (tmp_path / "out" / PAGE).read_text(encoding="utf-8")
    assert '<html lang="en">' in page and texts.label("en", "demo.page.chats") in page
    assert "The appraisal of" in page and texts.label("en", "demo.says.nonsense") in page
    # One month: no quarter yet, so no sheet; and no deployment database.
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [PAGE]
    assert not live.exists()
