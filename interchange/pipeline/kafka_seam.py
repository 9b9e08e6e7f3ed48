"""The seam between the stages and Kafka: the few client operations the stages use.

`Stop` is how every stage is told to stop; `offsets_at` and `seek_to_time` position a
consumer by record timestamp for the readers that start "from a time" (the agency inbox,
`send --follow`, replay).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol


class Stop(Protocol):
    """A `threading.Event` or `cli.common.StopFlag`; `wait(0)` reads it without blocking."""

    def wait(self, timeout: float | None = None) -> bool: ...


def offsets_at(consumer: Any, tps: Iterable[Any], since_ms: int) -> dict[Any, int | None]:
    """The first offset of each partition whose record timestamp is at or after `since_ms`,
    or None where no record is that recent (`offsets_for_times`)."""
    found: Mapping[Any, Any] = consumer.offsets_for_times(dict.fromkeys(tps, since_ms))
    return {tp: (hit.offset if hit is not None else None) for tp, hit in found.items()}


def seek_to_time(consumer: Any, tps: Iterable[Any], since_ms: int) -> None:
    """Seek each partition to its first record at or after `since_ms`, or to its end when
    none is that recent. Brokers may position coarsely (Tansu does): readers still filter
    records by timestamp."""
    tps = list(tps)
    starts = offsets_at(consumer, tps, since_ms)
    for tp in tps:
        offset = starts.get(tp)
        if offset is not None:
            consumer.seek(tp, offset)
        else:
            consumer.seek_to_end(tp)
