"""The strict reader on every Avro type, and its bounds against fastavro's own reader.

fastavro (measured, 1.13): a declared bytes length of 2**60 fails cleanly with
EOFError, but an array's item count is trusted, so a count over zero-size items
makes a few input bytes allocate a list of that many entries. The strict reader
checks every count against its cap and the remaining input before it builds
anything (docs/SCHEMAS.md).
"""

from __future__ import annotations

import io
import random
import tracemalloc
from collections.abc import Callable
from typing import Any

import fastavro
import pytest

from interchange.errors import DecodeError
from interchange.wire.strict import DecodeReason, Limits, StrictReader


def varint(n: int) -> bytes:
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def parse(schema: Any) -> dict[str, Any]:
    parsed = fastavro.parse_schema(schema)
    assert isinstance(parsed, dict)
    return parsed


def peak_bytes(fn: Callable[[], object]) -> int:
    """Peak of Python allocations while `fn` runs (its exception, if any, is swallowed)."""
    tracemalloc.start()
    try:
        fn()
    except Exception:
        pass
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


NULLS = parse(
    {
        "type": "record",
        "name": "R",
        "fields": [{"name": "a", "type": {"type": "array", "items": "null"}}],
    }
)


def test_an_array_count_is_bounded_before_any_item_is_read() -> None:
    """24,000,000 zero-size items in 5 bytes: fastavro builds the list, the reader refuses."""
    data = varint(24_000_000) + b"\x00"
    assert len(data) == 5
    assert peak_bytes(lambda: fastavro.schemaless_reader(io.BytesIO(data), NULLS)) > 150e6
    reader = StrictReader(NULLS, Limits(max_input=1 << 20))
    with pytest.raises(DecodeError) as excinfo:
        reader.read(data)
    assert excinfo.value.reason == DecodeReason.LIMIT_EXCEEDED
    assert peak_bytes(lambda: reader.read(data)) < 100_000


def test_a_count_within_the_cap_must_also_fit_the_remaining_input() -> None:
    schema = parse(
        {
            "type": "record",
            "name": "R",
            "fields": [{"name": "a", "type": {"type": "array", "items": "long"}}],
        }
    )
    reader = StrictReader(schema, Limits(max_input=1 << 22, max_items=10_000_000))
    data = varint(5_000_000) + b"\x00" * 1_000  # 5,000,000 longs need at least 5 MB
    with pytest.raises(DecodeError) as excinfo:
        reader.read(data)
    assert excinfo.value.reason == DecodeReason.TRUNCATED
    assert peak_bytes(lambda: reader.read(data)) < 100_000


def test_a_huge_declared_length_fails_cleanly_in_both() -> None:
    schema = parse({"type": "record", "name": "R", "fields": [{"name": "b", "type": "bytes"}]})
    data = varint(1 << 60) + b"x" * 8
    with pytest.raises(EOFError):
        fastavro.schemaless_reader(io.BytesIO(data), schema)
    with pytest.raises(DecodeError) as excinfo:
        StrictReader(schema, Limits(max_input=1 << 20)).read(data)
    assert excinfo.value.reason == DecodeReason.LIMIT_EXCEEDED


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


def mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    op = rng.randrange(4)
    if op == 0 and buf:
        buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
    elif op == 1:
        at = rng.randint(0, len(buf))
        buf[at:at] = rng.randbytes(rng.randint(1, 3))
    elif op == 2 and buf:
        buf[rng.randrange(len(buf))] = rng.choice([0x00, 0x01, 0x7F, 0x80, 0xFF])
    else:
        buf = buf[: rng.randint(0, len(buf))]
    return bytes(buf)


def test_every_avro_type_reads_like_fastavro_and_fails_only_with_decode_error() -> None:
    schema = parse(EVERY_TYPE)
    reader = StrictReader(schema, Limits(max_input=1 << 16, max_string=100, max_bytes=70,
                                         max_items=5, fields={"T.s": 6, "T.a": 2}))  # fmt: skip
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
        data = out.getvalue()
        assert reader.read(data) == fastavro.schemaless_reader(io.BytesIO(data), schema)
        valid.append(data)
    rng = random.Random(11)
    reasons: set[str] = set()
    for _ in range(20_000):
        data = mutate(rng, rng.choice(valid)) if rng.random() < 0.8 else rng.randbytes(40)
        try:
            reader.read(data)
        except DecodeError as exc:  # anything else escapes and fails the test
            reasons.add(exc.reason)
    assert DecodeReason.INTERNAL not in reasons
    assert {DecodeReason.TRUNCATED, DecodeReason.LIMIT_EXCEEDED} <= reasons


