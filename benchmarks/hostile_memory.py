"""Router memory under hostile load: RSS of a router fed nothing but bad submissions.

Starts the embedded broker and one router (the operator's commands), then floods the
submissions topic for `--duration` seconds with hostile records: random bytes of
sizes from 100 B to 4 MiB, valid envelopes with one byte flipped, the same valid
envelope replayed, envelopes sent under another agency's key or a null key, traces
at the 1,000-hop cap, genuinely signed documents with 65,000-character ids, envelopes
at the size cap, and (every `--bomb-every` seconds) a gzip record that inflates to
`--bomb-mib` MiB. The router's RSS is sampled every second; the figure is the first
sample after the warm-up, the median, the peak and the last. Run from a scratch
directory (it writes keys/ there):

    python benchmarks/hostile_memory.py --duration 60
"""

from __future__ import annotations

import argparse
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import psutil
from kafka import KafkaProducer

from interchange.axis.presets import build
from interchange.bench.calc import ALL_CONNECTED, bench_spec
from interchange.kafka.clients import make_producer
from interchange.pki.keystore import KeyStore
from interchange.settings import Settings
from interchange.wire import codec
from interchange.wire.model import Envelope, Hop
from interchange.workload.generator import generate
from interchange.workload.sealing import seal, to_wire

SIZES = (100, 2_048, 65_536, 1 << 20, 4 << 20)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _valid(keys: KeyStore, n: int) -> list[tuple[bytes, bytes]]:
    directory = build("province", ALL_CONNECTED)
    now = time.time_ns() // 1000
    out = []
    for p in generate(directory, bench_spec(1000.0, count=n), 3, start_us=now):
        out.append((p.key, to_wire(seal(p, keys), None, Hop(f"producer:{p.sender}", now), 0)))
    return out


def _at_caps(keys: KeyStore, valid: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """Records each at one of the caps: a 1,000-hop trace, a genuinely signed document
    with a 65,000-character id, an envelope of exactly the envelope cap."""
    out = []
    for key, value in valid[:4]:
        env = codec.decode_envelope(value)
        hops = tuple(Hop(f"relay:{i}", 0) for i in range(codec.MAX_TRACE_HOPS))
        out.append((key, codec.encode_envelope(replace(env, trace=hops))))
        doc = codec.decode_document(env.content)
        content = codec.encode_document(replace(doc, id="x" * 65_000))
        cred = keys.credential(doc.sender.id)
        out.append(
            (
                key,
                codec.encode_envelope(
                    Envelope(content, cred.sign(content), cred.cert_id, env.trace)
                ),
            )
        )
    env = codec.decode_envelope(valid[0][1])
    room = codec.MAX_ENVELOPE_BYTES - len(valid[0][1])
    filler: list[Hop] = []
    while room > 0:  # hops of up to 60,000 characters until the cap is reached exactly
        filler.append(Hop("f" * min(room, 60_000), 0))
        room = codec.MAX_ENVELOPE_BYTES - len(
            codec.encode_envelope(replace(env, trace=(*env.trace, *filler)))
        )
        if room < 0:
            last = filler.pop()
            filler.append(Hop(last.node[: len(last.node) + room], 0))
            room = 0
    out.append((valid[0][0], codec.encode_envelope(replace(env, trace=(*env.trace, *filler)))))
    return out


def _hostile(
    rng: random.Random, valid: list[tuple[bytes, bytes]], at_caps: list[tuple[bytes, bytes]]
) -> tuple[bytes | None, bytes]:
    kind = rng.randrange(6)
    key, value = valid[rng.randrange(len(valid))]
    if kind == 5:  # at a cap (trace, id length, envelope size)
        return at_caps[rng.randrange(len(at_caps))]
    if kind == 0:  # random bytes, small to 4 MiB
        return key, rng.randbytes(rng.choice(SIZES))
    if kind == 1:  # one byte flipped
        i = rng.randrange(len(value))
        return key, value[:i] + bytes([value[i] ^ 0xFF]) + value[i + 1 :]
    if kind == 2:  # a replay of a genuine document
        return key, value
    if kind == 3:  # under another agency's key
        return valid[rng.randrange(len(valid))][0], value
    return None, value  # a null key


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=200.0, help="hostile records/s")
    parser.add_argument("--bomb-every", type=float, default=10.0, help="s between gzip bombs")
    parser.add_argument("--bomb-mib", type=int, default=256, help="MiB a gzip bomb inflates to")
    args = parser.parse_args()
    exe = [sys.executable, "-m", "interchange"]
    port = _free_port()
    bootstrap = f"127.0.0.1:{port}"
    subprocess.run([*exe, "keys", "init", "--preset", "province", "--if-missing"], check=True)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(subprocess.Popen([*exe, "broker", "--port", str(port)]))
        time.sleep(1.5)
        subprocess.run([*exe, "topics", "create", "--bootstrap", bootstrap], check=True)
        router = subprocess.Popen([*exe, "route", "--bootstrap", bootstrap, "--router-id", "h"])
        procs.append(router)
        time.sleep(5)
        settings = Settings(bootstrap=bootstrap)
        producer = make_producer(settings)
        keys = KeyStore.open(Path("keys"))
        valid = _valid(keys, 200)
        at_caps = _at_caps(keys, valid)
        bomb = bytes(args.bomb_mib << 20)
        bomber = KafkaProducer(
            bootstrap_servers=bootstrap,
            compression_type="gzip",
            max_request_size=len(bomb) + (1 << 20),
            batch_size=1024,
        )
        bombs = 0
        rng = random.Random(7)
        proc = psutil.Process(router.pid)
        samples: list[tuple[float, int]] = []
        started = time.monotonic()
        sent = 0
        next_sample = started
        while (now := time.monotonic()) - started < args.duration:
            key, value = _hostile(rng, valid, at_caps)
            producer.send("interchange.submissions", value, key=key)
            sent += 1
            if args.bomb_every and now - started >= bombs * args.bomb_every:
                bomber.send("interchange.submissions", bomb, key=valid[0][0])
                bombs += 1
            if now >= next_sample:
                samples.append((now - started, proc.memory_info().rss))
                next_sample += 1.0
            time.sleep(max(0.0, started + sent / args.rate - time.monotonic()))
        producer.flush(timeout=60)
        producer.close(timeout=10)
        bomber.close(timeout=60)
        time.sleep(5)
        samples.append((time.monotonic() - started, proc.memory_info().rss))
        after = [rss for t, rss in samples if t >= args.warmup]
        mib = 1 << 20
        print(
            f"router RSS under {sent:,} hostile records ({args.rate:.0f}/s, "
            f"{args.duration:.0f} s) and {bombs} gzip bombs of {args.bomb_mib} MiB: after "
            f"warm-up {after[0] / mib:.1f} MiB, median {statistics.median(after) / mib:.1f} MiB, "
            f"peak {max(after) / mib:.1f} MiB, end {after[-1] / mib:.1f} MiB "
            f"({100 * (max(after) / after[0] - 1):+.1f}% peak over the first sample); "
            f"router {'running' if router.poll() is None else 'EXITED'}"
        )
        third = max(1, len(after) // 3)
        thirds = [after[:third], after[third : 2 * third], after[2 * third :]]
        print(
            "median RSS of each third of the run after warm-up: "
            + ", ".join(f"{statistics.median(t) / mib:.1f} MiB" for t in thirds if t)
        )
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
        for p in reversed(procs):
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
