"""Recipient agencies: consume deliveries per tier, measure latency, send status back.

One consumer per recipient tier, each in its own group (`<group prefix>-<tier>`), each
in its own thread (the network waits release the GIL). The threads share one RunMetrics
under one lock, so each flow's histograms exist once per process and the stats file is
written without merging copies. For every delivery record:

1. decode envelope + document strictly (codec); a malformed record is counted, skipped;
2. if the recipient agency is in a downtime window (directory scenario), hold the
   record until the window ends: the agency's system was offline, the document
   waits, and its latency includes the wait (as in real life);
3. a repeat of (document id, recipient) within the last `duplicate_window` deliveries of
   the tier is a duplicate: counted, not delivered again;
4. otherwise record the delivery (latency from the intended send time, split at the
   router hop of the trace, and from the actual send time, the producer hop), count a
   leak if the document is classified, send status 01 (ARRIVED) on the status topic
   keyed by the original sender, and schedule status 03 (ACCEPTED) after a simulated
   handling delay (a timer heap, not a sleep).

Offsets are committed once a second up to the oldest record not finished yet (held, or
its 03 not sent), after flushing the status producer: at-least-once. After a crash the
unfinished records are delivered again and, in the same process, counted as duplicates.
Details: docs/SIMULATE.md.
"""

from __future__ import annotations

import heapq
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from kafka import ConsumerRebalanceListener

from interchange.core import codec
from interchange.core.atomic import atomic_write_text
from interchange.core.directory import Directory
from interchange.core.metrics import RunMetrics
from interchange.core.model import ReasonCode, Secrecy, StatusCode, StatusMessage, Tier
from interchange.pipeline.clients import make_consumer, make_producer
from interchange.pipeline.recipient_state import (
    DUPLICATE_WINDOW,
    EXTRAS_KEY,
    Arrival,
    ArrivalDecoder,
    Downtime,
    InboxCounts,
    PendingOffsets,
    RecentDeliveries,
)
from interchange.pipeline.topics import create_topics, layout_of
from interchange.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_GROUP_PREFIX = "interchange-recipients"
_RELEASE, _ACCEPT = 0, 1


class Stop(Protocol):
    def wait(self, timeout: float | None = None) -> bool: ...


@dataclass(frozen=True, slots=True)
class RecipientConfig:
    tiers: tuple[Tier, ...] = tuple(Tier)
    group_prefix: str = DEFAULT_GROUP_PREFIX
    accept_delay_s: float = 0.1  # mean simulated handling time before status 03
    seed: int = 0
    run_start_us: int | None = None  # origin of downtime windows (see `infer_run_start`)
    run_file: Path | None = None  # JSON with "start_us", read at the first arrival
    stats_file: Path | None = None
    idle_exit_s: float | None = None  # exit after this long without a record (and no timers)
    max_records: int | None = None  # exit after consuming this many delivery records
    batch_size: int = 2000
    poll_timeout_ms: int = 100
    report_interval_s: float = 1.0
    commit_interval_s: float = 1.0
    duplicate_window: int = DUPLICATE_WINDOW  # (document, recipient) pairs remembered per tier


def group_of(prefix: str, tier: Tier) -> str:
    return f"{prefix}-{tier.value}"


def now_us() -> int:
    return time.time_ns() // 1000


