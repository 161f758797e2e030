"""Generate ``examples/roster.xlsx`` and ``examples/roster.csv``, the seed town's roster.

The seed's first quarter assessed 12 cadres; its leadership group was the party secretary (组长),
the town mayor (副组长) and a deputy party secretary among the members. Here the 12 cadres sit in
four offices of three people each (a head and two staff); the leaders sit in their own
department, 领导班子, and are not assessed as cadres. One 党政办 clerk runs the office role, and
two cadres are stationed in villages. All names and numbers are made up.

The files are written with :func:`bot.sheets.roster.write_roster`, so the example always matches
what the reader accepts. Run from the project root: ``python examples/make_roster.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from a checkout, without installing
    sys.path.insert(0, str(ROOT))

from bot.rules.roles import Role  # noqa: E402
from bot.rules.roster import RosterRow  # noqa: E402
from bot.sheets.roster import write_roster  # noqa: E402

CADRE, HEAD, LEADER, OFFICE = Role.CADRE, Role.HEAD, Role.LEADER, Role.OFFICE

LEADERSHIP = "领导班子"
PARTY_OFFICE = "党政办公室"
ECONOMY = "经济发展办公室"
SOCIAL = "社会事务办公室"
GOVERNANCE = "综合治理办公室"

# (name, department, roles, title, supervisor, village, phone)
PEOPLE: tuple[tuple[str, str, set[Role], str | None, str | None, str | None, str | None], ...] = (
    ("赵建国", LEADERSHIP, {LEADER}, "党委书记", None, None, "138 0000 0001"),
    ("钱志强", LEADERSHIP, {LEADER}, "镇长", None, None, "138 0000 0002"),
    ("孙丽华", LEADERSHIP, {LEADER}, "党委副书记", None, None, "138 0000 0003"),
    ("李明", PARTY_OFFICE, {CADRE, HEAD}, "党政办主任", "赵建国", None, "139-0000-1001"),
    ("周晓燕", PARTY_OFFICE, {CADRE, OFFICE}, "党政办文书", None, None, "139-0000-1002"),
    ("吴磊", PARTY_OFFICE, {CADRE}, "科员", None, None, None),
    ("郑海涛", ECONOMY, {CADRE, HEAD}, "经发办主任", "钱志强", None, "139-0000-2001"),
    ("王芳", ECONOMY, {CADRE}, "农业服务员", None, "杨柳村", "139-0000-2002"),
    ("冯超", ECONOMY, {CADRE}, "统计员", None, None, None),
    ("陈静", SOCIAL, {CADRE, HEAD}, "社会事务办主任", "钱志强", None, "139-0000-3001"),
    ("褚文斌", SOCIAL, {CADRE}, "民政助理", None, "石桥村", "139-0000-3002"),
    ("卫红梅", SOCIAL, {CADRE}, "社保专干", None, None, None),
    ("蒋伟", GOVERNANCE, {CADRE, HEAD}, "综治办主任", "孙丽华", None, "139-0000-4001"),
    ("沈刚", GOVERNANCE, {CADRE}, "安监员", None, None, None),
    ("韩雪", GOVERNANCE, {CADRE}, "信访专干", None, None, "0571-8800 4003"),
)


def rows() -> list[RosterRow]:
    """The example roster, numbered as it stands in the sheet (row 1 is the header)."""
    return [
        RosterRow(
            row=number,
            name=name,
            department=department,
            roles=frozenset(roles),
            title=title,
            supervisor=supervisor,
            village=village,
            phone=phone,
        )
        for number, (name, department, roles, title, supervisor, village, phone) in enumerate(
            PEOPLE, start=2
        )
    ]


def main() -> None:
    here = Path(__file__).resolve().parent
    for name in ("roster.xlsx", "roster.csv"):
        write_roster(here / name, rows())
        print(here / name)


if __name__ == "__main__":
    main()
