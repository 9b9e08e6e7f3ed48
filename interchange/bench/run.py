"""`interchange bench`: open-loop load through the real pipeline, ceilings, and a rate search.

A run measures the ceilings once (pure CPU work per stage in this process; a raw Kafka
pass-through), then one step per offered rate. Each step gets fresh topics (a prefix
per step) and fresh stage processes, runs `duration_s` of Poisson arrivals at the
rate, and reads every stage's stats files each second:

* warm-up: at `warmup_s` the cumulative histograms, counters and CPU times are
  snapshotted; the figures are what happened after it (calc.subtract_histogram);
* throughput and CPU per document cover the window [warm-up end, last send];
* latency covers every delivery recorded after the warm-up, until the step drained;
* backlog = documents addressed so far minus documents accounted at the recipients,
  sampled each second (each file's totals taken at one moment, metrics/timeseries); its
  least-squares growth over the window says "bounded" or not;
* the per-second series of the whole step (metrics/timeseries: offered and achieved rate,
  p50/p99, backlog) comes from the same samples.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from interchange.axis.directory import Directory
from interchange.axis.presets import build
from interchange.bench import calc
from interchange.bench.ceilings import measure_stage_costs, wire_sizes
from interchange.bench.naive import run_naive
from interchange.bench.passthrough import run_passthrough
from interchange.bench.procstats import ProcessSampler
from interchange.bench.result import BROKER_ROLE, BenchResult, Ceilings, StageProcess, Step
from interchange.bench.stages import (
    BenchStoppedError,
    ProducerJob,
    Stages,
    start_consumers,
    start_producers,
)
from interchange.errors import ConfigError
from interchange.kafka.seam import Stop
from interchange.kafka.topics import create_topics
from interchange.metrics.histogram import LatencyHistogram
from interchange.metrics.run import RunMetrics
from interchange.metrics.timeseries import Series, SeriesBuilder, SlidingRate, StatsFiles
from interchange.pki.issuance import AlgorithmPolicy
from interchange.pki.keystore import ensure_keys
from interchange.settings import Settings

DRAIN_TIMEOUT_S = 120.0
DRAIN_QUIET_S = 3.0  # drained: nothing left to account for, or no progress for this long
FROM_SEND_FAMILY = "from_send"  # actual send (trace[0]) -> recipient, if the recipient records it


@dataclass(frozen=True, slots=True)
class BenchOptions:
    rate: float = 1_000.0
    duration_s: float = 30.0
    warmup_s: float = 5.0
    search: bool = False
    search_factor: float = 1.5
    search_precision: float = 0.05
    max_steps: int = 8
    criteria: calc.Criteria = field(default_factory=calc.Criteria)
    preset: str = "province"
    producers: int = 1
    routers: int = 1
    recipients: int = 1
    commit_interval_ms: int = 0  # the routers' --commit-interval-ms
    replay_capacity: int | None = None  # the routers' --replay-capacity (None: their default)
    duplicate_window: int | None = None  # the recipients' --duplicate-window
    attachment_bytes: int = calc.BENCH_ATTACHMENT_BYTES
    seed: int = 0
    algorithms: str | None = None  # an AlgorithmPolicy for the agencies' keys (None: as they are)
    passthrough_s: float | None = 4.0  # None: skip the pass-through ceiling
    naive_s: float | None = 4.0  # None: skip the naive reference pipeline
    sample_interval_s: float = 0.5

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.duration_s <= 0 or self.warmup_s < 0:
            raise ConfigError("bench: rate and duration must be positive, warm-up >= 0")
        if self.warmup_s >= self.duration_s:
            raise ConfigError("bench: the warm-up must be shorter than the duration")
        if min(self.producers, self.routers, self.recipients) < 1:
            raise ConfigError("bench: at least one producer, router and recipients process")
        if self.commit_interval_ms < 0:
            raise ConfigError("bench: --commit-interval-ms must be >= 0")
        if min(self.replay_capacity or 1, self.duplicate_window or 1) < 1:
            raise ConfigError("bench: --replay-capacity and --duplicate-window must be >= 1")


@dataclass(frozen=True, slots=True)
class Tick:
    """One progress sample of a running step (for the live display)."""

    step: int
    target_rate: float
    elapsed_s: float
    duration_s: float
    addressed: int
    accounted: int
    router_lag: int
    phase: str  # warm-up, measuring, draining
    sent_rate: float | None = None  # documents sent / s over the last few seconds
    delivered_rate: float | None = None  # deliveries / s over the last few seconds
    backlog: int | None = None  # in flight, every stats file taken at one moment


Events = Callable[[str, Any], None]  # ("phase", text) | ("tick", Tick) | ("step", Step)


def run_bench(
    settings: Settings,
    options: BenchOptions,
    on_event: Events | None = None,
    stop: Stop | None = None,
    broker_pid: int | None = None,
) -> BenchResult:
    """Measure the ceilings, then run one step (`rate`) or search for the sustainable maximum.
    A `stop` ends the run between phases, or within a second of a step, with every stage
    process stopped: BenchStoppedError. `broker_pid`: a local broker process (the embedded
    one) sampled beside the stages, its CPU per document and memory reported as "broker"."""
    emit = on_event or (lambda _kind, _value: None)
    stop = threading.Event() if stop is None else stop  # a StopFlag not set is falsy
    out_dir = Path(settings.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    directory = build(options.preset, calc.ALL_CONNECTED)
    directory_file = out_dir / "directory.json"
    directory.save(directory_file)
    policy = None if options.algorithms is None else AlgorithmPolicy.parse(options.algorithms)
    emit("phase", ensure_keys(settings.keys_dir, directory, policy=policy))
    emit("phase", "measuring the CPU ceiling (pure work per stage, in process)")
    costs = measure_stage_costs(
        directory, settings.keys_dir, attachment_bytes=options.attachment_bytes
    )
    _check(stop)
    passthrough = None
    if options.passthrough_s is not None:
        emit("phase", f"raw Kafka pass-through for {options.passthrough_s:.0f} s")
        sizes = wire_sizes(directory, settings.keys_dir, attachment_bytes=options.attachment_bytes)
        passthrough = run_passthrough(settings, sizes, duration_s=options.passthrough_s)
    _check(stop)
    naive = None
    if options.naive_s is not None:
        emit("phase", f"naive reference pipeline for {options.naive_s:.0f} s")
        naive = run_naive(
            settings,
            options.preset,
            attachment_bytes=options.attachment_bytes,
            duration_s=options.naive_s,
            seed=options.seed,
            broker_pid=broker_pid,
        )
    ceilings = Ceilings(
        costs,
        os.cpu_count() or 1,
        None if passthrough is None else passthrough.rate,
        None if passthrough is None else passthrough.to_dict(),
        None if naive is None else naive.to_dict(),
    )
    _check(stop)
    ctx = _Context(options, directory, directory_file, emit, stop, broker_pid)
    steps: list[Step] = []
    if not options.search:
        steps.append(_step(settings, ctx, 0, options.rate))
        return BenchResult("fixed", options.criteria, ceilings, tuple(steps), None)
    search = calc.RateSearch(
        options.rate, options.search_factor, options.search_precision, options.max_steps
    )
    while (rate := search.next_rate()) is not None:
        step = _step(settings, ctx, len(steps), rate)
        steps.append(step)
        search.record(_step_result(step), step.verdict)
    return BenchResult("search", options.criteria, ceilings, tuple(steps), search.best)


def _check(stop: Stop) -> None:
    if stop.wait(0):
        raise BenchStoppedError("stopped before the run ended; every stage process is stopped")


def _flag(name: str, value: int | None) -> tuple[str, ...]:
    return () if value is None else (name, str(value))


def _step_result(step: Step) -> calc.StepResult:
    return calc.StepResult(
        step.target_rate, step.achieved_rate, step.latency_intended.p99_us, step.backlog_slope,
        step.lost,
    )  # fmt: skip


@dataclass
class _Snapshot:
    at: float
    metrics: RunMetrics
    cpu: dict[int, float]


@dataclass(frozen=True, slots=True)
class _Context:
    options: BenchOptions
    directory: Directory
    directory_file: Path
    emit: Events
    stop: Stop
    broker_pid: int | None  # sampled as the "broker" role when known


def _step(base: Settings, ctx: _Context, index: int, rate: float) -> Step:
    options = ctx.options
    settings = base.replace(topic_prefix=f"{base.topic_prefix}bench{index}-{int(time.time())}.")
    create_topics(settings)
    step_dir = Path(base.out_dir) / f"step-{index}-{rate:.0f}"
    ctx.emit(
        "phase",
        f"step {index + 1}: {rate:,.0f} docs/s for {options.duration_s:.0f} s "
        f"(warm-up {options.warmup_s:.0f} s); starting routers and recipients",
    )
    stages = start_consumers(
        settings, ctx.directory_file, step_dir, routers=options.routers,
        recipients=options.recipients, commit_interval_ms=options.commit_interval_ms,
        router_args=_flag("--replay-capacity", options.replay_capacity),
        recipients_args=_flag("--duplicate-window", options.duplicate_window), stop=ctx.stop,
    )  # fmt: skip
    sampler = ProcessSampler(options.sample_interval_s)
    try:
        job = ProducerJob(ctx.directory_file, rate, options.duration_s, options.attachment_bytes)
        start_us = start_producers(
            settings, job, stages, instances=options.producers, seed=options.seed
        )
        for role, pid in stages.pids():
            sampler.add(role, pid)
        if ctx.broker_pid is not None:
            sampler.add(BROKER_ROLE, ctx.broker_pid)
        sampler.start()
        run = _StepRun(ctx, stages, sampler, index, rate)
        step = run.observe(start_us)
        ctx.emit("step", step)
        return step
    finally:
        sampler.stop()
        stages.stop()


@dataclass
class _StepRun:
    ctx: _Context
    stages: Stages
    sampler: ProcessSampler
    index: int
    rate: float

    def observe(self, start_us: int) -> Step:
        """Sample every second until the producers are done and the pipeline drained."""
        options, stages = self.ctx.options, self.stages
        t0 = time.monotonic() + (start_us - time.time_ns() // 1000) / 1e6  # monotonic run start
        warm: _Snapshot | None = None
        end: _Snapshot | None = None
        backlog: list[tuple[float, int]] = []
        lag_max = last_accounted = 0
        quiet_since = time.monotonic()
        files = StatsFiles()  # counters every second; a file is parsed again only if it changed
        series = SeriesBuilder(start_us / 1e6)
        sending, delivering = SlidingRate(), SlidingRate()
        while True:
            self.ctx.stop.wait(1.0)  # a second between samples; a stop ends the step at once
            _check(self.ctx.stop)
            if failure := stages.failed():
                raise ConfigError(f"bench step {self.index + 1}: {failure}; logs in {stages.dir}")
            now = time.monotonic()
            elapsed = now - t0
            point = series.add(time.time(), files.read(stages.stats_files()))
            totals = series.totals()
            addressed, accounted = totals.addressed, totals.accounted
            sending.add(*series.latest("sent", time.time()))
            delivering.add(*series.latest("delivered", time.time()))
            lag, _ = stages.router_gauges()
            if warm is None and elapsed >= options.warmup_s:
                warm = _Snapshot(now, stages.read(), self.sampler.snapshot_cpu())
            if warm is not None and end is None:
                backlog.append((now - warm.at, point.backlog))
                lag_max = max(lag_max, lag)
            if end is None and stages.producers_done() and elapsed >= options.duration_s:
                end = _Snapshot(now, stages.read(), self.sampler.snapshot_cpu())
            phase = "warm-up" if warm is None else "measuring" if end is None else "draining"
            self.ctx.emit(
                "tick",
                Tick(self.index, self.rate, elapsed, options.duration_s, addressed, accounted,
                     lag, phase, sending.rate(), delivering.rate(), point.backlog),
            )  # fmt: skip
            if accounted != last_accounted:
                last_accounted, quiet_since = accounted, now
            if end is not None and (
                accounted >= addressed
                or now - quiet_since >= DRAIN_QUIET_S
                or now - end.at > DRAIN_TIMEOUT_S
            ):
                series.add(time.time(), files.read(stages.stats_files()), final=True)
                break
        assert warm is not None
        assert end is not None
        return self.figures(warm, end, stages.read(), backlog, lag_max, timeline=series.series)

    def figures(
        self,
        warm: _Snapshot,
        end: _Snapshot,
        final: RunMetrics,
        backlog: list[tuple[float, int]],
        router_lag_max: int,
        *,
        timeline: Series,
    ) -> Step:
        options = self.ctx.options
        window_s = end.at - warm.at
        window_delivered = _delivered(end.metrics) - _delivered(warm.metrics)
        intended = _since(final, warm.metrics, "delivery")
        actual = _since(final, warm.metrics, FROM_SEND_FAMILY)
        lag = _since(final, warm.metrics, "schedule_lag")
        handled = {
            "producer": _addressed(end.metrics) - _addressed(warm.metrics),
            "router": _accounted(end.metrics) - _accounted(warm.metrics),
            "recipient": window_delivered,
            BROKER_ROLE: window_delivered,  # what the broker carried per delivered document
        }
        processes = []
        for series in self.sampler.series():
            cpu = end.cpu.get(series.pid, 0.0) - warm.cpu.get(series.pid, 0.0)
            window = [(ts, v) for ts, v in series.rss if warm.at <= ts <= end.at and v > 0]
            rss = calc.MemoryTrack.of([v for _, v in window], [ts - warm.at for ts, _ in window])
            processes.append(StageProcess(series.role, series.pid, cpu, handled[series.role], rss))
        addressed, accounted, delivered = _addressed(final), _accounted(final), _delivered(final)
        slope = calc.slope([(t, float(n)) for t, n in backlog])
        intended_figures = calc.LatencyFigures.of(intended)
        achieved = window_delivered / window_s if window_s > 0 else 0.0
        lost = max(0, addressed - accounted)
        result = calc.StepResult(self.rate, achieved, intended_figures.p99_us, slope, lost)
        return Step(
            target_rate=self.rate,
            duration_s=options.duration_s,
            warmup_s=options.warmup_s,
            sent=addressed,
            delivered=delivered,
            expected=delivered + lost,
            duplicates=sum(c.duplicates for c in final.cells.values()),
            window_s=window_s,
            window_delivered=window_delivered,
            latency_intended=intended_figures,
            latency_actual=calc.LatencyFigures.of(actual) if actual.count else None,
            schedule_lag=calc.LatencyFigures.of(lag),
            curve_intended=intended.curve(),
            curve_actual=actual.curve(),
            backlog=tuple(backlog),
            backlog_slope=slope,
            router_lag_max=router_lag_max,
            processes=tuple(sorted(processes, key=lambda p: (p.role, p.pid))),
            verdict=calc.judge(result, options.criteria),
            timeline=timeline,
        )


def _addressed(m: RunMetrics) -> int:
    return sum(c.addressed for c in m.cells.values())


def _accounted(m: RunMetrics) -> int:
    return sum(
        c.delivered + c.excluded + c.not_connected + sum(c.rejected.values())
        for c in m.cells.values()
    )


def _delivered(m: RunMetrics) -> int:
    return sum(c.delivered for c in m.cells.values())


def _since(final: RunMetrics, warm: RunMetrics, family: str) -> LatencyHistogram:
    try:
        total = final.merged_histogram(family)
        earlier = warm.merged_histogram(family)
    except KeyError:
        return LatencyHistogram()
    return calc.subtract_histogram(total, earlier)
