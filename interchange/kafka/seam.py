"""The seam between the stages and Kafka: the few client operations the stages use.

`Consumer`, `Producer` and `Record` are Protocols of the part of kafka-python's
`KafkaConsumer`, `KafkaProducer` and `ConsumerRecord` the stages call, no more: what a
stand-in must offer. `interchange.kafka.fakes` holds in-memory ones, so the
router's batch and commit logic and the recipients' rebalance handling are tested
without a broker. Partitions are kafka-python `TopicPartition`s and committed offsets
its `OffsetAndMetadata` (both named tuples, typed `Any` here as kafka-python ships no
type information).

`Stop` is how every stage is told to stop; `offsets_at` and `seek_to_time` position a
consumer by record timestamp for the readers that start "from a time" (the agency inbox,
`send --follow`, replay).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, Protocol

TopicPartition = Any  # kafka.structs.TopicPartition(topic, partition)
OffsetAndMetadata = Any  # kafka.structs.OffsetAndMetadata(offset, metadata, leader_epoch)


class Stop(Protocol):
    """A `threading.Event` or `cli.common.StopFlag`; `wait(0)` reads it without blocking."""

    def wait(self, timeout: float | None = None) -> bool: ...


class Record(Protocol):
    """A consumed record (kafka-python's `ConsumerRecord`), the fields the stages read."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def timestamp(self) -> int: ...
    @property
    def timestamp_type(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> Sequence[tuple[str, bytes]]: ...


class Consumer(Protocol):
    """The consumer surface the stages use (kafka-python `KafkaConsumer`)."""

    def poll(
        self, timeout_ms: int = 0, max_records: int | None = None
    ) -> Mapping[TopicPartition, Sequence[Any]]: ...
    def commit(
        self,
        offsets: Mapping[TopicPartition, OffsetAndMetadata] | None = None,
        timeout_ms: int | None = None,
    ) -> None: ...
    def committed(
        self, partition: TopicPartition, metadata: bool = False, timeout_ms: int | None = None
    ) -> Any: ...
    def assign(self, partitions: Sequence[TopicPartition]) -> None: ...
    def assignment(self) -> Collection[TopicPartition]: ...
    def subscribe(
        self, topics: Sequence[str] = (), pattern: str | None = None, listener: Any = None
    ) -> None: ...
    def unsubscribe(self) -> None: ...
    def position(self, partition: TopicPartition, timeout_ms: int | None = None) -> int | None: ...
    def highwater(self, partition: TopicPartition) -> int | None: ...
    def partitions_for_topic(self, topic: str) -> Collection[int] | None: ...
    def seek(self, partition: TopicPartition, offset: int) -> None: ...
    def seek_to_beginning(self, *partitions: TopicPartition) -> None: ...
    def seek_to_end(self, *partitions: TopicPartition) -> None: ...
    def offsets_for_times(
        self, timestamps: Mapping[TopicPartition, int], timeout_ms: int | None = None
    ) -> Mapping[TopicPartition, Any]: ...
    def pause(self, *partitions: TopicPartition) -> None: ...
    def group_metadata(self) -> Any: ...
    def close(self, autocommit: bool = True, timeout_ms: int | None = None) -> None: ...


class Producer(Protocol):
    """The producer surface the stages use (kafka-python `KafkaProducer`); the
    transactional calls only on a producer made with a transactional id (the router)."""

    def send(
        self,
        topic: str,
        value: bytes | None = None,
        *,
        key: bytes | None = None,
        headers: Sequence[tuple[str, bytes]] | None = None,
        partition: int | None = None,
        timestamp_ms: int | None = None,
    ) -> Any: ...
    def flush(self, timeout: float | None = None) -> None: ...
    def close(self, timeout: float | None = None) -> None: ...
    def init_transactions(self) -> None: ...
    def begin_transaction(self) -> None: ...
    def send_offsets_to_transaction(
        self, offsets: Mapping[TopicPartition, OffsetAndMetadata], group_metadata: Any
    ) -> None: ...
    def commit_transaction(self) -> None: ...
    def abort_transaction(self) -> None: ...


def offsets_at(consumer: Consumer, tps: Iterable[Any], since_ms: int) -> dict[Any, int | None]:
    """The first offset of each partition whose record timestamp is at or after `since_ms`,
    or None where no record is that recent (`offsets_for_times`)."""
    found: Mapping[Any, Any] = consumer.offsets_for_times(dict.fromkeys(tps, since_ms))
    return {tp: (hit.offset if hit is not None else None) for tp, hit in found.items()}


def seek_to_time(consumer: Consumer, tps: Iterable[Any], since_ms: int) -> None:
    """Seek each partition to its first record at or after `since_ms`, or to its end when
    none is that recent. Brokers may position coarsely (Tansu does): readers still filter
    records by timestamp."""
    tps = list(tps)
    starts = offsets_at(consumer, tps, since_ms)
    for tp in tps:
        offset = starts.get(tp)
        if offset is not None:
            consumer.seek(tp, offset)
        else:
            consumer.seek_to_end(tp)
