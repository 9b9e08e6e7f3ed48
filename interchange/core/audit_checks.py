"""The audit's cross-checks and its recomputation of the run's figures (pure, no Kafka).

Input: the facts of every submission (decided again) and every delivery (re-verified)
from `core.audit_facts`, and the raw rejection and status records. Output: findings
(each naming topic, partition and offset) and a `RunMetrics` rebuilt from the records
alone, counted the way the live stages count (docs/AUDIT.md, "Recomputed figures"):

* addressed: per recipient named by each submission whose document decodes (producer);
* excluded / rejected / not connected: per rejection record, attributed to the
  recipients of the submission it names by its coordinates (topic, partition,
  offset), or by content digest in a record of schema v1 (router);
* delivered / duplicates: the first delivery record of a (document, recipient) pair,
  then repeats (recipient); a document id delivered from two submissions anywhere on
  the submissions topic (another partition, another key) is a DELIVERED_TWICE finding
  located at the later submission; every delivery is re-verified, so `signature_reverified`
  counts all of them and `signature_invalid` those that fail;
* latency: arrival = the recipient's status 01 (ARRIVED) time for that pair, else the
  delivery record's Kafka timestamp; before router = router hop - intended send time.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from interchange.core import codec
from interchange.core.audit_evidence import Evidence
from interchange.core.audit_facts import DeliveryFact, Submission
from interchange.core.audit_findings import Finding, Kind, RawRecord, at
from interchange.core.directory import attributed_tier
from interchange.core.metrics import RunMetrics
from interchange.core.model import Agency, ReasonCode, Rejection, StatusCode, StatusMessage, Tier
from interchange.core.workflow import Violation, WorkflowTally
from interchange.errors import DecodeError

Pair = tuple[str, str]  # (document id, recipient id)
# (document id, content digest, reason, recipient, (topic, partition, offset, authenticated));
# the last part is None for a rejection written before rejections carried coordinates (v1)
RejectionKey = tuple[str, bytes, str, str, tuple[str, int, int, bool] | None]


@dataclass
class AuditResult:
    findings: list[Finding]
    metrics: RunMetrics
    counts: dict[str, int] = field(default_factory=dict)


class _Audit:
    def __init__(self, by_id: Mapping[str, Agency], evidence: Evidence | None = None) -> None:
        self.by_id = by_id
        self.evidence = evidence
        self.findings: list[Finding] = []
        self.metrics = RunMetrics()
        self.counts: Counter[str] = Counter()

    def tier(self, agency_id: str) -> Tier | None:
        """The router's rule, so recomputed counts match live ones."""
        return attributed_tier(self.by_id, agency_id)

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)


def audit_records(
    submissions: Sequence[Submission],
    deliveries: Sequence[DeliveryFact],
    rejections: Sequence[RawRecord],
    statuses: Sequence[RawRecord],
    directory_by_id: Mapping[str, Agency],
    *,
    evidence: Evidence | None = None,
) -> AuditResult:
    """Every cross-record invariant, and the figures recomputed from the records
    (with `evidence`, also where each counted unit came from)."""
    a = _Audit(directory_by_id, evidence)
    a.counts.update(
        submissions=len(submissions),
        deliveries=len(deliveries),
        rejections=len(rejections),
        statuses=len(statuses),
    )
    _addressed(a, submissions)
    status_msgs = _decode_statuses(a, statuses)
    arrived = _first_status_times(status_msgs, StatusCode.ARRIVED)
    delivered = _deliveries(a, submissions, deliveries, arrived)
    _delivered_twice(a, submissions, deliveries)
    _rejections(a, submissions, rejections)
    _statuses(a, status_msgs, delivered)
    return AuditResult(a.findings, a.metrics, dict(a.counts))


