"""The office's appraisal commands, run in-process as the clerk would type them.

``kaohe`` reads its settings from the environment, so each test points DATABASE_URL at the test
database (SQLite and PostgreSQL) and runs in an empty folder, where no stray ``.env`` is read.
Expected phrases come from the same templates the commands render.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import text

from bot.cli.main import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from storage.engine import create_engine

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
Kaohe = Callable[..., tuple[int, str, str]]


@pytest.fixture
def kaohe(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Kaohe:
    """Run ``kaohe ARGS`` and return (exit code, stdout, stderr)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("UNIT_NAME", "青山镇")
    monkeypatch.setenv("DEFAULT_LANGUAGE", "zh")
    monkeypatch.delenv("SCHEME_FILE", raising=False)

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def db(monkeypatch: pytest.MonkeyPatch, database_url: str) -> str:
    monkeypatch.setenv("DATABASE_URL", database_url)
    return database_url


def broken_scheme(tmp_path: Path) -> Path:
    text_ = (EXAMPLES / "scheme.toml").read_text(encoding="utf-8")
    text_ = text_.replace("weight = 20  # 权重", "weight = 15  # 权重", 1)
    text_ = text_.replace("office_rules_share = 0.15", "office_rules_share = 0.25", 1)
    text_ = text_.replace("trim_from = 5", "trim_from = 5\nbogus = 1", 1)
    path = tmp_path / "broken.toml"
    path.write_text(text_, encoding="utf-8")
    return path


def test_scheme_check_passes_on_the_example(kaohe: Kaohe) -> None:
    code, out, _ = kaohe("scheme", "check", str(EXAMPLES / "scheme.toml"))
    assert code == EXIT_OK
    assert "有效" in out and "本职工作 90 + 中心工作 10 = 100" in out


