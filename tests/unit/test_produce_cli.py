from __future__ import annotations

import json
from pathlib import Path

import pytest

from interchange.axis.directory import Directory
from interchange.cli.main import main
from interchange.errors import ConfigError
from interchange.metrics.histogram import LatencyHistogram
from interchange.workload.manifest import merge_manifests


@pytest.mark.parametrize("command", ["produce", "directory"])
def test_help_has_an_example(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert f"Example:\n  interchange {command} " in capsys.readouterr().out


def test_directory_export_writes_a_loadable_file(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps({"connected_share": {"commune": 0.0}}))
    out = tmp_path / "dir.json"
    assert (
        main(
            [
                "directory",
                "export",
                "--preset",
                "tiny",
                "--scenario",
                str(scenario),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    directory = Directory.load(out)
    assert not any(a.connected for a in directory if a.tier.value == "commune")
    assert main(["directory", "show", "--directory", str(out)]) == 0


def test_bad_scenario_is_a_clean_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps({"conected_share": {}}))
    assert main(["directory", "show", "--preset", "tiny", "--scenario", str(scenario)]) == 2
    assert "conected_share" in capsys.readouterr().err


def test_produce_rejects_bad_shard_and_faults(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["produce", "--count", "1", "--shard", "2/2", "--bootstrap", "h:1"]) == 2
    assert main(["produce", "--count", "1", "--faults", "nope=1", "--bootstrap", "h:1"]) == 2
    err = capsys.readouterr().err
    assert "--shard" in err
    assert "unknown fault" in err


def _part(shard: int, docs: int, lags: list[int]) -> dict[str, object]:
    hist = LatencyHistogram()
    for lag in lags:
        hist.record(lag)
    return {
        "format": "interchange-manifest/1",
        "seed": 1,
        "preset": "tiny",
        "spec": {},
        "topic": "t",
        "start_us": 10 + shard,
        "end_us": 20 + shard,
        "shards": [[shard, 2]],
        "sent": {"documents": docs, "by_fault": {"none": docs}},
        "acked": docs,
        "failed": 0,
        "first_error": "",
        "stopped_early": False,
        "schedule_lag_hdr": hist.encode(),
    }


def test_manifests_merge_counts_and_lag_histograms() -> None:
    merged = merge_manifests([_part(0, 3, [100, 200, 300]), _part(1, 2, [5_000_000, 400])])
    assert merged["sent"] == {"documents": 5, "by_fault": {"none": 5}}
    assert merged["shards"] == [[0, 2], [1, 2]]
    assert (merged["start_us"], merged["end_us"], merged["acked"]) == (10, 21, 5)
    assert merged["schedule_lag"]["count"] == 5
    assert merged["schedule_lag"]["late_over_1s"] == 1
    other = _part(1, 2, [1]) | {"seed": 2}
    with pytest.raises(ConfigError, match="seed"):
        merge_manifests([_part(0, 1, [1]), other])
