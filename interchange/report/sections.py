"""The generic report model every renderer takes: sections of tables and chart specs.

Reports (coverage, audit, load test) build `Section`s from their own data; the terminal,
HTML and JSON renderers know nothing about coverage. Charts are specs, not pictures, so
the terminal renderer pays nothing for them and only the HTML renderer draws them.
Table cells are pre-formatted text; a `Styled` cell carries a tone the renderers colour.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Tone(enum.StrEnum):
    """How a cell should stand out; renderers map tones to colours."""

    PLAIN = "plain"
    PASS = "pass"  # noqa: S105  # a verdict, not a password
    FAIL = "fail"
    WARN = "warn"
    MUTED = "muted"


@dataclass(frozen=True, slots=True)
class Styled:
    text: str
    tone: Tone = Tone.PLAIN

    def __str__(self) -> str:
        return self.text


Cell = str | Styled


@dataclass(frozen=True, slots=True)
class Table:
    """Rows of pre-formatted cells. By default the first column is left-aligned, the rest right."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    note: str = ""  # one line under the table: how to read it
    align: str = ""  # one letter per column, "l" or "r"; "" means "l" then "r" for the rest

    def alignment(self, index: int) -> str:
        """ "left" or "right" for column `index`."""
        if index < len(self.align):
            return "left" if self.align[index] == "l" else "right"
        return "left" if index == 0 else "right"


@dataclass(frozen=True, slots=True)
class BarSeries:
    name: str
    values: tuple[float | None, ...]  # one per category; None draws no bar


@dataclass(frozen=True, slots=True)
class BarChart:
    """Grouped bars per category, with an optional target marker per category."""

    title: str
    categories: tuple[str, ...]
    series: tuple[BarSeries, ...]
    targets: tuple[float | None, ...] = ()  # drawn as a black tick over each category
    percent: bool = False  # values are shares in [0, 1], axis shows 0..100 %
    horizontal: bool = False
    value_label: str = ""
    tones: tuple[Tone, ...] = ()  # one per category: colour bars by meaning (single series)


@dataclass(frozen=True, slots=True)
class LineSeries:
    name: str
    points: tuple[tuple[float, float], ...]  # (percentile 0..100, value), or (s, value)


@dataclass(frozen=True, slots=True)
class PercentileChart:
    """HDR-style percentile distribution: x is 1/(1-p) on a log axis, y is log latency."""

    title: str
    series: tuple[LineSeries, ...]
    value_label: str = "latency (ms)"


@dataclass(frozen=True, slots=True)
class TimeChart:
    """Values over time (x in seconds): e.g. a process's memory over a load test."""

    title: str
    series: tuple[LineSeries, ...]  # points are (seconds, value) here
    value_label: str = ""


@dataclass(frozen=True, slots=True)
class Panel:
    """One plot of a `PanelChart`: its lines share the y axis."""

    series: tuple[LineSeries, ...]  # points are (seconds, value); NaN leaves a gap
    value_label: str = ""
    log: bool = False  # a log y axis (latency: milliseconds and seconds on one plot)


@dataclass(frozen=True, slots=True)
class PanelChart:
    """Plots stacked over one time axis, as load-test dashboards (Gatling, k6, OpenMessaging
    Benchmark) show a run: rates, latency and backlog second by second."""

    title: str
    panels: tuple[Panel, ...]
    x_label: str = "seconds since the run start"
    markers: tuple[tuple[float, str], ...] = ()  # vertical lines (seconds, label)


Chart = BarChart | PercentileChart | TimeChart | PanelChart


@dataclass(frozen=True, slots=True)
class Section:
    """A titled block of a report: a short text, then charts, then tables."""

    title: str
    text: str = ""
    charts: tuple[Chart, ...] = ()
    tables: tuple[Table, ...] = ()
    status: Styled | None = None  # a badge next to the title, e.g. the overall verdict


# -- formatting helpers shared by section builders ------------------------------------


def verdict(passed: bool | None) -> Styled:
    """PASS / FAIL / n/a as a coloured cell."""
    if passed is None:
        return Styled("n/a", Tone.MUTED)
    return Styled("PASS", Tone.PASS) if passed else Styled("FAIL", Tone.FAIL)


def fmt_count(n: int) -> str:
    return f"{n:,}"


def fmt_share(value: float | None) -> str:
    """A share in [0, 1] as a percentage with one decimal; an em dash when undefined."""
    return "—" if value is None else f"{value * 100:.1f}%"


def fmt_us(value_us: int | None) -> str:
    """A latency: µs below 1 ms, ms below 1 s, else seconds."""
    if value_us is None:
        return "—"
    if value_us < 1_000:
        return f"{value_us} µs"
    if value_us < 1_000_000:
        return f"{value_us / 1_000:.1f} ms"
    return f"{value_us / 1_000_000:.2f} s"
