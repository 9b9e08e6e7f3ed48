"""The load-test report built from a constructed result: JSON keys, ratios, sections, HTML."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from interchange.bench.calc import (
    Criteria,
    LatencyFigures,
    MemoryTrack,
    StageCost,
    StepResult,
    judge,
)
from interchange.bench.result import BenchResult, Ceilings, StageProcess, Step, step_ratios
from interchange.metrics.timeseries import Point, Series
from interchange.report.bench_view import bench_json, bench_sections, step_line, write_bench_files

CEILINGS = Ceilings(
    (StageCost("producer", 100.0), StageCost("router", 200.0), StageCost("recipient", 100.0)),
    cores=2,
    passthrough_docs_s=8_000.0,
    naive={"docs_per_s": 4_000.0, "p50_us": 2_000, "p99_us": 10_000},
)
LAT = LatencyFigures(40_000, 5_000, 9_000, 20_000, 30_000, 35_000, 36_000)
TIMELINE = Series(
    (
        Point(1.0, 2_000.0, 2_000.0, 0.0, 0.0, 2_000, 0, None, None),
        Point(2.0, 2_000.0, 2_000.0, 1_900.0, 1_900.0, 2_100, 1_900, 4_000, 25_000),
        Point(3.0, 2_000.0, 2_000.0, 2_050.0, 2_050.0, 2_050, 2_050, 5_000, 19_000),
    ),
    1.0,
)


def _step(rate: float, router_cpu_s: float) -> Step:
    procs = (
        StageProcess("producer", 11, 4.0, 20_000, MemoryTrack.of([100, 104, 102])),
        StageProcess(
            "router", 12, router_cpu_s, 20_000, MemoryTrack.of([200, 250, 240], [0.0, 1.0, 2.0])
        ),
        StageProcess("recipient", 13, 3.0, 20_000, MemoryTrack.of([300, 300, 300])),
    )
    result = StepResult(rate, 2_000.0, LAT.p99_us, 1.0)
    return Step(
        target_rate=rate, duration_s=12.0, warmup_s=2.0, sent=24_000, delivered=24_000,
        expected=24_000, duplicates=0, window_s=10.0, window_delivered=20_000,
        latency_intended=LAT, latency_actual=None, schedule_lag=LAT,
        curve_intended=((50.0, 5_000), (99.0, 20_000)), curve_actual=(),
        backlog=((0.0, 10), (1.0, 11)), backlog_slope=1.0, router_lag_max=40,
        processes=procs, verdict=judge(result, Criteria()), timeline=TIMELINE,
    )  # fmt: skip


RESULT = BenchResult("search", Criteria(), CEILINGS, (_step(2_000.0, 5.0),), 2_000.0)


def test_ratios_against_each_ceiling() -> None:
    ratios = step_ratios(RESULT.steps[0], CEILINGS)
    assert ratios == {
        "vs_passthrough": 0.25,  # 2,000 / 8,000
        "vs_naive": 0.5,  # 2,000 / 4,000
        "p99_vs_naive": 2.0,  # 20 ms / 10 ms (no actual-send figures: the intended ones)
        "vs_cpu_ceiling": 0.4,  # 2,000 / (2 cores x 1e6 / 400 µs)
        "router_vs_own_cpu_ceiling": 0.8,  # 200 µs pure / 250 µs spent
    }


def test_json_payload_has_the_documented_keys() -> None:
    data = bench_json(RESULT, {"command": "interchange bench"})
    assert data["kind"] == "loadtest"
    assert data["max_sustainable_rate"] == 2_000.0
    step = data["steps"][0]
    assert step["achieved_rate"] == 2_000.0
    assert step["lost"] == 0
    assert step["sustainable"] is True
    assert step["cpu_us_per_doc"] == {"producer": 200.0, "recipient": 150.0, "router": 250.0}
    assert step["latency_intended"]["p9999_us"] == 35_000
    assert step["latency_actual"] is None
    assert data["ceilings"]["cpu_docs_s"] == 5_000.0
    assert step["processes"][1]["memory"]["flat_within_10pct"] is False
    timeline = step["timeline"]
    assert timeline["t_s"] == [1.0, 2.0, 3.0]
    assert timeline["offered_rate"] == [2_000.0] * 3
    assert timeline["achieved_rate"] == [0.0, 1_900.0, 2_050.0]
    assert timeline["backlog"] == [2_000, 2_100, 2_050]
    assert timeline["p99_us"] == [None, 25_000, 19_000]
    assert Series.from_dict(timeline) == TIMELINE
    json.dumps(data)  # serialisable as is


def test_sections_cover_every_figure() -> None:
    titles = [s.title for s in bench_sections(RESULT)]
    assert titles == [
        "Throughput",
        "Second by second",
        "End-to-end latency",
        "Ceilings",
        "CPU time per document",
        "Process memory",
    ]


def test_files_are_written(tmp_path: Path) -> None:
    paths = write_bench_files(RESULT, tmp_path, meta={"rate": 2000})
    assert json.loads(paths.json.read_text())["kind"] == "loadtest"
    html = paths.html.read_text()
    assert "<svg" in html
    assert "RSS over the measured window" in html  # the router's memory curve
    assert "max sustainable 2,000/s" in html
    assert "2,000/s offered: rate, latency and backlog per second" in html


def test_peaks_of_the_per_second_series() -> None:
    second = next(s for s in bench_sections(RESULT) if s.title == "Second by second")
    assert second.tables[0].rows == (
        ("2,000/s offered", "3", "2,000/s", "2,050/s", "5.0 ms", "25.0 ms", "2,100", "2 s"),
    )


def test_step_line_says_sustainable() -> None:
    assert step_line(RESULT.steps[0]).endswith("-> sustainable")


def _with_broker_and_naive_cpu() -> BenchResult:
    step = _step(2_000.0, 5.0)
    broker = StageProcess("broker", 14, 2.0, 20_000, MemoryTrack.of([1_000, 3_000, 5_000]))
    naive = {
        "docs_per_s": 4_000.0,
        "p50_us": 2_000,
        "p99_us": 10_000,
        "cpu_us_per_doc": {"producer": 100.0, "router": 125.0, "sink": 30.0, "broker": 50.0},
    }
    ceilings = Ceilings(CEILINGS.costs, 2, 8_000.0, naive=naive)
    step = dataclasses.replace(step, processes=(*step.processes, broker))
    return BenchResult("fixed", Criteria(), ceilings, (step,), None)


def test_cpu_table_sets_each_stage_beside_its_naive_counterpart() -> None:
    result = _with_broker_and_naive_cpu()
    cpu = next(s for s in bench_sections(result) if s.title == "CPU time per document")
    rows = {row[1]: row for row in cpu.tables[0].rows}
    assert set(rows) == {"producer", "router", "recipient", "broker"}
    # measured, naive, vs naive: the recipients are set beside the naive sink
    assert rows["router"][3:6] == ("250.0 µs", "125.0 µs", "2.00x")
    assert rows["recipient"][3:6] == ("150.0 µs", "30.0 µs", "5.00x")
    assert rows["broker"][3:6] == ("100.0 µs", "50.0 µs", "2.00x")
    assert rows["broker"][6] == "—"  # no pure-work figure for the broker
    assert bench_json(result, {})["steps"][0]["cpu_us_per_doc"]["broker"] == 100.0


def test_without_naive_cpu_figures_the_column_says_so() -> None:
    cpu = next(s for s in bench_sections(RESULT) if s.title == "CPU time per document")
    assert all(row[4] == "—" and row[5] == "—" for row in cpu.tables[0].rows)
    assert {row[1] for row in cpu.tables[0].rows} == {"producer", "router", "recipient"}


def test_the_embedded_brokers_memory_is_not_judged() -> None:
    result = _with_broker_and_naive_cpu()
    memory = next(s for s in bench_sections(result) if s.title == "Process memory")
    verdicts = {str(row[0]).split()[1]: str(row[5]) for row in memory.tables[0].rows}
    # 1,000 -> 5,000 bytes would fail any process; the broker's log is in memory by design
    assert verdicts == {"producer": "PASS", "router": "FAIL", "recipient": "PASS", "broker": "n/a"}
