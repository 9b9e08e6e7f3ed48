"""The producer's per-document CPU without a broker: generate, encode, the whole loop.

The bench workload (`bench_spec` at 1,000,000/s for an hour, 1,536-byte attachments, the
`province` directory with every agency connected, seed 0), in process, per document:

- `generate`: the next planned document of `generate` (the generator is warmed by
  `--warm` documents first, so its per-agency memos are filled as in a long run);
- `encode`: `codec.encode_document` of one of 500 such documents (of seed 1), in turn;
- `loop`: what the producer does for each document before `KafkaProducer.send`:
  generate, `seal` (encode and a real Ed25519 signature from `--keys`) and `to_wire`.

    python benchmarks/workload_cpu.py time --tree /path/to/before --tree . --keys keys
    python benchmarks/workload_cpu.py count-all --tree /path/to/before --tree . --keys keys
    python benchmarks/workload_cpu.py profile generate

`time` runs each tree in a fresh process in turn (before, after, before, ...) `--runs`
times; each process times `--rounds` rounds of `--docs` documents of every case
(interleaved) by thread CPU and reports the best and the median round in µs per document;
the table gives the median over processes of each. `count-all` counts instructions per
document under valgrind's callgrind (`--count` documents minus 0, one hash seed), which
a loaded machine does not move. `profile` prints cProfile's top functions of one case. A
tree is a checkout whose `interchange` package is imported (through PYTHONPATH). `--keys`
is a keys directory holding every agency of the directory (`interchange keys init`).
Wrap it in `nice -n 19` on a shared machine.
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import json
import os
import pstats
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

CASES = ("generate", "encode", "loop")
START_US = 1_767_225_600_000_000
ENCODED = 500  # distinct documents the encode case cycles through


def cases(
    keys: Path, warm: int, docs: int, only: str | None = None
) -> dict[str, Callable[[], int]]:
    """Each case as a call that handles `docs` documents (imports here: the tree is chosen
    by path). The streams are endless; the documents to encode are built once. `only`
    sets up that case alone (what callgrind counts: its set-up is the same for any count)."""
    from interchange.axis.presets import build
    from interchange.bench.calc import ALL_CONNECTED, bench_spec
    from interchange.pki.keystore import KeyStore
    from interchange.wire import codec
    from interchange.wire.model import Hop
    from interchange.workload.generator import generate
    from interchange.workload.sealing import seal, to_wire

    directory = build("province", ALL_CONNECTED)
    spec = bench_spec(1_000_000.0, duration_s=3600.0, attachment_bytes=1536)
    table: dict[str, Callable[[], int]] = {}

    def warmed(seed: int) -> Iterator[Any]:
        stream = generate(directory, spec, seed, start_us=START_US)
        for _ in itertools.islice(stream, warm):
            pass
        return stream

    if only in (None, "generate"):
        generated = warmed(0)

        def run_generate() -> int:
            for _ in itertools.islice(generated, docs):
                pass
            return docs

        table["generate"] = run_generate
    if only in (None, "encode"):
        documents = [p.document for p in itertools.islice(warmed(1), ENCODED)]
        cycle = itertools.cycle(documents)

        def run_encode() -> int:
            encode = codec.encode_document
            for document in itertools.islice(cycle, docs):
                encode(document)
            return docs

        table["encode"] = run_encode
    if only in (None, "loop"):
        store = KeyStore.open(keys)
        looped = warmed(0)

        def run_loop() -> int:
            for planned in itertools.islice(looped, docs):
                if planned.withheld:
                    continue
                hop = Hop(f"producer:{planned.sender}", planned.send_at_us)
                to_wire(seal(planned, store), planned.fault, hop, planned.seq)
            return docs

        table["loop"] = run_loop
    return table


def run_time(keys: Path, warm: int, rounds: int, docs: int) -> None:
    """Best and median µs per document of each case, the cases interleaved (JSON out)."""
    table = cases(keys, warm, docs)
    samples: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(rounds):
        for name in CASES:
            start = time.thread_time_ns()
            n = table[name]()
            samples[name].append((time.thread_time_ns() - start) / n / 1000)
    print(json.dumps({n: (min(v), statistics.median(v)) for n, v in samples.items()}))


def _child(
    tree: Path, *args: str, valgrind: bool = False, env_extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree.resolve()), **(env_extra or {})}
    if valgrind:  # one hash seed: string hashes otherwise move the count between runs
        env["PYTHONHASHSEED"] = "0"
    cmd = [sys.executable, str(Path(__file__).resolve()), *args]
    if valgrind:
        cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, check=True, env=env, timeout=3600)


def time_trees(trees: list[Path], runs: int, common: list[str]) -> None:
    best: dict[Path, dict[str, list[float]]] = {t: {n: [] for n in CASES} for t in trees}
    median: dict[Path, dict[str, list[float]]] = {t: {n: [] for n in CASES} for t in trees}
    for _ in range(runs):
        for tree in trees:
            out = _child(tree, "time-one", *common)
            for name, (low, mid) in json.loads(out.stdout).items():
                best[tree][name].append(low)
                median[tree][name].append(mid)
    print(f"µs per document, thread CPU, median over {runs} processes of: best / median round")
    print(f"{'tree':<32} " + " ".join(f"{n:>17}" for n in CASES))
    for tree in trees:
        row = " ".join(
            f"{statistics.median(best[tree][n]):>8.1f}/{statistics.median(median[tree][n]):<8.1f}"
            for n in CASES
        )
        print(f"{tree!s:<32} {row}")
    if len(trees) == 2:
        a, b = trees
        ratios = " ".join(
            f"{statistics.median(best[b][n]) / statistics.median(best[a][n]):>17.2f}" for n in CASES
        )
        print(f"{'ratio (second / first), best':<32} {ratios}")


def count_trees(trees: list[Path], count: int, keys: Path, warm: int) -> None:
    def collected(tree: Path, name: str, n: int) -> int:
        args = ("count", name, "--count", str(n), "--keys", str(keys), "--warm", str(warm))
        err = _child(tree, *args, valgrind=True).stderr
        match = re.search(r"Collected\s*:\s*(\d+)", err)
        if match is None:
            raise SystemExit(f"no callgrind total: {err[-500:]}")
        return int(match.group(1))

    print(f"instructions per document (callgrind, {count} documents minus 0)")
    print(f"{'tree':<32} " + " ".join(f"{n:>12}" for n in CASES))
    for tree in trees:
        row = []
        for name in CASES:
            per_doc = (collected(tree, name, count) - collected(tree, name, 0)) / max(count, 1)
            row.append(f"{per_doc:>12,.0f}")
        print(f"{tree!s:<32} " + " ".join(row), flush=True)


def run_count(name: str, count: int, keys: Path, warm: int) -> None:
    """One case over `count` documents (0: set up only), for callgrind to count."""
    table = cases(keys, warm, count, only=name)
    if count:
        table[name]()


def run_profile(name: str, keys: Path, warm: int, docs: int, top: int) -> None:
    table = cases(keys, warm, docs)
    table[name]()  # warm
    profiler = cProfile.Profile()
    profiler.runcall(table[name])
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    timed = sub.add_parser("time", help="time each --tree in turn, in fresh processes")
    timed_one = sub.add_parser("time-one", help="time every case in this process (JSON)")
    counted = sub.add_parser("count-all", help="callgrind instructions per document of each --tree")
    one = sub.add_parser("count", help="run one case over COUNT documents (what callgrind counts)")
    one.add_argument("case", choices=CASES)
    profiled = sub.add_parser("profile", help="cProfile one case in this process")
    profiled.add_argument("case", choices=CASES)
    profiled.add_argument("--top", type=int, default=30)
    for p in (timed, timed_one, counted, one, profiled):
        p.add_argument("--keys", type=Path, default=Path("keys"), help="keys directory")
        p.add_argument("--warm", type=int, default=2000, help="documents generated first")
    for p in (timed, timed_one, profiled):
        p.add_argument("--docs", type=int, default=1000, help="documents per round")
    for p in (timed, timed_one):
        p.add_argument("--rounds", type=int, default=7)
    timed.add_argument("--runs", type=int, default=5)
    for p in (timed, counted):
        p.add_argument("--tree", type=Path, action="append", default=[])
    for p in (counted, one):
        p.add_argument("--count", type=int, default=500)
    args = ap.parse_args()
    keys = args.keys.resolve()
    if args.command == "time-one":
        run_time(keys, args.warm, args.rounds, args.docs)
    elif args.command == "time":
        common = ["--keys", str(keys), "--warm", str(args.warm)]
        common += ["--rounds", str(args.rounds), "--docs", str(args.docs)]
        time_trees(args.tree or [Path(".")], args.runs, common)
    elif args.command == "count-all":
        count_trees(args.tree or [Path(".")], args.count, keys, args.warm)
    elif args.command == "count":
        run_count(args.case, args.count, keys, args.warm)
    else:
        run_profile(args.case, keys, args.warm, args.docs, args.top)


if __name__ == "__main__":
    main()
