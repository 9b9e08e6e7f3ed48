"""Coverage of a run, from run metrics, against targets and SLAs (pure).

Two policy rules, two measures (docs/REPORT.md cites the rules):

    exchange   = exchanged / eligible, per recipient tier, per sender tier and overall
                 (target: Targets.exchange, 100% for every tier)
      eligible  = addressed - classified - replays (a replay re-submits a document
                  already counted; it is not another document)
      exchanged = delivered - signature_invalid (delivered to a connected recipient
                  after the router verified the full signature, and not failed by an
                  end-to-end re-check)
      not exchanged, by cause: not connected, each rejection reason, signature invalid
                  at the recipient, in flight or lost
    processing = online work records / work records with a stated mode, per recipient
                 tier (target: Targets.processing, 2025 or 2030); "not measured" (None)
                 when the run has no work-record status with the online flag

Delivery figures beside them (per recipient tier; every count is per recipient):

    timely     = delivered within the SLA / eligible   (target: Targets.timely, none built in)
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

from interchange.metrics.histogram import CURVE_PERCENTILES, LatencyHistogram
from interchange.metrics.run import RunMetrics
from interchange.metrics.targets import (
    BUILTIN_TARGETS,
    DEFAULT_SLA_S,
    DEFAULT_TARGETS,
    Sla,
    Targets,
    load_targets,
    meets,
)
from interchange.wire.model import Priority, ReasonCode, Tier
from interchange.workrecords.workflow import WorkCell

__all__ = [
    "BUILTIN_TARGETS",
    "DEFAULT_SLA_S",
    "DEFAULT_TARGETS",
    "Check",
    "CoverageReport",
    "ExchangeRow",
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

    name: str  # exchange, processing, timely, signature, latency_p99
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
class ExchangeRow:
    """The exchange measure for one tier on one side ("sender", "recipient") or overall."""

    side: str  # sender, recipient, all
    tier: Tier | None
    eligible: int
    exchanged: int
    not_connected: int
    rejected: Mapping[ReasonCode, int]  # every reason but CLASSIFIED, NOT_CONNECTED, REPLAY
    signature_invalid: int
    unaccounted: int  # in flight at the end, or lost
    check: Check

    @property
    def label(self) -> str:
        return self.tier.value if self.tier is not None else "all"

    @property
    def not_exchanged(self) -> Mapping[str, int]:
        """What kept eligible documents off the axis, by cause (non-zero causes only)."""
        out: dict[str, int] = {"NOT_CONNECTED": self.not_connected}
        out |= {r.value: n for r, n in self.rejected.items()}
        out["SIGNATURE_INVALID_AT_RECIPIENT"] = self.signature_invalid
        out["IN_FLIGHT_OR_LOST"] = max(self.unaccounted, 0)
        return {k: n for k, n in out.items() if n}


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
    exchange: Check
    processing: Check
    work: WorkCell
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
    def replays(self) -> int:
        return self.rejected.get(ReasonCode.REPLAY, 0)

    @property
    def eligible(self) -> int:
        """Addressed, not classified, not a replay of a document already counted."""
        return self.addressed - self.excluded_classified - self.replays

    @property
    def unaccounted(self) -> int:
        """Addressed but with no outcome yet: in flight at the end, or lost (negative: extra)."""
        return self.addressed - (
            self.delivered + self.excluded_classified + self.rejected_total + self.not_connected
        )

    @property
    def checks(self) -> tuple[Check, ...]:
        return (self.exchange, self.processing, self.timely, self.signature, self.latency_check)

    @property
    def passed(self) -> bool:
        """No check failed (n/a checks do not fail)."""
        return all(c.passed is not False for c in self.checks)


@dataclass(frozen=True, slots=True)
class CoverageReport:
    """Coverage of a run: one row per tier (always all four, top-down) plus the total.

    `tiers` are recipient tiers; `exchange_by_sender` judges each sender tier's documents.
    """

    targets: Targets
    sla: Sla
    tiers: tuple[TierCoverage, ...]
    total: TierCoverage
    schedule_lag: LatencySummary
    exchange_by_sender: tuple[ExchangeRow, ...] = ()
    exchange_by_recipient: tuple[ExchangeRow, ...] = ()
    exchange_total: ExchangeRow | None = None

    @property
    def exchange_passed(self) -> bool | None:
        """Rule 1: every tier, on both sides, at its exchange target (None: nothing eligible)."""
        rows = (*self.exchange_by_sender, *self.exchange_by_recipient)
        verdicts = [r.check.passed for r in rows if r.check.passed is not None]
        return all(verdicts) if verdicts else None

    @property
    def processing_measured(self) -> bool:
        return any(t.processing.value is not None for t in self.tiers)

    @property
    def processing_passed(self) -> bool | None:
        """Rule 2 over the tiers with a target and a measure; None: not measured."""
        verdicts = [t.processing.passed for t in self.tiers if t.processing.passed is not None]
        return all(verdicts) if verdicts else None

    @property
    def rejected_by_reason(self) -> Mapping[ReasonCode, int]:
        """Outcomes other than delivery, by reason, including CLASSIFIED and NOT_CONNECTED."""
        out = {r: self.total.rejected.get(r, 0) for r in ReasonCode}
        out[ReasonCode.CLASSIFIED] = self.total.excluded_classified
        out[ReasonCode.NOT_CONNECTED] = self.total.not_connected
        return {r: n for r, n in out.items() if n}

    @property
    def passed(self) -> bool:
        """No check of any tier failed, sender-side exchange included."""
        senders = all(r.check.passed is not False for r in self.exchange_by_sender)
        return senders and all(t.passed for t in self.tiers)

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
    return CoverageReport(
        targets,
        sla,
        rows,
        total,
        lag,
        exchange_by_sender=tuple(_exchange_row(metrics, targets, "sender", t) for t in Tier),
        exchange_by_recipient=tuple(_exchange_row(metrics, targets, "recipient", t) for t in Tier),
        exchange_total=_exchange_row(metrics, targets, "all", None),
    )


def _exchange_row(
    metrics: RunMetrics, targets: Targets, side: str, tier: Tier | None
) -> ExchangeRow:
    """Rule 1 for one tier on one side (sender: key[0], recipient: key[1]) or overall."""
    pos = 0 if side == "sender" else 1
    addressed = excluded = not_connected = delivered = invalid = 0
    rejected: dict[ReasonCode, int] = {}
    for key, cell in metrics.cells.items():
        if tier is not None and key[pos] is not tier:
            continue
        addressed += cell.addressed
        excluded += cell.excluded
        not_connected += cell.not_connected
        delivered += cell.delivered
        invalid += cell.signature_invalid
        for reason, n in cell.rejected.items():
            rejected[reason] = rejected.get(reason, 0) + n
    replays = rejected.pop(ReasonCode.REPLAY, 0)
    eligible = addressed - excluded - replays
    unaccounted = eligible - (delivered + not_connected + sum(rejected.values()))
    exchanged = delivered - invalid
    return ExchangeRow(
        side,
        tier,
        eligible,
        exchanged,
        not_connected,
        {r: rejected[r] for r in ReasonCode if rejected.get(r)},
        invalid,
        unaccounted,
        _ratio("exchange", exchanged, eligible, targets.exchange),
    )


def _processing(work: WorkCell, target: float | None) -> Check:
    """Rule 2: online work records / work records whose mode the statuses state."""
    return _ratio("processing", work.online, work.online + work.paper, target)


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

    work = WorkCell()
    for (_s, r), wcell in metrics.work.items():
        if tier is None or r is tier:
            work.merge(wcell)

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

    eligible = addressed - excluded - rejected.get(ReasonCode.REPLAY, 0)
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
        exchange=_ratio(
            "exchange",
            delivered - invalid,
            eligible,
            targets.exchange if targets is not None else None,
        ),
        processing=_processing(work, target(_m(targets, "processing"))),
        work=work,
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
