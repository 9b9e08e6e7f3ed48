"""What one `interchange bench` run measured, as values (the report is built from these).

A run is one or more steps (one per offered rate; `--search` runs several), plus the
ceilings measured once at start-up. `to_payload` is the JSON payload of the "loadtest"
report (keys documented in docs/BENCHMARKS.md); everything is in the measured window,
after the warm-up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from interchange.bench.calc import (
    Criteria,
    LatencyFigures,
    MemoryTrack,
    StageCost,
    Verdict,
    pipeline_ceiling,
    ratio,
    stage_efficiency,
)
from interchange.metrics.timeseries import Series

BROKER_ROLE = "broker"  # the embedded broker, sampled beside the stages
# the naive reference's process that does each pipeline role's part of the work
NAIVE_ROLE = {
    "producer": "producer",
    "router": "router",
    "recipient": "sink",
    BROKER_ROLE: "broker",
}


@dataclass(frozen=True, slots=True)
class StageProcess:
    """One stage process (or the embedded broker) in the measured window."""

    role: str  # producer, router, recipient, broker
    pid: int
    cpu_s: float
    documents: int  # documents this stage handled in the window (per process share)
    memory: MemoryTrack

    @property
    def cpu_us_per_doc(self) -> float | None:
        return self.cpu_s * 1e6 / self.documents if self.documents > 0 else None

    def to_dict(self) -> dict[str, Any]:
        per_doc = self.cpu_us_per_doc
        return {
            "role": self.role,
            "pid": self.pid,
            "cpu_s": round(self.cpu_s, 3),
            "documents": self.documents,
            "cpu_us_per_doc": None if per_doc is None else round(per_doc, 1),
            "memory": self.memory.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class Ceilings:
    """Measured once per run: the stages' pure CPU work and the raw Kafka pass-through."""

    costs: tuple[StageCost, ...]
    cores: int
    passthrough_docs_s: float | None  # None: skipped (--no-passthrough)
    passthrough: dict[str, Any] | None = None
    naive: dict[str, Any] | None = None  # the naive reference pipeline (None: skipped)

    @property
    def naive_docs_s(self) -> float | None:
        return None if self.naive is None else float(self.naive["docs_per_s"])

    @property
    def naive_p99_us(self) -> int | None:
        return None if self.naive is None else int(self.naive["p99_us"])

    def naive_cpu_us_per_doc(self, role: str) -> float | None:
        """The naive reference's CPU per document for the pipeline's `role` (None: not
        measured: naive skipped, or the broker not sampled)."""
        if self.naive is None:
            return None
        value = self.naive.get("cpu_us_per_doc", {}).get(NAIVE_ROLE.get(role, ""))
        return None if value is None else float(value)

    @property
    def cpu_docs_s(self) -> float:
        return pipeline_ceiling(self.costs, self.cores)

    def cost(self, stage: str) -> StageCost | None:
        return next((c for c in self.costs if c.stage == stage), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "cores": self.cores,
            "cpu_docs_s": round(self.cpu_docs_s, 1),
            "stages": {
                c.stage: {
                    "us_per_doc": round(c.us_per_doc, 1),
                    "docs_per_core_s": round(c.docs_per_core_s, 1),
                }
                for c in self.costs
            },
            "passthrough_docs_s": None
            if self.passthrough_docs_s is None
            else round(self.passthrough_docs_s, 1),
            "passthrough": self.passthrough,
            "naive": self.naive,
        }


