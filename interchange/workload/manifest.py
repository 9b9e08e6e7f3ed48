"""Producer manifests: reading, writing and merging the per-process JSON of a run.

A manifest records what was sent (counts per tier, priority, secrecy, fault and
expected outcome), the seed and spec that regenerate it, and the schedule lag.
Several producer processes of one run write one each; `merge_manifests` adds
them into the run's manifest (the histogram of lag is merged, not averaged).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from interchange.atomic import atomic_write_text
from interchange.errors import ConfigError
from interchange.metrics.histogram import LatencyHistogram

LAG_PERCENTILES = (50.0, 90.0, 99.0, 99.9, 100.0)
_SAME = ("format", "seed", "preset", "spec", "topic")


def lag_summary(lag: LatencyHistogram) -> dict[str, Any]:
    values = lag.percentiles(LAG_PERCENTILES)
    return {
        "count": lag.count,
        "mean_us": round(lag.mean, 1),
        **{f"p{p:g}_us": v for p, v in values.items()},
        "late_over_10ms": lag.count - lag.count_at_or_below(10_000),
        "late_over_1s": lag.count - lag.count_at_or_below(1_000_000),
    }


def write_manifest(path: Path, manifest: Mapping[str, Any]) -> None:
    atomic_write_text(Path(path), json.dumps(manifest, ensure_ascii=False, indent=1) + "\n")


def read_manifest(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read manifest {path}: {exc}") from exc
    if not isinstance(data, dict) or "sent" not in data:
        raise ConfigError(f"{path} is not a producer manifest")
    return data


def merge_manifests(parts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One manifest for the run from its processes' manifests (same seed, spec, topic)."""
    if not parts:
        raise ConfigError("no manifest to merge")
    first = parts[0]
    for part in parts[1:]:
        for key in _SAME:
            if part.get(key) != first.get(key):
                raise ConfigError(f"manifests of different runs: {key} differs")
    lag = LatencyHistogram()
    for part in parts:
        lag.merge(LatencyHistogram.decode(part["schedule_lag_hdr"]))
    merged = dict(first)
    merged.update(
        start_us=min(p["start_us"] for p in parts),
        end_us=max(p["end_us"] for p in parts),
        shards=sorted(s for p in parts for s in p["shards"]),
        sent=_sum([p["sent"] for p in parts]),
        acked=sum(p["acked"] for p in parts),
        failed=sum(p["failed"] for p in parts),
        first_error=next((p["first_error"] for p in parts if p["first_error"]), ""),
        stopped_early=any(p["stopped_early"] for p in parts),
        schedule_lag=lag_summary(lag),
        schedule_lag_hdr=lag.encode(),
    )
    return merged


def _sum(values: Sequence[Any]) -> Any:
    if all(isinstance(v, int) for v in values):
        return sum(values)
    if all(isinstance(v, Mapping) for v in values):
        keys = sorted({k for v in values for k in v})
        return {k: _sum([v[k] for v in values if k in v]) for k in keys}
    raise ConfigError("manifest counts of different shapes")
