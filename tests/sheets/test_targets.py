"""The annual targets (目标管理考核细则): reading the office's sheet, checking it against the
scheme, and importing it all-or-nothing (on SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlmodel import col, func, select

from bot.core.scheme_file import DEFAULT_SCHEME_PATH, default_scheme
from bot.core.texts import Texts
from bot.rules.roster import RosterIssue
from bot.rules.scheme import parse_scheme
from bot.rules.targets import TargetFileError, TargetRow, resolve_targets
from bot.sheets.roster import read_roster
from bot.sheets.targets import read_targets, write_targets
from storage.engine import SessionFactory, transaction
from storage.models import AuditLog, Period, Rating, RatingLine, Target, utcnow
from storage.queries.roster import ensure_unit, import_roster, list_cadres
from storage.queries.targets import TargetImportError, import_targets, list_targets

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
D = Decimal
HEADER_ZH = ["姓名", "部门", "项目", "编号", "指标", "目标值", "单位", "分值"]


def xlsx(path: Path, rows: list[list[object]]) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def codes(issues: list[RosterIssue]) -> list[tuple[int | None, str | None, str]]:
    return [(i.row, i.column, i.code) for i in issues]


# --- reading ---------------------------------------------------------------------------------


def test_example_file_reads_and_resolves() -> None:
    rows = read_targets(EXAMPLES / "targets.xlsx")
    people = {row.person for row in rows}
    roster = read_roster(EXAMPLES / "roster.xlsx")
    cadres = {r.key: r for r in roster if "cadre" in {role.value for role in r.roles}}
    assert people == set(cadres)  # the 12 cadres of the example roster, nobody else
    categories = {key: "village" if r.village else "ordinary" for key, r in cadres.items()}
    resolved, issues = resolve_targets(rows, categories, default_scheme())
    assert issues == []
    assert {t.item_key for t in resolved} == {"duty", "central", "village"}
    first = rows[0]
    assert (first.row, first.name, first.code, first.points) == (2, "李明", "D01", D(40))
    assert (first.target, first.unit) == (D(240), "件")


def test_example_generator_matches_the_file(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_targets", EXAMPLES / "make_targets.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    write_targets(tmp_path / "targets.xlsx", module.rows())
    assert read_targets(tmp_path / "targets.xlsx") == read_targets(EXAMPLES / "targets.xlsx")


def test_english_headers_csv_gbk_title_row_and_ignored_columns(tmp_path: Path) -> None:
    path = tmp_path / "targets.csv"
    with path.open("w", encoding="gbk", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["2026年目标管理考核细则"])
        writer.writerow(["No.", "Name", "Department", "Item", "Code", "Title", "Target", "Unit",
                         "Points", "Remarks"])  # fmt: skip
        writer.writerow(["1", "吴  磊", "党政办公室", "Own duties", "D01", "入户核查", "1,200",
                         "户", "60", ""])  # fmt: skip
        writer.writerow(["2", "吴磊", "党政办公室", "duty", "D02", "走访", "", "", "40", "备注"])
    rows = read_targets(path)
    assert [(r.row, r.name, r.item, r.code, r.target, r.unit, r.points) for r in rows] == [
        (3, "吴磊", "Own duties", "D01", D(1200), "户", D(60)),
        (4, "吴磊", "duty", "D02", None, None, D(40)),
    ]


def test_row_level_errors_name_row_and_column(tmp_path: Path) -> None:
    path = xlsx(
        tmp_path / "bad.xlsx",
        [
            HEADER_ZH,
            ["吴磊", "党政办公室", "本职工作", "D01", "入户核查", "120户", "户", 60],
            ["吴磊", "党政办公室", "本职工作", None, "走访", 40, "次", 40],
            ["冯超", "经济发展办公室", "本职工作", "D01", "报表", 96, "份", 0],
            ["冯超", "经济发展办公室", "本职工作", "d01", "直报", 30, "家", 120],
            ["沈刚", "综合治理办公室", "本职工作", "D01", "检查", -5, "家次", 100],
        ],
    )
    with pytest.raises(TargetFileError) as caught:
        read_targets(path)
    assert codes(caught.value.errors) == [
        (2, "target", "not_a_number"),
        (3, "code", "required"),
        (4, "points", "not_positive"),
        (5, "points", "points_range"),
        (6, "target", "not_positive"),
    ]


def test_header_problems(tmp_path: Path) -> None:
    path = xlsx(tmp_path / "h.xlsx", [["姓名", "部门", "项目", "编号", "指标", "指标", "权重x"]])
    with pytest.raises(TargetFileError) as caught:
        read_targets(path)
    assert codes(caught.value.errors) == [
        (1, "title", "duplicate_column"),
        (1, "points", "missing_column"),
        (1, None, "unknown_column"),
    ]
    with pytest.raises(TargetFileError) as caught:
        read_targets(xlsx(tmp_path / "e.xlsx", []))
    assert codes(caught.value.errors) == [(None, None, "empty_file")]


def test_duplicate_codes_within_a_person(tmp_path: Path) -> None:
    path = xlsx(
        tmp_path / "dup.xlsx",
        [
            HEADER_ZH,
            ["吴磊", "党政办公室", "本职工作", "D01", "入户核查", 120, "户", 60],
            ["吴磊", "党政办公室", "本职工作", "d01", "走访", 40, "次", 40],
            ["冯超", "经济发展办公室", "本职工作", "D01", "报表", 96, "份", 100],
        ],
    )
    with pytest.raises(TargetFileError) as caught:
        read_targets(path)
    assert codes(caught.value.errors) == [(3, "code", "duplicate_code")]


def test_resolve_checks_items_points_and_quantified_fields() -> None:
    text = DEFAULT_SCHEME_PATH.read_text(encoding="utf-8").replace(
        'method = "judged"  # 评定 judged | 量化 quantified', 'method = "quantified"', 1
    )
    scheme = parse_scheme(text)  # ordinary cadres' own duties are quantified
    rows = [
        TargetRow(2, "吴磊", "党政办公室", "本职工作", "D01", "入户核查", D(60), D(120), "户"),
        TargetRow(3, "吴磊", "党政办公室", "duty", "D02", "走访", D(30), None, None),
        TargetRow(4, "吴磊", "党政办公室", "村务", "V01", "不该有", D(100)),
        TargetRow(
            5, "王芳", "经济发展办公室", "蹲点村党建行政和经济工作", "V01", "集体经济", D(100)
        ),
        TargetRow(6, "冯超", "经济发展办公室", "Central work", "C01", "中心工作", D(100)),
    ]
    categories = {
        ("党政办公室", "吴磊"): "ordinary",
        ("经济发展办公室", "王芳"): "village",
        ("经济发展办公室", "冯超"): "ordinary",
    }
    resolved, issues = resolve_targets(rows, categories, scheme)
    assert codes(issues) == [
        (2, "points", "points_sum"),  # 60 + 30 = 90
        (3, "target", "quantified_needs_target"),
        (3, "unit", "quantified_needs_unit"),
        (4, "item", "unknown_item"),  # an ordinary cadre has no village work
        (6, "item", "missing_quantified_item"),  # 冯超 has no own-duty targets
    ]
    assert issues[0].params["total"] == "90"
    assert [(t.source.row, t.item_key, t.quantified) for t in resolved] == [
        (2, "duty", True),
        (3, "duty", True),
        (5, "village", False),
        (6, "central", False),
    ]


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_issue_code_is_worded(language: str) -> None:
    texts = Texts()
    params = {
        "suffix": ".xls", "path": "x.xlsx", "header_row": 1, "header": "h", "letter": "C",
        "first_letter": "B", "first_row": 3, "length": 300, "max": 200, "value": "v",
        "code": "D01", "name": "吴磊", "department": "党政办公室", "category": "ordinary",
        "choices_zh": ["本职工作"], "choices_en": ["Own duties"], "keys": ["duty"],
        "item_zh": "本职工作", "item_en": "Own duties", "total": "90", "rows": [2, 3],
        "elsewhere": ["经济发展办公室"], "title": "入户核查",
    }  # fmt: skip
    for code in (
        "file_type", "file_not_found", "file_unreadable", "file_encoding", "empty_file", "no_rows",
        "missing_column", "duplicate_column", "unknown_column", "unnamed_column", "required",
        "too_long", "not_a_number", "not_positive", "points_range", "duplicate_code",
        "unknown_item", "quantified_needs_target", "quantified_needs_unit", "points_sum",
        "missing_quantified_item", "unknown_person", "inactive_person", "not_assessed",
        "target_in_use",
    ):  # fmt: skip
        issue = RosterIssue(4, "item", code, params)
        text = texts.render_plain(language, "targets/issue", **issue.context())
        fallback = "这一项有问题" if language == "zh" else "Something is wrong here"
        assert fallback not in text, code
        assert ("第 4 行「项目」" if language == "zh" else 'Row 4, column "Item"') in text


# --- importing -------------------------------------------------------------------------------


@pytest.fixture
async def unit_id(sessions: SessionFactory) -> int:
    async with transaction(sessions) as session:
        unit = await ensure_unit(session=session, name="青山镇", timezone="Asia/Shanghai")
        assert unit.id is not None
        await import_roster(
            session=session,
            unit_id=unit.id,
            rows=read_roster(EXAMPLES / "roster.xlsx"),
            now=utcnow(),
        )
        return unit.id


async def _count(sessions: SessionFactory, model: type) -> int:
    async with sessions() as session:
        return int((await session.exec(select(func.count()).select_from(model))).one())


async def test_import_example_then_reimport_changes_nothing(
    sessions: SessionFactory, unit_id: int
) -> None:
    rows = read_targets(EXAMPLES / "targets.xlsx")
    for expected_created in (len(rows), 0):
        async with transaction(sessions) as session:
            report = await import_targets(
                session=session,
                unit_id=unit_id,
                year=2026,
                rows=rows,
                scheme=default_scheme(),
                now=utcnow(),
            )
        assert len(report.created) == expected_created
        assert len(report.people) == 12
    assert not report.changed and len(report.unchanged) == len(rows)
    assert await _count(sessions, Target) == len(rows)
    async with sessions() as session:
        wang = await list_cadres(session=session, unit_id=unit_id)
        wang_id = next(c.id for c in wang if c.name == "王芳")
        targets = await list_targets(
            session=session, unit_id=unit_id, year=2026, cadre_ids=[wang_id]
        )  # type: ignore[list-item]  # a row built wrong on purpose
    assert [(t.code, t.item_key) for t in targets] == [
        ("C01", "central"), ("D01", "duty"), ("D02", "duty"), ("D03", "duty"),
        ("V01", "village"), ("V02", "village"),
    ]  # fmt: skip


async def test_import_with_a_bad_row_imports_nothing(
    sessions: SessionFactory, unit_id: int
) -> None:
    rows = read_targets(EXAMPLES / "targets.xlsx")
    bad = [
        *rows,
        TargetRow(99, "赵建国", "领导班子", "本职工作", "D01", "领导不考核", D(100)),
        TargetRow(100, "王五", "党政办公室", "本职工作", "D01", "查无此人", D(100)),
        TargetRow(101, "吴磊", "经济发展办公室", "本职工作", "D01", "部门写错", D(100)),
    ]
    with pytest.raises(TargetImportError) as caught:
        async with transaction(sessions) as session:
            await import_targets(
                session=session,
                unit_id=unit_id,
                year=2026,
                rows=bad,
                scheme=default_scheme(),
                now=utcnow(),
            )
    assert codes(caught.value.errors) == [
        (99, "name", "not_assessed"),
        (100, "name", "unknown_person"),
        (101, "name", "unknown_person"),
    ]
    assert caught.value.errors[2].params["elsewhere"] == ["党政办公室"]
    assert await _count(sessions, Target) == 0
    assert await _count(sessions, AuditLog) == 15  # the roster import's, nothing more


async def test_reimport_replaces_only_the_people_in_the_file(
    sessions: SessionFactory, unit_id: int
) -> None:
    async with transaction(sessions) as session:
        await import_targets(
            session=session,
            unit_id=unit_id,
            year=2026,
            rows=read_targets(EXAMPLES / "targets.xlsx"),
            scheme=default_scheme(),
            now=utcnow(),
        )
    before = await _count(sessions, Target)
    # A sheet for 吴磊 alone: D01 figure changed, D02 dropped, D03 added, C01 unchanged.
    rows = [
        TargetRow(2, "吴磊", "党政办公室", "本职工作", "D01", "农户信息入户核查", D(60), D(150),
                  "户"),
        TargetRow(3, "吴磊", "党政办公室", "本职工作", "D03", "防汛值守", D(40), D(30), "天"),
        TargetRow(4, "吴磊", "党政办公室", "中心工作", "C01", "完成镇党委政府部署的中心工作任务",
                  D(100)),
    ]  # fmt: skip
    async with transaction(sessions) as session:
        report = await import_targets(
            session=session,
            unit_id=unit_id,
            year=2026,
            rows=rows,
            scheme=default_scheme(),
            now=utcnow(),
        )
    assert [t.code for t in report.updated] == ["D01"]
    assert [t.code for t in report.removed] == ["D02"]
    assert [t.code for t in report.created] == ["D03"]
    assert [t.code for t in report.unchanged] == ["C01"]
    assert await _count(sessions, Target) == before  # one removed, one added; others untouched
    async with sessions() as session:
        audit = (
            await session.exec(
                select(AuditLog)
                .where(col(AuditLog.action).in_(["target.update", "target.delete"]))
                .order_by(col(AuditLog.id))
            )
        ).all()
    assert [(a.action, a.old_value, a.new_value) for a in audit] == [
        ("target.delete", audit[0].old_value, None),
        ("target.update", {"target_value": "120"}, {"target_value": "150"}),
    ]
    assert audit[0].old_value is not None and audit[0].old_value["code"] == "D02"


async def test_a_target_with_answers_cannot_be_removed(
    sessions: SessionFactory, unit_id: int
) -> None:
    from datetime import UTC, date, datetime

    rows = [
        TargetRow(2, "吴磊", "党政办公室", "本职工作", "D01", "入户核查", D(60), D(120), "户"),
        TargetRow(3, "吴磊", "党政办公室", "本职工作", "D02", "走访", D(40), D(40), "次"),
    ]
    async with transaction(sessions) as session:
        await import_targets(
            session=session,
            unit_id=unit_id,
            year=2026,
            rows=rows,
            scheme=default_scheme(),
            now=utcnow(),
        )
        targets = await list_targets(session=session, unit_id=unit_id, year=2026)
        d02 = next(t for t in targets if t.code == "D02")
        moment = datetime(2026, 1, 25, 1, tzinfo=UTC)
        period = Period(
            unit_id=unit_id, kind="month", year=2026, number=1, starts_on=date(2026, 1, 1),
            ends_on=date(2026, 1, 31), opens_at=moment, closes_at=moment, state="open",
        )  # fmt: skip
        session.add(period)
        await session.flush()
        rating = Rating(
            unit_id=unit_id,
            period_id=period.id,  # type: ignore[arg-type]  # the row's id, set once it is stored
            ratee_id=d02.cadre_id,
            rater_id=d02.cadre_id,
            source="self",
        )
        session.add(rating)
        await session.flush()
        session.add(
            RatingLine(
                rating_id=rating.id,  # type: ignore[arg-type]  # the row's id, set once it is stored
                line_key="duty.D02",
                item_key="duty",
                target_id=d02.id,
                actual=D(12),
            )
        )
    with pytest.raises(TargetImportError) as caught:
        async with transaction(sessions) as session:
            await import_targets(
                session=session,
                unit_id=unit_id,
                year=2026,
                rows=[
                    TargetRow(
                        2, "吴磊", "党政办公室", "本职工作", "D01", "入户核查", D(100), D(120), "户"
                    )
                ],
                scheme=default_scheme(),
                now=utcnow(),
            )
    assert codes(caught.value.errors) == [(None, "code", "target_in_use")]
    assert caught.value.errors[0].params["code"] == "D02"
    assert await _count(sessions, Target) == 2


def test_a_month_may_have_its_own_target_figure(tmp_path: Path) -> None:
    """Optional 1月 … 12月 columns give months their own figure (a campaign month); an empty
    cell leaves the month at the annual target ÷ 12."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["姓名", "部门", "项目", "编号", "指标", "目标值", "单位", "分值", "7月", "八月"])
    sheet.append(["吴磊", "党政办公室", "本职工作", "D01", "入户核查", 120, "户", 100, 40, None])
    sheet.append(["吴磊", "党政办公室", "中心工作", "C01", "秸秆禁烧", None, None, 100, "两", None])
    path = tmp_path / "targets.xlsx"
    workbook.save(path)
    with pytest.raises(TargetFileError) as caught:
        read_targets(path)
    assert [(i.row, i.column, i.code) for i in caught.value.errors] == [(3, "m7", "not_a_number")]
    sheet["I3"] = None
    workbook.save(path)
    first, second = read_targets(path)
    assert first.monthly is not None and first.monthly[6] == Decimal(40)
    assert first.monthly[7] is None and second.monthly is None
