"""The per-document pure work of each stage, without a broker: the router's decision and the
workload generator (the producer's planning). Documents are the bench workload's (~2 KB, one
recipient, Ed25519 signatures): the same ones `interchange bench` sends.

Run: python -m pytest benchmarks/test_pipeline_bench.py --benchmark-enable
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from interchange.axis.directory import Directory
from interchange.axis.presets import build_directory
from interchange.bench.calc import ALL_CONNECTED, bench_spec
from interchange.pki.keystore import KeyStore, TrustStore, init_pki
from interchange.routing.decision import decide
from interchange.routing.outcomes import Delivered, Rejected
from interchange.routing.replay_guard import ReplayGuard
from interchange.wire import codec
from interchange.wire.model import Hop, ReasonCode
from interchange.workload.generator import Planned, generate
from interchange.workload.sealing import seal, to_wire

N_DOCS = 512
NOW = time.time_ns() // 1000  # certificates are issued now: documents are sent now


@pytest.fixture(scope="module")
def directory() -> Directory:
    return build_directory("province", ALL_CONNECTED)


@pytest.fixture(scope="module")
def keys_dir(tmp_path_factory: pytest.TempPathFactory, directory: Directory) -> Path:
    path = tmp_path_factory.mktemp("bench") / "keys"
    init_pki(path, directory.agencies)
    return path


@pytest.fixture(scope="module")
def planned(directory: Directory) -> list[Planned]:
    return list(generate(directory, bench_spec(rate=1000.0, count=N_DOCS), seed=3, start_us=NOW))


@pytest.fixture(scope="module")
def wire(planned: list[Planned], keys_dir: Path) -> list[bytes]:
    """Submissions as the router receives them, all valid and unclassified."""
    keys = KeyStore.open(keys_dir)
    return [
        to_wire(seal(p, keys), None, Hop(f"producer:{p.sender}", p.send_at_us), p.seq)
        for p in planned
    ]


def test_bench_envelopes_are_about_2_kb(wire: list[bytes]) -> None:
    """About 2 KB: a 1,536-byte attachment and the header; the v6 header fields (the
    sender's details, the other info) made them ~2.5 KB (2,471 bytes on average)."""
    mean = sum(map(len, wire)) / len(wire)
    assert 1_900 <= mean <= 2_600


def _decider(directory: Directory, keys_dir: Path):  # type: ignore[no-untyped-def]
    trust = TrustStore.open(keys_dir)
    # A window smaller than the cycle: every id is forgotten before it comes round again,
    # so each call pays the real remember-and-evict cost and is never a REPLAY.
    guard = ReplayGuard(capacity=N_DOCS // 2)

    def one(value: bytes) -> object:
        return decide(
            value,
            directory=directory,
            trust=trust,
            replay_window=guard,
            now_us=NOW,
            placement=None,  # not read from Kafka: no key or partition to check
            router_node="router:bench",
        )

    return one


@pytest.mark.benchmark(group="router-decide")
def test_decide_valid(benchmark: BenchmarkFixture, directory: Directory, keys_dir: Path,
                      wire: list[bytes]) -> None:  # fmt: skip
    """Decode envelope + document, verify Ed25519, replay check, route: one delivery."""
    decide_one = _decider(directory, keys_dir)
    values = itertools.cycle(wire)
    decision = benchmark(lambda: decide_one(next(values)))
    assert isinstance(decision, Delivered)
    assert len(decision.deliveries) == 1


@pytest.mark.benchmark(group="router-decide")
def test_decide_and_encode_valid(benchmark: BenchmarkFixture, directory: Directory,
                                 keys_dir: Path, wire: list[bytes]) -> None:  # fmt: skip
    """The router's whole pure work per document: decide, then encode the delivery record."""
    decide_one = _decider(directory, keys_dir)
    values = itertools.cycle(wire)

    def both() -> bytes:
        decision = decide_one(next(values))
        assert isinstance(decision, Delivered)
        return codec.encode_envelope(decision.envelope)

    assert len(benchmark(both)) > len(wire[0])


@pytest.mark.benchmark(group="router-decide")
def test_decide_bad_signature(benchmark: BenchmarkFixture, directory: Directory,
                              keys_dir: Path, wire: list[bytes]) -> None:  # fmt: skip
    """A rejection that costs a full verification: one flipped signature bit."""
    env = codec.decode_envelope(wire[0])
    flipped = env.signature[:-1] + bytes([env.signature[-1] ^ 1])
    value = codec.encode_envelope(dataclasses.replace(env, signature=flipped))
    decide_one = _decider(directory, keys_dir)
    decision = benchmark(decide_one, value)
    assert isinstance(decision, Rejected)
    assert decision.reason is ReasonCode.BAD_SIGNATURE


@pytest.mark.benchmark(group="router-decide")
def test_decide_malformed(benchmark: BenchmarkFixture, directory: Directory,
                          keys_dir: Path, wire: list[bytes]) -> None:  # fmt: skip
    """The cheapest rejection: a truncated envelope (hash of the bytes, no verification)."""
    decide_one = _decider(directory, keys_dir)
    decision = benchmark(decide_one, wire[0][: len(wire[0]) // 2])
    assert isinstance(decision, Rejected)
    assert decision.reason is ReasonCode.MALFORMED


@pytest.mark.benchmark(group="workload")
def test_generate_documents(benchmark: BenchmarkFixture, directory: Directory) -> None:
    """Planning cost per batch of 1,000 documents (docs/s = 1000 / mean)."""
    spec = bench_spec(rate=1000.0, count=1_000)

    def batch() -> int:
        return sum(1 for _ in generate(directory, spec, seed=11))

    assert benchmark(batch) == 1_000


@pytest.mark.benchmark(group="workload")
def test_seal_and_wire(benchmark: BenchmarkFixture, planned: list[Planned],
                       keys_dir: Path) -> None:  # fmt: skip
    """The producer's per-document work after planning: encode, Ed25519 sign, envelope."""
    keys = KeyStore.open(keys_dir)
    docs = itertools.cycle(planned)

    def one() -> bytes:
        p = next(docs)
        return to_wire(seal(p, keys), None, Hop(f"producer:{p.sender}", 1), p.seq)

    assert len(benchmark(one)) > 1_000