# -- proves_canonical: where the reader alone guarantees the one canonical encoding ----------


@pytest.mark.parametrize(
    "field_type",
    [
        "long",
        "string",
        ["null", "string"],
        {"type": "array", "items": "bytes"},
        {"type": "enum", "name": "E", "symbols": ["A", "B"]},
        {"type": "fixed", "name": "F", "size": 4},
    ],
)
def test_a_schema_with_one_encoding_per_value_proves_canonical(field_type: Any) -> None:
    schema = parse({"type": "record", "name": "R", "fields": [{"name": "f", "type": field_type}]})
    assert StrictReader(schema, Limits(max_input=1 << 16)).proves_canonical


@pytest.mark.parametrize(
    "field_type",
    [
        "double",  # NaN has many bit patterns
        "float",
        {"type": "map", "values": "long"},  # key order is free
        ["int", "long"],  # a writer puts a small long in the int branch
        ["null", "string", "bytes"],
    ],
)
def test_a_schema_with_a_second_encoding_does_not_prove_canonical(field_type: Any) -> None:
    schema = parse({"type": "record", "name": "R", "fields": [{"name": "f", "type": field_type}]})
    assert not StrictReader(schema, Limits(max_input=1 << 16)).proves_canonical


def test_every_schema_of_the_axis_proves_canonical() -> None:
    """The codec skips its re-encode check only on this proof (docs/SCHEMAS.md)."""
    from interchange.wire import codec

    readers = [v for k, v in vars(codec).items() if k.endswith("_READER")]
    assert len(readers) >= 7
    assert all(r.proves_canonical for r in readers)


# One-byte lengths are read inline (the common case); every refusal must stay the one
# `_length` gives, at the one-byte boundary too.
ONE_FIELD = {
    kind: parse({"type": "record", "name": "R", "fields": [{"name": "s", "type": kind}]})
    for kind in ("string", "bytes")
}


@pytest.mark.parametrize("kind", ["string", "bytes"])
@pytest.mark.parametrize(
    ("data", "cap", "reason"),
    [
        (b"", 64, DecodeReason.TRUNCATED),  # no length at all
        (varint(-1), 64, DecodeReason.BAD_LENGTH),  # a one-byte negative length
        (varint(5) + b"abcd", 64, DecodeReason.TRUNCATED),  # one byte short
        (varint(5) + b"abcde", 4, DecodeReason.LIMIT_EXCEEDED),  # above a cap below 63
        (varint(63) + b"a" * 62, 64, DecodeReason.TRUNCATED),  # the largest one-byte length
        (varint(64) + b"a" * 64, 63, DecodeReason.LIMIT_EXCEEDED),  # the first two-byte one
        # two-byte lengths are read in `_length` itself
        (varint(-65), 64, DecodeReason.BAD_LENGTH),  # the first two-byte negative length
        (b"\x82\x00" + b"a", 64, DecodeReason.NON_CANONICAL),  # length 1, overlong
        (varint(100) + b"a" * 99, 200, DecodeReason.TRUNCATED),
        (varint(100) + b"a" * 100, 99, DecodeReason.LIMIT_EXCEEDED),
    ],
)
def test_a_one_byte_length_is_refused_like_any_other(
    kind: str, data: bytes, cap: int, reason: DecodeReason
) -> None:
    reader = StrictReader(ONE_FIELD[kind], Limits(max_input=1024, max_string=cap, max_bytes=cap))
    with pytest.raises(DecodeError) as err:
        reader.read(data)
    assert err.value.reason == reason


