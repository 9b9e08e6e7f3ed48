"""Coverage per recipient tier, from run metrics, against targets and SLAs (pure).

Formulas (per recipient tier; every count is per recipient, see core/metrics.py):

    eligible   = addressed - excluded_classified
    electronic = delivered / eligible                  (target: Targets.electronic)
    timely     = delivered within the SLA / eligible   (target: Targets.timely)
    signature  = (delivered - signature_invalid) / delivered   (target: 100%)
    latency    = end-to-end delivery percentiles; p99 <= Targets.latency_p99_s

A ratio with a zero denominator has no value and neither passes nor fails (n/a).
"Within SLA" is read from the per-priority delivery histograms (so the audit can
re-judge a run under another SLA); see LatencyHistogram.count_at_or_below for the
resolution (a delivery at most 0.1% over its SLA may count as within).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from interchange.core.histogram import CURVE_PERCENTILES, LatencyHistogram
from interchange.core.metrics import RunMetrics
from interchange.core.model import Priority, ReasonCode, Tier
from interchange.core.targets import (
    BUILTIN_TARGETS,
    DEFAULT_SLA_S,
    DEFAULT_TARGETS,
    Sla,
    Targets,
    load_targets,
    meets,
)

__all__ = [
    "BUILTIN_TARGETS",
    "DEFAULT_SLA_S",
    "DEFAULT_TARGETS",
    "Check",
    "CoverageReport",
    "LatencySummary",
    "PriorityCoverage",
    "Sla",
    "Targets",
    "TierCoverage",
    "compute_coverage",
    "load_targets",
]


@dataclass(frozen=True, slots=True)
class Check:
    """One measured figure against its target. `value`/`passed` are None when not measurable."""

    name: str  # electronic, timely, signature, latency_p99
    value: float | None  # a share in [0, 1], or seconds for latency
    target: float | None  # None: no target for this tier
    passed: bool | None  # None: no target or nothing to measure
    numerator: int = 0
    denominator: int = 0

    @property
    def verdict(self) -> str:
        """PASS, FAIL or n/a."""
        return "n/a" if self.passed is None else ("PASS" if self.passed else "FAIL")


def _ratio(name: str, num: int, den: int, target: float | None) -> Check:
    if den <= 0:
        return Check(name, None, target, None, num, den)
    passed = None if target is None else meets(num, den, target)
    return Check(name, num / den, target, passed, num, den)


@dataclass(frozen=True, slots=True)
class LatencySummary:
    """Percentiles of one latency histogram, in microseconds."""

    count: int
    p50_us: int
    p90_us: int
    p99_us: int
    p999_us: int
    max_us: int
    curve: tuple[tuple[float, int], ...] = ()  # (percentile, µs) for distribution plots

    @classmethod
    def of(cls, hist: LatencyHistogram) -> LatencySummary:
        v = hist.percentiles((50.0, 90.0, 99.0, 99.9, *CURVE_PERCENTILES))
        curve = tuple((p, v[p]) for p in CURVE_PERCENTILES) if hist.count else ()
        return cls(hist.count, v[50.0], v[90.0], v[99.0], v[99.9], hist.max, curve)


@dataclass(frozen=True, slots=True)
class PriorityCoverage:
    """Deliveries of one priority to one tier, against that priority's SLA."""

    priority: Priority
    sla_s: float
    delivered: int
    within_sla: int
    p99_us: int


@dataclass(frozen=True, slots=True)
class TierCoverage:
    """Everything the report shows for one recipient tier (or all tiers when tier is None)."""

    tier: Tier | None
    addressed: int
    excluded_classified: int
    rejected: Mapping[ReasonCode, int]  # every reason but CLASSIFIED and NOT_CONNECTED
    not_connected: int
    delivered: int
    within_sla: int
    duplicates: int
    signature_reverified: int
    signature_invalid: int
    electronic: Check
    timely: Check
    signature: Check
    latency_check: Check
    latency: LatencySummary
    before_router: LatencySummary
    after_router: LatencySummary
    ack: LatencySummary
    by_priority: tuple[PriorityCoverage, ...] = field(default=())

    @property
    def label(self) -> str:
        return self.tier.value if self.tier is not None else "all"

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    @property
    def eligible(self) -> int:
        return self.addressed - self.excluded_classified

    @property
    def unaccounted(self) -> int:
        """Addressed but with no outcome yet: in flight at the end, or lost (negative: extra)."""
        return self.addressed - (
            self.delivered + self.excluded_classified + self.rejected_total + self.not_connected
        )

    @property
    def checks(self) -> tuple[Check, ...]:
        return (self.electronic, self.timely, self.signature, self.latency_check)

    @property
    def passed(self) -> bool:
        """No check failed (n/a checks do not fail)."""
        return all(c.passed is not False for c in self.checks)


