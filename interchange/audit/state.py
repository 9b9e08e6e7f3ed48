"""The audit's working state: findings, recomputed metrics and counts, as its checks
(`checks`, `rejections`, `statuses`) add to them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from interchange.audit.evidence import Evidence
from interchange.audit.findings import Finding
from interchange.axis.directory import attributed_tier
from interchange.metrics.run import RunMetrics
from interchange.wire.model import Agency, Tier

Pair = tuple[str, str]  # (document id, recipient id)
# (document id, content digest, reason, recipient, (topic, partition, offset, authenticated));
# the last part is None for a rejection written before rejections carried coordinates (v1)
RejectionKey = tuple[str, bytes, str, str, tuple[str, int, int, bool] | None]


@dataclass
class AuditResult:
    findings: list[Finding]
    metrics: RunMetrics
    counts: dict[str, int] = field(default_factory=dict)


class AuditState:
    def __init__(self, by_id: Mapping[str, Agency], evidence: Evidence | None = None) -> None:
        self.by_id = by_id
        self.evidence = evidence
        self.findings: list[Finding] = []
        self.metrics = RunMetrics()
        self.counts: Counter[str] = Counter()

    def tier(self, agency_id: str) -> Tier | None:
        """The router's rule, so recomputed counts match live ones."""
        return attributed_tier(self.by_id, agency_id)

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)
