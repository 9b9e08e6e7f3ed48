"""Run metrics: outcome counters and latency histograms, mergeable across processes.

Every stage records what it alone can see (the producer: addressed and schedule
lag; the router: exclusions, rejections, unconnected recipients; recipients:
deliveries and latencies; the sender's status reader: acknowledgements), writes
its `RunMetrics` as a stats file, and `read_stats` merges them. Counts are per
recipient: a document to three agencies is addressed three times, so per tier
`addressed = delivered + excluded + rejected + not connected` once the run is drained.

Keys are `(sender tier, recipient tier, priority)` everywhere (one order, "from -> to").
The recording methods are the hot path (a recipient calls `record_delivery` thousands of
times a second): plain tuple keys, slotted counters, histograms created lazily.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interchange.atomic import atomic_write_text
from interchange.errors import ConfigError
from interchange.metrics.histogram import LatencyHistogram
from interchange.wire.model import Priority, ReasonCode, Tier
from interchange.workrecords.workflow import WorkCell

__all__ = [
    "STATS_SCHEMA_VERSION",
    "Cell",
    "FlowKey",
    "LatencyHistogram",
    "RunMetrics",
    "read_stats",
    "write_stats",
]

STATS_SCHEMA_VERSION = 1

FlowKey = tuple[Tier, Tier, Priority]  # (sender tier, recipient tier, priority)
TierPair = tuple[Tier, Tier]  # (sender tier, recipient tier)

_TIER_ORDER = {t: i for i, t in enumerate(Tier)}


class Cell:
    """Outcome counters of one (sender tier, recipient tier, priority) flow, per recipient."""

    __slots__ = (
        "addressed",
        "delivered",
        "duplicates",
        "excluded",
        "not_connected",
        "rejected",
        "signature_invalid",
        "signature_reverified",
    )

    def __init__(self) -> None:
        self.addressed = 0
        self.delivered = 0  # first deliveries only; repeats go to `duplicates`
        self.duplicates = 0
        self.excluded = 0  # classified: never travels, only the fact is recorded
        self.not_connected = 0
        self.rejected: dict[ReasonCode, int] = {}  # every reason except the two above
        self.signature_reverified = 0  # deliveries whose signature was re-checked end to end
        self.signature_invalid = 0  # ... and failed that check

    def merge(self, other: Cell) -> None:
        self.addressed += other.addressed
        self.delivered += other.delivered
        self.duplicates += other.duplicates
        self.excluded += other.excluded
        self.not_connected += other.not_connected
        self.signature_reverified += other.signature_reverified
        self.signature_invalid += other.signature_invalid
        for reason, n in other.rejected.items():
            self.rejected[reason] = self.rejected.get(reason, 0) + n

    def to_dict(self) -> dict[str, Any]:
        return {
            "addressed": self.addressed,
            "delivered": self.delivered,
            "duplicates": self.duplicates,
            "excluded_classified": self.excluded,
            "not_connected": self.not_connected,
            "rejected": {r.value: self.rejected[r] for r in ReasonCode if self.rejected.get(r)},
            "signature_reverified": self.signature_reverified,
            "signature_invalid": self.signature_invalid,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Cell:
        cell = cls()
        cell.addressed = _count(data, "addressed")
        cell.delivered = _count(data, "delivered")
        cell.duplicates = _count(data, "duplicates")
        cell.excluded = _count(data, "excluded_classified")
        cell.not_connected = _count(data, "not_connected")
        cell.signature_reverified = _count(data, "signature_reverified")
        cell.signature_invalid = _count(data, "signature_invalid")
        rejected = data.get("rejected", {})
        if not isinstance(rejected, dict):
            raise ConfigError("stats: 'rejected' must be an object")
        for name in rejected:
            cell.rejected[_enum(ReasonCode, name)] = _count(rejected, name)
        return cell

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Cell) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class _HistFamily:
    """Name in JSON and key arity of one histogram family."""

    name: str
    key_fields: tuple[str, ...]


_FAMILIES = (
    _HistFamily("delivery", ("sender_tier", "recipient_tier", "priority")),
    _HistFamily("before_router", ("sender_tier", "recipient_tier")),
    _HistFamily("after_router", ("sender_tier", "recipient_tier")),
    _HistFamily("ack", ("sender_tier", "recipient_tier")),
    _HistFamily("schedule_lag", ("sender_tier",)),
    # Added within schema_version 1: files written before it simply have no rows.
    _HistFamily("from_send", ("sender_tier", "recipient_tier")),
)


class RunMetrics:
    """All counters and histograms of a run (or of one process of it).

    Not thread-safe: give each thread its own RunMetrics and `merge` them when writing.

    Histogram families (values in µs):
      delivery       end to end, intended send time -> recipient, per (sender, recipient, priority)
      before_router  intended send time -> router decision hop, per (sender, recipient)
      after_router   router decision hop -> recipient, per (sender, recipient)
      ack            intended send time -> status 03 back at the sender, per (sender, recipient)
      schedule_lag   actual send - intended send at the producer, per sender tier
      from_send      actual send (the producer hop, trace[0]) -> recipient, per (sender,
                     recipient): end to end without the publish delay, as OpenMessaging
                     Benchmark reports it
    """

    __slots__ = ("_hists", "cells", "work")

    def __init__(self) -> None:
        self.cells: dict[FlowKey, Cell] = {}
        # Work-record funnel per (sender tier, recipient tier), from the status topic
        # (workrecords.workflow.WorkflowTally); added within schema_version 1, absent in
        # older files.
        self.work: dict[TierPair, WorkCell] = {}
        self._hists: dict[str, dict[tuple[Any, ...], LatencyHistogram]] = {
            f.name: {} for f in _FAMILIES
        }

    # -- recording (hot path) ---------------------------------------------------------

    def _cell(self, key: FlowKey) -> Cell:
        cell = self.cells.get(key)
        if cell is None:
            cell = self.cells[key] = Cell()
        return cell

    def _hist(self, family: str, key: tuple[Any, ...]) -> LatencyHistogram:
        table = self._hists[family]
        hist = table.get(key)
        if hist is None:
            hist = table[key] = LatencyHistogram()
        return hist

    def record_addressed(
        self, sender: Tier, recipient: Tier, priority: Priority, n: int = 1
    ) -> None:
        """A document was addressed to `n` recipients of `recipient` tier (producer side)."""
        self._cell((sender, recipient, priority)).addressed += n

    def record_excluded(
        self, sender: Tier, recipient: Tier, priority: Priority, n: int = 1
    ) -> None:
        """A classified document was excluded for `n` recipients of this tier (router)."""
        self._cell((sender, recipient, priority)).excluded += n

    def record_rejected(
        self, sender: Tier, recipient: Tier, priority: Priority, reason: ReasonCode, n: int = 1
    ) -> None:
        """A submission was rejected for `n` recipients of this tier.

        CLASSIFIED and NOT_CONNECTED are routed to their own counters, so a router can
        pass every Rejection's reason here without a branch.
        """
        if reason is ReasonCode.CLASSIFIED:
            self.record_excluded(sender, recipient, priority, n)
        elif reason is ReasonCode.NOT_CONNECTED:
            self._cell((sender, recipient, priority)).not_connected += n
        else:
            rejected = self._cell((sender, recipient, priority)).rejected
            rejected[reason] = rejected.get(reason, 0) + n

    def record_delivery(
        self,
        sender: Tier,
        recipient: Tier,
        priority: Priority,
        latency_us: int,
        *,
        before_router_us: int | None = None,
        after_router_us: int | None = None,
        from_send_us: int | None = None,
        reverified: bool | None = None,
    ) -> None:
        """One first delivery at a recipient.

        `reverified`: None when the signature was not re-checked at the recipient (the
        router's verification stands), True/False for the result of an end-to-end check.
        """
        key = (sender, recipient, priority)
        cell = self.cells.get(key)
        if cell is None:
            cell = self._cell(key)
        cell.delivered += 1
        if reverified is not None:
            cell.signature_reverified += 1
            if not reverified:
                cell.signature_invalid += 1
        hists = self._hists
        hist = hists["delivery"].get(key)
        if hist is None:
            hist = self._hist("delivery", key)
        hist.record(latency_us)
        if before_router_us is not None:
            self._hist("before_router", (sender, recipient)).record(before_router_us)
        if after_router_us is not None:
            self._hist("after_router", (sender, recipient)).record(after_router_us)
        if from_send_us is not None:
            self._hist("from_send", (sender, recipient)).record(from_send_us)

    def record_duplicate(self, sender: Tier, recipient: Tier, priority: Priority) -> None:
        """A document arrived again at a recipient that already had it (not a delivery)."""
        self._cell((sender, recipient, priority)).duplicates += 1

    def record_ack(self, sender: Tier, recipient: Tier, latency_us: int) -> None:
        """Status 03 (accepted) came back to the sender `latency_us` after the intended send."""
        self._hist("ack", (sender, recipient)).record(latency_us)

    def record_work(self, sender: Tier, recipient: Tier, cell: WorkCell) -> None:
        """Add the work-record funnel counts of one flow (a WorkflowTally's output)."""
        self.work.setdefault((sender, recipient), WorkCell()).merge(cell)

    def record_schedule_lag(self, sender: Tier, lag_us: int) -> None:
        """The producer sent `lag_us` after the intended send time (open-loop honesty)."""
        self._hist("schedule_lag", (sender,)).record(lag_us)

    # -- reading ----------------------------------------------------------------------

    def histograms(self, family: str) -> Mapping[tuple[Any, ...], LatencyHistogram]:
        """Read-only view of one histogram family (see the class docstring)."""
        return self._hists[family]

    def merged_histogram(
        self, family: str, predicate: Callable[[tuple[Any, ...]], bool] | None = None
    ) -> LatencyHistogram:
        """One histogram adding every key of `family` for which `predicate(key)` is true."""
        out = LatencyHistogram()
        for key, hist in self._hists[family].items():
            if predicate is None or predicate(key):
                out.merge(hist)
        return out

    def flows(self) -> Iterator[tuple[FlowKey, Cell]]:
        """Cells in a stable order: sender tier, recipient tier, priority."""
        yield from sorted(self.cells.items(), key=lambda kv: _key_order(kv[0]))

    # -- merging and transport --------------------------------------------------------

    def merge(self, other: RunMetrics) -> RunMetrics:
        """Add `other` into this object (in place) and return self."""
        for key, cell in other.cells.items():
            self._cell(key).merge(cell)
        for pair, wcell in other.work.items():
            self.record_work(pair[0], pair[1], wcell)
        for family, table in other._hists.items():
            for key, hist in table.items():
                self._hist(family, key).merge(hist)
        return self

    def to_dict(self) -> dict[str, Any]:
        """Stable JSON form (sorted keys; histograms HDR-encoded). See docs/REPORT.md."""
        cells = []
        for (s, r, p), cell in self.flows():
            cells.append(
                {"sender_tier": s.value, "recipient_tier": r.value, "priority": p.name}
                | cell.to_dict()
            )
        hists: dict[str, list[dict[str, Any]]] = {}
        for fam in _FAMILIES:
            rows = []
            for key, hist in sorted(
                self._hists[fam.name].items(), key=lambda kv: _key_order(kv[0])
            ):
                row: dict[str, Any] = {
                    name: (v.name if isinstance(v, Priority) else v.value)
                    for name, v in zip(fam.key_fields, key, strict=True)
                }
                row |= {"count": hist.count, "clamped": hist.clamped, "hdr": hist.encode()}
                rows.append(row)
            hists[fam.name] = rows
        work = [
            {"sender_tier": s.value, "recipient_tier": r.value} | wc.to_dict()
            for (s, r), wc in sorted(self.work.items(), key=lambda kv: _key_order(kv[0]))
        ]
        return {
            "schema_version": STATS_SCHEMA_VERSION,
            "cells": cells,
            "histograms": hists,
            "work": work,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunMetrics:
        """Inverse of `to_dict`; ConfigError on anything malformed."""
        if not isinstance(data, Mapping) or data.get("schema_version") != STATS_SCHEMA_VERSION:
            raise ConfigError(f"stats: expected schema_version {STATS_SCHEMA_VERSION}")
        out = cls()
        try:
            for row in data["cells"]:
                key = (
                    _enum(Tier, row["sender_tier"]),
                    _enum(Tier, row["recipient_tier"]),
                    _priority(row["priority"]),
                )
                out._cell(key).merge(Cell.from_dict(row))
            for fam in _FAMILIES:
                for row in data["histograms"].get(fam.name, []):
                    hkey = tuple(
                        _priority(row[f]) if f == "priority" else _enum(Tier, row[f])
                        for f in fam.key_fields
                    )
                    hist = LatencyHistogram.decode(row["hdr"])
                    hist.clamped = _count(row, "clamped")
                    out._hist(fam.name, hkey).merge(hist)
            for row in data.get("work", ()):
                out.record_work(
                    _enum(Tier, row["sender_tier"]),
                    _enum(Tier, row["recipient_tier"]),
                    WorkCell.from_dict(row),
                )
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ConfigError(f"stats: malformed ({exc!r})") from exc
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunMetrics) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]


def write_stats(path: Path, metrics: RunMetrics) -> None:
    """Write `metrics` as JSON atomically (temp file in the same directory, then rename).

    Readers polling the file never see a partial write.
    """
    text = json.dumps(metrics.to_dict(), sort_keys=True, separators=(",", ":"))
    atomic_write_text(Path(path), text)


def read_stats(paths: Iterable[Path], *, missing_ok: bool = False) -> RunMetrics:
    """Merge the stats files at `paths`; ConfigError if one is unreadable or malformed.

    `missing_ok` skips files not written yet (a process that has not reported).
    """
    out = RunMetrics()
    for p in paths:
        try:
            text = Path(p).read_text(encoding="utf-8")
        except FileNotFoundError:
            if missing_ok:
                continue
            raise ConfigError(f"stats file not found: {p}") from None
        except OSError as exc:
            raise ConfigError(f"cannot read stats file {p}: {exc}") from exc
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"stats file {p} is not JSON: {exc}") from exc
        try:
            out.merge(RunMetrics.from_dict(data))
        except ConfigError as exc:
            raise ConfigError(f"{p}: {exc}") from exc
    return out


def _key_order(key: tuple[Any, ...]) -> tuple[int, ...]:
    return tuple(_TIER_ORDER[k] if isinstance(k, Tier) else int(k) for k in key)


def _count(data: Mapping[str, Any], name: str) -> int:
    value = data.get(name, 0)
    if type(value) is not int or value < 0:
        raise ConfigError(f"stats: {name!r} must be a non-negative integer, got {value!r}")
    return value


def _enum(kind: Any, value: Any) -> Any:
    try:
        return kind(value)
    except ValueError as exc:
        raise ConfigError(f"stats: unknown {kind.__name__} {value!r}") from exc


def _priority(value: Any) -> Priority:
    if isinstance(value, str) and value in Priority.__members__:
        return Priority[value]
    raise ConfigError(f"stats: unknown priority {value!r}")
