"""``kaohe bonus import`` and ``kaohe bonus list``: the office's bonus bases (奖金基数).

Run in-process as the clerk types them, on SQLite and PostgreSQL; a file with mistakes names each
by its row and column and stores nothing; a good file is stored all at once and audited once.
What a base does to the year's bonus is in ``test_cli_report.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlmodel import select

from bot.cli.main import EXIT_OK, EXIT_USAGE
from bot.core.texts import Texts
from storage.engine import create_engine, make_session_factory, transaction
from storage.models import AuditLog, BonusBase, Cadre
from tests.cli.conftest import Kaohe

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
TEXTS = Texts()


def in_db(url: str, work: Callable[[Any], Awaitable[Any]]) -> Any:
    """Run ``work(session)`` in one transaction on the test database."""

    async def run() -> Any:
        engine = create_engine(url)
        try:
            async with transaction(make_session_factory(engine)) as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(run())


async def stored_bases(session: Any) -> dict[str, Decimal]:
    rows = (await session.exec(select(BonusBase, Cadre).join(Cadre))).all()
    return {cadre.name: base.base for base, cadre in rows}


def audits(action: str) -> Callable[[Any], Awaitable[list[AuditLog]]]:
    async def work(session: Any) -> list[AuditLog]:
        statement = select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)
        return list((await session.exec(statement)).all())

    return work


def issue(row: int | None, column: str | None, code: str, lang: str = "zh", **params: Any) -> str:
    """A problem as ``templates/<lang>/bonus/issue.j2`` words it."""
    return TEXTS.render_plain(lang, "bonus/issue", row=row, column=column, code=code, params=params)


def sheet(path: Path, *rows: list[Any]) -> Path:
    workbook = Workbook()
    active = workbook.active
    assert active is not None
    for values in rows:
        active.append(values)
    workbook.save(path)
    return path


# --- the command ------------------------------------------------------------------------------


def test_a_bonus_file_with_mistakes_stores_nothing(kaohe: Kaohe, db: str, tmp_path: Path) -> None:
    assert kaohe("roster", "import", str(EXAMPLES / "roster.xlsx"))[0] == EXIT_OK
    bad = sheet(
        tmp_path / "bonus.xlsx",
        ["姓名", "部门", "奖金基数", "奖金"],
        ["李明", "党政办公室", 12000, None],
        ["周晓燕", "党政办公室", "1.2万", None],
        ["吴磊", "党政办公室", -5, None],
        ["郑海涛", "经济发展办公室", "100.555", None],
        ["王芳", None, 10000, None],
        ["冯超", "经济发展办公室", None, None],
        ["李明", "党政办公室", 11000, None],
    )
    code, out, err = kaohe("bonus", "import", str(bad), "--year", "2026")
    assert code == EXIT_USAGE and out == ""
    for expected in (
        issue(1, None, "unknown_column", header="奖金", letter="D"),
        issue(3, "base", "not_an_amount", value="1.2万", max="9999999.99"),
        issue(4, "base", "negative", value="-5", max="9999999.99"),
        issue(5, "base", "too_many_decimals", value="100.555", max="9999999.99"),
        issue(6, "department", "required"),
        issue(7, "base", "required"),
        issue(8, "name", "duplicate_person", name="李明", department="党政办公室", first_row=2),
    ):
        assert expected in err, expected
    assert "第 3 行「奖金基数」：“1.2万”不是金额" in err
    assert "发现 7 处问题，一个人的奖金基数都没有导入" in err

    # Fine cell by cell, but the roster has no 王五 and 赵建国 is a leader, not assessed.
    fixed = sheet(
        tmp_path / "fixed.xlsx",
        ["序号", "姓名", "部门", "基数"],
        [1, "李明", "党政办公室", 12000],
        [2, "王五", "党政办公室", 10000],
        [3, "吴磊", "经济发展办公室", 10000],
        [4, "赵建国", "领导班子", 15000],
    )
    code, _, err = kaohe("bonus", "import", str(fixed), "--year", "2026")
    assert code == EXIT_USAGE
    unknown = issue(3, "name", "unknown_person", name="王五", department="党政办公室", elsewhere=[])
    assert unknown in err
    assert "第 3 行「姓名」：名单里没有党政办公室的“王五”" in err
    assert "第 4 行「姓名」：名单里没有经济发展办公室的“吴磊”。（党政办公室有叫这个名字的人" in err
    assert "第 5 行「姓名」：领导班子的“赵建国”不是被考核的干部" in err
    assert "发现 3 处问题" in err

    # A CSV in GBK (Chinese Excel's "CSV") without the base column: the header says so.
    (tmp_path / "gbk.csv").write_bytes("姓名,部门\n李明,党政办公室\n".encode("gbk"))
    code, _, err = kaohe("bonus", "import", str(tmp_path / "gbk.csv"), "--year", "2026")
    assert code == EXIT_USAGE and issue(1, "base", "missing_column") in err
    code, _, err = kaohe("bonus", "import", str(tmp_path / "none.xlsx"))
    assert code == EXIT_USAGE and "找不到文件" in err

    assert in_db(db, stored_bases) == {}
    assert in_db(db, audits("bonus.import")) == []
    code, out, _ = kaohe("bonus", "list", "--year", "2026")
    assert code == EXIT_OK and "0 人的基数由党政办导入" in out
    assert "李明\t党政办公室\t默认 10000.00" in out


def test_bonus_bases_imported_listed_and_replaced(
    kaohe: Kaohe, db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert kaohe("roster", "import", str(EXAMPLES / "roster.xlsx"))[0] == EXIT_OK
    code, out, _ = kaohe("bonus", "import", str(EXAMPLES / "bonus.xlsx"), "--year", "2026")
    assert code == EXIT_OK
    assert "2026 年奖金基数已导入：12 人（新增 12，修改 0，未变 0）" in out
    assert "年度考核结束时按这些基数计算年终绩效奖" in out
    bases = in_db(db, stored_bases)
    assert len(bases) == 12 and bases["李明"] == Decimal("12000.00")
    assert bases["吴磊"] == Decimal("10000.00")

    code, out, _ = kaohe("bonus", "list", "--year", "2026")
    assert code == EXIT_OK
    assert "李明\t党政办公室\t12000.00" in out and "吴磊\t党政办公室\t10000.00" in out
    assert "共 12 人：12 人的基数由党政办导入" in out
    assert "赵建国" not in out  # a leader is not assessed: no bonus, no base

    # The same file again changes nothing and records nothing.
    code, out, _ = kaohe("bonus", "import", str(EXAMPLES / "bonus.xlsx"), "--year", "2026")
    assert code == EXIT_OK and "没有改动" in out

    # The next version is a GBK CSV with amounts as typed; whoever it leaves out goes back to
    # the scheme's default base.
    csv_text = (
        "序号,姓名,部门,职务,奖金基数\n"
        '1,李明,党政办公室,党政办主任,"￥12,500.00"\n'
        "2,吴  磊,党政办公室,科员,10000元\n"
    )
    (tmp_path / "bases.csv").write_bytes(csv_text.encode("gbk"))
    code, out, _ = kaohe("bonus", "import", str(tmp_path / "bases.csv"), "--year", "2026")
    assert code == EXIT_OK
    assert "2 人（新增 0，修改 1，未变 1）" in out and "修改：李明（党政办公室）" in out
    assert "改用考核方案默认基数：周晓燕（党政办公室）、郑海涛（经济发展办公室）" in out
    assert in_db(db, stored_bases) == {"李明": Decimal("12500.00"), "吴磊": Decimal("10000.00")}

    rows = in_db(db, audits("bonus.import"))
    assert len(rows) == 2  # one a changing import, none for the one that changed nothing
    first, second = rows
    assert first.actor == "cli" and first.reason == "bonus.xlsx"
    assert first.new_value is not None and second.new_value is not None
    assert (first.new_value["added"], first.new_value["bases"]) == (12, 12)
    assert (second.new_value["changed"], second.new_value["removed"]) == (1, 10)
    assert second.old_value is not None and "12000.00" in second.old_value["values"].values()
    assert list(second.new_value["values"].values()) == ["12500.00"]

    monkeypatch.setenv("DEFAULT_LANGUAGE", "en")
    code, out, _ = kaohe("bonus", "list", "--year", "2026")
    assert code == EXIT_OK and "周晓燕\t党政办公室\tdefault 10000.00" in out
    assert "12 people: 2 with a base the office imported" in out
    (tmp_path / "bad.csv").write_text("name,department,base\n李明,党政办公室,12.345\n")
    code, _, err = kaohe("bonus", "import", str(tmp_path / "bad.csv"), "--year", "2026")
    assert code == EXIT_USAGE
    assert issue(2, "base", "too_many_decimals", lang="en", value="12.345", max="9999999.99") in err
    assert 'Row 2, column "Bonus base": "12.345" has more than two decimals' in err
