"""Strict decode per call on the bench document: one tree against another, side by side.

The bench workload's first document (`bench_spec`, `generate` on the default preset, seed
1, a ~2 KB attachment), sealed and put on the wire as the producer does (`seal`, `to_wire`;
a fixed 64-byte signature stands in for a real one: decoding does not verify it). Cases:
`document` (`codec.decode_document` of its content), `envelope` (`codec.decode_envelope`
of the wire record), `status` (`codec.decode_status` of a plain 01).

    python benchmarks/strict_decode.py time --tree /path/to/before --tree .
    python benchmarks/strict_decode.py count-all --tree /path/to/before --tree .
    python benchmarks/strict_decode.py best --tree /path/to/before --tree .

`time` runs each tree in a fresh process in turn (before, after, before, ...) `--runs`
times; each process reports the median thread-CPU time per call over `--rounds` rounds of
`--calls` calls; the table gives the median of those medians per tree. `count-all` counts
instructions per call under valgrind's callgrind (`--count` calls minus 0 calls, one hash
seed), which a loaded machine does not move. `best` decodes the bench workload's first
`--docs` documents (their content, as `decode_document` gets it) in each tree in turn, a
fresh process each, `--runs` times; each process reports its fastest round of `--rounds`
(µs per document), the table the fastest over all processes of a tree: the figure a
loaded machine spoils least. A tree is a checkout whose `interchange`
package is imported (through PYTHONPATH). On a shared machine wrap it in
`flock /tmp/bench.lock ...`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

CASES = ("document", "envelope", "status")


def cases() -> dict[str, Callable[[], object]]:
    """The calls to measure, on bytes built once (imports here: the tree is chosen by path)."""
    from interchange.axis.presets import DEFAULT_PRESET, build
    from interchange.bench.calc import ALL_CONNECTED, bench_spec
    from interchange.pki.issuance import CertFault
    from interchange.wire import codec
    from interchange.wire.model import Hop, StatusCode, StatusMessage
    from interchange.workload.generator import generate
    from interchange.workload.sealing import seal, to_wire

    class Credential:
        cert_id = "ab" * 32

        def sign(self, content: bytes) -> bytes:
            return b"\x5a" * 64

    class Credentials:
        def credential(self, agency_id: str) -> Credential:
            return Credential()

        def fault_credential(self, agency_id: str, fault: CertFault) -> Credential:
            return Credential()

    directory = build(DEFAULT_PRESET, ALL_CONNECTED)
    planned = next(iter(generate(directory, bench_spec(1_000.0, count=1), 1)))
    hop = Hop(f"producer:{planned.sender}", planned.send_at_us)
    wire = to_wire(seal(planned, Credentials()), planned.fault, hop, planned.seq)
    content = codec.decode_envelope(wire).content
    status = codec.encode_status(
        StatusMessage(
            planned.document.id,
            planned.sender,
            "000.00.00.G22",
            StatusCode.ARRIVED,
            planned.send_at_us,
        )
    )
    if codec.decode_document(content) != planned.document:
        raise SystemExit("the bench document does not decode to itself")
    return {
        "document": lambda: codec.decode_document(content),
        "envelope": lambda: codec.decode_envelope(wire),
        "status": lambda: codec.decode_status(status),
    }


def bench_contents(docs: int) -> list[bytes]:
    """The content bytes of the bench workload's first `docs` documents."""
    from interchange.axis.presets import DEFAULT_PRESET, build
    from interchange.bench.calc import ALL_CONNECTED, bench_spec
    from interchange.wire import codec
    from interchange.workload.generator import generate

    directory = build(DEFAULT_PRESET, ALL_CONNECTED)
    planned = generate(directory, bench_spec(1_000.0, count=docs), 1)
    return [codec.encode_document(p.document) for p in planned]


def run_best(docs: int, rounds: int) -> None:
    """The fastest round's µs per document, decoding `docs` bench documents (JSON out)."""
    from interchange.wire import codec

    contents = bench_contents(docs)
    decode = codec.decode_document
    best = float("inf")
    for _ in range(rounds):
        start = time.thread_time_ns()
        for content in contents:
            decode(content)
        best = min(best, (time.thread_time_ns() - start) / len(contents) / 1000)
    print(json.dumps({"document": best}))


