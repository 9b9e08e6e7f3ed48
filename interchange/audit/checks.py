"""The audit's cross-checks and its recomputation of the run's figures (pure, no Kafka).

Input: the facts of every submission (decided again) and every delivery (re-verified)
from `audit.facts`, and the raw rejection and status records. Output: findings
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

from interchange.audit.deliveries import DeliveryFact
from interchange.audit.evidence import Evidence
from interchange.audit.facts import Submission
from interchange.audit.findings import Finding, Kind, RawRecord, at
from interchange.audit.rejections import check_rejections
from interchange.audit.state import AuditResult, AuditState, Pair
from interchange.audit.statuses import check_statuses, decode_statuses, first_status_times
from interchange.wire.model import Agency, ReasonCode, StatusCode, Tier

__all__ = [
    "audit_records",
]


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
    a = AuditState(directory_by_id, evidence)
    a.counts.update(
        submissions=len(submissions),
        deliveries=len(deliveries),
        rejections=len(rejections),
        statuses=len(statuses),
    )
    _addressed(a, submissions)
    status_msgs = decode_statuses(a, statuses)
    arrived = first_status_times(status_msgs, StatusCode.ARRIVED)
    delivered = _deliveries(a, submissions, deliveries, arrived)
    _delivered_twice(a, submissions, deliveries)
    check_rejections(a, submissions, rejections)
    revokes = {s.document_id: s.recalls for s in submissions if s.recalls and s.outcome is None}
    updates = {s.document_id: s.updates for s in submissions if s.updates and s.outcome is None}
    check_statuses(a, status_msgs, delivered, revokes, updates)
    return AuditResult(a.findings, a.metrics, dict(a.counts))


def _addressed(a: AuditState, submissions: Sequence[Submission]) -> None:
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
    a: AuditState,
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
    a: AuditState, submissions: Sequence[Submission], facts: Sequence[DeliveryFact]
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
    a: AuditState,
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


def _count_delivery(a: AuditState, f: DeliveryFact, repeat: bool, arrival_us: int | None) -> None:
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
