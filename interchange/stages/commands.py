"""Stage subprocesses of a simulation: the same `interchange` commands docker-compose runs.

Each stage is `sys.executable -m interchange <command> ...` with its output in a log
file of the run directory, so stages use every core and a failure leaves its log.
Stopped with SIGTERM (every stage stops cleanly on it and writes its stats), then
killed if it does not exit within the grace period.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from interchange.settings import Settings

STOP_GRACE_S = 20.0


@dataclass
class Stage:
    """One running stage process."""

    name: str
    argv: list[str]
    log_path: Path | None  # None: the output goes where the parent's goes
    stats_file: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    def start(self) -> Stage:
        if self.log_path is None:
            self.process = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL)
            return self
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.argv, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        return self

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.poll()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def terminate(self) -> None:
        if self.running:
            assert self.process is not None
            self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float = STOP_GRACE_S) -> int | None:
        """Wait for exit (kill after `timeout`); the exit code, None if never started."""
        if self.process is None:
            return None
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(5)
        if self._log is not None:
            self._log.close()
            self._log = None
        return self.process.returncode

    def log_contains(self, text: str) -> bool:
        if self.log_path is None:
            return False
        try:
            return text in self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False

    def log_tail(self, lines: int = 8) -> str:
        if self.log_path is None:
            return ""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def base_argv(command: str, settings: Settings, *extra: str) -> list[str]:
    """`python -m interchange COMMAND` on the run's broker, topics and keys, bound to this
    process: the stage stops when this process is gone."""
    assert settings.bootstrap is not None
    return [
        sys.executable,
        "-m",
        "interchange",
        command,
        "--bootstrap",
        settings.bootstrap,
        "--topic-prefix",
        settings.topic_prefix,
        "--keys-dir",
        str(settings.keys_dir),
        "--parent-pid",  # the stage stops if this process is killed outright (stages/lifeline.py)
        str(os.getpid()),
        *extra,
    ]


def router_stage(
    settings: Settings,
    index: int,
    directory_file: Path,
    stats_dir: Path,
    logs: Path,
    *,
    static: bool = False,
) -> Stage:
    """`static`: the run's only router takes every partition without a group join."""
    stats = stats_dir / f"router-{index}.json"
    argv = base_argv(
        "route",
        settings,
        "--directory",
        str(directory_file),
        "--router-id",
        f"sim-{index}",
        "--group",
        f"{settings.topic_prefix}router",
        "--stats-file",
        str(stats),
        "--summary-interval",
        "5",
        "-v",  # logs "assigned submission partitions": the orchestrator's readiness signal
        *(["--static-assignment"] if static else []),
    )
    return Stage(f"router {index}", argv, logs / f"router-{index}.log", stats)


def recipients_stage(
    settings: Settings,
    directory_file: Path,
    stats_dir: Path,
    logs: Path,
    *,
    run_file: Path,
    seed: int,
    verify: bool,
    accept_delay_s: float,
    static: bool = False,
    scenario: Path | None = None,
) -> Stage:
    """`static`: the run's only recipients process takes every partition at once;
    `scenario`: its work-record settings shape the handling (statuses 03-06)."""
    stats = stats_dir / "recipients.json"
    argv = base_argv(
        "recipients",
        settings,
        "--directory",
        str(directory_file),
        "--group-prefix",
        f"{settings.topic_prefix}recipients",
        "--run-file",
        str(run_file),
        "--seed",
        str(seed),
        "--accept-delay",
        str(accept_delay_s),
        "--stats-file",
        str(stats),
    )
    if verify:
        argv.append("--verify-at-recipient")
    if static:
        argv.append("--static-assignment")
    if scenario is not None:
        argv += ["--work-records", str(scenario)]
    return Stage("recipients", argv, logs / "recipients.log", stats)


def producer_argv(
    settings: Settings,
    directory_file: Path,
    out_dir: Path,
    *,
    rate: float,
    count: int | None,
    duration: float | None,
    seed: int,
    faults: str,
    shard: tuple[int, int],
    manifest: Path,
    stats_file: Path,
    start_file: Path | None = None,
    start_at_us: int | None = None,
) -> list[str]:
    """`interchange produce` for one shard `(i, n)` of the workload: it starts at
    `start_at_us`, or at the "start_us" of `start_file` once that file appears (exactly
    one of the two). Keys and topics are the caller's to prepare."""
    if (start_file is None) == (start_at_us is None):
        raise ValueError("a producer stage starts at a start file or at a time, exactly one")
    start = (
        ["--start-file", str(start_file)]
        if start_file is not None
        else ["--start-at", str(start_at_us)]
    )
    argv = base_argv(
        "produce",
        settings,
        "--directory",
        str(directory_file),
        "--rate",
        str(rate),
        "--seed",
        str(seed),
        "--faults",
        faults,
        *start,
        "--shard",
        f"{shard[0]}/{shard[1]}",
        "--out-dir",
        str(out_dir),
        "--manifest",
        str(manifest),
        "--stats-file",
        str(stats_file),
        "--no-progress",
    )
    argv += ["--count", str(count)] if count is not None else ["--duration", str(duration)]
    return argv


def producer_stage(
    settings: Settings,
    directory_file: Path,
    run_dir: Path,
    stats_dir: Path,
    *,
    rate: float,
    count: int | None,
    duration: float | None,
    seed: int,
    faults: str,
    start_file: Path,
) -> Stage:
    """One producer process; `--shard 0/1` because the orchestrator prepared keys and topics.
    It connects at once and starts sending at the "start_us" of `start_file`, which the
    orchestrator writes when the other stages are ready."""
    stats = stats_dir / "producer.json"
    argv = producer_argv(
        settings,
        directory_file,
        run_dir,
        rate=rate,
        count=count,
        duration=duration,
        seed=seed,
        faults=faults,
        shard=(0, 1),
        manifest=run_dir / "manifest.json",
        stats_file=stats,
        start_file=start_file,
    )
    return Stage("producer", argv, run_dir / "logs" / "producer.log", stats)
