"""The stage supervisor of a simulation: spawn the stage processes, know when they are
ready, notice a crash, and stop them (SIGTERM, then kill after the grace period).

What went wrong is appended to the run's `problems` list, in words for the report.
The stats files the stages write are found here too: the supervisor's own stages name
theirs; with external stages (docker-compose) they are the fresh files of the shared
stats directory.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from interchange.kafka.seam import Stop
from interchange.simulate.values import stats_totals
from interchange.stages.commands import Stage

ROUTER_READY = "assigned submission partitions"  # a router's log line once it has partitions
READY_POLL_S = 0.2
STALE_STATS_S = 5.0  # a stats file older than the run's start by this much is an earlier run's


class Supervisor:
    """The run's stage processes, from start to their exit codes."""

    def __init__(
        self,
        stats_dir: Path,
        logs: Path,
        problems: list[str],
        *,
        external: bool = False,
        started_wall: float | None = None,
        stop: Stop | None = None,
    ) -> None:
        self.stats_dir = stats_dir
        self.logs = logs
        self.problems = problems
        self.external = external
        self.started_wall = time.time() if started_wall is None else started_wall
        self.stop = stop
        self.stages: list[Stage] = []

    def add(self, stage: Stage) -> None:
        """A stage to start with `start_all` (not started yet)."""
        self.stages.append(stage)

    def start_all(self) -> None:
        for stage in self.stages:
            stage.start()

    def start(self, stage: Stage) -> Stage:
        """Start one more stage now (the producer, after the others)."""
        self.stages.append(stage.start())
        return stage

    def wait_ready(
        self,
        wait_s: float,
        *,
        since: float,
        on_wait: Callable[[], None],
        echo: Callable[[str], None],
    ) -> bool:
        """Until every router has its partitions and every recipient tier too, a stage
        exits, a stop is asked, or `wait_s` passes. External stages' readiness is theirs:
        after `wait_s` the run goes on (and says so). `since`: the run's start (monotonic)."""
        deadline = time.monotonic() + wait_s
        routers = [st for st in self.stages if st.name.startswith("router")]
        while time.monotonic() < deadline:
            if self.stopped(READY_POLL_S):
                self.problems.append("interrupted while the stages started")
                return False
            crashed = [st for st in self.stages if not st.running]
            if crashed:
                for st in crashed:
                    self.problems.append(
                        f"{st.name} exited while starting (code {st.returncode}): {st.log_tail(3)}"
                    )
                return False
            ready = stats_totals(self.stats_files()).ready
            if ready and all(st.log_contains(ROUTER_READY) for st in routers):
                echo(f"stages ready after {time.monotonic() - since:.1f} s")
                return True
            on_wait()
        if self.external:
            echo(f"no ready recipients stats file in {self.stats_dir}; starting anyway")
            return True
        self.problems.append(f"the stages did not get their partitions within {wait_s:.0f} s")
        return False

    def crashed(self, *, besides: Stage | None = None) -> bool:
        """Whether a stage (other than `besides`) stopped during the run; each one is a
        problem."""
        gone = [st for st in self.stages if st is not besides and not st.running]
        for st in gone:
            self.problems.append(
                f"{st.name} stopped during the run (code {st.returncode}): {st.log_tail(3)}"
            )
        return bool(gone)

    def stop_all(self) -> dict[str, int | None]:
        """SIGTERM to every stage, then wait for each (killed after its grace period);
        a non-zero exit code is a problem. The exit codes by stage name."""
        for stage in self.stages:
            stage.terminate()
        codes = {stage.name: stage.wait() for stage in self.stages}
        for name, code in codes.items():
            if code not in (0, None):
                self.problems.append(f"{name} exited with code {code} (log: {self.logs})")
        return codes

    def stopped(self, timeout: float) -> bool:
        """Sleep `timeout` s, or wait for the stop asked of the run (True: stop)."""
        if self.stop is None:
            time.sleep(timeout)
            return False
        return self.stop.wait(timeout)

    def stats_files(self) -> list[Path]:
        if not self.external:
            return [st.stats_file for st in self.stages if st.stats_file is not None]
        fresh = self.started_wall - STALE_STATS_S
        return sorted(
            p
            for p in self.stats_dir.glob("*.json")
            if p.name != "senders.json" and p.stat().st_mtime >= fresh
        )
