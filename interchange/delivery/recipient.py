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
"""

from __future__ import annotations

import heapq
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
from interchange.delivery.marks import HandledMarks
from interchange.delivery.state import (
    DUPLICATE_WINDOW,
    EXTRAS_KEY,
    Arrival,
    ArrivalDecoder,
    Downtime,
    InboxCounts,
    PendingOffsets,
    RecentDeliveries,
    WorkStates,
)
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
from interchange.wire import codec
from interchange.wire.model import (
    DocumentType,
    StatusCode,
    StatusMessage,
    Tier,
)
from interchange.workrecords import plan as workrecord
from interchange.workrecords.plan import (
    DEFAULT_WORK_SETTINGS,
    RecordDraws,
    WorkItem,
    WorkPlan,
    WorkSettings,
)
from interchange.workrecords.workflow import REVOKE_DETAIL, UPDATE_DETAIL

log = logging.getLogger(__name__)

DEFAULT_GROUP_PREFIX = "interchange-recipients"
FLUSH_TIMEOUT_S = 5.0  # a status flush longer than this is an outage: retried, said once
COMMIT_TIMEOUT_MS = 15_000
STOP_BUDGET_S = 5.0  # all a stopping process still does (flush, commit, closes), together
_RELEASE, _STEP = 0, 1
# the "code" header of each status, encoded once (five statuses per delivery)
_CODE_HEADERS = {c: ("code", c.value.encode()) for c in StatusCode}


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


@dataclass(frozen=True, slots=True)
class _Item:
    """One delivery record being handled: where it came from and what it carries."""

    tp: Any
    offset: int
    tier: Tier
    recipient: str
    arrival: Arrival
    redelivery: bool = False  # at or below the handled mark a previous owner saved


@dataclass(slots=True)
class _Timer:
    """A release, or a work-record step, due at `due`. The heap holds (due, seq, timer):
    tuples compare in C, where a `__lt__` was a Python call per comparison (a push and a
    pop on a 15,000-timer heap 1.37 -> 0.96 µs, measured; five per delivery)."""

    due: int
    seq: int
    kind: int
    item: _Item
    plan: WorkPlan | None = None
    step: int = 0  # index of the plan's step this timer sends


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
        self.work = config.work
        self.seen = {t: RecentDeliveries(config.duplicate_window) for t in config.tiers}
        self.timers: list[tuple[int, int, _Timer]] = []  # a heap of (due, seq, timer)
        self.work_states = WorkStates()
        self.pending = PendingOffsets()
        self.marks: dict[Any, int] = {}  # partition -> last offset handled by a previous owner
        self.mark_store: HandledMarks | None = None  # where the marks are kept (run makes it)
        self.handled: dict[Any, int] = {}  # partition -> last offset this process handled
        self.producer: Producer | None = None
        self._consumer: Consumer | None = None
        self._lock = threading.RLock()  # the loop's state against `snapshot` from other threads
        self._futures: list[Any] = []  # status sends since the last flush
        self._assigned: set[Any] | None = None  # set by the listener, read after poll
        self._revoked: set[Any] = set()
        self._seq = 0
        self._echo = echo or (lambda line: None)
        self.last_record = time.monotonic()
        self.ready = False  # the group gave this process its partitions (at least once)
        self._down_since: float | None = None  # Kafka stopped answering (one line per outage)
        self._stop_by: float | None = None  # monotonic deadline of the stop budget, once stopping
        self._written: object = None  # the counters of the last stats file written

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
            self.ready = True
        else:
            consumer.subscribe(sorted(self.tier_of_topic), listener=_Listener(self))
        fetch_wait = AdaptiveFetchWait(
            consumer, self.settings.fetch_max_wait_ms, self.settings.idle_fetch_max_wait_ms
        )
        last_commit = last_report = time.monotonic()
        try:
            while not stop.wait(0) and not self._done():
                timeout = cfg.poll_timeout_ms
                if self.timers:
                    timeout = max(0, min(timeout, (self.timers[0][0] - now_us()) // 1000))
                try:
                    batch = consumer.poll(timeout_ms=timeout, max_records=cfg.batch_size)
                    self._rebalanced()
                    with self._lock:
                        for tp, records in batch.items():
                            tier = self.tier_of_topic[tp.topic]
                            for record in records:
                                self._arrive(tier, tp, record)
                        self._fire(now_us())
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
                if time.monotonic() - last_report >= cfg.report_interval_s:
                    last_report = time.monotonic()
                    self.write_stats()
            self._finish()
        finally:
            self._close()
            self.write_stats()
        return self._counts()

    def _finish(self) -> None:
        """Stopping: the pending 03s now, then the last commit, within the stop budget."""
        from kafka.errors import KafkaError

        self._stop_by = time.monotonic() + STOP_BUDGET_S
        with self._lock:
            self._fire(now_us(), accept_all=True)
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
            return quiet >= cfg.idle_exit_s and not self.timers
        return False

    # -- rebalances (noted by the listener on the network thread, handled here) ----------

    def _rebalanced(self) -> None:
        revoked, self._revoked = self._revoked, set()
        if revoked:
            with self._lock:
                self._fire(now_us(), accept_all=True, only=revoked)
                self._save_marks({tp: m for tp, m in self.handled.items() if tp in revoked})
                self.timers = [e for e in self.timers if e[2].item.tp not in revoked]
                heapq.heapify(self.timers)
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
        item = _Item(tp, offset, tier, recipient, arrival, redelivery)
        self.handled[tp] = offset
        at = now_us()
        downtime = self.downtime
        if downtime.any:
            if downtime.run_start_us is None:
                self.infer_run_start(arrival.send_time_us)
            until = downtime.down_until(recipient, at)
            if until is not None:
                counts.held += 1
                self.pending.hold(tp, offset)
                self._push(until, _RELEASE, item)
                return
        self._deliver(item, at)

    def _deliver(self, item: _Item, at: int) -> None:
        a, recipient, tier = item.arrival, item.recipient, item.tier
        key = (a.document_id, recipient)
        counts = self.counts
        seen = self.seen[tier]
        if key in seen:
            if item.redelivery:  # counted as a redelivery already, not also as a duplicate
                self.pending.done(item.tp, item.offset)
                return
            self.metrics.record_duplicate(a.sender_tier, tier, a.priority)
            counts.duplicates += 1
            counts.agency(recipient).duplicates += 1
            self.pending.done(item.tp, item.offset)
            return
        seen.add(key)
        if not item.redelivery:
            self._count_delivery(a, tier, recipient, at)
        self._status(a, recipient, StatusCode.ARRIVED, at)
        counts.status_arrived += 1
        self.pending.hold(item.tp, item.offset)
        work = a.work or WorkItem(a.priority, DocumentType.OFFICIAL_LETTER, None)
        # the record's own draws: its handling does not depend on the arrival order
        draws = RecordDraws(self.config.seed, a.document_id, recipient)
        plan = workrecord.plan(
            work, tier, draws, at, send_time_us=a.send_time_us, settings=self.work
        )
        self.work_states.set(key, WorkStates.OPEN)
        if a.recall_of is not None:
            self._recall(a, a.recall_of, recipient, at)
        elif a.update_of is not None:
            self._update(a, a.update_of, recipient, at)
        # 03 after the registration delay (--accept-delay, real seconds); 04-06 follow at
        # the plan's own intervals from the actual 03
        delay = min(draws.expovariate(1.0), 10.0) * self.config.accept_delay_s
        self._push(at + round(delay * 1e6), _STEP, item, plan)

    def _count_delivery(self, a: Arrival, tier: Tier, recipient: str, at: int) -> None:
        """Latency and the delivery counters: once per record, never for a redelivery."""
        counts = self.counts
        router, sent = a.router_time_us, a.sent_time_us
        self.metrics.record_delivery(
            a.sender_tier,
            tier,
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
        if a.secrecy.classified:
            counts.leaks += 1
            agency.leaks += 1

    def _recall(self, a: Arrival, target: str, recipient: str, at: int) -> None:
        """The revoke `a` recalls `target`: 13 for the target's record here, then 15 while
        it is open (the record is withdrawn) or 16 once it is completed. No answer for a
        record this process does not know (never delivered here, or beyond the window),
        nor again for one already withdrawn (one 13 and one answer per record)."""
        key = (target, recipient)
        state = self.work_states.get(key)
        if state is None or state == WorkStates.RECALLED:  # unknown here, or answered before
            self.counts.recall_unanswered += 1
            return
        why = f"{REVOKE_DETAIL}{a.document_id}"
        self._status(a, recipient, StatusCode.RECALL_REQUESTED, at, about=target, detail=why)
        if state == WorkStates.OPEN:
            self.work_states.set(key, WorkStates.RECALLED)
            self._status(a, recipient, StatusCode.RECALL_AGREED, at, about=target, detail=why)
            self.counts.recall_agreed += 1
        else:  # completed (06 sent): nothing left to withdraw
            self._status(a, recipient, StatusCode.RECALL_REFUSED, at, about=target, detail=why)
            self.counts.recall_refused += 1

    def _update(self, a: Arrival, target: str, recipient: str, at: int) -> None:
        """The update `a` of `target`: 15 while the target's record here is open (it goes
        on, updated), 16 once it is completed; no answer for a record this process does not
        know, or one withdrawn by an agreed recall (nothing left to update)."""
        state = self.work_states.get((target, recipient))
        if state is None or state == WorkStates.RECALLED:
            self.counts.update_unanswered += 1
            return
        why = f"{UPDATE_DETAIL}{a.document_id}"
        if state == WorkStates.OPEN:
            self._status(a, recipient, StatusCode.RECALL_AGREED, at, about=target, detail=why)
            self.counts.update_agreed += 1
        else:
            self._status(a, recipient, StatusCode.RECALL_REFUSED, at, about=target, detail=why)
            self.counts.update_refused += 1

    def _status(
        self,
        a: Arrival,
        recipient: str,
        code: StatusCode,
        at: int,
        *,
        plan: WorkPlan | None = None,
        step: int = 0,
        about: str | None = None,
        detail: str = "",
    ) -> None:
        """Queue one status; the batch's statuses are flushed together before a commit.
        `about`: the document it concerns when not `a`'s own (a recall's target)."""
        if plan is None:
            message = StatusMessage(about or a.document_id, a.sender, recipient, code, at, detail)
        else:
            # sent at `at`, the step's actual time
            message = plan.status(plan.steps[step], a.document_id, a.sender, recipient, at)
        value = codec.encode_status(message)
        headers = [_CODE_HEADERS[code], ("send-time-us", b"%d" % a.send_time_us)]
        self._futures.append(
            self._sender().send(
                self._status_topic, key=a.sender.encode(), value=value, headers=headers
            )
        )

    # -- timers --------------------------------------------------------------------------

    def _push(
        self, due: int, kind: int, item: _Item, plan: WorkPlan | None = None, step: int = 0
    ) -> None:
        self._seq += 1
        timer = _Timer(due, self._seq, kind, item, plan, step)
        heapq.heappush(self.timers, (due, self._seq, timer))

    def _fire(self, now: int, *, accept_all: bool = False, only: set[Any] | None = None) -> None:
        """Run due timers. `accept_all` (stop, revocation) sends every pending 03 now, so its
        record's offset can be committed; later work steps of a stopping process are left
        open (their time has not come), those of a revoked partition go on here."""
        keep = []
        while self.timers and (accept_all or self.timers[0][0] <= now):
            t = heapq.heappop(self.timers)[2]
            item = t.item
            due = t.due <= now
            if only is not None and item.tp not in only:
                keep.append(t)
            elif t.kind == _STEP and (due or t.step == 0):
                self._work_step(t, now_us())
            elif t.kind == _RELEASE and due:  # the downtime window ended: deliver now
                self._deliver(item, now_us())
            elif only is not None or t.kind == _RELEASE:
                keep.append(t)  # a held record stays unfinished (not committed)
        for t in keep:
            heapq.heappush(self.timers, (t.due, t.seq, t))

    def _work_step(self, t: _Timer, at: int) -> None:
        """Send step `t.step` of the record's plan; schedule the next at the plan's interval."""
        plan, item = t.plan, t.item
        assert plan is not None
        step = plan.steps[t.step]
        key = (item.arrival.document_id, item.recipient)
        recalled = self.work_states.get(key) == WorkStates.RECALLED
        if recalled and t.step > 0:  # withdrawn: handling stops (its 03, registration, is sent)
            return
        self._status(item.arrival, item.recipient, step.code, at, plan=plan, step=t.step)
        if t.step == 0:
            self.counts.status_accepted += 1
            self.pending.done(item.tp, item.offset)  # registered: the record is received
        if recalled:
            return
        if t.step + 1 < len(plan.steps):
            gap = plan.steps[t.step + 1].at_us - step.at_us
            self._push(at + gap, _STEP, item, plan, t.step + 1)
        else:
            self.counts.status_completed += 1
            self.work_states.set(key, WorkStates.COMPLETED)

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
        return sum(1 for _, _, t in self.timers if t.kind == _RELEASE)

    def write_stats(self) -> None:
        """Write the stats file; when nothing changed since the last write (an idle
        process) only its modification time moves: readers see a fresh file with the
        same figures, and the idle process does not encode every histogram again."""
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
            data = self.metrics.to_dict()
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
