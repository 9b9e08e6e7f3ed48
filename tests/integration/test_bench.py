"""A short `interchange bench` run on the real broker: structure and invariants, never speed."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from interchange.cli.main import main

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PERCENTILE_KEYS = ("p50_us", "p90_us", "p99_us", "p999_us", "p9999_us", "max_us")


# Without an external cluster the bench starts its own embedded broker, as a user's first
# run does, and samples that broker beside the stages.
EXTERNAL = os.environ.get("INTERCHANGE_BOOTSTRAP")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("bench")
    kafka = ["--bootstrap", EXTERNAL, "--topic-prefix", f"t-bench-{out.name}."] if EXTERNAL else []
    code = main(
        [
            "bench", *kafka,
            "--keys-dir", str(out / "keys"), "--out-dir", str(out),
            "--rate", "80", "--duration", "4", "--warmup", "1", "--passthrough", "1",
            "--naive", "1", "--preset", "tiny", "--no-progress",
            # reach the stages: a flag they refused would fail the step
            "--commit-interval-ms", "50", "--replay-capacity", "1000",
            "--duplicate-window", "1000",
            # every agency signs as the real axis does: RSA-2048, PKCS#1 v1.5, SHA-256
            "--algorithm", "rsa-2048-pkcs1",
        ]
    )  # fmt: skip
    assert code == 0
    return json.loads((out / "bench.json").read_text()), out


def test_report_envelope_and_files(report: tuple[dict[str, Any], Path]) -> None:
    data, out = report
    assert data["kind"] == "loadtest"
    assert data["mode"] == "fixed"
    assert data["max_sustainable_rate"] is None
    meta = data["meta"]
    assert isinstance(meta, dict)
    assert "router transactions every 50 ms" in meta["clients"]
    assert "replay window 1000, duplicate window 1000" in meta["clients"]
    html = (out / "bench.html").read_text()
    assert "Ceilings" in html
    assert "http://" not in html.replace("http://www.w3.org", "")


def test_the_algorithm_option_set_every_agencys_key(
    report: tuple[dict[str, Any], Path],
) -> None:
    from interchange.axis.presets import build_directory

    line = report[0]["meta"]["signing_keys"]
    assert line == f"{len(list(build_directory('tiny')))} rsa-2048-pkcs1"


def test_no_document_lost_or_duplicated(report: tuple[dict[str, Any], Path]) -> None:
    (step,) = report[0]["steps"]
    assert step["sent"] > 0
    assert step["lost"] == 0
    assert step["duplicates"] == 0
    assert step["delivered"] == step["expected"] == step["sent"]


def test_percentiles_are_monotonic(report: tuple[dict[str, Any], Path]) -> None:
    (step,) = report[0]["steps"]
    for family in ("latency_intended", "schedule_lag"):
        values = [step[family][k] for k in PERCENTILE_KEYS]
        assert values == sorted(values), family
    assert step["latency_intended"]["count"] > 0
    assert step["latency_intended"]["count"] <= step["delivered"]


def test_ratios_and_ceilings_are_positive(report: tuple[dict[str, Any], Path]) -> None:
    data = report[0]
    (step,) = data["steps"]
    ceilings = data["ceilings"]
    assert ceilings["cpu_docs_s"] > 0
    assert set(ceilings["stages"]) == {"producer", "router", "recipient"}
    assert ceilings["passthrough"]["received"] == ceilings["passthrough"]["produced"]
    naive = ceilings["naive"]  # every bench document is valid: all verified and forwarded
    assert naive["received"] == naive["forwarded"] == naive["produced"] > 0
    assert 0 < naive["p50_us"] <= naive["p99_us"]
    cpu = naive["cpu_us_per_doc"]  # each naive process measured its own share
    assert set(cpu) == (
        {"producer", "router", "sink"} if EXTERNAL else {"producer", "router", "sink", "broker"}
    )
    assert all(value > 0 for value in cpu.values())
    for name, value in step["ratios"].items():
        assert value is not None, name
        assert value > 0, name


def test_every_stage_process_was_sampled(report: tuple[dict[str, Any], Path]) -> None:
    (step,) = report[0]["steps"]
    roles = sorted(p["role"] for p in step["processes"])
    assert roles == (
        ["producer", "recipient", "router"]
        if EXTERNAL
        else ["broker", "producer", "recipient", "router"]
    )
    assert set(step["cpu_us_per_doc"]) == set(roles)
    for proc in step["processes"]:
        assert proc["cpu_s"] > 0
        assert proc["memory"]["samples"] > 0
        assert proc["memory"]["peak_bytes"] >= proc["memory"]["start_bytes"] > 0
        curve = proc["memory"]["series"]
        assert curve[0][1] == proc["memory"]["start_bytes"]
        assert curve[-1][1] == proc["memory"]["end_bytes"]
        assert [t for t, _ in curve] == sorted(t for t, _ in curve)


def test_per_second_series_covers_the_step(report: tuple[dict[str, Any], Path]) -> None:
    data, out = report
    (step,) = data["steps"]
    timeline = step["timeline"]
    n = timeline["points"]
    assert n >= 4  # 4 s of arrivals, one sample a second, then the drain
    for key in ("t_s", "offered_rate", "achieved_rate", "backlog", "p50_us", "p99_us"):
        assert len(timeline[key]) == n, key
    assert timeline["t_s"] == sorted(timeline["t_s"])
    assert 0 < max(timeline["offered_rate"]) < 80 * 3  # Poisson arrivals at 80/s
    assert max(timeline["achieved_rate"]) > 0
    assert timeline["offered_rate"] == timeline["addressed_rate"]  # one recipient each
    assert timeline["backlog"][-1] == 0  # drained: every document has its outcome
    latency = zip(timeline["p50_us"], timeline["p99_us"], strict=True)
    pairs = [(a, b) for a, b in latency if b is not None]
    assert pairs
    assert all(a <= b for a, b in pairs)
    assert "80/s offered: rate, latency and backlog per second" in (out / "bench.html").read_text()
