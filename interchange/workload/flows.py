"""Workload flows mapped onto a directory: which role pairs, and whom each sender writes to."""

from __future__ import annotations

from interchange.axis.directory import Directory
from interchange.errors import ConfigError
from interchange.wire.model import Agency, Tier
from interchange.workload.spec import Direction, Role, WorkloadSpec, direction_of


def members(d: Directory, role: Role) -> tuple[Agency, ...]:
    """The agencies that play `role`: the bodies of its tier, or their units."""
    return d.units(role.tier) if role.unit else d.bodies(role.tier)


def related(d: Directory, sender: str, role: Role) -> list[str]:
    """Natural recipients of `role` for `sender`.

    Bodies: own subtree down, own chain up, siblings sideways (central bodies and
    provinces: any peer). Units: within the sender's own body, a unit writes to the body
    and to the body's other units, and the body to its units; across bodies, the units
    of the bodies the sender's body would write to (a department of a province to the
    offices of its districts).
    """
    body = d.body_of(sender)
    if role.tier is body.tier and (role.unit or body.id != sender):
        if role.unit:
            return [u.id for u in d.units_of(body.id) if u.id != sender]
        return [body.id]
    bodies = _related_bodies(d, body, role.tier)
    if not role.unit:
        return bodies
    return [u.id for b in bodies for u in d.units_of(b)]


def _related_bodies(d: Directory, body: Agency, tier: Tier) -> list[str]:
    direction = direction_of(body.tier, tier)
    if direction is Direction.DOWN and body.tier is not Tier.CENTRAL:
        return [a.id for a in d.descendants(body.id, tier)]
    if direction is Direction.UP and tier is not Tier.CENTRAL:
        above = d.ancestor(body.id, tier)
        return [above.id] if above is not None else []
    if direction is Direction.SIDEWAYS and body.parent is not None:
        return [a.id for a in d.children(body.parent) if a.tier is tier and a.id.startswith("000.")]
    return [a.id for a in d.bodies(tier)]


def effective_flows(d: Directory, spec: WorkloadSpec) -> dict[tuple[Role, Role], float]:
    """The spec's flows mapped onto the tiers the directory has, without impossible pairs.

    A missing tier (districts in the 2025 preset) hands its weight to the nearest
    tier that keeps the flow's direction, bodies to bodies and units to units (a
    directive from a district now comes from the province, a report to a district
    office now goes to a department of the province); pairs with no connected sender,
    or no recipient besides the sender, are dropped.
    Weights are not renormalised (choice is relative).
    """
    present = d.tiers
    order = list(Tier)

    def mapped(r: Role, upwards: bool) -> Role:
        t = r.tier
        if t in present:
            return r
        above = [x for x in present if order.index(x) < order.index(t)]
        below = [x for x in present if order.index(x) > order.index(t)]
        near = (above[::-1] + below) if upwards else (below + above[::-1])
        return Role.of(near[0], r.unit)

    out: dict[tuple[Role, Role], float] = {}
    for (a, b), w in spec.flows.items():
        way = direction_of(a, b)  # keep the direction: district->commune becomes province->commune
        pair = (mapped(a, way is Direction.DOWN), mapped(b, way is Direction.UP))
        senders = [x for x in members(d, pair[0]) if x.connected]
        enough = len(members(d, pair[1])) >= (2 if pair[0] is pair[1] else 1)
        if w > 0 and senders and enough:
            out[pair] = out.get(pair, 0.0) + w
    if not out:
        raise ConfigError("no flow of the workload is possible in this directory")
    return out
