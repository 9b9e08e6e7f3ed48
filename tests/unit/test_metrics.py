from __future__ import annotations

import json
from pathlib import Path

import pytest

from interchange.errors import ConfigError
from interchange.metrics.histogram import HIGHEST_US, LatencyHistogram
from interchange.metrics.run import RunMetrics, read_stats, write_stats
from interchange.wire.model import Priority, ReasonCode, Tier

C, P, D, M = Tier.CENTRAL, Tier.PROVINCE, Tier.DISTRICT, Tier.COMMUNE
N, X = Priority.NORMAL, Priority.EXPRESS


def test_histogram_percentiles_count_and_max() -> None:
    h = LatencyHistogram()
    for v in range(1, 1001):
        h.record(v * 1000)  # 1 ms .. 1 s
    assert h.count == 1000
    assert h.percentile(50) == pytest.approx(500_000, rel=1e-3)
    assert h.percentile(99) == pytest.approx(990_000, rel=1e-3)
    assert h.max == pytest.approx(1_000_000, rel=1e-3)
    assert h.min == 1000


def test_histogram_clamps_out_of_range_values_and_counts_them() -> None:
    h = LatencyHistogram()
    h.record(-5)
    h.record(HIGHEST_US * 2)
    assert (h.count, h.clamped, h.min) == (2, 2, 0)
    assert h.max == pytest.approx(HIGHEST_US, rel=1e-3)


def test_histogram_empty_reads_zero() -> None:
    h = LatencyHistogram()
    assert (h.count, h.max, h.percentile(99.9), h.curve(), h.count_at_or_below(5)) == (
        0,
        0,
        0,
        (),
        0,
    )


def test_histogram_count_at_or_below_counts_a_value_exactly_at_the_limit() -> None:
    h = LatencyHistogram()
    for v in (1_000_000, 59_000_000, 60_000_000, 60_500_000, 90_000_000):
        h.record(v)
    assert h.count_at_or_below(60_000_000) == 3
    # 60.0 s shares an HDR bucket (width 32.8 ms) with 59.999 s: counted, the documented bound
    assert h.count_at_or_below(59_999_000) == 3
    assert h.count_at_or_below(59_900_000) == 2  # 0.1 s over is far more than one bucket
    assert h.count_at_or_below(10**10) == 5


def test_histogram_encode_decode_round_trip_and_merge() -> None:
    a, b = LatencyHistogram(), LatencyHistogram()
    for v in (10, 200, 3_000, 40_000):
        a.record(v)
    b.record(5_000_000)
    back = LatencyHistogram.decode(a.encode())
    assert back == a
    back.merge(b)
    assert back.count == 5
    assert back.max == pytest.approx(5_000_000, rel=1e-3)


@pytest.mark.parametrize("blob", ["", "not base64 !!", "SGVsbG8gd29ybGQ="])
def test_histogram_decode_rejects_garbage_with_config_error(blob: str) -> None:
    with pytest.raises(ConfigError):
        LatencyHistogram.decode(blob)


def sample(seed: int) -> RunMetrics:
    m = RunMetrics()
    m.record_addressed(C, P, N, 3 + seed)
    m.record_excluded(C, P, N)
    m.record_rejected(P, D, X, ReasonCode.BAD_SIGNATURE)
    m.record_rejected(P, D, X, ReasonCode.CLASSIFIED)
    m.record_rejected(P, M, N, ReasonCode.NOT_CONNECTED)
    m.record_rejected(P, M, N, ReasonCode.NOT_CONNECTED)
    m.record_delivery(
        C, P, N, 1_000 * (seed + 1), before_router_us=400, after_router_us=600, reverified=True
    )
    m.record_delivery(D, M, X, 2_000_000, reverified=False)
    m.record_duplicate(D, M, X)
    m.record_ack(C, P, 5_000)
    m.record_schedule_lag(C, 120 * (seed + 1))
    return m


def test_recording_fills_the_right_cells() -> None:
    m = sample(0)
    cp = m.cells[(C, P, N)]
    assert (cp.addressed, cp.excluded, cp.delivered, cp.signature_reverified) == (3, 1, 1, 1)
    pd = m.cells[(P, D, X)]
    assert (pd.rejected, pd.excluded) == ({ReasonCode.BAD_SIGNATURE: 1}, 1)
    assert m.cells[(P, M, N)].not_connected == 2
    dm = m.cells[(D, M, X)]
    assert (dm.delivered, dm.duplicates, dm.signature_invalid) == (1, 1, 1)
    assert m.histograms("before_router")[(C, P)].count == 1
    assert (D, M) not in m.histograms("before_router")  # hops are optional
    assert m.histograms("ack")[(C, P)].count == 1
    assert m.histograms("schedule_lag")[(C,)].count == 1


