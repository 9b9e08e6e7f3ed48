"""The router stage: consume submissions, decide each (routing.decision), produce exactly once.

One Kafka transaction per batch holds the batch's outputs (deliveries,
rejections), the replay-guard changelog entries and the consumed offsets; a
reader with read_committed sees a batch entirely or not at all. A batch commits
between polls, when it is full, when `commit_interval_ms` has passed since its
first record, or at once (the default, 0). Design, Tansu caveats and metric
names: docs/ROUTER.md.

Logging: a decision is logged by document id, sender and reason only; a classified
document's subject and content never reach this module (policy does not pass them).
"""

from __future__ import annotations

import logging
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kafka import ConsumerRebalanceListener

from interchange.clock import now_us
from interchange.edxml.verify import CertificateSource
from interchange.errors import InterchangeError, TopicError
from interchange.heap import settle_startup_heap
from interchange.kafka.bounded_records import refusal
from interchange.kafka.clients import (
    assign_all,
    close_quietly,
    make_consumer,
    producer_config,
)
from interchange.kafka.fetchwait import AdaptiveFetchWait
from interchange.kafka.seam import Consumer, Producer, Stop
from interchange.kafka.topics import create_topics, layout_of
from interchange.metrics.run import write_stats
from interchange.pki.verification import Verifier
from interchange.routing.decision import Directory
from interchange.routing.formats import decide
from interchange.routing.metrics import RouterMetrics
from interchange.routing.outcomes import Decision, Placement, refused_batch
from interchange.routing.replay_guard import DEFAULT_REPLAY_CAPACITY, ReplayGuard
from interchange.routing.transaction import (
    Batch,
    Output,
    encode_outputs,
    log_decision,
    read_changelog,
    run_transaction,
)
from interchange.settings import Settings
from interchange.wire import codec
from interchange.wire.model import ReasonCode, Rejection, Secrecy

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 5.0  # a restarted broker is found again within seconds
POSITION_TIMEOUT_MS = 10_000  # committed offsets for the replay restore
CLOSE_TIMEOUT_S = 3.0  # closing clients while the broker may be gone
IDLE_PROBE_S = 2.0  # an idle router checks the broker still answers this often


class RouterError(InterchangeError):
    """The router cannot continue (fenced by another instance with the same id)."""


@dataclass(frozen=True, slots=True)
class RouterConfig:
    router_id: str
    group: str = "interchange-router"
    batch_size: int = 500  # most records per poll and per transaction
    commit_interval_ms: int = 0  # least time a batch gathers records before it commits
    replay_capacity: int = DEFAULT_REPLAY_CAPACITY
    max_records: int | None = None  # exit after deciding this many records
    static: bool = False  # own every partition without a group join (a single router only)
    idle_exit_s: float | None = None  # exit after this long without records
    restore_idle_s: float = 0.5  # changelog read is complete after this long without data
    poll_timeout_ms: int = 200
    summary_interval_s: float = 5.0
    report_interval_s: float = 1.0
    stats_file: Path | None = None
    metrics_file: Path | None = None


@dataclass
class _Guard:
    guard: ReplayGuard
    next_offset: int  # committed: the first submission not yet in a committed transaction
    pos: int  # decided: the guard is valid for the submission at this offset


class _TimedVerifier:
    """Measures each verification for the verify-time histogram."""

    def __init__(self, trust: Verifier, observe: Callable[[float], None]) -> None:
        self._trust = trust
        self._observe = observe

    def verify(
        self, content: bytes, signature: bytes, cert_id: str, sender_id: str, at_us: int
    ) -> ReasonCode | None:
        started = time.perf_counter()
        try:
            return self._trust.verify(content, signature, cert_id, sender_id, at_us)
        finally:
            self._observe(time.perf_counter() - started)


def _reachable(bootstrap: str) -> bool:
    """A cheap ApiVersions probe, so an absent broker costs 1 s per attempt, not 30."""
    from interchange.kafka.broker import kafka_answers

    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        if port.isdigit() and kafka_answers(host or "127.0.0.1", int(port), timeout=1.0):
            return True
    return False


