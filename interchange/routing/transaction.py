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

from interchange.kafka.seam import Consumer, Producer, Stop
from interchange.routing.outcomes import Decision, Delivered
from interchange.wire import codec
from interchange.wire.model import Rejection

log = logging.getLogger("interchange.routing.router")  # one logger for the stage
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
    # partition -> (submissions offset, id) accepted in this batch: the changelog entries
    remembered: dict[int, list[tuple[int, str]]] = field(default_factory=dict)
    next_offsets: dict[Any, int] = field(default_factory=dict)  # TopicPartition -> offset

    def changelog_outputs(self, topic: str) -> list[Output]:
        """One changelog record per submissions partition of the batch (not one per id:
        a send costs the router as much CPU as a decision's decode)."""
        return [
            Output(topic, self.txn, encode_changelog(entries), [], partition)
            for partition, entries in self.remembered.items()
        ]


TXN_STEP_TIMEOUT_S = 10.0  # longest wait for one transactional round trip


def run_transaction(
    producer: Producer,
    batch: Batch,
    group_metadata: Any,
    changelog_topic: str,
    *,
    stop: Stop | None = None,
    timeout_s: float = TXN_STEP_TIMEOUT_S,
) -> None:
    """One batch's transaction: its outputs, its changelog records and consumed offsets,
    committed or aborted. Every wait is bounded by `timeout_s` and gives way to `stop`."""
    from kafka.errors import KafkaError, ProducerFencedError
    from kafka.structs import OffsetAndMetadata

    offsets = {tp: OffsetAndMetadata(off, "", -1) for tp, off in batch.next_offsets.items()}
    try:
        producer.begin_transaction()
        send = producer.send
        for out in batch.outputs:
            send(out.topic, out.value, key=out.key, headers=out.headers, partition=out.partition)
        for out in batch.changelog_outputs(changelog_topic):
            send(out.topic, out.value, key=out.key, partition=out.partition)
        txn = _Transactions(producer, stop, timeout_s)
        txn.send_offsets(offsets, group_metadata)
        txn.commit()
    except ProducerFencedError:
        raise
    except ValueError as exc:  # an explicit partition the producer's metadata lacks
        _abort_quietly(producer, stop, timeout_s)
        raise KafkaError(f"cannot send the batch: {exc}") from exc
    except KafkaError:
        try:
            _Transactions(producer, stop, timeout_s).abort()
        except KafkaError as exc:
            log.debug("abort after a failed transaction: %s", exc)
        raise


def _abort_quietly(producer: Any, stop: Any, timeout_s: float) -> None:
    from kafka.errors import KafkaError

    try:
        _Transactions(producer, stop, timeout_s).abort()
    except KafkaError as exc:
        log.debug("abort after a failed transaction: %s", exc)


class _Transactions:
    """kafka-python's send_offsets_to_transaction, commit_transaction and
    abort_transaction wait without a bound (a router hung for good when the broker
    died mid-transaction). These are the same steps, on the same transaction
    manager, with a bounded wait that also gives way to a stop request; a
    KafkaTimeoutError leaves the producer to be closed and replaced by the caller.
    `producer` is untyped here: this reaches past the seam, into the client's private
    `_transaction_manager` and `_sender` (a producer without them gets the plain calls)."""

    def __init__(self, producer: Any, stop: Stop | None, timeout_s: float) -> None:
        self._producer = producer
        self._manager = getattr(producer, "_transaction_manager", None)
        self._stop = stop
        self._timeout_s = timeout_s

    def send_offsets(self, offsets: dict[Any, Any], group_metadata: Any) -> None:
        if self._manager is None:  # another client: its own (unbounded) call
            self._producer.send_offsets_to_transaction(offsets, group_metadata)
            return
        self._await(self._manager.send_offsets_to_transaction(offsets, group_metadata), "offsets")

    def commit(self) -> None:
        if self._manager is None:
            self._producer.commit_transaction()
            return
        self._await(self._manager.begin_commit(), "commit")

    def abort(self) -> None:
        if self._manager is None:
            self._producer.abort_transaction()
            return
        self._await(self._manager.begin_abort(), "abort")

    def _await(self, result: Any, what: str) -> None:
        from kafka.errors import KafkaTimeoutError

        self._producer._sender.wakeup()
        deadline = time.monotonic() + self._timeout_s
        while not result.wait(timeout_ms=200):  # raises the step's own error when it failed
            if time.monotonic() >= deadline:
                raise KafkaTimeoutError(
                    f"transaction {what} not answered within {self._timeout_s:.0f} s"
                )
            if self._stop is not None and self._stop.wait(0):
                raise KafkaTimeoutError(f"stopped while waiting for the transaction {what}")


