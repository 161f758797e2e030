"""Two people of one name, and the roster's order, as the clerk meets them on the command line:
``kaohe invite`` issues a code for the one named by ``--department`` and never voids the other's;
``kaohe roster list`` follows the sheet's order, not the characters' code points. Both backends."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

import pytest
from sqlmodel import col, select

from bot.cli.main import main
from bot.core.texts import Texts
from storage.engine import create_engine, make_session_factory
from storage.models import Cadre, Department, InviteCode

HEADER = ["姓名", "部门", "角色", "分管领导"]
ROWS = [
    ["赵建国", "领导班子", "领导", None],  # the party secretary, first in the sheet
    ["孙丽华", "领导班子", "领导", None],
    ["李明", "党政办公室", "干部、部门负责人", "赵建国"],
    ["张伟", "党政办公室", "干部", None],
    ["吴磊", "党政办公室", "干部", None],
    ["陈静", "财政所", "干部、部门负责人", "孙丽华"],
    ["张伟", "财政所", "干部", None],
]


@pytest.fixture
def clerk_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> str:
    """The environment of a clerk's shell: settings from variables, no .env in the folder."""
    monkeypatch.chdir(tmp_path)
    for name in ("BOT_TOKEN", "TELEGRAM_API_BASE_URL", "LEADERSHIP_CHAT_ID", "WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("UNIT_NAME", "青山镇")
    monkeypatch.setenv("BOT_USERNAME", "kaohe_test_bot")
    return database_url


async def _codes(url: str) -> dict[str, list[InviteCode]]:
    """Every code issued, by the holder's department (all holders here are 张伟)."""
    engine = create_engine(url)
    try:
        async with make_session_factory(engine)() as session:
            rows = (
                await session.exec(
                    select(InviteCode, Department)
                    .join(Cadre, col(Cadre.id) == col(InviteCode.cadre_id))
                    .join(Department, col(Department.id) == col(Cadre.department_id))
                    .order_by(col(InviteCode.id))
                )
            ).all()
            found: dict[str, list[InviteCode]] = {}
            for code, department in rows:
                found.setdefault(department.name, []).append(code)
            return found
    finally:
        await engine.dispose()


async def _import(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([HEADER, *ROWS])
    assert await asyncio.to_thread(main, ["roster", "import", str(path)]) == 0


async def test_invite_of_a_shared_name_asks_for_the_department_and_voids_nobody_else(
    clerk_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    texts = Texts()
    await _import(tmp_path)

    capsys.readouterr()
    assert await asyncio.to_thread(main, ["invite", "张伟", "--department", "财政所"]) == 0
    out = capsys.readouterr().out
    assert "[1/1] 张伟（财政所）" in out and "党政办公室" not in out
    [finance] = (await _codes(clerk_env))["财政所"]
    assert finance.revoked_at is None

    # The name alone names two people: nothing is issued, nobody's unused code is voided.
    assert await asyncio.to_thread(main, ["invite", "张伟"]) == 2
    captured = capsys.readouterr()
    assert "https://t.me/" not in captured.out
    assert captured.err.strip() == texts.render_plain(
        "zh", "cli/invite_namesake", name="张伟", departments=["党政办公室", "财政所"]
    )
    codes = await _codes(clerk_env)
    assert "党政办公室" not in codes and [c.revoked_at for c in codes["财政所"]] == [None]

    # The other one, by department: a code for them alone; the first one's code still holds.
    assert await asyncio.to_thread(main, ["invite", "张伟", "--department", "党政办公室"]) == 0
    out = capsys.readouterr().out
    assert "[1/1] 张伟（党政办公室）" in out and "财政所" not in out
    codes = await _codes(clerk_env)
    assert len(codes["党政办公室"]) == 1 and [c.revoked_at for c in codes["财政所"]] == [None]

    # Asking again for one of them replaces that one's code only.
    assert await asyncio.to_thread(main, ["invite", "张伟", "--department", "党政办公室"]) == 0
    codes = await _codes(clerk_env)
    assert [c.revoked_at is None for c in codes["党政办公室"]] == [False, True]
    assert [c.revoked_at for c in codes["财政所"]] == [None]

    # A department without that person: refused, saying where the name is.
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["invite", "张伟", "--department", "领导班子"]) == 1
    err = capsys.readouterr().err
    assert "领导班子" in err and "党政办公室" in err and "财政所" in err
    assert len((await _codes(clerk_env))["党政办公室"]) == 2


def _listed(out: str) -> list[tuple[str, str]]:
    """(name, department) of each line of ``kaohe roster list``."""
    lines = [line.split("\t") for line in out.splitlines() if "\t" in line]
    return [(cells[0].split()[-1], cells[1]) for cells in lines]


async def test_roster_list_follows_the_sheet_not_the_code_points(
    clerk_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await _import(tmp_path)
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["roster", "list"]) == 0
    # 赵建国 (the party secretary) before 孙丽华, 李明 before 张伟 before 吴磊: the sheet's order,
    # where code points would put 孙 before 赵 and 吴 before 张 before 李.
    assert _listed(capsys.readouterr().out) == [(row[0], row[1]) for row in ROWS]

    # A sheet that reorders a department is the new order.
    path = tmp_path / "reordered.csv"
    rows = [ROWS[1], ROWS[0], ROWS[4], ROWS[3], ROWS[2], ROWS[5], ROWS[6]]
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([HEADER, *rows])
    assert await asyncio.to_thread(main, ["roster", "import", str(path)]) == 0
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["roster", "list"]) == 0
    assert _listed(capsys.readouterr().out) == [(row[0], row[1]) for row in rows]
