"""Latency histograms: a thin, typed wrapper over HdrHistogram (the `hdrhistogram` package).

One fixed shape everywhere (1 µs .. 1 hour, 3 significant digits) so any two
histograms merge bucket for bucket and a percentile read from a merged stats
file is as honest as one read in the process that recorded it. Values are
integer microseconds; anything outside the range is clamped and counted in
`clamped`, never silently dropped.
"""

from __future__ import annotations

import binascii
import zlib
from collections.abc import Iterable

import numpy as np
from hdrh.histogram import HdrHistogram

from interchange.errors import ConfigError

LOWEST_US = 1
HIGHEST_US = 3_600_000_000  # one hour
SIGNIFICANT_DIGITS = 3

# Percentiles sampled for the percentile-distribution curve (HTML chart, JSON).
CURVE_PERCENTILES: tuple[float, ...] = (
    0.0,
    10.0,
    25.0,
    50.0,
    75.0,
    90.0,
    95.0,
    99.0,
    99.5,
    99.9,
    99.95,
    99.99,
    99.999,
    100.0,
)


class LatencyHistogram:
    """Counts of latencies in microseconds, mergeable and JSON-transportable."""

    __slots__ = ("_h", "clamped")

    def __init__(self, _hdr: HdrHistogram | None = None) -> None:
        self._h = (
            _hdr if _hdr is not None else HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)
        )
        self.clamped = 0  # values below 0 or above one hour, recorded at the nearest bound

    def record(self, value_us: int) -> None:
        """Record one latency; negative values (clock skew) count as 0, over an hour as 1 h."""
        if value_us < 0:
            value_us = 0
            self.clamped += 1
        elif value_us > HIGHEST_US:
            value_us = HIGHEST_US
            self.clamped += 1
        self._h.record_value(value_us)

    def merge(self, other: LatencyHistogram) -> None:
        """Add `other`'s counts into this histogram (in place)."""
        if other.count:
            self._h.add(other._h)
        self.clamped += other.clamped

    def since(self, earlier: LatencyHistogram) -> LatencyHistogram:
        """What was recorded after `earlier`, a snapshot of this same recorder: the
        counts subtracted bucket by bucket. ConfigError if `earlier` has a count this
        histogram does not (it was not an earlier state)."""
        # Vectorised over the counts arrays (one fixed shape everywhere): a Python loop over
        # ~23,500 buckets costs ~40 ms, too slow for a per-second series of several processes.
        mine = np.frombuffer(self._h.counts, dtype=np.uint64).astype(np.int64)
        theirs = np.frombuffer(earlier._h.counts, dtype=np.uint64).astype(np.int64)
        if mine.shape != theirs.shape:
            raise ConfigError("the snapshot is not a histogram of the same shape")
        diff = mine - theirs
        if (diff < 0).any():
            raise ConfigError("the snapshot is not an earlier state of this histogram")
        out = LatencyHistogram()
        nonzero = np.flatnonzero(diff)
        if nonzero.size:
            np.frombuffer(out._h.counts, dtype=np.uint64)[:] = diff.astype(np.uint64)
            out._h.set_internal_tacking_values(int(nonzero[0]), int(nonzero[-1]), int(diff.sum()))
        out.clamped = max(0, self.clamped - earlier.clamped)
        return out

    @property
    def count(self) -> int:
        return int(self._h.get_total_count())

    @property
    def max(self) -> int:
        """Largest recorded value (µs, at histogram resolution); 0 when empty."""
        return int(self._h.get_max_value()) if self.count else 0

    @property
    def min(self) -> int:
        return int(self._h.get_min_value()) if self.count else 0

    @property
    def mean(self) -> float:
        return float(self._h.get_mean_value()) if self.count else 0.0

    def percentile(self, pct: float) -> int:
        """Value (µs) at percentile `pct` in [0, 100]; 0 when empty."""
        if not 0.0 <= pct <= 100.0:
            raise ValueError(f"percentile must be within 0..100, got {pct}")
        if not self.count:
            return 0
        if pct == 100.0:
            return self.max
        return int(self._h.get_value_at_percentile(pct))

    def percentiles(self, pcts: Iterable[float]) -> dict[float, int]:
        """Values (µs) at several percentiles in one pass over the counts."""
        wanted = tuple(pcts)
        if not self.count:
            return dict.fromkeys(wanted, 0)
        found = self._h.get_percentile_to_value_dict([p for p in wanted if p < 100.0])
        return {p: self.max if p >= 100.0 else int(found[p]) for p in wanted}

    def curve(
        self, percentiles: Iterable[float] = CURVE_PERCENTILES
    ) -> tuple[tuple[float, int], ...]:
        """(percentile, value µs) points for a percentile-distribution plot; empty when no data."""
        if not self.count:
            return ()
        return tuple(self.percentiles(percentiles).items())

    def count_at_or_below(self, limit_us: int) -> int:
        """How many values are <= `limit_us`, at histogram resolution.

        A value counts when its HDR bucket starts at or below the limit, so a value
        exactly at the limit always counts, and values at most one bucket width
        (< 0.1% of the limit) above it may count too.
        """
        if not self.count:
            return 0
        if limit_us >= self.max:
            return self.count
        # Counts are stored by bucket in value order: sum every bucket up to the limit's own.
        h = self._h
        last = h.get_counts_array_index(limit_us)
        return int(sum(h.counts[: last + 1]))

    def encode(self) -> str:
        """HdrHistogram V2 compressed, base64 text (readable by any HDR library)."""
        return str(self._h.encode().decode("ascii"))

    @classmethod
    def decode(cls, blob: str) -> LatencyHistogram:
        """Inverse of `encode`; ConfigError if the blob is not an HDR histogram of our shape."""
        try:
            hdr = HdrHistogram.decode(blob.encode("ascii"))
        except (ValueError, TypeError, zlib.error, binascii.Error, IndexError) as exc:
            raise ConfigError(f"not an HDR histogram blob: {exc}") from exc
        except Exception as exc:  # hdrh raises its own HdrCookieException/HdrLengthException
            raise ConfigError(f"not an HDR histogram blob: {exc}") from exc
        if (
            hdr.lowest_trackable_value != LOWEST_US
            or hdr.highest_trackable_value != HIGHEST_US
            or hdr.significant_figures != SIGNIFICANT_DIGITS
        ):
            raise ConfigError(
                "HDR histogram has another range or precision than 1 µs..1 h, 3 digits"
            )
        return cls(hdr)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LatencyHistogram):
            return NotImplemented
        return self.clamped == other.clamped and bool(self._h.equals(other._h))

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"LatencyHistogram(count={self.count}, max_us={self.max})"
