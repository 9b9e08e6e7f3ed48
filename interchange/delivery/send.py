"""Send one document as an agency and follow its fate (`interchange send`).

The reader of the rejections and status topics is positioned *before* the send,
by record timestamp (`offsets_for_times`, a few seconds before now), never by
end offsets: those are wrong on Tansu after batched produces (docs/BROKER_QUIRKS.md quirk
2). Records about other submissions are skipped (`Fate.concerns`), so starting
early only costs reading a little more. Where the broker has nothing at or
after that timestamp, the reader starts at the reported end: if that end is
too low (the quirk), older records are re-read and skipped, never missed.
"""

from __future__ import annotations

import datetime as dt
import mimetypes
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from interchange.clock import now_us
from interchange.delivery.fate import Fate, Until
from interchange.errors import ConfigError, DecodeError
from interchange.kafka.clients import make_consumer, make_producer
from interchange.kafka.seam import Consumer, seek_to_time
from interchange.kafka.topics import create_topics, layout_of
from interchange.pki.signing import Credential
from interchange.settings import Settings
from interchange.wire import codec
from interchange.wire.model import (
    AgencyRef,
    Attachment,
    Business,
    BusinessType,
    Document,
    DocumentType,
    Envelope,
    Hop,
    Priority,
    Secrecy,
    Signer,
)

LOOKBACK_MS = 5_000  # read from this long before the send (clock skew between us and the broker)
POLL_MS = 100


DEFAULT_SIGNER = Signer("Người ký thử nghiệm", "Chánh Văn phòng", "TL.")


@dataclass(frozen=True, slots=True)
class SendRequest:
    """What `interchange send` was asked to submit (everything but the signature)."""

    sender: str
    recipients: tuple[str, ...]
    subject: str
    code_number: str
    code_notation: str
    document_type: DocumentType = DocumentType.OFFICIAL_LETTER
    priority: Priority = Priority.NORMAL
    secrecy: Secrecy = Secrecy.NONE
    business_type: BusinessType = BusinessType.NEW
    business: Business | None = None  # the target of a revoke, update or replace
    attachments: tuple[Path, ...] = ()
    reply_to: str | None = None
    due_date: str | None = None
    promulgation_date: str | None = None  # default: today (UTC)
    place: str = "Hà Nội"
    signer: Signer = DEFAULT_SIGNER
    names: Mapping[str, str] = field(default_factory=dict)  # agency id -> name


def refuse_classified(secrecy: Secrecy) -> None:
    """Classified documents do not travel over the axis: refuse before anything is sent
    (the router's exclusion is only the second line)."""
    if secrecy.classified:
        raise ConfigError(
            f"refusing to send a classified document (secrecy {secrecy.value}): classified "
            "documents do not travel over the axis"
        )


def read_attachment(path: Path) -> Attachment:
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read attachment {path}: {exc.strerror}") from exc
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return Attachment(path.name, media_type, codec.content_sha256(content), content)


def build_document(req: SendRequest, now_us: int) -> Document:
    """The Document for a request, sent at `now_us`; id by the edXML convention."""
    refuse_classified(req.secrecy)
    date = req.promulgation_date or _utc_date(now_us)
    recipients = tuple(dict.fromkeys(req.recipients))  # the router collapses duplicates too
    if not recipients:
        raise ConfigError("give at least one recipient (--to)")
    return Document(
        id=codec.make_document_id(req.sender, date, req.code_number, req.code_notation),
        sender=AgencyRef(req.sender, req.names.get(req.sender, req.sender)),
        recipients=tuple(AgencyRef(r, req.names.get(r, r)) for r in recipients),
        code_number=req.code_number,
        code_notation=req.code_notation,
        promulgation_place=req.place,
        promulgation_date=date,
        document_type=req.document_type,
        subject=req.subject,
        signer=req.signer,
        priority=req.priority,
        secrecy=req.secrecy,
        business_type=req.business_type,
        response_for=req.reply_to,
        due_date=req.due_date,
        attachments=tuple(read_attachment(p) for p in req.attachments),
        send_time_us=now_us,
        business=req.business,
    )


def seal(doc: Document, credential: Credential, hop_time_us: int) -> Envelope:
    """Encode canonically, sign those bytes, add the producer hop (outside the signature)."""
    content = codec.encode_document(doc)
    return Envelope(
        content,
        credential.sign(content),
        credential.cert_id,
        (Hop(f"producer:{doc.sender.id}", hop_time_us),),
    )


