"""The fate of one sent document, assembled from rejections and status messages. Pure.

`interchange send` feeds every rejection and status record it reads into a
`Fate`; records about other submissions are ignored, so the reader may start
anywhere before the send. A rejection is matched by the coordinates of the
submission it is about (topic, partition, offset), never by the document id
alone: a forged copy carrying this document's id is rejected under that id, and
that rejection is about the forger's record, not this one. Only a rejection
written before rejections carried coordinates (schema v1) falls back to the id.
Status messages are matched by document id: recipients send them only for
documents the router delivered, after the signature verified. A fate is settled when the
router rejected or excluded the whole document, or when every recipient is
accounted for: not connected, refused (02), or reached the wanted stage
(arrived: any status; acknowledged: 03-06).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from interchange.wire.model import ReasonCode, Rejection, StatusCode, StatusMessage
from interchange.workrecords.workflow import REVOKE_DETAIL, UPDATE_DETAIL

_RECALL = frozenset(
    {StatusCode.RECALL_REQUESTED, StatusCode.RECALL_AGREED, StatusCode.RECALL_REFUSED}
)
_ANSWERS = frozenset({StatusCode.RECALL_AGREED, StatusCode.RECALL_REFUSED})
ACKNOWLEDGING = frozenset(
    {StatusCode.ACCEPTED, StatusCode.ASSIGNED, StatusCode.IN_PROGRESS, StatusCode.COMPLETED}
)


class Until(enum.StrEnum):
    """How far `send` follows each recipient before it calls the document delivered."""

    ARRIVED = "arrived"  # status 01 (or any later status) from every recipient
    ACKNOWLEDGED = "acknowledged"  # 03, 04, 05 or 06 from every recipient


class Outcome(enum.StrEnum):
    """The verdict; `exit_code` is the `interchange send` exit status (docs/CONNECTOR.md)."""

    DELIVERED = "delivered"  # every recipient reached the wanted stage
    REJECTED = "rejected"  # the router rejected the whole document
    EXCLUDED = "excluded"  # classified: excluded by the router, only metadata recorded
    PARTIAL = "partial"  # settled, but some recipient is not connected or refused (02)
    TIMEOUT = "timeout"  # not settled within the timeout

    @property
    def exit_code(self) -> int:
        return {
            Outcome.DELIVERED: 0,
            Outcome.REJECTED: 1,
            Outcome.EXCLUDED: 1,
            Outcome.TIMEOUT: 3,
            Outcome.PARTIAL: 4,
        }[self]


@dataclass
class Fate:
    document_id: str
    recipients: tuple[str, ...]  # distinct, in --to order
    until: Until = Until.ACKNOWLEDGED
    rejection: Rejection | None = None
    not_connected: dict[str, Rejection] = field(default_factory=dict)
    statuses: dict[str, list[StatusMessage]] = field(default_factory=dict)
    # (topic, partition, offset) of the submitted record; None: match rejections by id
    source: tuple[str, int, int] | None = None
    # a revoke or an update: the document it acts on, and each recipient's answer about it
    # (13 then 15/16 for a revoke, 15/16 for an update, written for the target with detail
    # "<request> <this id>", docs/CONNECTOR.md section 10)
    recall_of: str | None = None
    recall: dict[str, StatusCode] = field(default_factory=dict)
    request: str = "revoke"  # or "update": the word the answers' detail starts with

    def concerns(self, rej: Rejection) -> bool:
        """The matching rule (docs/CONNECTOR.md): by the submission's coordinates when the
        rejection carries them, else (a v1 record) by document id."""
        if rej.located and self.source is not None:
            return (rej.topic, rej.partition, rej.offset) == self.source
        return rej.document_id == self.document_id

    def observe_rejection(self, rej: Rejection) -> str | None:
        """Take a rejection record; a line describing it if it is about this submission."""
        if not self.concerns(rej):
            return None
        if rej.recipient is not None:
            if rej.recipient in self.not_connected:
                return None
            self.not_connected[rej.recipient] = rej
            return f"{rej.reason.value.lower():<14} {rej.recipient}  ({rej.detail})"
        if self.rejection is not None:
            return None
        self.rejection = rej
        word = "excluded" if rej.reason is ReasonCode.CLASSIFIED else "rejected"
        return f"{word:<14} {rej.reason.value}  ({rej.detail})"

    def observe_status(self, msg: StatusMessage) -> str | None:
        """Take a status record; a line describing it if it is about this document, or a
        recall or update answer about its target."""
        if self.recall_of is not None and msg.document_id == self.recall_of:
            return self._recall_answer(msg)
        if msg.document_id != self.document_id:
            return None
        seen = self.statuses.setdefault(msg.recipient, [])
        if any(m.code is msg.code for m in seen):
            return None
        seen.append(msg)
        detail = f"  ({msg.detail})" if msg.detail else ""
        name = msg.code.name.lower().replace("_", " ")
        return f"status {msg.code.value:<7} {msg.recipient}  {name}{detail}"

    def _answer_detail(self) -> str:
        """The detail a recipient's answer about the target carries: names this request."""
        prefix = UPDATE_DETAIL if self.request == "update" else REVOKE_DETAIL
        return f"{prefix}{self.document_id}"

    def _recall_answer(self, msg: StatusMessage) -> str | None:
        if msg.code not in _RECALL or msg.detail != self._answer_detail():
            return None
        if msg.recipient not in self.recipients or self.recall.get(msg.recipient) is msg.code:
            return None
        if self.recall.get(msg.recipient) in _ANSWERS:
            return None  # answered already
        self.recall[msg.recipient] = msg.code
        name = msg.code.name.lower().replace("_", " ")
        if self.request != "revoke":  # 15/16 answer an update too (QCVN 102 codes)
            name = name.replace("recall", self.request)
        return f"status {msg.code.value:<7} {msg.recipient}  {name} ({self.recall_of})"

    def _reached(self, recipient: str) -> bool:
        codes = {m.code for m in self.statuses.get(recipient, [])}
        if self.until is Until.ARRIVED:
            return bool(codes - {StatusCode.REJECTED})
        return bool(codes & ACKNOWLEDGING)

    def _refused(self, recipient: str) -> bool:
        return any(m.code is StatusCode.REJECTED for m in self.statuses.get(recipient, []))

    @property
    def settled(self) -> bool:
        if self.rejection is not None:
            return True
        return all(
            r in self.not_connected or self._refused(r) or self._reached(r) for r in self.recipients
        )

    def outcome(self) -> Outcome:
        if self.rejection is not None:
            if self.rejection.reason is ReasonCode.CLASSIFIED:
                return Outcome.EXCLUDED
            return Outcome.REJECTED
        if not self.settled:
            return Outcome.TIMEOUT
        if all(self._reached(r) and not self._refused(r) for r in self.recipients):
            return Outcome.DELIVERED
        return Outcome.PARTIAL

    def summary(self) -> str:
        """One line: the outcome and who is where."""
        outcome = self.outcome()
        if self.rejection is not None:
            rej = self.rejection
            return f"{outcome.value}: {rej.reason.value} ({rej.detail})"
        parts = []
        for r in self.recipients:
            codes = ",".join(m.code.value for m in self.statuses.get(r, []))
            if r in self.not_connected:
                parts.append(f"{r} not connected")
            elif codes:
                parts.append(f"{r} {codes}")
            else:
                parts.append(f"{r} no status")
        line = f"{outcome.value}: " + "; ".join(parts)
        if self.recall_of is not None:
            answers = [f"{r} {c.value}" for r, c in self.recall.items() if c in _ANSWERS]
            label = "recall" if self.request == "revoke" else self.request
            line += f"; {label}: " + (", ".join(answers) if answers else "no answer yet")
        return line
