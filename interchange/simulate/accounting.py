"""The accounting of a simulation: the ledger against what the stages counted, and the
judgement of the run (the problems that fail it).

`complete` is the test the run's wait loop asks each poll; `ledger_as_sent` replans the
ledger when the producer stopped before its plan; `settle` applies the recipients'
deliveries and the router's rejection records to the ledger at the end; `judge` names
every way the run failed (lost, duplicated, leaked, malformed, unverified, unbalanced).
"""

from __future__ import annotations

from pathlib import Path

from interchange.axis.directory import Directory
from interchange.delivery.acks import AckCounts
from interchange.delivery.recipient import read_counts
from interchange.delivery.state import InboxCounts
from interchange.metrics.coverage import CoverageReport
from interchange.settings import Settings
from interchange.simulate.ledger import (
    Ledger,
    apply_deliveries,
    apply_rejections,
    plan_ledger,
    read_rejections,
)
from interchange.simulate.values import StatsTotals
from interchange.workload.generator import WorkloadSpec
from interchange.workload.manifest import read_manifest


def complete(t: StatsTotals, ledger: Ledger, accepted: int) -> bool:
    """Every expected delivery registered, every addressed recipient has an outcome, and
    every delivery its status 03 back."""
    return (
        t.delivered >= ledger.expected_delivered and t.unaccounted == 0 and accepted >= t.delivered
    )


def ledger_as_sent(
    ledger: Ledger,
    manifest: Path,
    *,
    directory: Directory,
    spec: WorkloadSpec,
    seed: int,
    start_us: int,
) -> Ledger:
    """The plan up to what the producer's manifest says it sent (it may stop early)."""
    sent = int(read_manifest(manifest)["sent"]["documents"])
    if sent == ledger.documents:
        return ledger
    return plan_ledger(directory, spec, seed, start_us, documents=sent)


def settle(settings: Settings, ledger: Ledger, files: list[Path], start_us: int) -> InboxCounts:
    """Apply the recipients' deliveries (from their stats files) and, once the run has
    started, the rejection records since `start_us` to `ledger`; the recipients' counts."""
    counts = read_counts(files)
    apply_deliveries(ledger, {a: c.delivered for a, c in counts.by_agency.items()})
    if start_us:
        apply_rejections(ledger, read_rejections(settings, start_us))
    return counts


def judge(
    report: CoverageReport, ledger: Ledger, counts: InboxCounts, acks: AckCounts | None
) -> list[str]:
    """The problems of a settled run, in words; none means it passed."""
    p: list[str] = []
    lost = ledger.expected_delivered - counts.delivered
    if lost > 0:
        p.append(f"LOST: {lost:,} of {ledger.expected_delivered:,} expected deliveries missing")
    if counts.duplicates:
        p.append(f"DUPLICATED: {counts.duplicates:,} deliveries arrived twice")
    if counts.leaks:
        p.append(f"LEAK: {counts.leaks:,} classified documents were delivered")
    if counts.malformed:
        p.append(f"{counts.malformed:,} malformed delivery records")
    if report.total.signature_invalid:
        p.append(f"{report.total.signature_invalid:,} deliveries failed re-verification")
    for tier in report.tiers:
        if tier.unaccounted:
            p.append(f"{tier.label}: {tier.unaccounted:+,} addressed without an outcome")
    bad = list(ledger.mismatches())
    if bad:
        names = ", ".join(a for a, _ in bad[:5])
        p.append(f"{len(bad)} agencies do not balance (e.g. {names}); see summary.json")
    if ledger.unattributed:
        p.append(f"{ledger.unattributed} rejection records name no planned document")
    if acks is not None and acks.workflow_violations:
        p.append(
            f"{acks.workflow_violations:,} statuses break the work-record order "
            "(out of order, after 06, 15/16 without 13, 15 after 06, work after 15); "
            "`interchange audit` names them"
        )
    return p
