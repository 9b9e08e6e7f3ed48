"""`interchange simulate`: run the whole axis once and judge it (docs/SIMULATE.md).

Steps: directory (+ scenario) -> keys and topics -> router(s) and recipients as
subprocesses -> the sender-side status reader (a thread here) -> the producer
subprocess, paced from a shared run start -> wait until every addressed recipient has
an outcome and every delivery its status 03 (or an idle timeout) -> SIGTERM to the
stages -> merge their stats files -> per-agency ledger -> coverage report (terminal is
the caller's, JSON + HTML here) -> a `SimulationResult` with the exit status.

This module is the run's sequence and its wait loop; the stage processes are the
`Supervisor`'s (`supervisor.py`), the ledger and the judgement `accounting.py`'s, and
the files written at the end `report.py`'s.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from interchange.atomic import atomic_write_text
from interchange.axis.directory import Directory
from interchange.clock import now_us
from interchange.delivery.acks import AckReader
from interchange.errors import ConfigError
from interchange.kafka.seam import Stop
from interchange.kafka.topics import create_topics
from interchange.metrics.coverage import Sla, compute_coverage, load_targets
from interchange.metrics.run import RunMetrics, read_stats, write_stats
from interchange.metrics.timeseries import SeriesBuilder, SlidingRate, StatsFiles
from interchange.pki.keystore import ensure_keys
from interchange.settings import Settings
from interchange.simulate import accounting
from interchange.simulate.ledger import Ledger, plan_ledger
from interchange.simulate.report import run_meta, write_report
from interchange.simulate.supervisor import Supervisor
from interchange.simulate.values import (
    SimulationOptions,
    SimulationResult,
    Snapshot,
    make_directory,
    stats_totals,
)
from interchange.stages.commands import Stage, producer_stage, recipients_stage, router_stage
from interchange.workload.faults import parse_faults
from interchange.workload.generator import WorkloadSpec

__all__ = [
    "Simulation",
    "run_simulation",
]

POLL_S = 0.5
SAMPLE_S = 1.0  # the per-second series: one sample of the stats files a second
WORK_DRAIN_S = 10.0  # longest wait for open work records once every delivery is registered
ACK_SETTLE_S = 0.5


class Simulation:
    """One run; `run()` returns its result. Needs settings with a bootstrap address."""

    def __init__(
        self,
        settings: Settings,
        options: SimulationOptions,
        *,
        echo: Callable[[str], None] | None = None,
        on_progress: Callable[[Snapshot], None] | None = None,
        stop: Stop | None = None,
    ) -> None:
        if settings.bootstrap is None:
            raise ConfigError("a simulation needs a bootstrap address (see kafka_settings)")
        if options.routers < 1:
            raise ConfigError("--routers must be at least 1")
        if options.external_stages and options.stats_dir is None:
            raise ConfigError("--external-stages needs --stats-dir (where the stages write)")
        self.settings = settings
        self.options = options
        self.echo = echo or (lambda line: None)
        self.on_progress = on_progress or (lambda snap: None)
        self.stop = stop
        run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{options.seed}"
        self.run_dir = options.out or settings.out_dir / run_id
        self.stats_dir = options.stats_dir or self.run_dir / "stats"
        self.logs = self.run_dir / "logs"
        self.problems: list[str] = []
        self.started_wall = time.time()
        self.supervisor = Supervisor(
            self.stats_dir,
            self.logs,
            self.problems,
            external=options.external_stages,
            started_wall=self.started_wall,
            stop=stop,
        )
        # The run second by second (metrics/timeseries); its origin is set when the run starts.
        self.timeline = SeriesBuilder(self.started_wall)
        self._files = StatsFiles()
        self._rates = (SlidingRate(), SlidingRate())  # documents sent, deliveries
        self._last_sample = 0.0

    @property
    def stages(self) -> list[Stage]:
        """The run's stage processes (the supervisor's)."""
        return self.supervisor.stages

    # -- the run -------------------------------------------------------------------------
    def run(self) -> SimulationResult:
        o, s = self.options, self.settings
        started = time.monotonic()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.stats_dir.mkdir(parents=True, exist_ok=True)
        directory = make_directory(o)
        directory_file = self.run_dir / "directory.json"
        directory.save(directory_file)
        self.echo(ensure_keys(s.keys_dir, directory))
        create_topics(s)
        count, duration = o.size
        spec = WorkloadSpec(
            rate=o.rate, count=count, duration_s=duration, faults=parse_faults(o.faults)
        )
        targets = load_targets(o.targets)
        sla = Sla.parse(o.sla) if o.sla else Sla()
        if not o.external_stages:
            for i in range(o.routers):
                self.supervisor.add(
                    router_stage(
                        s, i, directory_file, self.stats_dir, self.logs, static=o.routers == 1
                    )
                )
            self.supervisor.add(
                recipients_stage(
                    s,
                    directory_file,
                    self.stats_dir,
                    self.logs,
                    run_file=self.run_dir / "run.json",
                    seed=o.seed,
                    verify=o.verify_at_recipient,
                    accept_delay_s=o.accept_delay_s,
                    static=True,  # the run's only recipients process
                    scenario=o.scenario,
                )
            )
        halt = threading.Event()
        ack_thread: threading.Thread | None = None
        acks: AckReader | None = None
        ledger = Ledger({}, {})
        start_us = 0
        try:
            producer = producer_stage(
                s,
                directory_file,
                self.run_dir,
                self.stats_dir,
                rate=o.rate,
                count=count,
                duration=duration,
                seed=o.seed,
                faults=o.faults,
                start_file=self.run_dir / "run.json",
            )
            self.supervisor.start_all()
            # connected and loaded while the other stages join; it sends from the run file's
            # start, written once they are ready (the run file is also the recipients')
            self.supervisor.start(producer)
            # Not ready: no run. The stages are stopped below and the report built after,
            # so it carries their exit codes.
            wait_s = o.external_ready_timeout_s if o.external_stages else o.ready_timeout_s
            if self.supervisor.wait_ready(
                wait_s,
                since=started,
                on_wait=lambda: self.on_progress(
                    Snapshot(time.monotonic() - started, "starting", *(0,) * 10)
                ),
                echo=self.echo,
            ):
                start_us = now_us() + round(o.lead_s * 1e6)
                self.timeline = SeriesBuilder(start_us / 1e6)
                self._write_run_file(start_us, directory, spec)
                acks = AckReader(s, directory, since_us=start_us)
                ack_thread = threading.Thread(
                    target=acks.run, args=(halt,), name="acks", daemon=True
                )
                ack_thread.start()
                # planned while the producer starts
                ledger = plan_ledger(directory, spec, o.seed, start_us)
                ledger = self._wait(
                    producer=producer,
                    ledger=ledger,
                    acks=acks,
                    directory=directory,
                    spec=spec,
                    start_us=start_us,
                    started=started,
                )
        finally:
            self.supervisor.stop_all()
            halt.set()
            if ack_thread is not None:
                ack_thread.join(timeout=10)
        if acks is not None and acks.error is not None:
            self.problems.append(f"status reader failed: {acks.error!r}")
        return self._finish(
            ledger=ledger, acks=acks, targets=targets, sla=sla, start_us=start_us, started=started
        )

    def _write_run_file(self, start_us: int, directory: Directory, spec: WorkloadSpec) -> None:
        o = self.options
        info = {
            "start_us": start_us,
            "seed": o.seed,
            "preset": directory.preset,
            "bootstrap": self.settings.bootstrap,
            "topic_prefix": self.settings.topic_prefix,
            "spec": spec.to_dict(),
            "downtime": [
                {"agency": w.agency, "start_s": w.start_s, "duration_s": w.duration_s}
                for w in directory.downtime
            ],
            "routers": 0 if o.external_stages else o.routers,
            "external_stages": o.external_stages,
        }
        atomic_write_text(self.run_dir / "run.json", json.dumps(info, indent=1) + "\n")

    def _wait(
        self,
        *,
        producer: Stage,
        ledger: Ledger,
        acks: AckReader,
        directory: Directory,
        spec: WorkloadSpec,
        start_us: int,
        started: float,
    ) -> Ledger:
        """Poll the stats files until everything is accounted for, a failure, or idle."""
        o = self.options
        last_state: tuple[int, ...] = ()
        last_change = time.monotonic()
        produced_done = False
        work_since: float | None = None
        while True:
            if self.supervisor.stopped(POLL_S):
                self.problems.append("interrupted before the run completed")
                return ledger
            t = stats_totals(self.supervisor.stats_files())
            self._sample(due_only=True)
            accepted = acks.snapshot()[1].accepted
            if not produced_done and producer.returncode is not None:
                produced_done = True
                if producer.returncode != 0:
                    self.problems.append(
                        f"producer exited with code {producer.returncode}: {producer.log_tail(3)}"
                    )
                    return ledger
                ledger = accounting.ledger_as_sent(
                    ledger,
                    self.run_dir / "manifest.json",
                    directory=directory,
                    spec=spec,
                    seed=o.seed,
                    start_us=start_us,
                )
            snap = Snapshot(
                time.monotonic() - started,
                "draining" if produced_done else "producing",
                ledger.documents,
                t.produced,
                ledger.expected_delivered,
                t.delivered,
                t.excluded,
                t.rejected,
                t.not_connected,
                t.unaccounted,
                accepted,
                t.held_now,
                produced_rate=self._rates[0].rate(),
                delivered_rate=self._rates[1].rate(),
            )
            self.on_progress(snap)
            if self.supervisor.crashed(besides=producer):
                return ledger
            if produced_done and accounting.complete(t, ledger, accepted):
                # every delivery registered: let open work records finish (06) or be withdrawn
                # by an agreed recall (no 06 ever comes for those), bounded
                if work_since is None:
                    work_since = time.monotonic()
                if t.work_open <= 0 or time.monotonic() - work_since >= WORK_DRAIN_S:
                    self.supervisor.stopped(ACK_SETTLE_S)  # the status reader sees the last 06s
                    return ledger
            state = (t.produced, t.delivered, t.excluded, t.rejected, accepted)
            if state != last_state:
                last_state, last_change = state, time.monotonic()
            elif produced_done and time.monotonic() - last_change >= o.idle_timeout_s:
                self.problems.append(
                    f"no progress for {o.idle_timeout_s:.0f} s: {t.delivered:,} of "
                    f"{ledger.expected_delivered:,} expected deliveries, {t.unaccounted:,} "
                    f"addressed recipients without an outcome, {accepted:,} status 03 back"
                )
                return ledger

    def _sample(self, *, due_only: bool = False, final: bool = False) -> None:
        """One point of the per-second series, and the progress rates; `due_only`: only
        when SAMPLE_S has passed since the last one."""
        if due_only and time.monotonic() - self._last_sample < SAMPLE_S:
            return
        self._last_sample = time.monotonic()
        files = self._files.read(self.supervisor.stats_files())
        self.timeline.add(time.time(), files, final=final)
        now = time.time()
        self._rates[0].add(*self.timeline.latest("sent", now))
        self._rates[1].add(*self.timeline.latest("delivered", now))

    def _finish(
        self,
        *,
        ledger: Ledger,
        acks: AckReader | None,
        targets: Any,
        sla: Sla,
        start_us: int,
        started: float,
    ) -> SimulationResult:
        """Settle the ledger, judge the run and write its report (the stages have exited)."""
        ack_metrics, ack_counts = (
            acks.snapshot(work=True) if acks is not None else (RunMetrics(), None)
        )
        if start_us:
            self._sample(final=True)  # the stages' last writes, at exit
        write_stats(self.stats_dir / "senders.json", ack_metrics)
        files = self.supervisor.stats_files()
        metrics = read_stats(files, missing_ok=True).merge(ack_metrics)
        counts = accounting.settle(self.settings, ledger, files, start_us)
        report = compute_coverage(metrics, targets, sla)
        self.problems += accounting.judge(report, ledger, counts, ack_counts)
        meta = run_meta(
            self.options, self.run_dir, ledger, self.problems, start_us=start_us, started=started
        )
        return write_report(
            report,
            self.run_dir,
            meta=meta,
            timeline=self.timeline.series,
            run_started=bool(start_us),
            ledger=ledger,
            counts=counts,
            acks=ack_counts,
            problems=self.problems,
            started=started,
        )


def run_simulation(
    settings: Settings,
    options: SimulationOptions,
    *,
    echo: Callable[[str], None] | None = None,
    on_progress: Callable[[Snapshot], None] | None = None,
    stop: Stop | None = None,
) -> SimulationResult:
    """Run one simulation on `settings.bootstrap` (tests, bench, the CLI)."""
    return Simulation(settings, options, echo=echo, on_progress=on_progress, stop=stop).run()
