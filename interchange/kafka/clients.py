"""Factories for kafka-python clients with the project's defaults in one place.

Why each default: see `interchange.settings` and docs/TOPICS.md. Connecting
happens here, in the stage's `start()`, never in a constructor.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kafka.partitioner.abc import Partitioner
from kafka.partitioner.default import DefaultPartitioner

from interchange.kafka.seam import Consumer, Stop
from interchange.settings import Settings
from interchange.wire.partitioner import murmur2


class CachedKeyPartitioner(Partitioner):  # type: ignore[misc]
    """Kafka's default partitioner (murmur2 of the key over every partition, as the Java
    client and kafka-python's `DefaultPartitioner` pick), with each key's hash kept.

    Every record of the axis is keyed by an agency id, and a few thousand agencies send
    millions of records: kafka-python's pure-Python murmur2 per send was 5% of the
    recipients' CPU. The partition count is read from the cluster metadata on every
    call, so a topic that grows partitions is followed as the default partitioner does.
    """

    MAX_KEYS = 100_000  # more distinct keys than any preset has agencies: start over

    def __init__(self) -> None:
        self._hashes: dict[bytes, int] = {}

    def partition(  # noqa: PLR0917 - kafka-python's Partitioner interface
        self,
        topic: str,
        key: Any,
        serialized_key: bytes | None,
        value: Any,
        serialized_value: Any,
        cluster: Any,
    ) -> int:
        if serialized_key is None:
            return int(
                _DEFAULT.partition(topic, key, serialized_key, value, serialized_value, cluster)
            )
        partitions = cluster.partitions_for_topic(topic)
        if not partitions:
            raise ValueError(f"Topic {topic} not found in ClusterMetadata")
        hashed = self._hashes.get(serialized_key)
        if hashed is None:
            if len(self._hashes) >= self.MAX_KEYS:
                self._hashes.clear()
            hashed = self._hashes[serialized_key] = murmur2(serialized_key) & 0x7FFFFFFF
        ordered = sorted(partitions)
        return int(ordered[hashed % len(ordered)])


_DEFAULT = DefaultPartitioner()


def producer_config(
    settings: Settings, *, transactional_id: str | None = None, linger_ms: int | None = None
) -> dict[str, Any]:
    """Idempotent, acks=all producer settings (transactional when an id is given);
    `linger_ms` in place of the settings' own (the recipients' status producer)."""
    config: dict[str, Any] = {
        **settings.client_defaults(),
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": settings.linger_ms if linger_ms is None else linger_ms,
        "batch_size": 256 * 1024,
        "max_request_size": 5 * 1024 * 1024,
        "retries": 2**31 - 1,
        "max_in_flight_requests_per_connection": 5,
        # a send blocks at most this long for metadata or buffer space (default 60 s):
        # a stage whose broker is gone must still honour SIGTERM within seconds
        "max_block_ms": 10_000,
        # kafka-python's own sensors cost ~10% of an idle client's CPU and nothing reads them
        "metrics_enabled": False,
        "partitioner": CachedKeyPartitioner(),
    }
    if settings.compression_type:
        config["compression_type"] = settings.compression_type
    if transactional_id is not None:
        config["transactional_id"] = transactional_id
    return config


def consumer_config(
    settings: Settings,
    *,
    group_id: str | None,
    read_committed: bool = True,
    auto_commit: bool = False,
) -> dict[str, Any]:
    """Consumer settings tuned for low latency on Tansu and correct on Apache Kafka."""
    return {
        **settings.client_defaults(),
        "group_id": group_id,
        "enable_auto_commit": auto_commit and group_id is not None,
        "auto_offset_reset": "earliest",
        "isolation_level": "read_committed" if read_committed else "read_uncommitted",
        "fetch_max_wait_ms": settings.fetch_max_wait_ms,
        "max_poll_interval_ms": settings.max_poll_interval_ms,
        "session_timeout_ms": settings.session_timeout_ms,
        "heartbeat_interval_ms": settings.heartbeat_interval_ms,
        # room for the largest envelope (4.06 MB) in one partition; one response at most
        # 8 MiB (not kafka-python's 50 MiB): in-flight responses set a stage's memory
        "max_partition_fetch_bytes": 8 * 1024 * 1024,
        "fetch_max_bytes": 8 * 1024 * 1024,
        "allow_auto_create_topics": False,
        "metrics_enabled": False,
    }


def make_producer(
    settings: Settings, *, transactional_id: str | None = None, linger_ms: int | None = None
) -> Any:
    from kafka import KafkaProducer

    return KafkaProducer(
        **producer_config(settings, transactional_id=transactional_id, linger_ms=linger_ms)
    )


def make_consumer(
    settings: Settings,
    *topics: str,
    group_id: str | None = None,
    read_committed: bool = True,
    auto_commit: bool = False,
) -> Any:
    """A consumer subscribed to `topics` (none: the caller assigns partitions itself).
    Decompression of what it fetches is bounded (`bounded_records`)."""
    from kafka import KafkaConsumer

    from interchange.kafka import bounded_records

    bounded_records.install()

    config = consumer_config(
        settings, group_id=group_id, read_committed=read_committed, auto_commit=auto_commit
    )
    return KafkaConsumer(*topics, **config)


def assign_all(consumer: Consumer, topics: list[str], timeout_s: float = 15.0) -> list[Any]:
    """Assign every partition of `topics` to `consumer` (static assignment, no group join;
    committed offsets of its group_id still apply). Raises TopicError if a topic has no
    partitions in the cluster metadata within `timeout_s`."""
    import time

    from kafka.structs import TopicPartition

    from interchange.errors import TopicError

    deadline = time.monotonic() + timeout_s
    tps: list[Any] = []
    for topic in topics:
        while not (partitions := consumer.partitions_for_topic(topic)):
            if time.monotonic() >= deadline:
                raise TopicError(f"topic {topic} has no partitions (does it exist?)")
            time.sleep(0.1)
        tps += [TopicPartition(topic, p) for p in sorted(partitions)]
    consumer.assign(tps)
    return tps


def close_quietly(client: Any, timeout_s: float) -> str | None:
    """Close a producer or consumer within `timeout_s`, whatever state the broker is in;
    return what went wrong (for the caller's one line), or None.

    kafka-python's `KafkaProducer.close` raises when its final flush times out and then
    leaves the sender thread running (and `__del__` retries, printing a traceback at
    exit). Here a producer that cannot flush is force-closed: its undelivered records
    fail, which is what a closing stage wants.
    """
    from kafka import KafkaProducer

    try:
        if isinstance(client, KafkaProducer):
            client.close(timeout=timeout_s)
        else:
            client.close(autocommit=False, timeout_ms=int(timeout_s * 1000))
        return None
    except Exception as exc:  # closing must never mask the caller's outcome
        sender = getattr(client, "_sender", None)
        if sender is not None:
            sender.force_close()
            client._closed = True  # so its __del__ does not try again
        return f"{type(exc).__name__}: {exc}"


def producer_is_fenced_or_lost(exc: BaseException | None) -> bool:
    """A send error after which the idempotent producer must be replaced (the broker lost
    its producer state, e.g. the embedded broker restarted with empty memory)."""
    from kafka import errors

    return isinstance(
        exc,
        (
            errors.UnknownProducerIdError,
            errors.OutOfOrderSequenceNumberError,
            errors.InvalidProducerEpochError,
            errors.ProducerFencedError,
        ),
    )


def await_kafka(
    bootstrap: str, stop: Stop, say: Callable[[str], None], who: str, max_delay_s: float = 5.0
) -> bool:
    """Wait until a bootstrap server answers (an ApiVersions probe of 1 s), saying so once
    per failed attempt and retrying with backoff (0.5 s doubling to `max_delay_s`); False
    if `stop` came first. kafka-python's own bootstrap sits silent for 30 s and no signal
    handler that only sets a flag can end it, so a stage probes before its clients."""
    from interchange.kafka.broker import kafka_answers

    delay = 0.5
    while not stop.wait(0):
        for server in bootstrap.split(","):
            host, _, port = server.strip().rpartition(":")
            if port.isdigit() and kafka_answers(host.strip("[]") or "127.0.0.1", int(port)):
                return True
        say(f"{who}: Kafka at {bootstrap} unreachable (no bootstrap server answers); "
            f"retrying in {delay:.1f} s")  # fmt: skip
        stop.wait(delay)
        delay = min(delay * 2, max_delay_s)
    return False
