"""The generator plans the same stream as before its speed-up, and encodes to the same bytes.

For fixed seeds, directories and specs (the bench workload, the default one with replies,
revokes, updates and replaces, one with every fault kind, an agency that is down, and a
day boundary inside the stream), a SHA-256 over each plan's stated values (documents,
send times, faults, signing keys, directions, expected outcomes, replays) and its
document's encoded bytes (what is signed) is pinned. The digests were computed with the
generator and codec of commit 952f4b1, before the tenth session made them cheaper per
document; while that change was made, a verbatim copy of the old generator also
compared every plan one by one (the branch's history has it). A change to the stream,
intended or not, fails here: an intended one states its new digests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import Any

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
        "connected": build("province", ALL_CONNECTED),
    }


DIRECTORIES = _directories()
CASES = [
    ("connected", "bench", 0),
    ("connected", "bench", 1),
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


def stream(directory: str, spec: str, seed: int, count: int) -> Iterator[Any]:
    return generator.generate(DIRECTORIES[directory], spec_of(spec, count), seed, start_us=START_US)


# stream_digest of the first 2,500 plans of each case, as the generator of 952f4b1 planned
# and its codec encoded them
PINNED = {
    (
        "connected",
        "bench",
        0,
    ): "9253028203bf4348257f7dff51b7ded3b5875c672f38ada98e9548b86126c7be",
    (
        "connected",
        "bench",
        1,
    ): "97100f2cca0103a26af72f092057ca9b26a3ddd41e462df4a19a32f7299cf3a3",
    ("province", "default", 2): "fb9fc99d32a6ec4765aa277af479e29d5f9f3b8814251a6d2621b39abf8790e3",
    ("province", "faults", 3): "513a87d258d73e7c551d62196b50c1276eae6a11d3897359db9850191b3f2e5c",
    ("tiny", "faults", 12): "0e83b30f3b02bad2e3377f8f042172e8cb59e46f3a0689f4fbbb58c492e5236f",
    ("tiny", "default", 4): "0386757a19cb141a2941ca9a12b8aadd5d4dbdb849f20393c632125925fc54ee",
    ("tiny-down", "default", 5): "75b5c32a0a954309b2e80235bc50b4aa0c036880d9548f5aea2f38bd97f72c15",
}


@pytest.mark.parametrize(("directory", "spec", "seed"), CASES)
def test_the_stream_is_the_one_planned_before_the_speed_up(
    directory: str, spec: str, seed: int
) -> None:
    plans = list(stream(directory, spec, seed, 2500))
    assert len(plans) == 2500
    assert stream_digest(plans) == PINNED[directory, spec, seed]


def test_every_fault_kind_and_business_type_is_compared() -> None:
    """The cases above reach what they are meant to: every fault, replies, revokes,
    updates and replaces, unconnected recipients, a day boundary."""
    faults = list(stream("province", "faults", 3, 2500))
    assert {p.fault for p in faults} >= set(Fault)
    default = list(stream("province", "default", 2, 2500))
    assert {p.document.business_type for p in default} == set(BusinessType)
    assert any(p.document.response_for for p in default)
    assert any(e.reason is not None for p in default for e in p.expected)
    assert len({p.document.promulgation_date for p in default}) == 2
