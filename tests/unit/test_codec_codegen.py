"""The generated strict reader (`avro_codegen`) against the closure walk it specialises.

Both must return the same value, or raise a DecodeError with the same reason and
detail, on every input: the codec's own schemas on valid and mutated records, and
a schema using every Avro type (recursion, maps, fixed, floats, wide unions and
enums) on random and mutated bytes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import random
from typing import Any

import fastavro
import pytest

from interchange.core import codec
from interchange.core.avro_strict import Limits, StrictReader
from interchange.core.model import (
    AgencyRef,
    Attachment,
    BusinessType,
    Document,
    DocumentType,
    Envelope,
    Hop,
    Priority,
    ReasonCode,
    Rejection,
    Secrecy,
    Signer,
    StatusCode,
    StatusMessage,
)
from interchange.errors import DecodeError


def outcome(reader: StrictReader, data: bytes) -> tuple[str, str]:
    """The value's repr (NaN != NaN, but reprs compare), or the error's reason and detail."""
    try:
        return "value", repr(reader.read(data))
    except DecodeError as exc:
        return "error", f"{exc.reason}: {exc.detail}"


def pair(schema: Any, limits: Limits) -> tuple[StrictReader, StrictReader]:
    return StrictReader(schema, limits), StrictReader(schema, limits, specialised=False)


def mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    op = rng.randrange(5)
    if op == 0 and buf:
        for _ in range(rng.randint(1, 3)):
            buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
    elif op == 1:
        at = rng.randint(0, len(buf))
        buf[at:at] = rng.randbytes(rng.randint(1, 3))
    elif op == 2 and buf:
        del buf[rng.randrange(len(buf))]
    elif op == 3 and buf:
        buf[rng.randrange(len(buf))] = rng.choice([0x00, 0x01, 0x02, 0x7F, 0x80, 0x81, 0xFF])
    else:
        buf = buf[: rng.randint(0, len(buf))]
    return bytes(buf)


def document(text_len: int, content_len: int, recipients: int, optional: bool) -> Document:
    content = bytes(range(256)) * (content_len // 256) + b"x" * (content_len % 256)
    return Document(
        id="000.00.00.H01,2024/01/02,1/UBND",
        sender=AgencyRef("000.00.00.H01", "Ủy ban nhân dân"),
        recipients=tuple(AgencyRef(f"000.00.{i:02d}.H01", "Xã") for i in range(recipients)),
        code_number="1",
        code_notation="UBND",
        promulgation_place="Vị Thanh",
        promulgation_date="2024-01-02",
        document_type=DocumentType.REPORT,
        subject="Về việc " * (text_len // 8),
        signer=Signer("Trần Văn B", "Chủ tịch", ""),
        priority=Priority.EXPRESS,
        secrecy=Secrecy.NONE,
        business_type=BusinessType.UPDATE,
        response_for="000.00.00.G22,2023/12/01,9/VPCP" if optional else None,
        due_date="2024-02-29" if optional else None,
        attachments=(Attachment("a", "b", hashlib.sha256(content).digest(), content),)
        * min(recipients, 2),
        send_time_us=1_700_000_000_123_456,
    )


def seeds() -> list[tuple[StrictReader, StrictReader, bytes]]:
    """Valid records of every codec schema; lengths of 1, 2 and 3 varint bytes."""
    doc_pair = pair(codec.DOCUMENT_SCHEMA, codec._DOCUMENT_READER.limits)
    env_pair = pair(codec.ENVELOPE_SCHEMA, codec._ENVELOPE_READER.limits)
    out = []
    for text_len, content_len, recipients, optional in [
        (16, 0, 0, False),
        (200, 1300, 1, True),
        (9000, 20000, 3, True),
    ]:
        d = codec.encode_document(document(text_len, content_len, recipients, optional))
        out.append((*doc_pair, d))
        hops = tuple(Hop(f"n{i}", i * 999_999) for i in range(recipients + 1))
        out.append((*env_pair, codec.encode_envelope(Envelope(d, b"\x07" * 64, "ab" * 32, hops))))
    status = StatusMessage("id", "s", "r", StatusCode.ARRIVED, 5, "detail")
    out.append(
        (*pair(codec.STATUS_SCHEMA, codec._STATUS_READER.limits), codec.encode_status(status))
    )
    rej = Rejection("id", "s", ReasonCode.REPLAY, "d", b"\x01" * 32, Secrecy.SECRET, "r", 1, 2)
    rpair = pair(codec.REJECTION_SCHEMA, codec._REJECTION_READER.limits)
    out.append((*rpair, codec.encode_rejection(rej)))
    out.append((*rpair, codec.encode_rejection(dataclasses.replace(rej, recipient=None))))
    return out


def test_codec_schemas_agree_on_valid_and_mutated_records() -> None:
    rng = random.Random(8)
    for fast, walk, data in seeds():
        assert outcome(fast, data) == outcome(walk, data)
        assert outcome(fast, data)[0] == "value"
        for cut in range(0, len(data), max(1, len(data) // 200)):
            assert outcome(fast, data[:cut]) == outcome(walk, data[:cut])
        for _ in range(3_000):
            bad = mutate(rng, data)
            if rng.random() < 0.2:
                bad = mutate(rng, bad)
            assert outcome(fast, bad) == outcome(walk, bad), bad.hex()


EVERY_TYPE: Any = {
    "type": "record",
    "name": "T",
    "fields": [
        {"name": "b", "type": "boolean"},
        {"name": "i", "type": "int"},
        {"name": "l", "type": "long"},
        {"name": "f", "type": "float"},
        {"name": "d", "type": "double"},
        {"name": "s", "type": "string"},
        {"name": "y", "type": "bytes"},
        {"name": "x", "type": {"type": "fixed", "name": "X", "size": 3}},
        {
            "name": "e",
            "type": {"type": "enum", "name": "E", "symbols": [f"S{i}" for i in range(70)]},
        },
        {"name": "e2", "type": "E"},
        {"name": "u", "type": ["null", "int", "string", "X"]},
        {"name": "m", "type": {"type": "map", "values": ["null", "long"]}},
        {"name": "a", "type": {"type": "array", "items": {"type": "array", "items": "string"}}},
        {"name": "next", "type": ["null", "T"]},
        {"name": "tail", "type": {"type": "array", "items": "T"}},
    ],
}


def test_every_avro_type_agrees_on_random_and_mutated_bytes() -> None:
    schema = fastavro.parse_schema(EVERY_TYPE)
    limits = Limits(max_input=1 << 16, max_string=100, max_bytes=70, max_items=5,
                    fields={"T.s": 6, "T.a": 2})  # fmt: skip
    fast, walk = pair(schema, limits)
    rng = random.Random(11)
    leaf = {"b": True, "i": -3, "l": 1 << 40, "f": 1.5, "d": -2.25, "s": "ủy", "y": b"\x00" * 65,
            "x": b"abc", "e": "S69", "e2": "S0", "u": "x", "m": {"k": 7, "z": None},
            "a": [["p", "q"], []], "next": None, "tail": []}  # fmt: skip
    values = [
        leaf,
        {**leaf, "u": None, "next": {**leaf, "u": 9}, "tail": [leaf]},
        {**leaf, "u": b"xyz", "s": "", "y": b"", "a": [], "m": {}},
    ]
    valid = []
    for value in values:
        out = io.BytesIO()
        fastavro.schemaless_writer(out, schema, value)
        valid.append(out.getvalue())
    for data in valid:
        assert outcome(fast, data) == outcome(walk, data)
    assert [outcome(fast, d)[0] for d in valid] == ["value"] * len(valid)
    for _ in range(20_000):
        data = mutate(rng, rng.choice(valid)) if rng.random() < 0.8 else rng.randbytes(40)
        assert outcome(fast, data) == outcome(walk, data), data.hex()


@pytest.mark.parametrize("depth", [3, 200_000])
def test_recursion_is_bounded_the_same_way(depth: int) -> None:
    schema = fastavro.parse_schema(
        {"type": "record", "name": "N", "fields": [{"name": "next", "type": ["null", "N"]}]}
    )
    fast, walk = pair(schema, Limits(max_input=1 << 20))
    data = b"\x02" * depth + b"\x00"
    assert outcome(fast, data) == outcome(walk, data)
