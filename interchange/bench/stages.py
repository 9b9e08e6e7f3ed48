"""The stage processes of one load-test step: start, wait until ready, observe, stop.

Routers and recipients are the stages `interchange simulate` runs (`interchange/stages/commands.py`:
the project's `route` and `recipients` commands as subprocesses with stats files),
plus the router's Prometheus text file for its lag. Producers are `AgencyProducer`s in
spawned processes, because the bench workload (one attachment size, one recipient, no
classified) is a `WorkloadSpec` the `produce` command has no flags for. Every stage
writes its stats every second; this module only reads them. What `simulate` would need
for `bench` to call it instead: docs/BENCHMARKS.md, "Orchestration".
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing as mp
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from interchange.axis.directory import Directory
from interchange.errors import ConfigError, InterchangeError
from interchange.kafka.seam import Stop
from interchange.metrics.run import RunMetrics, read_stats
from interchange.settings import Settings
from interchange.stages.commands import Stage, recipients_stage, router_stage
from interchange.workload.producer import ProducerConfig

READY_TIMEOUT_S = 60.0
ACCEPT_DELAY_S = 0.1  # mean simulated handling time before status 03 (simulate's default)
START_LEAD_US = 500_000  # producers start together, half a second after they are spawned
_LAG = re.compile(r"^interchange_router_lag_records\s+([0-9.e+]+)", re.M)
_ASSIGNED = re.compile(r"^interchange_router_assigned_partitions\s+([0-9.e+]+)", re.M)


class StageError(InterchangeError):
    pass


class BenchStoppedError(InterchangeError):
    """A stop was asked (SIGINT, SIGTERM) before the bench ended; its stages are stopped."""


@dataclass
class Stages:
    """Handles of one step's processes and where they write."""

    dir: Path
    routers: list[Stage] = field(default_factory=list)
    recipients: list[Stage] = field(default_factory=list)
    producers: list[Any] = field(default_factory=list)  # multiprocessing.Process

    @property
    def stats_dir(self) -> Path:
        return self.dir / "stats"

    def pids(self) -> list[tuple[str, int]]:
        out = [("router", _pid(s)) for s in self.routers]
        out += [("recipient", _pid(s)) for s in self.recipients]
        out += [("producer", int(p.pid)) for p in self.producers if p.pid is not None]
        return out

    def stats_files(self) -> list[Path]:
        return sorted(self.stats_dir.rglob("*.json"))

    def read(self) -> RunMetrics:
        try:
            return read_stats(self.stats_files(), missing_ok=True)
        except ConfigError:  # a file replaced under our feet: read again
            time.sleep(0.05)
            return read_stats(self.stats_files(), missing_ok=True)

    def router_gauges(self) -> tuple[int, int]:
        """(lag, assigned partitions) summed over routers, from their Prometheus files."""
        lag = assigned = 0
        for path in self.dir.glob("router-*.prom"):
            with contextlib.suppress(OSError):
                text = path.read_text()
                if m := _LAG.search(text):
                    lag += int(float(m.group(1)))
                if m := _ASSIGNED.search(text):
                    assigned += int(float(m.group(1)))
        return lag, assigned

    def recipients_ready(self) -> bool:
        for stage in self.recipients:
            try:
                assert stage.stats_file is not None
                extras = json.loads(stage.stats_file.read_text()).get("recipients", {})
            except (OSError, ValueError):
                return False
            if not extras.get("ready"):
                return False
        return True

    def producers_done(self) -> bool:
        return all(not p.is_alive() for p in self.producers)

    def failed(self) -> str:
        """A description of a stage that exited with an error ("" when none did)."""
        for stage in (*self.routers, *self.recipients):
            if stage.returncode not in (None, 0):
                return f"{stage.name} exited with code {stage.returncode}: {stage.log_tail(3)}"
        for p in self.producers:
            if p.exitcode not in (None, 0):
                return f"a producer process exited with code {p.exitcode}"
        return ""

    def stop(self) -> None:
        """SIGTERM every stage (each flushes and writes its stats), then wait."""
        for stage in (*self.routers, *self.recipients):
            stage.terminate()
        for stage in (*self.routers, *self.recipients):
            stage.wait()
        for prod in self.producers:  # done at a step's end; still sending if it was cut short
            if prod.is_alive():
                prod.terminate()  # SIGTERM: no report is made of a step cut short
            prod.join(timeout=10)
            if prod.is_alive():
                prod.kill()
                prod.join(timeout=5)