def _addressed(a: _Audit, submissions: Sequence[Submission]) -> None:
    for s in submissions:
        if not s.decodable:
            continue
        sender_tier = a.tier(s.sender)
        if sender_tier is None:
            continue
        for r in s.recipients:
            tier = a.tier(r)
            if tier is not None:
                a.metrics.record_addressed(sender_tier, tier, s.priority)
                if a.evidence is not None:
                    a.evidence.count(tier, "addressed", (s.topic, s.partition, s.offset))
        if s.producer_hop_us is not None and s.outcome is not ReasonCode.REPLAY:
            a.metrics.record_schedule_lag(sender_tier, s.producer_hop_us - s.send_time_us)


def _deliveries(
    a: _Audit,
    submissions: Sequence[Submission],
    facts: Sequence[DeliveryFact],
    arrived: Mapping[Pair, int],
) -> dict[Pair, DeliveryFact]:
    """Per-delivery checks, exactly-once and matching; returns the first delivery per pair."""
    expected: Counter[Pair] = Counter()
    origin: dict[Pair, tuple[Submission, Tier]] = {}
    for s in submissions:
        for recipient, tier in s.deliveries:
            pair = (s.document_id, recipient)
            expected[pair] += 1
            origin.setdefault(pair, (s, tier))
    # submissions the decision rejects UNKNOWN_TARGET: a delivery of one is named as such
    untargeted = {s.document_id: s for s in submissions if s.outcome is ReasonCode.UNKNOWN_TARGET}
    seen: Counter[Pair] = Counter()
    first: dict[Pair, DeliveryFact] = {}
    for f in sorted(facts, key=lambda f: (f.topic, f.partition, f.offset)):
        where = RawRecord(f.topic, f.partition, f.offset, f.timestamp_ms, None, None)
        if f.error:
            a.add(at(Kind.MALFORMED_DELIVERY, where, f"does not decode strictly ({f.error})"))
            continue
        if f.secrecy.classified:
            a.add(at(Kind.CLASSIFIED_DELIVERED, where, f"{f.document_id} is {f.secrecy.value}"))
        if f.verify is not None:
            a.add(at(Kind.SIGNATURE_INVALID, where, f"{f.document_id}: {f.verify.value}"))
        pair = (f.document_id, f.recipient)
        known = origin.get(pair)
        if known is None and f.document_id in untargeted:
            s = untargeted[f.document_id]
            a.add(
                at(
                    Kind.TARGET_NOT_DELIVERED,
                    where,
                    f"{f.document_id} -> {f.recipient}: its target was never delivered from "
                    f"{s.sender} (submission {s.topic}[{s.partition}]@{s.offset})",
                )
            )
        elif known is None:
            why = (
                "recipient not named in the document"
                if f.recipient not in f.recipients
                else "no valid submission delivers it to this recipient"
            )
            a.add(at(Kind.FORGED_DELIVERY, where, f"{f.document_id} -> {f.recipient}: {why}"))
        else:
            prior = first[pair] if seen[pair] >= expected[pair] else None
            _match(a, f, where, known, prior)
        seen[pair] += 1
        _count_delivery(a, f, pair in first, arrived.get(pair))
        first.setdefault(pair, f)
    for pair, n in expected.items():
        if seen[pair] < n:
            sub = origin[pair][0]
            a.add(
                Finding(
                    Kind.MISSING_DELIVERY,
                    f"{pair[0]} never delivered to {pair[1]}",
                    sub.topic,
                    sub.partition,
                    sub.offset,
                )
            )
    return first


# What the router must answer to a copy of a delivered document: if one of these
# submissions was delivered too, the replay guard did not hold across the topic.
_COPY_REASONS = frozenset({ReasonCode.REPLAY, ReasonCode.KEY_MISMATCH, ReasonCode.WRONG_PARTITION})


