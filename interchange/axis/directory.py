"""The agency directory: who exists, who is whose parent, who is on the axis.

Agency ids have the shape `DDD.DD.DD.Xnn` (docs/RULES.md), most significant block on
the right. The simulator's own scheme (docs/WORKLOAD.md, "Agency ids"):

    central body   000.00.00.Gnn    nn = 01..99 (Government Office is G22)
    province       000.00.00.Hpp    pp = 01..99 (H14, H29, H30, H41 as in public documents)
    district       000.00.DD.Hpp    DD = 01..89, the district within province pp
    commune        000.CC.DD.Hpp    CC = 01..99, the commune within district DD
    unit           UUU.CC.DD.Xnn    UUU = 001..999, a unit of the body 000.CC.DD.Xnn

A body is a central body or a People's Committee. Its units are its departments and
offices (`UUU` 001..099: Sở, ban, phòng, Vụ, Văn phòng, Thanh tra) and its
public-service units (100..999); a unit belongs to the tier of its body, so the
tier and the kind of any id follow from its shape alone. The letter of `Xnn` is G
or H; an id with any other letter (e.g. `000.00.00.K01`) is outside the scheme: it
has no tier, no directory may hold it, so the router rejects it as an unknown sender
or recipient and counts it under no tier. In the two-level (2025) preset communes
hang directly under a province; they keep the commune shape, with `DD` 90..99
numbering blocks of 99 communes, so no 2025 commune reuses the id of an older one.

The directory is a value: built deterministically from a preset and a scenario
(see `interchange.axis.presets`), saved to and loaded from JSON (a user may
edit the file), and validated on every construction.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from interchange.errors import DirectoryError
from interchange.wire.model import Agency, Tier

FORMAT = "interchange-directory/1"
ID_PATTERN = re.compile(r"^(\d{3})\.(\d{2})\.(\d{2})\.([A-Z])(\d{2})$")
TIER_LETTERS = "GH"  # G: central bodies; H: provinces and the districts and communes under them


def central_id(n: int) -> str:
    return f"000.00.00.G{_check_index(n)}"


def province_id(p: int) -> str:
    return f"000.00.00.H{_check_index(p)}"


def district_id(p: int, d: int) -> str:
    return f"000.00.{_check_index(d)}.H{_check_index(p)}"


def commune_id(p: int, d: int, c: int) -> str:
    """Commune `c` of district `d` (or of block `d` in a two-level directory) of province `p`."""
    return f"000.{_check_index(c)}.{_check_index(d)}.H{_check_index(p)}"


def _check_index(n: int) -> str:
    if not 1 <= n <= 99:
        raise DirectoryError(f"id block index {n} out of range 1..99")
    return f"{n:02d}"


def unit_id(body: str, number: int) -> str:
    """Unit `number` (1..999) of the body `body` (an id whose unit block is 000)."""
    if not 1 <= number <= 999 or not body.startswith("000."):
        raise DirectoryError(f"unit {number} of {body}: number 1..999 under a body id")
    return f"{number:03d}{body[3:]}"


class AgencyKind(enum.StrEnum):
    """What an agency is, read from the unit block of its id."""

    BODY = "body"  # 000: a central body or a People's Committee
    DEPARTMENT = "department"  # 001..099: Sở, ban, phòng, Vụ, Văn phòng, Thanh tra
    PUBLIC_SERVICE = "public-service"  # 100..999: public-service units (đơn vị sự nghiệp)


def kind_of_id(agency_id: str) -> AgencyKind:
    """The kind an id denotes by its unit block (the id's shape is not checked here)."""
    unit = agency_id[:3]
    if unit == "000":
        return AgencyKind.BODY
    return AgencyKind.DEPARTMENT if unit < "100" else AgencyKind.PUBLIC_SERVICE


def body_of_id(agency_id: str) -> str:
    """The id of the body an agency belongs to (itself for a body)."""
    return "000" + agency_id[3:]


def is_valid_id(agency_id: str) -> bool:
    try:
        tier_of_id(agency_id)
    except DirectoryError:
        return False
    return True


def attributed_tier(by_id: Mapping[str, Agency], agency_id: str) -> Tier | None:
    """The tier counts are booked under: the directory's, else the id's shape, else None.

    One rule for the router's metrics and the audit, so that recomputed figures
    match live ones even for ids outside the directory.
    """
    agency = by_id.get(agency_id)
    if agency is not None:
        return agency.tier
    try:
        return tier_of_id(agency_id)
    except DirectoryError:
        return None


def tier_of_id(agency_id: str) -> Tier:
    """The tier an id denotes by its shape alone; DirectoryError if it is not in the scheme."""
    m = ID_PATTERN.match(agency_id)
    if m is None:
        raise DirectoryError(f"{agency_id!r} is not an id of the shape DDD.DD.DD.Xnn")
    _unit, commune, district, letter, level1 = m.groups()
    if letter not in TIER_LETTERS:
        raise DirectoryError(
            f"{agency_id!r}: letter {letter} is neither G (central) nor H (province, district,"
            " commune): outside the scheme, no tier"
        )
    if level1 == "00":
        raise DirectoryError(f"{agency_id!r}: Xnn must be at least 01")
    if letter == "G":
        if commune != "00" or district != "00":
            raise DirectoryError(f"{agency_id!r}: a central body id is 000.00.00.Gnn")
        return Tier.CENTRAL
    if district == "00":
        if commune != "00":
            raise DirectoryError(f"{agency_id!r}: a commune needs a district/block number")
        return Tier.PROVINCE
    return Tier.DISTRICT if commune == "00" else Tier.COMMUNE


@dataclass(frozen=True, slots=True)
class Downtime:
    """An agency off the axis from `start_s` (seconds after run start) for `duration_s`."""

    agency: str
    start_s: float
    duration_s: float

    def covers(self, offset_s: float) -> bool:
        return self.start_s <= offset_s < self.start_s + self.duration_s


# The tier above each tier, as parents are checked (communes: district, or province
# when the directory has no district tier).
_PARENT_TIER = {Tier.DISTRICT: Tier.PROVINCE, Tier.COMMUNE: Tier.DISTRICT}


@dataclass(frozen=True)
class Directory:
    """All agencies with parent links and connection flags; validated and indexed at creation."""

    agencies: tuple[Agency, ...]
    downtime: tuple[Downtime, ...] = ()
    preset: str = "custom"
    as_of: str = ""  # the date the preset's data describes (ISO), "" when unknown
    by_id: Mapping[str, Agency] = field(init=False, repr=False, compare=False)
    _children: Mapping[str, tuple[Agency, ...]] = field(init=False, repr=False, compare=False)
    _of_tier: Mapping[Tier, tuple[Agency, ...]] = field(init=False, repr=False, compare=False)
    _bodies: Mapping[Tier, tuple[Agency, ...]] = field(init=False, repr=False, compare=False)
    _units: Mapping[Tier, tuple[Agency, ...]] = field(init=False, repr=False, compare=False)
    _downtime: Mapping[str, tuple[Downtime, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_id: dict[str, Agency] = {}
        for agency in self.agencies:
            if agency.id in by_id:
                raise DirectoryError(f"duplicate agency id {agency.id}")
            shape = tier_of_id(agency.id)
            if shape is not agency.tier:
                raise DirectoryError(
                    f"{agency.id} has the shape of a {shape} but is listed as {agency.tier}"
                )
            if not agency.name.strip():
                raise DirectoryError(f"{agency.id} has an empty name")
            by_id[agency.id] = agency
        tiers = {a.tier for a in self.agencies if a.id.startswith("000.")}
        children: dict[str, list[Agency]] = {}
        for agency in self.agencies:
            self._check_parent(agency, by_id, tiers)
            if agency.parent is not None:
                children.setdefault(agency.parent, []).append(agency)
        windows: dict[str, list[Downtime]] = {}
        for window in self.downtime:
            if window.agency not in by_id:
                raise DirectoryError(f"downtime for unknown agency {window.agency}")
            if window.start_s < 0 or window.duration_s <= 0:
                raise DirectoryError(
                    f"downtime of {window.agency}: start must be >= 0 and duration > 0"
                )
            windows.setdefault(window.agency, []).append(window)
        setattr_ = object.__setattr__
        setattr_(self, "by_id", MappingProxyType(by_id))
        setattr_(self, "_children", MappingProxyType({k: tuple(v) for k, v in children.items()}))
        of_tier: dict[Tier, list[Agency]] = {t: [] for t in Tier}
        bodies: dict[Tier, list[Agency]] = {t: [] for t in Tier}
        units: dict[Tier, list[Agency]] = {t: [] for t in Tier}
        for agency in self.agencies:
            of_tier[agency.tier].append(agency)
            (bodies if agency.id.startswith("000.") else units)[agency.tier].append(agency)
        for name, value in (("_of_tier", of_tier), ("_bodies", bodies), ("_units", units)):
            setattr_(self, name, MappingProxyType({t: tuple(v) for t, v in value.items()}))
        setattr_(self, "_downtime", MappingProxyType({k: tuple(v) for k, v in windows.items()}))

    @staticmethod
    def _check_parent(agency: Agency, by_id: Mapping[str, Agency], tiers: set[Tier]) -> None:
        unit = agency.id[:3]
        if unit != "000":
            up = agency.parent or ""
            if (  # the common case at once: a unit under its body, or under a department
                up[3:] == agency.id[3:]
                and up in by_id
                and (up[:3] == "000" or (unit >= "100" and up[:3] < "100"))
            ):
                return
            Directory._check_unit_parent(agency, by_id)
            return
        expected = _PARENT_TIER.get(agency.tier)
        if expected is Tier.DISTRICT and Tier.DISTRICT not in tiers:
            expected = Tier.PROVINCE  # two-level directory
        if expected is None:
            if agency.parent is not None:
                raise DirectoryError(f"{agency.id} ({agency.tier}) must have no parent")
            return
        parent = by_id.get(agency.parent or "")
        if parent is None:
            raise DirectoryError(f"{agency.id}: parent {agency.parent!r} is not in the directory")
        if parent.tier is not expected:
            raise DirectoryError(
                f"{agency.id}: parent {parent.id} is a {parent.tier}, expected a {expected}"
            )
        start = 7 if parent.tier is Tier.DISTRICT else 10
        if parent.id[start:] != agency.id[start:]:
            raise DirectoryError(f"{agency.id} is not numbered under its parent {parent.id}")

    @staticmethod
    def _check_unit_parent(agency: Agency, by_id: Mapping[str, Agency]) -> None:
        """A department hangs under its body; a public-service unit under its body or one
        of the body's departments (so parent chains end at the body, without cycles)."""
        body = body_of_id(agency.id)
        if body not in by_id:
            raise DirectoryError(f"{agency.id}: its body {body} is not in the directory")
        allowed = {AgencyKind.BODY}
        if kind_of_id(agency.id) is AgencyKind.PUBLIC_SERVICE:
            allowed.add(AgencyKind.DEPARTMENT)
        parent = agency.parent or ""
        if parent not in by_id:
            raise DirectoryError(f"{agency.id}: parent {agency.parent!r} is not in the directory")
        if body_of_id(parent) != body or kind_of_id(parent) not in allowed:
            raise DirectoryError(
                f"{agency.id} ({kind_of_id(agency.id)}) is not numbered under its parent "
                f"{parent}: a unit hangs under its body {body}"
                + (" or one of its departments" if len(allowed) > 1 else "")
            )

    # -- queries ---------------------------------------------------------------------------
    def __contains__(self, agency_id: object) -> bool:
        return agency_id in self.by_id

    def __iter__(self) -> Iterator[Agency]:
        return iter(self.agencies)

    def __len__(self) -> int:
        return len(self.agencies)

    def get(self, agency_id: str) -> Agency:
        try:
            return self.by_id[agency_id]
        except KeyError:
            raise DirectoryError(f"agency {agency_id} is not in the directory") from None

    def tier_of(self, agency_id: str) -> Tier:
        return self.get(agency_id).tier

    def attributed_tier(self, agency_id: str) -> Tier | None:
        return attributed_tier(self.by_id, agency_id)

    def required_tier(self, agency_id: str) -> Tier:
        """`attributed_tier`, or DirectoryError for an id that is not an agency id at all."""
        tier = attributed_tier(self.by_id, agency_id)
        if tier is None:
            raise DirectoryError(f"{agency_id!r} is neither in the directory nor an agency id")
        return tier

    def is_connected(self, agency_id: str) -> bool:
        """On the axis (False for unknown ids); downtime is separate, see `is_down`."""
        agency = self.by_id.get(agency_id)
        return agency is not None and agency.connected

    connected = is_connected  # the name used in ARCHITECTURE.md

    def children(self, agency_id: str) -> tuple[Agency, ...]:
        return self._children.get(agency_id, ())

    def of_tier(self, tier: Tier) -> tuple[Agency, ...]:
        """Every agency of `tier`: bodies and their units."""
        return self._of_tier[tier]

    def bodies(self, tier: Tier) -> tuple[Agency, ...]:
        """The central bodies or People's Committees of `tier`, without their units."""
        return self._bodies[tier]

    def units(self, tier: Tier) -> tuple[Agency, ...]:
        """The departments and public-service units of `tier`'s bodies."""
        return self._units[tier]

    def units_of(self, body: str) -> tuple[Agency, ...]:
        """The units of one body: its departments and their public-service units."""
        found: list[Agency] = []
        for child in self.children(body):
            if not child.id.startswith("000."):
                found.append(child)
                found.extend(c for c in self.children(child.id) if body_of_id(c.id) == body)
        return tuple(found)

    def body_of(self, agency_id: str) -> Agency:
        """The body an agency belongs to (itself for a body)."""
        return self.get(body_of_id(agency_id))

    @property
    def tiers(self) -> tuple[Tier, ...]:
        """Tiers present, top-down."""
        return tuple(t for t in Tier if self._of_tier[t])

    def descendants(self, agency_id: str, tier: Tier) -> tuple[Agency, ...]:
        """Agencies of `tier` below `agency_id` (children, grandchildren)."""
        found: list[Agency] = []
        stack = list(self.children(agency_id))
        while stack:
            agency = stack.pop()
            if agency.tier is tier:
                found.append(agency)
            else:
                stack.extend(self.children(agency.id))
        return tuple(sorted(found, key=lambda a: a.id))

    def ancestor(self, agency_id: str, tier: Tier) -> Agency | None:
        agency: Agency | None = self.get(agency_id)
        while agency is not None and agency.tier is not tier:
            agency = self.by_id.get(agency.parent) if agency.parent else None
        return agency

    def downtime_of(self, agency_id: str) -> tuple[Downtime, ...]:
        return self._downtime.get(agency_id, ())

    def is_down(self, agency_id: str, offset_s: float) -> bool:
        return any(w.covers(offset_s) for w in self.downtime_of(agency_id))

    def counts(self) -> dict[Tier, tuple[int, int]]:
        """Per tier: (agencies, connected agencies), units included."""
        return {t: (len(a), sum(x.connected for x in a)) for t, a in self._of_tier.items()}

    def counts_by_kind(self) -> dict[Tier, dict[AgencyKind, int]]:
        """Per tier: how many bodies, departments and public-service units."""
        out: dict[Tier, dict[AgencyKind, int]] = {t: dict.fromkeys(AgencyKind, 0) for t in Tier}
        for agency in self.agencies:
            out[agency.tier][kind_of_id(agency.id)] += 1
        return out

    # -- files -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "preset": self.preset,
            "as_of": self.as_of,
            "agencies": [
                {
                    "id": a.id,
                    "name": a.name,
                    "tier": a.tier.value,
                    "parent": a.parent,
                    "connected": a.connected,
                }
                for a in self.agencies
            ],
            "downtime": [
                {"agency": w.agency, "start_s": w.start_s, "duration_s": w.duration_s}
                for w in self.downtime
            ],
        }

    @classmethod
    def from_dict(cls, data: Any) -> Directory:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise DirectoryError(f"not a directory file (expected format {FORMAT!r})")
        _only_keys(data, {"format", "preset", "as_of", "agencies", "downtime"}, "directory")
        try:
            agencies = tuple(_agency(item) for item in data["agencies"])
            downtime = tuple(_downtime(item) for item in data.get("downtime", []))
        except (KeyError, TypeError, ValueError) as exc:
            raise DirectoryError(f"bad directory entry: {exc!r}") from exc
        preset, as_of = str(data.get("preset", "custom")), str(data.get("as_of", ""))
        return cls(agencies, downtime, preset, as_of)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(self.to_dict(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )

    @classmethod
    def load(cls, path: Path) -> Directory:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DirectoryError(f"cannot read directory file {path}: {exc}") from exc
        return cls.from_dict(data)


def _only_keys(item: Mapping[str, Any], allowed: set[str], what: str) -> None:
    unknown = set(item) - allowed
    if unknown:
        raise DirectoryError(f"unknown key(s) in {what}: {', '.join(sorted(unknown))}")


def _agency(item: Any) -> Agency:
    if not isinstance(item, dict):
        raise TypeError(f"agency entry must be an object, got {item!r}")
    _only_keys(item, {"id", "name", "tier", "parent", "connected"}, f"agency {item.get('id')}")
    parent = item.get("parent")
    connected = item.get("connected", True)
    if not isinstance(item["id"], str) or not isinstance(item["name"], str):
        raise TypeError(f"agency id and name must be strings: {item!r}")
    if parent is not None and not isinstance(parent, str):
        raise TypeError(f"parent must be a string or null: {item!r}")
    if not isinstance(connected, bool):
        raise TypeError(f"connected must be true or false: {item!r}")
    return Agency(item["id"], item["name"], Tier(item["tier"]), parent, connected)


def _downtime(item: Any) -> Downtime:
    if not isinstance(item, dict):
        raise TypeError(f"downtime entry must be an object, got {item!r}")
    _only_keys(item, {"agency", "start_s", "duration_s"}, "downtime")
    return Downtime(str(item["agency"]), float(item["start_s"]), float(item["duration_s"]))
