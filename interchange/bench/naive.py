"""The naive reference pipeline: the same work as the axis, none of its guarantees.

Three plain processes on the same client, settings, keys, documents and broker as
the run: a producer that encodes, signs and sends the bench workload as fast as it
can; a router that strictly decodes each submission, verifies its signature, drops
classified documents and forwards the record; a sink that consumes and records
latency from the producer's send time (the record timestamp, carried across the
router hop). No transactions, no replay guard, no statuses, no duplicate windows,
no metrics beyond the sink's histogram.

Each process also reports the CPU it spent on its share (process time, every thread:
the producer's from its first send to its flush, the router's and the sink's from their
first batch to the end of their last), and the embedded broker's CPU over the run is
sampled when its process id is known, so the report can set the pipeline's CPU per
document beside the naive one, stage by stage.

It answers "what does this machine do with this client and this crypto when nobody
adds anything": `interchange bench` reports the pipeline's throughput and p99 as
ratios to it, measured in the same run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from interchange.axis.presets import build
from interchange.bench.calc import ALL_CONNECTED, bench_spec
from interchange.bench.passthrough import (
    assigned_consumer,
    consume_until_idle,
    run_in_hop_topics,
)
from interchange.bench.procstats import process_cpu_s
from interchange.errors import DecodeError
from interchange.kafka.clients import producer_config
from interchange.metrics.histogram import LatencyHistogram
from interchange.pki.keystore import KeyStore, TrustStore
from interchange.settings import Settings
from interchange.wire import codec
from interchange.wire.model import Hop
from interchange.workload.generator import Planned, generate
from interchange.workload.sealing import seal, to_wire

PLANNED_RATE = 1_000_000.0  # documents are planned this densely and sent at once


@dataclass(frozen=True, slots=True)
class NaiveResult:
    produced: int
    forwarded: int
    received: int
    seconds: float  # first to last record at the sink
    p50_us: int
    p99_us: int
    # CPU seconds per role: producer, router, sink, and broker (the embedded one only)
    cpu_s: Mapping[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        """Documents per second through all hops (0 when nothing arrived)."""
        return self.received / self.seconds if self.seconds > 0 else 0.0

    def cpu_us_per_doc(self) -> dict[str, float]:
        """CPU per document of each role: over the documents it handled (the broker's over
        those received at the end, as the pipeline's broker figure is over deliveries)."""
        handled = {
            "producer": self.produced,
            "router": self.produced,
            "sink": self.received,
            "broker": self.received,
        }
        return {
            role: round(cpu * 1e6 / handled[role], 1)
            for role, cpu in self.cpu_s.items()
            if handled.get(role, 0) > 0
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "produced": self.produced,
            "forwarded": self.forwarded,
            "received": self.received,
            "seconds": round(self.seconds, 3),
            "docs_per_s": round(self.rate, 1),
            "p50_us": self.p50_us,
            "p99_us": self.p99_us,
            "cpu_us_per_doc": self.cpu_us_per_doc(),
        }


def run_naive(
    settings: Settings,
    preset: str,
    *,
    attachment_bytes: int,
    duration_s: float = 4.0,
    seed: int = 0,
    timeout_s: float = 90.0,
    broker_pid: int | None = None,
) -> NaiveResult:
    """Flood `sign+send -> verify+forward -> sink` for `duration_s` with the bench documents.
    `broker_pid`: a local broker process whose CPU over the run is reported as "broker"."""
    work = (preset, settings.keys_dir, attachment_bytes, seed)
    broker_before = None if broker_pid is None else process_cpu_s(broker_pid)
    got = run_in_hop_topics(
        settings,
        "naive",
        lambda topics, results: [
            (_sink, (settings, topics[1], results, timeout_s)),
            (_router, (settings, topics, work, results, timeout_s)),
            (_produce, (settings, topics[0], work, duration_s, results)),
        ],
        timeout_s + duration_s,
    )
    received, first, last, hdr, sink_cpu = got["sink"]
    (produced, producer_cpu), (forwarded, router_cpu) = got["producer"], got["router"]
    cpu = {"producer": producer_cpu, "router": router_cpu, "sink": sink_cpu}
    broker_after = None if broker_pid is None else process_cpu_s(broker_pid)
    if broker_before is not None and broker_after is not None:
        cpu["broker"] = broker_after - broker_before
    latency = LatencyHistogram.decode(hdr)
    return NaiveResult(
        produced,
        forwarded,
        received,
        max(0.0, last - first),
        latency.percentile(50),
        latency.percentile(99),
        cpu,
    )


class _CpuWindow:
    """Process CPU (every thread) from the start of the first batch a consumer handles to
    the end of its last: its work, without the wait before the first record or the idle
    polls after the last."""

    def __init__(self) -> None:
        self.first: float | None = None
        self.last = 0.0

    def around(self, handle: Callable[[list[Any]], None]) -> Callable[[list[Any]], None]:
        def timed(records: list[Any]) -> None:
            if self.first is None:
                self.first = time.process_time()
            handle(records)
            self.last = time.process_time()

        return timed

    @property
    def seconds(self) -> float:
        return 0.0 if self.first is None else self.last - self.first


def _produce(
    settings: Settings,
    topic: str,
    work: tuple[str, Path, int, int],
    duration_s: float,
    results: Any,
) -> None:
    from kafka import KafkaProducer

    try:
        preset, keys_dir, attachment_bytes, seed = work
        directory = build(preset, ALL_CONNECTED)
        keys = KeyStore.open(keys_dir)
        spec = bench_spec(PLANNED_RATE, duration_s=3600.0, attachment_bytes=attachment_bytes)
        producer = KafkaProducer(**producer_config(settings))
        producer.partitions_for(topic)
        time.sleep(1.0)  # the consumers assign and position themselves first
        sent = 0
        cpu_start = time.process_time()
        end = time.monotonic() + duration_s
        for planned in generate(directory, spec, seed, start_us=time.time_ns() // 1000):
            if time.monotonic() >= end:
                break
            send_planned(producer, topic, planned, keys)
            sent += 1
        producer.flush(timeout=60)
        cpu = time.process_time() - cpu_start
        producer.close(timeout=10)
        results.put(("producer", (sent, cpu)))
    except Exception as exc:
        results.put(("error", f"naive producer: {type(exc).__name__}: {exc}"))


def send_planned(producer: Any, topic: str, planned: Planned, keys: KeyStore) -> None:
    """The naive producer's whole work for one document: seal it, wrap it with the
    producer's hop and send it, the record timestamped with the send time."""
    now = time.time_ns() // 1000
    value = to_wire(seal(planned, keys), None, Hop(f"producer:{planned.sender}", now), 0)
    producer.send(topic, value, key=planned.key, timestamp_ms=now // 1000)


def _router(
    settings: Settings,
    topics: tuple[str, str],
    work: tuple[str, Path, int, int],
    results: Any,
    timeout_s: float,
) -> None:
    from kafka import KafkaProducer

    try:
        trust = TrustStore.open(work[1])
        consumer = assigned_consumer(settings, topics[0])
        producer = KafkaProducer(**producer_config(settings))
        forwarded = 0

        def verify_and_forward(records: list[Any]) -> None:
            nonlocal forwarded
            for record in records:
                try:
                    envelope = codec.decode_envelope(record.value)
                    doc = codec.decode_document(envelope.content)
                except DecodeError:
                    continue
                at = time.time_ns() // 1000  # judged at receipt, as the router judges
                cert_id, sender = envelope.cert_id, doc.sender.id
                verdict = trust.verify(envelope.content, envelope.signature, cert_id, sender, at)
                if verdict is not None or doc.secrecy.classified:
                    continue
                producer.send(
                    topics[1], record.value, key=record.key, timestamp_ms=record.timestamp
                )
                forwarded += 1

        window = _CpuWindow()
        consume_until_idle(consumer, window.around(verify_and_forward), timeout_s)
        producer.flush(timeout=60)
        producer.close(timeout=10)
        consumer.close()
        results.put(("router", (forwarded, window.seconds)))
    except Exception as exc:
        results.put(("error", f"naive router: {type(exc).__name__}: {exc}"))


def _sink(settings: Settings, topic: str, results: Any, timeout_s: float) -> None:
    try:
        consumer = assigned_consumer(settings, topic)
        latency = LatencyHistogram()

        def record_latency(records: list[Any]) -> None:
            now_ms = time.time_ns() // 1_000_000
            for record in records:
                latency.record(max(0, now_ms - record.timestamp) * 1000)

        window = _CpuWindow()
        received, first, last = consume_until_idle(
            consumer, window.around(record_latency), timeout_s, 2000
        )
        consumer.close()
        results.put(("sink", (received, first, last, latency.encode(), window.seconds)))
    except Exception as exc:
        results.put(("error", f"naive sink: {type(exc).__name__}: {exc}"))