def _delivered_twice(
    a: _Audit, submissions: Sequence[Submission], facts: Sequence[DeliveryFact]
) -> None:
    """Topic-wide: one document id delivered from two different submissions.

    Two cases: the router had to deliver two submissions of one id (a replay outside
    the window), or a recipient got the document more often than the submissions that
    had to deliver it account for, and other submissions of that id exist (a copy on
    another partition or under another key that a router delivered)."""
    by_id: dict[str, list[Submission]] = defaultdict(list)
    for s in submissions:
        if s.document_id:
            by_id[s.document_id].append(s)
    copies = {doc_id: subs for doc_id, subs in by_id.items() if len(subs) > 1}
    if not copies:
        return
    expected: Counter[Pair] = Counter(
        (s.document_id, r) for s in submissions for r, _tier in s.deliveries
    )
    seen = Counter((f.document_id, f.recipient) for f in facts if not f.error)
    over = {pair[0] for pair, n in seen.items() if n > expected[pair]}
    for doc_id, subs in copies.items():
        subs.sort(key=lambda s: (s.partition, s.offset))
        delivering = [s for s in subs if s.outcome is None and s.deliveries]
        again = delivering[1:]
        if doc_id in over:
            again += [s for s in subs if s.outcome in _COPY_REASONS]
        first = delivering[0] if delivering else subs[0]
        for s in again:
            a.add(
                Finding(
                    Kind.DELIVERED_TWICE,
                    f"{doc_id} delivered from this submission and from "
                    f"{first.topic}[{first.partition}]@{first.offset}",
                    s.topic,
                    s.partition,
                    s.offset,
                )
            )


def _match(
    a: _Audit,
    f: DeliveryFact,
    where: RawRecord,
    known: tuple[Submission, Tier],
    prior: DeliveryFact | None,
) -> None:
    """A delivery of an expected pair: same bytes, right topic, and not one too many."""
    sub, tier = known
    if sub.content_sha256 != f.content_sha256:
        a.add(
            at(
                Kind.CONTENT_MISMATCH,
                where,
                f"{f.document_id}: content differs from the submission at "
                f"{sub.topic}[{sub.partition}]@{sub.offset}",
            )
        )
    if tier is not f.tier:
        a.add(
            at(
                Kind.WRONG_DELIVERY_TOPIC,
                where,
                f"{f.recipient} is {tier.value}, delivered on the {f.tier.value} topic",
            )
        )
    if prior is not None:
        a.add(
            at(
                Kind.DUPLICATE_DELIVERY,
                where,
                f"{f.document_id} -> {f.recipient} already delivered at "
                f"{prior.topic}[{prior.partition}]@{prior.offset}",
            )
        )


def _count_delivery(a: _Audit, f: DeliveryFact, repeat: bool, arrival_us: int | None) -> None:
    sender_tier = a.tier(f.sender)
    if sender_tier is None:
        return
    loc = (f.topic, f.partition, f.offset)
    if repeat:
        a.metrics.record_duplicate(sender_tier, f.tier, f.priority)
        if a.evidence is not None:
            a.evidence.count(f.tier, "duplicates", loc)
        return
    if arrival_us is None:
        arrival_us = f.timestamp_ms * 1000
        a.counts["latency_from_kafka_timestamp"] += 1
    else:
        a.counts["latency_from_status_01"] += 1
    hop = f.router_hop_us
    a.metrics.record_delivery(
        sender_tier,
        f.tier,
        f.priority,
        arrival_us - f.send_time_us,
        before_router_us=None if hop is None else hop - f.send_time_us,
        after_router_us=None if hop is None else arrival_us - hop,
        reverified=f.verify is None,
    )
    if a.evidence is not None:
        a.evidence.count(f.tier, "delivered", loc)
        if f.verify is not None:
            a.evidence.count(f.tier, "signature_invalid", loc)
        a.evidence.latency(f.tier, "latency", arrival_us - f.send_time_us, loc)
        if hop is not None:
            a.evidence.latency(f.tier, "before_router", hop - f.send_time_us, loc)
            a.evidence.latency(f.tier, "after_router", arrival_us - hop, loc)