def _utc_date(time_us: int) -> str:
    return dt.datetime.fromtimestamp(time_us / 1e6, tz=dt.UTC).date().isoformat()


@dataclass(frozen=True, slots=True)
class Sent:
    document: Document
    partition: int
    offset: int


def open_follower(settings: Settings, since_ms: int) -> Consumer:
    """A consumer on every partition of rejections + status, positioned at `since_ms`."""
    from kafka import TopicPartition

    layout = layout_of(settings)
    consumer: Consumer = make_consumer(settings)
    tps = [
        TopicPartition(topic, p)
        for topic in (layout.rejections, layout.status)
        for p in sorted(consumer.partitions_for_topic(topic) or ())
    ]
    consumer.assign(tps)
    seek_to_time(consumer, tps, since_ms)
    for tp in tps:
        consumer.position(tp, timeout_ms=10_000)  # resolved now, before the send, bounded
    return consumer


def submit(settings: Settings, envelope: Envelope, doc: Document) -> Sent:
    """Produce the envelope keyed by the sender id; wait for the broker's acknowledgement."""
    producer = make_producer(settings)
    try:
        future = producer.send(
            layout_of(settings).submissions,
            codec.encode_envelope(envelope),
            key=doc.sender.id.encode(),
            headers=[("document-id", doc.id.encode())],
        )
        meta = future.get(timeout=settings.request_timeout_ms / 1000)
    finally:
        producer.close(timeout=10)
    return Sent(doc, meta.partition, meta.offset)


def follow(
    consumer: Consumer,
    settings: Settings,
    fate: Fate,
    deadline: float,
    on_event: Callable[[str], None],
    *,
    since_ms: int | None = None,
) -> Fate:
    """Read rejections and status until the fate is settled or `deadline` (monotonic) passes.

    `since_ms`: the time the follower was positioned at; older records are skipped, since a
    broker may position coarsely (Tansu answers offset 0), and a status written for an
    earlier document of the same id (a replay) is not this submission's fate."""
    layout = layout_of(settings)
    while not fate.settled and time.monotonic() < deadline:
        batch = consumer.poll(timeout_ms=POLL_MS)
        for tp, records in batch.items():
            for record in records:
                if since_ms is not None and record.timestamp < since_ms:
                    continue
                line = _observe(fate, tp.topic == layout.rejections, record.value)
                if line:
                    on_event(line)
    return fate


def _observe(fate: Fate, is_rejection: bool, value: bytes | None) -> str | None:
    try:
        if is_rejection:
            return fate.observe_rejection(codec.decode_rejection(value or b""))
        return fate.observe_status(codec.decode_status(value or b""))
    except DecodeError:
        return None  # someone else's garbage on a shared topic is not our document's fate


def send_and_follow(
    settings: Settings,
    request: SendRequest,
    credential: Credential,
    *,
    timeout_s: float,
    until: Until = Until.ACKNOWLEDGED,
    on_sent: Callable[[Sent], None] = lambda _s: None,
    on_event: Callable[[str], None] = lambda _l: None,
) -> Fate:
    """Submit one document and follow it; the returned Fate may be unsettled (timeout)."""
    refuse_classified(request.secrecy)
    create_topics(settings)
    sent_at = now_us()
    doc = build_document(request, sent_at)
    since_ms = sent_at // 1000 - LOOKBACK_MS
    consumer = open_follower(settings, since_ms)
    try:
        sent = submit(settings, seal(doc, credential, now_us()), doc)
        on_sent(sent)
        source = (layout_of(settings).submissions, sent.partition, sent.offset)
        answered = doc.business_type in (BusinessType.REVOKE, BusinessType.UPDATE)
        fate = Fate(
            doc.id,
            tuple(r.id for r in doc.recipients),
            until,
            source=source,
            # a revoke's or update's recipients answer about its target (15/16)
            recall_of=doc.business.target if doc.business is not None and answered else None,
            request="update" if doc.business_type is BusinessType.UPDATE else "revoke",
        )
        deadline = time.monotonic() + timeout_s
        return follow(consumer, settings, fate, deadline, on_event, since_ms=since_ms)
    finally:
        consumer.close()


def parse_recipients(text: Sequence[str]) -> tuple[str, ...]:
    """`--to A,B --to C` -> (A, B, C), blanks dropped."""
    return tuple(p.strip() for item in text for p in item.split(",") if p.strip())