def test_scheme_check_reports_every_key_path(
    kaohe: Kaohe, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every problem by its key path, all in the office's language (no English inside)."""
    code, out, _ = kaohe("scheme", "check", str(broken_scheme(tmp_path)))
    assert code == EXIT_USAGE
    assert "items.village：类别“village”各项目的权重之和是 95，应为 100" in out
    assert "democratic.bogus：不认识的键" in out
    assert (
        "bonus.office_rules_share：机关制度占比须在 0.10 到 0.20 之间（10%–20%），现在是 0.25"
        in out
    )
    assert "3 处问题" in out
    assert not any(word in out for word in ("must", "unknown key", "add up")), out
    code, out, _ = kaohe("scheme", "check", str(tmp_path / "missing.toml"))
    assert code == EXIT_USAGE and "读不了这个文件" in out
    monkeypatch.setenv("DEFAULT_LANGUAGE", "en")
    code, out, _ = kaohe("scheme", "check", str(broken_scheme(tmp_path)))
    assert code == EXIT_USAGE
    assert "items.village: the weights of category 'village' add up to 95, not 100" in out
    assert "democratic.bogus: unknown key" in out
    assert "bonus.office_rules_share: must be between 0.10 and 0.20" in out
    code, out, _ = kaohe("scheme", "check", str(tmp_path / "missing.toml"))
    assert code == EXIT_USAGE and "cannot read the file" in out


def test_scheme_show(kaohe: Kaohe, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    code, out, _ = kaohe("scheme", "show")
    assert code == EXIT_OK
    for phrase in (
        "本职工作（duty）：90 分",
        "× 0.5",
        "优秀 ≥ 90",
        "25 日 09:00 开启",
        "迟到（late）",
    ):
        assert phrase in out, phrase
    monkeypatch.setenv("DEFAULT_LANGUAGE", "en")
    code, out, _ = kaohe("scheme", "show")
    assert code == EXIT_OK and "Own duties (duty): 90 points, judged" in out
    monkeypatch.setenv("SCHEME_FILE", "")  # as .env.example ships it: the example scheme
    code, out, _ = kaohe("scheme", "show")
    assert code == EXIT_OK and str(EXAMPLES / "scheme.toml") in out
    monkeypatch.setenv("SCHEME_FILE", str(broken_scheme(tmp_path)))
    code, _, err = kaohe("scheme", "show")
    assert code == EXIT_USAGE and "items.village" in err


def test_targets_import_with_a_bad_row_imports_nothing(
    kaohe: Kaohe, db: str, tmp_path: Path
) -> None:
    assert kaohe("roster", "import", str(EXAMPLES / "roster.xlsx"))[0] == EXIT_OK
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["姓名", "部门", "项目", "编号", "指标", "目标值", "单位", "分值"])
    sheet.append(["吴磊", "党政办公室", "本职工作", "D01", "入户核查", 120, "户", 100])
    sheet.append(["冯超", "经济发展办公室", "本职工作", "D01", "报表", "九十六", "份", 100])
    sheet.append(["王五", "党政办公室", "本职工作", "D01", "查无此人", 1, "件", 100])
    workbook.save(tmp_path / "bad.xlsx")

    code, _, err = kaohe("targets", "import", str(tmp_path / "bad.xlsx"), "--year", "2026")
    assert code == EXIT_FAILED
    assert "第 3 行「目标值」：“九十六”不是数字" in err
    assert "一条目标都没有导入" in err
    # The file is fine cell by cell once fixed, but the roster has no 王五: still nothing.
    sheet["F3"] = 96
    workbook.save(tmp_path / "bad.xlsx")
    code, _, err = kaohe("targets", "import", str(tmp_path / "bad.xlsx"), "--year", "2026")
    assert code == EXIT_FAILED and "第 4 行「姓名」：名单里没有党政办公室的“王五”" in err
    code, out, _ = kaohe("targets", "list", "--year", "2026")
    assert code == EXIT_OK and "2026 年还没有目标" in out


def test_a_month_from_the_command_line(kaohe: Kaohe, db: str) -> None:
    assert kaohe("roster", "import", str(EXAMPLES / "roster.xlsx"))[0] == EXIT_OK
    code, out, _ = kaohe("targets", "import", str(EXAMPLES / "targets.xlsx"), "--year", "2026")
    assert code == EXIT_OK and "12 人，新增 46 条" in out
    code, out, _ = kaohe("targets", "list", "--year", "2026", "吴磊")
    assert code == EXIT_OK and "农户信息入户核查" in out and "目标 120户" in out

    code, out, _ = kaohe("periods", "create", "2026")
    assert code == EXIT_OK and "新建 19 个" in out and "2026-01-25 09:00 开启" in out
    code, out, _ = kaohe("periods", "create", "2026")
    assert code == EXIT_OK and "都已存在，没有改动" in out

    code, out, _ = kaohe("periods", "open", "2026-01")  # its deadline is long past: refused
    assert code == EXIT_FAILED and "已经过了" in out and "--until" in out
    code, out, _ = kaohe("periods", "open", "2026-01", "--until", "2099-01-05")
    assert code == EXIT_OK and "已开启 2026 年 1 月" in out and "2026-Q1、2026-H1、2026" in out
    code, out, _ = kaohe("periods", "open", "2026-01")
    assert code == EXIT_OK and "已经开启，没有改动" in out
    code, out, _ = kaohe("periods", "open", "2026-02", "--until", "2099-02-05")
    assert code == EXIT_FAILED and "同一时间只能有一个月份在填报" in out
    code, out, _ = kaohe("periods", "close", "2026-Q1")
    assert code == EXIT_FAILED and "2026-01（进行中）" in out
    code, out, _ = kaohe("score", "show", "2026-01")
    assert code == EXIT_OK and "还没有结果" in out

    code, out, _ = kaohe("periods", "close", "2026-01")  # before its deadline: who is missing
    assert code == EXIT_FAILED and "自评已提交 0/12" in out and "--force" in out
    code, out, _ = kaohe("periods", "close", "2026-01", "--force")
    assert code == EXIT_OK and "12 人得出结果" in out
    code, out, _ = kaohe("periods", "close", "2026-01")
    assert code == EXIT_OK and "已经结束，没有改动" in out
    code, out, _ = kaohe("periods", "open", "2026-01")
    assert code == EXIT_OK and "不会重新开启" in out

    code, out, _ = kaohe("periods", "list", "--year", "2026")
    assert code == EXIT_OK and "2026-01\t月度\t已结束" in out and "2026-Q1\t季度\t进行中" in out

    code, out, _ = kaohe("score", "show", "2026-01", "--json")
    assert code == EXIT_OK
    document = json.loads(out)
    assert document["period"] == "2026-01" and document["state"] == "closed"
    assert len(document["results"]) == 12
    wu = next(r for r in document["results"] if r["name"] == "吴磊")
    assert (wu["score"], wu["grade"], wu["office_rules"]) == ("0.0", "fail", "100.0")
    assert "self_missing" in wu["flags"] and wu["breakdown"]["category"] == "ordinary"

    code, out, _ = kaohe("score", "show", "2026-01")
    assert code == EXIT_OK
    assert "吴磊（党政办公室）：0.0 分，不及格" in out and "本人未自评，计 0 分" in out
    assert "王芳（经济发展办公室，蹲点村干部）" in out

    code, out, _ = kaohe("score", "recompute", "2026-01")
    assert code == EXIT_OK and "12 人的结果复算完全一致" in out

    code, _, err = kaohe("periods", "open", "2026-13")
    assert code == EXIT_USAGE and "看不懂考核期" in err
    code, _, err = kaohe("periods", "open", "2027-01")
    assert code == EXIT_FAILED and "kaohe periods create 2027" in err
    code, out, _ = kaohe("scheme", "show", "--period", "2026-01")
    assert code == EXIT_OK and "考核期 2026-01 冻结的考核方案" in out


def test_recompute_reports_a_tampered_result(
    kaohe, db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert kaohe("roster", "import", str(EXAMPLES / "roster.xlsx"))[0] == EXIT_OK
    assert kaohe("periods", "create", "2026")[0] == EXIT_OK
    assert kaohe("periods", "open", "2026-01", "--until", "2099-01-05")[0] == EXIT_OK
    assert kaohe("periods", "close", "2026-01", "--force")[0] == EXIT_OK

    async def tamper() -> None:
        engine = create_engine(db)
        try:
            async with engine.begin() as connection:
                await connection.execute(
                    text(
                        "UPDATE result SET score = '91.0' WHERE cadre_id = "
                        "(SELECT id FROM cadre WHERE name = '吴磊')"
                    )
                )
        finally:
            await engine.dispose()

    asyncio.run(tamper())
    code, out, _ = kaohe("score", "recompute", "2026-01")
    assert code == EXIT_FAILED
    assert "吴磊\tscore：存储 91.0，复算 0.0" in out
    monkeypatch.setenv("DEFAULT_LANGUAGE", "en")
    code, out, _ = kaohe("score", "recompute", "2026-01")
    assert code == EXIT_FAILED and "1 difference from the stored results" in out
    code, out, _ = kaohe("score", "show", "2026-01")
    assert code == EXIT_OK and "吴磊 (党政办公室): 91.0, fail (不及格)" in out