@pytest.mark.parametrize("kind", ["string", "bytes"])
@pytest.mark.parametrize("size", [0, 1, 63, 64, 200, 8191, 8192])
def test_lengths_on_both_sides_of_one_and_two_bytes_read_like_fastavro(
    kind: str, size: int
) -> None:
    value: Any = "é" * (size // 2) + "a" * (size % 2) if kind == "string" else b"\x81" * size
    out = io.BytesIO()
    fastavro.schemaless_writer(out, ONE_FIELD[kind], {"s": value})
    reader = StrictReader(ONE_FIELD[kind], Limits(max_input=1 << 14))
    assert reader.read(out.getvalue()) == {"s": value}
    with pytest.raises(DecodeError) as err:
        reader.read(out.getvalue()[:-1])  # one byte short: the length runs past the input
    assert err.value.reason == DecodeReason.TRUNCATED


# Enum and union indexes and array counts of one byte are read inline too (and the end
# of an array's one block): at the one-byte boundary, each refusal is the general one.
INLINE = parse(
    {
        "type": "record",
        "name": "R",
        "fields": [
            {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["A", "B", "C"]}},
            {"name": "u", "type": ["null", "long"]},
            {"name": "a", "type": {"type": "array", "items": "long"}},
        ],
    }
)
E_OK, U_OK, A_OK = varint(2), varint(0), varint(0)
R = DecodeReason


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", DecodeReason.TRUNCATED),
        (varint(3) + U_OK + A_OK, DecodeReason.BAD_ENUM),  # past the last symbol
        (varint(-1) + U_OK + A_OK, DecodeReason.BAD_ENUM),  # a one-byte negative index
        (varint(63) + U_OK + A_OK, DecodeReason.BAD_ENUM),  # the largest one-byte index
        (varint(64) + U_OK + A_OK, DecodeReason.BAD_ENUM),  # the first two-byte one
        (b"\x84\x00" + U_OK + A_OK, DecodeReason.NON_CANONICAL),  # index 2, overlong
        (E_OK, DecodeReason.TRUNCATED),  # no union index
        (E_OK + varint(2) + A_OK, DecodeReason.BAD_UNION),
        (E_OK + varint(-1) + A_OK, DecodeReason.BAD_UNION),
        (E_OK + b"\x80\x00" + A_OK, DecodeReason.NON_CANONICAL),  # branch 0, overlong
        (E_OK + U_OK, DecodeReason.TRUNCATED),  # no array count
        (E_OK + U_OK + varint(4) + varint(1) * 4 + A_OK, DecodeReason.LIMIT_EXCEEDED),
        (E_OK + U_OK + varint(3) + varint(1) * 2, DecodeReason.TRUNCATED),  # no room for 3
        (E_OK + U_OK + varint(2) + varint(1) * 2, DecodeReason.TRUNCATED),  # no end of block
        # two blocks of one item each: valid Avro, not the canonical form
        (E_OK + U_OK + varint(1) + varint(1) + varint(1) + varint(1) + A_OK, R.NON_CANONICAL),
        (E_OK + U_OK + varint(-1) + varint(1) + A_OK, DecodeReason.NON_CANONICAL),
        (E_OK + U_OK + b"\x80\x00", DecodeReason.NON_CANONICAL),  # empty, overlong count
        (E_OK + U_OK + b"\x82\x00" + varint(1) + A_OK, DecodeReason.NON_CANONICAL),
    ],
)
def test_a_one_byte_index_or_count_is_refused_like_any_other(
    data: bytes, reason: DecodeReason
) -> None:
    reader = StrictReader(INLINE, Limits(max_input=1024, max_items=3))
    with pytest.raises(DecodeError) as err:
        reader.read(data)
    assert err.value.reason == reason


def test_one_byte_indexes_and_counts_read_like_fastavro() -> None:
    reader = StrictReader(INLINE, Limits(max_input=1024, max_items=3))
    values: list[dict[str, Any]] = [
        {"e": "A", "u": None, "a": []},
        {"e": "C", "u": 5, "a": [1, -64, 63]},
        {"e": "B", "u": -65, "a": [1 << 40]},
    ]
    for value in values:
        out = io.BytesIO()
        fastavro.schemaless_writer(out, INLINE, value)
        assert reader.read(out.getvalue()) == value


def test_a_record_reads_its_one_byte_fields_inline_with_the_same_refusals() -> None:
    """A record reads a string of one-byte length, an enum index and an int of one byte
    itself; invalid UTF-8, an overlong or out-of-range int go to the field's reader."""
    schema = parse(
        {
            "type": "record",
            "name": "R",
            "fields": [{"name": "s", "type": "string"}, {"name": "i", "type": "int"}],
        }
    )
    reader = StrictReader(schema, Limits(max_input=1024))
    assert reader.read(varint(2) + "é".encode() + varint(-64)) == {"s": "é", "i": -64}
    assert reader.read(varint(0) + varint(1 << 20)) == {"s": "", "i": 1 << 20}
    cases = {
        varint(2) + b"\xc3\x28" + varint(0): DecodeReason.BAD_UTF8,  # a cut sequence
        varint(1) + b"\xed" + varint(0): DecodeReason.BAD_UTF8,
        varint(0): DecodeReason.TRUNCATED,  # no int
        varint(0) + b"\x80\x00": DecodeReason.NON_CANONICAL,  # 0, overlong
        varint(0) + varint(1 << 31): DecodeReason.BAD_VARINT,  # above 32 bits
    }
    for data, reason in cases.items():
        with pytest.raises(DecodeError) as err:
            reader.read(data)
        assert err.value.reason == reason, data