def _pid(stage: Stage) -> int:
    assert stage.process is not None
    return int(stage.process.pid)


def start_consumers(
    settings: Settings,
    directory_file: Path,
    step_dir: Path,
    *,
    routers: int,
    recipients: int,
    commit_interval_ms: int = 0,
    router_args: tuple[str, ...] = (),
    recipients_args: tuple[str, ...] = (),
    stop: Stop,
) -> Stages:
    """Start routers and recipients on the step's topics and wait until they have partitions."""
    stages = Stages(step_dir)
    logs = step_dir / "logs"
    for i in range(routers):
        stage = router_stage(
            settings, i, directory_file, stages.stats_dir, logs, static=routers == 1
        )
        stage.argv += ["--metrics-file", str(step_dir / f"router-{i}.prom")]
        stage.argv += ["--commit-interval-ms", str(commit_interval_ms), *router_args]
        stages.routers.append(stage)
    run_file = step_dir / "run.json"  # the recipients' downtime origin (no downtime here)
    step_dir.mkdir(parents=True, exist_ok=True)
    run_file.write_text(json.dumps({"start_us": time.time_ns() // 1000}))
    for i in range(recipients):
        stats_dir = stages.stats_dir / f"recipients-{i}"  # recipients_stage names its file
        stats_dir.mkdir(parents=True, exist_ok=True)
        stage = recipients_stage(
            settings, directory_file, stats_dir, logs, run_file=run_file, seed=i, verify=False,
            accept_delay_s=ACCEPT_DELAY_S, static=recipients == 1,
        )  # fmt: skip
        stage.name = f"recipients {i}"
        stage.argv += recipients_args
        stages.recipients.append(stage)
    stages.stats_dir.mkdir(parents=True, exist_ok=True)
    for stage in (*stages.routers, *stages.recipients):
        stage.start()
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        if failure := stages.failed():
            stages.stop()
            raise StageError(f"{failure}; logs in {logs}")
        _lag, assigned = stages.router_gauges()
        if assigned >= settings.submission_partitions and stages.recipients_ready():
            return stages
        if time.monotonic() > deadline:
            stages.stop()
            raise StageError(f"routers/recipients not ready in {READY_TIMEOUT_S:.0f} s")
        if stop.wait(0.2):
            stages.stop()
            raise BenchStoppedError("stopped while the stages started; every stage is stopped")


@dataclass(frozen=True, slots=True)
class ProducerJob:
    """What a spawned producer needs (picklable: the spec is rebuilt in the child)."""

    directory_file: Path
    rate: float
    duration_s: float
    attachment_bytes: int


def start_producers(
    settings: Settings, job: ProducerJob, stages: Stages, *, instances: int, seed: int
) -> int:
    """Spawn `instances` producer shards with a shared start time; return that time (µs)."""
    ctx = mp.get_context("spawn")
    start_us = time.time_ns() // 1000 + START_LEAD_US + 1_000_000  # spawn + imports take ~1 s
    for i in range(instances):
        stats = stages.stats_dir / f"producer-{i}.json"
        config = ProducerConfig(seed, start_us, i, instances, stats)
        proc = ctx.Process(target=_produce, args=(settings, job, config, os.getpid()), daemon=True)
        proc.start()
        stages.producers.append(proc)
    return start_us


def _produce(settings: Settings, job: ProducerJob, config: ProducerConfig, parent_pid: int) -> None:
    from interchange.bench.calc import bench_spec
    from interchange.pki.keystore import KeyStore
    from interchange.stages.lifeline import watch_parent
    from interchange.workload.producer import AgencyProducer

    stop = threading.Event()
    watch_parent(parent_pid, stop.set)  # a bench killed outright leaves no producer sending

    directory = Directory.load(job.directory_file)
    spec = bench_spec(job.rate, duration_s=job.duration_s, attachment_bytes=job.attachment_bytes)
    producer = AgencyProducer(settings, directory, spec, KeyStore.open(settings.keys_dir), config)
    result = producer.run(stop)
    if result.failed:
        raise SystemExit(f"producer shard {config.shard}: {result.failed} sends failed")
