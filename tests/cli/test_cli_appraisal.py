"""The office's appraisal commands, run in-process as the clerk would type them.

``kaohe`` reads its settings from the environment, so each test points DATABASE_URL at the test
database (SQLite and PostgreSQL) and runs in an empty folder, where no stray ``.env`` is read.
Expected phrases come from the same templates the commands render.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import text
from sqlmodel import select

from bot.cli.main import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from storage.engine import create_engine, make_session_factory, transaction
from storage.models import AuditLog, Cadre, utcnow

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
    assert "没有问题" in out and "本职工作 90 + 中心工作 10 = 100" in out


def test_scheme_check_reports_every_key_path(
    kaohe: Kaohe, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every problem by its key path, all in the office's language (no English inside)."""
    code, out, _ = kaohe("scheme", "check", str(broken_scheme(tmp_path)))
    assert code == EXIT_USAGE
    assert "items.village：类别“village”各项目的权重之和是 95，应为 100" in out
    assert "democratic.bogus：不认识的设置项" in out
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
    assert code == EXIT_OK and "kaohe periods reopen 2026-01" in out

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
    assert code == EXIT_OK and "考核期 2026-01 使用的考核方案" in out


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


# --- a month closed by mistake -----------------------------------------------------------------


def _in_db(url: str, work: Callable[[Any], Awaitable[Any]]) -> Any:
    """Run ``work(session)`` in one transaction on the test database (the bot's own services)."""

    async def run() -> Any:
        engine = create_engine(url)
        try:
            async with transaction(make_session_factory(engine)) as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _self_score_of(name: str, code: str) -> Callable[[Any], Awaitable[None]]:
    """``name``'s self-score of month ``code``, every item 88, submitted through the service."""

    async def work(session: Any) -> None:
        from bot.appraisal import ratings
        from storage.queries.periods import find_period
        from storage.queries.schemes import scheme_of

        cadre = (await session.exec(select(Cadre).where(Cadre.name == name))).one()
        period = await find_period(session=session, unit_id=cadre.unit_id, code=code)
        now = utcnow()
        category = "village" if cadre.village else "ordinary"
        for item in scheme_of(period).items_for(category):
            await ratings.record_answer(
                session=session,
                period=period,
                ratee=cadre,
                rater=cadre,
                source="self",
                key=item.key,
                item_key=item.key,
                score=Decimal("88"),
                now=now,
            )
        outcome, _ = await ratings.submit_sheet(
            session=session, period=period, ratee=cadre, source="self", now=now
        )
        assert outcome is ratings.SubmitOutcome.SUBMITTED

    return work


def _result_of(kaohe: Kaohe, code: str, name: str) -> dict[str, Any]:
    status, out, _ = kaohe("score", "show", code, "--json")
    assert status == EXIT_OK
    return next(r for r in json.loads(out)["results"] if r["name"] == name)


def test_a_month_closed_by_mistake_is_reopened_and_scored_anew(kaohe: Kaohe, db: str) -> None:
    assert kaohe("roster", "import", str(EXAMPLES / "roster.xlsx"))[0] == EXIT_OK
    assert kaohe("periods", "create", "2026")[0] == EXIT_OK
    assert kaohe("periods", "open", "2026-01", "--until", "2099-01-05")[0] == EXIT_OK
    assert kaohe("periods", "close", "2026-01", "--force")[0] == EXIT_OK
    assert _result_of(kaohe, "2026-01", "吴磊")["score"] == "0.0"

    # `open` on the closed month points the clerk to `reopen`.
    code, out, _ = kaohe("periods", "open", "2026-01")
    assert code == EXIT_OK and "没有改动" in out
    assert "kaohe periods reopen 2026-01 --until" in out and "--reason" in out
    # Closing it again changes nothing, and needs no word of reopening.
    code, out, _ = kaohe("periods", "close", "2026-01")
    assert code == EXIT_OK and "reopen" not in out

    code, out, _ = kaohe(
        "periods", "reopen", "2026-01", "--until", "2020-01-10", "--reason", "误关"
    )
    assert code == EXIT_FAILED and "新的截止时间必须在现在之后" in out
    code, out, _ = kaohe(
        "periods", "reopen", "2026-01", "--until", "2099-01-10 12:00", "--reason", "误关，吴磊出差"
    )
    assert code == EXIT_OK and "已重新开启 2026 年 1 月" in out and "2099-01-10 12:00" in out
    audits = _in_db(db, _audit_rows("period.reopen"))
    assert [(a.actor, a.reason) for a in audits] == [("cli", "误关，吴磊出差")]
    assert audits[0].old_value["state"] == "closed" and audits[0].new_value["state"] == "open"
    code, out, _ = kaohe("periods", "list", "--year", "2026")
    assert "2026-01\t月度\t进行中" in out
    code, out, _ = kaohe("periods", "reopen", "2026-01", "--until", "2099-01-11", "--reason", "x")
    assert code == EXIT_FAILED and "不是已结束" in out

    # The stored results stay until it closes again; then it is scored anew, each change audited.
    _in_db(db, _self_score_of("吴磊", "2026-01"))
    assert _result_of(kaohe, "2026-01", "吴磊")["score"] == "0.0"
    assert kaohe("periods", "close", "2026-01", "--force")[0] == EXIT_OK
    wu = _result_of(kaohe, "2026-01", "吴磊")
    assert "self_missing" not in wu["flags"]
    assert wu["score"] == wu["breakdown"]["self"]["weighted"]["score"] == "88.0"
    changes = _in_db(db, _audit_rows("result.update"))
    assert any(c.old_value and c.old_value.get("score") == "0.0" for c in changes)
    code, out, _ = kaohe("score", "recompute", "2026-01")
    assert code == EXIT_OK


