"""The records behind each recomputed figure, so a differing figure names them (pure).

Kept only when the audit compares with a live report (`--compare`): one location
(topic, partition, offset) per counted unit and one (value, location) per latency, in
the tier of the recipient, as `metrics.coverage` counts them. For a differing count the
finding names the records the audit counted; for a differing percentile, the records
whose latency is nearest the audit's value (for `max`, the slowest).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from interchange.audit.compare import PERCENTILES, Comparison
from interchange.audit.findings import Finding, Kind
from interchange.wire.model import ReasonCode, Tier

Loc = tuple[str, int, int]  # topic, partition, offset
SHOWN = 10  # locations named in one finding
TRACED = (
    "addressed",
    "excluded_classified",
    "not_connected",
    "delivered",
    "within_sla",
    "duplicates",
    "signature_invalid",
)
FAMILIES = ("latency", "before_router", "after_router", "ack")


class Evidence:
    """Locations per (recipient tier, figure); latencies per (tier, family)."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], list[Loc]] = {}
        self.latencies: dict[tuple[str, str], list[tuple[int, Loc]]] = {}

    def count(self, tier: Tier, figure: str, loc: Loc) -> None:
        self.counts.setdefault((tier.value, figure), []).append(loc)

    def rejection(self, tier: Tier, reason: ReasonCode, loc: Loc) -> None:
        """As `RunMetrics.record_rejected` splits them: excluded, not connected, or by reason."""
        if reason is ReasonCode.CLASSIFIED:
            self.count(tier, "excluded_classified", loc)
        elif reason is ReasonCode.NOT_CONNECTED:
            self.count(tier, "not_connected", loc)
        else:
            self.count(tier, f"rejected {reason.value}", loc)

    def latency(self, tier: Tier, family: str, value_us: int, loc: Loc) -> None:
        self.latencies.setdefault((tier.value, family), []).append((value_us, loc))

    def behind(self, row: Comparison) -> list[Loc] | None:
        """The records behind the audit's side of one compared figure (deduplicated);
        None for a figure not traced to records (the work funnel, exchanged)."""
        tiers = [t.value for t in Tier] if row.tier == "all" else [row.tier]
        family, _, stat = row.figure.rpartition(" ")
        if row.figure not in TRACED and family not in ("rejected", *FAMILIES):
            return None
        if family in FAMILIES:
            values = [v for t in tiers for v in self.latencies.get((t, family), [])]
            if stat == "count":
                return _unique(loc for _, loc in values)
            target = int(row.audit or 0)
            if stat == "max_us":
                values.sort(key=lambda v: -v[0])
            else:
                values.sort(key=lambda v: abs(v[0] - target))
            return _unique(loc for _, loc in values[:SHOWN])
        figure = "delivered" if row.figure == "within_sla" else row.figure
        return _unique(loc for t in tiers for loc in self.counts.get((t, figure), []))


def _unique(locs: Iterable[Loc]) -> list[Loc]:
    return list(dict.fromkeys(locs))


def named_differences(rows: Sequence[Comparison], evidence: Evidence | None) -> list[Finding]:
    """One FIGURE_DIFFERS finding per differing figure, naming the records behind it."""
    out: list[Finding] = []
    for r in rows:
        if r.agrees is not False:
            continue
        detail = f"{r.tier} {r.figure}: live {r.live}, audit {r.audit}"
        locs = evidence.behind(r) if evidence is not None else None
        if locs is None:
            out.append(Finding(Kind.FIGURE_DIFFERS, detail))
            continue
        if not locs:
            out.append(Finding(Kind.FIGURE_DIFFERS, detail + "; the audit counted no record"))
            continue
        names = ", ".join(f"{t}[{p}]@{o}" for t, p, o in locs[:SHOWN])
        more = f" and {len(locs) - SHOWN:,} more" if len(locs) > SHOWN else ""
        stat = r.figure.rpartition(" ")[2]
        what = "nearest that value" if stat in PERCENTILES else "counted"
        first = locs[0]
        out.append(
            Finding(
                Kind.FIGURE_DIFFERS,
                f"{detail}; records {what}: {names}{more}",
                first[0],
                first[1],
                first[2],
            )
        )
    return out
