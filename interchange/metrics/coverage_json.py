"""The coverage report as JSON values: the shape the report files carry and the audit
compares with (pure; the report package writes it, the audit recomputes it)."""

from __future__ import annotations

from typing import Any

from interchange.metrics.coverage import (
    Check,
    CoverageReport,
    ExchangeRow,
    LatencySummary,
    TierCoverage,
)
from interchange.wire.model import ReasonCode


def coverage_payload(report: CoverageReport) -> dict[str, Any]:
    """The coverage part of a report (also embedded by the audit report)."""
    return {
        "passed": report.passed,
        "exchange": exchange_payload(report),
        "processing": processing_payload(report),
        "targets": report.targets.to_dict(),
        "sla_s": report.sla.to_dict(),
        "tiers": {t.label: tier_payload(t) for t in report.tiers},
        "total": tier_payload(report.total),
        "outcomes": {r.value: n for r, n in report.rejected_by_reason.items()}
        | {"DELIVERED": report.total.delivered},
        "schedule_lag": latency_payload(report.schedule_lag),
    }


def exchange_payload(report: CoverageReport) -> dict[str, Any]:
    """Rule 1 (exchange, 100%): per sender tier, per recipient tier and overall."""
    return {
        "target": report.targets.exchange,
        "passed": report.exchange_passed,
        "by_sender": {r.label: exchange_row_payload(r) for r in report.exchange_by_sender},
        "by_recipient": {r.label: exchange_row_payload(r) for r in report.exchange_by_recipient},
        "total": None
        if report.exchange_total is None
        else exchange_row_payload(report.exchange_total),
    }


def exchange_row_payload(r: ExchangeRow) -> dict[str, Any]:
    return {
        "eligible": r.eligible,
        "exchanged": r.exchanged,
        "not_exchanged": dict(r.not_exchanged),
        "check": check_payload(r.check),
    }


def processing_payload(report: CoverageReport) -> dict[str, Any]:
    """Rule 2 (online processing of work records) per recipient tier; null when not measured."""
    return {
        "measured": report.processing_measured,
        "passed": report.processing_passed,
        "tiers": {
            t.label: {"check": check_payload(t.processing), "work": t.work.to_dict()}
            for t in report.tiers
        },
        "total": {
            "check": check_payload(report.total.processing),
            "work": report.total.work.to_dict(),
        },
    }


def tier_payload(t: TierCoverage) -> dict[str, Any]:
    return {
        "addressed": t.addressed,
        "excluded_classified": t.excluded_classified,
        "eligible": t.eligible,
        "replays": t.replays,
        "rejected": {r.value: t.rejected[r] for r in ReasonCode if r in t.rejected},
        "rejected_total": t.rejected_total,
        "not_connected": t.not_connected,
        "delivered": t.delivered,
        "exchanged": t.exchange.numerator,
        "within_sla": t.within_sla,
        "unaccounted": t.unaccounted,
        "duplicates": t.duplicates,
        "signature_reverified": t.signature_reverified,
        "signature_invalid": t.signature_invalid,
        "checks": {c.name: check_payload(c) for c in t.checks},
        "passed": t.passed,
        "work": t.work.to_dict(),
        "latency": latency_payload(t.latency),
        "before_router": latency_payload(t.before_router),
        "after_router": latency_payload(t.after_router),
        "ack": latency_payload(t.ack),
        "by_priority": {
            p.priority.name: {
                "sla_s": p.sla_s,
                "delivered": p.delivered,
                "within_sla": p.within_sla,
                "p99_us": p.p99_us,
            }
            for p in t.by_priority
        },
    }


def check_payload(c: Check) -> dict[str, Any]:
    return {
        "value": c.value,
        "target": c.target,
        "verdict": c.verdict,
        "numerator": c.numerator,
        "denominator": c.denominator,
    }


def latency_payload(s: LatencySummary) -> dict[str, Any]:
    return {
        "count": s.count,
        "p50_us": s.p50_us,
        "p90_us": s.p90_us,
        "p99_us": s.p99_us,
        "p999_us": s.p999_us,
        "max_us": s.max_us,
    }
