"""Pure calculations of the load test (`interchange bench`): no Kafka, no clock, no processes.

Everything here takes measured values and returns figures, so each rule is unit-tested
with exact numbers (tests/unit/test_benchcalc.py) and documented in docs/BENCHMARKS.md:

* the bench workload (2 KB documents, one recipient each);
* latency figures from HDR histograms, merged across processes, with the warm-up
  removed by subtracting the histograms snapshotted when it ended;
* whether a step was sustainable (backlog bounded, p99 under the bound, nothing lost,
  the offered rate achieved) and the search for the highest such rate;
* CPU time per document per stage, the CPU ceiling and the ratios to the ceilings;
* memory flatness of each process.
"""

from __future__ import annotations

import enum
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from interchange.axis.presets import Scenario
from interchange.errors import ConfigError
from interchange.metrics.histogram import LatencyHistogram
from interchange.wire.model import BusinessType, Secrecy, Tier
from interchange.workload.spec import WorkloadSpec

# The bench document: a 1,536-byte attachment makes the encoded document ~1.9 KB and the
# submitted envelope (signature, certificate id, producer hop) ~2.1 KB.
BENCH_ATTACHMENT_BYTES = 1_536
# Every agency on the axis and never down: each document is delivered, none is NOT_CONNECTED.
ALL_CONNECTED = Scenario(connected_share=dict.fromkeys(Tier, 1.0))
FIGURE_PERCENTILES: tuple[float, ...] = (50.0, 90.0, 99.0, 99.9, 99.99, 100.0)


def bench_spec(
    rate: float,
    *,
    count: int | None = None,
    duration_s: float | None = None,
    attachment_bytes: int = BENCH_ATTACHMENT_BYTES,
    recipients: int = 1,
    classified: bool = False,
) -> WorkloadSpec:
    """The load-test workload: one attachment size, `recipients` per document, no faults.

    One recipient makes documents, deliveries and router decisions the same count, so
    throughput and CPU per document need no conversion. Classified documents are off by
    default (they are rejected, not delivered, and would not be in the latency figures),
    and every document is new (business type 0): a revoke, update or replace names an
    earlier document, which the CPU ceiling's replayed rounds cannot keep in order.
    """
    return WorkloadSpec(
        rate=rate,
        count=count,
        duration_s=duration_s,
        attachment_mix={attachment_bytes: 1.0},
        recipients_mix={recipients: 1.0},
        classified={} if not classified else {Secrecy.CONFIDENTIAL: 0.01},
        business_mix={BusinessType.NEW: 1.0},
    )


# -- latency --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LatencyFigures:
    """Percentiles (µs) of one latency histogram, as the report shows them."""

    count: int
    p50_us: int
    p90_us: int
    p99_us: int
    p999_us: int
    p9999_us: int
    max_us: int

    @classmethod
    def of(cls, hist: LatencyHistogram) -> LatencyFigures:
        p = hist.percentiles(FIGURE_PERCENTILES)
        return cls(hist.count, p[50.0], p[90.0], p[99.0], p[99.9], p[99.99], p[100.0])

    @property
    def values(self) -> tuple[int, ...]:
        return (self.p50_us, self.p90_us, self.p99_us, self.p999_us, self.p9999_us, self.max_us)

    @property
    def monotonic(self) -> bool:
        """Percentiles never decrease (a merged or subtracted histogram must keep this)."""
        v = self.values
        return all(a <= b for a, b in itertools.pairwise(v))

    def to_dict(self) -> dict[str, int]:
        return {
            "count": self.count,
            "p50_us": self.p50_us,
            "p90_us": self.p90_us,
            "p99_us": self.p99_us,
            "p999_us": self.p999_us,
            "p9999_us": self.p9999_us,
            "max_us": self.max_us,
        }