@dataclass(frozen=True, slots=True)
class CoverageReport:
    """Coverage of a run: one row per tier (always all four, top-down) plus the total."""

    targets: Targets
    sla: Sla
    tiers: tuple[TierCoverage, ...]
    total: TierCoverage
    schedule_lag: LatencySummary

    @property
    def rejected_by_reason(self) -> Mapping[ReasonCode, int]:
        """Outcomes other than delivery, by reason, including CLASSIFIED and NOT_CONNECTED."""
        out = {r: self.total.rejected.get(r, 0) for r in ReasonCode}
        out[ReasonCode.CLASSIFIED] = self.total.excluded_classified
        out[ReasonCode.NOT_CONNECTED] = self.total.not_connected
        return {r: n for r, n in out.items() if n}

    @property
    def passed(self) -> bool:
        return all(t.passed for t in self.tiers)

    def tier(self, tier: Tier) -> TierCoverage:
        return next(t for t in self.tiers if t.tier is tier)


def compute_coverage(
    metrics: RunMetrics, targets: Targets = DEFAULT_TARGETS, sla: Sla | None = None
) -> CoverageReport:
    """The coverage report of `metrics`; pure and deterministic."""
    sla = sla if sla is not None else Sla()
    rows = tuple(_tier_row(metrics, targets, sla, t) for t in Tier)
    total = _tier_row(metrics, None, sla, None)
    lag = LatencySummary.of(metrics.merged_histogram("schedule_lag"))
    return CoverageReport(targets, sla, rows, total, lag)


def _tier_row(
    metrics: RunMetrics, targets: Targets | None, sla: Sla, tier: Tier | None
) -> TierCoverage:
    addressed = excluded = not_connected = delivered = 0
    duplicates = reverified = invalid = 0
    rejected: dict[ReasonCode, int] = {}
    for (_s, r, _p), cell in metrics.cells.items():
        if tier is not None and r is not tier:
            continue
        addressed += cell.addressed
        excluded += cell.excluded
        not_connected += cell.not_connected
        delivered += cell.delivered
        duplicates += cell.duplicates
        reverified += cell.signature_reverified
        invalid += cell.signature_invalid
        for reason, n in cell.rejected.items():
            rejected[reason] = rejected.get(reason, 0) + n

    by_priority = []
    within = 0
    for p in Priority:
        hist = metrics.merged_histogram("delivery", _flows_to(tier, p))
        if not hist.count:
            continue
        ok = hist.count_at_or_below(sla.limit_us(p))
        within += ok
        by_priority.append(
            PriorityCoverage(p, sla.seconds[p], hist.count, ok, hist.percentile(99.0))
        )

    def hist_of(family: str) -> LatencySummary:
        return LatencySummary.of(
            metrics.merged_histogram(family, lambda k: tier is None or k[1] is tier)
        )

    latency = hist_of("delivery")

    def target(m: Mapping[Tier, float]) -> float | None:
        return m.get(tier) if targets is not None and tier is not None else None

    eligible = addressed - excluded
    lat_target = target(targets.latency_p99_s) if targets is not None else None
    if latency.count == 0:
        lat_check = Check("latency_p99", None, lat_target, None)
    else:
        p99_s = latency.p99_us / 1_000_000
        lat_check = Check(
            "latency_p99",
            p99_s,
            lat_target,
            None if lat_target is None else latency.p99_us <= round(lat_target * 1_000_000),
        )
    return TierCoverage(
        tier=tier,
        addressed=addressed,
        excluded_classified=excluded,
        rejected={r: rejected[r] for r in ReasonCode if rejected.get(r)},
        not_connected=not_connected,
        delivered=delivered,
        within_sla=within,
        duplicates=duplicates,
        signature_reverified=reverified,
        signature_invalid=invalid,
        electronic=_ratio("electronic", delivered, eligible, target(_m(targets, "electronic"))),
        timely=_ratio("timely", within, eligible, target(_m(targets, "timely"))),
        signature=_ratio(
            "signature",
            delivered - invalid,
            delivered,
            targets.signature if targets is not None else None,
        ),
        latency_check=lat_check,
        latency=latency,
        before_router=hist_of("before_router"),
        after_router=hist_of("after_router"),
        ack=hist_of("ack"),
        by_priority=tuple(by_priority),
    )


def _m(targets: Targets | None, name: str) -> Mapping[Tier, float]:
    if targets is None:
        return {}
    value: Mapping[Tier, float] = getattr(targets, name)
    return value


def _flows_to(tier: Tier | None, priority: Priority) -> Callable[[tuple[Any, ...]], bool]:
    """Delivery histogram keys (sender, recipient, priority) of `priority` into `tier`."""

    def matches(key: tuple[Any, ...]) -> bool:
        return key[2] is priority and (tier is None or key[1] is tier)

    return matches
