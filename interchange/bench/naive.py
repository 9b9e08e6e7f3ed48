"""The naive reference pipeline: the same work as the axis, none of its guarantees.

Three plain processes on the same client, settings, keys, documents and broker as
the run: a producer that encodes, signs and sends the bench workload as fast as it
can; a router that strictly decodes each submission, verifies its signature, drops
classified documents and forwards the record; a sink that consumes and records
latency from the producer's send time (the record timestamp, carried across the
router hop). No transactions, no replay guard, no statuses, no duplicate windows,
no metrics beyond the sink's histogram.

It answers "what does this machine do with this client and this crypto when nobody
adds anything": `interchange bench` reports the pipeline's throughput and p99 as
ratios to it, measured in the same run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interchange.axis.presets import build
from interchange.bench.calc import ALL_CONNECTED, bench_spec
from interchange.bench.passthrough import (
    assigned_consumer,
    consume_until_idle,
    run_in_hop_topics,
)
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

    @property
    def rate(self) -> float:
        """Documents per second through all hops (0 when nothing arrived)."""
        return self.received / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "produced": self.produced,
            "forwarded": self.forwarded,
            "received": self.received,
            "seconds": round(self.seconds, 3),
            "docs_per_s": round(self.rate, 1),
            "p50_us": self.p50_us,
            "p99_us": self.p99_us,
        }


def run_naive(
    settings: Settings,
    preset: str,
    *,
    attachment_bytes: int,
    duration_s: float = 4.0,
    seed: int = 0,
    timeout_s: float = 90.0,
) -> NaiveResult:
    """Flood `sign+send -> verify+forward -> sink` for `duration_s` with the bench documents."""
    work = (preset, settings.keys_dir, attachment_bytes, seed)
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
    received, first, last, hdr = got["sink"]
    latency = LatencyHistogram.decode(hdr)
    return NaiveResult(
        got["producer"],
        got["router"],
        received,
        max(0.0, last - first),
        latency.percentile(50),
        latency.percentile(99),
    )


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
        end = time.monotonic() + duration_s
        for planned in generate(directory, spec, seed, start_us=time.time_ns() // 1000):
            if time.monotonic() >= end:
                break
            send_planned(producer, topic, planned, keys)
            sent += 1
        producer.flush(timeout=60)
        producer.close(timeout=10)
        results.put(("producer", sent))
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

        consume_until_idle(consumer, verify_and_forward, timeout_s)
        producer.flush(timeout=60)
        producer.close(timeout=10)
        consumer.close()
        results.put(("router", forwarded))
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

        received, first, last = consume_until_idle(consumer, record_latency, timeout_s, 2000)
        consumer.close()
        results.put(("sink", (received, first, last, latency.encode())))
    except Exception as exc:
        results.put(("error", f"naive sink: {type(exc).__name__}: {exc}"))
