"""The audit stage: split records by topic, re-decide and re-verify on every core, cross-check.

Records come from `audit.replay` (Kafka) or `audit.archive` (an archive read back);
this module does not care which. Re-verification is CPU-bound, so deliveries (chunks),
then submissions (one task per partition: the replay guard is per partition) go to a
process pool; each worker opens the trust store once. Deliveries come first because
their router hops, with the rejections' times, are the receipt times the submissions
are judged at again (`audit.facts.router_times`). The cross-checks and the figures are pure
(`audit.checks`). See docs/AUDIT.md.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import resource
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from interchange.audit.checks import audit_records
from interchange.audit.compare import Comparison, compare
from interchange.audit.deliveries import (
    DeliveryFact,
    Verified,
    delivery_fact,
    delivery_facts,
    verify_values,
)
from interchange.audit.evidence import Evidence, named_differences
from interchange.audit.facts import (
    ReceiptTimes,
    RouterTimes,
    Submission,
    router_times,
    submission_facts,
)
from interchange.audit.findings import Finding, Kind, RawRecord
from interchange.audit.reverify import Reverified
from interchange.axis.directory import Directory
from interchange.errors import DecodeError
from interchange.kafka.topics import TopicLayout
from interchange.metrics.coverage import CoverageReport, Sla, Targets, compute_coverage
from interchange.metrics.coverage_json import coverage_payload
from interchange.metrics.run import RunMetrics
from interchange.metrics.targets import DEFAULT_TARGETS
from interchange.pki.truststore import TrustStore
from interchange.routing.formats import EdxmlFormats
from interchange.routing.replay_guard import DEFAULT_REPLAY_CAPACITY
from interchange.settings import Settings
from interchange.wire import codec
from interchange.wire.model import Rejection, Tier

T = TypeVar("T")
R = TypeVar("R")

# Findings that need the whole run: with a partial replay they are notes, not failures.
CROSS_RECORD = frozenset(
    {
        Kind.MISSING_DELIVERY,
        Kind.DUPLICATE_DELIVERY,
        Kind.DELIVERED_TWICE,
        Kind.FORGED_DELIVERY,
        Kind.TARGET_NOT_DELIVERED,
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
    with _no_collector():
        started, cpu_started = time.perf_counter(), _cpu_seconds()
        subs, facts, checks = _facts(subs_by_partition, deliveries, _decoded(rejections), config)
        seconds = time.perf_counter() - started
        cpu = _cpu_seconds() - cpu_started
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
            "signature_checks": checks,
            # CPU of this process and its workers: on a shared machine, records per
            # CPU-second says what the work costs whatever else was running.
            "cpu_seconds": round(cpu, 3),
        },
        judged=per_topic,
    )
    if live_report is not None:
        outcome.comparison = compare(live_report, coverage_payload(coverage))
        outcome.findings += named_differences(outcome.comparison, evidence)
    return outcome


@contextmanager
def _no_collector() -> Iterator[None]:
    """The cyclic garbage collector off while the audit runs, and what exists frozen.

    The audit allocates millions of objects that live until it ends (decoded
    documents, verdicts, facts, statuses) and frees almost nothing cyclic (a few
    thousand objects in a 20,000-document run), yet each full collection walks all
    of them: ~15% of the re-verification's CPU. Reference counting still frees the
    rest; the collector resumes, and the frozen objects thaw, when the audit ends.
    """
    enabled = gc.isenabled()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        gc.unfreeze()


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
) -> tuple[list[Submission], list[DeliveryFact], int]:
    """Each distinct delivery value decoded once, then submissions decided per partition
    at the receipt times the router recorded; each distinct document verified once, for
    its deliveries and its submission. Also returns how many signature checks ran."""
    # Opened here first even for the pool: a missing or broken keys directory is one
    # clear PkiError, not a worker initializer's traceback and a BrokenProcessPool.
    trust = TrustStore.open(config.keys_dir)
    partitions = max([config.submission_partitions, *(p + 1 for p in subs)])
    if config.workers <= 1:
        once = Reverified(trust, EdxmlFormats(trust))
        facts = delivery_facts(deliveries, trust, once)
        times = router_times(facts, rejections)
        s: list[Submission] = []
        for p in sorted(subs):
            s += submission_facts(
                subs[p], config.directory, trust, config.replay_capacity,
                partitions=partitions, times=times, cache=once,
            )  # fmt: skip
        return s, facts, once.verifications
    tasks = _tasks(subs, deliveries, config.chunk)
    rejected = router_times([], rejections)
    # Each task's delivery facts and receipt times are gathered as soon as its result is
    # in, while the other workers still run: only the receipt-time check below waits for
    # the whole pool.
    placed: list[DeliveryFact | None] = [None] * len(deliveries)
    found = ReceiptTimes()
    found.add(rejections=rejections)
    for i, (rec, tier) in enumerate(deliveries):
        if rec.excluded is not None:  # an archived leak: metadata only, not in any task
            fact = placed[i] = delivery_facts([(rec, tier)], trust)[0]
            found.add([fact])
    done: list[tuple[_Task, _Done]] = []
    checks = 0
    with tempfile.TemporaryDirectory(prefix="interchange-audit-") as tmp:
        directory_file = Path(tmp) / "directory.json"
        config.directory.save(directory_file)
        initargs = (str(config.keys_dir), str(directory_file), config.replay_capacity)
        for task, result in _run_pool(config, (*initargs, partitions, rejected), _task, tasks):
            for i, n in task.slots:
                rec, tier = deliveries[i]
                placed[i] = delivery_fact(rec, tier, result.verified[n])
            found.add(result.verified)  # each distinct value: the times of all its records
            checks += result.checks
            done.append((task, result))
    every = [f for f in placed if f is not None]
    assert len(every) == len(deliveries)  # every delivery is in exactly one task, or excluded
    times = found.settled()
    decided, again = _settle(done, subs, times, trust=trust, partitions=partitions, config=config)
    return decided, every, checks + again


def _settle(
    done: list[tuple[_Task, _Done]],
    subs: dict[int, list[RawRecord]],
    times: RouterTimes,
    *,
    trust: TrustStore,
    partitions: int,
    config: AuditConfig,
) -> tuple[list[Submission], int]:
    """Each partition's submissions, in the order the checks take them, and the signature
    checks of deciding again a partition whose task decided with other receipt times than
    all the records give."""
    checks = 0
    by_partition: dict[int, list[Submission]] = {}
    for task, result in done:
        if task.partition is None:
            continue
        if all(times.get(d, []) == t for d, t in result.times.items()):
            by_partition[task.partition] = result.submissions
            continue
        # A delivery of this partition's documents was in another task (its sender
        # header missing or false): decide again with every receipt time.
        once = Reverified(trust, EdxmlFormats(trust))
        by_partition[task.partition] = submission_facts(
            task.records, config.directory, trust, config.replay_capacity,
            partitions=partitions, times=times, cache=once,
        )  # fmt: skip
        checks += once.verifications
    order = sorted(subs, key=lambda p: -len(subs[p]))  # the order the checks saw before
    return [x for p in order for x in by_partition[p]], checks


@dataclass(frozen=True, slots=True)
class _Task:
    """A submissions partition and the delivery values of the same senders, so one
    `Reverified` sees each document on its deliveries and its submission; or (partition
    None) a chunk of delivery values no partition claims."""

    partition: int | None
    records: list[RawRecord]  # the partition's submissions, in offset order
    deliveries: list[bytes]  # distinct delivery values
    # (index in the audit's delivery list, index in `deliveries`) of each delivery record
    # whose value is in this task: the audit process builds its facts from the result
    slots: list[tuple[int, int]]

    @property
    def size(self) -> int:
        return len(self.records) + len(self.deliveries)


@dataclass(frozen=True, slots=True)
class _Done:
    verified: list[Verified]  # per task delivery value
    submissions: list[Submission]
    times: dict[bytes, list[int]]  # the receipt times each submission's content was given
    checks: int  # signature checks that ran


def _tasks(
    subs: dict[int, list[RawRecord]], deliveries: list[tuple[RawRecord, Tier]], chunk: int
) -> list[_Task]:
    """Partition tasks and chunks of unclaimed deliveries, largest first.

    A submission's key is its sender id and a delivery names its document's sender in
    its `sender` header. The header only steers a delivery to the task of its document:
    the receipt times a task decided with are checked against all of them afterwards.
    """
    partition_of = {r.key: p for p, records in subs.items() for r in records if r.key}
    claimed: dict[int | None, _EqualValues] = {p: _EqualValues() for p in subs}
    claimed[None] = _EqualValues()  # no partition claims them
    for i, (rec, _tier) in enumerate(deliveries):
        if rec.excluded is not None:
            continue  # nothing to verify: the parent reads its exclusion metadata
        part = None
        for k, v in rec.headers:
            if k == "sender":
                part = partition_of.get(v) if v is not None else None
                break
        claimed[part].add(rec.value or b"", i)

    def task(partition: int | None, records: list[RawRecord], found: _Groups) -> _Task:
        values = [value for value, _ in found]
        slots = [(i, n) for n, (_, records_of) in enumerate(found) for i in records_of]
        return _Task(partition, records, values, slots)

    tasks = [task(p, records, claimed[p].groups) for p, records in subs.items()]
    left = claimed[None].groups
    tasks += [task(None, [], left[n : n + chunk]) for n in range(0, len(left), chunk)]
    tasks.sort(key=lambda t: -t.size)
    return tasks


_Groups = list[tuple[bytes, list[int]]]  # distinct values, each with its records' indices
_TAIL = 64  # bytes: an envelope ends with its trace, whose router hop time is per record


class _EqualValues:
    """Delivery values grouped by equality, in order of first sight, without hashing each
    whole value (~8 KB; that hash was most of the audit's serial work before the pool).

    A value is looked up by its last `_TAIL` bytes, and equality is then decided on the
    whole value, so a shared tail can never merge two different values. A value whose tail
    an unequal value already holds goes to a dict keyed by the whole value: many values
    with one tail (hostile input) cost what hashing them all did, never a linear scan."""

    def __init__(self) -> None:
        self.groups: _Groups = []
        self._by_tail: dict[bytes, tuple[bytes, list[int]]] = {}
        self._by_value: dict[bytes, list[int]] = {}  # values whose tail was taken

    def add(self, value: bytes, index: int) -> None:
        tail = value[-_TAIL:]
        first = self._by_tail.get(tail)
        if first is None:
            group: tuple[bytes, list[int]] = (value, [index])
            self._by_tail[tail] = group
            self.groups.append(group)
        elif first[0] == value:
            first[1].append(index)
        else:
            records_of = self._by_value.get(value)
            if records_of is None:
                records_of = self._by_value[value] = []
                self.groups.append((value, records_of))
            records_of.append(index)


def _run_pool(
    config: AuditConfig, initargs: tuple[Any, ...], work: Callable[[T], R], tasks: list[T]
) -> Iterator[tuple[T, R]]:
    """`work` over `tasks` on `config.workers` processes; each task with its result, in
    the order they finish (so the caller merges one while the workers run the rest).

    A forked worker reads its task from memory it shares with the parent, so only an
    index crosses the pipe (pickling the records, and unpickling them in the worker,
    cost about as much CPU as decoding their envelopes); a spawned one gets the task
    pickled. The caller holds the garbage collector off (`_no_collector`), which a
    forked worker inherits and a spawned one sets in `_init`.
    """
    context = _context()
    inherit = context.get_start_method() == "fork"
    _INHERITED[:] = tasks if inherit else []
    try:
        with ProcessPoolExecutor(
            max_workers=config.workers, mp_context=context, initializer=_init, initargs=initargs
        ) as pool:
            job = _Job(work)
            running = {pool.submit(job, i if inherit else task): i for i, task in enumerate(tasks)}
            for finished in as_completed(running):
                yield tasks[running[finished]], finished.result()
    finally:
        _INHERITED.clear()


@dataclass(frozen=True, slots=True)
class _Job(Generic[T, R]):
    """Picklable: resolves a task index to the inherited task, then runs `work` on it."""

    work: Callable[[T], R]

    def __call__(self, job: T | int) -> R:
        task: T = _INHERITED[job] if isinstance(job, int) else job
        return self.work(task)


def _cpu_seconds() -> float:
    """CPU time of this process and of its children that have ended (the pool's workers,
    once the pool is shut down)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _context() -> Any:
    """fork when this process runs no other thread (fast, and no re-import of the caller's
    main script); spawn otherwise, since forking a threaded process is unsafe."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


# -- worker side (one trust store and directory per process) ---------------------------

_WORKER: dict[str, Any] = {}
_INHERITED: list[Any] = []  # set in the parent just before a fork pool starts


def _init(
    keys_dir: str,
    directory_file: str,
    capacity: int,
    partitions: int = 1,
    rejected: RouterTimes | None = None,
) -> None:
    gc.freeze()  # a spawned worker's imports; a forked one has them frozen already
    gc.disable()  # as in the parent (`_no_collector`): its caches live until it ends
    _WORKER["trust"] = TrustStore.open(Path(keys_dir))
    _WORKER["directory"] = Directory.load(Path(directory_file))
    _WORKER["capacity"] = capacity
    _WORKER["partitions"] = partitions
    _WORKER["rejected"] = rejected or {}


def _task(task: _Task) -> _Done:
    """Verify the task's deliveries, then decide its submissions at the receipt times
    those deliveries and the rejections record, with the same cache."""
    w = _WORKER
    once = Reverified(w["trust"], EdxmlFormats(w["trust"]))
    verified = verify_values(task.deliveries, w["trust"], once)
    if task.partition is None:
        return _Done(verified, [], {}, once.verifications)
    times = _Asked(router_times(verified, ()))
    for digest, more in w["rejected"].items():
        times[digest] = sorted({*times.get(digest, ()), *more})
    times.asked.clear()
    submissions = submission_facts(
        task.records, w["directory"], w["trust"], w["capacity"],
        partitions=w["partitions"], times=times, cache=once,
    )  # fmt: skip
    used = {d: list(dict.get(times, d, ())) for d in times.asked}
    return _Done(verified, submissions, used, once.verifications)


class _Asked(dict[bytes, list[int]]):
    """Receipt times that remember which digests were asked for, so the parent can
    check a task decided with the same times as all the records give."""

    def __init__(self, times: dict[bytes, list[int]]) -> None:
        super().__init__(times)
        self.asked: set[bytes] = set()

    def get(self, key: bytes, default: Any = None) -> Any:
        self.asked.add(key)
        return super().get(key, default)


def default_workers() -> int:
    """Both cores of the reference machine (every core of any other)."""
    return max(1, os.cpu_count() or 1)
