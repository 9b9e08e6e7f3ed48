"""Directory presets and scenarios: the deterministic construction of a `Directory`.

A preset fixes who exists (ids, names, parents); a scenario fixes who is on the
axis (connected share per tier, explicit overrides) and when agencies are down.
Everything derives from fixed tables and string-seeded `random.Random`, so the
same preset and scenario always give the same directory.
"""

from __future__ import annotations

import enum
import functools
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from interchange.axis import gazetteer as gz
from interchange.axis.directory import (
    Directory,
    Downtime,
    central_id,
    commune_id,
    district_id,
    province_id,
)
from interchange.errors import ConfigError, DirectoryError
from interchange.wire.model import Agency, Tier
from interchange.workrecords.plan import DEFAULT_WORK_SETTINGS, WorkSettings


class Preset(enum.StrEnum):
    NATIONAL = "national"  # early 2025: 30 central, 63 provinces, 696 districts, 10,035 communes
    PROVINCE = "province"  # Hậu Giang in early 2025 (8 districts, 75 communes) + 8 partners
    TINY = "tiny"  # part of `national`: 3 central, 2 provinces, 4 districts, 8 communes (tests)
    TWO_LEVEL_2025 = "two-level-2025"  # July 2025: 22 central, 34 provinces, 3,321 communes


# The date each preset's data describes. Every preset also holds the units of its
# bodies (departments, offices, public-service units; gazetteer.py).
PRESET_DATES: Mapping[Preset, str] = MappingProxyType(
    {
        Preset.NATIONAL: gz.DATE_EARLY_2025,
        Preset.PROVINCE: gz.DATE_EARLY_2025,
        Preset.TINY: gz.DATE_EARLY_2025,
        Preset.TWO_LEVEL_2025: gz.DATE_2025,
    }
)


DEFAULT_PRESET = Preset.PROVINCE.value  # every command's default directory
PRESET_NAMES = tuple(p.value for p in Preset)


# Share of agencies on the axis per tier: a scenario choice, not a policy figure (the
# exchange rule asks for every agency). The values borrow the 2030 online-processing
# targets of docs/RULES.md (province 100%, district 90%, commune 70%) as a plausible state
# of connection; the unconnected rest receive on paper, which the exchange measure counts
# against rule 1.
DEFAULT_CONNECTED_SHARE: Mapping[Tier, float] = MappingProxyType(
    {Tier.CENTRAL: 1.0, Tier.PROVINCE: 1.0, Tier.DISTRICT: 0.9, Tier.COMMUNE: 0.7}
)


@dataclass(frozen=True, slots=True)
class RandomDowntime:
    """`share` of the connected agencies of `tier` go down once, for `duration_s`, at a
    uniformly drawn time within the first `within_s` seconds of the run."""

    tier: Tier
    share: float
    within_s: float
    duration_s: float


