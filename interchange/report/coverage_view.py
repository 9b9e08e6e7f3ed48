"""Report sections for a CoverageReport (shared by simulate, the audit and any renderer)."""

from __future__ import annotations

from interchange.metrics.coverage import Check, CoverageReport, TierCoverage
from interchange.report.policy_view import exchange_section, processing_section
from interchange.report.sections import (
    BarChart,
    BarSeries,
    Cell,
    LineSeries,
    PercentileChart,
    Section,
    Styled,
    Table,
    Tone,
    fmt_count,
    fmt_share,
    fmt_us,
    verdict,
)
from interchange.wire.model import Priority, ReasonCode

# What each outcome means, in one line, for the outcomes table.
REASON_TEXT: dict[ReasonCode, str] = {
    ReasonCode.MALFORMED: "bytes are not a strict, canonical envelope",
    ReasonCode.BAD_SIGNATURE: "signature does not verify over the content",
    ReasonCode.UNKNOWN_SENDER: "sender is not in the directory",
    ReasonCode.UNKNOWN_CERTIFICATE: "certificate unknown to the trust store",
    ReasonCode.UNTRUSTED_CERTIFICATE: "certificate does not chain to the national CA",
    ReasonCode.REVOKED: "certificate revoked when the axis received it",
    ReasonCode.EXPIRED: "certificate expired when the axis received it",
    ReasonCode.NOT_YET_VALID: "certificate not yet valid when the axis received it",
    ReasonCode.SENDER_MISMATCH: "certificate belongs to another agency",
    ReasonCode.ALGORITHM_MISMATCH: "signature algorithm is not the certificate's",
    ReasonCode.REPLAY: "document id already seen",
    ReasonCode.UNKNOWN_RECIPIENT: "a recipient is not in the directory",
    ReasonCode.CLASSIFIED: "classified: excluded by law, never sent (not a failure)",
    ReasonCode.NOT_CONNECTED: "recipient not on the axis yet (goes on paper)",
    ReasonCode.KEY_MISMATCH: "record key is not the sender id",
    ReasonCode.WRONG_PARTITION: "not on the partition of its sender's key",
    ReasonCode.SEND_TIME_SKEW: "send time too far from the time the axis received it",
    ReasonCode.TOO_LARGE: "no room under the caps for the router's hop",
    ReasonCode.NO_RECIPIENTS: "the document names no recipient",
    ReasonCode.UNKNOWN_TARGET: "revoke/update/replace of a document not delivered from its sender",
}


def coverage_sections(report: CoverageReport) -> tuple[Section, ...]:
    """The two policy rules, then delivery, latency and outcomes, in reading order."""
    return (
        exchange_section(report),
        processing_section(report),
        _coverage(report),
        _latency(report),
        _outcomes(report),
    )


def _coverage(report: CoverageReport) -> Section:
    sla = ", ".join(f"{_priority_name(p)} {report.sla.seconds[p]:g} s" for p in Priority)
    text = (
        "Delivery figures beside the two rules (no policy rule of their own): timely "
        f"coverage counts deliveries within their priority's SLA ({sla}) of the eligible "
        "documents (a target only if the targets file sets one); signature coverage must "
        "be 100%; p99 latency against its bound."
    )
    chart = BarChart(
        "Delivered and timely per recipient tier",
        tuple(t.label for t in report.tiers),
        (
            BarSeries("delivered", tuple(_share(t.delivered, t.eligible) for t in report.tiers)),
            BarSeries("timely", tuple(t.timely.value for t in report.tiers)),
        ),
        percent=True,
        value_label="share of eligible documents",
    )
    counts = Table(
        "Documents per recipient tier",
        (
            "tier",
            "addressed",
            "classified",
            "eligible",
            "delivered",
            "within SLA",
            "rejected",
            "not connected",
            "in flight / lost",
        ),
        tuple(_count_row(t) for t in (*report.tiers, report.total)),
        note="Counts are per recipient: a document to 3 agencies counts 3 times. "
        "Eligible = addressed − classified − replays (REPLAY under Outcomes).",
    )
    checks = Table(
        "Delivery against its bounds",
        (
            "tier",
            "timely",
            "target",
            "",
            "signature",
            "",
            "p99",
            "target",
            "",
        ),
        tuple(_check_row(t) for t in report.tiers),
        note="A ratio exactly at its target passes; n/a means nothing to measure or no target.",
    )
    delivery_passed = all(
        c.passed is not False
        for t in report.tiers
        for c in (t.timely, t.signature, t.latency_check)
    )
    return Section("Delivery", text, (chart,), (checks, counts), verdict(delivery_passed))


def _share(num: int, den: int) -> float | None:
    return num / den if den > 0 else None


