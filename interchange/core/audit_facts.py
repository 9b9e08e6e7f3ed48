"""The CPU-bound half of the audit: decide every submission again, re-verify every delivery.

Both functions are pure (no Kafka, no files besides the trust store the caller opened)
and run in worker processes over chunks of records; they return compact facts, never
keep a document's content, and the main process cross-checks the facts
(`interchange.core.audit_checks`).

Submissions are decided with the router's own pure decision (`core.policy.decide`),
partition by partition in offset order with one `ReplayGuard` per partition, exactly
as the router does, so the audit knows what the router had to do with each one.

Certificates are judged at the receipt time, as the router judges them. The audit
takes it from what the router recorded (`router_times`): the router hop of each
delivered envelope and the `time_us` of each rejection, by content digest; the k-th
copy of a content on its partition takes the k-th of those times. Where the broker
stamps LogAppendTime the record's own timestamp is the receipt time. A submission
the router wrote nothing for falls back to its record timestamp (and is reported
missing anyway).

A document delivered to twenty recipients is the same signed content on twenty
delivery records and on its submission, judged at the same receipt time (its router
hop). A `Reverified` cache, shared by a document's deliveries and then its
submission, decodes each distinct content once and verifies each distinct (content,
signature, certificate, sender, time) once, so a document delivered to any number of
recipients costs one signature check. A verdict is a function of
exactly those inputs, so reusing it changes no finding.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from operator import attrgetter
from typing import Any, Protocol

from interchange.core import codec
from interchange.core.audit_findings import RawRecord
from interchange.core.model import (
    ContentFormat,
    Document,
    Envelope,
    Priority,
    ReasonCode,
    Rejection,
    Secrecy,
    Tier,
)
from interchange.core.policy import (
    DEFAULT_REPLAY_CAPACITY,
    JUDGED_BEFORE_TIME,
    Delivered,
    Directory,
    Parsed,
    Placement,
    ReplayGuard,
    Verifier,
    decide,
    parse,
)
from interchange.core.redaction import Exclusion
from interchange.errors import DecodeError

ROUTER_NODE_PREFIX = "router:"
PRODUCER_NODE_PREFIX = "producer:"
LOG_APPEND_TIME = 1  # RawRecord.timestamp_type when the broker set the timestamp

RouterTimes = Mapping[bytes, Sequence[int]]  # content digest -> receipt times, ascending


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
    redacted: bool = False  # an archived classified submission: metadata only, not re-verified

    def __reduce__(self) -> tuple[type[Submission], tuple[Any, ...]]:
        # Pickled as constructor arguments: the audit's pool returns one per submission,
        # and a slots dataclass's generated __setstate__ costs several times more.
        return (Submission, _SUBMISSION_FIELDS(self))


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
class _Content:
    """What one signed content says, decoded once: the document fields the audit keeps."""

    sha256: bytes
    error: str  # "" when the content decoded strictly, else "document: <reason>"
    document_id: str = ""
    sender: str = ""
    recipients: tuple[str, ...] = ()
    secrecy: Secrecy = Secrecy.NONE
    priority: Priority = Priority.NORMAL
    send_time_us: int = 0


def _content_of(digest: bytes, doc: Document) -> _Content:
    return _Content(
        digest,
        "",
        doc.id,
        doc.sender.id,
        tuple(r.id for r in doc.recipients),
        doc.secrecy,
        doc.priority,
        doc.send_time_us,
    )


_VerdictKey = tuple[bytes, bytes, str, str, int]  # content SHA-256, signature, cert, sender, time


class ContentFormats(Protocol):
    """How an envelope whose content is not an Avro document (content format EDXML) is
    read and verified; interchange/edxml provides it, so this pure core stays Avro-only."""

    def read(self, envelope: Envelope) -> Document: ...  # DecodeError on a defect

    def verifier(self, envelope: Envelope) -> Verifier: ...


class Reverified:
    """Each distinct content decoded once, each distinct signed document verified once.

    A `Verifier` itself (pass it to `decide`): the verdict of `trust.verify` is cached
    under everything it depends on (the content's SHA-256, signature, cert id, sender
    and the time it is judged at), so an equal call costs a dict lookup. The CRL
    is not re-read between two equal calls: the audit judges revocation as of a
    document's time, from one CRL. One instance per unit of work, so memory stays
    bounded by that unit.
    """

    def __init__(self, trust: Verifier, formats: ContentFormats | None = None) -> None:
        self._trust = trust
        self._formats = formats  # None: every content is read as Avro (as before v6)
        self._verdicts: dict[_VerdictKey, ReasonCode | None] = {}
        self._contents: dict[bytes, _Content] = {}
        self._foreign: dict[bytes, _Content] = {}  # contents of another format, decoded
        self._documents: dict[bytes, Document] = {}  # by content, for `parsed`
        self.verifications = 0  # calls that reached `trust.verify`
        self.decodes = 0  # contents decoded

    def verify(
        self, content: bytes, signature: bytes, cert_id: str, sender_id: str, at_us: int
    ) -> ReasonCode | None:
        key = (self.digest(content), signature, cert_id, sender_id, at_us)
        if key in self._verdicts:
            return self._verdicts[key]
        self.verifications += 1
        verdict = self._trust.verify(content, signature, cert_id, sender_id, at_us)
        self._verdicts[key] = verdict
        return verdict

    def content(self, content: bytes, envelope: Envelope | None = None) -> _Content:
        """The decoded fields of `content` (strict decode on first sight only); `envelope`
        names its content format (Avro when None)."""
        foreign = self._foreign_format(envelope)
        cache = self._foreign if foreign else self._contents
        known = cache.get(content)
        if known is not None:
            return known
        self.decodes += 1
        digest = codec.content_sha256(content)
        try:
            doc = self._read(envelope) if foreign else codec.decode_document(content)
        except DecodeError as exc:
            known = _Content(digest, f"document: {exc.reason}")
        else:
            known = _content_of(digest, doc)
            if not foreign:
                self._documents[content] = doc
        cache[content] = known
        return known

    def _foreign_format(self, envelope: Envelope | None) -> bool:
        return envelope is not None and envelope.content_format is not ContentFormat.AVRO

    def _read(self, envelope: Envelope | None) -> Document:
        """The content reader `policy.parse` is given: Avro, or the other format's."""
        assert envelope is not None
        if self._formats is not None and self._foreign_format(envelope):
            return self._formats.read(envelope)
        return codec.decode_document(envelope.content)

    def for_envelope(self, envelope: Envelope | None) -> Verifier:
        """The verifier of `envelope`'s content format: this cache for Avro, the other
        format's own verifier (counted, not cached) otherwise."""
        if self._formats is None or not self._foreign_format(envelope):
            return self
        assert envelope is not None
        self.verifications += 1
        return self._formats.verifier(envelope)

    def parsed(self, value: bytes | None) -> Parsed:
        """`policy.parse(value, 0)`, without decoding a document this cache decoded before
        (a submission whose deliveries came first): the same bytes decode the same way."""
        if value:
            try:
                envelope = codec.decode_envelope(value)
            except DecodeError:
                envelope = None
            avro = envelope is not None and not self._foreign_format(envelope)
            doc = self._documents.get(envelope.content) if envelope is not None and avro else None
            if envelope is not None and doc is not None:
                return Parsed(envelope, doc, None)
        parsed = parse(value, 0, self._read)
        env, doc = parsed.envelope, parsed.document
        if env is not None and doc is not None and not self._foreign_format(env):
            self.learn(env.content, doc)
        return parsed

    def learn(self, content: bytes, doc: Document) -> None:
        """Record a document the caller decoded itself (a submission's)."""
        if content not in self._contents:
            self._contents[content] = _content_of(codec.content_sha256(content), doc)
            self._documents[content] = doc

    def digest(self, content: bytes) -> bytes:
        """SHA-256 of `content` (hashed once when it was decoded or learnt here)."""
        known = self._contents.get(content)
        return known.sha256 if known is not None else codec.content_sha256(content)


