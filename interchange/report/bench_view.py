"""The load-test report: sections for the terminal and HTML renderers, and its JSON document."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from interchange.bench.calc import LatencyFigures, ratio
from interchange.bench.result import BROKER_ROLE, BenchResult, Step, step_ratios
from interchange.report.bundle import ReportPaths
from interchange.report.html import render_html, write_html
from interchange.report.json_report import build_report, write_json
from interchange.report.sections import (
    LineSeries,
    PercentileChart,
    Section,
    Styled,
    Table,
    TimeChart,
    Tone,
    fmt_count,
    fmt_share,
    fmt_us,
    verdict,
)
from interchange.report.timeline_view import TEXT as TIMELINE_TEXT
from interchange.report.timeline_view import peaks_row, peaks_table, timeline_chart

KIND = "loadtest"
TITLE = "Interchange load test"
_LAT_COLUMNS = ("p50", "p90", "p99", "p99.9", "p99.99", "max")


def bench_json(result: BenchResult, meta: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return build_report(KIND, result.to_payload(), meta)


def bench_sections(result: BenchResult) -> list[Section]:
    return [
        _summary(result),
        _per_second(result),
        _latency(result),
        _ceilings(result),
        _cpu(result),
        _memory(result),
    ]


def write_bench_files(
    result: BenchResult, out_dir: Path, *, meta: Mapping[str, Any] | None = None
) -> ReportPaths:
    """`<out_dir>/bench.json` and `bench.html`, written atomically."""
    meta = dict(meta or {})
    json_path = write_json(Path(out_dir) / "bench.json", bench_json(result, meta))
    html = render_html(
        TITLE,
        bench_sections(result),
        subtitle="Open-loop load through producers, routers and recipients on Kafka",
        meta=meta,
    )
    return ReportPaths(json_path, write_html(Path(out_dir) / "bench.html", html))


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}/s"


def _lat(f: LatencyFigures | None) -> tuple[str, ...]:
    if f is None or f.count == 0:
        return ("—",) * len(_LAT_COLUMNS)
    return tuple(fmt_us(v) for v in f.values)


def _summary(result: BenchResult) -> Section:
    rows = []
    for s in result.steps:
        limits = ", ".join(limit.value for limit in s.verdict.limits) or "—"
        rows.append(
            (
                _rate(s.target_rate),
                _rate(s.achieved_rate),
                fmt_us(s.latency_intended.p99_us),
                fmt_us(s.latency_actual.p99_us) if s.latency_actual else "—",
                f"{s.backlog_slope:+,.1f}/s",
                fmt_count(s.router_lag_max),
                fmt_count(s.lost),
                verdict(s.verdict.sustainable),
                limits,
            )
        )
    best = result.max_sustainable_rate
    text = (
        f"Sustainable: nothing lost, p99 (from the intended send time) <= "
        f"{fmt_us(result.criteria.p99_bound_us)}, backlog growing by at most "
        f"{fmt_share(result.criteria.backlog_growth_share)} of the rate per second, and at "
        f"least {fmt_share(result.criteria.min_achieved_share)} of the offered rate delivered."
    )
    status = None
    if result.mode == "search":
        status = Styled(
            f"max sustainable {_rate(best)}" if best else "no sustainable rate",
            Tone.PASS if best else Tone.FAIL,
        )
    table = Table(
        "Steps (measured window, warm-up excluded)",
        (
            "offered",
            "achieved",
            "p99 intended",
            "p99 actual",
            "backlog",
            "router lag max",
            "lost",
            "sustainable",
            "limits",
        ),
        tuple(rows),
        note="backlog: least-squares growth of undelivered documents over the window",
    )
    return Section("Throughput", text, tables=(table,), status=status)


def _per_second(result: BenchResult) -> Section:
    """Each step second by second, warm-up and drain included (metrics/timeseries)."""
    charts = tuple(
        timeline_chart(
            s.timeline,
            f"{_rate(s.target_rate)} offered: rate, latency and backlog per second",
            ((s.warmup_s, "warm-up ends"), (s.duration_s, "last send due")),
        )
        for s in result.steps
    )
    rows = [peaks_row(f"{_rate(s.target_rate)} offered", s.timeline) for s in result.steps]
    return Section(
        "Second by second",
        f"{TIMELINE_TEXT} The whole step is shown, warm-up and drain included.",
        charts=charts,
        tables=(peaks_table(rows),),
    )


def _latency(result: BenchResult) -> Section:
    rows = []
    series = []
    for s in result.steps:
        name = _rate(s.target_rate)
        rows.append((f"{name} from intended send", *_lat(s.latency_intended)))
        rows.append((f"{name} from actual send", *_lat(s.latency_actual)))
        rows.append((f"{name} schedule lag", *_lat(s.schedule_lag)))
        if s.curve_intended:
            series.append(LineSeries(f"{name} intended", _ms(s.curve_intended)))
        if s.curve_actual:
            series.append(LineSeries(f"{name} actual", _ms(s.curve_actual)))
    charts = (PercentileChart("End-to-end latency", tuple(series)),) if series else ()
    return Section(
        "End-to-end latency",
        "From the intended send time (open loop: includes any producer delay, so it is "
        "honest under overload) and from the actual send time (the producer hop, trace[0]); "
        "schedule lag is the difference at the producer.",
        charts=charts,
        tables=(Table("Percentiles", ("step", *_LAT_COLUMNS), tuple(rows)),),
    )


def _ms(curve: tuple[tuple[float, int], ...]) -> tuple[tuple[float, float], ...]:
    return tuple((p, v / 1000) for p, v in curve)


def _ceilings(result: BenchResult) -> Section:
    c = result.ceilings
    rows: list[tuple[str, ...]] = [
        (
            f"CPU: {cost.stage} pure work",
            f"{cost.us_per_doc:,.1f} µs/doc",
            _rate(cost.docs_per_core_s) + " per core",
        )
        for cost in c.costs
    ]
    rows.append(("CPU ceiling, whole pipeline", f"{c.cores} cores", _rate(c.cpu_docs_s)))
    rows.append(("raw Kafka pass-through", "3 hops, no codec/crypto", _rate(c.passthrough_docs_s)))
    rows.append(
        (
            "naive pipeline",
            "sign, verify, forward, sink; no txn/status"
            + ("" if c.naive is None else f"; p99 {c.naive['p99_us'] / 1000:,.0f} ms"),
            _rate(c.naive_docs_s),
        )
    )
    ratio_rows = []
    for s in result.steps:
        r = step_ratios(s, c)
        ratio_rows.append(
            (
                _rate(s.target_rate),
                _rate(s.achieved_rate),
                fmt_share(r["vs_passthrough"]),
                fmt_share(r["vs_naive"]),
                _times(r["p99_vs_naive"]),
                fmt_share(r["vs_cpu_ceiling"]),
                fmt_share(r["router_vs_own_cpu_ceiling"]),
            )
        )
    return Section(
        "Ceilings",
        "What the machine allows without the pipeline's own overheads, measured in the same run.",
        tables=(
            Table("Ceilings", ("ceiling", "basis", "documents/s"), tuple(rows)),
            Table(
                "Throughput as a share of each ceiling",
                (
                    "offered",
                    "achieved",
                    "of pass-through",
                    "of naive",
                    "p99 vs naive",
                    "of CPU ceiling",
                    "router of own CPU ceiling",
                ),
                tuple(ratio_rows),
                note="router of own CPU ceiling = pure decision CPU ÷ CPU the router "
                "process spent per document; p99 vs naive = the step's p99 from the actual "
                "send ÷ the naive pipeline's p99 at its own saturation",
            ),
        ),
    )


def _times(value: float | None) -> str:
    return "—" if value is None else f"{value:,.2f}x"


def _cpu(result: BenchResult) -> Section:
    rows = []
    for s in result.steps:
        roles = ["producer", "router", "recipient"]
        if any(p.role == BROKER_ROLE for p in s.processes):
            roles.append(BROKER_ROLE)
        for role in roles:
            measured = s.cpu_us_per_doc(role)
            naive = result.ceilings.naive_cpu_us_per_doc(role)
            cost = result.ceilings.cost(role)
            rows.append(
                (
                    _rate(s.target_rate),
                    role,
                    str(sum(1 for p in s.processes if p.role == role)),
                    _us(measured),
                    _us(naive),
                    _times(ratio(measured, naive)),
                    _us(None if cost is None else cost.us_per_doc),
                )
            )
    return Section(
        "CPU time per document",
        "CPU seconds (user + system) of each stage's processes in the measured window, "
        "divided by the documents that stage handled; the broker's (the embedded one "
        "only: a cluster given by address is not sampled) over the documents delivered.",
        tables=(
            Table(
                "Per stage",
                ("offered", "stage", "processes", "measured", "naive", "vs naive", "pure work"),
                tuple(rows),
                note="naive = the same role in the naive reference pipeline at its own "
                "saturation (its sink for the recipients); pure work = the stage's work "
                "in process, without Kafka",
            ),
        ),
    )


def _us(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f} µs"


def _memory(result: BenchResult) -> Section:
    rows = []
    for s in result.steps:
        for p in s.processes:
            m = p.memory
            # the embedded broker keeps every record in memory: it grows by design
            flat = None if p.role == BROKER_ROLE else m.flat()
            rows.append(
                (
                    f"{_rate(s.target_rate)} {p.role} {p.pid}",
                    _mb(m.start),
                    _mb(m.peak),
                    _mb(m.end),
                    fmt_share(m.growth),
                    verdict(flat),
                )
            )
    curves = tuple(
        LineSeries(
            f"{_rate(s.target_rate)} {p.role} {p.pid}",
            tuple((t, v / 2**20) for t, v in p.memory.series),
        )
        for s in result.steps
        for p in s.processes
        if len(p.memory.series) >= 2
    )
    charts = (TimeChart("RSS over the measured window", curves, "MiB"),) if curves else ()
    return Section(
        "Process memory",
        "RSS sampled over the measured window; flat when the peak stays within 10% of the "
        "first sample. The curve shows whether a growth levels off (bounded windows filling) "
        "or keeps climbing. The embedded broker keeps its whole log in memory, so its RSS "
        "grows with the data by design and is not judged.",
        charts=charts,
        tables=(Table("RSS", ("process", "start", "peak", "end", "growth", "flat"), tuple(rows)),),
    )


def _mb(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB"


def step_line(s: Step) -> str:
    """One line per finished step, for the progress display."""
    return (
        f"{s.target_rate:,.0f}/s: achieved {s.achieved_rate:,.0f}/s, p99 "
        f"{fmt_us(s.latency_intended.p99_us)} (actual send "
        f"{fmt_us(s.latency_actual.p99_us) if s.latency_actual else '—'}), backlog "
        f"{s.backlog_slope:+,.1f}/s, lost {s.lost:,} -> "
        + ("sustainable" if s.verdict.sustainable else "NOT sustainable")
    )
