"""Fetched batches inflate within a bound; a bomb becomes one stand-in record (no broker)."""

from __future__ import annotations

import gzip
import tracemalloc

import pytest
from kafka.record.default_records import DefaultRecordBatch, DefaultRecordBatchBuilder
from kafka.record.legacy_records import LegacyRecordBatch, LegacyRecordBatchBuilder

from interchange.kafka import bounded_records
from interchange.kafka.bounded_records import (
    MAX_INFLATED_BATCH_BYTES,
    RefusedBatchError,
    inflate,
    refusal,
)
from interchange.routing.outcomes import refused_batch
from interchange.wire.model import ReasonCode

GZIP, SNAPPY = 1, 2
BOMB = 64 * 1024 * 1024  # inflated size of the test bomb


@pytest.fixture(autouse=True, scope="module")
def installed() -> None:
    bounded_records.install()


def v2_batch(values: list[bytes], codec: int = GZIP, base: int = 100) -> DefaultRecordBatch:
    builder = DefaultRecordBatchBuilder(
        magic=2, compression_type=codec, is_transactional=0, producer_id=-1,
        producer_epoch=-1, base_sequence=-1, batch_size=1 << 30,
    )  # fmt: skip
    for i, value in enumerate(values):
        builder.append(i, timestamp=1_000, key=b"k", value=value, headers=[])
    buffer = builder.build()
    buffer[0:8] = base.to_bytes(8, "big")  # base offset (outside the CRC)
    return DefaultRecordBatch(bytes(buffer))


def test_gzip_within_the_bound_inflates_unchanged() -> None:
    data = b"abc" * 100_000
    assert inflate(GZIP, gzip.compress(data)) == data
    assert inflate(GZIP, gzip.compress(data[:10]) + gzip.compress(data[10:])) == data


def test_a_gzip_bomb_is_refused_with_bounded_memory() -> None:
    bomb = gzip.compress(bytes(BOMB), compresslevel=9)
    assert len(bomb) < BOMB // 500
    tracemalloc.start()
    try:
        with pytest.raises(RefusedBatchError, match="inflates beyond"):
            inflate(GZIP, bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * MAX_INFLATED_BATCH_BYTES


@pytest.mark.parametrize(
    ("codec", "data", "why"),
    [
        (GZIP, gzip.compress(b"x" * 1000)[:-12], "truncated"),
        (GZIP, b"not gzip at all", "does not inflate"),
        (SNAPPY, b"\0" * 10, "codec refused"),
    ],
)
def test_corrupt_or_unboundable_input_is_refused(codec: int, data: bytes, why: str) -> None:
    with pytest.raises(RefusedBatchError, match=why):
        inflate(codec, data)


def test_a_v2_bomb_batch_yields_one_stand_in_record_at_its_last_offset() -> None:
    batch = v2_batch([b"a", bytes(BOMB), b"c"])
    assert batch.validate_crc()
    records = list(batch)
    assert [r.offset for r in records] == [102]
    reason = refusal(records[0].key, records[0].value)
    assert reason is not None
    assert "gzip batch inflates beyond" in reason
    assert "records 100-102" in reason
    rejected = refused_batch(reason, 5)
    assert rejected.reason is ReasonCode.MALFORMED
    assert rejected.detail.startswith("envelope: refused batch: gzip batch inflates beyond")


def test_a_normal_v2_gzip_batch_reads_as_before() -> None:
    values = [b"a" * 1000, b"b" * 2000]
    records = list(v2_batch(values))
    assert [(r.offset, r.key, r.value) for r in records] == [
        (100 + i, b"k", v) for i, v in enumerate(values)
    ]
    assert all(refusal(r.key, r.value) is None for r in records)


def test_a_legacy_gzip_bomb_message_yields_one_stand_in() -> None:
    builder = LegacyRecordBatchBuilder(magic=1, compression_type=GZIP, batch_size=1 << 30)
    builder.append(0, timestamp=1_000, key=b"k", value=bytes(BOMB))
    builder.append(1, timestamp=1_000, key=b"k", value=b"x")
    buffer = builder.build()
    buffer[0:8] = (41).to_bytes(8, "big")  # the wrapper's offset = the last inner offset
    batch = LegacyRecordBatch(bytes(buffer), 1)
    records = list(batch)
    assert len(records) == 1
    assert records[0].validate_crc()
    assert records[0].offset == 41
    reason = refusal(records[0].key, records[0].value)
    assert reason is not None
    assert "gzip batch inflates beyond" in reason


def test_a_null_value_with_another_key_is_not_a_refusal() -> None:
    assert refusal(b"000.00.00.G22", None) is None
    assert refusal(bounded_records.REFUSED_KEY_PREFIX + b"x", b"value") is None