def _rejections(a: _Audit, submissions: Sequence[Submission], records: Sequence[RawRecord]) -> None:
    expected: Counter[RejectionKey] = Counter()
    origin: dict[RejectionKey, Submission] = {}
    by_digest: dict[bytes, Submission] = {}
    by_place: dict[tuple[str, int, int], Submission] = {}
    # archived classified submissions: not re-verifiable, so any one rejection at their place
    # stands for the due one (a forged classified copy is BAD_SIGNATURE, not CLASSIFIED)
    redacted: dict[tuple[str, int, int], RejectionKey] = {}
    for s in submissions:
        by_digest.setdefault(s.content_sha256, s)
        by_place[(s.topic, s.partition, s.offset)] = s
        if s.redacted:
            a.counts["redacted_submissions"] += 1
            redacted[(s.topic, s.partition, s.offset)] = _key(s.rejections[0])
        for r in s.rejections:
            key = _key(r)
            expected[key] += 1
            origin.setdefault(key, s)
    extra: list[tuple[RejectionKey, RawRecord]] = []
    for rec in sorted(records, key=lambda r: (r.partition, r.offset)):
        try:
            rej = codec.decode_rejection(rec.value or b"")
        except DecodeError as exc:
            a.add(at(Kind.MALFORMED_REJECTION, rec, f"does not decode strictly ({exc.reason})"))
            continue
        if rej.located:  # the submission it is about, by its coordinates
            sub = by_place.get((rej.topic, rej.partition, rej.offset))
        else:  # a v1 record: the first submission with that content
            sub = by_digest.get(rej.content_sha256)
        if not rej.detail.strip():
            a.add(at(Kind.REJECTION_WITHOUT_REASON, rec, f"{rej.reason.value} with no detail"))
        if sub is not None and sub.subject and sub.subject in rej.detail:
            a.add(at(Kind.CONTENT_IN_REJECTION, rec, "detail contains the document's subject"))
        key = _due_key(rej, expected, redacted)
        if expected[key] > 0:
            expected[key] -= 1
        else:
            extra.append((key, rec))
        _count_rejection(a, rej, sub, rec)
    _settle(a, extra, {k: n for k, n in expected.items() if n > 0}, origin)


def _settle(
    a: _Audit,
    extra: Sequence[tuple[RejectionKey, RawRecord]],
    missing: dict[RejectionKey, int],
    origin: Mapping[RejectionKey, Submission],
) -> None:
    """Rejections written but not due, and due but not written; a pair of both is a mismatch."""
    for key, rec in extra:
        near = next((m for m in missing if _same_but_reason(m, key)), None)
        if near is not None:
            a.add(
                at(
                    Kind.REASON_MISMATCH,
                    rec,
                    f"{_said(key)}, the router had to write {_said(near)}",
                )
            )
            missing[near] -= 1
            if not missing[near]:
                del missing[near]
        else:
            ident = key[0] or key[1].hex()[:16]
            a.add(at(Kind.UNEXPECTED_REJECTION, rec, f"{key[2]} for {ident}: no such outcome due"))
    for key, n in missing.items():
        s = origin[key]
        a.add(
            Finding(
                Kind.MISSING_REJECTION,
                f"{n} x {key[2]} for {key[0] or key[1].hex()[:16]} never written",
                s.topic,
                s.partition,
                s.offset,
            )
        )


def _said(key: RejectionKey) -> str:
    """The reason, and whether the id was authenticated when the record says."""
    if key[4] is None:
        return key[2]
    return f"{key[2]} ({'authenticated' if key[4][3] else 'not authenticated'})"


def _same_but_reason(due: RejectionKey, got: RejectionKey) -> bool:
    """Same submission and recipient: a written rejection whose reason (or authenticated
    flag) differs from the due one."""
    same_place = got[4] is None or (due[4] is not None and due[4][:3] == got[4][:3])
    return due[0] == got[0] and due[1] == got[1] and due[3] == got[3] and same_place


def _key(r: Rejection) -> RejectionKey:
    place = (r.topic, r.partition, r.offset, r.authenticated) if r.located else None
    return (r.document_id, r.content_sha256, r.reason.value, r.recipient or "", place)


def _due_key(
    rej: Rejection,
    expected: Counter[RejectionKey],
    redacted: dict[tuple[str, int, int], RejectionKey],
) -> RejectionKey:
    """The key a written rejection counts against (see `_rejections`)."""
    place = (rej.topic, rej.partition, rej.offset)
    if rej.located and place in redacted:
        return redacted.pop(place)
    return _key(rej) if rej.located else _legacy_match(expected, _key(rej))


