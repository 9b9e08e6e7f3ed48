"""Chart specs (report/sections.py) drawn as inline SVG with matplotlib's Agg backend.

The SVG is made self-contained for an offline HTML page: glyphs are paths (no fonts),
and the XML prolog, DOCTYPE, metadata and namespace URLs are stripped (inline SVG in
HTML5 needs none of them), so the page holds no http(s) reference at all.
"""

from __future__ import annotations

import io
import math
import re
from typing import Any

import matplotlib

matplotlib.use("Agg")  # before pyplot: never a GUI backend, even with DISPLAY set

import matplotlib.pyplot as plt
from matplotlib.ticker import (
    FixedLocator,
    FuncFormatter,
    LogLocator,
    NullFormatter,
    NullLocator,
)

from interchange.report.sections import (
    BarChart,
    Chart,
    PanelChart,
    PercentileChart,
    TimeChart,
    Tone,
)

# Colour-blind-safe palette (Okabe-Ito), in a fixed order so tiers keep their colour.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000")
_RC: Any = {  # Any: matplotlib types rcParams keys as a Literal union
    "svg.fonttype": "path",
    "svg.hashsalt": "interchange",  # deterministic element ids
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#e3e3e3",
    "grid.linewidth": 0.6,
    "axes.edgecolor": "#888",
    "axes.titleweight": "bold",
    "axes.titlesize": 10,
}
_TONE_COLOUR = {
    Tone.PLAIN: PALETTE[0],
    Tone.PASS: "#009E73",
    Tone.FAIL: "#D55E00",
    Tone.WARN: "#E69F00",
    Tone.MUTED: "#98A2B3",
}
_PCT_TICKS = (50.0, 90.0, 99.0, 99.9, 99.99, 99.999)


def render_svg(chart: Chart) -> str:
    """The chart as an inline `<svg>` element (a string)."""
    with plt.rc_context(_RC):
        if isinstance(chart, PercentileChart):
            fig = _percentile(chart)
        elif isinstance(chart, TimeChart):
            fig = _over_time(chart)
        elif isinstance(chart, PanelChart):
            fig = _panels(chart)
        else:
            fig = _bars(chart)
        buf = io.StringIO()
        try:
            fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
        finally:
            plt.close(fig)
    return _inline(buf.getvalue())


def _inline(svg: str) -> str:
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.DOTALL)
    svg = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg)
    # Natural size (pt), shrunk by CSS on narrow screens; the viewBox keeps the aspect ratio.
    return svg.replace("<svg ", '<svg class="chart" ', 1).strip()


def _x_of(percentile: float) -> float:
    """HDR plots put 1/(1-p) on a log axis so the tail gets the room."""
    return 1.0 / max(1.0 - percentile / 100.0, 1e-6)


def _percentile(chart: PercentileChart) -> Any:
    fig, ax = plt.subplots(figsize=(9.0, 3.8))
    drawn = 0
    for i, series in enumerate(chart.series):
        pts = [(p, v) for p, v in series.points if p < 100.0]
        if not pts:
            continue
        ax.plot(
            [_x_of(p) for p, _ in pts],
            [max(v, 1e-3) for _, v in pts],
            marker="o",
            markersize=3,
            linewidth=1.6,
            color=PALETTE[i % len(PALETTE)],
            label=series.name,
        )
        drawn += 1
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(FixedLocator([_x_of(p) for p in _PCT_TICKS]))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(_pct_label))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    ax.set_xlim(1.0, _x_of(99.999) * 1.5)
    ax.set_xlabel("percentile")
    _label(ax, chart.title, chart.value_label, drawn, "upper left")
    return fig


def _over_time(chart: TimeChart) -> Any:
    fig, ax = plt.subplots(figsize=(9.0, 3.2))
    drawn = 0
    for i, series in enumerate(chart.series):
        if not series.points:
            continue
        ax.plot(
            [t for t, _ in series.points],
            [v for _, v in series.points],
            linewidth=1.6,
            color=PALETTE[i % len(PALETTE)],
            label=series.name,
        )
        drawn += 1
    ax.set_ylim(bottom=0)
    ax.set_xlabel("seconds into the measured window")
    _label(ax, chart.title, chart.value_label, drawn, "lower right")
    return fig


