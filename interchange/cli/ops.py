"""Commands for everyone who runs the axis: the embedded broker and the topic layout."""

from __future__ import annotations

import argparse
import sys

from interchange.cli.common import (
    Command,
    StopFlag,
    add_kafka_options,
    kafka_settings,
    settings_from_args,
)

BROKER = Command(
    "broker",
    "operators",
    "run the embedded Kafka-compatible broker (Tansu, in memory) in the foreground",
    "interchange broker --port 9092",
)
TOPICS = Command(
    "topics",
    "operators",
    "create (idempotently) or describe the topic layout",
    "interchange topics create --bootstrap 127.0.0.1:9092",
)


def register_broker(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, help="port on 127.0.0.1 (default: a free port)")
    parser.add_argument("--log", metavar="FILE", help="broker log file (default /tmp/...)")
    parser.set_defaults(func=run_broker)


def run_broker(args: argparse.Namespace) -> int:
    from pathlib import Path

    from interchange.kafka.broker import EmbeddedBroker

    stop = StopFlag().install()
    broker = EmbeddedBroker(args.port, log_path=Path(args.log) if args.log else None)
    with broker:
        print(broker.bootstrap, flush=True)
        print(
            f"embedded broker pid {broker.pid}, in memory, log {broker.log_path}; "
            "Ctrl-C stops it and loses every topic",
            file=sys.stderr,
            flush=True,
        )
        while not stop.wait(0.5):
            if not broker.alive:
                print("the broker exited on its own; see its log", file=sys.stderr)
                return 1
    print(f"stopped ({stop.signal_name or 'exit'})", file=sys.stderr)
    return 0


def register_topics(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["create", "describe"], help="what to do")
    add_kafka_options(parser)
    parser.set_defaults(func=run_topics)


def run_topics(args: argparse.Namespace) -> int:
    from interchange.kafka.topics import create_topics, topic_specs

    settings = settings_from_args(args)
    if args.action == "describe":
        for spec in topic_specs(settings):
            print(
                f"{spec.name}\t{spec.partitions} partitions\tkey: {spec.key}\t"
                f"value: {spec.value}\twriter: {spec.writer}\treader: {spec.reader}\t"
                f"retention: {_retention(spec.retention_ms)}"
            )
        return 0
    if settings.bootstrap is None:
        print(
            "topics create needs --bootstrap (the embedded broker forgets topics when it "
            "stops); commands that need topics create them themselves",
            file=sys.stderr,
        )
        return 2
    with kafka_settings(settings) as live:
        created = create_topics(live)
    for name in created:
        print(f"created {name}")
    print(f"{len(topic_specs(settings))} topics present on {settings.bootstrap}")
    return 0


def _retention(ms: int) -> str:
    if ms < 0:
        return "forever"
    return f"{ms / 86_400_000:g} days ({ms} ms)"
