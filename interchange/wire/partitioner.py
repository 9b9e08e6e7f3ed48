"""Kafka's default partitioner for keyed records, without Kafka: which partition a key owns.

The router accepts a submission only on the partition its sender's key hashes
to (docs/ROUTER.md, "One partition per sender"), so it must compute exactly
what producers compute: the Java client's `Utils.murmur2` (MurmurHash2, seed
0x9747b28c), made positive with `& 0x7fffffff`, modulo the partition count.
kafka-python's `DefaultPartitioner` and librdkafka's `murmur2_random` give the
same partition. It is written out here because the pure packages never import
a Kafka client; tests/unit/test_partitioner.py cross-checks it against
kafka-python's own implementation.
"""

from __future__ import annotations

_SEED = 0x9747B28C
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """MurmurHash2 of `data` as Kafka computes it (an unsigned 32-bit value)."""
    length = len(data)
    h = (_SEED ^ length) & _MASK
    whole = length & ~3
    for i in range(0, whole, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    extra = length & 3
    if extra >= 3:
        h ^= data[whole + 2] << 16
    if extra >= 2:
        h ^= data[whole + 1] << 8
    if extra >= 1:
        h ^= data[whole]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h


def partition_of(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner gives `key` among `partitions` (>= 1)."""
    if partitions < 1:
        raise ValueError(f"a topic has at least one partition, not {partitions}")
    return (murmur2(key) & 0x7FFFFFFF) % partitions
