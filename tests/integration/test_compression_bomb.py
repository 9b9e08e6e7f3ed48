"""A gzip bomb on the submissions topic: the router's memory stays bounded and it goes on.

The router runs as its own process (so its RSS is its own) on the session broker;
psutil samples its RSS every 5 ms while a record of `INFLATED` zero bytes, gzip
compressed to a few hundred KB, goes through it. Run as a script to print the
figures of docs/BENCHMARKS.md, with and without the bound:

    .venv/bin/python tests/integration/test_compression_bomb.py [--unbounded] [--mib 256]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from interchange.axis.presets import build_directory
from interchange.kafka.clients import make_consumer, make_producer
from interchange.kafka.topics import create_topics, layout_of
from interchange.pki.keystore import KeyStore, init_pki
from interchange.settings import Settings
from interchange.wire import codec
from interchange.wire.model import ReasonCode, Rejection

pytestmark = pytest.mark.integration

SENDER = "000.00.00.G22"
RECIPIENT = "000.00.00.H01"
INFLATED = 128 * 1024 * 1024
UNBOUNDED = (
    "import sys; import interchange.kafka.bounded_records as b; b.install = lambda: None; "
    "from interchange.cli.main import main; raise SystemExit(main(sys.argv[1:]))"
)


@dataclass(frozen=True)
class BombRun:
    compressed_bytes: int
    baseline_rss: int  # router RSS once a first document was delivered
    peak_rss: int  # highest RSS sampled from the bomb's send until the next delivery
    rejection: Rejection | None  # the bomb's rejection
    bomb_at: tuple[int, int]  # (partition, offset) of the bomb
    delivered_after: bool  # a genuine document sent after the bomb was delivered

    @property
    def growth_mib(self) -> float:
        return (self.peak_rss - self.baseline_rss) / 2**20


def _document(keys: KeyStore, number: int) -> bytes:
    from router_helpers import document, sign

    return codec.encode_envelope(sign(keys, document(SENDER, (RECIPIENT,), number)))


def _router(settings: Settings, log: Path, *, bounded: bool) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERCHANGE_")}
    env["INTERCHANGE_MAX_POLL_INTERVAL_MS"] = "3000"  # a quick group join on Tansu
    head = ["-m", "interchange"] if bounded else ["-c", UNBOUNDED]
    args = [
        "route", "--bootstrap", str(settings.bootstrap), "--topic-prefix", settings.topic_prefix,
        "--keys-dir", str(settings.keys_dir), "--preset", "tiny", "--router-id", "bomb",
        "--summary-interval", "600",
    ]  # fmt: skip
    with log.open("wb") as err:
        return subprocess.Popen(
            [sys.executable, *head, *args], env=env, stdout=subprocess.DEVNULL, stderr=err
        )


class _Sampler:
    """Peak RSS of one process, sampled every 5 ms until stopped."""

    def __init__(self, pid: int) -> None:
        self.proc = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            try:
                self.peak = max(self.peak, self.proc.memory_info().rss)
            except psutil.Error:
                return

    def __enter__(self) -> _Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def _wait_for(
    settings: Settings, want: set[tuple[str, int, int]], timeout_s: float
) -> dict[tuple[str, int, int], object]:
    """Outputs seen, keyed ('rejection', partition, offset of the submission) or
    ('delivery', 0, document number), until all of `want` were seen or the timeout."""
    from kafka import TopicPartition

    layout = layout_of(settings)
    names = [*layout.deliveries, layout.rejections]
    consumer = make_consumer(settings)
    seen: dict[tuple[str, int, int], object] = {}
    try:
        tps = [TopicPartition(t, p) for t in names for p in consumer.partitions_for_topic(t)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = time.monotonic() + timeout_s
        while time.monotonic() < end and not want <= set(seen):
            for tp, records in consumer.poll(timeout_ms=100).items():
                for r in records:
                    if tp.topic == layout.rejections:
                        rej = codec.decode_rejection(r.value or b"")
                        seen[("rejection", rej.partition, rej.offset)] = rej
                    else:
                        doc = codec.decode_document(codec.decode_envelope(r.value).content)
                        seen[("delivery", 0, int(doc.code_number))] = doc
    finally:
        consumer.close()
    return seen


def run_bomb(
    settings: Settings, keys: KeyStore, tmp: Path, inflated: int, *, bounded: bool
) -> BombRun:
    from kafka import KafkaProducer

    submissions = layout_of(settings).submissions
    router = _router(settings, tmp / "router.log", bounded=bounded)
    try:
        plain = make_producer(settings)
        plain.send(submissions, _document(keys, 1), key=SENDER.encode()).get(timeout=30)
        if ("delivery", 0, 1) not in _wait_for(settings, {("delivery", 0, 1)}, 60):
            raise AssertionError("the router did not deliver a first document")
        time.sleep(1.0)  # settle after the first transaction
        baseline = psutil.Process(router.pid).memory_info().rss
        bomb_producer = KafkaProducer(
            bootstrap_servers=str(settings.bootstrap),
            compression_type="gzip",
            max_request_size=inflated + 1024 * 1024,
            batch_size=1024,
        )
        with _Sampler(router.pid) as sampler:
            meta = bomb_producer.send(submissions, bytes(inflated), key=SENDER.encode()).get(
                timeout=120
            )
            bomb_producer.close(timeout=10)
            compressed = _compressed_size(inflated)
            plain.send(submissions, _document(keys, 2), key=SENDER.encode()).get(timeout=30)
            want = {("rejection", meta.partition, meta.offset), ("delivery", 0, 2)}
            seen = _wait_for(settings, want, 120)
        plain.close(timeout=10)
        rejection = seen.get(("rejection", meta.partition, meta.offset))
        return BombRun(
            compressed,
            baseline,
            max(sampler.peak, baseline),
            rejection if isinstance(rejection, Rejection) else None,
            (meta.partition, meta.offset),
            ("delivery", 0, 2) in seen,
        )
    finally:
        router.terminate()
        try:
            router.wait(timeout=30)
        except subprocess.TimeoutExpired:
            router.kill()


def _compressed_size(inflated: int) -> int:
    from kafka.codec import gzip_encode

    return len(gzip_encode(bytes(inflated)))


def _setup(bootstrap: str, tmp: Path) -> tuple[Settings, KeyStore]:
    directory = build_directory("tiny")
    settings = Settings.from_env().replace(
        bootstrap=bootstrap,
        topic_prefix=f"bomb-{uuid.uuid4().hex[:10]}.",
        keys_dir=tmp / "keys",
        max_poll_interval_ms=3_000,
    )
    init_pki(settings.keys_dir, list(directory))
    create_topics(settings)
    return settings, KeyStore.open(settings.keys_dir)


def test_a_gzip_bomb_leaves_the_router_memory_bounded_and_the_router_running(
    bootstrap: str, tmp_path: Path
) -> None:
    settings, keys = _setup(bootstrap, tmp_path)
    run = run_bomb(settings, keys, tmp_path, INFLATED, bounded=True)
    assert run.compressed_bytes < INFLATED // 500  # it is a bomb: ~1,000x
    assert run.growth_mib < 48, f"router RSS grew {run.growth_mib:.0f} MiB"
    assert run.rejection is not None
    assert run.rejection.reason is ReasonCode.MALFORMED
    assert run.rejection.detail.startswith("envelope: refused batch: gzip batch inflates beyond")
    assert (run.rejection.topic, run.rejection.partition, run.rejection.offset) == (
        layout_of(settings).submissions,
        *run.bomb_at,
    )
    assert run.delivered_after


def main() -> int:
    """Print the router's RSS growth for one bomb (the figure of docs/BENCHMARKS.md)."""
    import tempfile

    from interchange.kafka.broker import EmbeddedBroker

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unbounded", action="store_true", help="kafka-python's own inflate")
    parser.add_argument("--mib", type=int, default=256, help="inflated size (default 256)")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # router_helpers
    with tempfile.TemporaryDirectory() as tmp, EmbeddedBroker() as broker:
        settings, keys = _setup(broker.bootstrap, Path(tmp))
        run = run_bomb(settings, keys, Path(tmp), args.mib * 2**20, bounded=not args.unbounded)
    print(
        f"{'unbounded' if args.unbounded else 'bounded'}: {args.mib} MiB inflated from "
        f"{run.compressed_bytes / 1024:.0f} KB; router RSS {run.baseline_rss / 2**20:.0f} MiB "
        f"-> peak {run.peak_rss / 2**20:.0f} MiB (+{run.growth_mib:.0f} MiB); rejection: "
        f"{run.rejection.detail if run.rejection else None}; next document delivered: "
        f"{run.delivered_after}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
