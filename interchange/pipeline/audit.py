"""The audit stage: split records by topic, re-decide and re-verify on every core, cross-check.

Records come from `pipeline.replay` (Kafka) or `pipeline.archive` (an archive read back);
this module does not care which. Re-verification is CPU-bound, so deliveries (chunks),
then submissions (one task per partition: the replay guard is per partition) go to a
process pool; each worker opens the trust store once. Deliveries come first because
their router hops, with the rejections' times, are the receipt times the submissions
are judged at again (`core.audit_facts.router_times`). The cross-checks and the figures are pure
(`core.audit_checks`). See docs/AUDIT.md.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from interchange.core import codec
from interchange.core.audit_checks import audit_records
from interchange.core.audit_compare import Comparison, compare
from interchange.core.audit_evidence import Evidence, named_differences
from interchange.core.audit_facts import (
    DeliveryFact,
    RouterTimes,
    Submission,
    Verified,
    delivery_fact,
    delivery_facts,
    router_times,
    submission_facts,
    verify_values,
)
from interchange.core.audit_findings import Finding, Kind, RawRecord
from interchange.core.coverage import CoverageReport, Sla, Targets, compute_coverage
from interchange.core.directory import Directory
from interchange.core.metrics import RunMetrics
from interchange.core.model import Rejection, Tier
from interchange.core.policy import DEFAULT_REPLAY_CAPACITY
from interchange.core.targets import DEFAULT_TARGETS
from interchange.core.truststore import TrustStore
from interchange.errors import DecodeError
from interchange.pipeline.topics import TopicLayout
from interchange.settings import Settings

# Findings that need the whole run: with a partial replay they are notes, not failures.
CROSS_RECORD = frozenset(
    {
        Kind.MISSING_DELIVERY,
        Kind.DUPLICATE_DELIVERY,
        Kind.DELIVERED_TWICE,
        Kind.FORGED_DELIVERY,
        Kind.CONTENT_MISMATCH,
        Kind.WRONG_DELIVERY_TOPIC,
        Kind.REASON_MISMATCH,
        Kind.UNEXPECTED_REJECTION,
        Kind.MISSING_REJECTION,
        Kind.STATUS_WITHOUT_DELIVERY,
    }
)


@dataclass(frozen=True, slots=True)
class AuditConfig:
    directory: Directory
    keys_dir: Path
    layout: TopicLayout
    workers: int = 2
    chunk: int = 1_000
    replay_capacity: int = DEFAULT_REPLAY_CAPACITY
    # partition count of the submissions topic (the router's WRONG_PARTITION check);
    # raised to cover any partition the records show
    submission_partitions: int = Settings().submission_partitions
    partial: bool = False
    targets: Targets = DEFAULT_TARGETS
    sla: Sla = field(default_factory=Sla)


@dataclass
class AuditOutcome:
    findings: list[Finding]
    notes: list[Finding]  # cross-record findings of a partial replay (not failures)
    metrics: RunMetrics
    coverage: CoverageReport
    counts: dict[str, int]
    reverify: dict[str, Any]
    comparison: list[Comparison] = field(default_factory=list)
    judged: dict[str, int] = field(default_factory=dict)  # records judged, per audited topic

    @property
    def passed(self) -> bool:
        return not self.findings


def run_audit(
    records: Sequence[RawRecord],
    config: AuditConfig,
    *,
    prior: Sequence[Finding] = (),
    live_report: dict[str, Any] | None = None,
) -> AuditOutcome:
    """Audit `records` (any order); `prior` findings (the archive's) are kept first."""
    subs_by_partition: dict[int, list[RawRecord]] = {}
    deliveries: list[tuple[RawRecord, Tier]] = []
    rejections: list[RawRecord] = []
    statuses: list[RawRecord] = []
    tiers = {config.layout.delivery(t): t for t in Tier}
    judged = judged_topics(config.layout)
    per_topic = dict.fromkeys(judged, 0)
    for rec in records:
        if rec.topic in per_topic:
            per_topic[rec.topic] += 1
        if rec.topic == config.layout.submissions:
            subs_by_partition.setdefault(rec.partition, []).append(rec)
        elif rec.topic in tiers:
            deliveries.append((rec, tiers[rec.topic]))
        elif rec.topic == config.layout.rejections:
            rejections.append(rec)
        elif rec.topic == config.layout.status:
            statuses.append(rec)
    for part in subs_by_partition.values():
        part.sort(key=lambda r: r.offset)
    started = time.perf_counter()
    subs, facts = _facts(subs_by_partition, deliveries, _decoded(rejections), config)
    seconds = time.perf_counter() - started
    verified = len(subs) + len(facts)
    # The records behind every figure are kept only when a differing one must name them.
    evidence = Evidence() if live_report is not None else None
    result = audit_records(
        subs, facts, rejections, statuses, config.directory.by_id, evidence=evidence
    )
    coverage = compute_coverage(result.metrics, config.targets, config.sla)
    findings = list(prior)
    if not any(per_topic.values()):
        findings.append(nothing_judged(config.layout, len(records)))
    notes: list[Finding] = []
    for f in result.findings:
        (notes if config.partial and f.kind in CROSS_RECORD else findings).append(f)
    outcome = AuditOutcome(
        findings,
        notes,
        result.metrics,
        coverage,
        result.counts,
        {
            "records": verified,
            "seconds": round(seconds, 3),
            "records_per_s": round(verified / seconds, 1) if seconds > 0 else 0.0,
            "workers": config.workers,
        },
        judged=per_topic,
    )
    if live_report is not None:
        from interchange.report.json_report import coverage_payload

        outcome.comparison = compare(live_report, coverage_payload(coverage))
        outcome.findings += named_differences(outcome.comparison, evidence)
    return outcome


def judged_topics(layout: TopicLayout) -> tuple[str, ...]:
    """The topics whose records the audit judges (router-state is the router's own)."""
    return (
        layout.submissions,
        *(layout.delivery(t) for t in Tier),
        layout.rejections,
        layout.status,
    )


def nothing_judged(layout: TopicLayout, read: int) -> Finding:
    """The audit read no record of the run: an empty or mis-prefixed source proves nothing."""
    return Finding(
        Kind.NOTHING_JUDGED,
        f"nothing to judge: {read:,} record(s) read, none on the audited topics "
        f"({layout.submissions}, ...); an empty or mis-prefixed source proves nothing",
    )


def _decoded(records: Sequence[RawRecord]) -> list[Rejection]:
    """The rejections that decode (those that do not are findings of `audit_records`)."""
    out = []
    for rec in records:
        try:
            out.append(codec.decode_rejection(rec.value or b""))
        except DecodeError:
            continue
    return out


def _facts(
    subs: dict[int, list[RawRecord]],
    deliveries: list[tuple[RawRecord, Tier]],
    rejections: list[Rejection],
    config: AuditConfig,
) -> tuple[list[Submission], list[DeliveryFact]]:
    """Each distinct delivery value verified once; then submissions decided per partition
    at the receipt times the router recorded."""
    # Opened here first even for the pool: a missing or broken keys directory is one
    # clear PkiError, not a worker initializer's traceback and a BrokenProcessPool.
    trust = TrustStore.open(config.keys_dir)
    partitions = max([config.submission_partitions, *(p + 1 for p in subs)])
    if config.workers <= 1:
        facts = delivery_facts(deliveries, trust)
        times = router_times(facts, rejections)
        s: list[Submission] = []
        for p in sorted(subs):
            s += submission_facts(
                subs[p], config.directory, trust, config.replay_capacity,
                partitions=partitions, times=times,
            )  # fmt: skip
        return s, facts
    values = list(dict.fromkeys(rec.value or b"" for rec, _tier in deliveries))
    chunks = [values[i : i + config.chunk] for i in range(0, len(values), config.chunk)]
    with tempfile.TemporaryDirectory(prefix="interchange-audit-") as tmp:
        directory_file = Path(tmp) / "directory.json"
        config.directory.save(directory_file)
        initargs = (str(config.keys_dir), str(directory_file), config.replay_capacity)
        with _pool(config, initargs) as pool:
            val_jobs: list[Future[list[Verified]]] = [pool.submit(_values, c) for c in chunks]
            verified = [x for job in val_jobs for x in job.result()]
        by_value = dict(zip(values, verified, strict=True))
        facts = [delivery_fact(rec, tier, by_value[rec.value or b""]) for rec, tier in deliveries]
        times = router_times(facts, rejections)
        with _pool(config, (*initargs, partitions, times)) as pool:
            sub_jobs: list[Future[list[Submission]]] = [
                pool.submit(_submissions, subs[p])
                for p in sorted(subs, key=lambda p: -len(subs[p]))
            ]
            s = [x for job in sub_jobs for x in job.result()]
    return s, facts


def _pool(config: AuditConfig, initargs: tuple[Any, ...]) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=config.workers, mp_context=_context(), initializer=_init, initargs=initargs
    )


def _context() -> Any:
    """fork when this process runs no other thread (fast, and no re-import of the caller's
    main script); spawn otherwise, since forking a threaded process is unsafe."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


# -- worker side (one trust store and directory per process) ---------------------------

_WORKER: dict[str, Any] = {}


def _init(
    keys_dir: str,
    directory_file: str,
    capacity: int,
    partitions: int = 1,
    times: RouterTimes | None = None,
) -> None:
    _WORKER["trust"] = TrustStore.open(Path(keys_dir))
    _WORKER["directory"] = Directory.load(Path(directory_file))
    _WORKER["capacity"] = capacity
    _WORKER["partitions"] = partitions
    _WORKER["times"] = times or {}


def _submissions(records: list[RawRecord]) -> list[Submission]:
    w = _WORKER
    return submission_facts(
        records, w["directory"], w["trust"], w["capacity"],
        partitions=w["partitions"], times=w["times"],
    )  # fmt: skip


def _values(values: list[bytes]) -> list[Verified]:
    return verify_values(values, _WORKER["trust"])


def default_workers() -> int:
    """Both cores of the reference machine (every core of any other)."""
    return max(1, os.cpu_count() or 1)
