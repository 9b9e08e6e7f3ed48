"""Progress lines show the current rate (last few seconds), not deliveries / elapsed time."""

from __future__ import annotations

import io

from rich.console import Console

from interchange.bench.run import Tick
from interchange.cli.bench import tick_line
from interchange.cli.simulate import _Progress
from interchange.simulate.values import Snapshot


def test_simulate_progress_shows_the_sliding_window_rate() -> None:
    # 25 s in, 300 deliveries so far (a slow start: 12/s on average), delivering 150/s now
    snap = Snapshot(
        25.0, "producing", 3_000, 400, 9_000, 300, 2, 3, 4, 0, 290, 0,
        produced_rate=150.0, delivered_rate=148.6,
    )  # fmt: skip
    out = io.StringIO()
    progress = _Progress(Console(file=out, width=300), live=False)
    progress.update(snap)
    line = out.getvalue()
    assert "delivered 300/9,000 (149/s)" in line
    assert "produced 400/3,000 (150/s)" in line
    assert "(12/s)" not in line


def test_simulate_progress_before_two_samples_has_no_rate() -> None:
    snap = Snapshot(5.0, "producing", 3_000, 0, 9_000, 0, 0, 0, 0, 0, 0, 0)
    out = io.StringIO()
    _Progress(Console(file=out, width=300), live=False).update(snap)
    assert "delivered 0/9,000 (—/s)" in out.getvalue()


def test_bench_progress_shows_current_rates() -> None:
    tick = Tick(0, 1_000.0, 12.0, 30.0, 11_000, 9_500, 40, "measuring", 1_002.4, 981.0)
    line = tick_line(tick)
    assert "sent 11,000 (1,002/s)" in line
    assert "done 9,500 (delivering 981/s)" in line
    assert "backlog 1,500" in line  # without a backlog of its own: sent - done
    timed = Tick(0, 1_000.0, 12.0, 30.0, 11_000, 11_020, 40, "measuring", None, None, 12)
    assert "backlog 12 " in tick_line(timed)  # the files taken at one moment, not -20