@dataclass(frozen=True)
class Scenario:
    """Who is on the axis and when agencies are down. Missing tiers take the defaults."""

    connected_share: Mapping[Tier, float] = field(default_factory=dict)
    seed: int = 0
    downtime: tuple[Downtime, ...] = ()
    random_downtime: tuple[RandomDowntime, ...] = ()
    connected: tuple[str, ...] = ()  # forced on the axis, whatever the share
    disconnected: tuple[str, ...] = ()  # forced off
    # How recipients handle work records: online share per tier, time scale (workrecords.plan)
    work_records: WorkSettings = DEFAULT_WORK_SETTINGS

    def __post_init__(self) -> None:
        shares = {**DEFAULT_CONNECTED_SHARE, **self.connected_share}
        for tier, share in shares.items():
            if not 0.0 <= share <= 1.0:
                raise DirectoryError(f"connected share of {tier} must be in [0, 1], got {share}")
        object.__setattr__(self, "connected_share", MappingProxyType(shares))
        for r in self.random_downtime:
            if not 0 <= r.share <= 1 or r.duration_s <= 0 or r.within_s < r.duration_s:
                raise DirectoryError(
                    f"bad random downtime {r}: share in [0,1], duration > 0, within_s >= duration_s"
                )

    @classmethod
    def from_dict(cls, data: Any) -> Scenario:
        if not isinstance(data, dict):
            raise DirectoryError("a scenario is a JSON object")
        allowed = {
            "connected_share",
            "seed",
            "downtime",
            "random_downtime",
            "connected",
            "disconnected",
            "work_records",
        }
        unknown = set(data) - allowed
        if unknown:
            raise DirectoryError(f"unknown scenario key(s): {', '.join(sorted(unknown))}")
        try:
            return cls(
                connected_share={
                    Tier(k): float(v) for k, v in data.get("connected_share", {}).items()
                },
                seed=int(data.get("seed", 0)),
                downtime=tuple(
                    Downtime(str(d["agency"]), float(d["start_s"]), float(d["duration_s"]))
                    for d in data.get("downtime", [])
                ),
                random_downtime=tuple(
                    RandomDowntime(
                        Tier(d["tier"]),
                        float(d["share"]),
                        float(d["within_s"]),
                        float(d["duration_s"]),
                    )
                    for d in data.get("random_downtime", [])
                ),
                connected=tuple(str(x) for x in data.get("connected", [])),
                disconnected=tuple(str(x) for x in data.get("disconnected", [])),
                work_records=WorkSettings.from_dict(data.get("work_records", {})),
            )
        except ConfigError as exc:
            raise DirectoryError(f"bad scenario: {exc}") from exc
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise DirectoryError(f"bad scenario: {exc!r}") from exc

    @classmethod
    def load(cls, path: Path) -> Scenario:
        try:
            return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DirectoryError(f"cannot read scenario file {path}: {exc}") from exc

    def to_dict(self) -> dict[str, Any]:
        return {
            "connected_share": {t.value: s for t, s in self.connected_share.items()},
            "seed": self.seed,
            "downtime": [
                {"agency": d.agency, "start_s": d.start_s, "duration_s": d.duration_s}
                for d in self.downtime
            ],
            "random_downtime": [
                {
                    "tier": r.tier.value,
                    "share": r.share,
                    "within_s": r.within_s,
                    "duration_s": r.duration_s,
                }
                for r in self.random_downtime
            ],
            "connected": list(self.connected),
            "disconnected": list(self.disconnected),
            "work_records": self.work_records.to_dict(),
        }


def build(preset: str | Preset, scenario: Scenario | None = None) -> Directory:
    """The directory of `preset` under `scenario` (default: `Scenario()`)."""
    try:
        which = Preset(preset)
    except ValueError:
        raise DirectoryError(
            f"unknown preset {preset!r}; known: " + ", ".join(p.value for p in Preset)
        ) from None
    scenario = scenario or Scenario()
    skeleton = _SKELETONS[which]()
    agencies = _apply_connection(skeleton, scenario)
    downtime = scenario.downtime + _random_downtime(agencies, scenario)
    return Directory(tuple(agencies), downtime, which.value, PRESET_DATES[which])


def _rng(key: str) -> random.Random:
    return random.Random(key)  # noqa: S311 - seeded simulation, not cryptography


# -- skeletons ------------------------------------------------------------------------------
# Every four-tier preset is a part of `national`, built by the same functions with the same
# string seeds, so an id names the same agency (name, tier, parent) in every preset; the
# two-level preset shares the bodies whose names continue and numbers its communes apart.
_PREFIX = "Ủy ban nhân dân "


def _with_units(
    body: Agency,
    specs: Sequence[gz.UnitSpec],
    *,
    two_level: bool,
    ward: bool = False,
    wanted: Sequence[int] | None = None,
) -> list[Agency]:
    """`body` followed by its units of the era (`wanted`: only those numbers)."""
    out = [body]
    place = body.name[len(_PREFIX) :] if body.name.startswith(_PREFIX) else body.name
    suffix = body.id[3:]
    tier = body.tier
    only = None if wanted is None else tuple(wanted)
    for spec in _era_specs(tuple(specs), two_level, ward, only):
        if tier is Tier.CENTRAL and place.startswith(spec.name + " "):
            continue  # no "Văn phòng Văn phòng Chính phủ"
        parent = body.id if spec.parent == 0 else f"{spec.parent:03d}{suffix}"
        out.append(Agency(f"{spec.number:03d}{suffix}", f"{spec.name} {place}", tier, parent))
    return out