def test_merge_is_associative_and_adds_counts() -> None:
    a, b, c = sample(0), sample(1), sample(2)
    left = RunMetrics().merge(a).merge(b).merge(c)
    right = RunMetrics().merge(a).merge(RunMetrics().merge(b).merge(c))
    assert left == right
    assert left.cells[(C, P, N)].addressed == 3 + 4 + 5
    assert left.histograms("delivery")[(C, P, N)].count == 3
    assert left.cells[(P, D, X)].rejected[ReasonCode.BAD_SIGNATURE] == 3


def test_to_dict_round_trips_through_json_and_is_stable() -> None:
    m = sample(3)
    text = json.dumps(m.to_dict(), sort_keys=True)
    back = RunMetrics.from_dict(json.loads(text))
    assert back == m
    assert json.dumps(back.to_dict(), sort_keys=True) == text
    d = m.to_dict()
    assert d["schema_version"] == 1
    assert set(d["histograms"]) == {
        "delivery",
        "before_router",
        "after_router",
        "ack",
        "schedule_lag",
        "from_send",
    }
    first = d["cells"][0]
    assert (first["sender_tier"], first["recipient_tier"], first["priority"]) == (
        "central",
        "province",
        "NORMAL",
    )


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(schema_version=99),
        lambda d: d["cells"][0].update(priority="SLOW"),
        lambda d: d["cells"][0].update(recipient_tier="village"),
        lambda d: d["cells"][0].update(addressed=-1),
        lambda d: d["cells"][0].update(rejected={"NOPE": 1}),
        lambda d: d["histograms"]["delivery"][0].update(hdr="xx"),
        lambda d: d.pop("cells"),
    ],
)
def test_from_dict_rejects_malformed_stats(mutate: object) -> None:
    d = sample(0).to_dict()
    mutate(d)  # type: ignore[operator]
    with pytest.raises(ConfigError):
        RunMetrics.from_dict(d)


def test_write_and_read_stats_merges_files_atomically(tmp_path: Path) -> None:
    paths = [tmp_path / "s" / f"p{i}.json" for i in range(3)]
    for i, p in enumerate(paths):
        write_stats(p, sample(i))
    assert sorted(x.name for x in (tmp_path / "s").iterdir()) == ["p0.json", "p1.json", "p2.json"]
    merged = read_stats(paths)
    assert merged == RunMetrics().merge(sample(0)).merge(sample(1)).merge(sample(2))
    write_stats(paths[0], sample(5))  # overwrite in place
    assert read_stats(paths[:1]).cells[(C, P, N)].addressed == 8


def test_read_stats_errors_and_missing_ok(tmp_path: Path) -> None:
    missing = tmp_path / "none.json"
    with pytest.raises(ConfigError, match="not found"):
        read_stats([missing])
    assert read_stats([missing], missing_ok=True) == RunMetrics()
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="not JSON"):
        read_stats([bad])


def test_count_at_or_below_is_within_one_bucket_of_exact() -> None:
    import random

    rng = random.Random(7)
    values = [rng.randrange(0, 120 * 1_000_000) for _ in range(2000)]
    h = LatencyHistogram()
    for v in values:
        h.record(v)
    for limit in (5 * 1_000_000, 10 * 1_000_000, 60 * 1_000_000, 1234):
        exact = sum(v <= limit for v in values)
        loose = sum(v <= limit * (1 + 1 / 1024) for v in values)
        assert exact <= h.count_at_or_below(limit) <= loose


def test_random_event_streams_round_trip_and_merge_in_any_split() -> None:
    import random

    rng = random.Random(11)
    whole, parts = RunMetrics(), [RunMetrics() for _ in range(3)]
    for i in range(300):
        s, r, p = rng.choice(list(Tier)), rng.choice(list(Tier)), rng.choice(list(Priority))
        part = rng.choice(parts)
        kind = rng.randrange(4)
        for target in (whole, part):
            if kind == 0:
                target.record_addressed(s, r, p, 2)
            elif kind == 1:
                target.record_rejected(s, r, p, ReasonCode.REPLAY)
            elif kind == 2:
                target.record_ack(s, r, 7_000)
            else:
                target.record_delivery(s, r, p, 1_000 + i * 17, after_router_us=5)
    merged = RunMetrics()
    for part in reversed(parts):
        merged.merge(RunMetrics.from_dict(json.loads(json.dumps(part.to_dict()))))
    assert merged == whole


def test_from_send_is_recorded_round_trips_and_older_files_without_it_load() -> None:
    m = RunMetrics()
    m.record_delivery(C, P, N, 9_000, from_send_us=4_000)
    m.record_delivery(C, P, N, 8_000)  # no producer hop in the trace: nothing recorded
    hist = m.histograms("from_send")[(C, P)]
    assert hist.count == 1
    assert 3_990 <= hist.max <= 4_010
    d = m.to_dict()
    assert RunMetrics.from_dict(json.loads(json.dumps(d))) == m
    del d["histograms"]["from_send"]  # a stats file written before the family existed
    older = RunMetrics.from_dict(d)
    assert older.cells == m.cells
    assert older.merged_histogram("from_send").count == 0
