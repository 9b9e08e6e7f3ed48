"""Per-second series of a run: offered and achieved rate, p50/p99 latency and backlog.

Every stage process rewrites its stats file (cumulative counters and HDR histograms,
`RunMetrics.to_dict()`) about once a second. An orchestrator samples the files once a
second and gives the `SeriesBuilder` each file's content with the time the file was
written (its modification time). For each process the builder differences consecutive
versions of its file: counts over the interval between the two writes, and the
deliveries' latency histogram of that interval (`LatencyHistogram.since`). Each sample
then makes one point: rates and latency from the latest interval of every process,
backlog from the running totals.

Why the write times and not the sampling times: a stage writing every 1.05 s, sampled
every 1.00 s, would otherwise show a second with nothing and then a second at twice the
rate every twenty seconds or so.

Definitions (docs/BENCHMARKS.md, "Per-second series"):

* offered: documents the producers sent per second;
* addressed: (document, recipient) pairs the producers addressed per second (equal to
  offered when each document has one recipient, as in `bench`);
* achieved: first deliveries the recipients recorded per second;
* backlog: pairs addressed so far minus pairs with an outcome so far (delivered,
  classified, rejected or not connected): what is in flight at that moment. Each
  process's totals are taken at one common moment (interpolated within its latest
  interval), never below 0;
* p50/p99: from the intended send time, over the deliveries of the latest interval of
  every recipients process.

Memory stays bounded: at most `max_points` points (3,600 by default); beyond that,
adjacent points are merged pairwise and one sample in two is kept from then on.
"""

from __future__ import annotations

import json
import math
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from interchange.errors import ConfigError
from interchange.metrics.histogram import LatencyHistogram

MAX_POINTS = 3_600
# A process whose file is older than this adds no rate: it ended (a producer that is
# done) or is stuck, and either way it reported nothing new.
STALE_S = 2.0
LATENCY_FAMILY = "delivery"  # intended send time -> recipient


@dataclass(frozen=True, slots=True)
class Reading:
    """One version of one process's stats file: cumulative figures and when it was written."""

    written_s: float  # seconds, the same clock as the builder's origin (file mtime: epoch)
    sent: int = 0
    addressed: int = 0
    delivered: int = 0
    accounted: int = 0  # delivered + classified + rejected + not connected
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)

    @classmethod
    def of_stats(cls, data: Mapping[str, Any], written_s: float) -> Reading:
        """From a stats file's JSON, decoding only the delivery histograms; ConfigError if
        it is malformed."""
        try:
            sent = addressed = delivered = accounted = 0
            for cell in data.get("cells", ()):
                addressed += int(cell.get("addressed", 0))
                delivered += int(cell.get("delivered", 0))
                accounted += (
                    int(cell.get("delivered", 0))
                    + int(cell.get("excluded_classified", 0))
                    + int(cell.get("not_connected", 0))
                    + sum(int(n) for n in cell.get("rejected", {}).values())
                )
            hists = data.get("histograms", {})
            for row in hists.get("schedule_lag", ()):  # one row per sender tier and document
                sent += int(row.get("count", 0))
            latency = LatencyHistogram()
            for row in hists.get(LATENCY_FAMILY, ()):
                latency.merge(LatencyHistogram.decode(row["hdr"]))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"stats: malformed ({exc!r})") from exc
        return cls(written_s, sent, addressed, delivered, accounted, latency)

    def counts(self) -> tuple[int, int, int, int]:
        return (self.sent, self.addressed, self.delivered, self.accounted)


@dataclass(frozen=True, slots=True)
class _Interval:
    """What one process recorded between two writes of its stats file."""

    seconds: float
    sent: int
    addressed: int
    delivered: int
    accounted: int
    latency: LatencyHistogram

    @classmethod
    def between(cls, earlier: Reading, later: Reading) -> _Interval:
        """ConfigError when `earlier` is not an earlier state (a restarted process)."""
        sent, addressed, delivered, accounted = (
            b - a for a, b in zip(earlier.counts(), later.counts(), strict=True)
        )
        if min(sent, addressed, delivered, accounted) < 0:
            raise ConfigError("stats went backwards")
        return cls(
            later.written_s - earlier.written_s,
            sent,
            addressed,
            delivered,
            accounted,
            later.latency.since(earlier.latency),
        )


@dataclass
class _Source:
    last: Reading
    interval: _Interval | None = None


