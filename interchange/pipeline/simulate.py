"""`interchange simulate`: run the whole axis once and judge it (docs/SIMULATE.md).

Steps: directory (+ scenario) -> keys and topics -> router(s) and recipients as
subprocesses -> the sender-side status reader (a thread here) -> the producer
subprocess, paced from a shared run start -> wait until every addressed recipient has
an outcome and every delivery its status 03 (or an idle timeout) -> SIGTERM to the
stages -> merge their stats files -> per-agency ledger -> coverage report (terminal is
the caller's, JSON + HTML here) -> a `SimulationResult` with the exit status.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from interchange.core.atomic import atomic_write_text
from interchange.core.clock import now_us
from interchange.core.coverage import CoverageReport, Sla, compute_coverage, load_targets
from interchange.core.directory import Directory
from interchange.core.faults import parse_faults
from interchange.core.issuance import ensure_keys
from interchange.core.manifest import read_manifest
from interchange.core.metrics import RunMetrics, read_stats, write_stats
from interchange.core.timeseries import SeriesBuilder, SlidingRate, StatsFiles
from interchange.core.workload import WorkloadSpec
from interchange.errors import ConfigError
from interchange.pipeline.acks import AckReader
from interchange.pipeline.kafka_seam import Stop
from interchange.pipeline.ledger import (
    Ledger,
    apply_deliveries,
    apply_rejections,
    plan_ledger,
    read_rejections,
)
from interchange.pipeline.recipient import read_counts
from interchange.pipeline.simulate_values import (
    SimulationOptions,
    SimulationResult,
    Snapshot,
    make_directory,
    stats_totals,
)
from interchange.pipeline.stages import Stage, producer_stage, recipients_stage, router_stage
from interchange.pipeline.topics import create_topics
from interchange.report.bundle import write_coverage_files
from interchange.settings import Settings

__all__ = [
    "Simulation",
    "SimulationOptions",
    "SimulationResult",
    "Snapshot",
    "run_simulation",
]

POLL_S = 0.5
SAMPLE_S = 1.0  # the per-second series: one sample of the stats files a second
ROUTER_READY = "assigned submission partitions"
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
        self.stages: list[Stage] = []
        self.problems: list[str] = []
        self.started_wall = time.time()
        # The run second by second (core/timeseries); its origin is set when the run starts.
        self.timeline = SeriesBuilder(self.started_wall)
        self._files = StatsFiles()
        self._rates = (SlidingRate(), SlidingRate())  # documents sent, deliveries
        self._last_sample = 0.0

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
                self.stages.append(
                    router_stage(
                        s, i, directory_file, self.stats_dir, self.logs, static=o.routers == 1
                    )
                )
            self.stages.append(
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
            for stage in self.stages:
                stage.start()
            # connected and loaded while the other stages join; it sends from the run file's
            # start, written once they are ready (the run file is also the recipients')
            self.stages.append(producer.start())
            # Not ready: no run. The stages are stopped below and the report built after,
            # so it carries their exit codes.
            if self._wait_ready(started):
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
            for stage in self.stages:
                stage.terminate()
            codes = {stage.name: stage.wait() for stage in self.stages}
            halt.set()
            if ack_thread is not None:
                ack_thread.join(timeout=10)
        for name, code in codes.items():
            if code not in (0, None):
                self.problems.append(f"{name} exited with code {code} (log: {self.logs})")
        if acks is not None and acks.error is not None:
            self.problems.append(f"status reader failed: {acks.error!r}")
        return self._finish(
            ledger=ledger, acks=acks, targets=targets, sla=sla, start_us=start_us, started=started
        )

    def _wait_ready(self, started: float) -> bool:
        """Until every router has its partitions and every recipient tier too (or timeout)."""
        o = self.options
        wait_s = o.external_ready_timeout_s if o.external_stages else o.ready_timeout_s
        deadline = time.monotonic() + wait_s
        routers = [st for st in self.stages if st.name.startswith("router")]
        while time.monotonic() < deadline:
            if self._stopped(0.2):
                self.problems.append("interrupted while the stages started")
                return False
            crashed = [st for st in self.stages if not st.running]
            if crashed:
                for st in crashed:
                    self.problems.append(
                        f"{st.name} exited while starting (code {st.returncode}): {st.log_tail(3)}"
                    )
                return False
            ready = stats_totals(self._stats_files()).ready
            if ready and all(st.log_contains(ROUTER_READY) for st in routers):
                self.echo(f"stages ready after {time.monotonic() - started:.1f} s")
                return True
            self._progress(Snapshot(time.monotonic() - started, "starting", *(0,) * 10))
        if self.options.external_stages:  # their readiness is theirs: go on, and say so
            self.echo(f"no ready recipients stats file in {self.stats_dir}; starting anyway")
            return True
        self.problems.append(
            f"the stages did not get their partitions within {self.options.ready_timeout_s:.0f} s"
        )
        return False

    def _stopped(self, timeout: float) -> bool:
        if self.stop is None:
            time.sleep(timeout)
            return False
        return self.stop.wait(timeout)

    def _progress(self, snap: Snapshot) -> None:
        self.on_progress(snap)

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

    def _stats_files(self) -> list[Path]:
        if not self.options.external_stages:
            return [st.stats_file for st in self.stages if st.stats_file is not None]
        fresh = self.started_wall - 5.0  # stale files of earlier runs in a shared directory
        return sorted(
            p
            for p in self.stats_dir.glob("*.json")
            if p.name != "senders.json" and p.stat().st_mtime >= fresh
        )

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
            if self._stopped(POLL_S):
                self.problems.append("interrupted before the run completed")
                return ledger
            t = stats_totals(self._stats_files())
            self._sample(due_only=True)
            accepted = acks.snapshot()[1].accepted
            if not produced_done and producer.returncode is not None:
                produced_done = True
                if producer.returncode != 0:
                    self.problems.append(
                        f"producer exited with code {producer.returncode}: {producer.log_tail(3)}"
                    )
                    return ledger
                manifest = read_manifest(self.run_dir / "manifest.json")
                sent = int(manifest["sent"]["documents"])
                if sent != ledger.documents:  # stopped early: the plan up to what was sent
                    ledger = plan_ledger(directory, spec, o.seed, start_us, documents=sent)
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
            self._progress(snap)
            crashed = [st for st in self.stages if st is not producer and not st.running]
            if crashed:
                for st in crashed:
                    self.problems.append(
                        f"{st.name} stopped during the run (code {st.returncode}): {st.log_tail(3)}"
                    )
                return ledger
            if produced_done and (
                t.delivered >= ledger.expected_delivered
                and t.unaccounted == 0
                and accepted >= t.delivered
            ):
                # every delivery registered: let open work records finish (06), bounded
                if work_since is None:
                    work_since = time.monotonic()
                if (
                    t.work_completed >= t.work_registered
                    or time.monotonic() - work_since >= WORK_DRAIN_S
                ):
                    self._stopped(ACK_SETTLE_S)  # the status reader sees the last 06s
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
        self.timeline.add(time.time(), self._files.read(self._stats_files()), final=final)
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
        ack_metrics, ack_counts = (
            acks.snapshot(work=True) if acks is not None else (RunMetrics(), None)
        )
        if start_us:
            self._sample(final=True)  # the stages' last writes, at exit
        write_stats(self.stats_dir / "senders.json", ack_metrics)
        files = self._stats_files()
        metrics = read_stats(files, missing_ok=True).merge(ack_metrics)
        counts = read_counts(files)
        apply_deliveries(ledger, {a: c.delivered for a, c in counts.by_agency.items()})
        if start_us:
            apply_rejections(ledger, read_rejections(self.settings, start_us))
        report = compute_coverage(metrics, targets, sla)
        self._judge(report, ledger, counts)
        if ack_counts is not None and ack_counts.workflow_violations:
            self.problems.append(
                f"{ack_counts.workflow_violations:,} statuses break the work-record order "
                "(out of order, after 06, or 15/16 without 13); `interchange audit` names them"
            )
        o = self.options
        meta: dict[str, Any] = {
            "run_dir": str(self.run_dir),
            "preset": o.preset if o.directory_file is None else str(o.directory_file),
            "seed": o.seed,
            "rate": o.rate,
            "count": o.size[0],
            "duration_s": o.size[1],
            "faults": o.faults,
            "routers": 0 if o.external_stages else o.routers,
            "start_us": start_us,
            "documents": ledger.documents,
            "classified_withheld_at_source": ledger.withheld,
            "seconds": round(time.monotonic() - started, 1),
            "problems": list(self.problems),
        }
        timeline = self.timeline.series
        paths = write_coverage_files(
            report,
            self.run_dir,
            meta=meta,
            title=f"interchange simulate — {self.run_dir.name}",
            timeline=timeline if start_us else None,
        )
        result = SimulationResult(
            self.run_dir,
            paths.json,
            paths.html,
            self.run_dir / "summary.json",
            1 if self.problems else 0,
            tuple(self.problems),
            ledger.documents,
            ledger.expected_delivered,
            counts.delivered,
            counts.duplicates,
            counts.leaks,
            counts.malformed,
            ack_counts.accepted if ack_counts is not None else 0,
            time.monotonic() - started,
            report,
            ledger,
            meta,
            counts.redelivered,
            timeline,
        )
        atomic_write_text(result.summary_json, json.dumps(result.to_dict(), indent=1) + "\n")
        return result

    def _judge(self, report: CoverageReport, ledger: Ledger, counts: Any) -> None:
        p = self.problems
        lost = ledger.expected_delivered - counts.delivered
        if lost > 0:
            p.append(f"LOST: {lost:,} of {ledger.expected_delivered:,} expected deliveries missing")
        if counts.duplicates:
            p.append(f"DUPLICATED: {counts.duplicates:,} deliveries arrived twice")
        if counts.leaks:
            p.append(f"LEAK: {counts.leaks:,} classified documents were delivered")
        if counts.malformed:
            p.append(f"{counts.malformed:,} malformed delivery records")
        if report.total.signature_invalid:
            p.append(f"{report.total.signature_invalid:,} deliveries failed re-verification")
        for tier in report.tiers:
            if tier.unaccounted:
                p.append(f"{tier.label}: {tier.unaccounted:+,} addressed without an outcome")
        bad = list(ledger.mismatches())
        if bad:
            names = ", ".join(a for a, _ in bad[:5])
            p.append(f"{len(bad)} agencies do not balance (e.g. {names}); see summary.json")
        if ledger.unattributed:
            p.append(f"{ledger.unattributed} rejection records name no planned document")


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