def _panels(chart: PanelChart) -> Any:
    n = max(len(chart.panels), 1)
    fig, axes = plt.subplots(n, 1, sharex=True, figsize=(9.0, 1.9 * n + 0.7), squeeze=False)
    colour = 0  # one colour per line across panels, so a legend entry is never ambiguous
    for ax, panel in zip(axes[:, 0], chart.panels, strict=False):
        drawn = 0
        for series in panel.series:
            if series.points:
                ax.plot(
                    [t for t, _ in series.points],
                    [v for _, v in series.points],
                    linewidth=1.4,
                    color=PALETTE[colour % len(PALETTE)],
                    label=series.name,
                )
                drawn += 1
            colour += 1
        if panel.log:
            ax.set_yscale("log")
            ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            ax.yaxis.set_major_formatter(FuncFormatter(_plain))  # 20, 50, 100, 200 ...
            ax.yaxis.set_minor_formatter(NullFormatter())
        else:
            ax.set_ylim(bottom=0)
        for at, _text in chart.markers:
            ax.axvline(at, color="#777", linewidth=0.9, linestyle="--")
        ax.set_ylabel(panel.value_label)
        if drawn:
            ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        else:
            _empty(ax)
    top = axes[0, 0]
    top.set_title(chart.title, loc="left")
    for at, text in chart.markers:
        top.annotate(
            text, (at, 1.0), xycoords=("data", "axes fraction"), xytext=(3, -10),
            textcoords="offset points", fontsize=7, color="#555",
        )  # fmt: skip
    axes[-1, 0].set_xlabel(chart.x_label)
    return fig


def _plain(v: float, _pos: int) -> str:
    return f"{v:g}"


def _label(ax: Any, title: str, value_label: str, drawn: int, legend_at: str) -> None:
    """Title, y label, and the legend of the lines drawn (or the empty-chart note)."""
    ax.set_ylabel(value_label)
    ax.set_title(title, loc="left")
    if drawn:
        ax.legend(frameon=False, fontsize=8, loc=legend_at)
    else:
        _empty(ax)


def _pct_label(x: float, _pos: int) -> str:
    p = 100.0 * (1.0 - 1.0 / x)
    return f"{p:.3f}".rstrip("0").rstrip(".") + "%"


def _bars(chart: BarChart) -> Any:
    n_cat, n_ser = len(chart.categories), max(len(chart.series), 1)
    long = max(n_cat * n_ser, 1)
    size = (9.0, max(1.6, 0.3 * long + 0.9)) if chart.horizontal else (9.0, 3.4)
    fig, ax = plt.subplots(figsize=size)
    width = 0.8 / n_ser
    scale = 100.0 if chart.percent else 1.0
    bar = ax.barh if chart.horizontal else ax.bar
    for i, series in enumerate(chart.series):
        pos = [c - 0.4 + width * (i + 0.5) for c in range(n_cat)]
        vals = [(v or 0.0) * scale for v in series.values]
        colour: Any = PALETTE[i % len(PALETTE)]
        if chart.tones:
            colour = [_TONE_COLOUR[t] for t in chart.tones]
        bars = bar(pos, vals, width * 0.92, color=colour, label=series.name)
        labels = ["" if v is None else _bar_label(v, chart.percent) for v in series.values]
        ax.bar_label(bars, labels=labels, padding=2, fontsize=7, color="#333")
    cats = range(n_cat)
    if chart.horizontal:
        ax.set_yticks(list(cats), chart.categories)
        ax.invert_yaxis()
        ax.grid(axis="y", visible=False)
        ax.set_xlabel(chart.value_label)
        ax.margins(x=0.12)
    else:
        ax.set_xticks(list(cats), chart.categories)
        ax.grid(axis="x", visible=False)
        ax.set_ylabel(chart.value_label)
    if chart.percent:
        ax.set_ylim(0, 109) if not chart.horizontal else ax.set_xlim(0, 109)
    marked = False
    for c, target in enumerate(chart.targets):
        if target is None or chart.horizontal:
            continue
        ax.hlines(
            target * scale,
            c - 0.45,
            c + 0.45,
            colors="#111",
            linewidth=2.4,
            zorder=5,
            label="_nolegend_" if marked else "target",
        )
        marked = True
    ax.set_title(chart.title, loc="left")
    if len(chart.series) > 1 or marked:
        ax.legend(
            frameon=False,
            fontsize=8,
            ncols=len(chart.series) + 1,
            loc="lower right",
            bbox_to_anchor=(1.0, 1.0),
        )
    if not n_cat:
        _empty(ax)
    return fig


def _bar_label(v: float, percent: bool) -> str:
    if percent:
        return f"{v * 100:.1f}%"
    return f"{v:,.0f}" if math.isclose(v, round(v)) else f"{v:,.2f}"


def _empty(ax: Any) -> None:
    ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center", color="#999")
