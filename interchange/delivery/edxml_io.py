"""The Kafka side of `interchange edxml import` and `export` (the pure part: interchange/edxml).

Import submits the envelope carrying a package and follows its fate exactly as `send`
does (rejections by the record's coordinates, status by document id). Export reads the
delivery topics (every tier, or one agency's) and the status topic from the beginning
until an idle window, `read_committed`, as `inbox` does.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from interchange.clock import now_us
from interchange.delivery.fate import Fate, Until
from interchange.delivery.send import LOOKBACK_MS, follow, open_follower, submit
from interchange.edxml.package import Prepared
from interchange.errors import DecodeError
from interchange.kafka.clients import make_consumer, make_producer
from interchange.kafka.topics import create_topics, layout_of
from interchange.routing.formats import read_content
from interchange.settings import Settings
from interchange.wire import codec
from interchange.wire.model import Document, Envelope, StatusMessage, Tier

POLL_MS = 100


def import_and_follow(
    settings: Settings,
    prepared: Prepared,
    *,
    timeout_s: float,
    until: Until,
    on_sent: Callable[[int, int], None],
    on_event: Callable[[str], None],
) -> Fate:
    """Submit the package's envelope keyed by its sender and follow it like `send`."""
    create_topics(settings)
    doc = prepared.document
    since_ms = now_us() // 1000 - LOOKBACK_MS
    consumer = open_follower(settings, since_ms)
    try:
        sent = submit(settings, prepared.envelope, doc)
        on_sent(sent.partition, sent.offset)
        source = (layout_of(settings).submissions, sent.partition, sent.offset)
        fate = Fate(doc.id, tuple(r.id for r in doc.recipients), until, source=source)
        deadline = time.monotonic() + timeout_s
        return follow(consumer, settings, fate, deadline, on_event, since_ms=since_ms)
    finally:
        consumer.close()


def submit_status(settings: Settings, msg: StatusMessage) -> None:
    """A status package's message on the status topic, keyed by the original sender (as
    `inbox --ack` writes it); waits for the broker's acknowledgement."""
    create_topics(settings)
    producer = make_producer(settings)
    try:
        future = producer.send(
            layout_of(settings).status,
            codec.encode_status(msg),
            key=msg.sender.encode(),
            headers=[("document-id", msg.document_id.encode()), ("code", msg.code.value.encode())],
        )
        future.get(timeout=settings.request_timeout_ms / 1000)
    finally:
        producer.close(timeout=10)


@dataclass(frozen=True, slots=True)
class Delivered:
    """One delivery record: who it was delivered to, the envelope and its document."""

    recipient: str
    envelope: Envelope
    document: Document


def _read_all(settings: Settings, topics: list[str], idle_s: float) -> Iterator[Any]:
    """Every record of `topics` from the beginning until `idle_s` without a record."""
    from kafka import TopicPartition

    consumer = make_consumer(settings)
    try:
        tps = [
            TopicPartition(t, p)
            for t in topics
            for p in sorted(consumer.partitions_for_topic(t) or ())
        ]
        consumer.assign(tps)
        for tp in tps:
            consumer.seek_to_beginning(tp)
        last = time.monotonic()
        while time.monotonic() - last < idle_s:
            batch = consumer.poll(timeout_ms=POLL_MS)
            for records in batch.values():
                last = time.monotonic()
                yield from records
    finally:
        consumer.close()


def deliveries(
    settings: Settings, idle_s: float, *, agency: str | None = None, tier: Tier | None = None
) -> Iterator[Delivered]:
    """Delivery records that decode (either format), of one agency or of all."""
    create_topics(settings)
    layout = layout_of(settings)
    tiers = [tier] if tier is not None else list(Tier)
    for record in _read_all(settings, [layout.delivery(t) for t in tiers], idle_s):
        recipient = (record.key or b"").decode("utf-8", "replace")
        if agency is not None and recipient != agency:
            continue
        try:
            envelope = codec.decode_envelope(record.value or b"")
            yield Delivered(recipient, envelope, read_content(envelope))
        except DecodeError:
            continue


def statuses(settings: Settings, document_ids: set[str], idle_s: float) -> list[StatusMessage]:
    """Every status message about one of `document_ids`, in topic order."""
    out = []
    for record in _read_all(settings, [layout_of(settings).status], idle_s):
        try:
            msg = codec.decode_status(record.value or b"")
        except DecodeError:
            continue
        if msg.document_id in document_ids:
            out.append(msg)
    return out
