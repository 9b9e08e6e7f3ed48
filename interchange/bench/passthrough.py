"""The raw pass-through ceiling: the pipeline's hops with nothing but Kafka in them.

Same client (kafka-python, the project's producer and consumer settings), same record
sizes, same hops as the pipeline: a producer process writes opaque records as fast as
it can, a relay process consumes and re-produces each one (the router's place), a sink
process consumes them (the recipients' place). No codec, no signatures, no transactions,
no metrics. The sink's rate is what Kafka and the client alone allow on this machine:
the pipeline's throughput divided by it says how much the real work costs.
"""

from __future__ import annotations

import multiprocessing as mp
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from interchange.errors import InterchangeError
from interchange.kafka.clients import make_consumer, producer_config
from interchange.kafka.topics import wait_visible
from interchange.settings import Settings

IDLE_EXIT_S = 1.5  # a consumer stops after this long without a record, once it had some


class PassthroughError(InterchangeError):
    pass


@dataclass(frozen=True, slots=True)
class PassthroughResult:
    produced: int
    relayed: int
    received: int
    seconds: float  # first to last record at the sink
    record_bytes: float  # mean record size

    @property
    def rate(self) -> float:
        """Records per second through all hops (0 when nothing arrived)."""
        return self.received / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "produced": self.produced,
            "relayed": self.relayed,
            "received": self.received,
            "seconds": round(self.seconds, 3),
            "record_bytes": round(self.record_bytes, 1),
            "docs_per_s": round(self.rate, 1),
        }


def run_passthrough(
    settings: Settings, sizes: Sequence[int], *, duration_s: float = 4.0, timeout_s: float = 60.0
) -> PassthroughResult:
    """Flood `produce -> relay -> sink` for `duration_s` with records of `sizes` (cycled)."""
    if not sizes:
        raise PassthroughError("pass-through needs at least one record size")
    got = run_in_hop_topics(
        settings,
        "raw",
        lambda topics, results: [
            (_sink, (settings, topics[1], results, timeout_s)),
            (_relay, (settings, topics, results, timeout_s)),
            (_produce, (settings, topics[0], list(sizes), duration_s, results)),
        ],
        timeout_s + duration_s,
    )
    received, first, last = got["sink"]
    return PassthroughResult(
        got["producer"], got["relay"], received, max(0.0, last - first), sum(sizes) / len(sizes)
    )


Targets = list[tuple[Callable[..., None], tuple[Any, ...]]]


def run_in_hop_topics(
    settings: Settings,
    name: str,
    targets: Callable[[tuple[str, str], Any], Targets],
    timeout_s: float,
) -> dict[str, Any]:
    """Two fresh topics (`<prefix><name>-<uuid>.in/.out`), the hop processes `targets`
    builds from them and the results queue, their values by role; topics deleted after."""
    stem = f"{settings.topic_prefix}{name}-{uuid.uuid4().hex[:8]}"
    topics = (f"{stem}.in", f"{stem}.out")
    create_hop_topics(settings, topics)
    ctx = mp.get_context("spawn")
    results: Any = ctx.Queue()
    try:
        return run_hops(ctx, results, targets(topics, results), timeout_s)
    finally:
        delete_topics(settings, topics)


def run_hops(
    ctx: Any,
    results: Any,
    targets: Targets,
    timeout_s: float,
) -> dict[str, Any]:
    """Run each (function, args) in its own process; each puts (role, value) or ("error",
    text) on `results`. Returns the values by role once every process has answered."""
    procs = [ctx.Process(target=fn, args=args, daemon=True) for fn, args in targets]
    for proc in procs:
        proc.start()
    got: dict[str, Any] = {}
    deadline = time.monotonic() + timeout_s
    try:
        while len(got) < len(procs):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PassthroughError("the hop processes did not finish in time")
            try:
                role, value = results.get(timeout=min(remaining, 1.0))
            except Exception:  # queue.Empty: check the children are alive
                if any(p.exitcode not in (None, 0) for p in procs):
                    raise PassthroughError("a hop process failed") from None
                continue
            if role == "error":
                raise PassthroughError(str(value))
            got[role] = value
    finally:
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
    return got