def router_times(
    deliveries: Iterable[DeliveryFact | Verified], rejections: Iterable[Rejection]
) -> dict[bytes, list[int]]:
    """The receipt times the router recorded, per content digest (module docstring).

    Rejections decided before any time-dependent check (`JUDGED_BEFORE_TIME`) are left
    out: such copies (another key, another partition) never take a time slot."""
    found: dict[bytes, set[int]] = defaultdict(set)
    for d in deliveries:
        if not d.error and d.router_hop_us is not None:
            found[d.content_sha256].add(d.router_hop_us)
    for r in rejections:
        if r.reason not in JUDGED_BEFORE_TIME:
            found[r.content_sha256].add(r.time_us)
    return {digest: sorted(times) for digest, times in found.items()}


def submission_facts(
    records: Iterable[RawRecord],
    directory: Directory,
    trust: Verifier,
    replay_capacity: int = DEFAULT_REPLAY_CAPACITY,
    *,
    partitions: int,
    times: RouterTimes,
    cache: Reverified | None = None,
) -> list[Submission]:
    """Decide the records of ONE submissions partition, in the given (offset) order.

    `partitions`: the partition count of the submissions topic; `times`: `router_times`;
    `cache`: the one the deliveries of the same documents went through (`Reverified`)."""
    once = cache if cache is not None else Reverified(trust)
    guard = ReplayGuard(replay_capacity)
    taken: dict[bytes, int] = defaultdict(int)  # time slots used per content digest
    out = []
    for rec in records:
        if rec.excluded is not None:
            out.append(_excluded_submission(rec, guard))
            continue
        parsed = once.parsed(rec.value)
        digest = once.digest(parsed.envelope.content) if parsed.envelope else b""
        slot = taken[digest]
        decision = decide(
            rec.value, directory=directory, trust=once.for_envelope(parsed.envelope),
            replay_window=guard,
            now_us=_receipt(rec, times.get(digest, ()), slot),
            placement=Placement(rec.key, rec.partition, partitions), parsed=parsed,
        )  # fmt: skip
        guard.pending()  # the audit keeps no changelog
        if isinstance(decision, Delivered) or decision.rejection.reason not in JUDGED_BEFORE_TIME:
            taken[digest] = slot + 1  # else decided before any time check: it took no slot
        where = (rec.topic, rec.partition, rec.offset)  # stamped on rejections, as the router does
        env, doc = parsed.envelope, parsed.document
        if isinstance(decision, Delivered):
            outcome = None
            deliveries = tuple((d.recipient, d.tier) for d in decision.deliveries)
            rejections = tuple(r.about(*where) for r in decision.not_connected)
            sha = once.digest(decision.envelope.content)
        else:
            outcome = decision.rejection.reason
            deliveries = ()
            rejections = (decision.rejection.about(*where),)
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


