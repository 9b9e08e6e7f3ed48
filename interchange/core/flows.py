"""Workload flows mapped onto a directory: which tier pairs, and whom each sender writes to."""

from __future__ import annotations

from interchange.core.directory import Directory
from interchange.core.model import Tier
from interchange.core.workload_spec import Direction, WorkloadSpec, direction_of
from interchange.errors import ConfigError


def related(d: Directory, sender: str, tier: Tier) -> list[str]:
    """Natural recipients of `tier` for `sender`: own subtree down, own chain up, siblings."""
    own = d.tier_of(sender)
    direction = direction_of(own, tier)
    parent = d.get(sender).parent
    if direction is Direction.DOWN and own is not Tier.CENTRAL:
        return [a.id for a in d.descendants(sender, tier)]
    if direction is Direction.UP and tier is not Tier.CENTRAL:
        above = d.ancestor(sender, tier)
        return [above.id] if above is not None else []
    if direction is Direction.SIDEWAYS and parent is not None:
        return [a.id for a in d.children(parent) if a.tier is tier]
    return [a.id for a in d.of_tier(tier)]


def effective_flows(d: Directory, spec: WorkloadSpec) -> dict[tuple[Tier, Tier], float]:
    """The spec's flows mapped onto the tiers the directory has, without impossible pairs.

    A missing tier (districts in the 2025 preset) hands its weight to the nearest
    tier that keeps the flow's direction (a directive from a district now comes from
    the province, a report to a district now goes to the province); pairs with no
    connected sender, or no recipient besides the sender, are dropped.
    Weights are not renormalised (choice is relative).
    """
    present = d.tiers
    order = list(Tier)

    def mapped(t: Tier, upwards: bool) -> Tier:
        if t in present:
            return t
        above = [x for x in present if order.index(x) < order.index(t)]
        below = [x for x in present if order.index(x) > order.index(t)]
        if upwards:
            return above[-1] if above else below[0]
        return below[0] if below else above[-1]

    out: dict[tuple[Tier, Tier], float] = {}
    for (a, b), w in spec.flows.items():
        way = direction_of(a, b)  # keep the direction: district->commune becomes province->commune
        pair = (mapped(a, way is Direction.DOWN), mapped(b, way is Direction.UP))
        senders = [x for x in d.of_tier(pair[0]) if x.connected]
        enough = len(d.of_tier(pair[1])) >= (2 if pair[0] is pair[1] else 1)
        if w > 0 and senders and enough:
            out[pair] = out.get(pair, 0.0) + w
    if not out:
        raise ConfigError("no flow of the workload is possible in this directory")
    return out
