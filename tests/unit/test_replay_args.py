"""Parsing the audit's replay range options (no broker)."""

from __future__ import annotations

import pytest

from interchange.audit.replay import ReplayConfig, ReplayStats, parse_offsets, parse_time_ms
from interchange.errors import ConfigError


def test_offsets_allow_dots_and_colons_in_topic_names() -> None:
    got = parse_offsets("interchange.submissions:3=120, a:b.status:0=7")
    assert got == {("interchange.submissions", 3): 120, ("a:b.status", 0): 7}


@pytest.mark.parametrize("text", ["t=1", "t:x=1", "t:0=", "t:0=-4"])
def test_bad_offsets_are_config_errors(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_offsets(text)


def test_times_without_zone_are_utc() -> None:
    assert parse_time_ms("2026-11-02T08:00:00") == parse_time_ms("2026-11-02T15:00:00+07:00")
    assert parse_time_ms("1970-01-01T00:00:01Z") == 1000


def test_bad_time_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        parse_time_ms("yesterday")


def test_partial_replay_is_flagged() -> None:
    assert not ReplayConfig(("t",)).partial
    assert ReplayConfig(("t",), since_ms=0).partial


def test_throughput_figures() -> None:
    stats = ReplayStats(10, 1_000_000, 0.5, {"t": 10})
    assert (stats.records_per_s, stats.mb_per_s) == (20.0, 2.0)
    assert ReplayStats(0, 0, 0.0, {}).records_per_s == 0.0
