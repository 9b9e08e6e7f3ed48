"""CPU per document of the pipeline's producer against the naive reference's loop.

Runs one producer in this process against a running broker and prints its CPU per
document, from the first send to the end of the flush: the whole process (kafka-python's
I/O thread included) and the main thread alone. `naive` is the loop of the naive
reference (`interchange.bench.naive`: generate, then `send_planned` for each document,
as fast as it can); `agency` is `AgencyProducer` (open-loop pacing at `--rate`, counts, metrics,
stats file). Both send the bench workload (`bench_spec`, ~2 KB attachments, seed 0).

    interchange broker --port 39213 &
    python benchmarks/producer_cpu.py --bootstrap 127.0.0.1:39213 --setup
    python benchmarks/producer_cpu.py --bootstrap 127.0.0.1:39213 naive --count 6000
    python benchmarks/producer_cpu.py --bootstrap 127.0.0.1:39213 agency --count 6000 --rate 3000

Keys go to `--keys` (default /tmp/producer-cpu-keys), topics get the prefix `pcpu.`. On a
shared machine alternate the runs (before, after, before, ...) and compare medians.
"""

from __future__ import annotations

import argparse
import threading
import time
from pathlib import Path

from interchange.axis.presets import DEFAULT_PRESET, build
from interchange.bench.calc import ALL_CONNECTED, bench_spec
from interchange.bench.naive import send_planned
from interchange.kafka.clients import make_producer
from interchange.kafka.topics import create_topics, layout_of
from interchange.pki.keystore import KeyStore, ensure_keys
from interchange.settings import Settings
from interchange.workload.generator import generate
from interchange.workload.producer import AgencyProducer, ProducerConfig


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", nargs="?", choices=("naive", "agency"))
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--setup", action="store_true", help="create keys and topics, then exit")
    ap.add_argument("--count", type=int, default=6000)
    ap.add_argument("--rate", type=float, default=1e6, help="agency: documents/s (paced)")
    ap.add_argument("--keys", type=Path, default=Path("/tmp/producer-cpu-keys"))
    args = ap.parse_args()
    settings = Settings(bootstrap=args.bootstrap, topic_prefix="pcpu.", keys_dir=args.keys)
    directory = build(DEFAULT_PRESET, ALL_CONNECTED)
    if args.setup:
        print(ensure_keys(args.keys, directory.agencies), create_topics(settings))
        return
    keys = KeyStore.open(args.keys)
    rate = 1e6 if args.mode == "naive" else args.rate
    spec = bench_spec(rate, count=args.count)
    if args.mode == "naive":
        sent, cpu, main_cpu = _naive(settings, directory, keys, spec)
    else:
        sent, cpu, main_cpu = _agency(settings, directory, keys, spec)
    print(
        f"{args.mode} at {rate:g}/s: {sent} documents, CPU per document {cpu / sent * 1e6:.1f} µs "
        f"(main thread {main_cpu / sent * 1e6:.1f} µs)"
    )


def _naive(settings: Settings, directory: object, keys: KeyStore, spec: object) -> tuple:
    topic = layout_of(settings).submissions
    producer = make_producer(settings)
    producer.partitions_for(topic)
    c0, m0 = time.process_time(), time.thread_time()
    sent = 0
    for planned in generate(directory, spec, 0, start_us=time.time_ns() // 1000):  # type: ignore[arg-type]
        if planned.withheld:
            continue
        send_planned(producer, topic, planned, keys)
        sent += 1
    producer.flush(timeout=60)
    cpu, main_cpu = time.process_time() - c0, time.thread_time() - m0
    producer.close(timeout=10)
    return sent, cpu, main_cpu


def _agency(settings: Settings, directory: object, keys: KeyStore, spec: object) -> tuple:
    config = ProducerConfig(seed=0, stats_file=Path("/tmp/producer-cpu-stats.json"))
    producer = AgencyProducer(settings, directory, spec, keys, config)  # type: ignore[arg-type]
    marks: dict[str, float] = {}
    set_start = producer._set_start

    def start_clocks(kafka_producer: object, stop: threading.Event) -> bool:
        ok = set_start(kafka_producer, stop)
        marks["c0"], marks["m0"] = time.process_time(), time.thread_time()
        return ok

    producer._set_start = start_clocks  # type: ignore[method-assign]
    result = producer.run(threading.Event())
    if result.failed:
        raise SystemExit(f"{result.failed} sends failed: {result.first_error}")
    cpu = time.process_time() - marks["c0"]
    return result.sent.documents, cpu, time.thread_time() - marks["m0"]


if __name__ == "__main__":
    main()
