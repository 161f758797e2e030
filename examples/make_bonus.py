"""Generate ``examples/bonus.xlsx``: the year-end bonus bases (奖金基数) of the example town.

One row for each of the 12 assessed cadres of ``examples/roster.xlsx`` (the three leaders are not
assessed and get no performance bonus): the department heads 12,000.00 yuan, the others
10,000.00. A cadre left out of the file would get the scheme's ``bonus.base``. All figures are
made up.

Written with :func:`bot.sheets.bonus.write_bonus`, so the example always matches what the reader
accepts. Run from the project root: ``python examples/make_bonus.py``; import it with
``kaohe bonus import examples/bonus.xlsx --year 2026``.
"""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from a checkout, without installing
    sys.path.insert(0, str(ROOT))

from bot.rules.bonus import BonusRow  # noqa: E402
from bot.sheets.bonus import write_bonus  # noqa: E402

HEAD, STAFF = Decimal("12000.00"), Decimal("10000.00")

#: name, department, base
BASES: tuple[tuple[str, str, Decimal], ...] = (
    ("李明", "党政办公室", HEAD),
    ("周晓燕", "党政办公室", STAFF),
    ("吴磊", "党政办公室", STAFF),
    ("郑海涛", "经济发展办公室", HEAD),
    ("王芳", "经济发展办公室", STAFF),
    ("冯超", "经济发展办公室", STAFF),
    ("陈静", "社会事务办公室", HEAD),
    ("褚文斌", "社会事务办公室", STAFF),
    ("卫红梅", "社会事务办公室", STAFF),
    ("蒋伟", "综合治理办公室", HEAD),
    ("沈刚", "综合治理办公室", STAFF),
    ("韩雪", "综合治理办公室", STAFF),
)


def rows() -> list[BonusRow]:
    """The example bases, numbered as they stand in the sheet (row 1 is the header)."""
    return [
        BonusRow(row=index, name=name, department=department, base=base)
        for index, (name, department, base) in enumerate(BASES, start=2)
    ]


def main() -> None:
    path = Path(__file__).resolve().parent / "bonus.xlsx"
    write_bonus(path, rows())
    print(path)


if __name__ == "__main__":
    main()