def _excluded_submission(rec: RawRecord, guard: ReplayGuard) -> Submission:
    """An archived classified submission, from its exclusion metadata: the outcome the
    router gives a verified classified document (its signature cannot be re-verified
    without the content; `redacted` lets the checks accept any rejection at its place)."""
    try:
        ex = Exclusion.from_bytes(rec.excluded or b"")
    except ValueError:
        ex = None
    if ex is None or ex.document_id in guard:
        reason = ReasonCode.MALFORMED if ex is None else ReasonCode.REPLAY
    else:
        reason = ReasonCode.CLASSIFIED
        guard.remember(ex.document_id)
        guard.undelivered(ex.document_id)  # excluded: never a target (policy check 12)
        guard.pending()
    detail = f"secrecy {ex.secrecy.value}" if ex is not None else "unreadable exclusion metadata"
    rejection = Rejection(
        ex.document_id if ex else "",
        ex.sender if ex else "",
        reason,
        detail,
        ex.content_sha256 if ex else codec.content_sha256(b""),
        ex.secrecy if ex else Secrecy.NONE,
        None,
        0,
        ex.send_time_us if ex else 0,
    ).about(rec.topic, rec.partition, rec.offset)
    return Submission(
        topic=rec.topic,
        partition=rec.partition,
        offset=rec.offset,
        content_sha256=rejection.content_sha256,
        decodable=ex is not None,
        document_id=rejection.document_id,
        sender=rejection.sender,
        recipients=ex.recipients if ex else (),
        priority=ex.priority if ex else Priority.NORMAL,
        secrecy=rejection.secrecy,
        subject="",
        send_time_us=rejection.send_time_us,
        producer_hop_us=ex.producer_hop_us if ex else None,
        outcome=reason,
        deliveries=(),
        rejections=(rejection,),
        redacted=True,
    )


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


_SUBMISSION_FIELDS = attrgetter(*(f.name for f in fields(Submission)))
_VERIFIED_FIELDS = attrgetter(*(f.name for f in fields(Verified)))


def _receipt(rec: RawRecord, times: Sequence[int], slot: int) -> int:
    if rec.timestamp_type == LOG_APPEND_TIME or not times:
        return rec.timestamp_ms * 1000
    return times[min(slot, len(times) - 1)]


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
    hop = _hop(env, ROUTER_NODE_PREFIX, first=False)
    at = hop if hop is not None else c.send_time_us
    reason = once.for_envelope(env).verify(env.content, env.signature, env.cert_id, c.sender, at)
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