def _legacy_match(expected: Counter[RejectionKey], key: RejectionKey) -> RejectionKey:
    """A v1 rejection (no coordinates) counts against any due one equal but for them."""
    due = (k for k, n in expected.items() if n > 0 and k[:4] == key[:4])
    return next(due, key)


def _count_rejection(a: _Audit, rej: Rejection, sub: Submission | None, rec: RawRecord) -> None:
    """Attribute as the router does: NOT_CONNECTED to its recipient, else to all addressed."""
    sender_tier = a.tier(rej.sender)
    if sender_tier is None or sub is None:
        return
    targets = (rej.recipient,) if rej.recipient is not None else sub.recipients
    for r in targets:
        tier = a.tier(r)
        if tier is not None:
            a.metrics.record_rejected(sender_tier, tier, sub.priority, rej.reason)
            if a.evidence is not None:
                a.evidence.rejection(tier, rej.reason, (rec.topic, rec.partition, rec.offset))


def _decode_statuses(
    a: _Audit, records: Sequence[RawRecord]
) -> list[tuple[RawRecord, StatusMessage]]:
    out = []
    for rec in sorted(records, key=lambda r: (r.partition, r.offset)):
        try:
            out.append((rec, codec.decode_status(rec.value or b"")))
        except DecodeError as exc:
            a.add(at(Kind.MALFORMED_STATUS, rec, f"does not decode strictly ({exc.reason})"))
    return out


def _first_status_times(
    statuses: Sequence[tuple[RawRecord, StatusMessage]], code: StatusCode
) -> dict[Pair, int]:
    out: dict[Pair, int] = {}
    for _rec, msg in statuses:
        if msg.code is code:
            out.setdefault((msg.document_id, msg.recipient), msg.time_us)
    return out


def _statuses(
    a: _Audit,
    statuses: Sequence[tuple[RawRecord, StatusMessage]],
    delivered: Mapping[Pair, DeliveryFact],
) -> None:
    acked: set[Pair] = set()
    work = WorkflowTally()
    for rec, msg in statuses:
        pair = (msg.document_id, msg.recipient)
        d = delivered.get(pair)
        if d is None:
            a.add(
                at(
                    Kind.STATUS_WITHOUT_DELIVERY,
                    rec,
                    f"status {msg.code.value} for {msg.document_id} from {msg.recipient}: "
                    "no such delivery",
                )
            )
            continue
        if msg.sender != d.sender:
            a.add(
                at(
                    Kind.STATUS_WITHOUT_DELIVERY,
                    rec,
                    f"status names sender {msg.sender}, the document's is {d.sender}",
                )
            )
            continue
        sender_tier = a.tier(d.sender)
        if sender_tier is not None:
            broken = work.observe(msg, sender_tier, d.tier)
            if broken is not None:
                a.add(at(_KIND_OF[broken], rec, _violation_text(broken, msg)))
                continue
        if msg.code is StatusCode.ACCEPTED and pair not in acked:
            acked.add(pair)
            if sender_tier is not None:
                a.metrics.record_ack(sender_tier, d.tier, msg.time_us - d.send_time_us)
    for (s_tier, r_tier), cell in work.cells():
        a.metrics.record_work(s_tier, r_tier, cell)


_KIND_OF = {
    Violation.OUT_OF_ORDER: Kind.STATUS_OUT_OF_ORDER,
    Violation.AFTER_COMPLETED: Kind.STATUS_AFTER_COMPLETED,
    Violation.ANSWER_WITHOUT_RECALL: Kind.RECALL_ANSWER_WITHOUT_REQUEST,
}


def _violation_text(v: Violation, msg: StatusMessage) -> str:
    what = f"status {msg.code.value} for {msg.document_id} from {msg.recipient}"
    if v is Violation.OUT_OF_ORDER:
        return f"{what}: not the next step of its work record (03 -> 04 -> 05 -> 06)"
    if v is Violation.AFTER_COMPLETED:
        return f"{what}: after 06, only recall statuses may follow"
    return f"{what}: a recall answer with no recall request (13) before it"
