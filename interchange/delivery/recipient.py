"""Recipient agencies: consume deliveries, measure latency, send status back.

One consumer per process reads the delivery topics of every tier the process
serves, in one consumer group (`--group-prefix`), on the main thread. Each poll
batch goes through decode, deliver and status sends together; the batch's
statuses are flushed at once and the offsets committed with them. For every
delivery record:

1. decode envelope + document strictly (codec, cached per distinct record value);
   a malformed record is counted, skipped;
2. if the recipient agency is in a downtime window (directory scenario), hold the
   record until the window ends: the agency's system was offline, the document
   waits, and its latency includes the wait (as in real life);
3. a repeat of (document id, recipient) within the last `duplicate_window`
   deliveries of the tier is a duplicate: counted, not delivered again; a record
   the previous owner of its partition had already handled (at or below the handled
   mark it saved, `marks.HandledMarks`) is a redelivery: counted apart, not as a
   delivery, and handled again from its 01 (that owner may have died before its 03);
4. otherwise record the delivery (latency from the intended send time, split at the
   router hop of the trace, and from the actual send time, the producer hop), count a
   leak if the document is classified, send status 01 (ARRIVED) on the status topic
   keyed by the original sender, and schedule status 03 (ACCEPTED) after a simulated
   handling delay (a timer heap, not a sleep);
5. a revoke (business type 1) is also the recall request of its target: for the
   target's work record at this recipient, status 13 (requested) then 15 (agreed: the
   record is withdrawn, its handling stops after its 03) or 16 (refused: the record is completed,
   06 sent), from `WorkStates`, the bounded open/completed state per record; an update
   (business type 2) is answered 15 (agreed: the record goes on, updated) or 16 the same
   way, without a 13 (no status code records an update request).

Offsets are committed every `commit_interval_s` up to the oldest record not
finished yet (held, or its 03 not sent), after the statuses before it are flushed:
at-least-once. Rebalance callbacks run on kafka-python's network thread, where no
consumer call may block, so they only note what changed; the loop acts on it
after the poll. Details: docs/SIMULATE.md.

This module is the Kafka side (consumer, status producer, commits, rebalances, handled
marks, stats); steps 3 to 5, the timers and the statuses are `handling.Handling`'s.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kafka import ConsumerRebalanceListener

from interchange.atomic import atomic_write_text
from interchange.axis.directory import Directory
from interchange.clock import now_us
from interchange.delivery.handling import Handling, Item
from interchange.delivery.marks import HandledMarks
from interchange.delivery.state import (
    DUPLICATE_WINDOW,
    EXTRAS_KEY,
    ArrivalDecoder,
    Downtime,
    InboxCounts,
    PendingOffsets,
)
from interchange.heap import settle_startup_heap
from interchange.kafka.clients import (
    assign_all,
    close_quietly,
    make_consumer,
    make_producer,
    producer_is_fenced_or_lost,
)
from interchange.kafka.fetchwait import AdaptiveFetchWait
from interchange.kafka.seam import Consumer, Producer, Stop
from interchange.kafka.topics import create_topics, layout_of
from interchange.metrics.run import RunMetrics
from interchange.routing.formats import EnvelopeTrust
from interchange.settings import Settings
from interchange.wire.model import Tier
from interchange.workrecords.plan import DEFAULT_WORK_SETTINGS, WorkSettings

log = logging.getLogger(__name__)
REPORT_CHECK_RECORDS = 64  # within a batch, is the stats file due? (~40 ms of work apart)

DEFAULT_GROUP_PREFIX = "interchange-recipients"
FLUSH_TIMEOUT_S = 5.0  # a status flush longer than this is an outage: retried, said once
COMMIT_TIMEOUT_MS = 15_000
STOP_BUDGET_S = 5.0  # all a stopping process still does (flush, commit, closes), together


@dataclass(frozen=True, slots=True)
class RecipientConfig:
    tiers: tuple[Tier, ...] = tuple(Tier)
    group_prefix: str = DEFAULT_GROUP_PREFIX  # the consumer group of the process
    accept_delay_s: float = 0.1  # mean simulated handling time before status 03
    seed: int = 0
    run_start_us: int | None = None  # origin of downtime windows (see `infer_run_start`)
    run_file: Path | None = None  # JSON with "start_us", read at the first arrival
    stats_file: Path | None = None
    idle_exit_s: float | None = None  # exit after this long without a record (and no timers)
    max_records: int | None = None  # exit after consuming this many delivery records
    batch_size: int = 2000
    poll_timeout_ms: int = 250  # a poll returns as soon as records (or a timer) are due
    report_interval_s: float = 1.0
    commit_interval_s: float = 0.5
    duplicate_window: int = DUPLICATE_WINDOW  # (document, recipient) pairs remembered per tier
    static: bool = False  # own every partition without a group join (a single process only)
    work: WorkSettings = DEFAULT_WORK_SETTINGS  # online shares per tier, the time scale


class Recipients:
    """All recipient tiers of one process. `run(stop)` connects, consumes, writes stats."""

    def __init__(
        self,
        settings: Settings,
        directory: Directory,
        config: RecipientConfig,
        *,
        trust: EnvelopeTrust | None = None,
        echo: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.config = config
        self.layout = layout_of(settings)
        self.directory = directory
        self.decode = ArrivalDecoder(directory, trust)
        agencies = [a.id for a in directory if a.tier in config.tiers]
        self.downtime = Downtime(directory, agencies)
        if config.run_start_us is not None:
            self.downtime.start(config.run_start_us)
        self.tier_of_topic = {self.layout.delivery(t): t for t in config.tiers}
        self._status_topic = self.layout.status
        self.metrics = RunMetrics()
        self.counts = InboxCounts()
        self.pending = PendingOffsets()
        self.handling = Handling(
            config.tiers,
            self._send_status,
            self.counts,
            self.metrics,
            self.pending,
            seed=config.seed,
            accept_delay_s=config.accept_delay_s,
            duplicate_window=config.duplicate_window,
            work=config.work,
        )
        self.marks: dict[Any, int] = {}  # partition -> last offset handled by a previous owner
        self.mark_store: HandledMarks | None = None  # where the marks are kept (run makes it)
        self.handled: dict[Any, int] = {}  # partition -> last offset this process handled
        self.producer: Producer | None = None
        self._consumer: Consumer | None = None
        self._lock = threading.RLock()  # the loop's state against `snapshot` from other threads
        self._futures: list[Any] = []  # status sends since the last flush
        self._assigned: set[Any] | None = None  # set by the listener, read after poll
        self._revoked: set[Any] = set()
        self._echo = echo or (lambda line: None)
        self.last_record = time.monotonic()
        self.ready = False  # the group gave this process its partitions (at least once)
        self._down_since: float | None = None  # Kafka stopped answering (one line per outage)
        self._stop_by: float | None = None  # monotonic deadline of the stop budget, once stopping
        self._written: object = None  # the counters of the last stats file written
        self._last_report = time.monotonic()  # when the stats file was last due and written
        # the metrics' JSON form at (delivered, duplicates): it changes only with them
        self._metrics_dict: tuple[tuple[int, int], dict[str, Any]] | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def run(self, stop: Stop) -> InboxCounts:
        """Consume until `stop`, `max_records` or `idle_exit_s`; return the final counts."""
        from kafka.errors import KafkaError

        cfg = self.config
        create_topics(self.settings)
        self.producer = self._status_producer()
        consumer = make_consumer(self.settings, group_id=cfg.group_prefix)
        self._consumer = consumer
        self.mark_store = HandledMarks(
            cfg.group_prefix, lambda group: make_consumer(self.settings, group_id=group)
        )
        if cfg.static:
            self._read_marks(set(assign_all(consumer, sorted(self.tier_of_topic))))
            settle_startup_heap()  # before it says it is ready
            self.ready = True
        else:
            consumer.subscribe(sorted(self.tier_of_topic), listener=_Listener(self))
        fetch_wait = AdaptiveFetchWait(
            consumer, self.settings.fetch_max_wait_ms, self.settings.idle_fetch_max_wait_ms
        )
        last_commit = time.monotonic()
        reporting = threading.Event()  # set: the reporter stops
        reporter = threading.Thread(
            target=self._report_every, args=(reporting,), name="recipients-stats", daemon=True
        )
        reporter.start()
        try:
            while not stop.wait(0) and not self._done():
                try:
                    batch = consumer.poll(
                        timeout_ms=self._poll_timeout_ms(now_us()), max_records=cfg.batch_size
                    )
                    self._rebalanced()
                    with self._lock:
                        for tp, records in batch.items():
                            tier = self.tier_of_topic[tp.topic]
                            for n, record in enumerate(records, 1):
                                self._arrive(tier, tp, record)
                                if not n % REPORT_CHECK_RECORDS:
                                    self._report_if_due()
                        self.handling.fire(now_us())
                    fetch_wait.observe(bool(batch))
                    if batch:
                        self.last_record = time.monotonic()
                    mono = time.monotonic()
                    if mono - last_commit >= cfg.commit_interval_s:
                        last_commit = mono
                        self._commit()
                except KafkaError as exc:
                    self._outage(exc)
                    stop.wait(1.0)
            self._finish()
        finally:
            reporting.set()
            reporter.join(timeout=5.0)
            self._close()
            self.write_stats()
        return self._counts()

    def _report_every(self, done: threading.Event) -> None:
        """The stats file when due, from its own thread while the loop waits on Kafka (a
        poll, a status flush, a commit), and from the loop itself every
        REPORT_CHECK_RECORDS records of a batch (this thread cannot take the lock then).
        Written from the loop alone it waited for all of these: at saturation 2-6 s, and
        the per-second series, which reads the files' write times, showed the recipients
        delivering nothing in those seconds (docs/BENCHMARKS.md, "Eighth session")."""
        interval_s = self.config.report_interval_s
        while not done.wait(max(self._last_report + interval_s - time.monotonic(), 0.01)):
            try:
                self._report_if_due()
            except Exception as exc:  # never the end of the recipients, nor of the reports
                log.warning("recipients: cannot write the stats file: %r", exc)

    def _report_if_due(self) -> None:
        with self._lock:
            now = time.monotonic()
            if now - self._last_report < self.config.report_interval_s:
                return
            self._last_report = now
            self.write_stats()

    def _poll_timeout_ms(self, now: int) -> int:
        """Until the next timer is due, at most `poll_timeout_ms`. Rounded up: rounded down,
        a timer due within the next millisecond made polls of 0 ms, one after the other,
        until it was due (half the polls of a drain, measured; docs/BENCHMARKS.md)."""
        timeout = self.config.poll_timeout_ms
        due = self.handling.next_due()
        if due is not None:
            timeout = max(0, min(timeout, -((now - due) // 1000)))
        return timeout

    def _finish(self) -> None:
        """Stopping: the pending 03s now, then the last commit, within the stop budget."""
        from kafka.errors import KafkaError

        self._stop_by = time.monotonic() + STOP_BUDGET_S
        with self._lock:
            self.handling.fire(now_us(), accept_all=True)
        try:
            self._commit(final=True)
        except KafkaError as exc:  # the broker is gone: at-least-once redelivers them
            self._echo(f"recipients: last commit failed ({type(exc).__name__}); stopping")

    def _connected(self) -> Consumer:
        """The consumer `run` made; a Kafka error (an outage, retried) before it exists."""
        if self._consumer is None:
            from kafka.errors import KafkaError

            raise KafkaError("recipients: no consumer yet")
        return self._consumer

    def _sender(self) -> Producer:
        """The status producer `run` made (or its replacement)."""
        if self.producer is None:
            from kafka.errors import KafkaError

            raise KafkaError("recipients: no status producer yet")
        return self.producer

    def _status_producer(self) -> Any:
        """Statuses linger `status_linger_ms`, or `linger_ms` when that is longer (a soak's
        setting for every producer, docs/BENCHMARKS.md)."""
        s = self.settings
        return make_producer(s, linger_ms=max(s.linger_ms, s.status_linger_ms))

    def _stop_left(self) -> float:
        """Seconds left of the stop budget (a floor of 0.1 s, so each close is tried)."""
        if self._stop_by is None:
            self._stop_by = time.monotonic() + STOP_BUDGET_S
        return max(0.1, self._stop_by - time.monotonic())

    def _close(self) -> None:
        companion = self.mark_store.client if self.mark_store is not None else None
        for client in (self._consumer, self.producer, companion):
            if client is not None and (problem := close_quietly(client, self._stop_left())):
                log.debug("closing a client: %s", problem)

    def _done(self) -> bool:
        cfg = self.config
        if cfg.max_records is not None and self.counts.records >= cfg.max_records:
            return True
        if cfg.idle_exit_s is not None:
            quiet = time.monotonic() - self.last_record
            return quiet >= cfg.idle_exit_s and not self.handling.timers
        return False

    # -- rebalances (noted by the listener on the network thread, handled here) ----------

    def _rebalanced(self) -> None:
        revoked, self._revoked = self._revoked, set()
        if revoked:
            with self._lock:
                self.handling.fire(now_us(), accept_all=True, only=revoked)
                self._save_marks({tp: m for tp, m in self.handled.items() if tp in revoked})
                self.handling.forget(revoked)
                self.pending.forget(revoked)
                for tp in revoked:
                    self.marks.pop(tp, None)
                    self.handled.pop(tp, None)
                if self.mark_store is not None:
                    self.mark_store.forget(revoked)
        assigned, self._assigned = self._assigned, None
        if assigned:
            self._read_marks(assigned)

    def _save_marks(self, handled: dict[Any, int]) -> None:
        """At a revocation: the marks since the last commit, for the next owner (best
        effort: it may have read them already, and then counts those records as new)."""
        from kafka.errors import KafkaError

        if self.mark_store is None or not handled:
            return
        try:
            self.mark_store.save(handled, timeout_ms=COMMIT_TIMEOUT_MS)
        except KafkaError as exc:
            log.warning("recipients: handled marks not saved at the revocation: %s", exc)

    def _read_marks(self, tps: set[Any]) -> None:
        """The handled mark each partition's previous owner saved (redeliveries)."""
        from kafka.errors import KafkaError

        if self.mark_store is None:
            return
        try:
            self.marks.update(self.mark_store.read(tps, timeout_ms=COMMIT_TIMEOUT_MS))
        except KafkaError as exc:
            log.warning("recipients: no handled marks for %s: %s", sorted(tps), exc)

    # -- per record ----------------------------------------------------------------------

    def _arrive(self, tier: Tier, tp: Any, record: Any) -> None:
        counts = self.counts
        counts.records += 1
        offset = record.offset
        self.pending.consumed(tp, offset)
        arrival = self.decode(record.value)
        if arrival is None or not record.key:
            counts.malformed += 1
            return
        recipient = record.key.decode("utf-8", "replace")
        mark = self.marks.get(tp)
        redelivery = mark is not None and offset <= mark
        if redelivery:
            # a previous owner sent its 01 and may have died before its 03: handled again
            # (at-least-once statuses), counted as a redelivery, not as a new delivery
            counts.redelivered += 1
        item = Item(tp, offset, tier, recipient, arrival, redelivery)
        self.handled[tp] = offset
        at = now_us()
        downtime = self.downtime
        if downtime.any:
            if downtime.run_start_us is None:
                self.infer_run_start(arrival.send_time_us)
            until = downtime.down_until(recipient, at)
            if until is not None:
                self.handling.hold(item, until)
                return
        self.handling.deliver(item, at)

    def _send_status(self, key: bytes, value: bytes, headers: list[tuple[str, bytes]]) -> None:
        """Queue one status; the batch's statuses are flushed together before a commit."""
        self._futures.append(
            self._sender().send(self._status_topic, key=key, value=value, headers=headers)
        )

    # -- commits -------------------------------------------------------------------------

    def _commit(self, *, final: bool = False) -> None:
        """Flush the statuses sent so far, save the handled marks (the next owner's way to
        tell redeliveries), then commit up to the oldest unfinished record.
        `final` (stopping): within what is left of the stop budget, so SIGTERM is honoured
        within seconds with the broker gone."""

        def flush_s() -> float:
            return self._stop_left() if final else FLUSH_TIMEOUT_S

        def commit_ms() -> int:
            return int(self._stop_left() * 1000) if final else COMMIT_TIMEOUT_MS

        from kafka.errors import KafkaTimeoutError
        from kafka.structs import OffsetAndMetadata

        with self._lock:
            positions = self.pending.to_commit()
            futures, self._futures = self._futures, []
            handled = dict(self.handled)
        if futures:
            try:
                self._sender().flush(timeout=flush_s())
            except KafkaTimeoutError:
                # not acknowledged yet: the next commit waits for them again, and commits
                # nothing before they are out
                with self._lock:
                    self._futures = [f for f in futures if not f.is_done] + self._futures
                raise
            failed = [f for f in futures if f.failed()]
            if failed:
                self.counts.status_failed += len(failed)
                self._echo(
                    f"recipients: {len(failed):,} status send(s) failed: {failed[0].exception!r}"
                )
                if producer_is_fenced_or_lost(failed[0].exception):
                    self._echo(
                        "recipients: the broker lost the status producer's state; new producer"
                    )
                    close_quietly(self.producer, 1.0)
                    self.producer = self._status_producer()
        if self.mark_store is not None and handled:
            # before the offsets: a crash between the two leaves marks ahead, never behind
            self.mark_store.save(handled, timeout_ms=commit_ms())
        if not positions or self._consumer is None:
            self._recovered()
            return
        offsets = {tp: OffsetAndMetadata(p, "", -1) for tp, p in positions.items()}
        self._consumer.commit(offsets, timeout_ms=commit_ms())
        with self._lock:
            self.pending.committed(positions)
        self._recovered()

    def _outage(self, exc: BaseException) -> None:
        """One line when Kafka stops answering, not one per attempt."""
        if self._down_since is None:
            self._down_since = time.monotonic()
            self._echo(
                f"recipients: Kafka at {self.settings.bootstrap} not answering "
                f"({type(exc).__name__}: {exc}); retrying every second"
            )

    def _recovered(self) -> None:
        if self._down_since is not None:
            self._echo(
                f"recipients: Kafka answers again after {time.monotonic() - self._down_since:.0f} s"
            )
            self._down_since = None

    # -- reading the state -----------------------------------------------------------------

    def infer_run_start(self, send_time_us: int) -> None:
        """No --run-start: "start_us" of the run file if readable, else the first send time."""
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

    def snapshot(self) -> tuple[RunMetrics, InboxCounts]:
        """A copy of the metrics and the counters (for callers on other threads)."""
        with self._lock:
            return RunMetrics().merge(self.metrics), self._counts()

    def _counts(self) -> InboxCounts:
        with self._lock:
            counts = InboxCounts().merge(self.counts)
            counts.ready = self.ready
            return counts

    def held_now(self) -> int:
        """Records waiting for their agency's downtime window to end."""
        return self.handling.held_now()

    def _metrics_as_dict(self) -> dict[str, Any]:
        """`metrics.to_dict()`, kept while the metrics cannot have changed: only the
        handling records into them, a delivery with `counts.delivered` and a duplicate with
        `counts.duplicates` (`Handling.deliver`), so the same two counts, the same metrics."""
        version = (self.counts.delivered, self.counts.duplicates)
        if self._metrics_dict is None or self._metrics_dict[0] != version:
            self._metrics_dict = (version, self.metrics.to_dict())
        return dict(self._metrics_dict[1])  # the caller adds its extras to a copy

    def write_stats(self) -> None:
        """Write the stats file; when nothing changed since the last write (an idle
        process) only its modification time moves: readers see a fresh file with the
        same figures, and the idle process does not encode every histogram again. The
        metrics (a histogram per flow, HDR-encoded) are encoded again only when a delivery
        or a duplicate was recorded since: the work records' timers change the counters
        for many seconds after the last delivery, not the metrics (docs/BENCHMARKS.md)."""
        if self.config.stats_file is None:
            return
        path = Path(self.config.stats_file)
        with self._lock:  # encoded in place: no per-second copy of every histogram
            counts = self._counts()
            held = self.held_now()
            state = (counts.to_dict(), held, self.downtime.run_start_us)
            if state == self._written and path.exists():
                path.touch()
                return
            self._written = state
            data = self._metrics_as_dict()
        data |= {
            EXTRAS_KEY: counts.to_dict()
            | {
                "tiers": [t.value for t in self.config.tiers],
                "run_start_us": self.downtime.run_start_us,
                "held_now": held,
            }
        }
        atomic_write_text(path, json.dumps(data, separators=(",", ":")))


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    """Runs on kafka-python's network thread: note the change, never call the consumer."""

    def __init__(self, owner: Recipients) -> None:
        self._owner = owner

    def on_partitions_revoked(self, revoked: Any) -> None:
        if revoked:
            self._owner._revoked |= set(revoked)
            log.info("recipients: revoked %s", sorted(revoked))

    def on_partitions_assigned(self, assigned: Any) -> None:
        self._owner._assigned = set(assigned)
        settle_startup_heap()  # the first assignment, before the recipients say they are ready
        self._owner.ready = True
        log.info("recipients: assigned %s", sorted(assigned))

    def on_partitions_lost(self, lost: Any) -> None:
        self.on_partitions_revoked(lost)


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
