"""The router's output records and its one-transaction-at-a-time committer.

Why a committer thread: a transaction's commit is three broker round trips
(AddOffsetsToTxn, TxnOffsetCommit, EndTxn; ~8-10 ms on Tansu) during which the
router used to sit idle while new submissions waited to be polled. The committer
runs one batch's transaction (begin, sends, offsets, commit; abort on a Kafka
error) on its own thread while the router polls and decides the next batch. At
most one transaction is ever open, and the router waits for it before handing
over the next, so a batch's outputs, changelog entries and offsets still commit
atomically and in order (docs/ROUTER.md, "Exactly once").
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
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


class Committer:
    """Runs each batch's transaction on one worker thread; `submit` returns its Future."""

    def __init__(self, producer: Any) -> None:
        self._producer = producer
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="router-commit")

    def submit(self, batch: Batch, group_metadata: Any) -> Future[None]:
        from kafka.structs import OffsetAndMetadata

        offsets = {tp: OffsetAndMetadata(off, "", -1) for tp, off in batch.next_offsets.items()}
        return self._pool.submit(self._transaction, batch.outputs, offsets, group_metadata)

    def _transaction(self, outputs: list[Output], offsets: Any, group_metadata: Any) -> None:
        from kafka.errors import KafkaError, ProducerFencedError

        producer = self._producer
        try:
            producer.begin_transaction()
            send = producer.send
            for out in outputs:
                send(
                    out.topic, out.value, key=out.key, headers=out.headers, partition=out.partition
                )
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

    def close(self) -> None:
        self._pool.shutdown(wait=True)


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