def test_the_null_branch_of_a_union_is_read_inline_wherever_it_is() -> None:
    schema = parse(
        {"type": "record", "name": "R", "fields": [{"name": "n", "type": ["long", "null"]}]}
    )
    reader = StrictReader(schema, Limits(max_input=64))
    assert reader.read(varint(1)) == {"n": None}
    assert reader.read(varint(0) + varint(-3)) == {"n": -3}
    cases = {
        b"\x82\x00": DecodeReason.NON_CANONICAL,  # branch 1, overlong
        varint(2): DecodeReason.BAD_UNION,
        varint(0): DecodeReason.TRUNCATED,  # the long branch, no long
        varint(1) + b"\x00": DecodeReason.TRAILING_BYTES,
    }
    for data, reason in cases.items():
        with pytest.raises(DecodeError) as err:
            reader.read(data)
        assert err.value.reason == reason, data


# ---- building the caller's values as the reader reads -------------------------------------

TREE: Any = {
    "type": "record",
    "name": "R",
    "fields": [
        {"name": "n", "type": "int"},
        {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["A", "B", "C"]}},
        {"name": "kids", "type": {"type": "array", "items": "R"}},
        {
            "name": "leaf",
            "type": [
                "null",
                {"type": "record", "name": "Leaf", "fields": [{"name": "s", "type": "string"}]},
            ],
        },
        {"name": "last", "type": "E"},
    ],
}


def _as_built(value: Any) -> Any:
    """The dict reader's value of TREE as the constructors below build it."""
    leaf = value["leaf"]
    return (
        "R",
        value["n"],
        f"e{value['e']}",
        [_as_built(kid) for kid in value["kids"]],
        None if leaf is None else ("Leaf", leaf["s"]),
        f"e{value['last']}",
    )


def test_constructors_and_enum_values_stand_for_dicts_and_symbols() -> None:
    """With a constructor per record (a recursive one too) and a value per enum symbol,
    the reader builds those, fields by position; on any input it accepts what the dict
    reader accepts and refuses with the same reason and detail."""
    schema = parse(TREE)
    limits = Limits(max_input=1 << 12)
    plain = StrictReader(schema, limits)
    built = StrictReader(
        schema,
        limits,
        {"R": lambda *fields: ("R", *fields), "Leaf": lambda s: ("Leaf", s)},
        {"E": ["eA", "eB", "eC"]},
    )
    leaf = {"n": -1, "e": "C", "kids": [], "leaf": {"s": "ủy"}, "last": "A"}
    values = [leaf, {"n": 7, "e": "B", "kids": [leaf, leaf], "leaf": None, "last": "C"}]
    rng = random.Random(13)
    outcomes = set()
    for value in values:
        out = io.BytesIO()
        fastavro.schemaless_writer(out, schema, value)
        data = out.getvalue()
        assert built.read(data) == _as_built(value)
        for case in [data] + [mutate(rng, data) for _ in range(500)]:
            try:
                want: Any = ("value", _as_built(plain.read(case)))
            except DecodeError as exc:
                want = ("refused", exc.reason, exc.detail)
            try:
                got: Any = ("value", built.read(case))
            except DecodeError as exc:
                got = ("refused", exc.reason, exc.detail)
            assert got == want, case.hex()
            outcomes.add(got[0] if got[0] == "value" else got[1])
    assert {"value", DecodeReason.TRUNCATED, DecodeReason.BAD_ENUM} <= outcomes


def test_the_root_constructor_runs_after_every_check_of_the_bytes() -> None:
    """It may check across fields: whatever it refuses comes after a cut, a bad value
    or trailing bytes anywhere in the input, which the reader refuses first."""
    schema = parse(
        {
            "type": "record",
            "name": "P",
            "fields": [{"name": "a", "type": "int"}, {"name": "b", "type": "string"}],
        }
    )
    calls: list[tuple[int, str]] = []

    def refuse(a: int, b: str) -> None:
        calls.append((a, b))
        raise DecodeError(DecodeReason.BAD_VALUE, "refused")

    reader = StrictReader(schema, Limits(max_input=64), {"P": refuse})
    valid = b"\x02\x02x"
    for data, reason in [
        (valid, DecodeReason.BAD_VALUE),
        (valid + b"\x00", DecodeReason.TRAILING_BYTES),
        (valid[:-1], DecodeReason.TRUNCATED),
        (b"\x02\x02\xff", DecodeReason.BAD_UTF8),
    ]:
        with pytest.raises(DecodeError) as excinfo:
            reader.read(data)
        assert excinfo.value.reason == reason
    assert calls == [(1, "x")]


def test_enum_values_must_match_the_symbols() -> None:
    schema = parse(TREE)
    with pytest.raises(ValueError, match="E: 2 values"):
        StrictReader(schema, Limits(max_input=64), enums={"E": ["eA", "eB"]})