def best_trees(trees: list[Path], runs: int, docs: int, rounds: int) -> None:
    fastest: dict[Path, float] = dict.fromkeys(trees, float("inf"))
    for _ in range(runs):
        for tree in trees:
            out = _child(tree, "best-one", "--docs", str(docs), "--rounds", str(rounds))
            fastest[tree] = min(fastest[tree], json.loads(out.stdout)["document"])
    print(f"decode_document, µs per document: the fastest round of {runs} processes")
    print(f"({rounds} rounds each of the bench workload's first {docs} documents)")
    for tree in trees:
        print(f"{tree!s:<40} {fastest[tree]:>10.2f}")


def run_count(name: str, count: int) -> None:
    call = cases()[name]
    for _ in range(count):
        call()


def run_time(rounds: int, calls: int) -> None:
    """Median µs per call of each case, the cases interleaved in each round (JSON out)."""
    table = cases()
    samples: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(rounds):
        for name in CASES:
            call = table[name]
            start = time.thread_time_ns()
            for _ in range(calls):
                call()
            samples[name].append((time.thread_time_ns() - start) / calls / 1000)
    print(json.dumps({name: statistics.median(v) for name, v in samples.items()}))


def _child(tree: Path, *args: str, valgrind: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree.resolve())}
    if valgrind:  # one hash seed: string hashes otherwise move the count between runs
        env["PYTHONHASHSEED"] = "0"
    cmd = [sys.executable, str(Path(__file__).resolve()), *args]
    if valgrind:
        cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, check=True, env=env, timeout=1800)


def time_trees(trees: list[Path], runs: int, rounds: int, calls: int) -> None:
    medians: dict[Path, dict[str, list[float]]] = {t: {n: [] for n in CASES} for t in trees}
    for _ in range(runs):
        for tree in trees:
            out = _child(tree, "time-one", "--rounds", str(rounds), "--calls", str(calls))
            for name, value in json.loads(out.stdout).items():
                medians[tree][name].append(value)
    print(f"µs per call, median of {runs} processes (each the median of {rounds} rounds)")
    print(f"{'tree':<40} " + " ".join(f"{n:>10}" for n in CASES))
    for tree in trees:
        row = " ".join(f"{statistics.median(medians[tree][n]):>10.2f}" for n in CASES)
        print(f"{tree!s:<40} {row}")


def count_trees(trees: list[Path], count: int) -> None:
    def collected(tree: Path, name: str, n: int) -> int:
        err = _child(tree, "count", name, "--count", str(n), valgrind=True).stderr
        match = re.search(r"Collected\s*:\s*(\d+)", err)
        if match is None:
            raise SystemExit(f"no callgrind total: {err[-500:]}")
        return int(match.group(1))

    print(f"instructions per call (callgrind, {count} calls minus 0)")
    print(f"{'tree':<40} " + " ".join(f"{n:>10}" for n in CASES))
    for tree in trees:
        row = []
        for name in CASES:
            per_call = (collected(tree, name, count) - collected(tree, name, 0)) / count
            row.append(f"{per_call:>10,.0f}")
        print(f"{tree!s:<40} " + " ".join(row), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    one = sub.add_parser("count", help="run one case COUNT times (what callgrind counts)")
    one.add_argument("case", choices=CASES)
    one.add_argument("--count", type=int, default=1000)
    timed_one = sub.add_parser("time-one", help="time every case in this process (JSON)")
    for p in (timed_one, timed := sub.add_parser("time", help="time each --tree in turn")):
        p.add_argument("--rounds", type=int, default=40)
        p.add_argument("--calls", type=int, default=300)
    timed.add_argument("--runs", type=int, default=5)
    counted = sub.add_parser("count-all", help="callgrind instructions per call of each --tree")
    counted.add_argument("--count", type=int, default=1000)
    best_one = sub.add_parser("best-one", help="fastest round in this process (JSON)")
    for p in (best_one, fastest := sub.add_parser("best", help="fastest round of each --tree")):
        p.add_argument("--docs", type=int, default=50)
        p.add_argument("--rounds", type=int, default=30)
    fastest.add_argument("--runs", type=int, default=5)
    for p in (timed, counted, fastest):
        p.add_argument("--tree", type=Path, action="append", default=[])
    args = ap.parse_args()
    if args.command == "count":
        run_count(args.case, args.count)
    elif args.command == "time-one":
        run_time(args.rounds, args.calls)
    elif args.command == "time":
        time_trees(args.tree or [Path(".")], args.runs, args.rounds, args.calls)
    elif args.command == "best-one":
        run_best(args.docs, args.rounds)
    elif args.command == "best":
        best_trees(args.tree or [Path(".")], args.runs, args.docs, args.rounds)
    else:
        count_trees(args.tree or [Path(".")], args.count)


if __name__ == "__main__":
    main()
