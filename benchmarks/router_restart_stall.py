"""A router restart's stall: how long routing stops when a router is killed and restarted.

Starts the embedded broker, one router in a consumer group (as an operator runs
several) and a producer at a steady rate. Once deliveries flow, the router gets
`--signal` (KILL: a crash; TERM: a clean stop, which leaves the group) and is
started again at once with the same `--router-id`. The delivery and rejection
records are read back (read_committed) until one was written after the old router
exited: the stall is the time from the signal to the first record the restarted
router wrote (the records' CreateTime, the router's clock). Router logs go to logs/.
Run from a scratch directory (it writes keys/ there):

    python benchmarks/router_restart_stall.py --signal KILL --runs 3
    INTERCHANGE_SESSION_TIMEOUT_MS=6000 python benchmarks/router_restart_stall.py --runs 3
    python benchmarks/router_restart_stall.py --static-assignment --runs 3

Prints one line per run and the median.
"""

from __future__ import annotations

import argparse
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

from kafka import KafkaConsumer, TopicPartition

from interchange.kafka.broker import EmbeddedBroker

EXE = [sys.executable, "-m", "interchange"]


def first_output_after(bootstrap: str, prefix: str, after_ms: int, bound_s: float) -> int | None:
    """CreateTime of the first committed delivery or rejection record written after
    `after_ms` (the consumer keeps polling as records arrive), or None within `bound_s`."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, isolation_level="read_committed", enable_auto_commit=False
    )
    try:
        topics = [t for t in consumer.topics() if t.startswith(prefix) and (
            ".delivery." in t or t.endswith("rejections"))]  # fmt: skip
        tps = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
        consumer.assign(tps)
        consumer.seek_to_beginning()
        found: list[int] = []
        deadline = time.monotonic() + bound_s
        while time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=200).values():
                found.extend(r.timestamp for r in records if r.timestamp > after_ms)
            if found:
                return min(found)
        return None
    finally:
        consumer.close()


def one_run(args: argparse.Namespace, keys: Path) -> float:
    with EmbeddedBroker() as broker:
        bootstrap = broker.bootstrap
        common = ["--bootstrap", bootstrap, "--keys-dir", str(keys), "--preset", "tiny"]
        subprocess.run([*EXE, "topics", "create", "--bootstrap", bootstrap], check=True,
                       capture_output=True)  # fmt: skip
        route = [*EXE, "route", *common, "--router-id", "stall"]
        if args.static_assignment:
            route.append("--static-assignment")
        logs = keys.parent / "logs"
        logs.mkdir(exist_ok=True)
        router = subprocess.Popen(route, stderr=(logs / "router-1.log").open("w"))
        producer = subprocess.Popen(
            [*EXE, "produce", *common, "--rate", str(args.rate), "--duration",
             str(args.before + args.after), "--faults", "none", "--no-progress",
             "--out-dir", str(keys.parent / "run")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            if first_output_after(bootstrap, "interchange.", 0, 90) is None:
                raise SystemExit("no router output within 90 s")
            time.sleep(args.before)
            signalled_ms = time.time_ns() // 1_000_000
            router.send_signal(getattr(signal, f"SIG{args.signal}"))
            router.wait(timeout=30)
            exited_ms = time.time_ns() // 1_000_000  # a stopped router commits what it decided
            router = subprocess.Popen(route, stderr=(logs / "router-2.log").open("w"))
            resumed = first_output_after(bootstrap, "interchange.", exited_ms, args.bound)
        finally:
            for proc in (router, producer):
                if proc.poll() is None:
                    proc.terminate()
                    proc.wait(timeout=30)
    if resumed is None:
        raise SystemExit(f"the restarted router wrote nothing within {args.bound:.0f} s")
    return (resumed - signalled_ms) / 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signal", choices=("KILL", "TERM"), default="KILL")
    parser.add_argument(
        "--static-assignment", action="store_true", help="every partition, no group (simulate's)"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=float, default=50.0, help="documents per second")
    parser.add_argument("--before", type=float, default=5.0, help="seconds of flow before")
    parser.add_argument("--after", type=float, default=60.0, help="arrivals after, s")
    parser.add_argument("--bound", type=float, default=120.0, help="longest wait for routing")
    args = parser.parse_args()
    keys = Path("keys").resolve()
    subprocess.run([*EXE, "keys", "init", "--preset", "tiny", "--keys-dir", str(keys),
                    "--if-missing"], check=True, capture_output=True)  # fmt: skip
    stalls = []
    for i in range(args.runs):
        stall = one_run(args, keys)
        stalls.append(stall)
        print(f"run {i + 1}: SIG{args.signal}, routing resumed {stall:.1f} s after the signal")
    print(f"median {statistics.median(stalls):.1f} s over {args.runs} runs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
