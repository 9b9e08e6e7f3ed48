"""The wall clock in the unit every record carries: microseconds since the Unix epoch.

One definition, so that send times, receipt times and certificate validity are all
read the same way; pure (no Kafka), so the core and the stages both use it.
"""

from __future__ import annotations

import time


def now_us() -> int:
    """Wall-clock time now, in whole microseconds since the epoch."""
    return time.time_ns() // 1000
