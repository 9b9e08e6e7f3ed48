"""The generated strict reader against the closure reader it replaced, input for input.

`strict_closures.py` (beside this file) is the reader as it was before it was generated;
for every schema of the axis (each current and older layout, with the codec's limits) and
for a schema of every Avro type (tight caps, recursion), both readers get the same valid
encodings and many broken ones: a cut at every offset, hostile bytes at every offset
(0x00, 0x01, 0x02, 0x7F, 0x80, 0xC3, 0xFF, a flipped bit: overlong and unterminated
varints, negative and huge lengths, invalid UTF-8, out-of-range indexes), an 11-byte
varint, a huge length and an overlong zero inserted at every offset, trailing bytes,
and seeded random mutations. Each must give the same value, or the same `DecodeReason`
with the same detail text.
"""

from __future__ import annotations

import io
import itertools
import random
from collections.abc import Iterator
from typing import Any

import fastavro
import pytest
from strict_closures import StrictReader as ClosureReader
from test_avro_strict import EVERY_TYPE, varint  # the strict reader's own schema of every Avro type

from interchange.axis.presets import DEFAULT_PRESET, build
from interchange.bench.calc import ALL_CONNECTED
from interchange.errors import DecodeError
from interchange.wire import codec
from interchange.wire.model import (
    Envelope,
    Hop,
    ReasonCode,
    Rejection,
    Secrecy,
    StaffInfo,
    StatusCode,
    StatusMessage,
)
from interchange.wire.strict import DecodeReason, Limits, StrictReader
from interchange.workload.generator import generate
from interchange.workload.spec import WorkloadSpec

Outcome = tuple[str, Any, str]


def outcome(reader: StrictReader | ClosureReader, data: bytes) -> Outcome:
    """("value", its repr, "") or ("refused", reason, detail); any other exception escapes.
    The repr tells a NaN equal to itself and -0.0 from 0.0, and shows the key order."""
    try:
        return "value", repr(reader.read(data)), ""
    except DecodeError as exc:
        return "refused", exc.reason, exc.detail


# -- the inputs -------------------------------------------------------------------------


def _documents() -> list[bytes]:
    """Workload documents: replies, revokes and replaces, due dates, several recipients,
    small attachments, the edXML header fields the generator fills in."""
    spec = WorkloadSpec(
        rate=100.0,
        count=16,
        attachment_mix={0: 0.3, 40: 0.4, 120: 0.3},
        recipients_mix={1: 0.6, 3: 0.3, 12: 0.1},
        reply_share=0.3,
    )
    directory = build(DEFAULT_PRESET, ALL_CONNECTED)
    out = [codec.encode_document(p.document) for p in generate(directory, spec, 7)]
    return sorted(set(out), key=len)


DOCUMENTS = _documents()
ENVELOPES = [
    codec.encode_envelope(
        Envelope(
            d, b"\x5a" * 64 * (i % 3), "ab" * 32, tuple(Hop(f"n{j}", j << 40) for j in range(i % 4))
        )
    )
    for i, d in enumerate(DOCUMENTS[:6])
]
STATUSES = [
    codec.encode_status(
        StatusMessage(
            "d,2024/01/01,1/X",
            "000.00.00.G22",
            "000.00.00.H01",
            code,
            1 << 50,
            detail,
            staff,
            online,
            due,
        )
    )
    for code, detail, staff, online, due in [
        (StatusCode.ARRIVED, "", None, None, None),
        (StatusCode.ACCEPTED, "ok", StaffInfo("Nguyễn Văn A", "Chuyên viên", "VP"), True, 7),
        (StatusCode.REJECTED, "x" * 200, None, False, -(1 << 62)),
    ]
]
REJECTIONS = [
    codec.encode_rejection(
        Rejection(
            "d,2024/01/01,1/X",
            "000.00.00.G22",
            ReasonCode.BAD_SIGNATURE,
            "detail",
            b"\x11" * 32,
            Secrecy.NONE,
            "000.00.00.H01",
            9,
            8,
            "t",
            3,
            1 << 33,
            True,
        )
    )
]

