"""The per-second series of a run, built from cumulative stats-file snapshots (exact figures)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from interchange.errors import ConfigError
from interchange.metrics.histogram import LatencyHistogram
from interchange.metrics.run import RunMetrics
from interchange.metrics.timeseries import (
    Point,
    Reading,
    Series,
    SeriesBuilder,
    SlidingRate,
    StatsFiles,
)
from interchange.wire.model import Priority, ReasonCode, Tier

ORIGIN = 1_000.0


def hist(*values: int) -> LatencyHistogram:
    h = LatencyHistogram()
    for v in values:
        h.record(v)
    return h


def producer(at: float, sent: int, fan_out: int = 1) -> Reading:
    return Reading(at, sent=sent, addressed=sent * fan_out)


def recipients(at: float, delivered: int, *latencies: int, other: int = 0) -> Reading:
    return Reading(at, delivered=delivered, accounted=delivered + other, latency=hist(*latencies))


def test_rates_come_from_each_process_own_interval_between_writes() -> None:
    b = SeriesBuilder(ORIGIN)
    p = b.add(
        ORIGIN + 1.6,
        {"prod": producer(ORIGIN + 1.0, 100, fan_out=3),
         "rcpt": recipients(ORIGIN + 1.5, 60, other=15)},
    )  # fmt: skip
    assert p.t_s == pytest.approx(1.6)
    assert p.offered == 100.0  # 100 documents over (origin, origin + 1.0]
    assert p.addressed == 300.0
    assert p.achieved == 40.0  # 60 deliveries over 1.5 s
    assert p.outcomes == 50.0  # 75 outcomes over 1.5 s
    # both totals at origin + 1.0, the older write: the recipients' 75 outcomes over 1.5 s
    # are 50 by then
    assert p.backlog == 300 - 50
    p = b.add(
        ORIGIN + 2.6,
        {"prod": producer(ORIGIN + 2.0, 250, fan_out=3),
         "rcpt": recipients(ORIGIN + 2.5, 161, other=20)},
    )  # fmt: skip
    assert (p.offered, p.addressed, p.achieved, p.outcomes) == (150.0, 450.0, 101.0, 106.0)
    assert p.backlog == 750 - (181 - 106 / 2)


def test_backlog_takes_every_file_at_one_moment_so_it_never_goes_negative() -> None:
    """At 100/s, everything delivered at once. The producer's file is 0.9 s older than the
    recipients': raw totals would say 100 addressed and 190 outcomes (-90 in flight); taken
    at the same moment nothing is."""
    b = SeriesBuilder(ORIGIN)
    p = b.add(
        ORIGIN + 2.0,
        {"prod": producer(ORIGIN + 1.0, 100), "rcpt": recipients(ORIGIN + 1.9, 190)},
    )
    assert p.backlog == 0
    b.add(ORIGIN + 2.1, {"prod": producer(ORIGIN + 2.0, 200)})  # its last write: it ends
    late = b.add(ORIGIN + 4.5, {"rcpt": recipients(ORIGIN + 4.4, 200)})
    assert (late.offered, late.backlog) == (0.0, 0)  # its total stands, its rate is gone


def test_the_final_sample_takes_the_files_as_they_are() -> None:
    """A drained run whose producer wrote its last file just before the end: at that
    moment 40 were still in flight, but the run's last point is its final state."""
    b = SeriesBuilder(ORIGIN, max_points=2)
    b.add(ORIGIN + 1.0, {"prod": producer(ORIGIN + 1.0, 100), "rcpt": recipients(ORIGIN + 1.0, 80)})
    readings = {"prod": producer(ORIGIN + 2.0, 200), "rcpt": recipients(ORIGIN + 2.5, 200)}
    assert b.add(ORIGIN + 2.6, readings).backlog == 200 - (200 - 120 / 1.5 * 0.5)
    last = b.add(ORIGIN + 2.7, readings, final=True)
    assert last.backlog == 0
    assert b.series.points[-1] == last  # kept, though one sample in two is dropped by now


def test_samples_before_the_run_start_make_no_point() -> None:
    b = SeriesBuilder(ORIGIN)
    b.add(ORIGIN - 1.0, {"r": recipients(ORIGIN - 1.5, 0)})
    assert not b.series.points
    b.add(ORIGIN + 1.0, {"r": recipients(ORIGIN + 0.5, 10)})
    assert [p.achieved for p in b.series.points] == [10 / 2.0]


