"""Generate ``examples/targets.xlsx``: the year's targets (目标管理考核细则) of the example town.

One sheet for the 12 cadres of ``examples/roster.xlsx`` (the three leaders are not assessed and
have no targets). Each cadre has own-duty targets with a figure and a unit, whose points add up to
100, so the file also works under a scheme where own duties are quantified; one central-work
target each (judged: no figure); and the two village-stationed cadres (王芳, 褚文斌) have village
targets too. All names and figures are made up.

The file is written with :func:`bot.sheets.targets.write_targets`, so the example always matches
what the reader accepts. Run from the project root: ``python examples/make_targets.py``.
"""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from a checkout, without installing
    sys.path.insert(0, str(ROOT))

from bot.rules.targets import TargetRow  # noqa: E402
from bot.sheets.targets import write_targets  # noqa: E402

DUTY, CENTRAL, VILLAGE = "本职工作", "中心工作", "蹲点村党建行政和经济工作"

PARTY_OFFICE = "党政办公室"
ECONOMY = "经济发展办公室"
SOCIAL = "社会事务办公室"
GOVERNANCE = "综合治理办公室"

# name, department, [(item, title, target, unit, points)]
Line = tuple[str, str, int | None, str | None, int]
TARGETS: tuple[tuple[str, str, tuple[Line, ...]], ...] = (
    (
        "李明",
        PARTY_OFFICE,
        (
            (DUTY, "公文按时办结", 240, "件", 40),
            (DUTY, "组织党委会、镇长办公会", 48, "次", 30),
            (DUTY, "向县委县政府报送信息", 60, "篇", 30),
        ),
    ),
    (
        "周晓燕",
        PARTY_OFFICE,
        (
            (DUTY, "收发文登记", 600, "件", 40),
            (DUTY, "文书档案整理归档", 1200, "卷", 30),
            (DUTY, "机关考勤月度汇总", 12, "次", 30),
        ),
    ),
    (
        "吴磊",
        PARTY_OFFICE,
        (
            (DUTY, "农户信息入户核查", 120, "户", 60),
            (DUTY, "走访群众并记录民情日记", 40, "次", 40),
        ),
    ),
    (
        "郑海涛",
        ECONOMY,
        (
            (DUTY, "新签约招商引资项目", 3, "个", 40),
            (DUTY, "走访规模以上企业", 24, "家次", 30),
            (DUTY, "完成固定资产投资入库", 2, "亿元", 30),
        ),
    ),
    (
        "王芳",
        ECONOMY,
        (
            (DUTY, "举办农业技术培训", 12, "场", 40),
            (DUTY, "高标准农田建设验收", 800, "亩", 30),
            (DUTY, "政策性农业保险参保", 300, "户", 30),
            (VILLAGE, "杨柳村集体经济经营性收入", 20, "万元", 50),
            (VILLAGE, "指导杨柳村开展主题党日", 12, "次", 50),
        ),
    ),
    (
        "冯超",
        ECONOMY,
        (
            (DUTY, "统计报表按时报送", 96, "份", 50),
            (DUTY, "企业联网直报审核", 30, "家", 50),
        ),
    ),
    (
        "陈静",
        SOCIAL,
        (
            (DUTY, "低保对象年度复核", 150, "户", 40),
            (DUTY, "城乡居民养老保险参保", 2000, "人", 30),
            (DUTY, "城乡居民医疗保险参保", 8000, "人", 30),
        ),
    ),
    (
        "褚文斌",
        SOCIAL,
        (
            (DUTY, "走访困难群众", 80, "户", 50),
            (DUTY, "残疾人两项补贴审核", 60, "人", 50),
            (VILLAGE, "石桥村人居环境整治行动", 10, "次", 50),
            (VILLAGE, "石桥村矛盾纠纷调处", 12, "件", 50),
        ),
    ),
    (
        "卫红梅",
        SOCIAL,
        (
            (DUTY, "社会保障卡发放", 1500, "张", 50),
            (DUTY, "养老待遇领取资格认证", 900, "人", 50),
        ),
    ),
    (
        "蒋伟",
        GOVERNANCE,
        (
            (DUTY, "矛盾纠纷集中排查", 24, "次", 40),
            (DUTY, "综治中心值班", 365, "天", 30),
            (DUTY, "平安创建集中宣传", 12, "次", 30),
        ),
    ),
    (
        "沈刚",
        GOVERNANCE,
        (
            (DUTY, "企业安全生产检查", 120, "家次", 60),
            (DUTY, "督促隐患整改销号", 40, "处", 40),
        ),
    ),
    (
        "韩雪",
        GOVERNANCE,
        (
            (DUTY, "信访件按期办结", 100, "件", 60),
            (DUTY, "信访事项回访", 100, "件", 40),
        ),
    ),
)

CENTRAL_TASK = "完成镇党委政府部署的中心工作任务"
CODE_PREFIX = {DUTY: "D", CENTRAL: "C", VILLAGE: "V"}


def rows() -> list[TargetRow]:
    """The example targets, numbered as they stand in the sheet (row 1 is the header)."""
    result: list[TargetRow] = []
    for name, department, lines in TARGETS:
        counters: dict[str, int] = {}
        for item, title, target, unit, points in (*lines, (CENTRAL, CENTRAL_TASK, None, None, 100)):
            counters[item] = counters.get(item, 0) + 1
            result.append(
                TargetRow(
                    row=len(result) + 2,
                    name=name,
                    department=department,
                    item=item,
                    code=f"{CODE_PREFIX[item]}{counters[item]:02d}",
                    title=title,
                    points=Decimal(points),
                    target=None if target is None else Decimal(target),
                    unit=unit,
                )
            )
    return result


def main() -> None:
    path = Path(__file__).resolve().parent / "targets.xlsx"
    write_targets(path, rows())
    print(path)


if __name__ == "__main__":
    main()
