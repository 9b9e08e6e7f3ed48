"""The router's output records, its transaction runner and the changelog restore.

One batch = one transaction (begin, sends, offsets, commit; abort on a Kafka
error), run synchronously between polls, so no transaction is ever open while
the consumer polls (a rebalance can only happen inside poll). Committing each
transaction on a worker thread while the next batch was polled and decided was
tried and measured: no gain in CPU per document or throughput on a backlog, and
more, smaller transactions (each several ms of client CPU) at moderate rates.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from interchange.core import codec
from interchange.core.model import Rejection
from interchange.core.policy import Decision, Delivered

log = logging.getLogger("interchange.pipeline.router")  # one logger for the stage
OFFSET_BYTES = 8


@dataclass(frozen=True, slots=True)
class Output:
    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    partition: int | None = None


@dataclass(slots=True)
class Batch:
    """Decided records waiting for (or in) one transaction."""

    txn: bytes  # the router-txn header of every output of this batch
    started: float = field(default_factory=time.monotonic)
    outputs: list[Output] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    remembered: dict[int, list[str]] = field(default_factory=dict)  # partition -> new ids
    next_offsets: dict[Any, int] = field(default_factory=dict)  # TopicPartition -> offset


def run_transaction(producer: Any, batch: Batch, group_metadata: Any) -> None:
    """One batch's transaction: its outputs and consumed offsets, committed or aborted."""
    from kafka.errors import KafkaError, ProducerFencedError
    from kafka.structs import OffsetAndMetadata

    offsets = {tp: OffsetAndMetadata(off, "", -1) for tp, off in batch.next_offsets.items()}
    try:
        producer.begin_transaction()
        send = producer.send
        for out in batch.outputs:
            send(out.topic, out.value, key=out.key, headers=out.headers, partition=out.partition)
        producer.send_offsets_to_transaction(offsets, group_metadata)
        producer.commit_transaction()
    except ProducerFencedError:
        raise
    except KafkaError:
        try:
            producer.abort_transaction()
        except KafkaError as exc:
            log.debug("abort after a failed transaction: %s", exc)
        raise


def encode_outputs(decision: Decision, layout: Any, router: bytes, txn: bytes) -> list[Output]:
    """The records one decision writes: deliveries and/or rejections, with their headers."""
    if isinstance(decision, Delivered):
        headers = [
            ("document-id", decision.document_id.encode()),
            ("sender", decision.sender.encode()),
            ("router", router),
            ("router-txn", txn),
        ]
        value = codec.encode_envelope(decision.envelope)
        outs = [
            Output(layout.delivery(d.tier), d.recipient.encode(), value, headers)
            for d in decision.deliveries
        ]
        outs += [_rejection_output(r, layout, router, txn) for r in decision.not_connected]
        return outs
    return [_rejection_output(decision.rejection, layout, router, txn)]


def _rejection_output(rejection: Rejection, layout: Any, router: bytes, txn: bytes) -> Output:
    headers = [
        ("document-id", rejection.document_id.encode()),
        ("reason", rejection.reason.value.encode()),
        ("router", router),
        ("router-txn", txn),
    ]
    return Output(
        layout.rejections, rejection.sender.encode(), codec.encode_rejection(rejection), headers
    )


def changelog(topic: str, partition: int, document_id: str, offset: int) -> Output:
    """A replay-guard changelog entry: id accepted at this submissions offset."""
    return Output(topic, document_id.encode(), offset.to_bytes(OFFSET_BYTES, "big"), [], partition)


def read_changelog(
    restorer: Any, topic: str, below: dict[int, int], idle_s: float
) -> dict[int, list[str]]:
    """Ids accepted at submission offsets below the committed position, per partition.

    Entries at or after that offset belong to a transaction that never committed
    (Tansu shows aborted records to read_committed readers): they are skipped, as
    those submissions are decided again. Complete after `idle_s` without a record
    (end offsets lie on Tansu, BROKER.md quirk 2).
    """
    from kafka.structs import TopicPartition

    tps = [TopicPartition(topic, p) for p in below]
    restorer.assign(tps)
    restorer.seek_to_beginning(*tps)
    ids: dict[int, list[str]] = {p: [] for p in below}
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < idle_s:
        got = restorer.poll(timeout_ms=100, max_records=10_000)
        for tp, records in got.items():
            for record in records:
                value = record.value or b""
                if (
                    len(value) == OFFSET_BYTES
                    and int.from_bytes(value, "big") < below[tp.partition]
                ):
                    ids[tp.partition].append(record.key.decode("utf-8", "replace"))
            quiet_since = time.monotonic()
    restorer.unsubscribe()
    return ids


def log_decision(decision: Decision) -> None:
    """Debug log by id and reason only; never subject or content, whatever the level."""
    if not log.isEnabledFor(logging.DEBUG):
        return
    if isinstance(decision, Delivered):
        log.debug(
            "delivered %s from %s to %d recipient(s), %d not connected",
            decision.document_id,
            decision.sender,
            len(decision.deliveries),
            len(decision.not_connected),
        )
    else:
        r = decision.rejection
        log.debug(
            "%s %s from %s (secrecy %s)",
            r.reason.value,
            r.document_id or "-",
            r.sender or "-",
            r.secrecy.value,
        )
