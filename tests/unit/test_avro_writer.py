"""The compiled writer writes fastavro's bytes, and refuses what does not fit."""

from __future__ import annotations

import io
from typing import Any

import fastavro
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import documents, envelopes, rejections, status_messages

from interchange.core import codec
from interchange.core.avro_writer import CompiledWriter


def parse(schema: Any) -> dict[str, Any]:
    parsed = fastavro.parse_schema(schema)
    assert isinstance(parsed, dict)
    return parsed


def fastavro_bytes(schema: dict[str, Any], value: Any) -> bytes:
    out = io.BytesIO()
    fastavro.schemaless_writer(out, schema, value)
    return out.getvalue()


def as_value(schema: dict[str, Any], data: bytes) -> Any:
    """The value fastavro reads from `data`: the form both writers take."""
    return fastavro.schemaless_reader(io.BytesIO(data), schema, None)


CASES = [
    (codec.STATUS_SCHEMA, status_messages, codec.encode_status),
    (codec.ENVELOPE_SCHEMA, envelopes, codec.encode_envelope),
    (codec.DOCUMENT_SCHEMA, documents(), codec.encode_document),
    (codec.REJECTION_SCHEMA, rejections, codec.encode_rejection),
]


@pytest.mark.parametrize(("schema", "strategy", "encode"), CASES, ids=lambda c: "")
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_writes_fastavros_bytes_for_every_record_of_the_axis(
    schema: dict[str, Any], strategy: Any, encode: Any, data: st.DataObject
) -> None:
    record = data.draw(strategy)
    value = as_value(schema, encode(record))
    assert CompiledWriter(schema).write(value) == fastavro_bytes(schema, value)


@settings(max_examples=200, deadline=None)
@given(msg=status_messages)
def test_the_codec_encodes_statuses_and_envelopes_as_fastavro_would(msg: Any) -> None:
    data = codec.encode_status(msg)
    assert data == fastavro_bytes(codec.STATUS_SCHEMA, as_value(codec.STATUS_SCHEMA, data))
    assert codec.decode_status(data) == msg


@pytest.mark.parametrize(
    "field_type",
    [
        "double",
        "float",
        {"type": "map", "values": "long"},
        ["int", "long"],
        ["null", "string", "bytes"],
    ],
)
def test_a_type_outside_its_subset_is_refused_at_compile_time(field_type: Any) -> None:
    schema = parse({"type": "record", "name": "R", "fields": [{"name": "f", "type": field_type}]})
    with pytest.raises(ValueError, match=r"unsupported|union"):
        CompiledWriter(schema)


@pytest.mark.parametrize(
    ("field_type", "value", "error"),
    [
        ("long", 1 << 63, ValueError),
        ("long", -(1 << 63) - 1, ValueError),
        ("int", 1 << 31, ValueError),
        ("long", "1", TypeError),
        ("string", b"bytes", TypeError),
        ("bytes", "text", TypeError),
        ("bytes", 5, TypeError),  # never bytes(5): five zero bytes
        ({"type": "fixed", "name": "F", "size": 4}, b"abc", ValueError),
        ({"type": "enum", "name": "E", "symbols": ["A"]}, "B", ValueError),
    ],
)
def test_a_value_that_does_not_fit_raises(field_type: Any, value: Any, error: type) -> None:
    schema = parse({"type": "record", "name": "R", "fields": [{"name": "f", "type": field_type}]})
    with pytest.raises(error):
        CompiledWriter(schema).write({"f": value})


def test_a_missing_field_raises() -> None:
    schema = parse({"type": "record", "name": "R", "fields": [{"name": "f", "type": "long"}]})
    with pytest.raises(KeyError):
        CompiledWriter(schema).write({})


def test_extreme_longs_and_a_null_second_union_match_fastavro() -> None:
    schema = parse(
        {
            "type": "record",
            "name": "R",
            "fields": [
                {"name": "a", "type": "long"},
                {"name": "b", "type": ["string", "null"]},
                {"name": "c", "type": {"type": "array", "items": "int"}},
            ],
        }
    )
    for value in (
        {"a": (1 << 63) - 1, "b": None, "c": [-(1 << 31), (1 << 31) - 1, 0]},
        {"a": -(1 << 63), "b": "ü", "c": []},
    ):
        assert CompiledWriter(schema).write(value) == fastavro_bytes(schema, value)
