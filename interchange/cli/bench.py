"""`interchange bench`: the load test (thin: options, progress display, report files)."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

from interchange.axis.presets import DEFAULT_PRESET, PRESET_NAMES
from interchange.cli.common import (
    Command,
    StopFlag,
    add_kafka_options,
    add_keys_option,
    kafka_broker,
    settings_from_args,
)

BENCH = Command(
    "bench",
    "load",
    "load-test the pipeline open loop: throughput, honest latency percentiles, ceilings, "
    "maximum sustainable rate",
    "interchange bench --rate 3000 --duration 60 --warmup 10 --out-dir runs/bench",
)
TICK_LINE_S = 5.0  # without a terminal, a progress line every this many seconds
_SIGNAL_NUMBERS = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM}  # exit code 128 + n


def register_bench(parser: argparse.ArgumentParser) -> None:
    add_kafka_options(parser)
    add_keys_option(parser)
    load = parser.add_argument_group("load")
    load.add_argument("--rate", type=float, default=1000.0, help="documents/s (default 1000); "
                      "with --search, the first rate tried")  # fmt: skip
    load.add_argument("--duration", type=float, default=30.0, metavar="S",
                      help="seconds of arrivals per step (default 30)")  # fmt: skip
    load.add_argument("--warmup", type=float, default=5.0, metavar="S",
                      help="seconds left out of each step's figures (default 5)")  # fmt: skip
    load.add_argument("--attachment-bytes", type=int, default=1536, metavar="N",
                      help="attachment size; 1536 makes ~2 KB documents (default)")  # fmt: skip
    load.add_argument(
        "--preset",
        choices=PRESET_NAMES,
        default=DEFAULT_PRESET,
        help=f"directory preset (default {DEFAULT_PRESET})",
    )
    load.add_argument("--seed", type=int, default=0, help="workload seed (default 0)")
    load.add_argument(
        "--algorithm",
        metavar="POLICY",
        help="signature algorithm of the agencies' keys: one of ed25519, ecdsa-p256, "
        "rsa-2048, rsa-3072 (RSA-PSS), rsa-2048-pkcs1, rsa-3072-pkcs1 (PKCS#1 v1.5, as the "
        "real axis signs), or a per-tier policy as in 'keys init --algorithms'; agencies "
        "whose key differs get a new certificate (default: the keys as they are)",
    )
    procs = parser.add_argument_group("processes")
    procs.add_argument("--producers", type=int, default=1, metavar="N", help="default 1")
    procs.add_argument("--routers", type=int, default=1, metavar="N", help="default 1")
    procs.add_argument("--recipients", type=int, default=1, metavar="N", help="default 1")
    procs.add_argument("--commit-interval-ms", type=int, default=0, metavar="MS",
                       help="the routers' transaction interval (default 0: one per poll); "
                       "a long run on the embedded broker needs fewer, larger batches "
                       "(docs/BENCHMARKS.md, soak)")  # fmt: skip
    procs.add_argument(
        "--replay-capacity",
        type=int,
        metavar="N",
        help="the routers' replay window per partition (default theirs)",
    )
    procs.add_argument("--duplicate-window", type=int, metavar="N",
                       help="the recipients' duplicate window per tier (default theirs); "
                       "small windows fill early, so a soak's memory curve shows leaks "
                       "rather than windows filling")  # fmt: skip
    search = parser.add_argument_group("search for the maximum sustainable rate")
    search.add_argument("--search", action="store_true", help="step the rate up, then bisect")
    search.add_argument("--p99-bound", type=float, default=40.0, metavar="MS",
                        help="p99 bound of a sustainable step (default 40 ms)")  # fmt: skip
    search.add_argument("--factor", type=float, default=1.5, help="step-up factor (default 1.5)")
    search.add_argument("--precision", type=float, default=0.05,
                        help="stop bisecting at this relative gap (default 0.05)")  # fmt: skip
    search.add_argument("--max-steps", type=int, default=8, metavar="N", help="default 8")
    out = parser.add_argument_group("ceilings and output")
    out.add_argument("--passthrough", type=float, default=4.0, metavar="S",
                     help="seconds of raw Kafka pass-through (0 skips it; default 4)")  # fmt: skip
    out.add_argument(
        "--naive",
        type=float,
        default=4.0,
        metavar="S",
        help="seconds of the naive reference pipeline: sign, send, verify, forward, sink at "
        "full speed, no transactions or statuses (0 skips it; default 4)",
    )
    out.add_argument(
        "--out-dir", type=Path, metavar="DIR", help="where bench.json/.html go (default runs/)"
    )
    out.add_argument("--no-progress", action="store_true", help="no live display")
    parser.set_defaults(func=run_bench_cli)


def run_bench_cli(args: argparse.Namespace) -> int:
    from rich.console import Console

    from interchange.bench.calc import Criteria
    from interchange.bench.run import BenchOptions, run_bench
    from interchange.bench.stages import BenchStoppedError
    from interchange.report.bench_view import TITLE, bench_sections, write_bench_files
    from interchange.report.terminal import render_terminal, report_console

    settings = settings_from_args(args)
    if args.algorithm is not None:
        from interchange.pki.issuance import AlgorithmPolicy

        AlgorithmPolicy.parse(args.algorithm)  # a bad policy fails before any broker starts
    options = BenchOptions(
        rate=args.rate,
        duration_s=args.duration,
        warmup_s=args.warmup,
        search=args.search,
        search_factor=args.factor,
        search_precision=args.precision,
        max_steps=args.max_steps,
        criteria=Criteria(p99_bound_us=round(args.p99_bound * 1000)),
        preset=args.preset,
        producers=args.producers,
        routers=args.routers,
        recipients=args.recipients,
        commit_interval_ms=args.commit_interval_ms,
        replay_capacity=args.replay_capacity,
        duplicate_window=args.duplicate_window,
        attachment_bytes=args.attachment_bytes,
        seed=args.seed,
        algorithms=args.algorithm,
        passthrough_s=args.passthrough or None,
        naive_s=args.naive or None,
    )
    console = Console(stderr=True)
    live = not args.no_progress and console.is_terminal
    stop = StopFlag().install()
    try:
        with kafka_broker(settings) as (running, broker_pid), _Display(console, live) as display:
            result = run_bench(running, options, display.event, stop, broker_pid)
    except BenchStoppedError as exc:
        print(f"interchange bench: {stop.signal_name}: {exc}; no report written", file=sys.stderr)
        return 128 + _SIGNAL_NUMBERS.get(stop.signal_name, signal.SIGTERM)
    meta = {
        "bootstrap": running.bootstrap,
        "embedded_broker": settings.bootstrap is None,
        "mode": result.mode,
        "rate": options.rate,
        "duration_s": options.duration_s,
        "warmup_s": options.warmup_s,
        "processes": f"{options.producers} producer / {options.routers} router / "
        f"{options.recipients} recipients",
        "command": " ".join(["interchange", *sys.argv[1:]]),
        "clients": _clients_line(running, options),
        "signing_keys": result_keys_line(settings.keys_dir, options.preset),
    }
    paths = write_bench_files(result, settings.out_dir, meta=meta)
    render_terminal(TITLE, bench_sections(result), report_console())
    print(f"report: {paths.json} and {paths.html}", file=sys.stderr)
    lost = sum(s.lost for s in result.steps)
    return 1 if lost else 0


def _clients_line(settings: Any, options: Any) -> str:
    """What the figures depend on that the command line does not show (the INTERCHANGE_*
    client settings) or shows only when changed (the stages' windows)."""
    txn = f"{options.commit_interval_ms} ms" if options.commit_interval_ms else "poll"
    return (
        f"linger {settings.linger_ms} ms (statuses {settings.status_linger_ms} ms), "
        f"fetch wait {settings.fetch_max_wait_ms} ms, "
        f"compression {settings.compression_type or 'none'}, router transactions every {txn}, "
        f"replay window {options.replay_capacity or 'default'}, "
        f"duplicate window {options.duplicate_window or 'default'}"
    )


def result_keys_line(keys_dir: Path, preset: str) -> str:
    """The algorithms the bench's agencies signed with (what a cost comparison depends on)."""
    from interchange.axis.presets import build
    from interchange.bench.calc import ALL_CONNECTED
    from interchange.pki.keystore import algorithm_mix

    mix = algorithm_mix(keys_dir, (a.id for a in build(preset, ALL_CONNECTED)))
    return ", ".join(f"{n} {alg}" for alg, n in sorted(mix.items()))


def tick_line(tick: Any) -> str:
    """Where a step is: totals, and the rates over the last few seconds (not averages
    since the start, which lag behind for minutes after a slow start)."""
    return (
        f"{tick.phase}  sent {tick.addressed:,} ({_per_s(tick.sent_rate)})  "
        f"done {tick.accounted:,} (delivering {_per_s(tick.delivered_rate)})  "
        f"backlog {_backlog(tick):,}  router lag ~{tick.router_lag:,}"
    )


def _backlog(tick: Any) -> int:
    return int(tick.backlog if tick.backlog is not None else tick.addressed - tick.accounted)


def _per_s(rate: float | None) -> str:
    return "—/s" if rate is None else f"{rate:,.0f}/s"


class _Display:
    """Live progress on stderr (rich), or one line per phase and step when not a terminal."""

    def __init__(self, console: Any, live: bool) -> None:
        self.console = console
        self.live = live
        self._progress: Any = None
        self._task: Any = None
        self._last_line = 0.0
        self._step = -1

    def __enter__(self) -> _Display:
        if self.live:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[detail]}"),
                TimeElapsedColumn(), console=self.console,
            )  # fmt: skip
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def event(self, kind: str, value: Any) -> None:
        from interchange.report.bench_view import step_line

        if kind == "phase":
            self._print(f"bench: {value}")
        elif kind == "step":
            self._print(f"bench: {step_line(value)}")
            self._task = None
        elif kind == "tick":
            detail = tick_line(value)
            if self._progress is None:  # a log: one line every few seconds
                if value.elapsed_s - self._last_line >= TICK_LINE_S or value.step != self._step:
                    self._last_line, self._step = value.elapsed_s, value.step
                    self._print(
                        f"bench: {value.target_rate:,.0f}/s {value.elapsed_s:5.1f} s {detail}"
                    )
                return
            if self._task is None:
                self._task = self._progress.add_task(
                    f"{value.target_rate:,.0f}/s", total=value.duration_s, detail=detail
                )
            self._progress.update(
                self._task, completed=min(value.elapsed_s, value.duration_s), detail=detail
            )

    def _print(self, line: str) -> None:
        if self._progress is not None:
            self._progress.console.print(line)
        else:
            print(line, file=sys.stderr, flush=True)
