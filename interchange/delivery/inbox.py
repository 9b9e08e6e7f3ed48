"""Receive as one agency (`interchange inbox`): its tier's delivery topic, filtered by key.

No consumer group: every partition of the delivery topic is assigned and read
from the beginning (or from a time), keeping records whose key is the agency
id, as any connector may do. Each record is decoded strictly and verified with
the trust store; acknowledgements go to the status topic keyed by the original
sender. A document that fails decoding or verification, or that verifies but
does not name this agency among its recipients, is never acknowledged with the
requested codes: it gets 02 (rejected) with the reason (`NOT_ADDRESSED` for the
latter), when its id and sender are known.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interchange.errors import DecodeError
from interchange.kafka.clients import make_consumer, make_producer
from interchange.kafka.seam import (
    Consumer,
    Producer,
    Record,
    Stop,
    TopicPartition,
    seek_to_time,
)
from interchange.kafka.topics import create_topics, layout_of
from interchange.pki.truststore import TrustStore
from interchange.pki.verification import judged_at
from interchange.routing.formats import is_edxml, read_content, verify_envelope
from interchange.settings import Settings
from interchange.wire import codec
from interchange.wire.model import (
    NOT_ADDRESSED,
    Document,
    Envelope,
    StatusCode,
    StatusMessage,
    Tier,
)

POLL_MS = 100


@dataclass(frozen=True, slots=True)
class Received:
    """One record addressed to the agency, decoded as far as it goes."""

    partition: int
    offset: int
    timestamp_ms: int
    value: bytes
    envelope: Envelope | None
    document: Document | None
    # "" when valid; else "envelope: <DecodeReason>", "document: ...", a ReasonCode, or
    # NOT_ADDRESSED (verified, but the document does not name this agency as a recipient)
    problem: str

    @property
    def valid(self) -> bool:
        return not self.problem


def examine(value: bytes, trust: TrustStore) -> tuple[Envelope | None, Document | None, str]:
    """Strict decode + verify at the receipt time the router's hop records (the time the
    router judged at; the send time when no router hop is there); (envelope, document,
    problem)."""
    try:
        env = codec.decode_envelope(value)
    except DecodeError as exc:
        return None, None, f"envelope: {exc.reason}"
    try:
        doc = read_content(env)  # an Avro document or an edXML package (interchange/edxml)
    except DecodeError as exc:
        return env, None, f"document: {exc.reason}"
    at = judged_at(env, doc.send_time_us)
    reason = verify_envelope(env, doc.sender.id, at, trust)
    return env, doc, reason.value if reason is not None else ""


def addressed_to(doc: Document, agency_id: str) -> bool:
    """The signed recipient list names `agency_id` (the record key alone is not signed)."""
    return any(r.id == agency_id for r in doc.recipients)


@dataclass(frozen=True, slots=True)
class InboxConfig:
    agency_id: str
    tier: Tier
    since_ms: int | None = None  # None: from the beginning
    acks: tuple[StatusCode, ...] = ()
    idle_exit_s: float | None = None  # drain: exit after this long without a record
    max_documents: int | None = None
    # With a group, offsets are committed after each batch (acks flushed first), so a
    # later run resumes where this one stopped and never acknowledges a document twice.
    group: str | None = None


class AgencyInbox:
    """Connects in `run`, not in the constructor."""

    def __init__(self, settings: Settings, trust: TrustStore, config: InboxConfig) -> None:
        self.settings = settings
        self.trust = trust
        self.config = config
        self.topic = layout_of(settings).delivery(config.tier)
        self.status_topic = layout_of(settings).status
        self.received = 0
        self.acked = 0

    def run(self, stop: Stop, on_document: Callable[[Received], None]) -> int:
        """Read until stopped, idle (drain) or `max_documents`; return documents received."""
        from kafka import TopicPartition

        create_topics(self.settings)
        consumer = make_consumer(self.settings, group_id=self.config.group)
        producer = make_producer(self.settings) if self.config.acks else None
        key = self.config.agency_id.encode()
        try:
            tps = [
                TopicPartition(self.topic, p)
                for p in sorted(consumer.partitions_for_topic(self.topic) or ())
            ]
            consumer.assign(tps)
            self._position(consumer, tps)
            last = time.monotonic()
            while not stop.wait(0) and not self._done():
                batch = consumer.poll(timeout_ms=POLL_MS)
                done: dict[TopicPartition, int] = {}
                for tp, records in batch.items():
                    last = time.monotonic()
                    for record in records:
                        if self._done():
                            break
                        done[tp] = record.offset + 1
                        if record.key != key or self._before(record):
                            continue
                        item = self._receive(tp.partition, record)
                        self.received += 1
                        if producer is not None:
                            self._ack(producer, item)
                        on_document(item)
                if producer is not None and done:
                    producer.flush(timeout=30)  # the batch's acks are out before it counts as read
                if self.config.group is not None and done:
                    self._commit(consumer, done)
                idle = self.config.idle_exit_s
                if idle is not None and time.monotonic() - last >= idle:
                    break
        finally:
            consumer.close()
            if producer is not None:
                producer.flush(timeout=30)
                producer.close(timeout=10)
        return self.received

    @staticmethod
    def _commit(consumer: Consumer, done: dict[TopicPartition, int]) -> None:
        """Commit what was read (its acks are flushed already): a rerun starts after it."""
        from kafka.structs import OffsetAndMetadata

        consumer.commit({tp: OffsetAndMetadata(offset, "", -1) for tp, offset in done.items()})

    def _done(self) -> bool:
        return self.config.max_documents is not None and self.received >= self.config.max_documents

    def _before(self, record: Record) -> bool:
        """Brokers may position by time coarsely (Tansu does): filter by timestamp too."""
        since = self.config.since_ms
        return since is not None and record.timestamp < since

    def _position(self, consumer: Consumer, tps: list[TopicPartition]) -> None:
        if self.config.since_ms is None:
            for tp in tps:
                committed = consumer.committed(tp) if self.config.group is not None else None
                if committed is None:
                    consumer.seek_to_beginning(tp)
                else:
                    consumer.seek(tp, committed)
            return
        seek_to_time(consumer, tps, self.config.since_ms)

    def _receive(self, partition: int, record: Record) -> Received:
        value = record.value or b""
        env, doc, problem = examine(value, self.trust)
        if not problem and doc is not None and not addressed_to(doc, self.config.agency_id):
            problem = NOT_ADDRESSED  # keyed to us, but the signed recipients do not name us
        return Received(partition, record.offset, record.timestamp, value, env, doc, problem)

    def _ack(self, producer: Producer, item: Received) -> None:
        doc = item.document
        if doc is None:
            return  # no id or sender to answer to
        codes: Sequence[tuple[StatusCode, str]]
        if item.valid:
            codes = [(c, "") for c in self.config.acks]
        else:
            codes = [(StatusCode.REJECTED, item.problem)]
        for code, detail in codes:
            msg = StatusMessage(
                doc.id, doc.sender.id, self.config.agency_id, code, time.time_ns() // 1000, detail
            )
            producer.send(
                self.status_topic,
                codec.encode_status(msg),
                key=doc.sender.id.encode(),
                headers=[("document-id", doc.id.encode()), ("code", code.value.encode())],
            )
            self.acked += 1


def summary_line(item: Received) -> str:
    """One line per document: when, id, from, type, priority, attachments, verdict, subject."""
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(item.timestamp_ms / 1000))
    verdict = "verified" if item.valid else f"INVALID {item.problem}"
    doc = item.document
    if doc is None:
        return f"{when}  p{item.partition}@{item.offset}  {verdict}"
    subject = doc.subject if len(doc.subject) <= 60 else doc.subject[:57] + "..."
    return (
        f"{when}  {doc.id}  from {doc.sender.id}  {doc.document_type.value}  "
        f"priority {int(doc.priority)}  {len(doc.attachments)} att  {verdict}  {subject}"
    )


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(text: str) -> str:
    """A file name from an id or attachment name: no separators, no dot-only names."""
    name = _UNSAFE.sub("_", text).strip("._") or "unnamed"
    return name[:200]


def document_file_name(document_id: str) -> str:
    """A file name for one document id that no other id shares.

    `safe_name` maps `,`, `/` and every other unsafe character to `_` and cuts long
    ids, so two ids could name one folder and the second save would overwrite the
    first. When the mapping lost anything, a digest of the id itself is appended."""
    name = safe_name(document_id)
    if name == document_id:
        return name
    digest = hashlib.blake2b(document_id.encode("utf-8"), digest_size=6).hexdigest()
    return f"{name[:180]}-{digest}"


def save(item: Received, folder: Path) -> Path:
    """Write `<id>/document.json`, `envelope.avro` (the record value) and the attachments."""
    doc = item.document
    base = folder / (
        document_file_name(doc.id) if doc else f"undecodable-p{item.partition}-{item.offset}"
    )
    base.mkdir(parents=True, exist_ok=True)
    (base / "envelope.avro").write_bytes(item.value)
    if is_edxml(item.envelope) and item.envelope is not None:
        # the sender's signed edXML package, byte for byte as it was submitted
        (base / "package.xml").write_bytes(item.envelope.content)
    meta: dict[str, Any] = {
        "partition": item.partition,
        "offset": item.offset,
        "timestamp_ms": item.timestamp_ms,
        "verified": item.valid,
        "problem": item.problem,
    }
    if item.envelope is not None:
        meta["cert_id"] = item.envelope.cert_id
        meta["trace"] = [{"node": h.node, "time_us": h.time_us} for h in item.envelope.trace]
    if doc is not None:
        meta["document"] = _document_json(doc)
        files = base / "attachments"
        for i, a in enumerate(doc.attachments):
            files.mkdir(exist_ok=True)
            name = f"{i:02d}-{safe_name(a.name)}"
            (files / name).write_bytes(a.content)
            meta["document"]["attachments"][i]["file"] = f"attachments/{name}"
    (base / "document.json").write_text(
        json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return base


def _document_json(doc: Document) -> dict[str, Any]:
    return {
        "id": doc.id,
        "sender": {"id": doc.sender.id, "name": doc.sender.name},
        "recipients": [{"id": r.id, "name": r.name} for r in doc.recipients],
        "code_number": doc.code_number,
        "code_notation": doc.code_notation,
        "promulgation_place": doc.promulgation_place,
        "promulgation_date": doc.promulgation_date,
        "document_type": doc.document_type.value,
        "subject": doc.subject,
        "signer": {
            "name": doc.signer.name,
            "position": doc.signer.position,
            "competence": doc.signer.competence,
        },
        "priority": int(doc.priority),
        "secrecy": doc.secrecy.value,
        "business_type": int(doc.business_type),
        "response_for": doc.response_for,
        "due_date": doc.due_date,
        "send_time_us": doc.send_time_us,
        "attachments": [
            {
                "name": a.name,
                "media_type": a.media_type,
                "sha256": a.sha256.hex(),
                "size": len(a.content),
            }
            for a in doc.attachments
        ],
    }
