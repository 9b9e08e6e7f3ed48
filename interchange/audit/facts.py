"""The CPU-bound half of the audit: decide every submission again, re-verify every delivery.

Both halves (submissions here, deliveries in `audit.deliveries`) are pure (no
Kafka, no files besides the trust store the caller opened) and run in worker processes
over chunks of records; they return compact facts, never keep a document's content,
and the main process cross-checks the facts (`interchange.audit.checks`).

Submissions are decided with the router's own pure decision (`routing.decision.decide`),
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
delivery records and on its submission: one `Reverified` (`audit.reverify`),
shared by a document's deliveries (`audit.deliveries`) and then its submission,
decodes and verifies it once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from operator import attrgetter
from typing import Any

from interchange.audit.deliveries import (
    DeliveryFact,
    Verified,
)
from interchange.audit.findings import RawRecord
from interchange.audit.redaction import Exclusion
from interchange.audit.reverify import Reverified, hop_time
from interchange.pki.verification import Verifier
from interchange.routing.decision import JUDGED_BEFORE_TIME, Directory, decide
from interchange.routing.outcomes import Delivered, Placement
from interchange.routing.replay_guard import DEFAULT_REPLAY_CAPACITY, ReplayGuard
from interchange.wire import codec
from interchange.wire.model import (
    BusinessType,
    Document,
    Priority,
    ReasonCode,
    Rejection,
    Secrecy,
    Tier,
)

__all__ = [  # the submission half; the delivery half and the cache live in their modules
    "LOG_APPEND_TIME",
    "PRODUCER_NODE_PREFIX",
    "ReceiptTimes",
    "RouterTimes",
    "Submission",
    "router_times",
    "submission_facts",
]

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
    recalls: str = ""  # a revoke (business type 1): the id of the document it recalls
    updates: str = ""  # an update (business type 2): the id of the document it updates

    def __reduce__(self) -> tuple[type[Submission], tuple[Any, ...]]:
        # Pickled as constructor arguments: the audit's pool returns one per submission,
        # and a slots dataclass's generated __setstate__ costs several times more.
        return (Submission, _SUBMISSION_FIELDS(self))


def router_times(
    deliveries: Iterable[DeliveryFact | Verified], rejections: Iterable[Rejection]
) -> dict[bytes, list[int]]:
    """The receipt times the router recorded, per content digest (module docstring).

    Rejections decided before any time-dependent check (`JUDGED_BEFORE_TIME`) are left
    out: such copies (another key, another partition) never take a time slot."""
    found = ReceiptTimes()
    found.add(deliveries, rejections)
    return found.settled()


class ReceiptTimes:
    """`router_times` gathered piece by piece (the audit's pool adds each task's deliveries
    as it finishes); `settled()` is `router_times` of everything added. A set of times per
    digest: the same delivery value added twice, or several records of one value, add
    nothing, so distinct values give the same times as all their records."""

    def __init__(self) -> None:
        self._found: dict[bytes, set[int]] = defaultdict(set)

    def add(
        self,
        deliveries: Iterable[DeliveryFact | Verified] = (),
        rejections: Iterable[Rejection] = (),
    ) -> None:
        found = self._found
        for d in deliveries:
            if not d.error and d.router_hop_us is not None:
                found[d.content_sha256].add(d.router_hop_us)
        for r in rejections:
            if r.reason not in JUDGED_BEFORE_TIME:
                found[r.content_sha256].add(r.time_us)

    def settled(self) -> dict[bytes, list[int]]:
        return {digest: sorted(times) for digest, times in self._found.items()}


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
                producer_hop_us=hop_time(env, PRODUCER_NODE_PREFIX, first=True),
                outcome=outcome,
                deliveries=deliveries,
                rejections=rejections,
                recalls=_target(doc, BusinessType.REVOKE),
                updates=_target(doc, BusinessType.UPDATE),
            )
        )
    return out


def _target(doc: Document | None, kind: BusinessType) -> str:
    """The document a revoke recalls (the request its recipients record as 13) or an update
    updates (the request their 15/16 answer), for a `doc` of that business type."""
    if doc is None or doc.business_type is not kind or doc.business is None:
        return ""
    return doc.business.target


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


_SUBMISSION_FIELDS = attrgetter(*(f.name for f in fields(Submission)))


def _receipt(rec: RawRecord, times: Sequence[int], slot: int) -> int:
    if rec.timestamp_type == LOG_APPEND_TIME or not times:
        return rec.timestamp_ms * 1000
    return times[min(slot, len(times) - 1)]
