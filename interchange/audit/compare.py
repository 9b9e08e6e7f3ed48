"""Compare the audit's recomputed figures with a live report's (pure).

Counts must be equal. Latency percentiles must agree within histogram precision:
both sides are HDR histograms of 3 significant digits, so a percentile is the top
of a bucket at most 1/1000 of the value wide; two figures agree when
|live - audit| <= max(live, audit) // 1000 + 1 µs. For the delivery, before-router
and after-router histograms the audit records the very values the recipients did
(docs/AUDIT.md), so in practice they are identical. The ack histogram is recorded
at the sender when it reads status 03, which no record holds: it is shown, not judged.

The two policy measures are compared too: per tier the exchanged count (rule 1) and,
when the live report has it, the work-record funnel (rule 2: records, online, paper,
each step, overdue, recall statuses), all exact. A live report written before work
records were counted has no "work" figures; those are then not compared.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from interchange.audit.findings import Finding, Kind
from interchange.errors import ConfigError
from interchange.workrecords.workflow import WORK_FIELDS

EXACT = (
    "addressed",
    "excluded_classified",
    "not_connected",
    "delivered",
    "exchanged",
    "within_sla",
    "duplicates",
    "signature_invalid",
)
ADDED = ("exchanged",)  # compared only when the live report has them
JUDGED_LATENCY = ("latency", "before_router", "after_router")
SHOWN_LATENCY = ("ack",)
PERCENTILES = ("p50_us", "p90_us", "p99_us", "p999_us", "max_us")


@dataclass(frozen=True, slots=True)
class Comparison:
    tier: str
    figure: str
    live: Any
    audit: Any
    agrees: bool | None  # None: shown for information only


def coverage_of(report: Mapping[str, Any]) -> Mapping[str, Any]:
    """The coverage payload inside a report JSON (top level or under "coverage")."""
    for candidate in (report, report.get("coverage")):
        if isinstance(candidate, Mapping) and isinstance(candidate.get("tiers"), Mapping):
            return candidate
    raise ConfigError("the report to compare has no coverage figures ('tiers')")


def within_precision(a: int, b: int) -> bool:
    return abs(a - b) <= max(a, b) // 1000 + 1


def compare(live_report: Mapping[str, Any], audit_coverage: Mapping[str, Any]) -> list[Comparison]:
    """Every compared figure, tier by tier and for the total."""
    live = coverage_of(live_report)
    rows: list[Comparison] = []
    tiers = [
        (t, live["tiers"].get(t), audit_coverage["tiers"].get(t)) for t in audit_coverage["tiers"]
    ]
    tiers.append(("all", live.get("total"), audit_coverage.get("total")))
    for tier, lv, au in tiers:
        if not isinstance(lv, Mapping) or not isinstance(au, Mapping):
            rows.append(Comparison(tier, "tier", lv is not None, au is not None, False))
            continue
        for key in EXACT:
            if key in ADDED and key not in lv:
                continue  # a live report older than the figure
            rows.append(Comparison(tier, key, lv.get(key), au.get(key), lv.get(key) == au.get(key)))
        lr, ar = lv.get("rejected", {}), au.get("rejected", {})
        for reason in sorted(set(lr) | set(ar)):
            a, b = lr.get(reason, 0), ar.get(reason, 0)
            rows.append(Comparison(tier, f"rejected {reason}", a, b, a == b))
        lw, aw = lv.get("work"), au.get("work")
        if isinstance(lw, Mapping) and isinstance(aw, Mapping):
            for key in WORK_FIELDS:
                a, b = lw.get(key, 0), aw.get(key, 0)
                rows.append(Comparison(tier, f"work {key}", a, b, a == b))
        for fam in (*JUDGED_LATENCY, *SHOWN_LATENCY):
            rows += _latency(tier, fam, lv.get(fam, {}), au.get(fam, {}), fam in JUDGED_LATENCY)
    return rows


def _latency(
    tier: str, fam: str, lv: Mapping[str, Any], au: Mapping[str, Any], judged: bool
) -> list[Comparison]:
    a, b = lv.get("count", 0), au.get("count", 0)
    rows = [Comparison(tier, f"{fam} count", a, b, a == b if judged else None)]
    for p in PERCENTILES:
        x, y = int(lv.get(p, 0) or 0), int(au.get(p, 0) or 0)
        rows.append(
            Comparison(tier, f"{fam} {p}", x, y, within_precision(x, y) if judged else None)
        )
    return rows


def differences(rows: list[Comparison]) -> list[Finding]:
    """One FIGURE_DIFFERS per differing figure (`audit.evidence` adds the records)."""
    return [
        Finding(Kind.FIGURE_DIFFERS, f"{r.tier} {r.figure}: live {r.live}, audit {r.audit}")
        for r in rows
        if r.agrees is False
    ]
