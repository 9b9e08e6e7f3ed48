"""Sealed envelopes of a faulty workload, decided by the real router policy: plan == outcome."""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path

import pytest

from interchange.axis.presets import build_directory
from interchange.errors import DecodeError
from interchange.pki.keystore import KeyStore, TrustStore, init_pki
from interchange.routing.decision import decide
from interchange.routing.outcomes import Delivered, Excluded, Placement, Rejected
from interchange.routing.replay_guard import ReplayGuard
from interchange.wire import codec
from interchange.wire.model import Envelope, Hop, ReasonCode
from interchange.wire.partitioner import partition_of
from interchange.workload.faults import Fault
from interchange.workload.generator import WorkloadSpec, generate
from interchange.workload.sealing import malformed, seal, to_wire

PARTITIONS = 8


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys")
    init_pki(path, build_directory("tiny"))
    return path


def test_every_planned_outcome_is_what_the_router_decides(keys: Path) -> None:
    directory = build_directory("tiny")
    now = time.time_ns() // 1000
    spec = WorkloadSpec(rate=200, count=1500, faults=dict.fromkeys(Fault, 0.03))
    store, trust = KeyStore.open(keys), TrustStore.open(keys)
    guards: dict[int, ReplayGuard] = defaultdict(ReplayGuard)  # one per partition, as routed
    sealed: dict[int, Envelope] = {}
    seen_faults = set()
    for p in generate(directory, spec, seed=21, start_us=now):
        envelope = sealed[p.replay_of] if p.replay_of is not None else seal(p, store)
        sealed[p.seq] = envelope
        wire = to_wire(envelope, p.fault, Hop(f"producer:{p.sender}", now), p.seq)
        # produced as `interchange produce` does: keyed by the sender, default partitioner
        partition = partition_of(p.key, PARTITIONS)
        decision = decide(
            wire, directory=directory, trust=trust, replay_window=guards[partition], now_us=now,
            placement=Placement(p.key, partition, PARTITIONS),
        )  # fmt: skip
        seen_faults.add(p.fault)
        if p.rejection is None:
            assert isinstance(decision, Delivered), (p.fault, decision)
            delivered = {d.recipient for d in decision.deliveries}
            refused = {r.recipient: r.reason for r in decision.not_connected}
            for e in p.expected:
                if e.reason is None:
                    assert e.recipient in delivered
                else:
                    assert refused[e.recipient] is e.reason
        elif p.rejection is ReasonCode.CLASSIFIED:
            assert isinstance(decision, Excluded)
        else:
            assert isinstance(decision, Rejected), (p.fault, decision)
            assert decision.reason is p.rejection, (p.fault, decision.detail)
    assert seen_faults == {None, *Fault}


def test_replay_is_byte_identical_apart_from_the_trace(keys: Path) -> None:
    directory = build_directory("tiny")
    stream = list(
        generate(directory, WorkloadSpec(rate=100, count=400, faults={Fault.REPLAY: 0.2}), seed=3)
    )
    replay = next(p for p in stream if p.fault is Fault.REPLAY)
    original = stream[replay.replay_of or 0]
    store = KeyStore.open(keys)
    env = seal(original, store)
    a = codec.decode_envelope(to_wire(env, None, Hop("producer:x", 1), original.seq))
    b = codec.decode_envelope(to_wire(env, replay.fault, Hop("producer:x", 2), replay.seq))
    assert (a.content, a.signature, a.cert_id) == (b.content, b.signature, b.cert_id)


@pytest.mark.parametrize("seq", [0, 1])
def test_malformed_bytes_do_not_decode(seq: int) -> None:
    data = b"\x00" * 200
    with pytest.raises(DecodeError):
        codec.decode_envelope(malformed(data, seq))
