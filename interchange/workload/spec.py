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

from interchange.axis.directory import tier_of_id
from interchange.errors import ConfigError
from interchange.wire.model import BusinessType, DocumentType, Priority, Secrecy, Tier
from interchange.workload.faults import Fault, check_fault_rates


class Role(enum.StrEnum):
    """One end of a flow: the bodies of a tier (central bodies, People's Committees), or
    their units (departments, offices, public-service units), which share the tier."""

    CENTRAL = "central"
    CENTRAL_UNIT = "central-unit"
    PROVINCE = "province"
    PROVINCE_UNIT = "province-unit"
    DISTRICT = "district"
    DISTRICT_UNIT = "district-unit"
    COMMUNE = "commune"
    COMMUNE_UNIT = "commune-unit"

    @property
    def tier(self) -> Tier:
        return Tier(self.value.removesuffix("-unit"))

    @property
    def unit(self) -> bool:
        return self.value.endswith("-unit")

    @classmethod
    def of(cls, tier: Tier, unit: bool) -> Role:
        return cls(f"{tier.value}-unit" if unit else tier.value)


def role_of_id(agency_id: str) -> Role:
    """The role an id plays by its shape: its tier, and whether it is a unit."""
    return Role.of(tier_of_id(agency_id), not agency_id.startswith("000."))


C, P, D, M = Role.CENTRAL, Role.PROVINCE, Role.DISTRICT, Role.COMMUNE
CU, PU, DU, MU = Role.CENTRAL_UNIT, Role.PROVINCE_UNIT, Role.DISTRICT_UNIT, Role.COMMUNE_UNIT
_ROLE_ORDER = tuple(Role)


class Direction(enum.StrEnum):
    DOWN = "down"  # directives, decisions, plans
    UP = "up"  # reports, submissions
    SIDEWAYS = "sideways"  # coordination between peers


def direction_of(sender: Tier | Role, recipient: Tier | Role) -> Direction:
    """Down the hierarchy, up, or sideways. A body ranks just above its own units (a
    department reports up to its People's Committee), and both above the tier below."""
    a = _ROLE_ORDER.index(Role(str(sender)))
    b = _ROLE_ORDER.index(Role(str(recipient)))
    return Direction.DOWN if a < b else Direction.UP if a > b else Direction.SIDEWAYS


# Share of all documents per (sender, recipient) role. Six tenths flow between bodies,
# where volume concentrates where the hierarchy is busiest: provinces and districts both
# direct and report; communes report to their district; central bodies mostly talk to
# provinces and each other. Four tenths involve units: departments coordinate with each
# other and submit to their People's Committee, which assigns work to them; they guide
# the districts, district offices and communes of their field and report to the
# ministry's units, which guide them (docs/WORKLOAD.md, "Defaults and why").
DEFAULT_FLOWS: Mapping[tuple[Role, Role], float] = MappingProxyType(
    {
        (C, C): 0.036, (C, P): 0.072, (C, D): 0.006, (C, M): 0.003,
        (P, C): 0.048, (P, P): 0.024, (P, D): 0.084, (P, M): 0.024,
        (D, C): 0.003, (D, P): 0.072, (D, D): 0.018, (D, M): 0.084,
        (M, P): 0.012, (M, D): 0.096, (M, M): 0.018,
        (CU, PU): 0.03, (PU, CU): 0.02,
        (P, PU): 0.04, (PU, P): 0.05, (PU, PU): 0.05,
        (PU, D): 0.04, (PU, DU): 0.04, (PU, M): 0.03, (PU, MU): 0.01,
        (D, DU): 0.01, (DU, D): 0.01, (DU, DU): 0.02, (DU, M): 0.03,
        (DU, PU): 0.01, (M, DU): 0.01,
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
    # keys may name tiers: a tier means its bodies
    flows: Mapping[tuple[Role, Role], float] = field(default_factory=lambda: DEFAULT_FLOWS)
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
        object.__setattr__(
            self,
            "flows",
            MappingProxyType({(Role(str(a)), Role(str(b))): w for (a, b), w in self.flows.items()}),
        )
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
