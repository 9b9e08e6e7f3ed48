"""`interchange route`: run one router instance (several share the partitions of a group)."""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from pathlib import Path

from interchange.cli.common import (
    Command,
    StopFlag,
    add_directory_options,
    add_kafka_options,
    add_keys_option,
    add_parent_pid_option,
    add_static_assignment_option,
    configure_logging,
    directory_from_args,
    kafka_settings,
    settings_from_args,
)

ROUTE = Command(
    "route",
    "operators",
    "route submissions: verify, exclude classified, deliver exactly once (Kafka transactions)",
    "interchange route --bootstrap 127.0.0.1:9092 --router-id r1 --preset province "
    "--metrics-port 9464",
)


def register_route(parser: argparse.ArgumentParser) -> None:
    add_kafka_options(parser)
    add_keys_option(parser)
    add_parent_pid_option(parser)
    group = parser.add_argument_group("router")
    group.add_argument(
        "--group",
        help="consumer group shared by all routers of one topic layout "
        "(default: the topic prefix + 'router', e.g. interchange.router)",
    )
    group.add_argument(
        "--router-id",
        metavar="ID",
        help="stable id of this instance; its transactional id derives from it, "
        "so a restarted router with the same id fences its previous self "
        "(default HOSTNAME-PID)",
    )
    add_directory_options(group)
    group.add_argument(
        "--batch-size",
        type=int,
        default=500,
        metavar="N",
        help="most records per transaction; a backlog fills it (default 500)",
    )
    group.add_argument(
        "--commit-interval-ms",
        type=int,
        default=0,
        metavar="MS",
        help="least time a batch gathers records before its transaction starts: "
        "fewer, larger transactions (less CPU) for MS more latency (default 0: start "
        "as soon as the previous transaction has committed)",
    )
    group.add_argument(
        "--replay-capacity",
        type=int,
        metavar="N",
        help="document ids remembered per submissions partition (default 100000)",
    )
    group.add_argument(
        "--max-records", type=int, metavar="N", help="exit after deciding at least N records"
    )
    group.add_argument(
        "--idle-exit", type=float, metavar="S", help="exit after S seconds without a submission"
    )
    add_static_assignment_option(group)
    out = parser.add_argument_group("metrics")
    out.add_argument(
        "--stats-file",
        type=Path,
        metavar="F",
        help="RunMetrics JSON, rewritten every second and at exit",
    )
    out.add_argument(
        "--metrics-port",
        type=int,
        metavar="N",
        help="serve Prometheus metrics on http://0.0.0.0:N/metrics",
    )
    out.add_argument(
        "--metrics-file",
        type=Path,
        metavar="F",
        help="write Prometheus text format to F every second and at exit",
    )
    out.add_argument(
        "--summary-interval",
        type=float,
        default=5.0,
        metavar="S",
        help="seconds between summary lines on stderr (default 5)",
    )
    out.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="log rebalances and restores (never document content)",
    )
    parser.set_defaults(func=run_route)


def run_route(args: argparse.Namespace) -> int:
    from interchange.pki.truststore import TrustStore
    from interchange.routing.replay_guard import DEFAULT_REPLAY_CAPACITY
    from interchange.routing.router import Router, RouterConfig

    configure_logging(args.verbose, quiet_kafka=logging.CRITICAL)
    settings = settings_from_args(args)
    directory = directory_from_args(args)
    trust = TrustStore.open(settings.keys_dir)
    config = RouterConfig(
        router_id=args.router_id or f"{socket.gethostname()}-{os.getpid()}",
        group=args.group or f"{settings.topic_prefix}router",
        batch_size=args.batch_size,
        commit_interval_ms=args.commit_interval_ms,
        replay_capacity=args.replay_capacity or DEFAULT_REPLAY_CAPACITY,
        max_records=args.max_records,
        idle_exit_s=args.idle_exit,
        static=args.static_assignment,
        summary_interval_s=args.summary_interval,
        stats_file=args.stats_file,
        metrics_file=args.metrics_file,
    )
    stop = StopFlag().install().watch_parent(args.parent_pid)
    with kafka_settings(settings) as live:
        router = Router(live, directory, trust, config)
        if args.metrics_port is not None:
            router.metrics.serve(args.metrics_port)
        print(
            f"router {config.router_id} on {live.bootstrap}, group {config.group}, "
            f"{len(directory)} agencies",
            file=sys.stderr,
            flush=True,
        )
        decided = router.run(stop)
    reason = stop.signal_name or "done"
    print(
        f"router {config.router_id}: stopped ({reason}); {decided:,} records decided; "
        f"{router.metrics.summary_line()}",
        file=sys.stderr,
        flush=True,
    )
    return 0