class _TierWorker:
    """One tier's consumer loop, timers and counters (runs in its own thread)."""

    def __init__(self, owner: Recipients, tier: Tier) -> None:
        self.owner = owner
        self.tier = tier
        self.topic = owner.layout.delivery(tier)
        self.lock = threading.Lock()
        self.counts = InboxCounts()
        self.seen = RecentDeliveries(owner.config.duplicate_window)
        self.timers: list[tuple[int, int, int, Any, int, str, Arrival]] = []
        self.pending = PendingOffsets()
        self.assigned = False
        self.last_record = time.monotonic()
        self.error: BaseException | None = None
        self._seq = 0
        self._rng = random.Random(f"{owner.config.seed}:{tier.value}")  # noqa: S311 - simulation
        self._consumer: Any = None

    # -- loop --------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        from kafka.errors import KafkaError

        try:
            self._consumer = make_consumer(
                self.owner.settings,
                group_id=group_of(self.owner.config.group_prefix, self.tier),
            )
            self._consumer.subscribe([self.topic], listener=_Listener(self))
            last_commit = time.monotonic()
            cfg = self.owner.config
            while not stop.is_set():
                timeout = cfg.poll_timeout_ms
                if self.timers:
                    due_ms = (self.timers[0][0] - now_us()) // 1000
                    timeout = max(0, min(timeout, due_ms))
                try:
                    batch = self._consumer.poll(timeout_ms=timeout, max_records=cfg.batch_size)
                    with self.lock:
                        for tp, records in batch.items():
                            for record in records:
                                self._arrive(tp, record)
                        self._fire(now_us())
                    if batch:
                        self.last_record = time.monotonic()
                    if time.monotonic() - last_commit >= cfg.commit_interval_s:
                        last_commit = time.monotonic()
                        self._commit()
                except KafkaError as exc:
                    log.warning("recipients %s: Kafka error %s; retrying", self.tier, exc)
                    stop.wait(0.5)
            with self.lock:
                self._fire(now_us(), accept_all=True)
            self._commit()
        except BaseException as exc:  # reported by the owner; the process exits non-zero
            self.error = exc
            log.exception("recipients %s: worker failed", self.tier)
        finally:
            if self._consumer is not None:
                try:
                    self._consumer.close()
                except Exception as exc:  # closing must not mask the real outcome
                    log.debug("closing consumer: %s", exc)

    def idle(self) -> bool:
        return not self.timers

    def held_now(self) -> int:
        """Records waiting for their agency's downtime window to end."""
        with self.lock:
            return sum(1 for t in self.timers if t[2] == _RELEASE)

    # -- per record --------------------------------------------------------------------
    def _arrive(self, tp: Any, record: Any) -> None:
        counts = self.counts
        counts.records += 1
        offset = record.offset
        self.pending.consumed(tp, offset)
        arrival = self.owner.decode(record.value)
        if arrival is None or not record.key:
            counts.malformed += 1
            return
        recipient = record.key.decode("utf-8", "replace")
        at = now_us()
        downtime = self.owner.downtime
        if downtime.any:
            if downtime.run_start_us is None:
                self.owner.infer_run_start(arrival.send_time_us)
            until = downtime.down_until(recipient, at)
            if until is not None:
                counts.held += 1
                self.pending.hold(tp, offset)
                self._push(until, _RELEASE, tp, offset, recipient, arrival)
                return
        self._deliver(tp, offset, recipient, arrival, at)

    def _deliver(self, tp: Any, offset: int, recipient: str, a: Arrival, at: int) -> None:
        key = (a.document_id, recipient)
        counts = self.counts
        if key in self.seen:
            with self.owner.metrics_lock:
                self.owner.metrics.record_duplicate(a.sender_tier, self.tier, a.priority)
            counts.duplicates += 1
            counts.agency(recipient).duplicates += 1
            self.pending.done(tp, offset)
            return
        self.seen.add(key)
        router, sent = a.router_time_us, a.sent_time_us
        with self.owner.metrics_lock:
            self.owner.metrics.record_delivery(
                a.sender_tier,
                self.tier,
                a.priority,
                at - a.send_time_us,
                before_router_us=None if router is None else router - a.send_time_us,
                after_router_us=None if router is None else at - router,
                from_send_us=None if sent is None else at - sent,
                reverified=a.signature_ok,
            )
        counts.delivered += 1
        agency = counts.agency(recipient)
        agency.delivered += 1
        if a.secrecy is not Secrecy.NONE:
            counts.leaks += 1
            agency.leaks += 1
        self._status(a, recipient, StatusCode.ARRIVED, at)
        counts.status_arrived += 1
        self.pending.hold(tp, offset)
        delay = min(self._rng.expovariate(1.0), 10.0) * self.owner.config.accept_delay_s
        self._push(at + round(delay * 1e6), _ACCEPT, tp, offset, recipient, a)

    def _status(self, a: Arrival, recipient: str, code: StatusCode, at: int) -> None:
        value = codec.encode_status(StatusMessage(a.document_id, a.sender, recipient, code, at))
        headers = [("code", code.value.encode()), ("send-time-us", b"%d" % a.send_time_us)]
        future = self.owner.producer.send(
            self.owner.layout.status, key=a.sender.encode(), value=value, headers=headers
        )
        future.add_errback(self.owner.status_failed)

    # -- timers --------------------------------------------------------------------------
    def _push(self, due: int, kind: int, tp: Any, off: int, *what: Any) -> None:
        """`what` is (recipient, arrival)."""
        self._seq += 1
        heapq.heappush(self.timers, (due, self._seq, kind, tp, off, *what))

    def _fire(self, now: int, *, accept_all: bool = False, only: set[Any] | None = None) -> None:
        """Run due timers; `accept_all` sends every pending 03 now (stop, revocation)."""
        keep = []
        while self.timers and (accept_all or self.timers[0][0] <= now):
            item = heapq.heappop(self.timers)
            _due, _seq, kind, tp, off, recipient, a = item
            if only is not None and tp not in only:
                keep.append(item)
                continue
            if kind == _ACCEPT:
                self._status(a, recipient, StatusCode.ACCEPTED, now_us())
                self.counts.status_accepted += 1
                self.pending.done(tp, off)
            elif item[0] <= now:  # the downtime window ended: deliver now
                self._deliver(tp, off, recipient, a, now_us())
            elif only is None:
                keep.append(item)  # stopping: a held record stays unfinished (not committed)
        for item in keep:
            heapq.heappush(self.timers, item)

    def _commit(self) -> None:
        from kafka.structs import OffsetAndMetadata

        with self.lock:
            positions = self.pending.to_commit()
        if not positions or self._consumer is None:
            return
        self.owner.producer.flush()  # statuses of committed records are on the broker
        self._consumer.commit({tp: OffsetAndMetadata(p, "", -1) for tp, p in positions.items()})
        with self.lock:
            self.pending.committed(positions)

    def revoked(self, tps: set[Any]) -> None:
        """Finish what can be finished on `tps`, drop held records (the next owner gets them)."""
        from kafka.errors import KafkaError

        with self.lock:
            self._fire(now_us(), accept_all=True, only=tps)
            self.timers = [t for t in self.timers if t[3] not in tps]
            heapq.heapify(self.timers)
        try:
            self._commit()
        except KafkaError as exc:
            log.warning("recipients %s: commit on revocation failed: %s", self.tier, exc)
        with self.lock:
            self.pending.forget(tps)


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, worker: _TierWorker) -> None:
        self._worker = worker

    def on_partitions_revoked(self, revoked: Any) -> None:
        if revoked:
            self._worker.revoked(set(revoked))

    def on_partitions_assigned(self, assigned: Any) -> None:
        self._worker.assigned = True
        log.info("recipients %s: assigned %s", self._worker.tier, sorted(assigned))

    def on_partitions_lost(self, lost: Any) -> None:
        self.on_partitions_revoked(lost)


