"""Per-agency accounting of a run: addressed = delivered + excluded + rejected + not connected.

The tier counts in RunMetrics come from three kinds of process; this ledger checks the
same identity for every recipient agency from independent sources:

* addressed, and the expected outcome, per agency: the planned stream regenerated
  from the seed (`workload.generator.generate` is pure), as the producer sent it (a
  classified document withheld at the source is counted in `withheld` only);
* delivered: the recipients' per-agency counters (stats files);
* excluded, rejected, not connected: the rejection records on the rejections topic,
  attributed to the document's recipients by document id (NOT_CONNECTED names its
  recipient). MALFORMED submissions are left out on both sides: their bytes name
  no one, and the producer does not count them as addressed either.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from interchange.axis.directory import Directory
from interchange.errors import DecodeError
from interchange.kafka.topics import layout_of
from interchange.settings import Settings
from interchange.wire import codec
from interchange.wire.model import ReasonCode, Rejection
from interchange.workload.faults import Fault
from interchange.workload.generator import Planned, WorkloadSpec, generate


@dataclass
class AgencyLedger:
    tier: str
    addressed: int = 0
    expected_delivered: int = 0
    delivered: int = 0
    excluded: int = 0
    rejected: int = 0
    not_connected: int = 0

    @property
    def unaccounted(self) -> int:
        return self.addressed - (
            self.delivered + self.excluded + self.rejected + self.not_connected
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "tier": self.tier,
            "addressed": self.addressed,
            "expected_delivered": self.expected_delivered,
            "delivered": self.delivered,
            "excluded_classified": self.excluded,
            "rejected": self.rejected,
            "not_connected": self.not_connected,
            "unaccounted": self.unaccounted,
        }


@dataclass
class Ledger:
    agencies: dict[str, AgencyLedger]
    recipients_of: dict[str, tuple[str, ...]]  # document id -> recipient ids
    documents: int = 0
    unattributed: int = 0  # rejection records of this run naming no planned document
    withheld: int = 0  # classified documents the producers kept off the axis

    @property
    def expected_delivered(self) -> int:
        return sum(a.expected_delivered for a in self.agencies.values())

    def mismatches(self) -> Iterator[tuple[str, AgencyLedger]]:
        """Agencies where the identity fails, or delivered differs from the plan."""
        for agency_id, row in sorted(self.agencies.items()):
            if row.unaccounted or row.delivered != row.expected_delivered:
                yield agency_id, row


def plan_ledger(
    directory: Directory,
    spec: WorkloadSpec,
    seed: int,
    start_us: int,
    documents: int | None = None,
) -> Ledger:
    """Addressed and expected outcomes per agency from the regenerated stream."""
    ledger = Ledger({}, {})
    stream: Iterable[Planned] = generate(directory, spec, seed, start_us=start_us)
    for planned in stream:
        if documents is not None and planned.seq >= documents:
            break
        ledger.documents += 1
        if planned.withheld:  # never sent: addressed to no one on the axis
            ledger.withheld += 1
            continue
        if planned.fault is Fault.MALFORMED:
            continue
        doc = planned.document
        ledger.recipients_of.setdefault(doc.id, tuple(r.id for r in doc.recipients))
        for expected in planned.expected:
            row = ledger.agencies.get(expected.recipient)
            if row is None:
                row = ledger.agencies[expected.recipient] = AgencyLedger(expected.tier.value)
            row.addressed += 1
            row.expected_delivered += expected.reason is None
    return ledger


def apply_deliveries(ledger: Ledger, delivered: Mapping[str, int]) -> None:
    for agency_id, n in delivered.items():
        row = ledger.agencies.get(agency_id)
        if row is None:
            row = ledger.agencies[agency_id] = AgencyLedger("?")
        row.delivered += n


def apply_rejections(ledger: Ledger, rejections: Iterable[Rejection]) -> None:
    for r in rejections:
        if r.reason is ReasonCode.MALFORMED:
            continue
        if r.reason is ReasonCode.NOT_CONNECTED and r.recipient is not None:
            targets: tuple[str, ...] = (r.recipient,)
        else:
            targets = ledger.recipients_of.get(r.document_id, ())
        if not targets:
            ledger.unattributed += 1
            continue
        for agency_id in targets:
            row = ledger.agencies.get(agency_id)
            if row is None:
                row = ledger.agencies[agency_id] = AgencyLedger("?")
            if r.reason is ReasonCode.CLASSIFIED:
                row.excluded += 1
            elif r.reason is ReasonCode.NOT_CONNECTED:
                row.not_connected += 1
            else:
                row.rejected += 1


def read_rejections(settings: Settings, since_us: int, idle_s: float = 1.0) -> list[Rejection]:
    """Every committed rejection whose document was meant to be sent at or after `since_us`.

    A replay from the beginning that stops after `idle_s` without records (end
    offsets are not trusted on Tansu, docs/BROKER_QUIRKS.md quirk 2).
    """
    from interchange.audit.replay import ReplayConfig, replay

    config = ReplayConfig((layout_of(settings).rejections,), idle_s=idle_s)
    records, _stats = replay(settings, config)
    out: list[Rejection] = []
    for record in records:
        try:
            rejection = codec.decode_rejection(record.value or b"")
        except DecodeError:
            continue
        if rejection.send_time_us >= since_us:
            out.append(rejection)
    return out
