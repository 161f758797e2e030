"""The chart sent with a summary: the grade distribution and the scores by department (PNG).

One image sized for a phone held upright (1080 × 1350 px): on top, a bar per grade with how many
hold it; below, every cadre as a dot on their department's row, coloured by grade, with the
department's mean marked and written at the right. A unit with more departments than rows fit
gets a histogram of the scores instead, stacked by grade.

Chinese is drawn with Noto Sans CJK SC from the ``mplfonts`` package (its
``fonts/NotoSansCJKsc-Regular.otf``, SIL Open Font License; never its SimHei.ttf), registered
with matplotlib's font manager and asked for by family name, so no system font is needed.
matplotlib and that font are optional (``kaohe[charts]``): without them :func:`period_chart`
returns None and the caller sends no chart and says so. The style lives in an ``rc_context``
and the figure is never registered with pyplot, so nothing leaks between calls.

Like the sheet, the chart is a pure rendering of the report: it shows grades and scores, never
a count of ballots.
"""

from __future__ import annotations

import importlib.util
import io
import math
import textwrap
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from bot.core.texts import Texts
from bot.reports.model import PeriodReport, ReportLine
from bot.reports.workbook import display_width, grade_name, notice_text, period_name
from bot.rules.scoring import GRADE_ORDER, mean_score

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["FONT_FAMILY", "FONT_FILE", "HEIGHT", "WIDTH", "font_path", "period_chart"]

FONT_FAMILY = "Noto Sans CJK SC"
FONT_FILE = "NotoSansCJKsc-Regular.otf"

WIDTH, HEIGHT, DPI = 1080, 1350, 150
#: Beyond this many departments their rows would be too thin to read: a histogram instead.
MAX_ROWS = 16

GRADE_COLOURS = {
    "excellent": "#2e7d32",
    "good": "#1565c0",
    "pass": "#ef8f00",
    "fail": "#c62828",
    "none": "#9e9e9e",
}
_MEAN_COLOUR = "#212121"


def font_path() -> Path | None:
    """The Noto Sans CJK SC file shipped by ``mplfonts``, found without running the package's
    code; None when the package (or the file) is not installed."""
    try:
        spec = importlib.util.find_spec("mplfonts")
    except (ImportError, ValueError, AttributeError):  # a package present but unimportable
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location) / "fonts" / FONT_FILE
        if path.is_file():
            return path
    return None


def period_chart(report: PeriodReport, texts: Texts, lang: str) -> bytes | None:
    """The PNG of ``report`` (grades, scores by department), or None without matplotlib or
    the CJK font."""
    try:
        import matplotlib
        from matplotlib import font_manager
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return None
    path = font_path()
    if path is None:
        return None
    if not any(entry.fname == str(path) for entry in font_manager.fontManager.ttflist):
        font_manager.fontManager.addfont(str(path))

    lang = texts.lang(lang)
    buffer = io.BytesIO()
    # The style holds for this figure only: matplotlib's settings are restored on the way out.
    with matplotlib.rc_context(
        {
            # One font for everything (it has Latin letters, digits, the minus sign): a glyph
            # it lacks is drawn as a box, with matplotlib's warning "Glyph ... missing from font".
            "font.family": [FONT_FAMILY],
            "font.size": 14,
            "axes.titlesize": 16,
            "axes.titlepad": 12,
            "axes.labelsize": 14,
            "xtick.labelsize": 13,
            "ytick.labelsize": 13,
            "legend.fontsize": 13,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.edgecolor": "#616161",
            "figure.facecolor": "white",
            "axes.facecolor": "white",
        }
    ):
        figure = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI, layout="constrained")
        FigureCanvasAgg(figure)
        _draw(figure, report, texts, lang)
        figure.savefig(buffer, format="png", dpi=DPI)
        figure.clear()
    return buffer.getvalue()


def _draw(figure: Figure, report: PeriodReport, texts: Texts, lang: str) -> None:
    title = texts.label(
        lang, "report.chart.title", unit=report.unit, period=period_name(report, texts, lang)
    )
    notice = notice_text(report, texts, lang)
    figure.suptitle(title if notice is None else f"{title}\n{notice}", fontsize=18)
    top, bottom = figure.subplots(2, 1, height_ratios=[1, 2.4])
    _distribution(top, report, texts, lang)
    departments = report.by_department()
    strips = len(departments) <= MAX_ROWS
    if strips:
        _strips(bottom, departments, report, texts, lang)
    else:
        _histogram(bottom, departments, report, texts, lang)
    _legend(figure, texts, lang, strips=strips)


def _legend(figure: Figure, texts: Texts, lang: str, *, strips: bool) -> None:
    """The grades' colours (dots, or the histogram's blocks) and the department mean's mark,
    in one row under the chart."""
    from matplotlib.lines import Line2D

    marker = "o" if strips else "s"
    handles = [
        Line2D([], [], linestyle="", marker=marker, markersize=9, color=GRADE_COLOURS[g.value])
        for g in GRADE_ORDER
    ]
    labels = [grade_name(g.value, texts, lang) for g in GRADE_ORDER]
    if strips:
        handles.append(Line2D([], [], linestyle="", marker="|", markersize=14, mew=3, color="k"))
        labels.append(texts.label(lang, "report.chart.mean"))
    figure.legend(
        handles,
        labels,
        loc="outside lower center",
        ncol=len(handles),
        frameon=False,
        handletextpad=0.3,
        columnspacing=1.2,
    )


