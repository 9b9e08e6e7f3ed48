"""Policy targets and delivery SLAs the coverage report is measured against.

Two rules, two measures, never one for the other (docs/RULES.md states them,
docs/REPORT.md maps each measure to its rule):

1. Exchange: 100% of the documents exchanged between state agencies (classified
   excepted) are sent and received electronically, fully digitally signed. The
   target is 100% for every tier, sender side and recipient side (`exchange`).
2. Online processing of work records, per recipient tier (`processing`):

       2025: province >= 90%, district >= 80%, commune >= 60%
       2030: province 100%,   district >= 90%, commune >= 70%

   Central bodies have no published figure; we hold them to the province target.

Timely delivery (within the priority's SLA) is no policy rule: the built-in sets give
it no target (n/a); a targets file may. Signature coverage must be 100% in every
target set. The latency target is p99 of end-to-end delivery <= the NORMAL SLA.

SLA defaults are simulation-scale (runs last seconds to minutes, not days): the order
of the real priorities is kept (Hỏa tốc fastest) and the values leave a healthy axis on
one machine far inside them while a stalled consumer or a downtime window breaks them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from interchange.errors import ConfigError
from interchange.wire.model import Priority, Tier

DEFAULT_SLA_S: Mapping[Priority, float] = {
    Priority.NORMAL: 60.0,
    Priority.URGENT: 30.0,
    Priority.VERY_URGENT: 10.0,
    Priority.EXPRESS: 5.0,
    Priority.EXPRESS_TIMED: 5.0,
}


@dataclass(frozen=True, slots=True)
class Sla:
    """Delivery deadline per priority, in seconds from the intended send time."""

    seconds: Mapping[Priority, float] = field(default_factory=lambda: dict(DEFAULT_SLA_S))

    def __post_init__(self) -> None:
        missing = set(Priority) - set(self.seconds)
        if missing:
            raise ConfigError(f"SLA missing for {', '.join(sorted(p.name for p in missing))}")
        for p, s in self.seconds.items():
            if not isinstance(s, int | float) or isinstance(s, bool) or not 0 < s <= 3600:
                raise ConfigError(f"SLA for {p.name} must be within (0, 3600] seconds, got {s!r}")

    def limit_us(self, priority: Priority) -> int:
        return round(self.seconds[priority] * 1_000_000)

    def to_dict(self) -> dict[str, float]:
        return {p.name: float(self.seconds[p]) for p in Priority}

    @classmethod
    def parse(cls, text: str) -> Sla:
        """`"NORMAL=60,EXPRESS=2"` (case-insensitive); unnamed priorities keep their default."""
        values = dict(DEFAULT_SLA_S)
        for part in filter(None, (x.strip() for x in text.split(","))):
            name, sep, raw = part.partition("=")
            key = name.strip().upper().replace("-", "_")
            if not sep or key not in Priority.__members__:
                raise ConfigError(f"bad SLA item {part!r}: expected PRIORITY=seconds")
            try:
                values[Priority[key]] = float(raw)
            except ValueError as exc:
                raise ConfigError(f"bad SLA seconds in {part!r}") from exc
        return cls(values)


@dataclass(frozen=True, slots=True)
class Targets:
    """Pass marks. A tier missing from a mapping has no target (n/a).

    `exchange` applies to every tier, as a sender and as a recipient, and to the total.
    """

    name: str
    processing: Mapping[Tier, float]
    exchange: float = 1.0
    timely: Mapping[Tier, float] = field(default_factory=dict)
    signature: float = 1.0
    latency_p99_s: Mapping[Tier, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        def tiers(m: Mapping[Tier, float]) -> dict[str, float]:
            return {t.value: m[t] for t in Tier if t in m}

        return {
            "name": self.name,
            "exchange": self.exchange,
            "processing": tiers(self.processing),
            "timely": tiers(self.timely),
            "signature": self.signature,
            "latency_p99_s": tiers(self.latency_p99_s),
        }


def _builtin(
    name: str, central: float, province: float, district: float, commune: float
) -> Targets:
    shares = {
        Tier.CENTRAL: central,
        Tier.PROVINCE: province,
        Tier.DISTRICT: district,
        Tier.COMMUNE: commune,
    }
    latency = dict.fromkeys(Tier, DEFAULT_SLA_S[Priority.NORMAL])
    return Targets(name, shares, 1.0, {}, 1.0, latency)


BUILTIN_TARGETS: Mapping[str, Targets] = {
    "2025": _builtin("2025", 0.90, 0.90, 0.80, 0.60),
    "2030": _builtin("2030", 1.00, 1.00, 0.90, 0.70),
}
DEFAULT_TARGETS = BUILTIN_TARGETS["2025"]

_KEYS = {"name", "exchange", "processing", "timely", "signature", "latency_p99_s"}


def load_targets(name_or_path: str | Path) -> Targets:
    """A built-in target set ("2025", "2030") or a JSON targets file (docs/REPORT.md).

    Raises ConfigError for an unknown name, an unreadable file or any bad value.
    """
    if isinstance(name_or_path, str) and name_or_path in BUILTIN_TARGETS:
        return BUILTIN_TARGETS[name_or_path]
    path = Path(name_or_path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        known = ", ".join(BUILTIN_TARGETS)
        raise ConfigError(f"targets {str(name_or_path)!r}: not {known} and no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"targets file {path}: {exc}") from exc
    return targets_from_dict(data, default_name=path.stem)


def targets_from_dict(data: Any, default_name: str = "custom") -> Targets:
    """Validate a parsed targets document; shares are fractions in [0, 1]."""
    if not isinstance(data, dict):
        raise ConfigError("targets: expected a JSON object")
    if "electronic" in data:
        raise ConfigError(
            "targets: 'electronic' is no longer read: the exchange rule is 'exchange' "
            "(one share, default 1.0) and the work-record rule is 'processing' (per tier)"
        )
    unknown = set(data) - _KEYS
    if unknown:
        raise ConfigError(f"targets: unknown key(s) {', '.join(sorted(unknown))}")
    name = data.get("name", default_name)
    if not isinstance(name, str) or not name:
        raise ConfigError("targets: 'name' must be a non-empty string")
    processing = _tier_map(data.get("processing", {}), "processing", upper=1.0)
    exchange = _number(data.get("exchange", 1.0), "exchange", 1.0)
    timely = _tier_map(data.get("timely", {}), "timely", 1.0)
    signature = _number(data.get("signature", 1.0), "signature", 1.0)
    latency = _tier_map(data.get("latency_p99_s", {}), "latency_p99_s", upper=3600.0)
    return Targets(name, processing, exchange, timely, signature, latency)


def meets(numerator: int, denominator: int, target: float) -> bool:
    """numerator/denominator >= target, exactly (no float rounding at the edge)."""
    return Fraction(numerator, denominator) >= Fraction(repr(float(target)))


def _tier_map(value: Any, what: str, upper: float) -> dict[Tier, float]:
    if not isinstance(value, dict):
        raise ConfigError(f"targets: {what!r} must be an object of tier -> number")
    out: dict[Tier, float] = {}
    for key, raw in value.items():
        try:
            tier = Tier(key)
        except ValueError:
            raise ConfigError(f"targets: {what}: unknown tier {key!r}") from None
        out[tier] = _number(raw, f"{what}.{key}", upper)
    return out


def _number(raw: Any, what: str, upper: float) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 <= raw <= upper:
        raise ConfigError(f"targets: {what} must be a number within 0..{upper:g}, got {raw!r}")
    return float(raw)
