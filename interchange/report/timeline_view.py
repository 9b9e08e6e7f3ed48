"""A run second by second (metrics/timeseries.Series) as report parts: one chart with the
offered and achieved rate, p50/p99 latency and the backlog stacked over one time axis,
and a table of the peaks for the terminal."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from interchange.metrics.timeseries import Point, Series
from interchange.report.sections import (
    LineSeries,
    Panel,
    PanelChart,
    Section,
    Table,
    fmt_count,
    fmt_us,
)

TEXT = (
    "Each point is one sample of the stages' stats files (about once a second): offered = "
    "documents the producers sent per second, achieved = first deliveries per second, both "
    "from each process's latest interval between two writes of its stats file; p50 and p99 "
    "from the intended send time, over the deliveries of that interval; backlog = "
    "(document, recipient) pairs addressed so far minus those with an outcome so far."
)
PEAK_COLUMNS = (
    "run",
    "points",
    "peak offered",
    "peak achieved",
    "worst p50",
    "worst p99",
    "peak backlog",
    "at",
)


def timeline_chart(
    series: Series, title: str, markers: tuple[tuple[float, str], ...] = ()
) -> PanelChart:
    pts = series.points
    rates = [
        LineSeries("offered (documents sent/s)", _line(pts, lambda p: p.offered)),
        LineSeries("achieved (deliveries/s)", _line(pts, lambda p: p.achieved)),
    ]
    if any(not math.isclose(p.addressed, p.offered) for p in pts):  # documents to several
        rates.insert(1, LineSeries("addressed (pairs/s)", _line(pts, lambda p: p.addressed)))
    latency = (
        LineSeries("p50", _line(pts, lambda p: _ms(p.p50_us))),
        LineSeries("p99", _line(pts, lambda p: _ms(p.p99_us))),
    )
    backlog = (LineSeries("backlog", _line(pts, lambda p: float(p.backlog))),)
    return PanelChart(
        title,
        (
            Panel(tuple(rates), "per second"),
            Panel(latency, "latency (ms)", log=True),
            Panel(backlog, "pairs in flight"),
        ),
        markers=markers,
    )


def peaks_row(label: str, series: Series) -> tuple[str, ...]:
    """One table row: the highest rates, the worst one-second percentiles, the peak backlog."""
    pts = series.points
    if not pts:
        return (label, "0", *("—",) * (len(PEAK_COLUMNS) - 2))
    top = max(pts, key=lambda p: p.backlog)
    return (
        label,
        fmt_count(len(pts)),
        f"{max(p.offered for p in pts):,.0f}/s",
        f"{max(p.achieved for p in pts):,.0f}/s",
        fmt_us(max((p.p50_us for p in pts if p.p50_us is not None), default=None)),
        fmt_us(max((p.p99_us for p in pts if p.p99_us is not None), default=None)),
        fmt_count(top.backlog),
        f"{top.t_s:,.0f} s",
    )


def peaks_table(rows: Sequence[tuple[str, ...]]) -> Table:
    return Table(
        "Per second: peaks",
        PEAK_COLUMNS,
        tuple(rows),
        note="worst p50/p99: the highest one-second percentile; at: when the backlog peaked",
    )


def timeline_section(series: Series, title: str = "Second by second") -> Section:
    """The simulate report's section: the chart and its peaks."""
    return Section(
        title,
        TEXT,
        charts=(timeline_chart(series, "Offered and achieved rate, latency, backlog"),),
        tables=(peaks_table([peaks_row("run", series)]),),
    )


def _line(
    points: Sequence[Point], value: Callable[[Point], float]
) -> tuple[tuple[float, float], ...]:
    return tuple((p.t_s, value(p)) for p in points)


def _ms(value_us: int | None) -> float:
    """Milliseconds for a log axis; NaN (a gap in the line) without deliveries."""
    return math.nan if value_us is None else max(value_us, 1) / 1_000
