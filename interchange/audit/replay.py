"""Read retained topics for an audit: assign and seek, no consumer group, nothing committed.

Reads committed data only (`read_committed`), from the beginning, from given offsets,
or from a time range (`offsets_for_times`). End offsets are never trusted to say the
replay has caught up (Tansu reports them wrong after batched produces, docs/BROKER_QUIRKS.md
quirk 2): the replay stops after an idle window with no record on any partition, and
counts what it actually read. Throughput is measured from the first poll to the last
record received, so the idle window at the end does not dilute it.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from interchange.audit.findings import RawRecord
from interchange.errors import ConfigError, InterchangeError
from interchange.kafka.clients import make_consumer
from interchange.kafka.seam import Consumer, offsets_at
from interchange.settings import Settings

TopicPartitionKey = tuple[str, int]


class ReplayError(InterchangeError):
    """The topics cannot be read (broker unreachable)."""


@dataclass(frozen=True, slots=True)
class ReplayConfig:
    topics: tuple[str, ...]
    from_offsets: Mapping[TopicPartitionKey, int] = field(default_factory=dict)
    since_ms: int | None = None  # first record timestamp to keep (inclusive)
    until_ms: int | None = None  # last record timestamp to keep (inclusive)
    idle_s: float = 2.0  # stop after this long without a record on any partition
    poll_ms: int = 200
    max_records: int | None = None

    @property
    def partial(self) -> bool:
        """Not from the beginning: cross-record checks see only part of the run."""
        return bool(self.from_offsets) or self.since_ms is not None or self.until_ms is not None


@dataclass(frozen=True, slots=True)
class ReplayStats:
    records: int
    bytes: int
    seconds: float  # first poll -> last record received
    per_topic: Mapping[str, int]
    missing_topics: tuple[str, ...] = ()

    @property
    def records_per_s(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0

    @property
    def mb_per_s(self) -> float:
        return self.bytes / 1e6 / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "records_per_s": round(self.records_per_s, 1),
            "mb_per_s": round(self.mb_per_s, 3),
            "per_topic": dict(self.per_topic),
            "missing_topics": list(self.missing_topics),
        }


def parse_offsets(text: str) -> dict[TopicPartitionKey, int]:
    """`topic:partition=offset,...` (topic names may contain dots and colons)."""
    out: dict[TopicPartitionKey, int] = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        try:
            where, offset = item.rsplit("=", 1)
            topic, partition = where.rsplit(":", 1)
            out[topic, int(partition)] = int(offset)
        except ValueError as exc:
            raise ConfigError(f"--from-offsets: {item!r} is not topic:partition=offset") from exc
        if out[topic, int(partition)] < 0:
            raise ConfigError(f"--from-offsets: negative offset in {item!r}")
    return out


def parse_time_ms(text: str) -> int:
    """ISO 8601 date or date-time; without a zone it is UTC."""
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError as exc:
        raise ConfigError(f"{text!r} is not an ISO 8601 time (e.g. 2026-11-02T08:00:00Z)") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return int(moment.timestamp() * 1000)


def replay(
    settings: Settings,
    config: ReplayConfig,
    on_record: Callable[[RawRecord], None] | None = None,
) -> tuple[list[RawRecord], ReplayStats]:
    """Every committed record of `config.topics` in range, and how fast they were read."""
    from kafka.errors import KafkaError

    try:
        consumer = make_consumer(settings)
    except KafkaError as exc:
        raise ReplayError(f"cannot reach Kafka at {settings.bootstrap}: {exc}") from exc
    try:
        missing = _assign(consumer, config)
        return _read(consumer, config, missing, on_record)
    except KafkaError as exc:
        raise ReplayError(f"replay from {settings.bootstrap} failed: {exc}") from exc
    finally:
        consumer.close()


def _assign(consumer: Consumer, config: ReplayConfig) -> tuple[str, ...]:
    from kafka import TopicPartition

    tps = []
    missing = []
    for topic in config.topics:
        parts = consumer.partitions_for_topic(topic)
        if not parts:
            missing.append(topic)
            continue
        tps += [TopicPartition(topic, p) for p in sorted(parts)]
    consumer.assign(tps)
    unknown = set(config.from_offsets) - {(tp.topic, tp.partition) for tp in tps}
    if unknown:
        raise ConfigError(f"--from-offsets names unknown partitions: {sorted(unknown)}")
    starts: dict[Any, int | None] = {}
    if config.since_ms is not None:
        starts = offsets_at(consumer, tps, config.since_ms)
    idle = []
    for tp in tps:
        given = config.from_offsets.get((tp.topic, tp.partition))
        by_time = starts.get(tp, 0) if config.since_ms is not None else 0
        if by_time is None:
            idle.append(tp)  # no record at or after `since`: nothing to read here
        elif given is not None or by_time:
            consumer.seek(tp, max(given or 0, by_time or 0))
        else:
            consumer.seek_to_beginning(tp)
    if idle:
        consumer.pause(*idle)
    return tuple(missing)


def _read(
    consumer: Consumer,
    config: ReplayConfig,
    missing: tuple[str, ...],
    on_record: Callable[[RawRecord], None] | None,
) -> tuple[list[RawRecord], ReplayStats]:
    out: list[RawRecord] = []
    per_topic: dict[str, int] = dict.fromkeys(config.topics, 0)
    size = 0
    started = last = time.monotonic()
    while time.monotonic() - last < config.idle_s:
        if config.max_records is not None and len(out) >= config.max_records:
            break
        batch = consumer.poll(timeout_ms=config.poll_ms, max_records=10_000)
        for records in batch.values():
            for rec in _keep(records, config):
                out.append(rec)
                per_topic[rec.topic] = per_topic.get(rec.topic, 0) + 1
                size += rec.size
                if on_record is not None:
                    on_record(rec)
            last = time.monotonic()
    stats = ReplayStats(len(out), size, last - started, per_topic, missing)
    return out, stats


def _keep(records: Iterable[Any], config: ReplayConfig) -> Iterable[RawRecord]:
    for r in records:
        if config.since_ms is not None and r.timestamp < config.since_ms:
            continue
        if config.until_ms is not None and r.timestamp > config.until_ms:
            continue
        yield RawRecord(
            r.topic,
            r.partition,
            r.offset,
            int(r.timestamp),
            r.key,
            r.value,
            tuple((k, v) for k, v in (r.headers or ())),
            int(r.timestamp_type if r.timestamp_type is not None else -1),
        )
