"""The stage processes of one load-test step: start, wait until ready, observe, stop.

Routers and recipients are the project's own commands (`interchange route`,
`interchange recipients`) as subprocesses, each with a stats file (and the router a
Prometheus text file for its lag); producers are `AgencyProducer`s in spawned
processes, because the bench workload (one attachment size, one recipient) is a
`WorkloadSpec` the `produce` command has no flags for. Every stage writes its stats
every second; this module only reads them.

When `interchange simulate`'s orchestration (pipeline/simulate.py) offers the same
(start with a WorkloadSpec, pids, stats files, a readiness wait), this module should
become a thin call to it: see docs/BENCHMARKS.md, "Orchestration".
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing as mp
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from interchange.core.directory import Directory
from interchange.core.metrics import RunMetrics, read_stats
from interchange.errors import InterchangeError
from interchange.pipeline.producer import ProducerConfig
from interchange.settings import Settings

READY_TIMEOUT_S = 60.0
START_LEAD_US = 500_000  # producers start together, half a second after they are spawned
_LAG = re.compile(r"^interchange_router_lag_records\s+([0-9.e+]+)", re.M)
_ASSIGNED = re.compile(r"^interchange_router_assigned_partitions\s+([0-9.e+]+)", re.M)


class StageError(InterchangeError):
    pass


@dataclass
class Stages:
    """Handles of one step's processes and where they write."""

    dir: Path
    routers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    recipients: list[subprocess.Popen[bytes]] = field(default_factory=list)
    producers: list[Any] = field(default_factory=list)  # multiprocessing.Process
    logs: list[Any] = field(default_factory=list)

    def pids(self) -> list[tuple[str, int]]:
        out = [("router", p.pid) for p in self.routers]
        out += [("recipient", p.pid) for p in self.recipients]
        out += [("producer", int(p.pid)) for p in self.producers if p.pid is not None]
        return out

    def stats_files(self) -> list[Path]:
        return sorted(self.dir.glob("*.stats.json"))

    def producer_stats(self) -> list[Path]:
        return sorted(self.dir.glob("producer-*.stats.json"))

    def read(self) -> RunMetrics:
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
        files = list(self.dir.glob("recipients-*.stats.json"))
        if len(files) < len(self.recipients):
            return False
        for path in files:
            try:
                extras = json.loads(path.read_text()).get("recipients", {})
            except (OSError, ValueError):
                return False
            if not extras.get("ready"):
                return False
        return True

    def producers_done(self) -> bool:
        return all(not p.is_alive() for p in self.producers)

    def failed(self) -> str:
        """A description of a stage that exited with an error ("" when none did)."""
        for role, procs in (("router", self.routers), ("recipients", self.recipients)):
            for p in procs:
                if p.poll() not in (None, 0):
                    return f"a {role} process exited with code {p.returncode}"
        for p in self.producers:
            if p.exitcode not in (None, 0):
                return f"a producer process exited with code {p.exitcode}"
        return ""

    def stop(self) -> None:
        """SIGTERM every process (each flushes and writes its stats), then wait."""
        procs: list[Any] = [*self.routers, *self.recipients]
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)
        for prod in self.producers:
            prod.join(timeout=30)
            if prod.is_alive():
                prod.terminate()
                prod.join(timeout=10)
        for log in self.logs:
            log.close()


def start_consumers(
    settings: Settings, directory_file: Path, step_dir: Path, *, routers: int, recipients: int
) -> Stages:
    """Start routers and recipients on the step's topics and wait until they have partitions."""
    step_dir.mkdir(parents=True, exist_ok=True)
    stages = Stages(step_dir)
    group = f"{settings.topic_prefix}bench"
    common = [
        "--bootstrap", str(settings.bootstrap), "--topic-prefix", settings.topic_prefix,
        "--keys-dir", str(settings.keys_dir), "--directory", str(directory_file),
    ]  # fmt: skip
    cmd = [sys.executable, "-m", "interchange"]
    for i in range(routers):
        args = [
            *cmd, "route", *common, "--router-id", f"bench-{i}", "--group", f"{group}-router",
            "--stats-file", str(step_dir / f"router-{i}.stats.json"),
            "--metrics-file", str(step_dir / f"router-{i}.prom"), "--summary-interval", "3600",
        ]  # fmt: skip
        stages.routers.append(_spawn(args, step_dir / f"router-{i}.log", stages))
    for i in range(recipients):
        args = [
            *cmd, "recipients", *common, "--group-prefix", f"{group}-recipients",
            "--stats-file", str(step_dir / f"recipients-{i}.stats.json"),
        ]  # fmt: skip
        stages.recipients.append(_spawn(args, step_dir / f"recipients-{i}.log", stages))
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        if failure := stages.failed():
            stages.stop()
            raise StageError(f"{failure}; see the logs in {step_dir}")
        _lag, assigned = stages.router_gauges()
        if assigned >= settings.submission_partitions and stages.recipients_ready():
            return stages
        if time.monotonic() > deadline:
            stages.stop()
            raise StageError(f"routers/recipients not ready in {READY_TIMEOUT_S:.0f} s")
        time.sleep(0.2)


def _spawn(args: list[str], log_path: Path, stages: Stages) -> subprocess.Popen[bytes]:
    log = log_path.open("wb")
    stages.logs.append(log)
    return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


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
        stats = stages.dir / f"producer-{i}.stats.json"
        config = ProducerConfig(seed, start_us, i, instances, stats)
        proc = ctx.Process(target=_produce, args=(settings, job, config), daemon=True)
        proc.start()
        stages.producers.append(proc)
    return start_us


def _produce(settings: Settings, job: ProducerJob, config: ProducerConfig) -> None:
    from interchange.core.benchcalc import bench_spec
    from interchange.core.pki import KeyStore
    from interchange.pipeline.producer import AgencyProducer

    directory = Directory.load(job.directory_file)
    spec = bench_spec(job.rate, duration_s=job.duration_s, attachment_bytes=job.attachment_bytes)
    producer = AgencyProducer(settings, directory, spec, KeyStore.open(settings.keys_dir), config)
    result = producer.run(threading.Event())
    if result.failed:
        raise SystemExit(f"producer shard {config.shard}: {result.failed} sends failed")
