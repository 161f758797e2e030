"""The chart sent with a summary: a phone-sized PNG in either language, for 12 and 60 cadres,
drawn with the CJK font of ``mplfonts`` and no system font, failing on a missing glyph (warnings
are errors in this suite), leaving matplotlib's settings as they were and no figure behind."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import matplotlib
import pytest
from matplotlib.figure import Figure

from bot.core.texts import Texts
from bot.reports.chart import FONT_FAMILY, HEIGHT, WIDTH, font_path, period_chart
from bot.reports.model import PeriodReport
from tests.reports.factory import large_quarter, seed_quarter, seed_year

ROOT = Path(__file__).resolve().parents[2]
TEXTS = Texts()
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """The width and height of a PNG, from its IHDR chunk (the first, right after the
    signature)."""
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def render(report: PeriodReport, lang: str) -> bytes:
    data = period_chart(report, TEXTS, lang)
    assert data is not None, "matplotlib and mplfonts are in the dev extra"
    return data


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize(
    "report", [seed_quarter(), large_quarter(60, 8)], ids=["12 cadres", "60 cadres"]
)
def test_a_phone_sized_png(report: PeriodReport, lang: str) -> None:
    data = render(report, lang)
    assert png_size(data) == (WIDTH, HEIGHT) == (1080, 1350)
    assert data.endswith(b"IEND\xaeB`\x82")  # the whole image, not a truncated one


def test_the_languages_draw_different_words() -> None:
    report = seed_quarter()
    assert render(report, "zh") != render(report, "en")


def test_a_year_and_a_unit_with_many_departments() -> None:
    assert png_size(render(seed_year(), "zh")) == (1080, 1350)
    # Thirty departments are too many rows for a phone: the scores go in one histogram.
    assert png_size(render(large_quarter(600, 30), "en")) == (1080, 1350)


def test_a_missing_glyph_fails_the_test() -> None:
    """Warnings are errors here (pyproject's filterwarnings), so a character the font lacks
    (drawn as an empty box on the phone) raises instead of passing unseen."""
    report = seed_quarter(unit="青山镇\N{GRINNING FACE}")
    with pytest.raises(UserWarning, match="missing from font"):
        period_chart(report, TEXTS, "zh")


def test_matplotlib_settings_are_left_as_they_were_and_no_figure_stays() -> None:
    before = dict(matplotlib.rcParams)
    for _ in range(3):
        render(seed_quarter(), "zh")
    assert dict(matplotlib.rcParams) == before
    assert FONT_FAMILY not in matplotlib.rcParams["font.family"]
    gc.collect()
    assert not [obj for obj in gc.get_objects() if isinstance(obj, Figure)]


def test_no_chart_without_matplotlib_or_the_font(monkeypatch: pytest.MonkeyPatch) -> None:
    """The extra is optional: without it the caller gets None (and sends no chart)."""
    with monkeypatch.context() as patch:
        patch.setitem(sys.modules, "matplotlib", None)  # as if it were not installed
        assert period_chart(seed_quarter(), TEXTS, "zh") is None
    with monkeypatch.context() as patch:
        patch.setitem(sys.modules, "mplfonts", None)
        assert font_path() is None
        assert period_chart(seed_quarter(), TEXTS, "zh") is None
    assert period_chart(seed_quarter(), TEXTS, "zh") is not None


def test_the_font_is_mplfonts_noto_sans_cjk_not_simhei() -> None:
    path = font_path()
    assert path is not None
    assert path.name == "NotoSansCJKsc-Regular.otf"
    assert path.parent.name == "fonts" and path.parent.parent.name == "mplfonts"


def test_chinese_renders_with_no_system_font() -> None:
    """In a fresh interpreter that knows only matplotlib's own fonts (as on a server with no
    fonts installed), the chart finds Noto Sans CJK SC in mplfonts by its family name and draws
    every character of the Chinese chart (a missing glyph would be an error: -W error)."""
    script = textwrap.dedent(
        """
        import matplotlib
        from matplotlib import font_manager
        from matplotlib.font_manager import FontProperties, findfont

        own = matplotlib.get_data_path()
        font_manager.fontManager.ttflist = [
            f for f in font_manager.fontManager.ttflist if f.fname.startswith(own)
        ]
        from bot.core.texts import Texts
        from bot.reports.chart import FONT_FAMILY, font_path, period_chart
        from tests.reports.factory import large_quarter

        png = period_chart(large_quarter(60, 8), Texts(), "zh")
        used = findfont(FontProperties(family=FONT_FAMILY), fallback_to_default=False)
        assert used == str(font_path()), used
        print(len(png))
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "error"}
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 10_000


def test_a_report_without_lines_still_renders() -> None:
    """A period with no stored results yet (the report has no lines) draws empty panels."""
    empty = replace(seed_quarter(), lines=())
    assert png_size(render(empty, "zh")) == (1080, 1350)