@dataclass(frozen=True, slots=True)
class Point:
    """The run at one sample; rates per second, latency in µs (None without deliveries)."""

    t_s: float  # seconds since the run start
    offered: float  # documents sent / s
    addressed: float  # (document, recipient) pairs addressed / s
    achieved: float  # first deliveries / s
    outcomes: float  # pairs with an outcome / s
    backlog: int  # pairs addressed so far - pairs with an outcome so far
    deliveries: int  # deliveries behind p50/p99
    p50_us: int | None
    p99_us: int | None

    def merged(self, later: Point) -> Point:
        """This point and the next as one (downsampling): rates averaged, the later backlog,
        and the larger percentile of the two, an upper bound of the pair's true one."""
        return Point(
            later.t_s,
            (self.offered + later.offered) / 2,
            (self.addressed + later.addressed) / 2,
            (self.achieved + later.achieved) / 2,
            (self.outcomes + later.outcomes) / 2,
            later.backlog,
            self.deliveries + later.deliveries,
            _max(self.p50_us, later.p50_us),
            _max(self.p99_us, later.p99_us),
        )


def _max(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


# JSON column name -> Point attribute, in the documented order (docs/REPORT.md).
COLUMNS: tuple[tuple[str, str], ...] = (
    ("t_s", "t_s"),
    ("offered_rate", "offered"),
    ("addressed_rate", "addressed"),
    ("achieved_rate", "achieved"),
    ("outcome_rate", "outcomes"),
    ("backlog", "backlog"),
    ("deliveries", "deliveries"),
    ("p50_us", "p50_us"),
    ("p99_us", "p99_us"),
)


@dataclass(frozen=True, slots=True)
class Series:
    """The points of a run, oldest first, and the sampling interval they stand for."""

    points: tuple[Point, ...] = ()
    interval_s: float = 1.0  # nominal seconds between points (doubles when downsampled)

    def to_dict(self) -> dict[str, Any]:
        """Column arrays, as OpenMessaging Benchmark stores its series (docs/REPORT.md)."""
        out: dict[str, Any] = {"interval_s": self.interval_s, "points": len(self.points)}
        for key, attr in COLUMNS:
            values = [getattr(p, attr) for p in self.points]
            out[key] = [round(v, 2) if isinstance(v, float) else v for v in values]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Series:
        """Inverse of `to_dict` (report tools read the JSON back)."""
        try:
            n = int(data["points"])
            columns = [list(data[key]) for key, _ in COLUMNS]
            if any(len(c) != n for c in columns):
                raise ValueError("columns of different lengths")
            points = tuple(Point(*(col[i] for col in columns)) for i in range(n))
            return cls(points, float(data["interval_s"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"series: malformed ({exc!r})") from exc


class SeriesBuilder:
    """Turns samples of cumulative stats files into a bounded per-second series."""

    def __init__(
        self,
        origin_s: float,
        *,
        interval_s: float = 1.0,
        max_points: int = MAX_POINTS,
        stale_s: float = STALE_S,
    ) -> None:
        if max_points < 2 or max_points % 2:
            raise ConfigError("max_points must be an even number >= 2")
        self.origin_s = origin_s  # the run start, on the clock of Reading.written_s
        self.interval_s = interval_s
        self.max_points = max_points
        self.stale_s = stale_s
        self._sources: dict[str, _Source] = {}
        self._points: list[Point] = []
        self._stride = 1  # keep one sample in `stride` (doubles at each downsampling)
        self._samples = 0

    def add(self, now_s: float, readings: Mapping[str, Reading], *, final: bool = False) -> Point:
        """Take one sample at `now_s` (same clock as the readings) and return its point.

        `readings` maps a process (e.g. its stats file's path) to its file as just read;
        a file seen before with the same write time changes nothing. `final`: the last
        sample of a run, its stages drained or exited, so every file is final: the backlog
        is their totals as they are, and the point is kept whatever the downsampling.
        """
        for name, reading in readings.items():
            self._observe(name, reading)
        point = self._point(now_s, final=final)
        if now_s < self.origin_s:  # before the run start: baselines only, no point
            return point
        self._samples += 1
        if self._samples % self._stride == 0 or final:
            self._points.append(point)
            if len(self._points) >= self.max_points:
                pairs = zip(self._points[0::2], self._points[1::2], strict=True)
                self._points = [a.merged(b) for a, b in pairs]
                self._stride *= 2
        return point

    @property
    def series(self) -> Series:
        return Series(tuple(self._points), self.interval_s * self._stride)

    def totals(self) -> Reading:
        """Sums of the latest reading of every process (latency left empty)."""
        last = [s.last for s in self._sources.values()]
        return Reading(
            max((r.written_s for r in last), default=self.origin_s),
            sum(r.sent for r in last),
            sum(r.addressed for r in last),
            sum(r.delivered for r in last),
            sum(r.accounted for r in last),
        )

    def latest(self, counter: str, now_s: float | None = None) -> tuple[float, int]:
        """(when, total) of one counter (`sent`, `addressed`, `delivered`, `accounted`): the
        sum over processes, at the newest write among those that count it (progress rates).
        With `now_s`, a total no process has rewritten for `stale_s` stands at `now_s`: they
        ended (a finished producer) or stalled, so a rate over it falls to 0."""
        carrying = [s.last for s in self._sources.values() if getattr(s.last, counter)]
        when = max((r.written_s for r in carrying), default=self.origin_s)
        if now_s is not None and now_s - when > self.stale_s:
            when = now_s
        return when, sum(getattr(r, counter) for r in carrying)

    def _observe(self, name: str, reading: Reading) -> None:
        source = self._sources.get(name)
        if source is None:
            if reading.written_s <= self.origin_s:  # written before the run: the baseline
                self._sources[name] = _Source(reading)
                return
            source = self._sources[name] = _Source(Reading(self.origin_s))
        if reading.written_s <= source.last.written_s:
            return
        try:
            source.interval = _Interval.between(source.last, reading)
        except ConfigError:  # a restarted process: its new file is the new baseline
            source.interval = None
        source.last = reading

    def _point(self, now_s: float, *, final: bool) -> Point:
        fresh = [
            s
            for s in self._sources.values()
            if s.interval is not None
            and s.interval.seconds > 0
            and now_s - s.last.written_s <= self.stale_s
        ]
        live = [s.interval for s in fresh if s.interval is not None]
        latency = LatencyHistogram()
        for iv in live:
            latency.merge(iv.latency)
        return Point(
            now_s - self.origin_s,
            sum(iv.sent / iv.seconds for iv in live),
            sum(iv.addressed / iv.seconds for iv in live),
            sum(iv.delivered / iv.seconds for iv in live),
            sum(iv.accounted / iv.seconds for iv in live),
            self._backlog(
                # final: nothing moves any more, every file is its process's final state
                math.inf if final else min((s.last.written_s for s in fresh), default=now_s)
            ),
            latency.count,
            latency.percentile(50.0) if latency.count else None,
            latency.percentile(99.0) if latency.count else None,
        )

    def _backlog(self, at_s: float) -> int:
        """Addressed minus accounted, every process's totals taken at the same moment `at_s`
        (the oldest latest write of the processes still writing), interpolated within each
        one's latest interval: files written up to a second apart would otherwise count a
        document at the router before its producer's file says it was sent."""
        addressed = accounted = 0.0
        for s in self._sources.values():
            last, iv = s.last, s.interval
            share = 0.0  # how much of the latest interval lies after `at_s`
            if iv is not None and iv.seconds > 0 and last.written_s > at_s:
                share = min(1.0, (last.written_s - at_s) / iv.seconds)
            addressed += last.addressed - share * (iv.addressed if iv else 0)
            accounted += last.accounted - share * (iv.accounted if iv else 0)
        return max(0, round(addressed - accounted))


class StatsFiles:
    """Reads stats files for a `SeriesBuilder`, parsing a file again only when it changed."""

    def __init__(self) -> None:
        self._cache: dict[Path, tuple[int, Reading]] = {}

    def read(self, paths: Iterable[Path]) -> dict[str, Reading]:
        """Path -> reading of every readable file (a file being replaced is skipped)."""
        out: dict[str, Reading] = {}
        for path in paths:
            try:
                mtime_ns = path.stat().st_mtime_ns
                cached = self._cache.get(path)
                if cached is None or cached[0] != mtime_ns:
                    data = json.loads(path.read_text(encoding="utf-8"))
                    cached = (mtime_ns, Reading.of_stats(data, mtime_ns / 1e9))
                    self._cache[path] = cached
            except (OSError, ValueError, ConfigError):
                continue
            out[str(path)] = cached[1]
        return out


@dataclass
class SlidingRate:
    """The rate of a cumulative count over the last `window_s` seconds (progress lines).

    A cumulative average (count / elapsed) hides the present: after a slow start it
    shows a fraction of the current rate for minutes.
    """

    window_s: float = 5.0
    _samples: deque[tuple[float, int]] = field(default_factory=deque)

    def add(self, t_s: float, total: int) -> None:
        """A sample of the cumulative `total` at `t_s`; samples not later than the last are
        ignored (the same file version read twice)."""
        if self._samples and t_s <= self._samples[-1][0]:
            return
        self._samples.append((t_s, total))
        # Keep one sample at or before the window start, so the rate spans the window.
        while len(self._samples) >= 2 and self._samples[1][0] <= t_s - self.window_s:
            self._samples.popleft()

    def rate(self) -> float | None:
        """Per second over the window; None before two samples."""
        if len(self._samples) < 2:
            return None
        (t0, n0), (t1, n1) = self._samples[0], self._samples[-1]
        return (n1 - n0) / (t1 - t0)
