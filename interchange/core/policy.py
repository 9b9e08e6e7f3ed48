"""The router's decision: one submitted record's bytes -> one outcome. No Kafka, no I/O.

Order of checks; the first failure wins (the connector contract, docs/ROUTER.md):

1. MALFORMED: the envelope, or the document inside it, does not decode strictly.
2. UNKNOWN_SENDER: the document's sender id is not in the directory.
3. Certificate and signature reasons, from `TrustStore.verify` (UNKNOWN_CERTIFICATE,
   UNTRUSTED_CERTIFICATE, REVOKED, EXPIRED, NOT_YET_VALID, SENDER_MISMATCH,
   ALGORITHM_MISMATCH, BAD_SIGNATURE).
4. REPLAY: the document id was seen within the replay window (`ReplayGuard`).
   Only documents that passed 1-3 are remembered, so a forged copy can never
   block the genuine document's id.
5. CLASSIFIED: secrecy above NONE. Excluded; only metadata leaves the router.
6. UNKNOWN_RECIPIENT: any recipient id not in the directory rejects the whole document.
7. Per recipient: a delivery on its tier, or a NOT_CONNECTED rejection.

`decide` never raises on any bytes: the worst case is a MALFORMED rejection.
The only state it touches is the `ReplayGuard` it is given (remember on success).
Nothing here logs: the router logs decisions, and never a classified document's
subject or content (the Excluded outcome does not even carry them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from interchange.core import codec
from interchange.core.model import (
    Agency,
    Document,
    Envelope,
    Hop,
    Priority,
    ReasonCode,
    Rejection,
    Secrecy,
    Tier,
)
from interchange.core.recent import RecentKeys
from interchange.errors import DecodeError

DEFAULT_REPLAY_CAPACITY = 100_000  # document ids remembered per submissions partition


class Directory(Protocol):
    """What the decision needs from `interchange.core.directory.Directory`."""

    @property
    def by_id(self) -> Mapping[str, Agency]: ...


class Verifier(Protocol):
    """`TrustStore.verify`: None when the signature is valid, else the reason."""

    def verify(
        self, content: bytes, signature: bytes, cert_id: str, sender_id: str, send_time_us: int
    ) -> ReasonCode | None: ...


class ReplayGuard:
    """Bounded memory of accepted document ids: the last `capacity` ids, oldest forgotten first.

    One guard per submissions partition: the key of a submission is its sender
    id, so every copy of a document (same id, same sender) lands on the same
    partition and a per-partition guard sees all of them. A replay older than
    the last `capacity` accepted documents of its partition is not detected:
    that is the documented window. `pending()` returns ids remembered since the
    last call so the router can write them to its changelog in the same
    transaction; `restore()` rebuilds a guard from that changelog.
    """

    def __init__(self, capacity: int = DEFAULT_REPLAY_CAPACITY) -> None:
        self._ids: RecentKeys[str] = RecentKeys(capacity, "replay capacity")
        self._pending: list[str] = []

    @property
    def capacity(self) -> int:
        return self._ids.capacity

    def __contains__(self, document_id: object) -> bool:
        return document_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def remember(self, document_id: str) -> None:
        self._ids.add(document_id)
        self._pending.append(document_id)

    def pending(self) -> list[str]:
        """Ids remembered since the last call (to be written to the changelog)."""
        out, self._pending = self._pending, []
        return out

    def discard_pending(self, ids: Iterable[str]) -> None:
        """Forget ids whose transaction was aborted (they will be decided again)."""
        for document_id in ids:
            self._ids.discard(document_id)

    @classmethod
    def restore(cls, ids: Iterable[str], capacity: int = DEFAULT_REPLAY_CAPACITY) -> ReplayGuard:
        """A guard holding the last `capacity` of `ids` (changelog order), nothing pending."""
        guard = cls(capacity)
        for document_id in ids:
            guard._ids.add(document_id)
        return guard


@dataclass(frozen=True, slots=True)
class Delivery:
    recipient: str
    tier: Tier


@dataclass(frozen=True, slots=True)
class Delivered:
    """Verified and unclassified: deliveries (may be empty) and NOT_CONNECTED rejections."""

    document_id: str
    sender: str
    envelope: Envelope  # the submitted envelope with the router hop appended
    deliveries: tuple[Delivery, ...]
    not_connected: tuple[Rejection, ...]
    priority: Priority


@dataclass(frozen=True, slots=True)
class Excluded:
    """A classified document: only this metadata-only rejection (reason CLASSIFIED) leaves."""

    rejection: Rejection
    addressed: tuple[str, ...] = ()  # recipient ids, for per-tier counters
    priority: Priority = Priority.NORMAL


@dataclass(frozen=True, slots=True)
class Rejected:
    rejection: Rejection
    addressed: tuple[str, ...] = ()  # recipient ids when the document decoded, for counters
    priority: Priority = Priority.NORMAL

    @property
    def reason(self) -> ReasonCode:
        return self.rejection.reason

    @property
    def detail(self) -> str:
        return self.rejection.detail


Decision = Delivered | Excluded | Rejected


@dataclass(frozen=True, slots=True)
class Parsed:
    """Check 1's work on one record: both layers as far as they decoded strictly, or the
    MALFORMED rejection. Public so the audit, which also needs the decoded layers, decodes
    each submission once."""

    envelope: Envelope | None
    document: Document | None
    malformed: Rejected | None  # set exactly when `document` is None


def parse(raw_value: bytes | None, now_us: int) -> Parsed:
    """Check 1, MALFORMED: both layers must decode strictly. Never raises on input."""
    data = raw_value if isinstance(raw_value, bytes) else b""

    def malformed(envelope: Envelope | None, detail: str, hashed: bytes) -> Parsed:
        rejected = _rejected(ReasonCode.MALFORMED, detail, codec.content_sha256(hashed), now_us)
        return Parsed(envelope, None, rejected)

    if not data:
        return malformed(None, "empty record value", data)
    try:
        envelope = codec.decode_envelope(data)
    except DecodeError as exc:
        return malformed(None, f"envelope: {exc.reason}", data)
    try:
        doc = codec.decode_document(envelope.content)
    except DecodeError as exc:
        return malformed(envelope, f"document: {exc.reason}", envelope.content)
    return Parsed(envelope, doc, None)


def decide(
    raw_value: bytes | None,
    *,
    directory: Directory,
    trust: Verifier,
    replay_window: ReplayGuard,
    now_us: int,
    router_node: str = "router",
    parsed: Parsed | None = None,
) -> Decision:
    """Decide one submitted record (see the module docstring for the order of checks).
    `parsed`: `parse(raw_value, now_us)` when the caller already has it."""
    try:
        p = parsed if parsed is not None else parse(raw_value, now_us)
        if p.malformed is not None:
            return p.malformed
        envelope, doc = p.envelope, p.document
        assert envelope is not None  # Parsed's invariant: no rejection, both layers
        assert doc is not None
        meta = _Meta(
            doc.id,
            doc.sender.id,
            doc.secrecy,
            envelope.content,
            doc.send_time_us,
            now_us,
            tuple(r.id for r in doc.recipients),
            doc.priority,
        )
        rejected = _authenticate(envelope, meta, directory, trust, replay_window)
        if rejected is not None:
            return rejected
        return _route(envelope, doc, meta, directory, Hop(router_node, now_us))
    except Exception as exc:  # never raise on input: a defect anywhere is MALFORMED
        data = raw_value if isinstance(raw_value, bytes) else b""
        detail = f"internal error on this record: {type(exc).__name__}"
        return _rejected(ReasonCode.MALFORMED, detail, codec.content_sha256(data), now_us)


def _authenticate(
    envelope: Envelope, meta: _Meta, directory: Directory, trust: Verifier, guard: ReplayGuard
) -> Rejected | None:
    """Checks 2-4: sender known, certificate and signature valid, not a replay."""
    if meta.sender not in directory.by_id:
        return meta.rejected(ReasonCode.UNKNOWN_SENDER, f"sender {meta.sender} not in directory")
    reason = trust.verify(
        envelope.content, envelope.signature, envelope.cert_id, meta.sender, meta.send_time_us
    )
    if reason is not None:
        return meta.rejected(reason, f"certificate {envelope.cert_id[:16]}")
    if meta.document_id in guard:
        return meta.rejected(ReasonCode.REPLAY, "document id seen within the replay window")
    guard.remember(meta.document_id)
    return None


def _route(
    envelope: Envelope, doc: Document, meta: _Meta, directory: Directory, hop: Hop
) -> Decision:
    """Checks 5-7: classified, unknown recipient, then per recipient."""
    if meta.secrecy.classified:
        detail = f"secrecy {meta.secrecy.value}"
        return Excluded(
            meta.rejection(ReasonCode.CLASSIFIED, detail), meta.addressed, meta.priority
        )
    recipients: dict[str, Agency] = {}  # first mention wins; duplicates collapse
    for ref in doc.recipients:
        agency = directory.by_id.get(ref.id)
        if agency is None:
            return meta.rejected(ReasonCode.UNKNOWN_RECIPIENT, f"recipient {ref.id}")
        recipients.setdefault(agency.id, agency)
    deliveries = tuple(Delivery(a.id, a.tier) for a in recipients.values() if a.connected)
    unconnected = [a for a in recipients.values() if not a.connected]
    digest = codec.content_sha256(meta.content) if unconnected else b""  # once per document
    not_connected = tuple(
        meta.rejection(
            ReasonCode.NOT_CONNECTED, "recipient not on the axis", recipient=a.id, digest=digest
        )
        for a in unconnected
    )
    routed = Envelope(
        envelope.content, envelope.signature, envelope.cert_id, (*envelope.trace, hop)
    )
    return Delivered(
        meta.document_id, meta.sender, routed, deliveries, not_connected, meta.priority
    )


@dataclass(frozen=True, slots=True)
class _Meta:
    """The metadata a rejection may carry: never subject, content or attachments.

    `content` is held only to hash it when a rejection is made: most documents are
    delivered, and only rejections carry the SHA-256.
    """

    document_id: str
    sender: str
    secrecy: Secrecy
    content: bytes = field(repr=False)
    send_time_us: int
    now_us: int
    addressed: tuple[str, ...]
    priority: Priority

    def rejection(
        self,
        reason: ReasonCode,
        detail: str,
        recipient: str | None = None,
        digest: bytes | None = None,
    ) -> Rejection:
        return Rejection(
            document_id=self.document_id,
            sender=self.sender,
            reason=reason,
            detail=detail,
            content_sha256=digest if digest is not None else codec.content_sha256(self.content),
            secrecy=self.secrecy,
            recipient=recipient,
            time_us=self.now_us,
            send_time_us=self.send_time_us,
        )

    def rejected(self, reason: ReasonCode, detail: str) -> Rejected:
        return Rejected(self.rejection(reason, detail), self.addressed, self.priority)


def _rejected(reason: ReasonCode, detail: str, digest: bytes, now_us: int) -> Rejected:
    return Rejected(
        Rejection(
            document_id="",
            sender="",
            reason=reason,
            detail=detail,
            content_sha256=digest,
            secrecy=Secrecy.NONE,
            recipient=None,
            time_us=now_us,
            send_time_us=0,
        )
    )
