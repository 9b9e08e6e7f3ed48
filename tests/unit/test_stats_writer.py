"""The stats file written off the stage's loop: a snapshot now, the encoding on a thread."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from interchange.metrics.histogram import LatencyHistogram
from interchange.metrics.run import RunMetrics, stats_text
from interchange.metrics.writer import StatsWriter
from interchange.wire.model import Priority, ReasonCode, Tier


def _metrics() -> RunMetrics:
    m = RunMetrics()
    for i in range(200):
        m.record_delivery(
            Tier.PROVINCE,
            Tier.COMMUNE,
            Priority.NORMAL,
            20_000 + 997 * i,
            before_router_us=9_000 + i,
            after_router_us=11_000 + 3 * i,
        )
    m.record_delivery(Tier.CENTRAL, Tier.PROVINCE, Priority.URGENT, -5)  # clamped
    m.record_rejected(Tier.CENTRAL, Tier.PROVINCE, Priority.URGENT, ReasonCode.BAD_SIGNATURE)
    m.record_schedule_lag(Tier.CENTRAL, 1_234)
    return m


def test_a_frozen_histogram_encodes_as_the_histogram_did_when_frozen() -> None:
    hist = LatencyHistogram()
    for value in (1, 7, 999, 54_321, 3_000_000, 10**13):
        hist.record(value)
    before, frozen = hist.encode(), hist.frozen()
    hist.record(77_777_777)  # recorded after the snapshot: not in it
    assert frozen.encode() == before != hist.encode()
    assert (frozen.count, frozen.clamped) == (6, 1)
    assert LatencyHistogram().frozen().encode() == LatencyHistogram().encode()


def test_a_snapshot_is_the_metrics_at_that_moment() -> None:
    metrics = _metrics()
    expected = metrics.to_dict()
    snapshot = metrics.snapshot()
    metrics.record_delivery(Tier.PROVINCE, Tier.COMMUNE, Priority.NORMAL, 5)  # later
    metrics.record_addressed(Tier.CENTRAL, Tier.COMMUNE, Priority.NORMAL)
    assert snapshot.to_dict() == expected != metrics.to_dict()
    assert RunMetrics.from_dict(snapshot.to_dict()) == RunMetrics.from_dict(expected)


def test_the_writer_writes_what_the_metrics_were_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "stats.json"
    metrics = _metrics()
    writer = StatsWriter(path)
    writer.write_metrics(metrics)
    expected = stats_text(metrics.to_dict())
    metrics.record_delivery(Tier.PROVINCE, Tier.COMMUNE, Priority.NORMAL, 5)
    assert writer.idle(5.0)
    assert path.read_text(encoding="utf-8") == expected
    writer.close()


def test_the_loop_does_not_wait_for_the_encoding(tmp_path: Path) -> None:
    """A render that blocks (a slow encode, a slow disk) holds the writer's thread, not
    the caller; the newest request replaces one not started yet."""
    path = tmp_path / "stats.json"
    writer = StatsWriter(path)
    release = threading.Event()
    started = threading.Event()

    def slow() -> str:
        started.set()
        assert release.wait(5.0)
        return '{"n": 1}'

    writer.submit(slow)
    assert started.wait(5.0)  # the thread is inside the render; submit returned already
    writer.submit(lambda: '{"n": 2}')
    writer.submit(lambda: '{"n": 3}')  # replaces n=2, which never starts
    assert not writer.idle(0.05)
    release.set()
    assert writer.idle(5.0)
    assert json.loads(path.read_text(encoding="utf-8")) == {"n": 3}
    writer.close()


def test_close_writes_what_is_pending_and_then_nothing_more(tmp_path: Path) -> None:
    """A stopping stage asks for its last file and closes: the file is written when close
    returns; after close, writes are the caller's own and nothing of the thread's comes
    after them."""
    path = tmp_path / "stats.json"
    writer = StatsWriter(path)
    release = threading.Event()
    started = threading.Event()

    def slow() -> str:
        started.set()
        release.wait(5.0)
        return '{"n": "in progress"}'

    writer.submit(slow)
    assert started.wait(5.0)
    writer.submit(lambda: '{"n": "last"}')  # pending behind the slow one
    closer = threading.Thread(target=writer.close)
    closer.start()
    release.set()
    closer.join(5.0)
    assert not closer.is_alive()
    assert json.loads(path.read_text(encoding="utf-8")) == {"n": "last"}
    writer.submit(lambda: '{"n": "after close"}')  # written at once, on this thread
    assert json.loads(path.read_text(encoding="utf-8")) == {"n": "after close"}


def test_a_thread_too_slow_at_close_is_overtaken_and_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "stats.json"
    writer = StatsWriter(path)
    release = threading.Event()
    started = threading.Event()

    def stuck() -> str:
        started.set()
        release.wait(5.0)
        return '{"n": "late"}'

    writer.submit(stuck)
    assert started.wait(5.0)
    writer.submit(lambda: '{"n": "last"}')
    writer.close(timeout=0.1)  # the thread is still in `stuck`: close writes "last" itself
    assert json.loads(path.read_text(encoding="utf-8")) == {"n": "last"}
    release.set()
    assert writer.idle(5.0)
    assert json.loads(path.read_text(encoding="utf-8")) == {"n": "last"}


def test_the_final_metrics_are_written_when_the_call_returns(tmp_path: Path) -> None:
    path = tmp_path / "stats.json"
    writer = StatsWriter(path)
    writer.write_metrics(RunMetrics())
    writer.write_metrics(_metrics(), final=True)
    assert path.read_text(encoding="utf-8") == stats_text(_metrics().to_dict())


def test_a_failed_write_is_counted_and_the_writer_goes_on(tmp_path: Path) -> None:
    writer = StatsWriter(tmp_path / "stats.json")

    def broken() -> str:
        raise OSError("disk full")

    writer.submit(broken)
    assert writer.idle(5.0)
    assert writer.failures == 1
    writer.submit(lambda: "{}")
    assert writer.idle(5.0)
    assert (tmp_path / "stats.json").read_text(encoding="utf-8") == "{}"
    writer.close()
