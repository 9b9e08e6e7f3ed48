"""`interchange produce`: agencies publish a seeded, paced stream of signed envelopes."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from interchange.cli.common import (
    Command,
    StopFlag,
    add_directory_options,
    add_kafka_options,
    add_keys_option,
    add_parent_pid_option,
    directory_from_args,
    kafka_settings,
    settings_from_args,
)
from interchange.errors import ConfigError, PkiError

PRODUCE = Command(
    "produce",
    "load",
    "publish a seeded workload of signed envelopes (open-loop pacing, fault injection)",
    "interchange produce --preset province --rate 200 --duration 60 --seed 7 --faults default "
    "--bootstrap 127.0.0.1:9092",
)


def register_produce(parser: argparse.ArgumentParser) -> None:
    add_kafka_options(parser)
    add_keys_option(parser)
    add_parent_pid_option(parser)
    w = parser.add_argument_group("workload")
    add_directory_options(w, scenario=True)
    w.add_argument("--rate", type=float, default=100.0, help="documents per second (default 100)")
    size = w.add_mutually_exclusive_group(required=True)
    size.add_argument("--count", type=int, metavar="N", help="number of documents")
    size.add_argument("--duration", type=float, metavar="S", help="seconds of arrivals")
    w.add_argument("--seed", type=int, default=0, help="workload seed (default 0)")
    w.add_argument(
        "--faults",
        default="none",
        metavar="SPEC",
        help="'none', 'default' or kind=rate,... e.g. tampered_content=0.01,replay=0.005",
    )
    p = parser.add_argument_group("processes and output")
    p.add_argument("--instances", type=int, default=1, metavar="N", help="producer processes")
    p.add_argument("--shard", metavar="I/N", help="send only shard I of N (by sender hash)")
    start = p.add_mutually_exclusive_group()
    start.add_argument(
        "--start-at", type=int, metavar="US", help="shared run start, us since epoch"
    )
    start.add_argument(
        "--start-file",
        type=Path,
        metavar="FILE",
        help='connect, then wait for FILE (JSON with "start_us", the run start) to appear: an '
        "orchestrator starts the producer with the other stages and writes FILE once they are "
        "ready",
    )
    p.add_argument("--out-dir", type=Path, metavar="DIR", help="run directory (default runs/)")
    p.add_argument("--manifest", type=Path, metavar="FILE", help="default OUT_DIR/manifest.json")
    p.add_argument("--stats-file", type=Path, metavar="FILE", help="RunMetrics JSON, every 1 s")
    p.add_argument("--no-progress", action="store_true", help="no progress display")
    parser.set_defaults(func=run_produce)


def _shard(text: str | None) -> tuple[int, int]:
    if text is None:
        return 0, 1
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise ConfigError(f"--shard wants I/N, got {text!r}") from None
    if not 0 <= i < n:
        raise ConfigError(f"--shard {text}: I must be in 0..N-1")
    return i, n


def run_produce(args: argparse.Namespace) -> int:
    from interchange.pki.issuance import missing_pki
    from interchange.pki.keyfiles import Layout
    from interchange.workload.faults import parse_faults
    from interchange.workload.generator import WorkloadSpec

    settings = settings_from_args(args)
    shard = _shard(args.shard)
    if args.instances < 1 or (args.instances > 1 and args.shard):
        raise ConfigError("--instances must be >= 1 and cannot be combined with --shard")
    directory = directory_from_args(args)
    spec = WorkloadSpec(
        rate=args.rate, count=args.count, duration_s=args.duration, faults=parse_faults(args.faults)
    )
    out_dir = settings.out_dir
    manifest_path = args.manifest or out_dir / "manifest.json"
    if settings.bootstrap is None:
        print(
            "no --bootstrap: an embedded in-memory broker runs for this command only; the topics "
            "and all it produces are LOST when it exits. For a router or an audit, run "
            "'interchange broker' and pass --bootstrap.",
            file=sys.stderr,
        )
    if not Layout(settings.keys_dir).root_cert.exists():  # before any broker is touched
        raise PkiError(missing_pki(settings.keys_dir))
    with kafka_settings(settings) as live:
        from interchange.kafka.clients import await_kafka

        stop = StopFlag().install().watch_parent(args.parent_pid)
        if not await_kafka(live.bootstrap or "", stop, _say, "producer"):
            _say(f"producer: stopped ({stop.signal_name}) before Kafka answered")
            return 0
        if args.shard is None:  # a shard is started by a parent that prepared everything
            _prepare(live, directory)
            directory.save(out_dir / "directory.json")
        if stop:
            _say(f"producer: stopped ({stop.signal_name}) before the first send")
            return 0
        if args.instances > 1:
            return _run_instances(args, live, out_dir, manifest_path, stop)
        return _run_one(
            args,
            live,
            directory=directory,
            spec=spec,
            shard=shard,
            manifest_path=manifest_path,
            stop=stop,
        )


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _prepare(settings: Any, directory: Any) -> None:
    """Create missing topics and key material (for every agency of the directory)."""
    from interchange.kafka.topics import create_topics
    from interchange.pki.keystore import ensure_keys

    created = create_topics(settings)
    if created:
        print(f"created {len(created)} topics", file=sys.stderr)
    print(ensure_keys(settings.keys_dir, directory, create=False), file=sys.stderr)


def _run_one(
    args: argparse.Namespace,
    settings: Any,
    *,
    directory: Any,
    spec: Any,
    shard: tuple[int, int],
    manifest_path: Path,
    stop: StopFlag,
) -> int:
    from interchange.pki.keystore import KeyStore
    from interchange.workload.faults import format_faults
    from interchange.workload.manifest import write_manifest
    from interchange.workload.producer import AgencyProducer, ProducerConfig

    config = ProducerConfig(
        seed=args.seed,
        start_us=args.start_at,
        start_file=args.start_file,
        shard=shard[0],
        shards=shard[1],
        stats_file=args.stats_file,
    )
    producer = AgencyProducer(settings, directory, spec, KeyStore.open(settings.keys_dir), config)
    if args.no_progress or not sys.stderr.isatty():
        result = producer.run(stop)
    else:
        with _ProgressView(spec) as view:
            result = producer.run(stop, view.update)
    manifest = producer.manifest(
        bootstrap=settings.bootstrap,
        faults=format_faults(spec.faults),
        directory_file=str(settings.out_dir / "directory.json"),
    )
    write_manifest(manifest_path, manifest)
    lag = manifest["schedule_lag"]
    print(
        f"produced {result.sent.documents:,} documents ({result.acked:,} acked, "
        f"{result.failed:,} failed, {sum(result.sent.withheld.values()):,} classified "
        f"withheld at the source) to {producer.topic}; schedule lag p50 "
        f"{lag['p50_us'] / 1000:.1f} ms, p99 {lag['p99_us'] / 1000:.1f} ms, max "
        f"{lag['p100_us'] / 1000:.1f} ms; manifest {manifest_path}"
        + (f" (stopped by {stop.signal_name})" if result.stopped_early else ""),
        file=sys.stderr,
    )
    if result.failed:
        print(f"first send error: {result.first_error}", file=sys.stderr)
    return 1 if result.failed else 0


def _run_instances(
    args: argparse.Namespace, settings: Any, out_dir: Path, manifest_path: Path, stop: StopFlag
) -> int:
    """N shard processes with one shared start time (`stages.producer_shards`)."""
    from interchange.stages.producer_shards import CHILD_LEAD_S, run_shards, shard_stages

    n = args.instances
    stages = shard_stages(
        settings,
        out_dir / "directory.json",
        out_dir,
        instances=n,
        rate=args.rate,
        count=args.count,
        duration=args.duration,
        seed=args.seed,
        faults=args.faults,
        start_file=args.start_file,
        start_at_us=args.start_at or time.time_ns() // 1000 + int(CHILD_LEAD_S * 1e6),
    )
    print(f"{n} producer processes, shared start in {CHILD_LEAD_S:.0f} s", file=sys.stderr)
    result = run_shards(stages, out_dir, manifest_path, stop)
    print(
        f"produced {result.manifest['sent']['documents']:,} documents with {n} processes "
        f"(exit codes {list(result.codes)}); manifest {manifest_path}",
        file=sys.stderr,
    )
    return 0 if result.ok else 1


class _ProgressView:
    """A rich progress bar on stderr fed by the producer's progress callbacks."""

    def __init__(self, spec: Any) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.spec = spec
        self.progress = Progress(
            TextColumn("producing"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
        )
        total = spec.count if spec.count is not None else int(spec.rate * spec.duration_s)
        self.task = self.progress.add_task("produce", total=total, detail="")

    def __enter__(self) -> _ProgressView:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def update(self, p: Any) -> None:
        detail = (
            f"acked {p.acked:,}  failed {p.failed:,}  lag {p.lag_us / 1000:.1f} ms  "
            f"{p.sent / max(p.elapsed_s, 1e-9):,.0f}/s"
        )
        self.progress.update(self.task, completed=p.sent, detail=detail)