LEAF = {
    "b": True,
    "i": -3,
    "l": 1 << 40,
    "f": 1.5,
    "d": -2.25,
    "s": "ủy",
    "y": b"\x00" * 65,
    "x": b"abc",
    "e": "S69",
    "e2": "S0",
    "u": "x",
    "m": {"k": 7, "z": None},
    "a": [["p", "q"], []],
    "next": None,
    "tail": [],
}
EVERY_TYPE_VALUES = [
    LEAF,
    {**LEAF, "u": None, "next": {**LEAF, "u": 9}, "tail": [LEAF]},
    {**LEAF, "u": b"xyz", "s": "", "y": b"", "a": [], "m": {}},
]


def _every_type() -> tuple[dict[str, Any], list[bytes]]:
    schema = fastavro.parse_schema(EVERY_TYPE)
    assert isinstance(schema, dict)
    encoded = []
    for value in EVERY_TYPE_VALUES:
        out = io.BytesIO()
        fastavro.schemaless_writer(out, schema, value)
        encoded.append(out.getvalue())
    return schema, encoded


EVERY_SCHEMA, EVERY_ENCODED = _every_type()
RECORD_LIMITS = Limits(max_input=codec.MAX_RECORD_BYTES)

# name -> (schema, limits, valid encodings, each older layout's in that layout). The first
# and the last encoding of each (an older layout: the first) are swept at every offset,
# the others mutated at random.
SCHEMAS: dict[str, tuple[Any, Limits, list[bytes]]] = {
    "document": (codec.DOCUMENT_SCHEMA, codec._DOCUMENT_LIMITS, DOCUMENTS),
    "document-v5": (
        codec._DOCUMENT_V5_SCHEMA,
        codec._DOCUMENT_LIMITS,
        [codec._encode_v5(codec.decode_document(d)) for d in DOCUMENTS],
    ),
    "document-v4": (
        codec._DOCUMENT_V4_SCHEMA,
        codec._DOCUMENT_LIMITS,
        [codec._encode_v4(codec.decode_document(d)) for d in DOCUMENTS],
    ),
    "envelope": (codec.ENVELOPE_SCHEMA, codec._ENVELOPE_LIMITS, ENVELOPES),
    "envelope-v5": (
        codec._ENVELOPE_V5_SCHEMA,
        codec._ENVELOPE_LIMITS,
        [codec._encode_envelope_v5(codec.decode_envelope(e)) for e in ENVELOPES],
    ),
    "status": (codec.STATUS_SCHEMA, RECORD_LIMITS, STATUSES),
    "status-v1": (
        codec._status_v1_schema(),
        RECORD_LIMITS,
        [codec._encode_status_v1(codec.decode_status(m)) for m in STATUSES],
    ),
    "rejection": (codec.REJECTION_SCHEMA, RECORD_LIMITS, REJECTIONS),
    "rejection-v1": (
        codec._REJECTION_V1_SCHEMA,
        RECORD_LIMITS,
        [codec._encode_rejection_v1(codec.decode_rejection(r)) for r in REJECTIONS],
    ),
    "every-type": (
        EVERY_SCHEMA,
        Limits(
            max_input=1 << 16,
            max_string=100,
            max_bytes=70,
            max_items=5,
            fields={"T.s": 6, "T.a": 2, "T.a[]": 1},
        ),
        EVERY_ENCODED,
    ),
    # caps below one byte's reach and tiny inputs: the inline paths' own boundaries
    "every-type-tight": (
        EVERY_SCHEMA,
        Limits(max_input=400, max_string=2, max_bytes=0, max_items=1, fields={"T.a": 0}),
        EVERY_ENCODED,
    ),
}

HOSTILE_BYTES = (0x00, 0x01, 0x02, 0x7F, 0x80, 0xC3, 0xFF)
INSERTS = (b"\xff" * 10 + b"\x01", varint(1 << 60), b"\x80\x00", varint(-1), varint(64))