def create_hop_topics(settings: Settings, topics: Sequence[str]) -> None:
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(**settings.client_defaults())
    try:
        admin.create_topics(
            [
                NewTopic(topics[0], settings.submission_partitions, settings.replication_factor),
                NewTopic(topics[1], settings.delivery_partitions, settings.replication_factor),
            ]
        )
        wait_visible(admin, set(topics), time.monotonic() + 30)
    finally:
        admin.close()


def delete_topics(settings: Settings, topics: Sequence[str]) -> None:
    """Best effort: the embedded broker forgets them anyway; a cluster should not keep them."""
    from kafka.admin import KafkaAdminClient

    try:
        admin = KafkaAdminClient(**settings.client_defaults())
        try:
            admin.delete_topics(list(topics))
        finally:
            admin.close()
    except Exception:  # noqa: S110 - cleanup must never hide the measurement
        pass


def assigned_consumer(settings: Settings, topic: str) -> Any:
    from kafka.structs import TopicPartition

    consumer = make_consumer(settings)
    partitions = None
    deadline = time.monotonic() + 30
    while not partitions:
        partitions = consumer.partitions_for_topic(topic)
        if time.monotonic() > deadline:
            raise PassthroughError(f"no partitions for {topic}")
    consumer.assign([TopicPartition(topic, p) for p in sorted(partitions)])
    return consumer


def _produce(
    settings: Settings, topic: str, sizes: list[int], duration_s: float, results: Any
) -> None:
    from kafka import KafkaProducer

    try:
        payloads = [bytes(size) for size in sizes]
        producer = KafkaProducer(**producer_config(settings))
        producer.partitions_for(topic)
        time.sleep(1.0)  # the consumers assign and position themselves first
        sent = 0
        end = time.monotonic() + duration_s
        while time.monotonic() < end:
            for payload in payloads:
                producer.send(topic, payload, key=str(sent % 997).encode())
                sent += 1
        producer.flush(timeout=60)
        producer.close(timeout=10)
        results.put(("producer", sent))
    except Exception as exc:
        results.put(("error", f"pass-through producer: {type(exc).__name__}: {exc}"))


def consume_until_idle(
    consumer: Any, handle: Callable[[list[Any]], None], timeout_s: float, max_records: int = 500
) -> tuple[int, float, float]:
    """Poll until `timeout_s`, or `IDLE_EXIT_S` without a record once some came, handing
    each poll's records to `handle`; returns (records, first, last arrival, monotonic)."""
    count = 0
    first = last = 0.0
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        batch = consumer.poll(timeout_ms=100, max_records=max_records)
        records = [record for part in batch.values() for record in part]
        now = time.monotonic()
        if records:
            handle(records)
            first = first or now
            count += len(records)
            last = now
        elif count and now - last > IDLE_EXIT_S:
            break
    return count, first, last


def _relay(settings: Settings, topics: tuple[str, str], results: Any, timeout_s: float) -> None:
    from kafka import KafkaProducer

    try:
        consumer = assigned_consumer(settings, topics[0])
        producer = KafkaProducer(**producer_config(settings))

        def forward(records: list[Any]) -> None:
            for record in records:
                producer.send(topics[1], record.value, key=record.key)

        relayed, _, _ = consume_until_idle(consumer, forward, timeout_s)
        producer.flush(timeout=60)
        producer.close(timeout=10)
        consumer.close()
        results.put(("relay", relayed))
    except Exception as exc:
        results.put(("error", f"pass-through relay: {type(exc).__name__}: {exc}"))


def _sink(settings: Settings, topic: str, results: Any, timeout_s: float) -> None:
    try:
        consumer = assigned_consumer(settings, topic)
        received, first, last = consume_until_idle(consumer, lambda _: None, timeout_s, 2000)
        consumer.close()
        results.put(("sink", (received, first, last)))
    except Exception as exc:
        results.put(("error", f"pass-through sink: {type(exc).__name__}: {exc}"))
