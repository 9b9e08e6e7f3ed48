"""The generator plans the same stream as before its speed-up, and encodes to the same bytes.

`oracle_generator` is the generator as it was before the tenth session made it cheaper
per document (precomputed per-agency tables, fewer Enum calls and record copies). For
fixed seeds, directories and specs (the bench workload, the default one with replies,
revokes, updates and replaces, and one with every fault kind), both must give the same
plans: documents, send times, faults, signing keys, directions, expected outcomes,
replays, and the same encoded document bytes (what is signed), compared document by
document and as one SHA-256 over the stream. A digest of the pre-change stream is also
pinned, because the oracle shares the modules it imports (names, flows, directory) with
the product: a change there would move both.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import Any

import oracle_generator
import pytest

from interchange.axis.directory import Directory, Downtime
from interchange.axis.presets import Scenario, build, build_directory
from interchange.bench.calc import ALL_CONNECTED, bench_spec
from interchange.wire import codec
from interchange.wire.model import BusinessType
from interchange.workload import generator
from interchange.workload.faults import Fault
from interchange.workload.spec import WorkloadSpec

EVERY_FAULT = dict.fromkeys(Fault, 0.03)
# 2026-01-01T16:59:58Z: the day ends 2 s into the stream in Vietnam (UTC+7)
START_US = 1_767_225_600_000_000 + 17 * 3_600_000_000 - 2_000_000


def plan_record(p: Any) -> tuple[Any, ...]:
    """Everything a plan states, in plain values (the two generators have their own
    `Planned` and `Expected` classes; the documents are the product's model)."""
    return (
        p.seq,
        p.document,
        p.offset_us,
        p.send_at_us,
        p.fault,
        p.signer,
        p.direction,
        tuple((e.recipient, e.tier, e.reason) for e in p.expected),
        p.replay_of,
        p.withheld,
        p.rejection,
    )


def stream_digest(stream: Iterable[Any]) -> str:
    """SHA-256 over each plan's stated values and its document's encoded bytes."""
    h = hashlib.sha256()
    for p in stream:
        record = plan_record(p)
        h.update(repr((record[0], *record[2:])).encode())
        h.update(codec.encode_document(p.document))
    return h.hexdigest()


def _directories() -> dict[str, Directory]:
    downtime = Scenario(downtime=(Downtime("000.00.00.G05", 0.0, 5.0),))
    return {
        "tiny": build_directory("tiny"),
        "tiny-down": build_directory("tiny", downtime),
        "province": build_directory("province"),
        "province-connected": build("province", ALL_CONNECTED),
    }


DIRECTORIES = _directories()
CASES = [
    ("province-connected", "bench", 0),
    ("province-connected", "bench", 1),
    ("province", "default", 2),
    ("province", "faults", 3),
    ("tiny", "faults", 12),
    ("tiny", "default", 4),
    ("tiny-down", "default", 5),
]


def spec_of(name: str, count: int) -> WorkloadSpec:
    if name == "bench":
        return bench_spec(1_000_000.0, count=count, attachment_bytes=1536)
    if name == "faults":
        return WorkloadSpec(rate=400, count=count, faults=EVERY_FAULT)
    return WorkloadSpec(rate=400, count=count)


def both(directory: str, spec: str, seed: int, count: int) -> tuple[Iterator[Any], Iterator[Any]]:
    d, s = DIRECTORIES[directory], spec_of(spec, count)
    return (
        generator.generate(d, s, seed, start_us=START_US),
        oracle_generator.generate(d, s, seed, start_us=START_US),
    )


@pytest.mark.parametrize(("directory", "spec", "seed"), CASES)
def test_the_stream_is_the_one_the_oracle_plans(directory: str, spec: str, seed: int) -> None:
    new, old = (list(s) for s in both(directory, spec, seed, 2500))
    assert len(new) == len(old) == 2500
    for a, b in zip(new, old, strict=True):
        assert plan_record(a) == plan_record(b), f"plan {a.seq} differs"
        assert codec.encode_document(a.document) == codec.encode_document(b.document)
    assert stream_digest(new) == stream_digest(old)


def test_every_fault_kind_and_business_type_is_compared() -> None:
    """The cases above reach what they are meant to: every fault, replies, revokes,
    updates and replaces, unconnected recipients, a day boundary."""
    new, _ = both("province", "faults", 3, 2500)
    stream = list(new)
    assert {p.fault for p in stream} >= set(Fault)
    default = list(both("province", "default", 2, 2500)[0])
    assert {p.document.business_type for p in default} == set(BusinessType)
    assert any(p.document.response_for for p in default)
    assert any(e.reason is not None for p in default for e in p.expected)
    assert len({p.document.promulgation_date for p in default}) == 2


# The pre-change generator's stream (the oracle's, at commit 952f4b1): 3,000 plans of the
# bench workload and of the every-fault workload. Recompute with `stream_digest` over
# `oracle_generator.generate` (the values below were computed so).
BENCH_0 = ("province-connected", "bench", 0)
FAULTS_3 = ("province", "faults", 3)
PINNED = {
    BENCH_0: "4c40ce1c03de3e8dd942c2d78337285cb67fe5fb21d0425e9f0cdb66619f97b2",
    FAULTS_3: "bb46a17b1895d2443dce71fc3e5c2c9fa117cf4565cff4c633cb0011767015d6",
}


@pytest.mark.parametrize(("directory", "spec", "seed"), list(PINNED))
def test_the_stream_is_the_one_recorded_before_the_speed_up(
    directory: str, spec: str, seed: int
) -> None:
    new, old = both(directory, spec, seed, 3000)
    assert stream_digest(old) == PINNED[directory, spec, seed]
    assert stream_digest(new) == PINNED[directory, spec, seed]
