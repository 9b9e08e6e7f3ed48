"""`interchange recipients`: recipient agencies of one or more tiers (status back to senders)."""

from __future__ import annotations

import argparse
import logging
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

RECIPIENTS = Command(
    "recipients",
    "operators",
    "run recipient agencies per tier: delivery latency, duplicates, status 01/03 back",
    "interchange recipients --preset province --stats-file runs/recipients.json "
    "--bootstrap 127.0.0.1:9092",
)


def register_recipients(parser: argparse.ArgumentParser) -> None:
    from interchange.delivery.recipient import DEFAULT_GROUP_PREFIX
    from interchange.delivery.state import DUPLICATE_WINDOW
    from interchange.wire.model import Tier

    add_kafka_options(parser)
    add_keys_option(parser)
    add_parent_pid_option(parser)
    g = parser.add_argument_group("recipients")
    g.add_argument(
        "--tier",
        action="append",
        choices=[t.value for t in Tier],
        help="tier to receive for (repeatable; default every tier of the directory)",
    )
    add_directory_options(g)
    g.add_argument(
        "--group-prefix",
        default=DEFAULT_GROUP_PREFIX,
        metavar="NAME",
        help=f"the consumer group of every recipients process that shares the load "
        f"(default {DEFAULT_GROUP_PREFIX})",
    )
    g.add_argument(
        "--verify-at-recipient",
        action="store_true",
        help="re-verify every signature end to end (needs the trust store in --keys-dir)",
    )
    g.add_argument(
        "--accept-delay",
        type=float,
        default=0.1,
        metavar="S",
        help="mean simulated handling time before status 03 (exponential; default 0.1 s)",
    )
    g.add_argument(
        "--run-start",
        type=int,
        metavar="US",
        help="run start, us since epoch (origin of downtime windows; "
        "default: the first intended send time seen)",
    )
    g.add_argument(
        "--run-file",
        type=Path,
        metavar="FILE",
        help='JSON with the run start as "start_us" (simulate\'s run.json), read at the '
        "first delivery; used when --run-start is not given",
    )
    g.add_argument("--seed", type=int, default=0, help="seed of the work records (default 0)")
    g.add_argument(
        "--duplicate-window",
        type=int,
        default=DUPLICATE_WINDOW,
        metavar="N",
        help=f"(document, recipient) pairs remembered per tier to count duplicates "
        f"(default {DUPLICATE_WINDOW:,}); memory grows until the window is full",
    )
    g.add_argument("--stats-file", type=Path, metavar="F", help="stats JSON, every 1 s and at exit")
    g.add_argument("--idle-exit", type=float, metavar="S", help="exit after S s without records")
    g.add_argument("--max-records", type=int, metavar="N", help="exit after N delivery records")
    g.add_argument(
        "--work-records",
        type=Path,
        metavar="FILE",
        help='scenario JSON whose "work_records" (online share per tier, time scale) shape '
        "how each delivered document is handled, statuses 03-06 (default: docs/SIMULATE.md)",
    )
    add_static_assignment_option(g)
    g.add_argument("-v", "--verbose", action="store_true", help="log assignments and errors")
    parser.set_defaults(func=run_recipients)


def run_recipients(args: argparse.Namespace) -> int:
    from interchange.axis.presets import Scenario
    from interchange.delivery.recipient import RecipientConfig, Recipients
    from interchange.kafka.clients import await_kafka
    from interchange.wire.model import Tier
    from interchange.workrecords.plan import DEFAULT_WORK_SETTINGS

    configure_logging(args.verbose, quiet_kafka=logging.CRITICAL)  # the stage says it in one line
    settings = settings_from_args(args)
    directory = directory_from_args(args)
    tiers = tuple(Tier(t) for t in args.tier) if args.tier else directory.tiers
    trust = None
    if args.verify_at_recipient:
        from interchange.pki.truststore import TrustStore

        trust = TrustStore.open(settings.keys_dir)
    work = DEFAULT_WORK_SETTINGS
    if args.work_records is not None:
        work = Scenario.load(args.work_records).work_records
    config = RecipientConfig(
        tiers=tiers,
        group_prefix=args.group_prefix,
        accept_delay_s=args.accept_delay,
        seed=args.seed,
        run_start_us=args.run_start,
        run_file=args.run_file,
        stats_file=args.stats_file,
        idle_exit_s=args.idle_exit,
        max_records=args.max_records,
        duplicate_window=args.duplicate_window,
        static=args.static_assignment,
        work=work,
    )

    def echo(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    stop = StopFlag().install().watch_parent(args.parent_pid)
    with kafka_settings(settings) as live:
        if not await_kafka(live.bootstrap or "", stop, echo, "recipients"):
            echo(f"recipients: stopped ({stop.signal_name}) before Kafka answered")
            return 0
        recipients = Recipients(live, directory, config, trust=trust, echo=echo)
        echo(
            f"recipients for {', '.join(t.value for t in tiers)} on {live.bootstrap} "
            f"(group {args.group_prefix}), {len(directory)} agencies"
            + (", re-verifying signatures" if trust else "")
        )
        counts = recipients.run(stop)
    echo(
        f"recipients: stopped ({stop.signal_name or 'done'}); {counts.records:,} records, "
        f"{counts.delivered:,} delivered, {counts.duplicates:,} duplicates, "
        f"{counts.redelivered:,} redelivered, {counts.malformed:,} malformed, "
        f"{counts.leaks:,} classified leaks, "
        f"{counts.held:,} held by downtime; status 01 {counts.status_arrived:,}, "
        f"03 {counts.status_accepted:,}, 06 {counts.status_completed:,}, "
        f"failed {counts.status_failed:,}"
    )
    return 1 if counts.leaks or counts.status_failed else 0
