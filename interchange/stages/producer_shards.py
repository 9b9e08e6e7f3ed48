"""`interchange produce --instances N`: N producer processes, one shard of the workload
each, with one shared start time; their manifests merged into one.

The processes are `interchange produce --shard i/N` built by the stage argv builder
(`stages.producer_argv`), so a shard runs exactly as a simulation's producer stage
does. Their output goes to the parent's terminal. A stop (SIGINT/SIGTERM on the
parent) is passed on as SIGTERM: each shard flushes and writes its manifest.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interchange.kafka.seam import Stop
from interchange.settings import Settings
from interchange.stages.commands import Stage, producer_argv
from interchange.workload.manifest import merge_manifests, read_manifest, write_manifest

POLL_S = 0.2
CHILD_LEAD_S = 3.0  # shards import and connect before the shared start time
# A stopped shard flushes for at most the producer's STOP_FLUSH_S; a normal end flushes
# for up to its flush timeout (60 s) before it exits: killed only after that and more.
STOP_GRACE_S = 90.0


@dataclass(frozen=True, slots=True)
class ShardsResult:
    codes: tuple[int | None, ...]  # exit code of each shard process
    manifest: dict[str, Any]  # the merged manifest (written to the manifest path)

    @property
    def ok(self) -> bool:
        return all(c == 0 for c in self.codes) and len(self.manifest["shards"]) == len(self.codes)


def shard_stages(
    settings: Settings,
    directory_file: Path,
    out_dir: Path,
    *,
    instances: int,
    rate: float,
    count: int | None,
    duration: float | None,
    seed: int,
    faults: str,
    start_file: Path | None,
    start_at_us: int | None,
) -> list[Stage]:
    """One stage per shard; manifests and stats files `*-i-of-N.*` in `out_dir`."""
    n = instances
    return [
        Stage(
            f"producer {i}/{n}",
            producer_argv(
                settings,
                directory_file,
                out_dir,
                rate=rate,
                count=count,
                duration=duration,
                seed=seed,
                faults=faults,
                shard=(i, n),
                manifest=shard_manifest(out_dir, i, n),
                stats_file=out_dir / f"producer-{i}-of-{n}.stats.json",
                start_file=start_file,
                start_at_us=start_at_us if start_file is None else None,
            ),
            None,
            out_dir / f"producer-{i}-of-{n}.stats.json",
        )
        for i in range(n)
    ]


def shard_manifest(out_dir: Path, i: int, n: int) -> Path:
    return out_dir / f"manifest-{i}-of-{n}.json"


def run_shards(stages: list[Stage], out_dir: Path, manifest_path: Path, stop: Stop) -> ShardsResult:
    """Start the shard `stages`, wait for them (passing a stop on), merge their manifests
    into `manifest_path`."""
    for stage in stages:
        stage.start()
    while any(stage.running for stage in stages):
        if stop.wait(POLL_S):
            for stage in stages:
                stage.terminate()  # SIGTERM: the shard flushes and writes its manifest
            break
    codes = tuple(stage.wait(STOP_GRACE_S) for stage in stages)
    n = len(stages)
    parts = [shard_manifest(out_dir, i, n) for i in range(n)]
    merged = merge_manifests([read_manifest(p) for p in parts if p.exists()])
    write_manifest(manifest_path, merged)
    return ShardsResult(codes, merged)
