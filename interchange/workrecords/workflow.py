"""The workflow of work records as the status topic shows it (pure): funnel and invariants.

`WorkflowTally` reads status messages in topic order (per partition; every status of
one document travels on its sender's partition) and keeps, per work record
(document, recipient agency), the last step, the online flag and the deadline. It

* counts the funnel per (sender tier, recipient tier) into `WorkCell`s: records
  accepted (03), assigned (04), in progress (05), completed (06), online / paper /
  mode not stated, overdue (completed after the deadline, or open past it at
  `as_of_us`), and the recall statuses 13 / 15 / 16;
* returns the workflow invariant a status breaks, if any (`Violation`):
  work statuses in the order 01 -> 03 -> 04 -> 05 -> 06 without skipping a step
  (a repeat of the current step is a re-send, not a violation), nothing but a recall
  status after 06, a 15 or 16 only in answer to a request (a 13 before it, or an update
  of the document: the answer's detail names the update, `UPDATE_DETAIL`), no 15 for a
  completed record (its recall or update is refused, 16) unless it was redelivered since,
  and no 04-06 for a record withdrawn by an agreed recall (an agreed update withdraws
  nothing: the work goes on).

The live status reader and the audit both use it, so the report and `--compare` agree by
construction. Whether a status names a delivered document is for the caller to check
(the audit knows the deliveries; the live reader does not), and so is whether the update
an answer names was delivered to that agency with that document as its target.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from interchange.wire.model import StatusCode, StatusMessage, Tier
from interchange.workrecords.plan import open_overdue, overdue_at_completion

__all__ = [
    "REVOKE_DETAIL",
    "UPDATE_DETAIL",
    "WORK_FIELDS",
    "Violation",
    "WorkCell",
    "WorkflowTally",
    "answered_update",
]

# Position of each status in a record's life; a status may only move one step forward.
_STEP = {
    StatusCode.ARRIVED: 0,
    StatusCode.ACCEPTED: 1,
    StatusCode.ASSIGNED: 2,
    StatusCode.IN_PROGRESS: 3,
    StatusCode.COMPLETED: 4,
}
_RECALL = (StatusCode.RECALL_REQUESTED, StatusCode.RECALL_AGREED, StatusCode.RECALL_REFUSED)
# The detail of a 13/15/16 names the request it records or answers: "revoke <revoke id>"
# (13, then 15/16) or "update <update id>" (15/16 alone: no code records an update request).
REVOKE_DETAIL = "revoke "
UPDATE_DETAIL = "update "


def answered_update(msg: StatusMessage) -> str | None:
    """The id of the update a 15/16 answers (its detail names it), else None."""
    if msg.code in _RECALL[1:] and msg.detail.startswith(UPDATE_DETAIL):
        return msg.detail.removeprefix(UPDATE_DETAIL)
    return None


WORK_FIELDS = (
    "records",
    "assigned",
    "in_progress",
    "completed",
    "online",
    "paper",
    "mode_unknown",
    "overdue_completed",
    "overdue_open",
    "recall_requested",
    "recall_agreed",
    "recall_refused",
    "update_agreed",
    "update_refused",
    "redelivered",
)


class Violation(enum.StrEnum):
    """A workflow invariant a status breaks."""

    OUT_OF_ORDER = "STATUS_OUT_OF_ORDER"  # a step skipped or gone back
    AFTER_COMPLETED = "STATUS_AFTER_COMPLETED"  # a non-recall status after 06
    ANSWER_WITHOUT_RECALL = "RECALL_ANSWER_WITHOUT_REQUEST"  # 15/16: no 13 before, no update
    AGREED_AFTER_COMPLETED = "RECALL_AGREED_AFTER_COMPLETED"  # 15 for a record with its 06
    AFTER_WITHDRAWN = "STATUS_AFTER_WITHDRAWN"  # 04-06 after the record's recall was agreed


class WorkCell:
    """Funnel counters of the work records of one (sender tier, recipient tier) flow."""

    __slots__ = WORK_FIELDS

    def __init__(self) -> None:
        self.records = 0  # work records opened: first status 03
        self.assigned = 0  # 04
        self.in_progress = 0  # 05
        self.completed = 0  # 06
        self.online = 0  # records whose 03 says handled on the network
        self.paper = 0  # ... on paper
        self.mode_unknown = 0  # ... or says neither (no online flag)
        self.overdue_completed = 0  # 06 after the deadline
        self.overdue_open = 0  # no 06 and past the deadline at the end of observation
        self.recall_requested = 0  # 13
        self.recall_agreed = 0  # 15
        self.recall_refused = 0  # 16
        self.update_agreed = 0  # 15 answering an update (the record goes on, updated)
        self.update_refused = 0  # 16 answering an update (the record was completed)
        self.redelivered = 0  # records whose 01 came again (an at-least-once redelivery)

    def merge(self, other: WorkCell) -> None:
        for name in WORK_FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def to_dict(self) -> dict[str, int]:
        return {name: int(getattr(self, name)) for name in WORK_FIELDS}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WorkCell:
        cell = cls()
        for name in WORK_FIELDS:
            value = data.get(name, 0)
            if type(value) is not int or value < 0:
                raise ValueError(f"work: {name!r} must be a non-negative integer, got {value!r}")
            setattr(cell, name, value)
        return cell

    def __eq__(self, other: object) -> bool:
        return isinstance(other, WorkCell) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]


@dataclass(slots=True)
class _Record:
    flow: tuple[Tier, Tier]
    step: int = 0  # last step seen (_STEP), 0 = arrived or nothing yet
    online: bool | None = None
    due_us: int | None = None
    recall: bool = False  # a 13 was seen
    withdrawn: bool = False  # a 15 was seen: the record is recalled, its work stops
    arrived: bool = False  # a 01 was seen
    replaying: bool = False  # a 01 came again: steps already passed may come again


def _arrived(rec: _Record, cell: WorkCell) -> None:
    """A 01: the first opens nothing (03 does); a second one is a redelivery (at-least-once,
    e.g. a recipients process restarted before its commit): counted once, and the steps
    the record had passed may then come again."""
    if rec.arrived and not rec.replaying:
        rec.replaying = True
        cell.redelivered += 1
    rec.arrived = True


class WorkflowTally:
    """Per-record state and funnel counts; feed statuses in topic order with `observe`."""

    def __init__(self) -> None:
        self._records: dict[tuple[str, str], _Record] = {}
        self._cells: dict[tuple[Tier, Tier], WorkCell] = {}
        self.last_time_us = 0  # latest time of a status after 01: default "as of" for open records

    def _cell(self, flow: tuple[Tier, Tier]) -> WorkCell:
        cell = self._cells.get(flow)
        if cell is None:
            cell = self._cells[flow] = WorkCell()
        return cell

    def observe(
        self, msg: StatusMessage, sender_tier: Tier, recipient_tier: Tier
    ) -> Violation | None:
        """Count one status; return the invariant it breaks (then it is not counted)."""
        key = (msg.document_id, msg.recipient)
        rec = self._records.get(key)
        if rec is None:
            rec = self._records[key] = _Record((sender_tier, recipient_tier))
        code = msg.code
        if code is not StatusCode.ARRIVED:  # 01 is optional in the order: readers may skip it
            self.last_time_us = max(self.last_time_us, msg.time_us)
        cell = self._cell(rec.flow)
        if code is StatusCode.ARRIVED:
            _arrived(rec, cell)
            return None
        if code in _RECALL:
            if answered_update(msg) is not None:
                return _update_answer(rec, cell, code)
            return self._recall(rec, cell, code)
        step = _STEP.get(code)
        if step is None or step == rec.step or (rec.replaying and step < rec.step):
            # 02 (not a work step); a step sent again: an at-least-once re-send, or a
            # redelivered record going through the steps it had passed
            return None
        broken = _step_violation(rec, step)
        if broken is not None:
            return broken
        rec.step = step
        _count(cell, rec, msg)
        return None

    @staticmethod
    def _recall(rec: _Record, cell: WorkCell, code: StatusCode) -> Violation | None:
        if code is StatusCode.RECALL_REQUESTED:
            if not rec.recall:
                rec.recall = True
                cell.recall_requested += 1
            return None
        if not rec.recall:
            return Violation.ANSWER_WITHOUT_RECALL
        if code is StatusCode.RECALL_AGREED:
            if _completed_here(rec):
                return Violation.AGREED_AFTER_COMPLETED
            rec.withdrawn = True
            cell.recall_agreed += 1
        else:
            cell.recall_refused += 1
        return None

    def cells(self, as_of_us: int | None = None) -> Iterator[tuple[tuple[Tier, Tier], WorkCell]]:
        """Counters per flow, with open records past their deadline at `as_of_us` counted.

        Default `as_of_us`: the latest status time seen, so a replay long after the run
        counts what the run itself would have (the audit and the live report agree).
        """
        as_of = self.last_time_us if as_of_us is None else as_of_us
        open_late: dict[tuple[Tier, Tier], int] = {}
        completed = _STEP[StatusCode.COMPLETED]
        for rec in self._records.values():
            if 0 < rec.step < completed and open_overdue(rec.due_us, as_of):
                open_late[rec.flow] = open_late.get(rec.flow, 0) + 1
        for flow, cell in self._cells.items():
            out = WorkCell()
            out.merge(cell)
            out.overdue_open = open_late.get(flow, 0)
            yield flow, out


def _update_answer(rec: _Record, cell: WorkCell, code: StatusCode) -> Violation | None:
    """A 15/16 answering an update: its request is the update document itself (no 13);
    agreed only while the record is not completed, and it withdraws nothing."""
    if code is StatusCode.RECALL_AGREED:
        if _completed_here(rec):
            return Violation.AGREED_AFTER_COMPLETED
        cell.update_agreed += 1
    else:
        cell.update_refused += 1
    return None


def _completed_here(rec: _Record) -> bool:
    """The record's 06 is out, as the process answering a recall or update knew it. After
    a redelivery (a second 01) the record is handled again by a process that cannot know
    about an earlier 06, so its answer follows that new handling (at-least-once)."""
    return rec.step == _STEP[StatusCode.COMPLETED] and not rec.replaying


def _step_violation(rec: _Record, step: int) -> Violation | None:
    """The invariant a work step (03-06, not a re-send) breaks, given its record's state."""
    if rec.step == _STEP[StatusCode.COMPLETED]:
        return Violation.AFTER_COMPLETED
    if rec.withdrawn and step > _STEP[StatusCode.ACCEPTED] and not rec.replaying:
        return Violation.AFTER_WITHDRAWN
    if step != rec.step + 1:
        return Violation.OUT_OF_ORDER
    return None


def _count(cell: WorkCell, rec: _Record, msg: StatusMessage) -> None:
    """Count a status that moved its record one step forward."""
    code = msg.code
    if code is StatusCode.ACCEPTED:
        cell.records += 1
        rec.online, rec.due_us = msg.online, msg.due_us
        if msg.online is None:
            cell.mode_unknown += 1
        elif msg.online:
            cell.online += 1
        else:
            cell.paper += 1
    elif code is StatusCode.ASSIGNED:
        cell.assigned += 1
    elif code is StatusCode.IN_PROGRESS:
        cell.in_progress += 1
    elif code is StatusCode.COMPLETED:
        cell.completed += 1
        if overdue_at_completion(msg.time_us, rec.due_us):
            cell.overdue_completed += 1
