"""A recipients group's handled marks, kept where every Kafka-compatible broker keeps them.

Per delivery partition, the handled mark is the last offset whose status 01 the group
sent. A process that takes a partition over (after a crash, a stop or a rebalance)
reads the records after the last committed offset again; those at or below the mark
are redeliveries, which it counts as such rather than as new deliveries.

The marks are the committed offsets of a companion consumer group, `<group>.handled`,
which no consumer joins: it is only committed to and read. Commit metadata on the
recipients' own offsets would carry them on Apache Kafka, but the embedded broker
drops commit metadata, and a group's offsets survive on both. An offset is stored as
mark + 1, Kafka's "next to read", so tools that list the group show a sane position.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from interchange.kafka.seam import Consumer

COMPANION_SUFFIX = ".handled"


class HandledMarks:
    """Reads and saves the handled marks of one recipients group."""

    def __init__(self, group: str, make_client: Callable[[str], Consumer]) -> None:
        self.group = f"{group}{COMPANION_SUFFIX}"
        self._make_client = make_client
        self._client: Consumer | None = None
        self._saved: dict[Any, int] = {}

    def _connected(self) -> Consumer:
        if self._client is None:
            self._client = self._make_client(self.group)
        return self._client

    def read(self, partitions: Iterable[Any], timeout_ms: int) -> dict[Any, int]:
        """Partition -> handled mark, for the partitions that have one."""
        client = self._connected()
        marks = {}
        for tp in partitions:
            position = client.committed(tp, timeout_ms=timeout_ms)
            if isinstance(position, int) and position > 0:
                marks[tp] = position - 1
                self._saved[tp] = position - 1
        return marks

    def save(self, handled: Mapping[Any, int], timeout_ms: int) -> None:
        """Commit the marks that moved since the last save (one request for all)."""
        from kafka.structs import OffsetAndMetadata

        moved = {tp: mark for tp, mark in handled.items() if self._saved.get(tp) != mark}
        if not moved:
            return
        offsets = {tp: OffsetAndMetadata(mark + 1, "", -1) for tp, mark in moved.items()}
        self._connected().commit(offsets, timeout_ms=timeout_ms)
        self._saved.update(moved)

    def forget(self, partitions: Iterable[Any]) -> None:
        for tp in partitions:
            self._saved.pop(tp, None)

    @property
    def client(self) -> Consumer | None:
        """The companion group's consumer, if one was made (for closing)."""
        return self._client
