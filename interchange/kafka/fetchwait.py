"""A consumer's fetch wait that follows traffic: short under load, long when idle.

The embedded broker holds every fetch for the full `fetch_max_wait_ms` even when
records are ready, so a short wait (10 ms) is what keeps latency low under load;
but with no traffic that same wait means a hundred empty fetch round trips a
second per consumer, most of a core across an idle axis. Apache Kafka answers a
fetch as soon as data is there, so a long wait costs it nothing under load.

`AdaptiveFetchWait` keeps the short wait while records arrive and, after
`idle_after_s` without any, doubles it on every empty poll up to the idle wait;
the first poll that returns records drops it back at once. The cost: the first
record after an idle spell can wait up to the idle wait (250 ms by default).

kafka-python reads the wait from its fetcher's config dict for each fetch request
it builds; there is no public setter, so this is the one place that touches it.
A client without that attribute keeps its fixed wait (and `adaptive` is False).
"""

from __future__ import annotations

import time
from typing import Any

from interchange.kafka.seam import Consumer


class AdaptiveFetchWait:
    """Adjusts one consumer's fetch wait after each poll (`observe`)."""

    def __init__(
        self, consumer: Consumer, busy_ms: int, idle_ms: int, *, idle_after_s: float = 1.0
    ) -> None:
        fetcher = getattr(consumer, "_fetcher", None)
        config = getattr(fetcher, "config", None)
        self._config: dict[str, Any] | None = (
            config if isinstance(config, dict) and "fetch_max_wait_ms" in config else None
        )
        self.busy_ms = busy_ms
        self.idle_ms = max(idle_ms, busy_ms)
        self.idle_after_s = idle_after_s
        self._last_records = time.monotonic()
        self.current_ms = busy_ms
        self._set(busy_ms)

    @property
    def adaptive(self) -> bool:
        return self._config is not None

    def observe(self, got_records: bool, now: float | None = None) -> int:
        """Account for one poll; return the wait the next fetch will use (ms)."""
        now = time.monotonic() if now is None else now
        if got_records:
            self._last_records = now
            self._set(self.busy_ms)
        elif now - self._last_records >= self.idle_after_s:
            self._set(min(self.idle_ms, max(self.current_ms * 2, 1)))
        return self.current_ms

    def _set(self, wait_ms: int) -> None:
        self.current_ms = wait_ms
        if self._config is not None:
            self._config["fetch_max_wait_ms"] = wait_ms