def sweep(data: bytes) -> Iterator[bytes]:
    """Every cut, hostile bytes and insertions at every offset, and trailing bytes."""
    for cut in range(len(data)):
        yield data[:cut]
    for at in range(len(data)):
        for byte in (*HOSTILE_BYTES, data[at] ^ (1 << (at % 8))):
            if byte != data[at]:
                yield data[:at] + bytes([byte]) + data[at + 1 :]
        for insert in INSERTS:
            yield data[:at] + insert + data[at:]
    yield data + b"\x00"
    yield data + data


def random_mutations(data: bytes, rng: random.Random, count: int) -> Iterator[bytes]:
    """`count` inputs, each with one to three bytes changed, inserted or deleted."""
    for _ in range(count):
        buf = bytearray(data)
        for _ in range(rng.randint(1, 3)):
            op = rng.randrange(3)
            if op == 0 and buf:
                buf[rng.randrange(len(buf))] = rng.randrange(256)
            elif op == 1:
                at = rng.randint(0, len(buf))
                buf[at:at] = rng.randbytes(rng.randint(1, 4))
            elif buf:
                at = rng.randrange(len(buf))
                del buf[at : at + rng.randint(1, 4)]
        yield bytes(buf)


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_the_generated_reader_reads_and_refuses_as_the_closure_reader(name: str) -> None:
    schema, limits, valid = SCHEMAS[name]
    new, old = StrictReader(schema, limits), ClosureReader(schema, limits)
    assert new.proves_canonical == old.proves_canonical
    rng = random.Random(name)
    swept = valid[:1] if name.endswith(("-v1", "-v4", "-v5")) else [valid[0], valid[-1]]
    seen: set[bytes] = set()
    reasons: set[str] = set()
    accepted = 0
    for data in valid:
        cases = itertools.chain(
            [data], sweep(data) if data in swept else (), random_mutations(data, rng, 200)
        )
        for case in cases:
            if case in seen:
                continue
            seen.add(case)
            got, want = outcome(new, case), outcome(old, case)
            assert got == want, (name, case.hex())
            if got[0] == "value":
                accepted += 1
            else:
                reasons.add(got[1])
    assert accepted >= len(valid)
    assert DecodeReason.INTERNAL not in reasons
    # the sweep reached past the first byte: refusals of several kinds were compared
    assert {DecodeReason.TRUNCATED, DecodeReason.TRAILING_BYTES} <= reasons
    assert len(reasons) >= 5, reasons


def test_both_readers_bound_deep_recursion_alike() -> None:
    schema = fastavro.parse_schema(
        {"type": "record", "name": "Node", "fields": [{"name": "next", "type": ["null", "Node"]}]}
    )
    assert isinstance(schema, dict)
    limits = Limits(max_input=1 << 20)
    data = b"\x02" * 200_000 + b"\x00"
    got = outcome(StrictReader(schema, limits), data)
    assert got == outcome(ClosureReader(schema, limits), data)
    assert got[:2] == ("refused", DecodeReason.LIMIT_EXCEEDED)


def test_every_axis_reader_is_generated_source() -> None:
    """What the codec runs is the generated reader: a record is read inline where it
    occurs, and only a record that can contain itself gets a function of its own."""
    readers = [v for k, v in vars(codec).items() if k.endswith("_READER")]
    assert len(readers) >= 7
    assert all(isinstance(r, StrictReader) for r in readers)
    source = codec._DOCUMENT_READER.source
    for record in ("Document", "AgencyRef", "Signer", "Attachment", "Business", "OrganDetail"):
        assert f"# record vn.interchange.{record}\n" in source
    assert source.count("def ") == 1  # read_root: no schema of the axis is recursive
    recursive = StrictReader(EVERY_SCHEMA, Limits(max_input=64)).source
    assert recursive.count("def _read_T(") == 1
    assert "_read_T(buf, pos, size)" in recursive
