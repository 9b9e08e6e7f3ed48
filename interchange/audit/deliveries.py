"""The delivery half of the audit's facts: each delivery record decoded and re-verified.

Pure, run in worker processes over chunks of records (`audit.stage`). A delivery
is judged at the receipt time its router hop records (`verification.judged_at`); equal
values are decoded once, and a document verified once (`Reverified`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from operator import attrgetter
from typing import Any

from interchange.audit.findings import RawRecord
from interchange.audit.redaction import Exclusion
from interchange.audit.reverify import Reverified, hop_time
from interchange.errors import DecodeError
from interchange.pki.verification import ROUTER_NODE_PREFIX, Verifier, judged_at
from interchange.wire import codec
from interchange.wire.model import Priority, ReasonCode, Secrecy, Tier


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

    def __reduce__(self) -> tuple[type[Verified], tuple[Any, ...]]:
        return (Verified, _VERIFIED_FIELDS(self))  # cheap to pickle, as Submission


_VERIFIED_FIELDS = attrgetter(*(f.name for f in fields(Verified)))


def verify_value(value: bytes | None, trust: Verifier, cache: Reverified | None = None) -> Verified:
    """Strictly decode and fully re-verify one delivery value, at the receipt time its
    router hop records (at its send time if it has none: a delivery no router wrote).
    With `cache`, a content seen before is not decoded, nor a signature checked, again."""
    once = cache if cache is not None else Reverified(trust)
    try:
        env = codec.decode_envelope(value or b"")
    except DecodeError as exc:
        return Verified(f"envelope: {exc.reason}")
    c = once.content(env.content, env)
    if c.error:
        return Verified(c.error)
    hop = hop_time(env, ROUTER_NODE_PREFIX, first=False)
    reason = once.for_envelope(env).verify(
        env.content, env.signature, env.cert_id, c.sender, judged_at(env, c.send_time_us)
    )
    return Verified(
        "",
        c.document_id,
        c.sender,
        c.recipients,
        c.secrecy,
        c.priority,
        c.send_time_us,
        c.sha256,
        hop,
        reason,
    )


def verify_values(
    values: Sequence[bytes | None], trust: Verifier, cache: Reverified | None = None
) -> list[Verified]:
    once = cache if cache is not None else Reverified(trust)
    return [verify_value(v, trust, once) for v in values]


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
    records: Sequence[tuple[RawRecord, Tier]], trust: Verifier, cache: Reverified | None = None
) -> list[DeliveryFact]:
    """Facts of delivery records; a value delivered to several recipients is decoded once,
    and a document verified once (pass the same `cache` on to `submission_facts`)."""
    once = cache if cache is not None else Reverified(trust)
    seen: dict[bytes, Verified] = {}
    out = []
    for rec, tier in records:
        if rec.excluded is not None:  # an archived leak: what it was, not re-verifiable
            out.append(delivery_fact(rec, tier, _excluded_delivery(rec.excluded)))
            continue
        value = rec.value or b""
        v = seen.get(value)
        if v is None:
            v = seen[value] = verify_value(value, trust, once)
        out.append(delivery_fact(rec, tier, v))
    return out


def _excluded_delivery(raw: bytes) -> Verified:
    """A classified delivery an archive kept as metadata: the audit still names the leak."""
    try:
        ex = Exclusion.from_bytes(raw)
    except ValueError as exc:
        return Verified(f"exclusion metadata: {exc}")
    return Verified(
        "",
        ex.document_id,
        ex.sender,
        ex.recipients,
        ex.secrecy,
        ex.priority,
        ex.send_time_us,
        ex.content_sha256,
    )


def _text(key: bytes | None) -> str:
    if key is None:
        return ""
    return key.decode("utf-8", "replace")
