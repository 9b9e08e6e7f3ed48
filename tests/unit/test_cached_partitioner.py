"""The cached-hash partitioner picks exactly what Kafka's default partitioner picks."""

from __future__ import annotations

from kafka.partitioner.default import DefaultPartitioner

from interchange.kafka.clients import CachedKeyPartitioner


class _Cluster:
    def __init__(self, partitions: dict[str, set[int]]) -> None:
        self._partitions = partitions

    def topics(self) -> set[str]:
        return set(self._partitions)

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        return self._partitions.get(topic)

    def available_partitions_for_topic(self, topic: str) -> set[int]:
        return self._partitions.get(topic, set())


def test_same_partition_as_the_default_for_every_key_and_partition_count() -> None:
    cached, default = CachedKeyPartitioner(), DefaultPartitioner()
    keys = [f"000.{i // 100:02d}.{i % 100:02d}.H{i % 63 + 1:02d}".encode() for i in range(500)]
    keys += [b"", b"x", "ünïcode".encode()]
    for n in (1, 3, 4, 8, 12):
        cluster = _Cluster({"t": set(range(n))})
        for key in keys * 2:  # the second pass answers from the cache
            want = default.partition("t", key, key, None, None, cluster)
            assert cached.partition("t", key, key, None, None, cluster) == want


def test_a_topic_that_grows_partitions_is_followed() -> None:
    cached = CachedKeyPartitioner()
    key = b"000.00.01.H30"
    before = cached.partition("t", key, key, None, None, _Cluster({"t": set(range(4))}))
    after = cached.partition("t", key, key, None, None, _Cluster({"t": set(range(7))}))
    default = DefaultPartitioner()
    assert before == default.partition("t", key, key, None, None, _Cluster({"t": set(range(4))}))
    assert after == default.partition("t", key, key, None, None, _Cluster({"t": set(range(7))}))
