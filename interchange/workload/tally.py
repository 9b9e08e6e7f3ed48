"""Counts of a planned (or sent) stream: what the manifest records and the audit checks.

Outcomes are counted per recipient: `DELIVERED` or the expected reason code. A
classified document withheld at the source (`Planned.withheld`) counts as a document
and in `withheld_classified`, never as addressed: it never reaches the axis.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from interchange.workload.generator import Planned

DELIVERED = "DELIVERED"
NO_FAULT = "none"


@dataclass
class Tally:
    documents: int = 0
    recipients: int = 0
    bytes: int = 0  # document content bytes (before signing and envelope)
    sender_tier: Counter[str] = field(default_factory=Counter)
    recipient_tier: Counter[str] = field(default_factory=Counter)
    priority: Counter[str] = field(default_factory=Counter)
    secrecy: Counter[str] = field(default_factory=Counter)
    document_type: Counter[str] = field(default_factory=Counter)
    direction: Counter[str] = field(default_factory=Counter)
    fault: Counter[str] = field(default_factory=Counter)
    replies: int = 0
    withheld: Counter[str] = field(default_factory=Counter)  # secrecy level -> documents
    outcome: Counter[str] = field(default_factory=Counter)
    outcome_by_tier: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, planned: Planned, content_bytes: int = 0) -> None:
        doc = planned.document
        self.documents += 1
        self.bytes += content_bytes
        self.sender_tier[planned.sender_tier.value] += 1
        self.priority[doc.priority.name] += 1
        self.secrecy[doc.secrecy.value] += 1
        self.document_type[doc.document_type.value] += 1
        self.direction[planned.direction.value] += 1
        self.fault[planned.fault.value if planned.fault else NO_FAULT] += 1
        self.replies += doc.response_for is not None and planned.replay_of is None
        if planned.withheld:
            self.withheld[doc.secrecy.value] += 1
            return
        for expected in planned.expected:
            outcome = expected.reason.value if expected.reason else DELIVERED
            self.recipients += 1
            self.recipient_tier[expected.tier.value] += 1
            self.outcome[outcome] += 1
            by_tier = self.outcome_by_tier.get(expected.tier.value)
            if by_tier is None:  # not `setdefault`: it built a Counter for every recipient
                by_tier = self.outcome_by_tier[expected.tier.value] = Counter()
            by_tier[outcome] += 1

    @classmethod
    def of(cls, stream: Iterable[Planned]) -> Tally:
        tally = cls()
        for planned in stream:
            tally.add(planned)
        return tally

    def to_dict(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "recipients": self.recipients,
            "content_bytes": self.bytes,
            "replies": self.replies,
            "by_sender_tier": dict(sorted(self.sender_tier.items())),
            "by_recipient_tier": dict(sorted(self.recipient_tier.items())),
            "by_priority": dict(sorted(self.priority.items())),
            "by_secrecy": dict(sorted(self.secrecy.items())),
            "by_document_type": dict(sorted(self.document_type.items())),
            "by_direction": dict(sorted(self.direction.items())),
            "by_fault": dict(sorted(self.fault.items())),
            "withheld_classified": sum(self.withheld.values()),
            "withheld_by_secrecy": dict(sorted(self.withheld.items())),
            "expected_outcome": dict(sorted(self.outcome.items())),
            "expected_outcome_by_recipient_tier": {
                t: dict(sorted(c.items())) for t, c in sorted(self.outcome_by_tier.items())
            },
        }