def test_reopen_is_refused_once_the_quarter_is_published(kaohe: Kaohe, db: str) -> None:
    assert kaohe("roster", "import", str(EXAMPLES / "roster.xlsx"))[0] == EXIT_OK
    assert kaohe("periods", "create", "2026")[0] == EXIT_OK
    for month in ("01", "02", "03"):
        assert kaohe("periods", "open", f"2026-{month}", "--until", "2099-01-05")[0] == EXIT_OK
        assert kaohe("periods", "close", f"2026-{month}", "--force")[0] == EXIT_OK
    code, out, _ = kaohe("periods", "close", "2026-Q1")
    assert code == EXIT_OK and "进入领导小组评审" in out

    # During the review a month can still be reopened: its quarter goes back to open with it.
    reopen = ("periods", "reopen", "2026-02", "--until", "2099-03-01", "--reason", "误关")
    code, out, _ = kaohe(*reopen)
    assert code == EXIT_OK and "同时回到进行中：2026-Q1" in out
    assert kaohe("periods", "close", "2026-02", "--force")[0] == EXIT_OK
    assert kaohe("periods", "close", "2026-Q1")[0] == EXIT_OK

    async def publish(session: Any) -> None:
        from bot.appraisal.periods import publish_quarter
        from storage.queries.periods import find_period

        unit_id = (await session.exec(select(Cadre))).first().unit_id
        quarter = await find_period(session=session, unit_id=unit_id, code="2026-Q1")
        assert (await publish_quarter(session=session, period=quarter, now=utcnow())).changed

    _in_db(db, publish)
    code, out, _ = kaohe(*reopen)
    assert code == EXIT_FAILED and "已经公布" in out and "申诉" in out
    code, out, _ = kaohe("periods", "list", "--year", "2026")
    assert "2026-02\t月度\t已结束" in out
    assert [a.reason for a in _in_db(db, _audit_rows("period.reopen"))] == ["误关"]


def _audit_rows(action: str) -> Callable[[Any], Awaitable[list[AuditLog]]]:
    async def work(session: Any) -> list[AuditLog]:
        rows = await session.exec(
            select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)
        )
        return list(rows.all())

    return work


# --- a head who did not rate -------------------------------------------------------------------


def test_score_show_flags_a_head_who_did_not_rate(kaohe: Kaohe, db: str) -> None:
    assert kaohe("roster", "import", str(EXAMPLES / "roster.xlsx"))[0] == EXIT_OK
    assert kaohe("periods", "create", "2026")[0] == EXIT_OK
    assert kaohe("periods", "open", "2026-01", "--until", "2099-01-05")[0] == EXIT_OK
    assert kaohe("periods", "close", "2026-01", "--force")[0] == EXIT_OK

    li = _result_of(kaohe, "2026-01", "李明")  # head of 党政办公室: rated none of his people
    assert "owes_ratings" in li["flags"]
    assert sorted(li["owes"]) == ["吴磊", "周晓燕"]
    assert "owes_ratings" not in _result_of(kaohe, "2026-01", "吴磊")["flags"]

    code, out, _ = kaohe("score", "show", "2026-01")
    assert code == EXIT_OK
    block = out.split("\n\n李明（党政办公室）")[1].split("\n\n")[0]
    assert "有应评的人没有评分：周晓燕、吴磊" in block
    wu = out.split("\n\n吴磊（党政办公室）")[1].split("\n\n")[0]
    assert "记在负责人名下" in wu and "应评" not in wu
