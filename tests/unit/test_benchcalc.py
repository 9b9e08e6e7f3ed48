"""The load test's pure calculations, on constructed data with exact expected numbers."""

from __future__ import annotations

import math

import pytest

from interchange.bench.calc import (
    Criteria,
    LatencyFigures,
    Limit,
    MemoryTrack,
    RateSearch,
    StageCost,
    StepResult,
    bench_spec,
    cpu_us_per_doc,
    judge,
    pipeline_ceiling,
    ratio,
    slope,
    stage_efficiency,
    subtract_histogram,
)
from interchange.errors import ConfigError
from interchange.metrics.histogram import LatencyHistogram


def hist(*values: int) -> LatencyHistogram:
    h = LatencyHistogram()
    for v in values:
        h.record(v)
    return h


# -- latency --------------------------------------------------------------------------


def merge_histograms(hists: list[LatencyHistogram]) -> LatencyHistogram:
    """One histogram with every count of `hists`, as stats files of several processes merge."""
    out = LatencyHistogram()
    for h in hists:
        out.merge(h)
    return out


def test_merge_histograms_adds_counts_across_processes() -> None:
    merged = merge_histograms([hist(*range(1, 501)), hist(*range(501, 1001))])
    figures = LatencyFigures.of(merged)
    assert figures.count == 1_000
    assert figures.p50_us == 500
    assert figures.p90_us == 900
    assert figures.p99_us == 990
    assert figures.p999_us == 999
    assert figures.max_us == 1_000


def test_merge_is_the_same_as_recording_in_one_process() -> None:
    assert merge_histograms([hist(3, 7), hist(11), hist()]) == hist(3, 7, 11)


def test_figures_are_monotonic_and_serialise_every_percentile() -> None:
    figures = LatencyFigures.of(hist(*range(1, 2_001)))  # below 2,048 µs HDR is exact
    assert figures.monotonic
    assert figures.to_dict() == {
        "count": 2_000,
        "p50_us": 1_000,
        "p90_us": 1_800,
        "p99_us": 1_980,
        "p999_us": 1_998,
        "p9999_us": 2_000,
        "max_us": 2_000,
    }


def test_empty_histogram_gives_zero_figures() -> None:
    figures = LatencyFigures.of(LatencyHistogram())
    assert figures.values == (0, 0, 0, 0, 0, 0)
    assert figures.count == 0


def test_figures_not_monotonic_when_a_percentile_decreases() -> None:
    assert not LatencyFigures(3, 10, 9, 11, 12, 13, 14).monotonic


def test_subtract_removes_the_warm_up_snapshot() -> None:
    warm = hist(1_900, 1_950, 2_000)  # the slow start
    total = hist(1_900, 1_950, 2_000, 10, 20, 30, 40)
    since = subtract_histogram(total, warm)
    assert since == hist(10, 20, 30, 40)


def test_subtract_keeps_clamped_counts_since_the_snapshot() -> None:
    earlier = hist(-5)
    total = hist(-5, -7, 5)
    since = subtract_histogram(total, earlier)
    assert since.clamped == 1
    assert since.count == 2


def test_subtract_of_an_unrelated_histogram_is_an_error() -> None:
    with pytest.raises(ConfigError, match="earlier"):
        subtract_histogram(hist(10), hist(20))


def test_subtract_of_itself_is_empty() -> None:
    h = hist(5, 6, 7)
    assert subtract_histogram(h, h).count == 0


# -- sustainability -------------------------------------------------------------------


def test_slope_of_a_growing_backlog() -> None:
    assert slope([(0.0, 0.0), (1.0, 100.0), (2.0, 200.0), (3.0, 300.0)]) == 100.0


def test_slope_of_a_flat_noisy_backlog_is_zero() -> None:
    assert slope([(0.0, 10.0), (1.0, 20.0), (2.0, 10.0), (3.0, 20.0), (4.0, 10.0)]) == 0.0


def test_slope_needs_two_distinct_times() -> None:
    assert slope([(1.0, 5.0)]) == 0.0
    assert slope([(1.0, 5.0), (1.0, 9.0)]) == 0.0


CRITERIA = Criteria(p99_bound_us=40_000, backlog_growth_share=0.02, min_achieved_share=0.95)


def test_a_good_step_is_sustainable() -> None:
    verdict = judge(StepResult(1_000.0, 990.0, 39_000, 19.0), CRITERIA)
    assert verdict.sustainable
    assert verdict.limits == ()


def test_every_limit_is_named() -> None:
    verdict = judge(StepResult(1_000.0, 900.0, 41_000, 21.0, lost=1), CRITERIA)
    assert not verdict.sustainable
    assert verdict.limits == (
        Limit.LOST,
        Limit.BACKLOG_GROWING,
        Limit.P99_OVER_BOUND,
        Limit.RATE_NOT_ACHIEVED,
    )


