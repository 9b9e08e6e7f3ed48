"""The audit's check of the rejection records: each one due, written once, with its
reason and without content; and the rejected counts attributed as the router does."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from interchange.audit.facts import Submission
from interchange.audit.findings import Finding, Kind, RawRecord, at
from interchange.audit.state import AuditState, RejectionKey
from interchange.errors import DecodeError
from interchange.wire import codec
from interchange.wire.model import Rejection


def check_rejections(
    a: AuditState, submissions: Sequence[Submission], records: Sequence[RawRecord]
) -> None:
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
    a: AuditState,
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
    """The key a written rejection counts against (see `check_rejections`)."""
    place = (rej.topic, rej.partition, rej.offset)
    if rej.located and place in redacted:
        return redacted.pop(place)
    return _key(rej) if rej.located else _legacy_match(expected, _key(rej))


def _legacy_match(expected: Counter[RejectionKey], key: RejectionKey) -> RejectionKey:
    """A v1 rejection (no coordinates) counts against any due one equal but for them."""
    due = (k for k, n in expected.items() if n > 0 and k[:4] == key[:4])
    return next(due, key)


def _count_rejection(a: AuditState, rej: Rejection, sub: Submission | None, rec: RawRecord) -> None:
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
