"""wire.partitioner is Kafka's default partitioner: same hash, same partition as kafka-python."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kafka.partitioner.default import DefaultPartitioner
from kafka.partitioner.default import murmur2 as kafka_murmur2

from interchange.wire.partitioner import murmur2, partition_of


@given(st.binary(max_size=64))
def test_murmur2_equals_kafka_pythons(data: bytes) -> None:
    assert murmur2(data) == kafka_murmur2(data) & 0xFFFFFFFF


@given(st.text(max_size=40), st.integers(min_value=1, max_value=64))
def test_partition_equals_the_default_partitioners(key: str, partitions: int) -> None:
    raw = key.encode()
    every = set(range(partitions))

    class Cluster:
        def topics(self) -> set[str]:
            return {"t"}

        def partitions_for_topic(self, _topic: str) -> set[int]:
            return every

        def available_partitions_for_topic(self, _topic: str) -> set[int]:
            return every

    kafka = DefaultPartitioner().partition("t", key, raw, b"", b"", Cluster())
    assert partition_of(raw, partitions) == kafka


def test_known_values_of_the_java_client() -> None:
    # Values from the Java client's own test (org.apache.kafka.common.utils.UtilsTest):
    # murmur2("21") = -973932308, murmur2("foobar") = -790332482, signed 32-bit.
    assert murmur2(b"21") == -973932308 & 0xFFFFFFFF
    assert murmur2(b"foobar") == -790332482 & 0xFFFFFFFF


def test_a_topic_has_at_least_one_partition() -> None:
    with pytest.raises(ValueError, match="at least one partition"):
        partition_of(b"x", 0)
