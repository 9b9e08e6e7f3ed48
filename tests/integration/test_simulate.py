"""A short end-to-end `simulate` on the session broker: stages as subprocesses, full accounting."""

from __future__ import annotations

import dataclasses
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sim_helpers import brisk_scenario

from interchange.settings import Settings
from interchange.simulate.run import run_simulation
from interchange.simulate.values import SimulationOptions
from interchange.wire.model import Tier

pytestmark = pytest.mark.integration


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self.tags.append(tag)


def test_simulate_accounts_for_every_recipient_and_writes_reports(
    settings: Settings, tmp_path: Path
) -> None:
    options = SimulationOptions(
        preset="tiny",
        rate=100,
        count=150,
        seed=3,
        faults="default,replay=0.03,tampered_content=0.02,revoked_cert=0.02",
        out=tmp_path / "run",
        idle_timeout_s=30,
    )
    # the default directory, work records handled ten times faster (tests/sim_helpers.py)
    scenario = brisk_scenario(tmp_path / "scenario.json", options.span_s)
    options = dataclasses.replace(options, scenario=scenario)
    result = run_simulation(settings, options)

    assert result.problems == ()
    assert result.exit_code == 0
    assert result.documents == 150
    assert result.leaks == 0
    assert result.duplicates == 0
    assert result.delivered == result.expected_delivered > 0
    assert result.acks == result.delivered

    report = json.loads(result.report_json.read_text(encoding="utf-8"))
    assert {"schema_version", "kind", "meta", "tiers", "total", "outcomes", "passed"} <= set(report)
    assert report["kind"] == "coverage"
    assert set(report["tiers"]) == {t.value for t in Tier}
    for tier in report["tiers"].values():
        outcomes = (
            tier["delivered"]
            + tier["excluded_classified"]
            + tier["rejected_total"]
            + tier["not_connected"]
        )
        assert tier["addressed"] == outcomes
        assert tier["duplicates"] == 0
    assert report["total"]["addressed"] > report["total"]["delivered"]  # faults were injected
    assert report["total"]["ack"]["count"] == result.delivered

    # Two rules, judged apart: communes partly off the axis fail exchange (100%), and the
    # exit code stays 0; online processing has its own per-tier targets and funnel.
    exchange = report["exchange"]
    commune = exchange["by_recipient"]["commune"]
    assert commune["not_exchanged"]["NOT_CONNECTED"] > 0
    assert commune["check"]["target"] == 1.0
    assert commune["check"]["verdict"] == "FAIL"
    assert exchange["passed"] is False
    processing = report["processing"]
    assert processing["tiers"]["commune"]["check"]["target"] == 0.6  # 2025, not 100%
    for tier, row in report["tiers"].items():
        assert processing["tiers"][tier]["work"]["records"] == row["delivered"]  # one 03 each

    agencies = result.ledger.agencies
    assert len(agencies) > 10
    for row in agencies.values():
        outcomes = row.delivered + row.excluded + row.rejected + row.not_connected
        assert row.addressed == outcomes
        assert row.delivered == row.expected_delivered
    assert sum(row.rejected for row in agencies.values()) > 0
    summary = json.loads(result.summary_json.read_text(encoding="utf-8"))
    assert summary["exit_code"] == 0
    assert summary["agencies"].keys() == agencies.keys()

    html = result.report_html.read_text(encoding="utf-8")
    parser = _Tags()
    parser.feed(html)
    assert "svg" in parser.tags
    assert "<svg" in html
    assert "Second by second" in html

    timeline = report["timeline"]  # the run second by second
    assert timeline["points"] >= 2
    assert max(timeline["offered_rate"]) > 0
    assert max(timeline["achieved_rate"]) > 0
    assert max(timeline["addressed_rate"]) >= max(timeline["offered_rate"])
    assert timeline["backlog"][-1] == 0  # drained
    assert any(p99 is not None for p99 in timeline["p99_us"])
    assert len(result.timeline.points) == timeline["points"]

    run_dir = tmp_path / "run"
    for name in ("directory.json", "run.json", "manifest.json", "stats/recipients.json"):
        assert (run_dir / name).is_file(), name
