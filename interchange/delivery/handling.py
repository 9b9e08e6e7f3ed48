"""A delivered record's handling at its recipient: which statuses it sends, and when.

No Kafka here: the recipients stage (`recipient.Recipients`) turns each delivery record
into an `Item` and hands it over, `deliver` now or `hold` until the agency's downtime
window ends, and calls `fire` after each poll; every status goes out through the `send`
function the stage gives (key, value, headers), and a record is marked finished in the
stage's `PendingOffsets` once its 03 is out (the commit may pass it then).

For each delivered record: a repeat of (document id, recipient) within the tier's
duplicate window is a duplicate (counted, not handled again); otherwise latency is
recorded (not for a redelivery), status 01 goes out, the work record is planned
(`workrecords.plan`, from the record's own draws) and its 03 scheduled after the
registration delay, then 04-06 at the plan's intervals, on a timer heap (not a sleep).
A revoke is the recall request of its target's record here (13, then 15 or 16), an
update is answered 15 or 16, from `WorkStates`. Details: docs/SIMULATE.md.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from interchange.clock import now_us
from interchange.delivery.state import (
    DUPLICATE_WINDOW,
    Arrival,
    InboxCounts,
    PendingOffsets,
    RecentDeliveries,
    WorkStates,
)
from interchange.metrics.run import RunMetrics
from interchange.wire import codec, status_values
from interchange.wire.model import DocumentType, StaffInfo, StatusCode, StatusMessage, Tier
from interchange.workrecords import plan as workrecord
from interchange.workrecords.plan import (
    DEFAULT_WORK_SETTINGS,
    RecordDraws,
    WorkItem,
    WorkPlan,
    WorkSettings,
)
from interchange.workrecords.workflow import REVOKE_DETAIL, UPDATE_DETAIL

RELEASE, STEP = 0, 1  # the kinds of timer: a held record's release, a work-record step
# the "code" header of each status, encoded once (five statuses per delivery)
_CODE_HEADERS = {c: ("code", c.value.encode()) for c in StatusCode}

Headers = list[tuple[str, bytes]]
SendStatus = Callable[[bytes, bytes, Headers], None]  # (key, value, headers) -> queued


@dataclass(frozen=True, slots=True)
class Item:
    """One delivery record being handled: where it came from and what it carries."""

    tp: Any
    offset: int
    tier: Tier
    recipient: str
    arrival: Arrival
    redelivery: bool = False  # at or below the handled mark a previous owner saved


@dataclass(slots=True)
class Timer:
    """A release, or a work-record step, due at `due`. The heap holds (due, seq, timer):
    tuples compare in C, where a `__lt__` was a Python call per comparison (a push and a
    pop on a 15,000-timer heap 1.37 -> 0.96 µs, measured; five per delivery)."""

    due: int
    seq: int
    kind: int
    item: Item
    plan: WorkPlan | None = None
    step: int = 0  # index of the plan's step this timer sends
    # a work record's timer is the record's own for all its steps (pushed again for each),
    # with what every one of its statuses shares, made once (status_values)
    key: bytes = b""  # the original sender: the status's key
    head: bytes = b""  # the status value's first fields
    sent: tuple[str, bytes] = ("send-time-us", b"")  # the header of the intended send time
    staff: StaffInfo | None = None  # the official `tail` was made for
    tail: bytes = b""  # the status value's last fields for `staff`


class Handling:
    """The handling of every record a recipients process delivers, on one timer heap.

    Not thread-safe: the stage calls it under its own lock."""

    def __init__(
        self,
        tiers: Iterable[Tier],
        send: SendStatus,
        counts: InboxCounts,
        metrics: RunMetrics,
        pending: PendingOffsets,
        *,
        seed: int = 0,
        accept_delay_s: float = 0.1,
        duplicate_window: int = DUPLICATE_WINDOW,
        work: WorkSettings = DEFAULT_WORK_SETTINGS,
    ) -> None:
        self._send = send
        self.counts = counts
        self.metrics = metrics
        self.pending = pending
        self._seed = seed
        self._accept_delay_s = accept_delay_s
        self._work = work
        self.seen = {t: RecentDeliveries(duplicate_window) for t in tiers}
        self.timers: list[tuple[int, int, Timer]] = []  # a heap of (due, seq, timer)
        self.work_states = WorkStates()
        self._seq = 0

    def next_due(self) -> int | None:
        """When the earliest timer is due (µs), or None when none is pending."""
        return self.timers[0][0] if self.timers else None

    def held_now(self) -> int:
        """Records waiting for their agency's downtime window to end."""
        return sum(1 for _, _, t in self.timers if t.kind == RELEASE)

    def hold(self, item: Item, until: int) -> None:
        """Deliver `item` at `until` (its agency is down until then); unfinished meanwhile."""
        self.counts.held += 1
        self.pending.hold(item.tp, item.offset)
        self._push(until, RELEASE, item)

    def forget(self, tps: set[Any]) -> None:
        """Drop the timers of partitions this process no longer owns."""
        self.timers = [e for e in self.timers if e[2].item.tp not in tps]
        heapq.heapify(self.timers)

    def deliver(self, item: Item, at: int) -> None:
        """Deliver `item` at `at`: a duplicate is only counted; otherwise its latency (not
        for a redelivery), its 01, its plan, any recall or update answer, its 03's timer."""
        a, recipient, tier = item.arrival, item.recipient, item.tier
        key = (a.document_id, recipient)
        counts = self.counts
        seen = self.seen[tier]
        if key in seen:
            if item.redelivery:  # counted as a redelivery already, not also as a duplicate
                self.pending.done(item.tp, item.offset)
                return
            self.metrics.record_duplicate(a.sender_tier, tier, a.priority)
            counts.duplicates += 1
            counts.agency(recipient).duplicates += 1
            self.pending.done(item.tp, item.offset)
            return
        seen.add(key)
        if not item.redelivery:
            self._count_delivery(a, tier, recipient, at)
        # what every status of this record shares, made once (status_values)
        sender = a.sender.encode()
        head = status_values.head(a.document_id, a.sender, recipient)
        sent = ("send-time-us", b"%d" % a.send_time_us)
        arrived = status_values.value(head, StatusCode.ARRIVED, at, status_values.NO_WORK)
        self._send(sender, arrived, [_CODE_HEADERS[StatusCode.ARRIVED], sent])
        counts.status_arrived += 1
        self.pending.hold(item.tp, item.offset)
        work = a.work or WorkItem(a.priority, DocumentType.OFFICIAL_LETTER, None)
        # the record's own draws: its handling does not depend on the arrival order
        draws = RecordDraws(self._seed, a.document_id, recipient)
        plan = workrecord.plan(
            work, tier, draws, at, send_time_us=a.send_time_us, settings=self._work
        )
        self.work_states.set(key, WorkStates.OPEN)
        if a.recall_of is not None:
            self._recall(a, a.recall_of, recipient, at)
        elif a.update_of is not None:
            self._update(a, a.update_of, recipient, at)
        # 03 after the registration delay (--accept-delay, real seconds); 04-06 follow at
        # the plan's own intervals from the actual 03
        delay = min(draws.expovariate(1.0), 10.0) * self._accept_delay_s
        timer = Timer(0, 0, STEP, item, plan, 0, sender, head, sent)
        self._schedule(timer, at + round(delay * 1e6))

    def _count_delivery(self, a: Arrival, tier: Tier, recipient: str, at: int) -> None:
        """Latency and the delivery counters: once per record, never for a redelivery."""
        counts = self.counts
        router, sent = a.router_time_us, a.sent_time_us
        self.metrics.record_delivery(
            a.sender_tier,
            tier,
            a.priority,
            at - a.send_time_us,
            before_router_us=None if router is None else router - a.send_time_us,
            after_router_us=None if router is None else at - router,
            from_send_us=None if sent is None else at - sent,
            reverified=a.signature_ok,
        )
        counts.delivered += 1
        agency = counts.agency(recipient)
        agency.delivered += 1
        if a.secrecy.classified:
            counts.leaks += 1
            agency.leaks += 1

    def _recall(self, a: Arrival, target: str, recipient: str, at: int) -> None:
        """The revoke `a` recalls `target`: 13 for the target's record here, then 15 while
        it is open (the record is withdrawn) or 16 once it is completed. No answer for a
        record this process does not know (never delivered here, or beyond the window),
        nor again for one already withdrawn (one 13 and one answer per record). A record
        withdrawn before its 03 counts as withdrawn when that 03 goes out (`_work_step`)."""
        key = (target, recipient)
        state = self.work_states.get(key)
        if state is None or state == WorkStates.RECALLED:  # unknown here, or answered before
            self.counts.recall_unanswered += 1
            return
        why = f"{REVOKE_DETAIL}{a.document_id}"
        self._status(a, recipient, StatusCode.RECALL_REQUESTED, at, about=target, detail=why)
        if state in (WorkStates.OPEN, WorkStates.REGISTERED):
            self.work_states.set(key, WorkStates.RECALLED)
            self._status(a, recipient, StatusCode.RECALL_AGREED, at, about=target, detail=why)
            self.counts.recall_agreed += 1
            if state == WorkStates.REGISTERED:
                self.counts.work_withdrawn += 1
        else:  # completed (06 sent): nothing left to withdraw
            self._status(a, recipient, StatusCode.RECALL_REFUSED, at, about=target, detail=why)
            self.counts.recall_refused += 1

    def _update(self, a: Arrival, target: str, recipient: str, at: int) -> None:
        """The update `a` of `target`: 15 while the target's record here is open (it goes
        on, updated), 16 once it is completed; no answer for a record this process does not
        know, or one withdrawn by an agreed recall (nothing left to update)."""
        state = self.work_states.get((target, recipient))
        if state is None or state == WorkStates.RECALLED:
            self.counts.update_unanswered += 1
            return
        why = f"{UPDATE_DETAIL}{a.document_id}"
        if state in (WorkStates.OPEN, WorkStates.REGISTERED):
            self._status(a, recipient, StatusCode.RECALL_AGREED, at, about=target, detail=why)
            self.counts.update_agreed += 1
        else:
            self._status(a, recipient, StatusCode.RECALL_REFUSED, at, about=target, detail=why)
            self.counts.update_refused += 1

    def _status(
        self,
        a: Arrival,
        recipient: str,
        code: StatusCode,
        at: int,
        *,
        about: str,
        detail: str,
    ) -> None:
        """Queue one recall or update answer (01 and 03-06 are made from their parts in
        `deliver` and `_work_step`). `about`: the document it concerns (the target)."""
        message = StatusMessage(about, a.sender, recipient, code, at, detail)
        value = codec.encode_status(message)
        headers = [_CODE_HEADERS[code], ("send-time-us", b"%d" % a.send_time_us)]
        self._send(a.sender.encode(), value, headers)

    # -- timers --------------------------------------------------------------------------

    def _push(self, due: int, kind: int, item: Item) -> None:
        self._schedule(Timer(due, 0, kind, item), due)

    def _schedule(self, timer: Timer, due: int) -> None:
        self._seq += 1
        timer.due, timer.seq = due, self._seq
        heapq.heappush(self.timers, (due, self._seq, timer))

    def fire(self, now: int, *, accept_all: bool = False, only: set[Any] | None = None) -> None:
        """Run due timers. `accept_all` (stop, revocation) sends every pending 03 now, so its
        record's offset can be committed; later work steps are left open (their time has not
        come): a stopping process never sends them, and those of a revoked partition are kept
        here only until `forget` drops them (docs/SIMULATE.md, "Work records")."""
        keep = []
        while self.timers and (accept_all or self.timers[0][0] <= now):
            t = heapq.heappop(self.timers)[2]
            item = t.item
            due = t.due <= now
            if only is not None and item.tp not in only:
                keep.append(t)
            elif t.kind == STEP and (due or t.step == 0):
                self._work_step(t, now_us())
            elif t.kind == RELEASE and due:  # the downtime window ended: deliver now
                self.deliver(item, now_us())
            elif only is not None or t.kind == RELEASE:
                keep.append(t)  # a held record stays unfinished (not committed)
        for t in keep:
            heapq.heappush(self.timers, (t.due, t.seq, t))

    def _work_step(self, t: Timer, at: int) -> None:
        """Send step `t.step` of the record's plan; schedule the next at the plan's interval."""
        plan, item = t.plan, t.item
        assert plan is not None
        step = plan.steps[t.step]
        key = (item.arrival.document_id, item.recipient)
        state = self.work_states.get(key)
        recalled = state == WorkStates.RECALLED
        if recalled and t.step > 0:  # withdrawn: handling stops (its 03, registration, is sent)
            return
        if step.staff is not t.staff:  # the clerk's 03, then the handler's 04-06
            t.staff = step.staff
            t.tail = status_values.tail(step.staff, plan.online, plan.deadline_us)
        # sent at `at`, the step's actual time
        value = status_values.value(t.head, step.code, at, t.tail)
        self._send(t.key, value, [_CODE_HEADERS[step.code], t.sent])
        if t.step == 0:
            self.counts.status_accepted += 1
            self.pending.done(item.tp, item.offset)  # registered: the record is received
            if recalled:  # withdrawn before its 03: registered and withdrawn now
                self.counts.work_withdrawn += 1
                return
            if state == WorkStates.OPEN:  # (a record beyond the window stays unknown)
                self.work_states.set(key, WorkStates.REGISTERED)
        if t.step + 1 < len(plan.steps):
            gap = plan.steps[t.step + 1].at_us - step.at_us
            t.step += 1
            self._schedule(t, at + gap)
        else:
            self.counts.status_completed += 1
            self.work_states.set(key, WorkStates.COMPLETED)
