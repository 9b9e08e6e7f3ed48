"""The router's receipt time: the broker's LogAppendTime when there is one, else its own
clock, never a producer's CreateTime (the sender's claim)."""

from __future__ import annotations

import time
from types import SimpleNamespace

from interchange.routing.router import LOG_APPEND_TIME, receipt_us


def test_log_append_time_is_the_receipt_time() -> None:
    record = SimpleNamespace(timestamp=1_700_000_000_123, timestamp_type=LOG_APPEND_TIME)
    assert receipt_us(record) == 1_700_000_000_123_000


def test_a_create_time_is_never_trusted() -> None:
    backdated = SimpleNamespace(timestamp=1_000, timestamp_type=0)  # 1970, the sender's claim
    before = time.time_ns() // 1000
    got = receipt_us(backdated)
    assert before <= got <= time.time_ns() // 1000