def test_a_writer_slower_than_the_sampler_never_shows_a_gap_or_a_double_second() -> None:
    """Writes every 1.25 s at a steady 100/s, sampled every second: every point is 100/s
    (differencing by sampling time would give 0/s and 200/s in some seconds)."""
    b = SeriesBuilder(ORIGIN)
    achieved = []
    for second in range(2, 22):  # the first write (at the run start) is the baseline
        now = ORIGIN + second
        last_write = (second // 1.25) * 1.25  # the last write at or before now
        n = round(100 * last_write)
        achieved.append(b.add(now, {"r": recipients(ORIGIN + last_write, n)}).achieved)
    assert achieved == [100.0] * 20


def test_latency_percentiles_are_those_of_the_latest_interval() -> None:
    b = SeriesBuilder(ORIGIN)
    first = (1_000,) * 100
    p = b.add(ORIGIN + 1.1, {"r": recipients(ORIGIN + 1.0, 100, *first)})
    assert (p.deliveries, p.p50_us, p.p99_us) == (100, 1_000, 1_000)
    # 100 more deliveries: 98 at 2 ms and 2 at 1.5 ms; the first second's 1 ms are gone
    second = (*first, *(2_000,) * 98, 1_500, 1_500)
    p = b.add(ORIGIN + 2.1, {"r": recipients(ORIGIN + 2.0, 200, *second)})
    assert (p.deliveries, p.p50_us, p.p99_us) == (100, 2_000, 2_000)
    assert b.add(ORIGIN + 2.2, {"r": recipients(ORIGIN + 2.0, 200, *second)}).p50_us == 2_000


def test_intervals_of_several_processes_merge_for_latency_and_add_for_rates() -> None:
    b = SeriesBuilder(ORIGIN)
    p = b.add(
        ORIGIN + 1.0,
        {"r0": recipients(ORIGIN + 1.0, 3, 100, 100, 100),
         "r1": recipients(ORIGIN + 0.5, 1, 900)},
    )  # fmt: skip
    assert p.achieved == 3.0 + 2.0
    assert (p.deliveries, p.p50_us, p.p99_us) == (4, 100, 900)


def test_no_deliveries_means_no_latency_and_an_idle_second_means_zero_rate() -> None:
    b = SeriesBuilder(ORIGIN)
    p = b.add(ORIGIN + 1.0, {"prod": producer(ORIGIN + 1.0, 10)})
    assert (p.deliveries, p.p50_us, p.p99_us, p.achieved) == (0, None, None, 0.0)
    p = b.add(ORIGIN + 2.0, {"prod": producer(ORIGIN + 2.0, 10)})
    assert p.offered == 0.0
    assert p.backlog == 10


def test_a_process_that_stopped_writing_adds_no_rate_but_its_totals_stay() -> None:
    b = SeriesBuilder(ORIGIN, stale_s=2.0)
    b.add(ORIGIN + 1.0, {"prod": producer(ORIGIN + 1.0, 50)})
    assert b.add(ORIGIN + 3.0, {"prod": producer(ORIGIN + 1.0, 50)}).offered == 50.0
    late = b.add(ORIGIN + 3.5, {"prod": producer(ORIGIN + 1.0, 50)})
    assert (late.offered, late.backlog) == (0.0, 50)


def test_a_file_written_before_the_run_start_is_the_baseline() -> None:
    b = SeriesBuilder(ORIGIN)
    b.add(ORIGIN - 0.5, {"r": recipients(ORIGIN - 0.5, 7, *(10,) * 7)})
    p = b.add(ORIGIN + 1.0, {"r": recipients(ORIGIN + 1.0, 17, *(10,) * 7, *(20,) * 10)})
    assert p.achieved == 10 / 1.5
    assert (p.deliveries, p.p50_us) == (10, 20)


def test_a_restarted_process_starts_a_new_baseline_instead_of_failing() -> None:
    b = SeriesBuilder(ORIGIN)
    b.add(ORIGIN + 1.0, {"r": recipients(ORIGIN + 1.0, 100)})
    p = b.add(ORIGIN + 2.0, {"r": recipients(ORIGIN + 2.0, 5)})  # counts went back
    assert p.achieved == 0.0
    assert b.add(ORIGIN + 3.0, {"r": recipients(ORIGIN + 3.0, 25)}).achieved == 20.0


def test_memory_is_bounded_by_pairwise_merging_beyond_max_points() -> None:
    b = SeriesBuilder(ORIGIN, max_points=4)
    delivered, lat = 0, []
    for second in range(1, 10):
        delivered += 10 * second  # 10/s, 20/s, ... 90/s
        lat += [second * 100] * (10 * second)
        b.add(ORIGIN + second, {"r": recipients(ORIGIN + second, delivered, *lat)})
    s = b.series
    # 4 points at second 4 -> merged to 2 (stride 2); seconds 6 and 8 kept (5, 7 skipped)
    # -> 4 points -> 2 (stride 4); second 9 skipped
    assert s.interval_s == 4.0
    assert [p.t_s for p in s.points] == [4.0, 8.0]
    assert [p.achieved for p in s.points] == [(10 + 20 + 30 + 40) / 4, (60 + 80) / 2]
    assert [p.p99_us for p in s.points] == [400, 800]  # the larger of each merged pair
    assert [p.deliveries for p in s.points] == [10 + 20 + 30 + 40, 60 + 80]


def test_reading_of_a_stats_file_counts_every_outcome() -> None:
    m = RunMetrics()
    for _ in range(3):
        m.record_schedule_lag(Tier.CENTRAL, 5)
    m.record_addressed(Tier.CENTRAL, Tier.COMMUNE, Priority.NORMAL, 6)
    m.record_delivery(Tier.CENTRAL, Tier.COMMUNE, Priority.NORMAL, 1_200)
    m.record_delivery(Tier.CENTRAL, Tier.COMMUNE, Priority.EXPRESS, 800)
    m.record_rejected(Tier.CENTRAL, Tier.COMMUNE, Priority.NORMAL, ReasonCode.REVOKED)
    m.record_excluded(Tier.CENTRAL, Tier.COMMUNE, Priority.NORMAL)
    m.record_rejected(Tier.CENTRAL, Tier.COMMUNE, Priority.NORMAL, ReasonCode.NOT_CONNECTED)
    r = Reading.of_stats(m.to_dict(), 12.5)
    assert (r.written_s, r.sent, r.addressed, r.delivered, r.accounted) == (12.5, 3, 6, 2, 5)
    assert (r.latency.count, r.latency.min, r.latency.max) == (2, 800, 1_200)
    with pytest.raises(ConfigError):
        Reading.of_stats({"histograms": {"delivery": [{"hdr": "not base64"}]}}, 0.0)


def test_series_json_is_columns_and_round_trips() -> None:
    points = (
        Point(1.0, 10.0, 30.0, 9.5, 29.0, 1, 9, 1_000, 2_000),
        Point(2.0, 10.0, 30.0, 10.0, 30.0, 1, 10, None, None),
    )
    data = Series(points, 1.0).to_dict()
    assert data["achieved_rate"] == [9.5, 10.0]
    assert data["p99_us"] == [2_000, None]
    assert data["points"] == 2
    assert Series.from_dict(json.loads(json.dumps(data))) == Series(points, 1.0)
    with pytest.raises(ConfigError):
        Series.from_dict({**data, "backlog": [1]})


def test_stats_files_reread_only_what_changed_and_skip_what_is_unreadable(
    tmp_path: Path,
) -> None:
    m = RunMetrics()
    m.record_addressed(Tier.CENTRAL, Tier.PROVINCE, Priority.NORMAL, 4)
    good, bad = tmp_path / "a.json", tmp_path / "b.json"
    good.write_text(json.dumps(m.to_dict()))
    bad.write_text("{half a file")
    os.utime(good, ns=(1, 2_000_000_000))
    files = StatsFiles()
    first = files.read([good, bad, tmp_path / "missing.json"])
    assert list(first) == [str(good)]
    assert (first[str(good)].addressed, first[str(good)].written_s) == (4, 2.0)
    good.write_text("not json any more")  # same mtime: the cached reading stands
    os.utime(good, ns=(1, 2_000_000_000))
    assert files.read([good])[str(good)].addressed == 4


def test_sliding_rate_is_the_rate_over_the_last_window() -> None:
    r = SlidingRate(window_s=5.0)
    assert r.rate() is None
    r.add(0.0, 0)
    assert r.rate() is None
    for t, total in ((1.0, 12), (2.0, 24), (3.0, 36)):
        r.add(t, total)
    assert r.rate() == 12.0
    # a slow start, then 150/s: the cumulative average would still say ~50/s at t = 20
    for t in range(4, 21):
        r.add(float(t), 36 + (0 if t < 15 else 150 * (t - 14)))
    assert r.rate() == 150.0
    r.add(20.0, 10**6)  # not later than the last sample: ignored
    assert r.rate() == 150.0
    r.add(22.5, 36 + 150 * 6 + 75)  # window (17.5 .. 22.5]: from the sample at t = 17
    assert r.rate() == pytest.approx((75 + 150 * 3) / 5.5)


def test_builder_rejects_an_odd_bound() -> None:
    with pytest.raises(ConfigError):
        SeriesBuilder(ORIGIN, max_points=3)


def test_latest_total_is_timed_by_the_processes_that_count_it() -> None:
    b = SeriesBuilder(ORIGIN)
    b.add(
        ORIGIN + 2.0,
        {"p0": producer(ORIGIN + 1.2, 40), "p1": producer(ORIGIN + 1.4, 60),
         "r": recipients(ORIGIN + 1.9, 70)},
    )  # fmt: skip
    assert b.latest("sent") == (ORIGIN + 1.4, 100)
    assert b.latest("delivered") == (ORIGIN + 1.9, 70)
    assert SeriesBuilder(ORIGIN).latest("sent") == (ORIGIN, 0)
    assert b.latest("sent", ORIGIN + 3.0) == (ORIGIN + 1.4, 100)  # written 1.6 s ago: current
    assert b.latest("sent", ORIGIN + 3.5) == (ORIGIN + 3.5, 100)  # 2.1 s: the producers ended


def test_a_progress_rate_falls_to_zero_once_the_producer_ended() -> None:
    b, rate = SeriesBuilder(ORIGIN), SlidingRate(window_s=5.0)
    for second in range(1, 11):  # 100/s for 5 s, then the producer's file stays as it is
        now = ORIGIN + second + 0.1
        b.add(now, {"prod": producer(ORIGIN + min(second, 5), 100 * min(second, 5))})
        rate.add(*b.latest("sent", now))
    assert rate.rate() == 0.0
