"""The roster file: what the office clerk's Excel sheet may look like, and what is refused and why.

Messages are checked through the one renderer (``bot.core.texts.Texts``), for the phrases that
must be there: the row as Excel numbers it, the column, and the value at fault.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from bot.core.texts import Texts
from bot.rules.roles import Role
from bot.rules.roster import RosterFileError, RosterIssue, RosterRow, normalise_name, validate_rows
from bot.sheets.roster import InviteSheetRow, read_roster, write_invite_sheet, write_roster

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

ZH_HEADER = ["姓名", "部门", "角色", "职务", "分管领导", "蹲点村", "电话"]
EN_HEADER = ["Name", "Department", "Roles", "Title", "Supervisor", "Village", "Phone"]


@pytest.fixture(scope="module")
def texts() -> Texts:
    return Texts()


def write_xlsx(path: Path, rows: Sequence[Sequence[Any]]) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    workbook.save(path)
    return path


def write_csv(path: Path, rows: Sequence[Sequence[Any]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def small_roster(header: Sequence[str] = ZH_HEADER) -> list[list[Any]]:
    """A leader, a head supervised by them, and a cadre: the least a valid roster needs."""
    return [
        list(header),
        ["赵建国", "领导班子", "领导", "党委书记", None, None, None],
        ["李明", "党政办公室", "部门负责人", "主任", "赵建国", None, "139-0000-1001"],
        ["吴磊", "党政办公室", "干部", None, None, "杨柳村", None],
    ]


def issues_of(path: Path) -> list[RosterIssue]:
    with pytest.raises(RosterFileError) as caught:
        read_roster(path)
    return caught.value.errors


def only_issue(path: Path) -> RosterIssue:
    issues = issues_of(path)
    assert len(issues) == 1, issues
    return issues[0]


# --- reading ---------------------------------------------------------------------------------


def test_reads_chinese_headers_from_xlsx(tmp_path: Path) -> None:
    rows = read_roster(write_xlsx(tmp_path / "r.xlsx", small_roster()))

    assert [r.name for r in rows] == ["赵建国", "李明", "吴磊"]
    leader, head, cadre = rows
    assert leader.roles == {Role.LEADER}  # a leader is not assessed unless listed as a cadre
    assert head.roles == {Role.HEAD, Role.CADRE}  # a head is always a cadre too
    assert head.supervisor == "赵建国"
    assert head.title == "主任"
    assert head.phone == "139-0000-1001"
    assert cadre.village == "杨柳村"
    assert [r.row for r in rows] == [2, 3, 4]


def test_reads_english_headers_from_csv_whatever_their_case_and_spacing(tmp_path: Path) -> None:
    header = [" NAME ", "dept", "Role", "POSITION", "Supervising  Leader", "village", "Mobile"]
    rows = read_roster(write_csv(tmp_path / "r.csv", small_roster(header)))

    assert [r.name for r in rows] == ["赵建国", "李明", "吴磊"]
    assert rows[1].supervisor == "赵建国"
    assert rows[2].village == "杨柳村"


def test_header_may_sit_below_a_title_row_and_blank_rows_are_skipped(tmp_path: Path) -> None:
    data = small_roster(["序号", *ZH_HEADER])
    data = [data[0], *[[n, *r] for n, r in enumerate(data[1:], start=1)]]
    sheet = [["XX镇机关干部花名册"], [], data[0], data[1], [None, "  "], data[2], [], data[3]]
    rows = read_roster(write_xlsx(tmp_path / "r.xlsx", sheet))

    # The row numbers are the spreadsheet's, as the clerk sees them in Excel.
    assert [(r.row, r.name) for r in rows] == [(4, "赵建国"), (6, "李明"), (8, "吴磊")]


def test_role_cells_accept_chinese_names_and_every_separator(tmp_path: Path) -> None:
    data = [
        ["姓名", "部门", "角色"],
        ["甲", "党政办", "干部，办公室"],
        ["乙", "党政办", "机关干部、党政办"],
        ["丙", "党政办", "cadre; Office"],
        ["丁", "党政办", "考核领导小组成员 干部"],
        ["戊", "党政办", "分管领导；领导"],
        ["己", "党政办", None],
    ]
    rows = read_roster(write_xlsx(tmp_path / "r.xlsx", data))

    assert [r.roles for r in rows] == [
        {Role.CADRE, Role.OFFICE},
        {Role.CADRE, Role.OFFICE},
        {Role.CADRE, Role.OFFICE},
        {Role.LEADER, Role.CADRE},
        {Role.LEADER},
        {Role.CADRE},  # an empty roles cell means a plain cadre
    ]


def test_names_padded_for_alignment_match_unpadded_ones(tmp_path: Path) -> None:
    data = [
        ["姓名", "部门", "角色", "分管领导"],
        ["王\u3000五", "领导班子", "领导", None],
        ["李  明", " 党政办公室", "部门负责人", "王 五"],
        ["John  Smith", "党政办公室", "干部", None],
    ]
    rows = read_roster(write_xlsx(tmp_path / "r.xlsx", data))

    assert [(r.name, r.department) for r in rows] == [
        ("王五", "领导班子"),
        ("李明", "党政办公室"),
        ("John Smith", "党政办公室"),
    ]
    assert rows[1].supervisor == "王五"
    assert normalise_name(" 阿卜杜 · 热合曼 ") == "阿卜杜·热合曼"


def test_names_beyond_the_basic_plane_and_every_middle_dot_are_one_spelling(
    tmp_path: Path,
) -> None:
    data = [
        ["姓名", "部门", "角色", "分管领导"],
        ["龚\u3000𬌗", "领导班子", "领导", None],  # U+2C317, CJK extension E
        ["𠀀  𪚥", "党政办公室", "部门负责人", "龚  𬌗"],  # extensions B and C
        ["阿依古丽•买买提", "党政办公室", "干部", None],
        ["Jean•Paul  Sartre", "党政办公室", "干部", None],
    ]
    rows = read_roster(write_xlsx(tmp_path / "r.xlsx", data))

    assert [r.name for r in rows] == ["龚𬌗", "𠀀𪚥", "阿依古丽·买买提", "Jean•Paul Sartre"]
    assert rows[1].supervisor == "龚𬌗"
    spellings = ["·", "•", "・", "‧", "･", "∙", "⋅", "\u0387", "\u2e31", "\u318d"]
    for dot in spellings:
        assert normalise_name(f"阿依古丽 {dot} 买买提") == "阿依古丽·买买提", hex(ord(dot))
    # 𰀀 is in extension G (plane 3); a name in the compatibility supplement too.
    assert normalise_name("𰀀  𰀁") == "𰀀𰀁" and normalise_name("丽  \U0002f800") == "丽\U0002f800"


def test_phone_typed_as_a_number_in_excel_is_read_as_digits(tmp_path: Path) -> None:
    data = [
        ["姓名", "部门", "角色", "电话"],
        ["甲", "党政办", "干部", 13800138000],
        ["乙", "党政办", "干部", "+86 138-0013-8000"],
    ]
    rows = read_roster(write_xlsx(tmp_path / "r.xlsx", data))

    assert [r.phone for r in rows] == ["13800138000", "+86 138-0013-8000"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "utf-16"])
def test_csv_in_every_encoding_excel_saves(tmp_path: Path, encoding: str) -> None:
    path = write_csv(tmp_path / "r.csv", small_roster(), encoding=encoding)

    rows = read_roster(path)

    assert [r.name for r in rows] == ["赵建国", "李明", "吴磊"]
    assert rows[0].department == "领导班子"


def test_a_roster_without_a_roles_column_is_refused(tmp_path: Path, texts: Texts) -> None:
    """Without roles nobody would rate anyone: the sheet is refused, not read as all cadres."""
    [issue] = issues_of(write_xlsx(tmp_path / "r.xlsx", [["姓名", "部门"], ["甲", "一办"]]))

    assert (issue.row, issue.column, issue.code) == (1, "roles", "missing_column")
    message = texts.render("zh", "roster/issue", **issue.context())
    assert message.startswith("第 1 行「角色」：表头缺少这一列") and "一个人都没有导入" in message
    assert "nobody was imported" in texts.render("en", "roster/issue", **issue.context())


def test_an_empty_roles_cell_means_a_cadre(tmp_path: Path) -> None:
    sheet = [["姓名", "部门", "角色"], ["甲", "一办", None]]
    rows = read_roster(write_xlsx(tmp_path / "r.xlsx", sheet))

    assert rows == [RosterRow(row=2, name="甲", department="一办", roles=frozenset({Role.CADRE}))]


# --- refusing bad files ----------------------------------------------------------------------

LEADER = ["赵建国", "领导班子", "领导", None, None, None, None]


@pytest.mark.parametrize(
    ("bad_row", "column", "code", "params"),
    [
        (["", "党政办公室", "干部", None, None, None, None], "name", "required", {}),
        (["甲", None, "干部", None, None, None, None], "department", "required", {}),
        (
            ["甲", "党政办公室", "组长", None, None, None, None],
            "roles",
            "unknown_role",
            {"value": "组长"},
        ),
        (
            ["甲", "党政办公室", "干部", None, None, None, "138-abc"],
            "phone",
            "bad_phone",
            {"value": "138-abc"},
        ),
        (
            ["甲", "党政办公室", "干部", None, None, None, "13+8"],
            "phone",
            "bad_phone",
            {"value": "13+8"},
        ),
        (
            ["甲" * 51, "党政办公室", "干部", None, None, None, None],
            "name",
            "too_long",
            {"length": 51, "max": 50},
        ),
        (
            ["甲", "党政办公室", "干部", "长" * 51, None, None, None],
            "title",
            "too_long",
            {"length": 51, "max": 50},
        ),
        (
            ["甲", "党政办公室", "部门负责人", None, None, None, None],
            "supervisor",
            "supervisor_required",
            {},
        ),
        (
            ["甲", "党政办公室", "部门负责人", None, "钱志强", None, None],
            "supervisor",
            "supervisor_unknown",
            {"name": "钱志强"},
        ),
        (
            ["甲", "党政办公室", "部门负责人", None, "甲", None, None],
            "supervisor",
            "supervisor_self",
            {"name": "甲"},
        ),
        (
            ["甲", "领导班子", "领导", None, None, "杨柳村", None],
            "village",
            "village_needs_cadre",
            {"village": "杨柳村"},
        ),
        (
            ["赵  建国", "领导班子", "领导", None, None, None, None],
            "name",
            "duplicate_person",
            {"name": "赵建国", "department": "领导班子", "first_row": 2},
        ),
    ],
)
def test_each_bad_cell_is_named_by_row_and_column(
    tmp_path: Path,
    texts: Texts,
    bad_row: list[Any],
    column: str,
    code: str,
    params: dict[str, Any],
) -> None:
    path = write_xlsx(tmp_path / "r.xlsx", [ZH_HEADER, LEADER, bad_row])

    issue = only_issue(path)

    assert (issue.row, issue.column, issue.code) == (3, column, code)
    assert issue.params == params
    zh = texts.render("zh", "roster/issue", **issue.context())
    en = texts.render("en", "roster/issue", **issue.context())
    assert zh.startswith("第 3 行「")
    assert en.startswith("Row 3, column")
    assert f"({code})" not in zh and f"({code})" not in en  # a real sentence, not the fallback


def test_supervisor_must_be_a_leader_and_unambiguous(tmp_path: Path, texts: Texts) -> None:
    data = [
        ZH_HEADER,
        ["王五", "党政办公室", "干部", None, None, None, None],
        ["甲", "党政办公室", "部门负责人", None, "王五", None, None],
        ["张三", "领导班子", "领导", None, None, None, None],
        ["张三", "经济发展办公室", "干部", None, None, None, None],
        ["乙", "经济发展办公室", "部门负责人", None, "张三", None, None],
    ]
    issues = issues_of(write_xlsx(tmp_path / "r.xlsx", data))

    assert [(i.row, i.column, i.code) for i in issues] == [
        (3, "supervisor", "supervisor_not_leader"),
        (6, "supervisor", "supervisor_ambiguous"),
    ]
    assert issues[0].params == {"name": "王五", "leader_row": 2}
    assert issues[1].params["departments"] == ["领导班子", "经济发展办公室"]
    assert "“王五”（第 2 行）不是领导" in texts.render("zh", "roster/issue", **issues[0].context())
    assert "领导班子、经济发展办公室" in texts.render("zh", "roster/issue", **issues[1].context())


def test_every_problem_of_a_sheet_is_reported_at_once_in_row_order(tmp_path: Path) -> None:
    data = [
        ZH_HEADER,
        ["甲", "党政办公室", "组长", None, None, None, "电话"],
        ["", "", "干部", None, None, None, None],
        ["乙", "党政办公室", "部门负责人", None, None, None, None],
    ]
    issues = issues_of(write_xlsx(tmp_path / "r.xlsx", data))

    assert [(i.row, i.column, i.code) for i in issues] == [
        (2, "roles", "unknown_role"),
        (2, "phone", "bad_phone"),
        (3, "name", "required"),
        (3, "department", "required"),
        (4, "supervisor", "supervisor_required"),
    ]


def test_zh_message_for_unknown_role_reads_as_the_office_expects(
    tmp_path: Path, texts: Texts
) -> None:
    data = [["姓名", "部门", "角色"], [], [], ["甲", "党政办", "组长"]]
    issue = only_issue(write_xlsx(tmp_path / "r.xlsx", data))

    message = texts.render("zh", "roster/issue", **issue.context())

    assert message.startswith(
        "第 4 行「角色」：不认识的角色“组长”。可用：干部、部门负责人、领导、办公室"
    )
    assert 'Row 4, column "Roles": Unknown role "组长"' in texts.render(
        "en", "roster/issue", **issue.context()
    )


@pytest.mark.parametrize(
    ("sheet", "expected"),
    [
        (
            [["姓名", "科目", "角色"], ["甲", "x", "干部"]],
            [(1, "department", "missing_column"), (1, None, "unknown_column")],
        ),
        (
            [["XX镇花名册"], ["甲", "乙"]],
            [
                (1, "name", "missing_column"),
                (1, "department", "missing_column"),
                (1, "roles", "missing_column"),
            ],
        ),
        ([["姓名", "部门"], ["甲", "一办"]], [(1, "roles", "missing_column")]),
        (
            [["姓名", "部门", "角色", "备考"], ["甲", "一办", "干部", "x"]],
            [(1, None, "unknown_column")],
        ),
        (
            [["姓名", "部门", "角色", "名字"], ["甲", "一办", "干部", "甲"]],
            [(1, "name", "duplicate_column")],
        ),
        ([["姓名", "部门", "角色"], ["甲", "一办", "干部", "多余"]], [(1, None, "unnamed_column")]),
        ([["姓名", "部门", "角色"], [None, None, None]], [(None, None, "no_rows")]),
        ([[None], []], [(None, None, "empty_file")]),
    ],
)
def test_header_problems(
    tmp_path: Path,
    texts: Texts,
    sheet: list[list[Any]],
    expected: list[tuple[int | None, str | None, str]],
) -> None:
    issues = issues_of(write_xlsx(tmp_path / "r.xlsx", sheet))

    assert [(i.row, i.column, i.code) for i in issues] == expected
    for issue in issues:
        for language in ("zh", "en"):
            message = texts.render(language, "roster/issue", **issue.context())
            assert f"({issue.code})" not in message


def test_unknown_and_unnamed_columns_name_the_spreadsheet_column(
    tmp_path: Path, texts: Texts
) -> None:
    sheet = [["姓名", "部门", "角色", "备考"], ["甲", "一办", "干部", None, "多余"]]
    unknown, unnamed = issues_of(write_xlsx(tmp_path / "r.xlsx", sheet))

    assert unknown.params == {"header": "备考", "letter": "D"}
    assert texts.render("zh", "roster/issue", **unknown.context()).startswith(
        "第 1 行 D 列：不认识的列名“备考”"
    )
    assert unnamed.params == {"letter": "E", "first_row": 2}
    assert "第 1 行 E 列：这一列没有列名" in texts.render("zh", "roster/issue", **unnamed.context())


def test_serial_number_and_remarks_columns_are_ignored(tmp_path: Path) -> None:
    sheet = [["序号", "姓名", "部门", "角色", "备注"], [1, "甲", "一办", "干部", "借调"]]

    assert [r.name for r in read_roster(write_xlsx(tmp_path / "r.xlsx", sheet))] == ["甲"]


@pytest.mark.parametrize(
    ("name", "content", "code", "phrase"),
    [
        ("roster.xls", b"\xd0\xcf\x11\xe0", "file_type", "另存为"),
        ("roster.docx", b"", "file_type", "“.docx”"),
        ("roster.xlsx", b"not a zip", "file_unreadable", "打不开"),
        ("roster.csv", b"\xff\xff\xff\x80\x80", "file_encoding", "UTF-8"),
    ],
)
def test_unusable_files(
    tmp_path: Path, texts: Texts, name: str, content: bytes, code: str, phrase: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)

    issue = only_issue(path)

    assert (issue.row, issue.column, issue.code) == (None, None, code)
    assert phrase in texts.render("zh", "roster/issue", **issue.context())


def test_missing_file(tmp_path: Path) -> None:
    issue = only_issue(tmp_path / "nowhere.xlsx")

    assert issue.code == "file_not_found"


def test_validate_rows_checks_rows_built_in_code() -> None:
    rows = [RosterRow(row=2, name="甲", department="一办", roles=frozenset(), phone="x")]

    assert [(i.column, i.code) for i in validate_rows(rows)] == [
        ("roles", "no_roles"),
        ("phone", "bad_phone"),
    ]


# --- writing and round trips ---------------------------------------------------------------


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_export_then_import_gives_the_same_rows(tmp_path: Path, language: str, suffix: str) -> None:
    original = read_roster(EXAMPLES / "roster.xlsx")
    path = tmp_path / f"export{suffix}"

    write_roster(path, original, language=language)

    assert read_roster(path) == original


def test_english_export_has_english_headers_and_role_names(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    write_roster(path, read_roster(EXAMPLES / "roster.csv"), language="en")

    lines = path.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == ",".join(EN_HEADER)
    assert "cadre, head" in lines[4]


def test_xlsx_export_keeps_phone_numbers_as_text(tmp_path: Path) -> None:
    path = tmp_path / "export.xlsx"
    write_roster(path, read_roster(EXAMPLES / "roster.xlsx"))

    workbook = load_workbook(path)
    sheet = workbook.active
    assert sheet is not None
    assert [c.value for c in sheet[1]] == ZH_HEADER
    assert sheet["A1"].font.b
    assert sheet["G2"].number_format == "@"
    assert sheet.freeze_panes == "A2"


# --- the example roster ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["roster.xlsx", "roster.csv"])
def test_example_roster_is_the_seed_town(name: str) -> None:
    rows = read_roster(EXAMPLES / name)
    by_name = {r.name: r for r in rows}

    cadres = [r for r in rows if Role.CADRE in r.roles]
    assert len(cadres) == 12  # the seed's first quarter assessed 12 cadres
    assert len({r.department for r in cadres}) == 4
    assert sum(1 for r in cadres if r.village) == 2
    assert sum(1 for r in cadres if Role.OFFICE in r.roles) == 1

    heads = [r for r in rows if Role.HEAD in r.roles]
    assert sorted(r.department for r in heads) == sorted({r.department for r in cadres})
    for head in heads:
        assert head.supervisor is not None
        assert Role.LEADER in by_name[head.supervisor].roles

    leaders = [r for r in rows if Role.LEADER in r.roles]
    assert {r.title for r in leaders} >= {"党委书记", "镇长"}
    assert all(Role.CADRE not in r.roles for r in leaders)


def test_example_xlsx_and_csv_hold_the_same_roster() -> None:
    assert read_roster(EXAMPLES / "roster.xlsx") == read_roster(EXAMPLES / "roster.csv")


# --- the invite sheet ------------------------------------------------------------------------


def test_invite_sheet_is_printable_and_has_every_invite(tmp_path: Path) -> None:
    expires = datetime(2026, 12, 9, 10, 0, tzinfo=UTC)
    invites = [
        InviteSheetRow(
            "李明", "党政办公室", "K7Q2-M9XD", "https://t.me/kaohe_bot?start=K7Q2M9XD", expires
        ),
        InviteSheetRow(
            "王芳",
            "经济发展办公室",
            "P3WZ-8HTN",
            "https://t.me/kaohe_bot?start=P3WZ8HTN",
            expires.replace(tzinfo=None),
        ),
    ]
    path = tmp_path / "invites.xlsx"

    write_invite_sheet(path, invites, timezone="Asia/Shanghai")
    write_invite_sheet(tmp_path / "as_given.xlsx", invites[:1])

    workbook = load_workbook(path)
    sheet = workbook.active
    assert sheet is not None
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0] == _invite_headers("zh")
    local = datetime(2026, 12, 9, 18, 0)  # UTC+8, shown without a zone
    assert values[1:] == [
        ["李明", "党政办公室", "K7Q2-M9XD", "https://t.me/kaohe_bot?start=K7Q2M9XD", local],
        ["王芳", "经济发展办公室", "P3WZ-8HTN", "https://t.me/kaohe_bot?start=P3WZ8HTN", local],
    ]
    assert all(cell.font.b for cell in sheet[1])
    assert sheet.column_dimensions["D"].width > sheet.column_dimensions["A"].width
    assert sheet.print_title_rows is not None and "1" in sheet.print_title_rows
    assert sheet.page_setup.fitToWidth == 1
    assert sheet.sheet_properties.pageSetUpPr is not None
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet["D2"].hyperlink is not None
    # Without a time zone, an aware expiry is shown in its own zone (the caller converted it).
    given = load_workbook(tmp_path / "as_given.xlsx").active
    assert given is not None and given["E2"].value == datetime(2026, 12, 9, 10, 0)


def test_invite_sheet_in_english(tmp_path: Path) -> None:
    path = tmp_path / "invites.xlsx"
    write_invite_sheet(path, [], language="en")

    sheet = load_workbook(path).active
    assert sheet is not None
    assert [c.value for c in sheet[1]] == _invite_headers("en")


def _invite_headers(language: str) -> list[str]:
    from bot.core.texts import Texts

    keys = ("name", "department", "code", "link", "expires")
    return [Texts().label(language, f"sheet.invite_{key}") for key in keys]
