"""The audit's check of the status records: each one about a delivery, in its work
record's order; the status-03 latency and the work-record funnel recomputed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from interchange.audit.deliveries import DeliveryFact
from interchange.audit.findings import Kind, RawRecord, at
from interchange.audit.state import AuditState, Pair
from interchange.errors import DecodeError
from interchange.wire import codec
from interchange.wire.model import StatusCode, StatusMessage
from interchange.workrecords.workflow import (
    REVOKE_DETAIL,
    Violation,
    WorkflowTally,
    answered_update,
)


def decode_statuses(
    a: AuditState, records: Sequence[RawRecord]
) -> list[tuple[RawRecord, StatusMessage]]:
    out = []
    for rec in sorted(records, key=lambda r: (r.partition, r.offset)):
        try:
            out.append((rec, codec.decode_status(rec.value or b"")))
        except DecodeError as exc:
            a.add(at(Kind.MALFORMED_STATUS, rec, f"does not decode strictly ({exc.reason})"))
    return out


def first_status_times(
    statuses: Sequence[tuple[RawRecord, StatusMessage]], code: StatusCode
) -> dict[Pair, int]:
    out: dict[Pair, int] = {}
    for _rec, msg in statuses:
        if msg.code is code:
            out.setdefault((msg.document_id, msg.recipient), msg.time_us)
    return out


def check_statuses(
    a: AuditState,
    statuses: Sequence[tuple[RawRecord, StatusMessage]],
    delivered: Mapping[Pair, DeliveryFact],
    revokes: Mapping[str, str] | None = None,
    updates: Mapping[str, str] | None = None,
) -> None:
    """`revokes` / `updates`: each delivered revoke's / update's id -> the id of the
    document it recalls / updates."""
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
        if msg.code is StatusCode.RECALL_REQUESTED and not _revoked(msg, delivered, revokes or {}):
            a.add(at(Kind.RECALL_WITHOUT_REVOKE, rec, _no_revoke_text(msg)))
            continue
        update = answered_update(msg)
        if update is not None and not _updated(msg, update, delivered, updates or {}):
            a.add(at(Kind.RECALL_ANSWER_WITHOUT_REQUEST, rec, _no_update_text(msg)))
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


def _revoked(
    msg: StatusMessage, delivered: Mapping[Pair, DeliveryFact], revokes: Mapping[str, str]
) -> bool:
    """A 13 records a revoke of its document delivered to the agency that writes it."""
    # a 13's detail: "revoke <revoke id>" (docs/CONNECTOR.md, section 10)
    revoke = msg.detail.removeprefix(REVOKE_DETAIL) if msg.detail.startswith(REVOKE_DETAIL) else ""
    return revokes.get(revoke) == msg.document_id and (revoke, msg.recipient) in delivered


def _updated(
    msg: StatusMessage,
    update: str,
    delivered: Mapping[Pair, DeliveryFact],
    updates: Mapping[str, str],
) -> bool:
    """A 15/16 naming an update answers an update of its document delivered to its writer."""
    return updates.get(update) == msg.document_id and (update, msg.recipient) in delivered


def _no_update_text(msg: StatusMessage) -> str:
    return (
        f"status {msg.code.value} for {msg.document_id} from {msg.recipient}: answers no "
        f"update of it delivered to that agency (detail {msg.detail!r}) and no 13"
    )


def _no_revoke_text(msg: StatusMessage) -> str:
    return (
        f"status 13 for {msg.document_id} from {msg.recipient}: no revoke of it delivered to "
        f"that agency (detail {msg.detail!r}; expected 'revoke <id of a delivered revoke>')"
    )


_KIND_OF = {
    Violation.OUT_OF_ORDER: Kind.STATUS_OUT_OF_ORDER,
    Violation.AFTER_COMPLETED: Kind.STATUS_AFTER_COMPLETED,
    Violation.ANSWER_WITHOUT_RECALL: Kind.RECALL_ANSWER_WITHOUT_REQUEST,
    Violation.AGREED_AFTER_COMPLETED: Kind.RECALL_AGREED_AFTER_COMPLETED,
    Violation.AFTER_WITHDRAWN: Kind.STATUS_AFTER_WITHDRAWN,
}


def _violation_text(v: Violation, msg: StatusMessage) -> str:
    what = f"status {msg.code.value} for {msg.document_id} from {msg.recipient}"
    if v is Violation.OUT_OF_ORDER:
        return f"{what}: not the next step of its work record (03 -> 04 -> 05 -> 06)"
    if v is Violation.AFTER_COMPLETED:
        return f"{what}: after 06, only recall statuses may follow"
    if v is Violation.AGREED_AFTER_COMPLETED:
        return (
            f"{what}: a recall or update agreed for a completed record (06), which must "
            "refuse it (16)"
        )
    if v is Violation.AFTER_WITHDRAWN:
        return f"{what}: work after the record's recall was agreed (15)"
    return f"{what}: a recall answer with no recall request (13) before it, nor an update"