class Recipients:
    """All recipient tiers of one process. `run(stop)` connects, consumes, writes stats."""

    def __init__(
        self,
        settings: Settings,
        directory: Directory,
        config: RecipientConfig,
        *,
        verify: Callable[[bytes, bytes, str, str, int], ReasonCode | None] | None = None,
        echo: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.config = config
        self.layout = layout_of(settings)
        self.directory = directory
        self.decode = ArrivalDecoder(directory, verify)
        agencies = [a.id for a in directory if a.tier in config.tiers]
        self.downtime = Downtime(directory, agencies)
        if config.run_start_us is not None:
            self.downtime.start(config.run_start_us)
        self.metrics = RunMetrics()  # shared by the tier threads, under `metrics_lock`
        self.metrics_lock = threading.Lock()
        self.workers = [_TierWorker(self, t) for t in config.tiers]
        self.producer: Any = None
        self._failed_lock = threading.Lock()
        self._failed = 0
        self._echo = echo or (lambda line: None)

    def infer_run_start(self, send_time_us: int) -> None:
        """No --run-start: "start_us" of the run file if readable, else the first send time."""
        with self._failed_lock:
            if self.downtime.run_start_us is not None:
                return
            start, source = send_time_us, "the first document"
            if self.config.run_file is not None:
                try:
                    data = json.loads(Path(self.config.run_file).read_text(encoding="utf-8"))
                    start, source = int(data["start_us"]), str(self.config.run_file)
                except (OSError, ValueError, KeyError, TypeError) as exc:
                    log.warning("run file %s unreadable (%s)", self.config.run_file, exc)
            self.downtime.start(start)
            self._echo(f"recipients: run start {start} (from {source})")

    def status_failed(self, exc: BaseException) -> None:
        with self._failed_lock:
            self._failed += 1
        log.warning("status send failed: %s", exc)

    def snapshot(self) -> tuple[RunMetrics, InboxCounts]:
        """A copy of the metrics and the summed counters (for callers that keep them)."""
        with self.metrics_lock:
            metrics = RunMetrics().merge(self.metrics)
        return metrics, self._counts()

    def _counts(self) -> InboxCounts:
        counts = InboxCounts()
        for w in self.workers:
            with w.lock:
                counts.merge(w.counts)
        counts.ready = all(w.assigned for w in self.workers)
        counts.status_failed += self._failed
        return counts

    def write_stats(self) -> None:
        if self.config.stats_file is None:
            return
        counts = self._counts()
        with self.metrics_lock:  # encoded in place: no per-second copy of every histogram
            data = self.metrics.to_dict()
        data |= {
            EXTRAS_KEY: counts.to_dict()
            | {
                "tiers": [t.value for t in self.config.tiers],
                "run_start_us": self.downtime.run_start_us,
                "held_now": sum(w.held_now() for w in self.workers),
            }
        }
        atomic_write_text(Path(self.config.stats_file), json.dumps(data, separators=(",", ":")))

    def run(self, stop: Stop) -> InboxCounts:
        """Consume until `stop`, `max_records` or `idle_exit_s`; return the final counts.

        Raises the first worker's exception (after stopping the others) if one failed.
        """
        create_topics(self.settings)
        self.producer = make_producer(self.settings)
        halt = threading.Event()
        threads = [
            threading.Thread(target=w.run, args=(halt,), name=f"recipients-{w.tier}", daemon=True)
            for w in self.workers
        ]
        for t in threads:
            t.start()
        cfg = self.config
        try:
            while not stop.wait(cfg.report_interval_s):
                self.write_stats()
                if any(w.error is not None for w in self.workers) or self._done():
                    break
        finally:
            halt.set()
            for t in threads:
                t.join(timeout=30)
            self.producer.flush(timeout=30)
            self.producer.close(timeout=10)
            self.write_stats()
        for w in self.workers:
            if w.error is not None:
                raise w.error
        return self._counts()

    def _done(self) -> bool:
        cfg = self.config
        records = sum(w.counts.records for w in self.workers)
        if cfg.max_records is not None and records >= cfg.max_records:
            return True
        if cfg.idle_exit_s is not None:
            quiet = time.monotonic() - max(w.last_record for w in self.workers)
            return quiet >= cfg.idle_exit_s and all(w.idle() for w in self.workers)
        return False


def read_counts(paths: list[Path]) -> InboxCounts:
    """Sum the recipients counters of stats files (files without them are skipped)."""
    total = InboxCounts(ready=True)
    found = False
    for path in paths:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        extras = data.get(EXTRAS_KEY) if isinstance(data, dict) else None
        if isinstance(extras, dict):
            total.merge(InboxCounts.from_dict(extras))
            found = True
    if not found:
        total.ready = False
    return total
