"""What a workload looks like: rate, length, flows between tiers, mixes and fault rates.

Defaults are documented with their reasoning in docs/WORKLOAD.md. In short:
directives and decisions flow down the hierarchy, reports come back up, and
official letters coordinate sideways; most documents are normal-priority
official letters with a small PDF; about 1.4% would be classified (they are
withheld at the source: classified documents do not travel over the axis); one in
ten documents answers an earlier one.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from interchange.core.faults import Fault, check_fault_rates
from interchange.core.model import BusinessType, DocumentType, Priority, Secrecy, Tier
from interchange.errors import ConfigError

C, P, D, M = Tier.CENTRAL, Tier.PROVINCE, Tier.DISTRICT, Tier.COMMUNE


class Direction(enum.StrEnum):
    DOWN = "down"  # directives, decisions, plans
    UP = "up"  # reports, submissions
    SIDEWAYS = "sideways"  # coordination between peers


def direction_of(sender: Tier, recipient: Tier) -> Direction:
    order = list(Tier)
    a, b = order.index(sender), order.index(recipient)
    return Direction.DOWN if a < b else Direction.UP if a > b else Direction.SIDEWAYS


# Share of all documents per (sender tier, recipient tier). Volume concentrates where
# the hierarchy is busiest: provinces and districts both direct and report; communes
# report to their district; central bodies mostly talk to provinces and each other.
DEFAULT_FLOWS: Mapping[tuple[Tier, Tier], float] = MappingProxyType(
    {
        (C, C): 0.06, (C, P): 0.12, (C, D): 0.01, (C, M): 0.005,
        (P, C): 0.08, (P, P): 0.04, (P, D): 0.14, (P, M): 0.04,
        (D, C): 0.005, (D, P): 0.12, (D, D): 0.03, (D, M): 0.14,
        (M, P): 0.02, (M, D): 0.16, (M, M): 0.03,
    }
)  # fmt: skip

DEFAULT_TYPE_MIX: Mapping[Direction, Mapping[DocumentType, float]] = MappingProxyType(
    {
        Direction.DOWN: {
            DocumentType.OFFICIAL_LETTER: 0.30, DocumentType.DECISION: 0.25,
            DocumentType.DIRECTIVE: 0.15, DocumentType.PLAN: 0.12,
            DocumentType.NOTICE: 0.13, DocumentType.RESOLUTION: 0.05,
        },
        Direction.UP: {
            DocumentType.REPORT: 0.55, DocumentType.OFFICIAL_LETTER: 0.25,
            DocumentType.SUBMISSION: 0.20,
        },
        Direction.SIDEWAYS: {
            DocumentType.OFFICIAL_LETTER: 0.60, DocumentType.NOTICE: 0.20,
            DocumentType.PLAN: 0.10, DocumentType.REPORT: 0.10,
        },
    }
)  # fmt: skip

DEFAULT_PRIORITY_MIX: Mapping[Priority, float] = MappingProxyType(
    {
        Priority.NORMAL: 0.80, Priority.URGENT: 0.12, Priority.VERY_URGENT: 0.05,
        Priority.EXPRESS: 0.025, Priority.EXPRESS_TIMED: 0.005,
    }
)  # fmt: skip

# Attachment size in bytes -> share (0: no attachment). Mean ~6 KiB keeps a 2-core
# machine CPU-bound on signatures rather than on bytes, as the real axis is.
DEFAULT_ATTACHMENT_MIX: Mapping[int, float] = MappingProxyType(
    {0: 0.20, 1024: 0.40, 4096: 0.25, 16384: 0.10, 65536: 0.05}
)

# Share of (otherwise fault-free) documents per classified level; the rest is NONE. The
# producers withhold these (never sent, counted); the CLASSIFIED_LEAK fault sends some.
DEFAULT_CLASSIFIED: Mapping[Secrecy, float] = MappingProxyType(
    {Secrecy.CONFIDENTIAL: 0.010, Secrecy.SECRET: 0.003, Secrecy.TOP_SECRET: 0.001}
)

# Number of recipients -> share, capped by how many candidates a sender has.
DEFAULT_RECIPIENTS_MIX: Mapping[int, float] = MappingProxyType(
    {1: 0.70, 2: 0.10, 3: 0.07, 5: 0.06, 10: 0.05, 20: 0.02}
)

DEFAULT_BUSINESS_MIX: Mapping[BusinessType, float] = MappingProxyType(
    {BusinessType.NEW: 0.94, BusinessType.UPDATE: 0.03, BusinessType.REPLACE: 0.02,
     BusinessType.REVOKE: 0.01}
)  # fmt: skip


@dataclass(frozen=True)
class WorkloadSpec:
    """A seedable workload; `count` and/or `duration_s` bound it (whichever ends first)."""

    rate: float  # documents per second, Poisson arrivals
    count: int | None = None
    duration_s: float | None = None
    flows: Mapping[tuple[Tier, Tier], float] = field(default_factory=lambda: DEFAULT_FLOWS)
    type_mix: Mapping[Direction, Mapping[DocumentType, float]] = field(
        default_factory=lambda: DEFAULT_TYPE_MIX
    )
    priority_mix: Mapping[Priority, float] = field(default_factory=lambda: DEFAULT_PRIORITY_MIX)
    attachment_mix: Mapping[int, float] = field(default_factory=lambda: DEFAULT_ATTACHMENT_MIX)
    classified: Mapping[Secrecy, float] = field(default_factory=lambda: DEFAULT_CLASSIFIED)
    recipients_mix: Mapping[int, float] = field(default_factory=lambda: DEFAULT_RECIPIENTS_MIX)
    business_mix: Mapping[BusinessType, float] = field(default_factory=lambda: DEFAULT_BUSINESS_MIX)
    reply_share: float = 0.10
    due_share: float = 0.30
    faults: Mapping[Fault, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.rate > 0:
            raise ConfigError(f"rate must be positive, got {self.rate}")
        if self.count is None and self.duration_s is None:
            raise ConfigError("a workload needs a count or a duration")
        if self.count is not None and self.count < 0:
            raise ConfigError("count must be >= 0")
        if self.duration_s is not None and self.duration_s < 0:
            raise ConfigError("duration must be >= 0")
        for name in ("flows", "priority_mix", "attachment_mix", "recipients_mix",
                     "business_mix"):  # fmt: skip
            _check_mix(name, getattr(self, name))
        for direction in Direction:
            _check_mix(f"type_mix[{direction}]", self.type_mix.get(direction, {}))
        if any(n < 1 for n in self.recipients_mix) or any(s < 0 for s in self.attachment_mix):
            raise ConfigError("recipient counts must be >= 1 and attachment sizes >= 0")
        if not all(s.classified for s in self.classified) or sum(self.classified.values()) > 1:
            raise ConfigError("classified shares name levels above NONE and add up to <= 1")
        for name in ("reply_share", "due_share"):
            if not 0 <= getattr(self, name) <= 1:
                raise ConfigError(f"{name} must be between 0 and 1")
        check_fault_rates(self.faults)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description, for manifests and reports."""
        return {
            "rate": self.rate,
            "count": self.count,
            "duration_s": self.duration_s,
            "flows": {f"{a.value}->{b.value}": w for (a, b), w in self.flows.items()},
            "type_mix": {
                d.value: {t.value: w for t, w in m.items()} for d, m in self.type_mix.items()
            },
            "priority_mix": {p.name: w for p, w in self.priority_mix.items()},
            "attachment_mix": {str(s): w for s, w in self.attachment_mix.items()},
            "classified": {s.value: w for s, w in self.classified.items()},
            "recipients_mix": {str(n): w for n, w in self.recipients_mix.items()},
            "business_mix": {b.name: w for b, w in self.business_mix.items()},
            "reply_share": self.reply_share,
            "due_share": self.due_share,
            "faults": {f.value: r for f, r in self.faults.items()},
        }


def _check_mix(name: str, mix: Mapping[Any, float]) -> None:
    if not mix or any(w < 0 for w in mix.values()) or sum(mix.values()) <= 0:
        raise ConfigError(f"{name} must have non-negative weights with a positive sum")
