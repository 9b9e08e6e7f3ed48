"""Seek by time (the inbox, `send --follow` and replay share it), on the Kafka fakes."""

from __future__ import annotations

from kafka.structs import TopicPartition

from interchange.kafka.fakes import FakeConsumer, FakeLog
from interchange.kafka.seam import offsets_at, seek_to_time


def test_seek_to_time_starts_at_the_first_recent_record_or_at_the_end() -> None:
    log = FakeLog(clock_ms=1_000)
    log.create("t", 2)
    for _ in range(3):
        log.append("t", b"old", partition=0)  # timestamps 1001..1003
    log.append("t", b"old", partition=1)  # 1004
    log.append("t", b"new", partition=0)  # 1005, offset 3
    tps = [TopicPartition("t", 0), TopicPartition("t", 1)]
    consumer = FakeConsumer(log)
    consumer.assign(tps)

    assert offsets_at(consumer, tps, 1_005) == {tps[0]: 3, tps[1]: None}
    seek_to_time(consumer, tps, 1_005)
    assert [consumer.position(tp) for tp in tps] == [3, 1]
    got = consumer.poll()
    assert [r.value for r in got[tps[0]]] == [b"new"]
    assert tps[1] not in got
