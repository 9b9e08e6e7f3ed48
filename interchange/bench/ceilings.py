"""The CPU ceiling: each stage's pure per-document work, microbenchmarked in this process.

Measured at the start of every `interchange bench` run on the same documents the run
sends (the bench workload, the run's keys and directory), with the thread's CPU clock,
best of a few rounds (a ceiling is the best case):

* producer:  plan the document (workload generator), encode, sign, encode the envelope;
* router:    `decision.decide` (strict decode of envelope and document, certificate and
             signature verification, replay check, routing) and encoding the delivery;
* recipient: strict decode of envelope and document, the latency bookkeeping
             (`RunMetrics.record_delivery`) and encoding the two status messages.

No Kafka here: `stage docs/s per core = 1e6 / µs per document`. The bench compares each
stage process's real CPU per document with these figures.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from interchange.axis.directory import Directory, tier_of_id
from interchange.bench.calc import BENCH_ATTACHMENT_BYTES, StageCost, bench_spec
from interchange.errors import InterchangeError
from interchange.metrics.run import RunMetrics
from interchange.pki.keystore import KeyStore, TrustStore
from interchange.routing.decision import decide
from interchange.routing.outcomes import Delivered
from interchange.routing.replay_guard import ReplayGuard
from interchange.wire import codec
from interchange.wire.model import Hop, StatusCode, StatusMessage
from interchange.workload.generator import Planned, generate
from interchange.workload.sealing import seal, to_wire

ROUNDS = 3


class CeilingError(InterchangeError):
    pass


def measure_stage_costs(
    directory: Directory,
    keys_dir: Path,
    *,
    documents: int = 300,
    attachment_bytes: int = BENCH_ATTACHMENT_BYTES,
    seed: int = 1,
) -> tuple[StageCost, ...]:
    """(producer, router, recipient) CPU µs per document, best of `ROUNDS` rounds."""
    now = time.time_ns() // 1000
    spec = bench_spec(1_000.0, count=documents, attachment_bytes=attachment_bytes)
    keys = KeyStore.open(keys_dir)
    trust = TrustStore.open(keys_dir)

    def plan() -> list[Planned]:
        return list(generate(directory, spec, seed, start_us=now))

    planned = plan()
    wire = [_wire(p, keys) for p in planned]

    def producer() -> None:
        for p in plan():
            _wire(p, keys)

    guard = ReplayGuard(capacity=max(1, documents // 2))
    routed: list[bytes] = []

    def router() -> None:
        routed.clear()
        for value in wire:
            decision = decide(
                value,
                directory=directory,
                trust=trust,
                replay_window=guard,
                now_us=now,
                placement=None,  # not read from Kafka: no key or partition to check
                router_node="router:ceiling",
            )
            if not isinstance(decision, Delivered) or len(decision.deliveries) != 1:
                raise CeilingError(f"a bench document was not delivered: {decision!r:.200}")
            routed.append(codec.encode_envelope(decision.envelope))

    router()  # fills `routed` for the recipient and fails early on a bad set-up
    metrics = RunMetrics()

    def recipient() -> None:
        for value in routed:
            envelope = codec.decode_envelope(value)
            doc = codec.decode_document(envelope.content)
            sender = tier_of_id(doc.sender.id)
            recipient_id = doc.recipients[0].id
            metrics.record_delivery(
                sender,
                tier_of_id(recipient_id),
                doc.priority,
                1_000,
                before_router_us=400,
                after_router_us=600,
            )
            for code in (StatusCode.ARRIVED, StatusCode.ACCEPTED):
                codec.encode_status(_status(doc.id, doc.sender.id, recipient_id, code, now))

    n = len(wire)
    return (
        StageCost("producer", _best(producer, n)),
        StageCost("router", _best(router, n)),
        StageCost("recipient", _best(recipient, n)),
    )


def wire_sizes(
    directory: Directory,
    keys_dir: Path,
    *,
    documents: int = 100,
    attachment_bytes: int = BENCH_ATTACHMENT_BYTES,
    seed: int = 1,
) -> list[int]:
    """Sizes of submitted records of the bench workload (for the raw pass-through)."""
    spec = bench_spec(1_000.0, count=documents, attachment_bytes=attachment_bytes)
    keys = KeyStore.open(keys_dir)
    now = time.time_ns() // 1000
    return [len(_wire(p, keys)) for p in generate(directory, spec, seed, start_us=now)]


def _wire(p: Planned, keys: KeyStore) -> bytes:
    return to_wire(seal(p, keys), p.fault, Hop(f"producer:{p.sender}", p.send_at_us), p.seq)


def _status(doc_id: str, sender: str, recipient: str, code: StatusCode, now: int) -> StatusMessage:
    return StatusMessage(document_id=doc_id, sender=sender, recipient=recipient, code=code,
                         time_us=now)  # fmt: skip


def _best(work: Callable[[], None], n: int, rounds: int = ROUNDS) -> float:
    """CPU µs per item of the fastest of `rounds` runs of `work` (thread CPU clock)."""
    times: list[float] = []
    for _ in range(rounds):
        started = time.thread_time()
        work()
        times.append(time.thread_time() - started)
    return min(times) * 1e6 / n
