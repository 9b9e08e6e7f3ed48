"""A committed batch is counted once per label (`RouterMetrics.record_batch`) to the same
figures as counting its decisions one by one: every outcome, reason and tier."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from router_helpers import cases, make_pki

from interchange.axis.presets import build_directory
from interchange.pki.keystore import TrustStore
from interchange.routing.decision import decide
from interchange.routing.metrics import RouterMetrics
from interchange.routing.outcomes import Decision
from interchange.routing.replay_guard import ReplayGuard

PARTITIONS = 8


def _samples(metrics: RouterMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in metrics.registry.collect()
        if not family.name.startswith("interchange_router_verify")
        for sample in family.samples
        if not sample.name.endswith("_created")
    }


@pytest.fixture(scope="module")
def decisions(tmp_path_factory: pytest.TempPathFactory) -> list[Decision]:
    directory = build_directory("tiny")
    keys_dir: Path = tmp_path_factory.mktemp("keys")
    keys = make_pki(keys_dir, directory)
    trust = TrustStore.open(keys_dir)
    now = time.time_ns() // 1000
    guard = ReplayGuard()
    return [
        decide(
            case.value,
            directory=directory,
            trust=trust,
            replay_window=guard,
            now_us=now,
            placement=case.placement(PARTITIONS),
        )
        for case in cases(keys) * 2  # the second round: replays
    ]


def test_a_batch_counts_as_its_decisions_one_by_one(decisions: list[Decision]) -> None:
    directory = build_directory("tiny")
    one_by_one = RouterMetrics("a", directory)
    for decision in decisions:
        one_by_one.record(decision)
    batched = RouterMetrics("b", directory)
    batched.record_batch(decisions[:7])
    batched.record_batch(decisions[7:])
    expected = _samples(one_by_one)
    assert _samples(batched) == expected
    # the batch covered several outcomes, reasons and tiers (not a trivial comparison)
    counted = {labels for (name, labels), value in expected.items() if value > 0}
    assert len(counted) >= 10
    assert batched.run.to_dict() == one_by_one.run.to_dict()
    decided = f"{len(decisions)} decided"
    assert decided in batched.summary_line()
    assert decided in one_by_one.summary_line()
