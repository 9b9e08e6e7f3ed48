"""In-memory stand-ins for the Kafka clients of `seam`, for tests without a broker.

`FakeLog` is a cluster: topics of partitions, each an append-only list of records, and
the committed offsets of every consumer group. `FakeConsumer` polls from it (assigned,
or subscribed with a rebalance listener that a test drives with `rebalance`), and
`FakeProducer` appends to it; a transactional one holds its records and offsets until
`commit_transaction`, and drops them on abort, as a read_committed reader sees them.

Deliberately small: no fetch sizes, no isolation levels, no timestamps other than
LogAppendTime (the wall clock, one ms apart per record). A behaviour that depends on
the real broker (quirks, timing, group protocol) stays in the integration tests.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata, TopicPartition

from interchange.wire.partitioner import partition_of

LOG_APPEND_TIME = 1


@dataclass(frozen=True, slots=True)
class FakeRecord:
    """A stored record; the fields of kafka-python's `ConsumerRecord` the stages read."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]] = ()
    timestamp_type: int = LOG_APPEND_TIME


@dataclass
class FakeLog:
    """Topics, their partitions' records, and the groups' committed offsets."""

    topics: dict[str, list[list[FakeRecord]]] = field(default_factory=dict)
    committed: dict[tuple[str, Any], Any] = field(default_factory=dict)  # (group, tp)
    clock_ms: int = field(default_factory=lambda: time.time_ns() // 1_000_000)  # LogAppendTime

    def create(self, topic: str, partitions: int) -> None:
        self.topics.setdefault(topic, [[] for _ in range(partitions)])

    def append(
        self,
        topic: str,
        value: bytes | None,
        *,
        key: bytes | None = None,
        headers: Sequence[tuple[str, bytes]] = (),
        partition: int | None = None,
    ) -> FakeRecord:
        """Store one record (partition by the key's murmur2, as the producers do)."""
        parts = self.topics[topic]
        if partition is None:
            partition = partition_of(key, len(parts)) if key is not None else 0
        self.clock_ms += 1
        log = parts[partition]
        record = FakeRecord(topic, partition, len(log), self.clock_ms, key, value, tuple(headers))
        log.append(record)
        return record

    def records(self, topic: str) -> list[FakeRecord]:
        """Every record of `topic`, partition by partition."""
        return [r for part in self.topics.get(topic, []) for r in part]

    def offset_of(self, group: str, tp: Any) -> int | None:
        """The group's committed offset of `tp`, or None."""
        found = self.committed.get((group, tp))
        return None if found is None else int(found.offset)


@dataclass(frozen=True, slots=True)
class FakeFuture:
    """A send already acknowledged (kafka-python's `FutureRecordMetadata`, settled)."""

    record: FakeRecord
    exception: BaseException | None = None
    is_done: bool = True

    def failed(self) -> bool:
        return self.exception is not None

    def get(self, timeout: float | None = None) -> FakeRecord:
        return self.record


class FakeConsumer:
    """Polls `FakeLog` from each partition's position; commits to the log's groups.

    A subscribed consumer is given every partition of its topics at its first poll;
    `rebalance(to)` makes the next poll revoke what it owns and assign `to`, calling the
    listener inside poll as kafka-python does.
    """

    def __init__(self, log: FakeLog, group_id: str | None = None) -> None:
        self.log = log
        self.group_id = group_id
        self._positions: dict[Any, int] = {}
        self._paused: set[Any] = set()
        self._topics: list[str] = []
        self._listener: Any = None
        self._next: list[Any] | None = None  # an assignment the next poll hands over
        self.closed = False

    # -- assignment --------------------------------------------------------------------

    def assign(self, partitions: Sequence[Any]) -> None:
        self._positions = {tp: self._start(tp) for tp in partitions}

    def assignment(self) -> Collection[Any]:
        return set(self._positions)

    def subscribe(
        self, topics: Sequence[str] = (), pattern: str | None = None, listener: Any = None
    ) -> None:
        self._topics, self._listener = list(topics), listener
        self._next = [
            TopicPartition(t, p) for t in self._topics for p in range(len(self.log.topics[t]))
        ]

    def unsubscribe(self) -> None:
        self._positions, self._topics, self._listener = {}, [], None

    def rebalance(self, to: Iterable[Any]) -> None:
        """The group takes the partitions away and gives `to`, at the next poll."""
        self._next = list(to)

    def _handover(self) -> None:
        if self._next is None:
            return
        new, self._next = self._next, None
        owned = set(self._positions)
        if owned and self._listener is not None:
            self._listener.on_partitions_revoked(owned)
        self._positions = {tp: self._start(tp) for tp in new}
        if self._listener is not None:
            self._listener.on_partitions_assigned(set(new))

    def _start(self, tp: Any) -> int:
        committed = None if self.group_id is None else self.log.offset_of(self.group_id, tp)
        return 0 if committed is None else committed  # auto_offset_reset=earliest

    # -- reading -----------------------------------------------------------------------

    def poll(
        self, timeout_ms: int = 0, max_records: int | None = None
    ) -> Mapping[Any, Sequence[Any]]:
        self._handover()
        room = max_records if max_records is not None else 500
        got: dict[Any, list[Any]] = {}
        for tp, pos in sorted(self._positions.items()):
            if room <= 0:
                break
            if tp in self._paused:
                continue
            records = self.log.topics[tp.topic][tp.partition][pos : pos + room]
            if records:
                got[tp] = list(records)
                self._positions[tp] = pos + len(records)
                room -= len(records)
        return got

    def position(self, partition: Any, timeout_ms: int | None = None) -> int | None:
        return self._positions[partition]

    def highwater(self, partition: Any) -> int | None:
        return len(self.log.topics[partition.topic][partition.partition])

    def partitions_for_topic(self, topic: str) -> Collection[int] | None:
        parts = self.log.topics.get(topic)
        return set(range(len(parts))) if parts else None

    def seek(self, partition: Any, offset: int) -> None:
        self._positions[partition] = offset

    def seek_to_beginning(self, *partitions: Any) -> None:
        if not partitions and not self._positions:  # as kafka-python
            raise ValueError("No partitions are currently assigned")
        for tp in partitions or tuple(self._positions):
            self._positions[tp] = 0

    def seek_to_end(self, *partitions: Any) -> None:
        for tp in partitions or tuple(self._positions):
            self._positions[tp] = len(self.log.topics[tp.topic][tp.partition])

    def offsets_for_times(
        self, timestamps: Mapping[Any, int], timeout_ms: int | None = None
    ) -> Mapping[Any, Any]:
        found: dict[Any, Any] = {}
        for tp, since in timestamps.items():
            hits = [r for r in self.log.topics[tp.topic][tp.partition] if r.timestamp >= since]
            found[tp] = OffsetAndMetadata(hits[0].offset, "", -1) if hits else None
        return found

    def pause(self, *partitions: Any) -> None:
        self._paused |= set(partitions)

    # -- commits -----------------------------------------------------------------------

    def commit(
        self, offsets: Mapping[Any, Any] | None = None, timeout_ms: int | None = None
    ) -> None:
        if self.group_id is None:
            raise KafkaError("commit without a group id")
        if offsets is None:
            offsets = {tp: OffsetAndMetadata(p, "", -1) for tp, p in self._positions.items()}
        for tp, om in offsets.items():
            self.log.committed[(self.group_id, tp)] = om

    def committed(
        self, partition: Any, metadata: bool = False, timeout_ms: int | None = None
    ) -> Any:
        if self.group_id is None:
            return None
        found = self.log.committed.get((self.group_id, partition))
        if found is None or metadata:
            return found
        return found.offset

    def group_metadata(self) -> Any:
        return self.group_id

    def close(self, autocommit: bool = True, timeout_ms: int | None = None) -> None:
        self.closed = True


class FakeProducer:
    """Appends to `FakeLog`. Transactional (after `init_transactions`): a transaction's
    records and consumed offsets reach the log only at `commit_transaction`.
    `fail_commits`: that many next commits raise a KafkaError (a broker that failed)."""

    def __init__(self, log: FakeLog) -> None:
        self.log = log
        self.transactional = False
        self.fail_commits = 0
        self.transactions = {"committed": 0, "aborted": 0}
        self._open: list[tuple[str, dict[str, Any]]] | None = None
        self._offsets: list[tuple[Any, Mapping[Any, Any]]] = []
        self.closed = False

    def send(
        self,
        topic: str,
        value: bytes | None = None,
        *,
        key: bytes | None = None,
        headers: Sequence[tuple[str, bytes]] | None = None,
        partition: int | None = None,
        timestamp_ms: int | None = None,
    ) -> FakeFuture:
        args: dict[str, Any] = {"key": key, "headers": headers or (), "partition": partition}
        if self._open is not None:
            self._open.append((topic, {"value": value, **args}))
            pending = FakeRecord(topic, partition or 0, -1, 0, key, value)
            return FakeFuture(pending)
        if self.transactional:
            raise KafkaError("send outside a transaction")
        return FakeFuture(self.log.append(topic, value, **args))

    def flush(self, timeout: float | None = None) -> None:
        pass

    def close(self, timeout: float | None = None) -> None:
        self.closed = True

    def init_transactions(self) -> None:
        self.transactional = True

    def begin_transaction(self) -> None:
        if self._open is not None:
            raise KafkaError("a transaction is already open")
        self._open, self._offsets = [], []

    def send_offsets_to_transaction(self, offsets: Mapping[Any, Any], group_metadata: Any) -> None:
        if self._open is None:
            raise KafkaError("no open transaction")
        self._offsets.append((group_metadata, dict(offsets)))

    def commit_transaction(self) -> None:
        if self._open is None:
            raise KafkaError("no open transaction")
        if self.fail_commits > 0:
            self.fail_commits -= 1
            raise KafkaError("commit failed (fake)")
        for topic, args in self._open:
            self.log.append(topic, args.pop("value"), **args)
        for group, offsets in self._offsets:
            for tp, om in offsets.items():
                self.log.committed[(group, tp)] = om
        self._open, self._offsets = None, []
        self.transactions["committed"] += 1

    def abort_transaction(self) -> None:
        if self._open is None:
            raise KafkaError("no open transaction")
        self._open, self._offsets = None, []
        self.transactions["aborted"] += 1
