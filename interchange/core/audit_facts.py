"""The CPU-bound half of the audit: decide every submission again, re-verify every delivery.

Both functions are pure (no Kafka, no files besides the trust store the caller opened)
and run in worker processes over chunks of records; they return compact facts, never
keep a document's content, and the main process cross-checks the facts
(`interchange.core.audit_checks`).

Submissions are decided with the router's own pure decision (`core.policy.decide`),
partition by partition in offset order with one `ReplayGuard` per partition, exactly
as the router does, so the audit knows what the router had to do with each one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from interchange.core import codec
from interchange.core.audit_findings import RawRecord
from interchange.core.model import (
    Envelope,
    Priority,
    ReasonCode,
    Rejection,
    Secrecy,
    Tier,
)
from interchange.core.policy import (
    DEFAULT_REPLAY_CAPACITY,
    Delivered,
    Directory,
    ReplayGuard,
    Verifier,
    decide,
    parse,
)
from interchange.errors import DecodeError

ROUTER_NODE_PREFIX = "router:"
PRODUCER_NODE_PREFIX = "producer:"


@dataclass(frozen=True, slots=True)
class Submission:
    """One submitted record and what the router had to do with it."""

    topic: str
    partition: int
    offset: int
    content_sha256: bytes  # of the envelope content, or of the raw value when undecodable
    decodable: bool  # envelope and document decode strictly
    document_id: str
    sender: str
    recipients: tuple[str, ...]  # as named in the document, duplicates kept
    priority: Priority
    secrecy: Secrecy
    subject: str  # kept only to prove rejections never carry it
    send_time_us: int
    producer_hop_us: int | None
    outcome: ReasonCode | None  # None: delivered (possibly to no one); else the reason
    deliveries: tuple[tuple[str, Tier], ...]  # (recipient, tier) the router had to deliver to
    rejections: tuple[Rejection, ...]  # rejection records the router had to write


@dataclass(frozen=True, slots=True)
class DeliveryFact:
    """One delivery record, decoded and re-verified."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    tier: Tier  # tier of the delivery topic
    recipient: str  # the record key
    error: str  # "" when the record decoded strictly, else why not
    document_id: str = ""
    sender: str = ""
    recipients: tuple[str, ...] = ()
    secrecy: Secrecy = Secrecy.NONE
    priority: Priority = Priority.NORMAL
    send_time_us: int = 0
    content_sha256: bytes = b""
    router_hop_us: int | None = None
    verify: ReasonCode | None = None  # None: signature, chain, validity, revocation all hold


def submission_facts(
    records: Iterable[RawRecord],
    directory: Directory,
    trust: Verifier,
    replay_capacity: int = DEFAULT_REPLAY_CAPACITY,
) -> list[Submission]:
    """Decide the records of ONE submissions partition, in the given (offset) order."""
    guard = ReplayGuard(replay_capacity)
    out = []
    for rec in records:
        parsed = parse(rec.value, 0)
        decision = decide(
            rec.value, directory=directory, trust=trust, replay_window=guard, now_us=0,
            parsed=parsed,
        )  # fmt: skip
        guard.pending()  # the audit keeps no changelog
        env, doc = parsed.envelope, parsed.document
        if isinstance(decision, Delivered):
            outcome = None
            deliveries = tuple((d.recipient, d.tier) for d in decision.deliveries)
            rejections = decision.not_connected
            sha = codec.content_sha256(decision.envelope.content)
        else:
            outcome = decision.rejection.reason
            deliveries = ()
            rejections = (decision.rejection,)
            sha = decision.rejection.content_sha256
        out.append(
            Submission(
                topic=rec.topic,
                partition=rec.partition,
                offset=rec.offset,
                content_sha256=sha,
                decodable=doc is not None,
                document_id=doc.id if doc else "",
                sender=doc.sender.id if doc else "",
                recipients=tuple(r.id for r in doc.recipients) if doc else (),
                priority=doc.priority if doc else Priority.NORMAL,
                secrecy=doc.secrecy if doc else Secrecy.NONE,
                subject=doc.subject if doc else "",
                send_time_us=doc.send_time_us if doc else 0,
                producer_hop_us=_hop(env, PRODUCER_NODE_PREFIX, first=True),
                outcome=outcome,
                deliveries=deliveries,
                rejections=rejections,
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class Verified:
    """What one delivery value says once decoded and re-verified (shared by equal values)."""

    error: str  # "" when the value decoded strictly, else why not
    document_id: str = ""
    sender: str = ""
    recipients: tuple[str, ...] = ()
    secrecy: Secrecy = Secrecy.NONE
    priority: Priority = Priority.NORMAL
    send_time_us: int = 0
    content_sha256: bytes = b""
    router_hop_us: int | None = None
    verify: ReasonCode | None = None


def verify_value(value: bytes | None, trust: Verifier) -> Verified:
    """Strictly decode and fully re-verify one delivery value (signature at its send time)."""
    try:
        env = codec.decode_envelope(value or b"")
    except DecodeError as exc:
        return Verified(f"envelope: {exc.reason}")
    try:
        doc = codec.decode_document(env.content)
    except DecodeError as exc:
        return Verified(f"document: {exc.reason}")
    reason = trust.verify(env.content, env.signature, env.cert_id, doc.sender.id, doc.send_time_us)
    return Verified(
        "",
        doc.id,
        doc.sender.id,
        tuple(r.id for r in doc.recipients),
        doc.secrecy,
        doc.priority,
        doc.send_time_us,
        codec.content_sha256(env.content),
        _hop(env, ROUTER_NODE_PREFIX, first=False),
        reason,
    )


def verify_values(values: Sequence[bytes | None], trust: Verifier) -> list[Verified]:
    return [verify_value(v, trust) for v in values]


def delivery_fact(rec: RawRecord, tier: Tier, v: Verified) -> DeliveryFact:
    """The facts of one delivery record: its place, its key, and what its value says."""
    return DeliveryFact(
        rec.topic,
        rec.partition,
        rec.offset,
        rec.timestamp_ms,
        tier,
        _text(rec.key),
        v.error,
        v.document_id,
        v.sender,
        v.recipients,
        v.secrecy,
        v.priority,
        v.send_time_us,
        v.content_sha256,
        v.router_hop_us,
        v.verify,
    )


def delivery_facts(
    records: Sequence[tuple[RawRecord, Tier]], trust: Verifier
) -> list[DeliveryFact]:
    """Facts of delivery records; a value delivered to several recipients is verified once."""
    seen: dict[bytes, Verified] = {}
    out = []
    for rec, tier in records:
        value = rec.value or b""
        v = seen.get(value)
        if v is None:
            v = seen[value] = verify_value(value, trust)
        out.append(delivery_fact(rec, tier, v))
    return out


def _hop(env: Envelope | None, prefix: str, *, first: bool) -> int | None:
    if env is None:
        return None
    hops = [h.time_us for h in env.trace if h.node.startswith(prefix)]
    if not hops:
        return None
    return hops[0] if first else hops[-1]


def _text(key: bytes | None) -> str:
    if key is None:
        return ""
    return key.decode("utf-8", "replace")
