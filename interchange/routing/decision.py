"""The router's decision: one submitted record's bytes -> one outcome. No Kafka, no I/O.

Order of checks; the first failure wins (the connector contract, docs/ROUTER.md):

1. MALFORMED: the envelope, or the document inside it, does not decode strictly.
2. TOO_LARGE: the envelope could not be forwarded within the caps once the router's
   hop is appended (trace at the hop cap; less than `ROUTER_HOP_ROOM` bytes under the
   size cap), or the document id is above `codec.MAX_DOCUMENT_ID_BYTES` (statuses and the
   replay changelog carry it). So every record the router writes, and every status a
   recipient writes about what it delivered, decodes with the strict decoders.
3. UNKNOWN_SENDER: the document's sender id is not in the directory.
4. KEY_MISMATCH: the record key is not the sender id.
5. WRONG_PARTITION: the record is not on the partition Kafka's default partitioner
   gives that key. With 4 and 5 every copy of a sender's documents is on one
   partition, so the per-partition `ReplayGuard` covers the whole topic.
6. SEND_TIME_SKEW: `send_time_us` is more than `MAX_SEND_AHEAD_US` after, or more
   than `MAX_SEND_BEHIND_US` before, the receipt time.
7. NO_RECIPIENTS: the document names no recipient.
8. Certificate and signature reasons, from the one verifier (`pki.verification`,
   through `TrustStore.verify`) judged at the receipt time, never at the signer's
   `send_time_us`, in its order (UNKNOWN_CERTIFICATE, UNTRUSTED_CERTIFICATE,
   NOT_YET_VALID, EXPIRED, REVOKED, SENDER_MISMATCH, ALGORITHM_MISMATCH, BAD_SIGNATURE).
9. REPLAY: the document id was seen within the replay window (`ReplayGuard`).
   Only documents that passed 1-8 are remembered, so a forged copy can never
   block the genuine document's id.
10. CLASSIFIED: secrecy above NONE. Excluded; only metadata leaves the router.
11. UNKNOWN_RECIPIENT: any recipient id not in the directory rejects the whole document.
12. UNKNOWN_TARGET: a revoke, update or replace whose target (and, for a replace, its
    replacing document) this router did not deliver from the same sender: the id must
    start with the sender's id, be in the partition's `ReplayGuard` (the replay window)
    and not be one the router accepted without delivering it to anyone.
13. Per recipient: a delivery on its tier, or a NOT_CONNECTED rejection.

`now_us` is the receipt time: the broker's LogAppendTime when the submissions topic
has it, else the router's clock when it decides. It is recorded in what the router
writes (the router hop's time, `Rejection.time_us`), so the audit judges again at
the same time. Rejections copy at most `MAX_ID_CHARS` characters of any id and
`MAX_DETAIL_CHARS` of detail (`bounded`), so one always fits its 64 KiB cap.

`decide` never raises on any bytes: the worst case is a MALFORMED rejection.
The only state it touches is the `ReplayGuard` it is given (remember on success).
Nothing here logs: the router logs decisions, and never a classified document's
subject or content (the Excluded outcome does not even carry them).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Protocol

from interchange.errors import DecodeError
from interchange.pki.verification import Verifier
from interchange.routing.outcomes import (
    Decision,
    Delivered,
    Delivery,
    Excluded,
    Meta,
    Parsed,
    Placement,
    Rejected,
    bounded,
    rejected_unattributed,
)
from interchange.routing.replay_guard import ReplayGuard
from interchange.wire import codec
from interchange.wire.model import Agency, BusinessType, Document, Envelope, Hop, ReasonCode
from interchange.wire.partitioner import partition_of

__all__ = [  # the decision; its outcomes and replay guard are imported from their modules
    "JUDGED_BEFORE_TIME",
    "MAX_SEND_AHEAD_US",
    "MAX_SEND_BEHIND_US",
    "ROUTER_HOP_ROOM",
    "Directory",
    "decide",
    "parse",
]

MAX_SEND_AHEAD_US = 5 * 60 * 1_000_000  # a send time at most 5 min after the receipt time
MAX_SEND_BEHIND_US = 24 * 3600 * 1_000_000  # and at most one day before it
ROUTER_HOP_ROOM = 256  # bytes an envelope must leave under its cap for the router's hop
# array block count growth, node length varint, time varint, and the content_format byte
# an envelope written before schema v6 gains when the router re-encodes it
_HOP_OVERHEAD = 1 + 5 + 10 + 1
# Outcomes decided before any check that depends on the receipt time (checks 1-5).
JUDGED_BEFORE_TIME = frozenset(
    {
        ReasonCode.MALFORMED,
        ReasonCode.TOO_LARGE,
        ReasonCode.UNKNOWN_SENDER,
        ReasonCode.KEY_MISMATCH,
        ReasonCode.WRONG_PARTITION,
    }
)


class Directory(Protocol):
    """What the decision needs from `interchange.axis.directory.Directory`."""

    @property
    def by_id(self) -> Mapping[str, Agency]: ...


ContentReader = Callable[[Envelope], Document]  # raises DecodeError on a defect


def _avro_content(envelope: Envelope) -> Document:
    return codec.decode_document(envelope.content)


def parse(
    raw_value: bytes | None, now_us: int, read_content: ContentReader = _avro_content
) -> Parsed:
    """Check 1, MALFORMED: both layers must decode strictly. Never raises on input.

    `read_content` reads the document out of a decoded envelope: the Avro decoder by
    default; interchange/edxml passes one that also reads edXML packages."""
    data = raw_value if isinstance(raw_value, bytes) else b""

    def malformed(envelope: Envelope | None, detail: str, hashed: bytes) -> Parsed:
        rejected = rejected_unattributed(
            ReasonCode.MALFORMED, detail, codec.content_sha256(hashed), now_us
        )
        return Parsed(envelope, None, rejected)

    if not data:
        return malformed(None, "envelope: empty record value", data)
    try:
        envelope = codec.decode_envelope(data)
    except DecodeError as exc:
        return malformed(None, f"envelope: {exc.reason}", data)
    try:
        doc = read_content(envelope)
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
    placement: Placement | None,
    router_node: str = "router",
    parsed: Parsed | None = None,
) -> Decision:
    """Decide one submitted record (see the module docstring for the order of checks).

    `now_us`: the receipt time. `placement`: the record's key and partition; None only
    for a value that never was a Kafka record (benchmarks, conformance), which skips
    checks 4 and 5. `parsed`: `parse(raw_value, now_us)` when the caller already has it.
    """
    try:
        p = parsed if parsed is not None else parse(raw_value, now_us)
        if p.malformed is not None:
            return p.malformed
        envelope, doc = p.envelope, p.document
        assert envelope is not None  # Parsed's invariant: no rejection, both layers
        assert doc is not None
        meta = Meta(
            doc.id,
            doc.sender.id,
            doc.secrecy,
            envelope.content,
            doc.send_time_us,
            now_us,
            tuple(r.id for r in doc.recipients),
            doc.priority,
        )
        hop = Hop(router_node, now_us)
        size = len(raw_value) if isinstance(raw_value, bytes) else 0
        rejected = _admit(
            envelope, doc, meta, size=size, hop=hop, directory=directory, placement=placement
        )
        if rejected is None:
            rejected = _authenticate(envelope, meta, trust, replay_window)
        if rejected is not None:
            return rejected
        decision = _route(envelope, doc, meta, directory, hop, guard=replay_window)
        if not isinstance(decision, Delivered) or not decision.deliveries:
            replay_window.undelivered(doc.id)
        return decision
    except Exception as exc:  # never raise on input: a defect anywhere is MALFORMED
        data = raw_value if isinstance(raw_value, bytes) else b""
        detail = f"internal error on this record: {type(exc).__name__}"
        return rejected_unattributed(
            ReasonCode.MALFORMED, detail, codec.content_sha256(data), now_us
        )


def _admit(  # noqa: PLR0911 - one return per reason code, in the documented order
    envelope: Envelope,
    doc: Document,
    meta: Meta,
    *,
    size: int,
    hop: Hop,
    directory: Directory,
    placement: Placement | None,
) -> Rejected | None:
    """Checks 2-7: what needs no key material (cheap, and first, so hostile input that
    fails them never costs a signature verification)."""
    too_large = _unforwardable(envelope, doc, size, hop)
    if too_large:
        return meta.rejected(ReasonCode.TOO_LARGE, too_large)
    if meta.sender not in directory.by_id:
        return meta.rejected(
            ReasonCode.UNKNOWN_SENDER, f"sender {bounded(meta.sender)} not in directory"
        )
    if placement is not None:
        sender_key = meta.sender.encode()
        if placement.key != sender_key:
            return meta.rejected(ReasonCode.KEY_MISMATCH, "record key is not the sender id")
        home = _home_partition(sender_key, placement.partitions)
        if placement.partition != home:
            detail = f"on partition {placement.partition}, the sender's is {home}"
            return meta.rejected(ReasonCode.WRONG_PARTITION, detail)
    ahead = meta.send_time_us - meta.now_us
    if ahead > MAX_SEND_AHEAD_US or -ahead > MAX_SEND_BEHIND_US:
        when = "ahead of" if ahead > 0 else "behind"
        detail = f"send time {abs(ahead) // 1_000_000} s {when} the receipt time"
        return meta.rejected(ReasonCode.SEND_TIME_SKEW, detail)
    if not doc.recipients:
        return meta.rejected(ReasonCode.NO_RECIPIENTS, "the document names no recipient")
    return None


@functools.lru_cache(maxsize=1 << 16)
def _home_partition(key: bytes, partitions: int) -> int:
    """`partition_of`, remembered: only senders of the directory get here (check 3 came
    first), so the cache holds at most one entry per agency and partition count."""
    return partition_of(key, partitions)


def _unforwardable(envelope: Envelope, doc: Document, size: int, hop: Hop) -> str:
    """Why the routed envelope (with `hop`) or the changelog entry would break a cap, or ""."""
    if len(envelope.trace) >= codec.MAX_TRACE_HOPS:
        return f"trace already has {len(envelope.trace)} hops, the cap is {codec.MAX_TRACE_HOPS}"
    room = codec.MAX_ENVELOPE_BYTES - ROUTER_HOP_ROOM
    if size > room:  # a fixed room, so the outcome never depends on the router's id or clock
        return f"{size} bytes, above {room}: no room for the router's hop"
    if len(hop.node.encode()) + _HOP_OVERHEAD > ROUTER_HOP_ROOM:  # an unusually long router id
        routed = replace(envelope, trace=(*envelope.trace, hop))
        grown = len(codec.encode_envelope(routed))
        if grown > codec.MAX_ENVELOPE_BYTES:
            return f"{grown} bytes with the router's hop, the cap is {codec.MAX_ENVELOPE_BYTES}"
    if len(doc.id.encode()) > codec.MAX_DOCUMENT_ID_BYTES:
        return f"document id above {codec.MAX_DOCUMENT_ID_BYTES} bytes: no status could carry it"
    return ""


def _authenticate(
    envelope: Envelope, meta: Meta, trust: Verifier, guard: ReplayGuard
) -> Rejected | None:
    """Checks 8-9: certificate and signature valid at the receipt time, not a replay."""
    reason = trust.verify(
        envelope.content, envelope.signature, envelope.cert_id, meta.sender, meta.now_us
    )
    if reason is not None:
        return meta.rejected(reason, f"certificate {envelope.cert_id[:16]}")
    if meta.document_id in guard:
        return meta.rejected(ReasonCode.REPLAY, "document id seen within the replay window")
    guard.remember(meta.document_id)
    return None


def _route(
    envelope: Envelope,
    doc: Document,
    meta: Meta,
    directory: Directory,
    hop: Hop,
    *,
    guard: ReplayGuard,
) -> Decision:
    """Checks 10-13: classified, unknown recipient, unknown target, then per recipient."""
    if meta.secrecy.classified:
        detail = f"secrecy {meta.secrecy.value}"
        return Excluded(
            meta.rejection(ReasonCode.CLASSIFIED, detail), meta.addressed, meta.priority
        )
    recipients: dict[str, Agency] = {}  # first mention wins; duplicates collapse
    for ref in doc.recipients:
        agency = directory.by_id.get(ref.id)
        if agency is None:
            return meta.rejected(ReasonCode.UNKNOWN_RECIPIENT, f"recipient {bounded(ref.id)}")
        recipients.setdefault(agency.id, agency)
    unknown = _unknown_target(doc, guard)
    if unknown:
        return meta.rejected(ReasonCode.UNKNOWN_TARGET, unknown)
    deliveries = tuple(Delivery(a.id, a.tier) for a in recipients.values() if a.connected)
    unconnected = [a for a in recipients.values() if not a.connected]
    digest = codec.content_sha256(meta.content) if unconnected else b""  # once per document
    not_connected = tuple(
        meta.rejection(
            ReasonCode.NOT_CONNECTED, "recipient not on the axis", recipient=a.id, digest=digest
        )
        for a in unconnected
    )
    routed = replace(envelope, trace=(*envelope.trace, hop))  # keeps its content_format
    return Delivered(
        meta.document_id, meta.sender, routed, deliveries, not_connected, meta.priority
    )


def _unknown_target(doc: Document, guard: ReplayGuard) -> str:
    """Check 12: why a revoke, update or replace names no document this router delivered
    from the same sender (within the replay window), or "" (also for a new document)."""
    if doc.business_type is BusinessType.NEW:
        return ""
    business = doc.business
    if business is None:
        return f"{doc.business_type.name.lower()} names no target"
    named = [("target", business.target)]
    if doc.business_type is BusinessType.REPLACE:
        if business.replacement is None:
            return "replace names no replacing document"
        named.append(("replacing document", business.replacement))
    own = doc.sender.id + ","
    for what, target in named:
        if target == doc.id or not target.startswith(own) or not guard.delivered(target):
            return f"{what} {bounded(target)} not delivered from this sender"
    return ""