def _count_row(t: TierCoverage) -> tuple[Cell, ...]:
    lost: Cell = fmt_count(t.unaccounted)
    if t.unaccounted:
        lost = Styled(fmt_count(t.unaccounted), Tone.WARN)
    label: Cell = t.label if t.tier is not None else Styled("all tiers", Tone.MUTED)
    return (
        label,
        fmt_count(t.addressed),
        fmt_count(t.excluded_classified),
        fmt_count(t.eligible),
        fmt_count(t.delivered),
        fmt_count(t.within_sla),
        fmt_count(t.rejected_total),
        fmt_count(t.not_connected),
        lost,
    )


def _target(c: Check) -> str:
    return "—" if c.target is None else f"≥ {fmt_share(c.target)}"


def _check_row(t: TierCoverage) -> tuple[Cell, ...]:
    lat = t.latency_check
    lat_target = "—" if lat.target is None else f"≤ {fmt_us(round(lat.target * 1e6))}"
    return (
        t.label,
        fmt_share(t.timely.value),
        _target(t.timely),
        verdict(t.timely.passed),
        fmt_share(t.signature.value),
        verdict(t.signature.passed),
        fmt_us(t.latency.p99_us) if t.latency.count else "—",
        lat_target,
        verdict(lat.passed),
    )


def _latency(report: CoverageReport) -> Section:
    chart = PercentileChart(
        "End-to-end delivery latency by recipient tier",
        tuple(
            LineSeries(t.label, tuple((p, v / 1_000) for p, v in t.latency.curve))
            for t in report.tiers
        ),
    )
    dist = Table(
        "Delivery latency (intended send time → recipient)",
        (
            "tier",
            "delivered",
            "p50",
            "p90",
            "p99",
            "p99.9",
            "max",
            "→ router p99",
            "router → p99",
            "ack p99",
        ),
        tuple(
            (
                t.label if t.tier is not None else Styled("all tiers", Tone.MUTED),
                fmt_count(t.latency.count),
                *(
                    fmt_us(v) if t.latency.count else "—"
                    for v in (
                        t.latency.p50_us,
                        t.latency.p90_us,
                        t.latency.p99_us,
                        t.latency.p999_us,
                        t.latency.max_us,
                    )
                ),
                *(
                    fmt_us(s.p99_us) if s.count else "—"
                    for s in (t.before_router, t.after_router, t.ack)
                ),
            )
            for t in (*report.tiers, report.total)
        ),
        note="Open loop: measured from the intended send time, so producer lag counts as latency.",
    )
    rows = [
        (
            t.label,
            _priority_name(pc.priority),
            f"{pc.sla_s:g} s",
            fmt_count(pc.delivered),
            fmt_count(pc.within_sla),
            fmt_share(pc.within_sla / pc.delivered if pc.delivered else None),
            fmt_us(pc.p99_us),
        )
        for t in report.tiers
        for pc in t.by_priority
    ]
    per_priority = Table(
        "Deliveries within SLA by priority",
        ("tier", "priority", "SLA", "delivered", "within SLA", "share", "p99"),
        tuple(rows),
        align="llrrrrr",
    )
    lag = report.schedule_lag
    text = (
        "Percentile distribution of delivery latency; the right of the chart is the tail. "
        f"Producer schedule lag p99 {fmt_us(lag.p99_us)}, max {fmt_us(lag.max_us)}."
        if lag.count
        else "Percentile distribution of delivery latency; the right of the chart is the tail."
    )
    return Section("Latency", text, (chart,), (dist, per_priority))


def _outcomes(report: CoverageReport) -> Section:
    total = report.total
    outcomes: list[tuple[str, int, str]] = [
        ("DELIVERED", total.delivered, "delivered to the recipient")
    ]
    outcomes += [(r.value, n, REASON_TEXT[r]) for r, n in report.rejected_by_reason.items()]
    if total.unaccounted:
        outcomes.append(("IN_FLIGHT_OR_LOST", total.unaccounted, "no outcome recorded"))
    chart = BarChart(
        "Outcomes by reason (all tiers)",
        tuple(name for name, _, _ in outcomes),
        (BarSeries("documents", tuple(float(n) for _, n, _ in outcomes)),),
        horizontal=True,
        value_label="documents (per recipient)",
        tones=tuple(_tone(name) for name, _, _ in outcomes),
    )

    def share(n: int) -> str:
        return fmt_share(n / total.addressed if total.addressed else None)

    table = Table(
        "Outcomes by reason",
        ("outcome", "documents", "of addressed", "meaning"),
        tuple((name, fmt_count(n), share(n), text) for name, n, text in outcomes),
        align="lrrl",
    )
    return Section("Outcomes", "", (chart,), (table,))


def _priority_name(p: Priority) -> str:
    return p.name.lower().replace("_", " ")


def _tone(outcome: str) -> Tone:
    if outcome == "DELIVERED":
        return Tone.PASS
    if outcome in (ReasonCode.CLASSIFIED.value, ReasonCode.NOT_CONNECTED.value):
        return Tone.MUTED
    return Tone.WARN if outcome == "IN_FLIGHT_OR_LOST" else Tone.FAIL
