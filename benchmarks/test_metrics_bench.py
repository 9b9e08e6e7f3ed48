"""The metrics hot path: a recipient records one delivery per document (~6,000/s).

Run with `python -m pytest benchmarks/test_metrics_bench.py --benchmark-enable`.
"""

from __future__ import annotations

import itertools
import json

from pytest_benchmark.fixture import BenchmarkFixture

from interchange.metrics.coverage import compute_coverage
from interchange.metrics.run import RunMetrics
from interchange.wire.model import Priority, Tier


def _loaded() -> RunMetrics:
    m = RunMetrics()
    for i, (s, r, p) in enumerate(itertools.product(Tier, Tier, Priority)):
        m.record_addressed(s, r, p, 100)
        for j in range(100):
            m.record_delivery(s, r, p, 1_000 + i * 997 + j * 13_001, before_router_us=500)
    return m


def test_record_delivery(benchmark: BenchmarkFixture) -> None:
    m = RunMetrics()
    latencies = itertools.cycle(range(1_000, 5_000_000, 7_919))

    def one() -> None:
        m.record_delivery(
            Tier.PROVINCE,
            Tier.COMMUNE,
            Priority.NORMAL,
            next(latencies),
            before_router_us=800,
            after_router_us=1_200,
        )

    benchmark(one)
    assert m.cells[(Tier.PROVINCE, Tier.COMMUNE, Priority.NORMAL)].delivered > 0


def test_record_delivery_minimal(benchmark: BenchmarkFixture) -> None:
    m = RunMetrics()
    benchmark(m.record_delivery, Tier.DISTRICT, Tier.COMMUNE, Priority.URGENT, 12_345)


def test_stats_snapshot(benchmark: BenchmarkFixture) -> None:
    """What a process pays every second to write its stats file (all 80 flows populated)."""
    m = _loaded()
    benchmark(lambda: json.dumps(m.to_dict()))


def test_compute_coverage(benchmark: BenchmarkFixture) -> None:
    m = _loaded()
    report = benchmark(compute_coverage, m)
    assert report.total.delivered == 8_000