def test_limits_are_inclusive_at_the_bound() -> None:
    assert judge(StepResult(1_000.0, 950.0, 40_000, 20.0), CRITERIA).sustainable


def test_criteria_reject_nonsense() -> None:
    with pytest.raises(ConfigError):
        Criteria(p99_bound_us=0)
    with pytest.raises(ConfigError):
        Criteria(min_achieved_share=0.0)


def _feed(search: RateSearch, capacity: float) -> list[float]:
    """Drive a search against a pipeline that sustains exactly `capacity` docs/s."""
    tried = []
    while (rate := search.next_rate()) is not None:
        tried.append(rate)
        ok = rate <= capacity
        step = StepResult(rate, rate if ok else capacity, 5_000 if ok else 90_000, 0.0)
        search.record(step, judge(step, CRITERIA))
    return tried


def test_search_steps_up_then_bisects() -> None:
    search = RateSearch(start=1_000.0, factor=2.0, precision=0.05, max_steps=20)
    tried = _feed(search, capacity=3_000.0)
    assert tried == [1_000.0, 2_000.0, 4_000.0, 3_000.0, 3_500.0, 3_250.0, 3_125.0]
    assert search.best == 3_000.0
    assert search.lowest_failed == 3_125.0


def test_search_bisects_down_when_the_first_rate_fails() -> None:
    search = RateSearch(start=1_000.0, factor=2.0, precision=0.1, max_steps=20)
    tried = _feed(search, capacity=300.0)
    assert tried == [1_000.0, 500.0, 250.0, 375.0, 312.5, 281.25]
    assert search.best == 281.25


def test_search_stops_after_max_steps() -> None:
    search = RateSearch(start=100.0, factor=2.0, max_steps=3)
    assert _feed(search, capacity=1e9) == [100.0, 200.0, 400.0]
    assert search.best == 400.0
    assert search.lowest_failed is None


def test_search_rejects_a_factor_of_one() -> None:
    with pytest.raises(ConfigError):
        RateSearch(start=100.0, factor=1.0)


# -- CPU and ceilings --------------------------------------------------------------------


def test_stage_cost_per_core() -> None:
    assert StageCost("router", 250.0).docs_per_core_s == 4_000.0


def test_pipeline_ceiling_shares_the_cores() -> None:
    costs = [StageCost("producer", 100.0), StageCost("router", 250.0), StageCost("r", 50.0)]
    assert pipeline_ceiling(costs, cores=2) == 5_000.0


def test_pipeline_ceiling_needs_a_core() -> None:
    with pytest.raises(ConfigError):
        pipeline_ceiling([StageCost("router", 1.0)], cores=0)


def test_cpu_per_document() -> None:
    assert cpu_us_per_doc(1.5, 6_000) == 250.0
    assert cpu_us_per_doc(1.5, 0) is None


def test_ratios_are_positive_or_unknown() -> None:
    assert ratio(3_000.0, 6_000.0) == 0.5
    assert ratio(3_000.0, 0.0) is None
    assert ratio(None, 10.0) is None
    assert ratio(1.0, math.inf) is None


def test_router_efficiency_is_pure_work_over_spent_cpu() -> None:
    assert stage_efficiency(200.0, 250.0) == 0.8
    assert stage_efficiency(200.0, None) is None


# -- memory and counts ------------------------------------------------------------------


def test_memory_track_start_peak_end() -> None:
    track = MemoryTrack.of([100, 108, 104, 106])
    assert (track.start, track.peak, track.end, track.samples) == (100, 108, 106, 4)
    assert track.growth == pytest.approx(0.08)
    assert track.flat()
    assert track.to_dict()["flat_within_10pct"] is True


def test_memory_that_grows_more_than_ten_percent_is_not_flat() -> None:
    track = MemoryTrack.of([100, 105, 111])
    assert track.flat() is False


def test_memory_curve_is_kept_downsampled_with_first_and_last_sample() -> None:
    n = 1_001
    track = MemoryTrack.of([100 + i for i in range(n)], [i * 0.5 for i in range(n)])
    assert len(track.series) <= MemoryTrack.SERIES_POINTS + 1
    assert track.series[0] == (0.0, 100)
    assert track.series[-1] == (500.0, 100 + n - 1)
    assert [t for t, _ in track.series] == sorted(t for t, _ in track.series)
    assert track.to_dict()["series"][-1] == [500.0, 1_100]
    assert MemoryTrack.of([1, 2]).series == ()  # no times, no curve


def test_memory_without_samples_is_unknown() -> None:
    assert MemoryTrack.of([]).flat() is None


def test_bench_spec_is_one_size_one_recipient_no_classified() -> None:
    spec = bench_spec(500.0, duration_s=2.0)
    assert dict(spec.attachment_mix) == {1_536: 1.0}
    assert dict(spec.recipients_mix) == {1: 1.0}
    assert dict(spec.classified) == {}
    assert dict(spec.faults) == {}
