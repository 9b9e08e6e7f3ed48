"""What a recipient needs from one delivery record, and its bookkeeping (no Kafka here).

`Arrival` is the part of an envelope a recipient uses, decoded once per distinct
record value (a document to twenty agencies arrives as twenty identical values,
so `ArrivalDecoder` caches by value). `Downtime` turns the directory's windows
(seconds after run start) into absolute microseconds per agency. `PendingOffsets`
tracks which consumed records are not finished yet (held by a downtime window or
waiting for their status 03), so the committed offset never passes one of them.
`InboxCounts` are the recipient's own counters beyond RunMetrics (leaks, malformed
records, statuses, per-agency deliveries), written next to them in the stats file.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from interchange.axis.directory import Directory
from interchange.errors import DecodeError, DirectoryError
from interchange.pki.verification import ROUTER_NODE_PREFIX
from interchange.routing.formats import EnvelopeTrust, read_content, verify_envelope
from interchange.routing.recent import RecentKeys
from interchange.wire import codec
from interchange.wire.model import BusinessType, Document, Priority, Secrecy, Tier
from interchange.workrecords.plan import WorkItem

DECODE_CACHE = 1024  # distinct record values remembered (recipients of one doc arrive together)
WORK_STATE_WINDOW = 200_000  # work records whose state (open/completed) a recall can ask
DUPLICATE_WINDOW = 50_000  # (document id, recipient) pairs remembered per tier
PRODUCER_NODE = "producer:"
EXTRAS_KEY = "recipients"  # key of InboxCounts in a recipients stats file


@dataclass(frozen=True, slots=True)
class Arrival:
    """The facts of one delivered envelope a recipient records (never the content)."""

    document_id: str
    sender: str
    sender_tier: Tier
    priority: Priority
    secrecy: Secrecy
    send_time_us: int  # intended send time (the latency origin)
    router_time_us: int | None  # the router hop of the trace, if any
    signature_ok: bool | None  # None: not re-verified at the recipient
    sent_time_us: int | None = None  # actual send: the producer hop (trace[0]), if any
    work: WorkItem | None = None  # what the work record's handling depends on
    recall_of: str | None = None  # a revoke (business type 1): the id of the document recalled
    update_of: str | None = None  # an update (business type 2): the id of the document updated


def _target(doc: Document, kind: BusinessType) -> str | None:
    """The document a revoke or an update (`kind`) acts on, for a `doc` of that kind."""
    return doc.business.target if doc.business_type is kind and doc.business else None


class ArrivalDecoder:
    """Strict decode (codec) of envelope + document, optionally re-verified; cached by value."""

    def __init__(
        self,
        directory: Directory,
        trust: EnvelopeTrust | None = None,
        cache_size: int = DECODE_CACHE,
    ) -> None:
        self._directory = directory
        self._trust = trust
        self.decode: Callable[[bytes], Arrival] = functools.lru_cache(maxsize=cache_size)(
            self._decode
        )

    def _decode(self, value: bytes) -> Arrival:
        """Raises DecodeError (bad bytes) or DirectoryError (sender of no known tier)."""
        envelope = codec.decode_envelope(value)
        doc = read_content(envelope)  # either content format (interchange/edxml)
        sender = doc.sender.id
        tier = self._directory.required_tier(sender)
        router_time = None
        for hop in reversed(envelope.trace):
            if hop.node.startswith(ROUTER_NODE_PREFIX):
                router_time = hop.time_us
                break
        trace = envelope.trace
        sent_time = trace[0].time_us if trace and trace[0].node.startswith(PRODUCER_NODE) else None
        ok = None
        if self._trust is not None:
            # judged when the axis received it (the router's hop), as the router judged it
            at = doc.send_time_us if router_time is None else router_time  # = judged_at
            ok = verify_envelope(envelope, sender, at, self._trust) is None
        return Arrival(
            doc.id,
            sender,
            tier,
            doc.priority,
            doc.secrecy,
            doc.send_time_us,
            router_time,
            ok,
            sent_time,
            WorkItem.of(doc),
            _target(doc, BusinessType.REVOKE),
            _target(doc, BusinessType.UPDATE),
        )

    def __call__(self, value: bytes | None) -> Arrival | None:
        """The arrival, or None when the record is malformed (counted by the caller)."""
        if not value:
            return None
        try:
            return self.decode(value)
        except (DecodeError, DirectoryError):
            return None


class WorkStates:
    """Open, registered or completed, per work record (document id, recipient): what a
    recall asks. Open: delivered, its 03 still to come; registered: 03 sent, no 06 yet.

    Bounded: the last `capacity` records opened; an older one is forgotten, and a recall
    of it gets no answer (docs/SIMULATE.md). A record whose recall was agreed is marked
    recalled: its handling stops (no further 04-06). Keys are kept as the process's own
    64-bit hash of the pair (about 90 bytes an entry instead of 320 with the two id
    strings, measured): two records colliding within the window is a 1 in 10^9 chance
    at its full 200,000 entries."""

    OPEN, REGISTERED, COMPLETED, RECALLED = "open", "registered", "completed", "recalled"

    def __init__(self, capacity: int = WORK_STATE_WINDOW) -> None:
        if capacity < 1:
            raise ValueError(f"work-state window must be at least 1, got {capacity}")
        self.capacity = capacity
        self._state: dict[int, str] = {}  # insertion order = age

    def get(self, key: tuple[str, str]) -> str | None:
        return self._state.get(hash(key))

    def set(self, key: tuple[str, str], state: str) -> None:
        h = hash(key)
        known = h in self._state
        self._state[h] = state
        if not known and len(self._state) > self.capacity:
            del self._state[next(iter(self._state))]

    def __len__(self) -> int:
        return len(self._state)


class RecentDeliveries(RecentKeys[tuple[str, str]]):
    """The last `capacity` (document id, recipient) pairs delivered: duplicate detection.

    Bounded so memory stays flat over any run: a pair older than the last `capacity`
    deliveries of the tier is forgotten, and a repeat of it would count as a new
    delivery. That is the documented window. Repeats come from redelivery after the
    last committed offset (commits run every second; a record is committed once its
    status 03 is out, at most ten accept delays later), so the window needs to cover
    a few seconds of one tier's deliveries: 50,000 is 8 s at 6,000 deliveries/s.
    """

    __slots__ = ()

    def __init__(self, capacity: int = DUPLICATE_WINDOW) -> None:
        super().__init__(capacity, "duplicate window")


class Downtime:
    """Absolute downtime windows (µs) per agency, once the run start is known."""

    def __init__(self, directory: Directory, agencies: Iterable[str]) -> None:
        self._relative = {
            a: tuple((w.start_s, w.duration_s) for w in directory.downtime_of(a)) for a in agencies
        }
        self._relative = {a: w for a, w in self._relative.items() if w}
        self._absolute: dict[str, tuple[tuple[int, int], ...]] = {}
        self.run_start_us: int | None = None

    @property
    def any(self) -> bool:
        return bool(self._relative)

    def start(self, run_start_us: int) -> None:
        self.run_start_us = run_start_us
        self._absolute = {
            a: tuple(
                (run_start_us + round(s * 1e6), run_start_us + round((s + d) * 1e6)) for s, d in w
            )
            for a, w in self._relative.items()
        }

    def down_until(self, agency: str, now_us: int) -> int | None:
        """End of the window covering `now_us` (windows chained back to back), or None."""
        windows = self._absolute.get(agency)
        if not windows:
            return None
        until = None
        moved = True
        while moved:
            moved = False
            for start, end in windows:
                t = now_us if until is None else until
                if start <= t < end:
                    until = end
                    moved = True
        return until


class PendingOffsets:
    """Per partition: offsets consumed but not finished, and the next offset to consume.

    Offsets of one partition are added in increasing order, so the oldest pending
    one is the first key of an insertion-ordered dict.
    """

    def __init__(self) -> None:
        self._pending: dict[Any, dict[int, None]] = {}
        self._next: dict[Any, int] = {}
        self._committed: dict[Any, int] = {}

    def consumed(self, tp: Any, offset: int) -> None:
        self._next[tp] = offset + 1

    def hold(self, tp: Any, offset: int) -> None:
        self._pending.setdefault(tp, {})[offset] = None

    def done(self, tp: Any, offset: int) -> None:
        pending = self._pending.get(tp)
        if pending is not None:
            pending.pop(offset, None)

    def count(self) -> int:
        return sum(len(p) for p in self._pending.values())

    def to_commit(self) -> dict[Any, int]:
        """Partition -> offset safe to commit, for partitions that moved since the last call."""
        out = {}
        for tp, nxt in self._next.items():
            pending = self._pending.get(tp)
            position = next(iter(pending)) if pending else nxt
            if self._committed.get(tp) != position:
                out[tp] = position
        return out

    def committed(self, positions: Mapping[Any, int]) -> None:
        self._committed.update(positions)

    def forget(self, tps: Iterable[Any]) -> None:
        for tp in tps:
            self._pending.pop(tp, None)
            self._next.pop(tp, None)
            self._committed.pop(tp, None)


@dataclass
class AgencyCounts:
    delivered: int = 0
    duplicates: int = 0
    leaks: int = 0


@dataclass
class InboxCounts:
    """A recipients process's own counters (summed across processes by `merge`)."""

    records: int = 0  # delivery records consumed
    malformed: int = 0  # not a strict envelope/document: counted, never delivered
    delivered: int = 0
    duplicates: int = 0
    redelivered: int = 0  # handled by the partition's previous owner, seen again (no new 01)
    leaks: int = 0  # delivered documents with secrecy above NONE: must stay 0
    held: int = 0  # deliveries delayed by a recipient downtime window (total)
    status_arrived: int = 0  # status 01 sent
    status_accepted: int = 0  # status 03 sent
    status_completed: int = 0  # status 06 sent (work records handled to the end)
    recall_agreed: int = 0  # status 15 sent (a revoke of an open work record)
    # registered (03 sent) and withdrawn by an agreed recall, so never a 06: counted at
    # the later of the two, so never ahead of status_accepted (simulate's open count)
    work_withdrawn: int = 0
    recall_refused: int = 0  # status 16 sent (a revoke of a completed work record)
    recall_unanswered: int = 0  # a revoke of a record this process does not know (window)
    update_agreed: int = 0  # status 15 sent (an update of an open work record)
    update_refused: int = 0  # status 16 sent (an update of a completed work record)
    update_unanswered: int = 0  # an update of a record unknown here, or withdrawn
    status_failed: int = 0  # status sends that failed
    ready: bool = False  # every tier consumer has its partitions
    by_agency: dict[str, AgencyCounts] = field(default_factory=dict)

    def agency(self, agency_id: str) -> AgencyCounts:
        counts = self.by_agency.get(agency_id)
        if counts is None:
            counts = self.by_agency[agency_id] = AgencyCounts()
        return counts

    def merge(self, other: InboxCounts) -> InboxCounts:
        for name in _SUMMED:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.ready = self.ready and other.ready
        for agency, c in other.by_agency.items():
            mine = self.agency(agency)
            mine.delivered += c.delivered
            mine.duplicates += c.duplicates
            mine.leaks += c.leaks
        return self

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: getattr(self, name) for name in _SUMMED}
        out["ready"] = self.ready
        out["by_agency"] = {
            a: {"delivered": c.delivered, "duplicates": c.duplicates, "leaks": c.leaks}
            for a, c in sorted(self.by_agency.items())
        }
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InboxCounts:
        out = cls()
        for name in _SUMMED:
            setattr(out, name, int(data.get(name, 0)))
        out.ready = bool(data.get("ready", False))
        for agency, c in data.get("by_agency", {}).items():
            out.by_agency[agency] = AgencyCounts(
                int(c.get("delivered", 0)), int(c.get("duplicates", 0)), int(c.get("leaks", 0))
            )
        return out


_SUMMED = (
    "records",
    "malformed",
    "delivered",
    "duplicates",
    "redelivered",
    "leaks",
    "held",
    "status_arrived",
    "status_accepted",
    "status_completed",
    "status_failed",
    "recall_agreed",
    "work_withdrawn",
    "recall_refused",
    "recall_unanswered",
    "update_agreed",
    "update_refused",
    "update_unanswered",
)