def encode_outputs(
    decision: Decision,
    layout: Any,
    router: bytes,
    txn: bytes,
    source: tuple[str, int, int] = ("", -1, -1),
) -> list[Output]:
    """The records one decision writes: deliveries and/or rejections, with their headers.
    `source`: (topic, partition, offset) of the submission decided; every rejection carries
    it, so a rejection is matched to its submission and never to a document by id alone."""
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
        outs += [
            _rejection_output(r.about(*source), layout, router, txn) for r in decision.not_connected
        ]
        return outs
    return [_rejection_output(decision.rejection.about(*source), layout, router, txn)]


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


def encode_changelog(entries: list[tuple[int, str]]) -> bytes:
    """Changelog value: per accepted id, its 8-byte big-endian submissions offset, a
    2-byte id length and the UTF-8 id."""
    out = bytearray()
    for offset, document_id in entries:
        raw = document_id.encode()
        out += offset.to_bytes(OFFSET_BYTES, "big") + len(raw).to_bytes(2, "big") + raw
    return bytes(out)


def decode_changelog(key: bytes | None, value: bytes | None) -> list[tuple[int, str]]:
    """Entries of one changelog record; a bare 8-byte value keyed by the id is the format
    of earlier versions (one record per id). Garbage ends the record's entries."""
    value = value or b""
    if len(value) == OFFSET_BYTES:
        return [(int.from_bytes(value, "big"), (key or b"").decode("utf-8", "replace"))]
    entries: list[tuple[int, str]] = []
    pos = 0
    while pos + OFFSET_BYTES + 2 <= len(value):
        offset = int.from_bytes(value[pos : pos + OFFSET_BYTES], "big")
        size = int.from_bytes(value[pos + OFFSET_BYTES : pos + OFFSET_BYTES + 2], "big")
        pos += OFFSET_BYTES + 2
        if pos + size > len(value):
            break
        entries.append((offset, value[pos : pos + size].decode("utf-8", "replace")))
        pos += size
    return entries


def read_changelog(
    restorer: Consumer, topic: str, below: dict[int, int], idle_s: float
) -> dict[int, list[str]]:
    """Ids accepted at submission offsets below the committed position, per partition.

    Entries at or after that offset belong to a transaction that never committed
    (Tansu shows aborted records to read_committed readers): they are skipped, as
    those submissions are decided again. Complete after `idle_s` without a record
    (end offsets lie on Tansu, docs/BROKER_QUIRKS.md quirk 2).
    """
    from kafka.structs import TopicPartition

    if not below:  # every guard is held (a static router reconnecting): nothing to read
        return {}
    tps = [TopicPartition(topic, p) for p in below]
    restorer.assign(tps)
    restorer.seek_to_beginning(*tps)
    ids: dict[int, list[str]] = {p: [] for p in below}
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < idle_s:
        got = restorer.poll(timeout_ms=100, max_records=10_000)
        for tp, records in got.items():
            limit, kept = below[tp.partition], ids[tp.partition]
            for record in records:
                kept += [i for off, i in decode_changelog(record.key, record.value) if off < limit]
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