def subtract_histogram(total: LatencyHistogram, earlier: LatencyHistogram) -> LatencyHistogram:
    """`total` minus an `earlier` snapshot of the same recorder: what was recorded since.

    This is how the warm-up leaves the figures: histograms are cumulative, so the counts
    recorded when the warm-up ended are subtracted (`LatencyHistogram.since`).
    """
    return total.since(earlier)


# -- sustainability and the search -----------------------------------------------------


def slope(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of (x, y) points; 0 with fewer than two distinct x."""
    n = len(points)
    if n < 2:
        return 0.0
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    if sxx == 0:
        return 0.0
    return sum((x - mx) * (y - my) for x, y in points) / sxx


class Limit(enum.StrEnum):
    """Why a step was not sustainable."""

    BACKLOG_GROWING = "backlog_growing"
    P99_OVER_BOUND = "p99_over_bound"
    RATE_NOT_ACHIEVED = "rate_not_achieved"
    LOST = "lost"


@dataclass(frozen=True, slots=True)
class Criteria:
    """What "sustainable" means (defaults documented in docs/BENCHMARKS.md)."""

    p99_bound_us: int = 40_000
    backlog_growth_share: float = 0.02  # backlog may grow by at most 2% of the rate per second
    min_achieved_share: float = 0.95  # the pipeline must deliver 95% of the offered rate

    def __post_init__(self) -> None:
        if self.p99_bound_us <= 0:
            raise ConfigError("the p99 bound must be positive")
        if not 0 <= self.backlog_growth_share < 1 or not 0 < self.min_achieved_share <= 1:
            raise ConfigError("backlog growth share in [0, 1), achieved share in (0, 1]")


@dataclass(frozen=True, slots=True)
class StepResult:
    """What one run at one offered rate measured (after the warm-up)."""

    target_rate: float
    achieved_rate: float  # documents delivered per second in the measured window
    p99_us: int  # end to end, from the intended send time
    backlog_slope: float  # documents per second by which the backlog grew
    lost: int = 0


@dataclass(frozen=True, slots=True)
class Verdict:
    sustainable: bool
    limits: tuple[Limit, ...]


def judge(step: StepResult, criteria: Criteria) -> Verdict:
    """Sustainable when nothing is lost, p99 is in bound, backlog is flat and the rate is met."""
    limits = []
    if step.lost > 0:
        limits.append(Limit.LOST)
    if step.backlog_slope > criteria.backlog_growth_share * step.target_rate:
        limits.append(Limit.BACKLOG_GROWING)
    if step.p99_us > criteria.p99_bound_us:
        limits.append(Limit.P99_OVER_BOUND)
    if step.achieved_rate < criteria.min_achieved_share * step.target_rate:
        limits.append(Limit.RATE_NOT_ACHIEVED)
    return Verdict(not limits, tuple(limits))


@dataclass
class RateSearch:
    """Find the highest sustainable rate: multiply by `factor` until a step fails, then bisect.

    Bisection stops when the gap between the best sustainable and the lowest failed rate
    is at most `precision` of the latter, or after `max_steps` steps in all. A failure at
    the very first rate bisects down towards `floor`.
    """

    start: float
    factor: float = 1.5
    precision: float = 0.05
    max_steps: int = 10
    floor: float = 0.0
    steps: list[tuple[StepResult, Verdict]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.start <= 0 or self.factor <= 1 or not 0 < self.precision < 1:
            raise ConfigError("search: start > 0, factor > 1, 0 < precision < 1")
        if self.max_steps < 1:
            raise ConfigError("search: at least one step")

    @property
    def best(self) -> float | None:
        """The highest rate judged sustainable so far (None: none yet)."""
        good = [s.target_rate for s, v in self.steps if v.sustainable]
        return max(good) if good else None

    @property
    def lowest_failed(self) -> float | None:
        bad = [s.target_rate for s, v in self.steps if not v.sustainable]
        return min(bad) if bad else None

    def record(self, step: StepResult, verdict: Verdict) -> None:
        self.steps.append((step, verdict))

    def next_rate(self) -> float | None:
        """The next rate to try, or None when the search is over."""
        if not self.steps:
            return self.start
        if len(self.steps) >= self.max_steps:
            return None
        best, failed = self.best, self.lowest_failed
        if failed is None:
            assert best is not None
            return best * self.factor
        lo = best if best is not None and best < failed else self.floor
        if failed - lo <= self.precision * failed:
            return None
        return round((lo + failed) / 2, 3)


# -- CPU and ceilings -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StageCost:
    """Microbenchmarked pure work of one stage: CPU µs per document on one core."""

    stage: str
    us_per_doc: float

    @property
    def docs_per_core_s(self) -> float:
        return 1e6 / self.us_per_doc if self.us_per_doc > 0 else math.inf


def pipeline_ceiling(costs: Iterable[StageCost], cores: int) -> float:
    """Documents per second if every core did only the stages' pure work, perfectly shared."""
    total = sum(c.us_per_doc for c in costs)
    if cores < 1:
        raise ConfigError("cores must be at least 1")
    return cores * 1e6 / total if total > 0 else math.inf


def cpu_us_per_doc(cpu_seconds: float, documents: int) -> float | None:
    """CPU time a process spent per document it handled; None when it handled none."""
    return cpu_seconds * 1e6 / documents if documents > 0 else None


def ratio(value: float | None, ceiling: float | None) -> float | None:
    """`value / ceiling`, None when either is unknown or the ceiling is not positive."""
    if value is None or ceiling is None or not ceiling > 0 or math.isinf(ceiling):
        return None
    return value / ceiling


def stage_efficiency(ceiling_us_per_doc: float, measured_us_per_doc: float | None) -> float | None:
    """A stage process's share of its own CPU ceiling: pure work ÷ CPU it actually spent.

    1.0 means the process spends nothing beyond the decision itself (no Kafka client,
    no transactions, no bookkeeping); it is also the throughput that process reaches on a
    full core as a fraction of the throughput its pure work would allow.
    """
    if measured_us_per_doc is None or measured_us_per_doc <= 0:
        return None
    return ceiling_us_per_doc / measured_us_per_doc


# -- memory -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemoryTrack:
    """RSS (bytes) of one process over the measured window: first, peak and last sample,
    and the curve (so a soak shows whether growth levels off, not only that it grew)."""

    start: int
    peak: int
    end: int
    samples: int
    series: tuple[tuple[float, int], ...] = ()  # (seconds into the window, bytes), <= MAX

    SERIES_POINTS: ClassVar[int] = 120

    @classmethod
    def of(cls, rss: Sequence[int], at_s: Sequence[float] = ()) -> MemoryTrack:
        """From the window's samples; `at_s` (same length) are their times in seconds."""
        if not rss:
            return cls(0, 0, 0, 0)
        series: tuple[tuple[float, int], ...] = ()
        if len(at_s) == len(rss):
            step = max(1, math.ceil(len(rss) / cls.SERIES_POINTS))
            keep = list(range(0, len(rss), step))
            if keep[-1] != len(rss) - 1:
                keep.append(len(rss) - 1)
            series = tuple((round(at_s[i], 1), rss[i]) for i in keep)
        return cls(rss[0], max(rss), rss[-1], len(rss), series)

    @property
    def growth(self) -> float | None:
        """(peak - start) / start: how far memory rose above where the window began."""
        return (self.peak - self.start) / self.start if self.start > 0 else None

    def flat(self, within: float = 0.10) -> bool | None:
        g = self.growth
        return None if g is None else g <= within

    def to_dict(self) -> dict[str, Any]:
        return {
            "start_bytes": self.start,
            "peak_bytes": self.peak,
            "end_bytes": self.end,
            "samples": self.samples,
            "growth": self.growth,
            "flat_within_10pct": self.flat(),
            "series": [[t, v] for t, v in self.series],
        }