@functools.cache
def _era_specs(
    specs: tuple[gz.UnitSpec, ...], two_level: bool, ward: bool, wanted: tuple[int, ...] | None
) -> tuple[gz.UnitSpec, ...]:
    return tuple(
        spec
        for spec in specs
        if (spec.two_level if two_level else spec.four_tier)
        and (spec.wards is None or spec.wards is ward)
        and (wanted is None or spec.number in wanted)
    )


def _central(
    numbers: Sequence[int], *, two_level: bool, wanted: Sequence[int] | None = None
) -> list[Agency]:
    names = {n: name for n, name, _ in gz.CENTRAL_BODIES}
    out: list[Agency] = []
    for n in numbers:
        body = Agency(central_id(n), names[n], Tier.CENTRAL, None)
        out += _with_units(body, gz.CENTRAL_UNITS, two_level=two_level, wanted=wanted)
    return out


def _province(p: int, name: str, city: bool) -> Agency:
    kind = "thành phố" if city else "tỉnh"
    return Agency(province_id(p), f"{_PREFIX}{kind} {name}", Tier.PROVINCE, None)


_PLACE_PAIRS = tuple(f"{a} {b}" for a in gz.PLACE_SYLLABLES for b in gz.PLACE_SYLLABLES if a != b)


class _Places:
    """Distinct two-syllable place names within one parent."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def next(self) -> str:
        n = len(_PLACE_PAIRS)
        while True:  # one float per draw: a sample() per name cost a third of a build
            name = _PLACE_PAIRS[int(self.rng.random() * n)]
            if name not in self.used:
                self.used.add(name)
                return name


def _apportion(total: int, weights: Sequence[float], cap: int = 99) -> list[int]:
    """Split `total` by `weights` (largest remainder), each share in 1..cap."""
    if not len(weights) <= total <= cap * len(weights):
        raise DirectoryError(f"cannot split {total} into {len(weights)} parts of 1..{cap}")
    spare = total - len(weights)
    scale = spare / sum(weights)
    raw = [w * scale for w in weights]
    shares = [1 + int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - int(raw[i])), i))
    for i in order[: total - sum(shares)]:
        shares[i] += 1
    while max(shares) > cap:  # move any excess to the smallest parts
        big = shares.index(max(shares))
        shares[big] -= 1
        shares[shares.index(min(shares))] += 1
    return shares


def _pinned_apportion(
    total: int, names: Sequence[str], weights: Sequence[float], pinned: Mapping[str, int]
) -> dict[str, int]:
    """`total` split over `names`: the pinned figures as they are, the rest by weight."""
    free = [i for i, n in enumerate(names) if n not in pinned]
    rest = _apportion(total - sum(pinned.values()), [weights[i] for i in free], cap=99 * 99)
    out = dict(pinned)
    out.update({names[i]: k for i, k in zip(free, rest, strict=True)})
    return out


def _district_kinds(n: int, city: bool) -> list[str]:
    if city:
        urban = max(1, round(n * 0.4))
        return ["Quận"] * urban + ["Huyện"] * (n - urban)
    return ["Thành phố"] + (["Thị xã"] if n >= 6 else []) + ["Huyện"] * (n - (2 if n >= 6 else 1))


def _commune_kind(district_kind: str, index: int, rng: random.Random) -> str:
    if district_kind == "Quận":
        return "Phường"
    if district_kind == "Huyện":
        return "Thị trấn" if index == 1 else "Xã"
    return "Phường" if rng.random() < (0.7 if district_kind == "Thành phố" else 0.5) else "Xã"


_WANT_ALL: Mapping[Tier, Sequence[int] | None] = MappingProxyType(dict.fromkeys(Tier))


def _four_tier_province(  # noqa: PLR0917 - the province's facts, then how much to keep
    p: int,
    name: str,
    city: bool,
    districts: Sequence[tuple[str, str]],
    communes: Sequence[int],
    keep: tuple[int, int] | None = None,
    wanted: Mapping[Tier, Sequence[int] | None] = _WANT_ALL,
    urban: Sequence[tuple[int, int]] | None = None,
) -> list[Agency]:
    """A province with its districts and communes, each body followed by its units.
    `keep` = (districts, communes per district) truncates it (the `tiny` preset); the
    names drawn do not depend on it. `urban` fixes (wards, townships) per district, the
    first communes of each; otherwise the kinds are drawn."""
    rng = _rng(f"names:{p}")
    prov = _province(p, name, city)
    out = _with_units(prov, gz.PROVINCE_UNITS, two_level=False, wanted=wanted[Tier.PROVINCE])
    for d, ((kind, place), count) in enumerate(zip(districts, communes, strict=True), 1):
        did = district_id(p, d)
        district = Agency(did, f"{_PREFIX}{kind.lower()} {place}", Tier.DISTRICT, prov.id)
        kept = keep is None or d <= keep[0]
        if kept:
            out += _with_units(
                district, gz.DISTRICT_UNITS, two_level=False, wanted=wanted[Tier.DISTRICT]
            )
        places = _Places(rng)
        for c in range(1, count + 1):
            if urban is None:
                ckind = _commune_kind(kind, c, rng)
            else:
                wards, towns = urban[d - 1]
                ckind = "Phường" if c <= wards else "Thị trấn" if c <= wards + towns else "Xã"
            commune = Agency(
                commune_id(p, d, c), f"{_PREFIX}{ckind.lower()} {places.next()}", Tier.COMMUNE, did
            )
            if kept and (keep is None or c <= keep[1]):
                out += _with_units(
                    commune, gz.COMMUNE_UNITS, two_level=False, wanted=wanted[Tier.COMMUNE]
                )
    return out


def _national_counts() -> dict[str, tuple[int, int]]:
    """Districts and communes per province in early 2025 (gazetteer.NATIONAL figures)."""
    names = [row[1] for row in gz.PROVINCES]
    pinned = gz.PINNED_EARLY_2025
    districts = _pinned_apportion(
        gz.DISTRICTS_EARLY_2025,
        names,
        [row[3] for row in gz.PROVINCES],
        {n: d for n, (d, _) in pinned.items()},
    )
    communes = _pinned_apportion(
        gz.COMMUNES_EARLY_2025,
        names,
        [row[4] for row in gz.PROVINCES],
        {n: c for n, (_, c) in pinned.items()},
    )
    return {n: (districts[n], communes[n]) for n in names}


def _generated_province(
    p: int, name: str, city: bool, n_d: int, n_c: int, **part: Any
) -> list[Agency]:
    if p == gz.HAU_GIANG:
        return _hau_giang(**part)
    rng = _rng(f"shape:{p}")
    places = _Places(rng)
    districts = [(kind, places.next()) for kind in _district_kinds(n_d, city)]
    weights = [rng.uniform(0.4, 1.6) for _ in range(n_d)]
    return _four_tier_province(p, name, city, districts, _apportion(n_c, weights), **part)


def _hau_giang(**part: Any) -> list[Agency]:
    p = gz.HAU_GIANG
    _, name, city, _, _ = gz.PROVINCES[p - 1]
    districts = []
    for full in gz.HAU_GIANG_DISTRICTS:
        kind = next(k for k in ("Thành phố", "Thị xã", "Huyện") if full.startswith(k + " "))
        districts.append((kind, full[len(kind) + 1 :]))
    communes = (9, 6, 9, 9, 10, 15, 10, 7)  # 75, early 2025
    return _four_tier_province(p, name, city, districts, communes, urban=gz.HAU_GIANG_URBAN, **part)


def _national() -> list[Agency]:
    out = _central(gz.CENTRAL_EARLY_2025, two_level=False)
    counts = _national_counts()
    for p, name, city, _, _ in gz.PROVINCES:
        out += _generated_province(p, name, city, *counts[name])
    return out


def _province_preset() -> list[Agency]:
    return _central(gz.PROVINCE_PARTNERS, two_level=False) + _hau_giang()


# The `tiny` preset: two provinces of `national`, two districts each, two communes per
# district, and a few units per body (few agencies: tests generate keys for all of them).
_TINY_UNITS: Mapping[Tier, Sequence[int] | None] = MappingProxyType(
    {Tier.CENTRAL: (2,), Tier.PROVINCE: (1, 16), Tier.DISTRICT: (1, 9), Tier.COMMUNE: (101,)}
)


def _tiny() -> list[Agency]:
    out = _central((5, 14, 22), two_level=False, wanted=_TINY_UNITS[Tier.CENTRAL])
    counts = _national_counts()
    for p, name, city, _, _ in gz.PROVINCES[:2]:
        out += _generated_province(p, name, city, *counts[name], keep=(2, 2), wanted=_TINY_UNITS)
    return out


def _two_level() -> list[Agency]:
    old = {name: n_c for _, name, _, _, n_c in gz.PROVINCES}
    names = [name for name, _, _ in gz.MERGED_2025]
    weights = [float(sum(old[o] for o in olds)) for _, _, olds in gz.MERGED_2025]
    counts = _pinned_apportion(gz.COMMUNES_2025, names, weights, gz.PINNED_2025)
    zones = {n: gz.SPECIAL_ZONES.get(n, ()) for n in names}
    urban = [counts[n] * (0.45 if city else 0.17) for n, city, _ in gz.MERGED_2025]
    wards = dict(zip(names, _apportion(gz.WARDS_2025, urban, cap=99 * 99), strict=True))
    out = _central(gz.CENTRAL_2025, two_level=True)
    for name, city, _ in gz.MERGED_2025:
        p = gz.PROVINCE_BY_NAME[name]
        rng = _rng(f"names2025:{p}")
        prov = _province(p, name, city)
        out += _with_units(prov, gz.PROVINCE_UNITS, two_level=True)
        kinds = ["phường"] * wards[name] + ["xã"] * (counts[name] - wards[name] - len(zones[name]))
        rng.shuffle(kinds)
        kinds = ["đặc khu"] * len(zones[name]) + kinds
        places = _Places(rng)
        for k, kind in enumerate(kinds):
            place = zones[name][k] if kind == "đặc khu" else places.next()
            commune = Agency(
                commune_id(p, 90 + k // 99, k % 99 + 1),
                f"{_PREFIX}{kind} {place}",
                Tier.COMMUNE,
                prov.id,
            )
            out += _with_units(commune, gz.COMMUNE_UNITS, two_level=True, ward=kind == "phường")
    return out


_SKELETONS = {
    Preset.NATIONAL: _national,
    Preset.PROVINCE: _province_preset,
    Preset.TINY: _tiny,
    Preset.TWO_LEVEL_2025: _two_level,
}


# -- scenario -------------------------------------------------------------------------------
def _apply_connection(agencies: list[Agency], scenario: Scenario) -> list[Agency]:
    ids = {a.id for a in agencies}
    for forced in (*scenario.connected, *scenario.disconnected):
        if forced not in ids:
            raise DirectoryError(f"scenario names unknown agency {forced}")
    on: set[str] = set()
    # bodies and units of a tier are drawn apart: adding units leaves the bodies' draw as
    # it was, and each gets round(share x n) connected
    groups: dict[tuple[Tier, bool], list[str]] = {}
    for a in agencies:
        groups.setdefault((a.tier, a.id[:3] != "000"), []).append(a.id)
    for (tier, unit), members in groups.items():
        members.sort()
        k = round(scenario.connected_share[tier] * len(members))
        rng = _rng(f"connected:{scenario.seed}:{tier.value}" + (":units" if unit else ""))
        on.update(rng.sample(members, k))
    on |= set(scenario.connected)
    on -= set(scenario.disconnected)
    # skeletons are built connected: only the others are made anew
    return [
        a if (a.id in on) is a.connected else Agency(a.id, a.name, a.tier, a.parent, a.id in on)
        for a in agencies
    ]


def _random_downtime(agencies: list[Agency], scenario: Scenario) -> tuple[Downtime, ...]:
    out: list[Downtime] = []
    for i, spec in enumerate(scenario.random_downtime):
        rng = _rng(f"downtime:{scenario.seed}:{i}")
        members = sorted(a.id for a in agencies if a.tier is spec.tier and a.connected)
        for agency in rng.sample(members, round(spec.share * len(members))):
            start = round(rng.uniform(0, spec.within_s - spec.duration_s), 3)
            out.append(Downtime(agency, start, spec.duration_s))
    return tuple(out)


def build_directory(preset: str, scenario: Any = None) -> Directory:
    """`build` under the name the commands use: a preset name under a scenario."""
    return build(preset, scenario)