LOG_APPEND_TIME = 1  # a ConsumerRecord's timestamp_type when the broker set the timestamp


def receipt_us(record: Any) -> int:
    """When the axis received `record`: the broker's LogAppendTime if the topic has it,
    else this router's clock now (a producer's CreateTime is the sender's claim, never
    trusted). Certificates and revocations are judged at this time (docs/ROUTER.md)."""
    if record.timestamp_type == LOG_APPEND_TIME and record.timestamp is not None:
        return int(record.timestamp) * 1000
    return now_us()


class Router:
    """A router instance. `run(stop)` connects (with backoff), then loops until stopped."""

    def __init__(
        self,
        settings: Settings,
        directory: Directory,
        trust: Verifier,
        config: RouterConfig,
        *,
        echo: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.config = config
        self.layout = layout_of(settings)
        self.directory = directory
        self.metrics = RouterMetrics(config.router_id, directory)
        self._trust = _TimedVerifier(trust, self.metrics.observe_verify)
        # the certificates an edXML package's own signature is checked with
        self._certificates = trust if isinstance(trust, CertificateSource) else None
        self._echo = echo or (lambda line: print(line, file=sys.stderr, flush=True))
        self.node = f"router:{config.router_id}"
        self._router_id = config.router_id.encode()
        self.transactional_id = f"{settings.topic_prefix}router-{config.router_id}"
        self._guards: dict[int, _Guard] = {}
        self._consumer: Consumer | None = None
        self._producer: Producer | None = None
        self._restorer: Consumer | None = None
        self._txn_seq = 0
        self._pending: Batch | None = None  # decided, its transaction not yet run
        self._revoked = False  # partitions were revoked during the last poll
        self._stop: Stop | None = None
        self._fetch_wait: AdaptiveFetchWait | None = None
        self.run_id = uuid.uuid4().hex[:8]  # tells this incarnation's transactions apart
        self.decided = 0

    # -- lifecycle ---------------------------------------------------------------------

    def _connect(self, stop: Stop) -> bool:
        """Create the clients, retrying with exponential backoff; False if stopped first."""
        from kafka.errors import KafkaError

        delay = 0.5
        while not stop.wait(0):
            try:
                if not _reachable(self.settings.bootstrap or ""):
                    raise TopicError("no bootstrap server answers")
                self._open_clients()
                return True
            except (KafkaError, TopicError) as exc:
                self._close_clients()
                self._echo(
                    f"router {self.config.router_id}: Kafka at {self.settings.bootstrap} "
                    f"unreachable ({exc}); retrying in {delay:.1f} s"
                )
                stop.wait(delay)
                delay = min(delay * 2, MAX_BACKOFF_S)
        return False

    def _open_clients(self) -> None:
        from kafka import KafkaProducer

        create_topics(self.settings)
        pconf = producer_config(self.settings, transactional_id=self.transactional_id)
        pconf["max_block_ms"] = 15_000
        producer = KafkaProducer(**pconf)
        self._producer = producer
        producer.init_transactions()
        # the changelog is sent to explicit partitions: know them before the first send
        # (a broker restarted empty has just had its topics recreated)
        producer.partitions_for(self.layout.router_state)
        self._restorer = make_consumer(self.settings)
        consumer = make_consumer(self.settings, group_id=self.config.group)
        self._consumer = consumer
        if self.config.static:
            owned = assign_all(consumer, [self.layout.submissions])
            # restored before the router says it is assigned (the orchestrator's readiness
            # signal), so the first submissions do not wait for the changelog read
            self._restore({})
            self._warm_up(producer, consumer, owned)
            self._assigned([tp.partition for tp in owned])
        else:
            consumer.subscribe([self.layout.submissions], listener=_Listener(self))
        self._fetch_wait = AdaptiveFetchWait(
            consumer, self.settings.fetch_max_wait_ms, self.settings.idle_fetch_max_wait_ms
        )

    def _warm_up(self, producer: Producer, consumer: Consumer, owned: Iterable[Any]) -> None:
        """One transaction before the router says it is ready: it commits the positions
        the router starts from (the group's committed offsets, or the start of the topic),
        which changes nothing, but pays the first transaction's round trips to the
        coordinators (about 200 ms on the embedded broker) before any submission waits
        behind them. Bounded like every transaction."""
        positions = {}
        for tp in owned:
            position = consumer.position(tp, timeout_ms=POSITION_TIMEOUT_MS)
            if position is None:
                return  # not known in time: the first real transaction pays instead
            positions[tp] = position
        batch = Batch(txn=b"warm-up:" + self._router_id, next_offsets=positions)
        run_transaction(
            producer,
            batch,
            consumer.group_metadata(),
            self.layout.router_state,
            stop=self._stop,
        )

    def _connected(self) -> Consumer:
        """The consumer of the current connection; a Kafka error (so the reconnect path
        takes over) when there is none."""
        if self._consumer is None:
            from kafka.errors import KafkaError

            raise KafkaError("the router has no consumer: not connected")
        return self._consumer

    def _close_clients(self) -> None:
        self._abandon()
        for name in ("_consumer", "_restorer", "_producer"):
            client = getattr(self, name)
            setattr(self, name, None)
            if client is not None and (problem := close_quietly(client, CLOSE_TIMEOUT_S)):
                log.debug("closing %s: %s", name, problem)

    def run(self, stop: Stop) -> int:
        """Route until `stop`, `max_records` or `idle_exit_s`; return records decided."""
        from kafka.errors import KafkaError, ProducerFencedError

        last_record = last_report = last_summary = time.monotonic()
        backoff = 0.5
        self._stop = stop
        try:
            if not self._connect(stop):
                return self.decided
            last_probe = time.monotonic()
            while not stop.wait(0) and not self._done():
                try:
                    if self._step():
                        last_record = time.monotonic()
                    elif time.monotonic() - max(last_record, last_probe) >= IDLE_PROBE_S:
                        # an idle consumer never sees the broker go: ask it directly
                        last_probe = time.monotonic()
                        self._probe()
                    backoff = 0.5
                except ProducerFencedError as exc:
                    raise RouterError(
                        f"another router uses transactional id {self.transactional_id}: {exc}"
                    ) from exc
                except KafkaError as exc:
                    self._echo(
                        f"router {self.config.router_id}: Kafka error {type(exc).__name__}: "
                        f"{exc}; reconnecting in {backoff:.1f} s"
                    )
                    self._close_clients()
                    stop.wait(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF_S)
                    if not self._connect(stop):
                        break
                mono = time.monotonic()
                if mono - last_report >= self.config.report_interval_s:
                    last_report = mono
                    self._report()
                if mono - last_summary >= self.config.summary_interval_s:
                    last_summary = mono
                    self._echo(self.metrics.summary_line())
                idle = self.config.idle_exit_s
                if idle is not None and mono - last_record >= idle:
                    break
            self._drain()
        finally:
            self._close_clients()
            self._report()
        return self.decided

    def _probe(self) -> None:
        """While idle, a lost broker is a Kafka error like any other: the reconnect that
        follows recreates the topics and the producer (a restarted embedded broker is
        empty). An outage shorter than the probe interval can go unseen."""
        from kafka.errors import KafkaConnectionError

        if not _reachable(self.settings.bootstrap or ""):
            raise KafkaConnectionError("the broker stopped answering while the router was idle")

    def _done(self) -> bool:
        return self.config.max_records is not None and self.decided >= self.config.max_records

    def _report(self) -> None:
        if self.config.stats_file is not None:
            write_stats(self.config.stats_file, self.metrics.run)
        if self.config.metrics_file is not None:
            self.metrics.write_textfile(self.config.metrics_file)

    # -- batches and their transactions ------------------------------------------------

    def _room(self) -> int:
        """Records the next poll may return: the batch's free space, within max_records."""
        pending = len(self._pending.decisions) if self._pending else 0
        room = self.config.batch_size - pending
        if self.config.max_records is not None:
            room = min(room, self.config.max_records - self.decided - pending)
        return max(room, 0)

    def _step(self) -> bool:
        """Poll and decide what is there; commit the batch when it is due."""
        from kafka.errors import KafkaError

        room = self._room()
        timeout = self.config.poll_timeout_ms
        if self._pending is not None:
            waited_ms = 1000 * (time.monotonic() - self._pending.started)
            timeout = max(0, min(timeout, int(self.config.commit_interval_ms - waited_ms) + 1))
        self._revoked = False
        got = self._connected().poll(timeout_ms=timeout, max_records=room) if room else {}
        if self._revoked and self._pending is not None:
            # decided under the old assignment (only with --commit-interval-ms): decide again
            # from the committed offsets rather than commit for partitions now owned elsewhere
            raise KafkaError("rebalance while decided records waited for their transaction")
        if self._fetch_wait is not None:
            self._fetch_wait.observe(bool(got))
        if got:
            self._decide(got)
        if self._pending is not None and self._due(self._pending):
            self._commit()  # synchronous: no transaction is open during the next poll
        return bool(got)

    def _due(self, batch: Batch) -> bool:
        """Full (batch size or max_records reached) or gathered long enough."""
        waited = time.monotonic() - batch.started
        return self._room() == 0 or waited >= self.config.commit_interval_ms / 1000

    def _decide(self, got: Mapping[Any, Sequence[Any]]) -> None:
        """Decide polled records into the pending batch (outputs built, nothing sent yet)."""
        from kafka.errors import KafkaError

        self._ensure_guards(got)
        if self._pending is None:
            self._txn_seq += 1
            self._pending = Batch(f"{self.config.router_id}/{self.run_id}:{self._txn_seq}".encode())
        batch = self._pending
        outputs, decisions, txn = batch.outputs, batch.decisions, batch.txn
        node, directory, trust = self.node, self.directory, self._trust
        for tp, records in got.items():
            state = self._guards[tp.partition]
            guard = state.guard
            partitions = len(self._connected().partitions_for_topic(tp.topic) or ())
            if not partitions:  # no metadata: decide again after a reconnect, never guess
                raise KafkaError(f"no partition metadata for {tp.topic}")
            for record in records:
                refused = refusal(record.key, record.value)
                decision = (
                    refused_batch(refused, receipt_us(record))
                    if refused
                    else decide(
                        record.value,
                        directory=directory,
                        trust=trust,
                        certificates=self._certificates,
                        replay_window=guard,
                        now_us=receipt_us(record),
                        placement=Placement(record.key, tp.partition, partitions),
                        router_node=node,
                    )
                )
                decisions.append(decision)
                source = (tp.topic, tp.partition, record.offset)
                outputs += self._outputs(decision, record.value, txn, source)
                if accepted := guard.pending():
                    entries = batch.remembered.setdefault(tp.partition, [])
                    entries += [(record.offset, document_id) for document_id in accepted]
            state.pos = batch.next_offsets[tp] = records[-1].offset + 1

    def _commit(self) -> None:
        """Run the pending batch's transaction; account for it, or undo everything decided."""
        from kafka.errors import KafkaError

        assert self._pending is not None
        assert self._producer is not None
        batch = self._pending
        try:
            run_transaction(
                self._producer,
                batch,
                self._connected().group_metadata(),
                self.layout.router_state,
                stop=self._stop,
            )
        except KafkaError:
            self.metrics.transaction(committed=False, records=len(batch.decisions))
            self._abandon()
            raise
        self._pending = None
        for tp, offset in batch.next_offsets.items():
            state = self._guards.get(tp.partition)
            if state is not None:
                state.next_offset = offset
        self.metrics.record_batch(batch.decisions)
        for decision in batch.decisions:
            log_decision(decision)
        self.decided += len(batch.decisions)
        self.metrics.transaction(committed=True, records=len(batch.decisions))
        self._update_lag()

    def _drain(self) -> None:
        """Commit what is decided (stop, max_records, idle exit, rebalance)."""
        if self._pending is not None:
            self._commit()

    def _abandon(self) -> None:
        """Forget every id remembered by uncommitted batches; their records are decided again
        from the committed offsets after the reconnect that follows."""
        batch, self._pending = self._pending, None
        if batch is not None:
            for partition, entries in batch.remembered.items():
                if (state := self._guards.get(partition)) is not None:
                    state.guard.discard_pending([document_id for _, document_id in entries])
        for state in self._guards.values():
            state.pos = state.next_offset

    def _on_revoked(self) -> None:
        """Inside poll, maybe on the consumer's I/O thread: only note it (no consumer call
        here, its event loop is blocked while this runs). No transaction is open during a
        poll; a batch still gathering records is dropped by `_step`."""
        self._revoked = True

    def _outputs(
        self, decision: Decision, raw: bytes | None, txn: bytes, source: tuple[str, int, int]
    ) -> list[Output]:
        try:
            return encode_outputs(decision, self.layout, self._router_id, txn, source)
        except Exception as exc:  # a poison record never stops the router
            log.warning(
                "cannot encode the outcome of a record (%s); rejecting it as malformed",
                type(exc).__name__,
            )
            rejection = Rejection(
                "",
                "",
                ReasonCode.MALFORMED,
                "unencodable outcome",
                codec.content_sha256(raw or b""),
                Secrecy.NONE,
                None,
                now_us(),
                0,
            ).about(*source)
            return [Output(self.layout.rejections, b"", codec.encode_rejection(rejection))]

    # -- replay guard restore ----------------------------------------------------------

    def _ensure_guards(self, batch: Mapping[Any, Sequence[Any]]) -> None:
        """Restore the guard of every partition whose guard does not continue at this batch."""
        stale = {
            tp.partition: records[0].offset
            for tp, records in batch.items()
            if (g := self._guards.get(tp.partition)) is None or g.pos != records[0].offset
        }
        if stale:
            self._restore(stale)

    def _restore(self, stale: dict[int, int]) -> None:
        """Read the changelog for `stale` (partition -> first offset to decide) and every
        other assigned partition without a guard: one idle window, not eight."""
        from kafka.errors import KafkaTimeoutError

        consumer = self._connected()
        for tp in consumer.assignment():
            if tp.partition not in stale and tp.partition not in self._guards:
                position = consumer.position(tp, timeout_ms=POSITION_TIMEOUT_MS)
                if position is None:
                    raise KafkaTimeoutError(f"no position for {tp} within the bound")
                stale[tp.partition] = position
        started = time.monotonic()
        restorer = self._restorer
        if restorer is None:
            raise KafkaTimeoutError("the router has no changelog reader: not connected")
        ids = read_changelog(restorer, self.layout.router_state, stale, self.config.restore_idle_s)
        for partition, below in stale.items():
            guard = ReplayGuard.restore(ids.get(partition, []), self.config.replay_capacity)
            self._guards[partition] = _Guard(guard, below, below)
        log.info(
            "router %s restored replay state of partitions %s (%d ids) in %.2f s",
            self.config.router_id,
            sorted(stale),
            sum(map(len, ids.values())),
            time.monotonic() - started,
        )

    def _assigned(self, partitions: list[int]) -> None:
        for p in list(self._guards):
            if p not in partitions:
                del self._guards[p]
        self.metrics.partitions.set(len(partitions))
        settle_startup_heap()  # before the line that says the router is ready
        log.info(
            "router %s assigned submission partitions %s", self.config.router_id, sorted(partitions)
        )

    def _update_lag(self) -> None:
        consumer = self._connected()
        total = 0
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            guard = self._guards.get(tp.partition)
            if high is not None and guard is not None:
                total += max(0, high - guard.next_offset)
        self.metrics.lag.set(total)


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    """Rebalance callbacks (run inside poll, between transactions)."""

    def __init__(self, router: Router) -> None:
        self._router = router

    def on_partitions_revoked(self, revoked: Any) -> None:
        self._router._on_revoked()
        self._router.metrics.partitions.set(0)
        log.info(
            "router %s: partitions revoked %s",
            self._router.config.router_id,
            sorted(tp.partition for tp in revoked),
        )

    def on_partitions_assigned(self, assigned: Any) -> None:
        self._router._assigned([tp.partition for tp in assigned])

    def on_partitions_lost(self, lost: Any) -> None:
        self.on_partitions_revoked(lost)