@dataclass(frozen=True, slots=True)
class Step:
    """One run at one offered rate."""

    target_rate: float
    duration_s: float
    warmup_s: float
    sent: int  # documents sent in the whole step (warm-up included)
    delivered: int  # deliveries in the whole step
    expected: int  # deliveries expected (documents x recipients), whole step
    duplicates: int
    window_s: float  # measured window length
    window_delivered: int
    latency_intended: LatencyFigures  # from the intended send time (open loop)
    latency_actual: LatencyFigures | None  # from the actual send time (trace[0])
    schedule_lag: LatencyFigures  # actual - intended send, at the producer
    curve_intended: tuple[tuple[float, int], ...]
    curve_actual: tuple[tuple[float, int], ...]
    backlog: tuple[tuple[float, int], ...]  # (s since window start, undelivered documents)
    backlog_slope: float
    router_lag_max: int
    processes: tuple[StageProcess, ...]
    verdict: Verdict
    # the whole step second by second (warm-up and drain too)
    timeline: Series = field(default_factory=Series)

    @property
    def achieved_rate(self) -> float:
        return self.window_delivered / self.window_s if self.window_s > 0 else 0.0

    @property
    def lost(self) -> int:
        return max(0, self.expected - self.delivered)

    def cpu_us_per_doc(self, role: str) -> float | None:
        """CPU of every process of `role` over the documents they handled together."""
        procs = [p for p in self.processes if p.role == role]
        docs = max((p.documents for p in procs), default=0)
        cpu = sum(p.cpu_s for p in procs)
        return cpu * 1e6 / docs if docs > 0 else None

    def to_dict(self, ceilings: Ceilings | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "target_rate": self.target_rate,
            "duration_s": self.duration_s,
            "warmup_s": self.warmup_s,
            "sent": self.sent,
            "expected": self.expected,
            "delivered": self.delivered,
            "lost": self.lost,
            "duplicates": self.duplicates,
            "window_s": round(self.window_s, 3),
            "window_delivered": self.window_delivered,
            "achieved_rate": round(self.achieved_rate, 1),
            "latency_intended": self.latency_intended.to_dict(),
            "latency_actual": None
            if self.latency_actual is None
            else self.latency_actual.to_dict(),
            "schedule_lag": self.schedule_lag.to_dict(),
            "backlog_slope_docs_s": round(self.backlog_slope, 2),
            "backlog": [[round(t, 2), n] for t, n in self.backlog],
            "router_lag_max": self.router_lag_max,
            "cpu_us_per_doc": {
                role: _round(self.cpu_us_per_doc(role))
                for role in sorted({p.role for p in self.processes})
            },
            "processes": [p.to_dict() for p in self.processes],
            "sustainable": self.verdict.sustainable,
            "limits": [limit.value for limit in self.verdict.limits],
            "timeline": self.timeline.to_dict(),
        }
        if ceilings is not None:
            out["ratios"] = step_ratios(self, ceilings)
        return out


def step_ratios(step: Step, ceilings: Ceilings) -> dict[str, float | None]:
    """Throughput against each ceiling, and the router's share of its own CPU ceiling."""
    router = ceilings.cost("router")
    return {
        "vs_passthrough": _round(ratio(step.achieved_rate, ceilings.passthrough_docs_s), 4),
        "vs_naive": _round(ratio(step.achieved_rate, ceilings.naive_docs_s), 4),
        # both from the actual send time; the naive figure is at its own saturation
        "p99_vs_naive": _round(ratio(_actual_p99(step), ceilings.naive_p99_us), 4),
        "vs_cpu_ceiling": _round(ratio(step.achieved_rate, ceilings.cpu_docs_s), 4),
        "router_vs_own_cpu_ceiling": None
        if router is None
        else _round(stage_efficiency(router.us_per_doc, step.cpu_us_per_doc("router")), 4),
    }


@dataclass(frozen=True, slots=True)
class BenchResult:
    mode: str  # "fixed" or "search"
    criteria: Criteria
    ceilings: Ceilings
    steps: tuple[Step, ...]
    max_sustainable_rate: float | None  # search mode: the highest sustainable target rate

    def to_payload(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "criteria": {
                "p99_bound_us": self.criteria.p99_bound_us,
                "backlog_growth_share": self.criteria.backlog_growth_share,
                "min_achieved_share": self.criteria.min_achieved_share,
            },
            "ceilings": self.ceilings.to_dict(),
            "steps": [s.to_dict(self.ceilings) for s in self.steps],
            "max_sustainable_rate": self.max_sustainable_rate,
        }


def _actual_p99(step: Step) -> float | None:
    figures = step.latency_actual or step.latency_intended
    return float(figures.p99_us) if figures.count else None


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)