def _distribution(axes: Axes, report: PeriodReport, texts: Texts, lang: str) -> None:
    counts = report.distribution()
    grades = [g.value for g in GRADE_ORDER] + (["none"] if counts.get("none") else [])
    values = [counts.get(g, 0) for g in grades]
    bars = axes.bar(
        [grade_name(g, texts, lang) for g in grades],
        values,
        color=[GRADE_COLOURS[g] for g in grades],
        width=0.6,
    )
    axes.bar_label(
        bars,
        labels=[texts.label(lang, "report.chart.bar", n=n) for n in values],
        padding=3,
        fontsize=15,
    )
    axes.set_ylim(0, max(1, *values) * 1.3)
    axes.set_yticks([])
    axes.spines["left"].set_visible(False)
    axes.tick_params(axis="x", length=0, labelsize=15)
    axes.set_title(texts.label(lang, "report.chart.distribution", n=len(report.lines)), loc="left")


def _wrap(text: str, width: int = 16) -> str:
    """A department's name on one or two lines (a Chinese character counts two)."""
    if display_width(text) <= width:
        return text
    if " " in text:
        return "\n".join(textwrap.wrap(text, max(width, 10)))
    half = math.ceil(len(text) / 2)
    return f"{text[:half]}\n{text[half:]}"


def _scored(lines: Sequence[ReportLine]) -> list[tuple[float, str]]:
    return [(float(line.score), line.grade or "none") for line in lines if line.score is not None]


def _x_range(report: PeriodReport) -> tuple[float, float]:
    scores = [float(s) for s in report.scores()]
    if not scores:
        return 0.0, 100.0
    low, high = float(math.floor(min(scores)) - 2), float(math.ceil(max(scores)) + 2)
    if high - low < 12:
        middle = (high + low) / 2
        low, high = middle - 6, middle + 6
    return max(0.0, low), min(102.0, high)


def _titled(report: PeriodReport, text: str, texts: Texts, lang: str) -> str:
    unscored = sum(1 for line in report.lines if line.score is None)
    if not unscored:
        return text
    note = texts.label(lang, "report.chart.no_score", n=unscored)
    return texts.label(lang, "report.chart.with_note", title=text, note=note)


def _strips(
    axes: Axes,
    departments: Sequence[tuple[str, Sequence[ReportLine]]],
    report: PeriodReport,
    texts: Texts,
    lang: str,
) -> None:
    total = sum(len(members) for _, members in departments)
    size = 70 if total <= 80 else 36 if total <= 300 else 10
    step = 0.1 if total <= 300 else 0.04
    capacity = 2 * int(0.38 / step) + 1
    means: list[Decimal | None] = []
    for row, (_, members) in enumerate(departments):
        # Dots of (nearly) the same score are spread up and down the row, not drawn over each
        # other: the n-th in a half-point bin goes 0, +1, -1, +2, ... steps from the middle.
        # A bin holds so many dots before they start again from the middle.
        taken: dict[int, int] = {}
        xs, ys, colours = [], [], []
        for score, grade in _scored(members):
            slot = round(score * 2)
            n = taken.get(slot, 0) % capacity
            taken[slot] = n + 1
            offset = ((n + 1) // 2) * (1 if n % 2 else -1) * step
            xs.append(score)
            ys.append(row + offset)
            colours.append(GRADE_COLOURS[grade])
        axes.scatter(xs, ys, s=size, c=colours, edgecolors="white", linewidths=0.8, zorder=3)
        mean = mean_score(line.score for line in members)
        means.append(mean)
        if mean is not None:
            axes.plot(
                [float(mean)] * 2,
                [row - 0.42, row + 0.42],
                color=_MEAN_COLOUR,
                linewidth=3,
                solid_capstyle="butt",
                zorder=2,  # under the dots, which stay visible
            )
    rows = list(range(len(departments)))
    axes.set_yticks(
        rows,
        [
            texts.label(lang, "report.chart.department", department=_wrap(name), n=len(members))
            for name, members in departments
        ],
    )
    axes.set_ylim(max(1, len(departments)) - 0.5, -0.5)  # the first department on top
    axes.set_xlim(*_x_range(report))
    axes.grid(axis="x", color="#e0e0e0", linestyle="--", linewidth=0.8, zorder=0)
    for row in rows[1::2]:
        axes.axhspan(row - 0.5, row + 0.5, color="#f5f5f5", zorder=0, linewidth=0)
    axes.tick_params(axis="y", length=0)
    axes.set_xlabel(texts.label(lang, "report.chart.score"))
    axes.set_title(
        _titled(report, texts.label(lang, "report.chart.departments"), texts, lang), loc="left"
    )
    # The departments' means, written at the right end of their rows.
    right = axes.twinx()
    right.set_ylim(axes.get_ylim())
    right.set_yticks(rows, ["" if m is None else f"{m:.1f}" for m in means])
    right.tick_params(axis="y", length=0, labelsize=13, labelcolor=_MEAN_COLOUR)
    for side in ("top", "right", "left"):
        right.spines[side].set_visible(False)


def _histogram(
    axes: Axes,
    departments: Sequence[tuple[str, Sequence[ReportLine]]],
    report: PeriodReport,
    texts: Texts,
    lang: str,
) -> None:
    low, high = _x_range(report)
    bins = [low + i for i in range(int(high - low) + 1)]
    scored = _scored(report.lines)
    grades = [g.value for g in GRADE_ORDER]
    axes.hist(
        [[score for score, grade in scored if grade == g] for g in grades],
        bins=bins,
        stacked=True,
        color=[GRADE_COLOURS[g] for g in grades],
    )
    axes.set_xlim(low, high)
    axes.set_xlabel(texts.label(lang, "report.chart.score"))
    axes.set_ylabel(texts.label(lang, "report.chart.count"))
    axes.set_title(
        _titled(
            report,
            texts.label(lang, "report.chart.scores", n=len(departments)),
            texts,
            lang,
        ),
        loc="left",
    )
