"""`interchange simulate`: the main job. Thin: flags -> SimulationOptions -> printed result."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from interchange.axis.presets import DEFAULT_PRESET
from interchange.cli.common import (
    Command,
    StopFlag,
    add_directory_options,
    add_kafka_options,
    add_keys_option,
    kafka_settings,
    settings_from_args,
)

SIMULATE = Command(
    "simulate",
    "main",
    "run the whole axis (producer, router, recipients) and report coverage per tier",
    "interchange simulate --preset province --rate 200 --duration 30 --seed 7",
)
PROGRESS_LINE_S = 5.0


def register_simulate(parser: argparse.ArgumentParser) -> None:
    from interchange.simulate import values as sim

    add_kafka_options(parser)
    add_keys_option(parser)
    w = parser.add_argument_group("workload")
    add_directory_options(w)
    w.add_argument(
        "--scenario",
        type=Path,
        metavar="FILE",
        help="scenario JSON (connected shares, downtime); default: 5%% of the connected "
        "communes offline once for 4 s",
    )
    w.add_argument("--no-downtime", action="store_true", help="no built-in downtime scenario")
    w.add_argument(
        "--rate",
        type=float,
        default=sim.DEFAULT_RATE,
        help=f"documents per second (default {sim.DEFAULT_RATE:g})",
    )
    size = w.add_mutually_exclusive_group()
    size.add_argument(
        "--count", type=int, metavar="N", help=f"documents (default {sim.DEFAULT_COUNT})"
    )
    size.add_argument("--duration", type=float, metavar="S", help="seconds of arrivals")
    w.add_argument("--seed", type=int, default=0, help="workload seed (default 0)")
    w.add_argument(
        "--faults",
        default=sim.DEFAULT_FAULTS,
        metavar="SPEC",
        help="'none', 'default' (about 1%% faulty submissions) or kind=rate,... "
        f"(default {sim.DEFAULT_FAULTS})",
    )
    r = parser.add_argument_group("stages and report")
    r.add_argument("--routers", type=int, default=1, help="router processes (default 1)")
    r.add_argument("--verify-at-recipient", action="store_true", help="re-verify end to end")
    r.add_argument(
        "--accept-delay", type=float, default=0.1, metavar="S", help="mean handling before 03"
    )
    r.add_argument("--targets", default="2025", help="2025, 2030 or a targets JSON file")
    r.add_argument("--sla", metavar="SPEC", help="e.g. normal=120,express=2 (seconds)")
    r.add_argument(
        "--out", type=Path, metavar="DIR", help="run directory (default runs/<ts>-<seed>)"
    )
    r.add_argument(
        "--idle-timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="give up after S s without progress once production ended (default 30)",
    )
    r.add_argument(
        "--external-stages",
        action="store_true",
        help="router(s) and recipients run elsewhere (docker-compose): run only the "
        "producer and wait on the stats files in --stats-dir",
    )
    r.add_argument("--stats-dir", type=Path, metavar="DIR", help="where stages write stats")
    r.add_argument("--no-progress", action="store_true", help="no live progress display")
    parser.set_defaults(func=run_simulate)


def run_simulate(args: argparse.Namespace) -> int:

    from interchange.report.policy_view import policy_headline
    from interchange.report.terminal import print_coverage, report_console
    from interchange.simulate.run import run_simulation
    from interchange.simulate.values import SimulationOptions, make_directory

    settings = settings_from_args(args)
    if settings.bootstrap is not None and not args.external_stages and not args.topic_prefix:
        # A kept cluster: fresh topics per run, so earlier runs never count as replays.
        settings = settings.replace(
            topic_prefix=f"{settings.topic_prefix}sim-{time.strftime('%Y%m%d-%H%M%S')}-{args.seed}."
        )
    options = SimulationOptions(
        preset=args.preset or DEFAULT_PRESET,
        directory_file=args.directory,
        scenario=args.scenario,
        rate=args.rate,
        count=args.count,
        duration_s=args.duration,
        seed=args.seed,
        faults=args.faults,
        routers=args.routers,
        targets=args.targets,
        sla=args.sla,
        out=args.out,
        external_stages=args.external_stages,
        stats_dir=args.stats_dir,
        verify_at_recipient=args.verify_at_recipient,
        accept_delay_s=args.accept_delay,
        idle_timeout_s=args.idle_timeout,
        default_downtime=not args.no_downtime,
    )
    err = report_console(stderr=True)  # progress lines unwrapped in a log too
    out = report_console()
    _describe(err, options, make_directory(options))
    stop = StopFlag().install()
    with kafka_settings(settings) as live:
        view = _Progress(err, live=not args.no_progress and err.is_terminal)
        with view:
            result = run_simulation(
                live, options, echo=err.print, on_progress=view.update, stop=stop
            )
    print_coverage(result.coverage, console=out, title=f"Coverage report: {result.run_dir.name}")
    verdict = "[bold green]PASS[/]" if result.exit_code == 0 else "[bold red]FAIL[/]"
    for line in policy_headline(result.coverage):
        out.print(line, markup=False, highlight=False)
    out.print(
        f"{verdict}  integrity: {result.documents:,} documents, {result.delivered:,} of "
        f"{result.expected_delivered:,} expected deliveries, {result.duplicates} duplicates, "
        f"{result.redelivered} redelivered, "
        f"{result.leaks} classified leaks, {result.acks:,} status 03 back, "
        f"{result.seconds:.1f} s"
    )
    for problem in result.problems:
        out.print(f"  [red]- {problem}[/]")
    out.print(f"report: {result.report_json}\n        {result.report_html}")
    out.print(f"run:    {result.run_dir} (summary.json, stats/, logs/, manifest.json)")
    return result.exit_code


def _describe(console: Any, options: Any, directory: Any) -> None:
    """Say what the run will do, in one short paragraph."""
    counts = directory.counts()
    tiers = ", ".join(f"{n:,} {t.value} ({c:,} on the axis)" for t, (n, c) in counts.items() if n)
    count, duration = options.size
    size = f"{count:,} documents" if count is not None else f"{duration:g} s of arrivals"
    down = len(directory.downtime)
    console.print(
        f"simulate: {directory.preset} directory: {tiers}; {size} at {options.rate:g}/s "
        f"(seed {options.seed}), faults '{options.faults}', ~1.4% classified; "
        f"{down} agencies with a downtime window; {options.routers} router(s)"
        + (" [external stages]" if options.external_stages else "")
    )


class _Progress:
    """Live progress on a terminal; a line every few seconds otherwise."""

    def __init__(self, console: Any, *, live: bool) -> None:
        self.console = console
        self.live = None
        self._last_line = 0.0
        self._last: Any = None
        if live:
            from rich.live import Live

            self.live = Live(console=console, refresh_per_second=4, transient=True)

    def __enter__(self) -> _Progress:
        if self.live is not None:
            self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.stop()
        if self._last is not None:
            self.console.print(self._text(self._last))

    def _text(self, s: Any) -> str:
        # Rates over the last few seconds (a sliding window), not since the start.
        return (
            f"{s.elapsed_s:5.1f} s {s.phase}: produced {s.produced:,}/{s.planned:,} "
            f"({_per_s(s.produced_rate)}) | delivered {s.delivered:,}/{s.expected_delivered:,} "
            f"({_per_s(s.delivered_rate)}) | excluded {s.excluded:,} rejected {s.rejected:,} "
            f"not connected {s.not_connected:,} | status 03 {s.acks:,} | held by downtime "
            f"{s.held_now:,}"
        )

    def update(self, snap: Any) -> None:
        self._last = snap
        if self.live is not None:
            self.live.update(self._text(snap))
        elif snap.elapsed_s - self._last_line >= PROGRESS_LINE_S:
            self._last_line = snap.elapsed_s
            self.console.print(self._text(snap))


def _per_s(rate: float | None) -> str:
    return "—/s" if rate is None else f"{rate:,.0f}/s"
