"""A strict, bounded reader of schemaless Avro binary for untrusted bytes.

fastavro's reader trusts its input: a hostile length makes it allocate
gigabytes, and truncated or garbled input surfaces as IndexError, EOFError,
UnicodeDecodeError, OverflowError or MemoryError. This reader walks a schema
parsed by `fastavro.parse_schema` and checks every length against a cap and the
remaining input *before* slicing. The walk is written once per (schema, limits) as
Python source (`strict_gen`: every value read inline, a function only for a record
that can contain itself) and compiled here, so a read makes no call per value. A
value's common case (a one- or two-byte length, a one-byte index or count) is a few
byte tests inline; anything else, and so every refusal, goes to the helpers below,
which check it in full: the refusals and their order are those helpers'. It yields
the same plain values as fastavro (dicts, lists, enum symbols), or, given a constructor
per record and a value per enum symbol, the caller's own values built as it reads; it
raises only `DecodeError`, whose `reason` is a `DecodeReason`.

It also refuses what a canonical writer never produces (overlong varints,
negative-count or multiple array blocks, booleans other than 0/1). For a schema
whose every value has one encoding the reader can check (no float or double, no
map, no union with two non-null branches: `StrictReader.proves_canonical`), what
it accepts is therefore the canonical encoding of what it returns, and the codec
skips its fastavro re-encode check; for any other schema the codec keeps it.
"""

from __future__ import annotations

import enum
import hashlib
import linecache
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from interchange.errors import DecodeError
from interchange.wire import strict_gen


class DecodeReason(enum.StrEnum):
    """Machine-readable `DecodeError.reason` values (see docs/SCHEMAS.md)."""

    NOT_BYTES = "NOT_BYTES"  # input is not bytes-like
    TOO_LARGE = "TOO_LARGE"  # input above the size cap, checked before decoding
    TRUNCATED = "TRUNCATED"  # input ends inside a value, or a length exceeds what is left
    TRAILING_BYTES = "TRAILING_BYTES"  # bytes left after the top-level record
    BAD_VARINT = "BAD_VARINT"  # longer than 10 bytes, or out of the int/long range
    NON_CANONICAL = "NON_CANONICAL"  # valid Avro, but not the one canonical encoding
    BAD_LENGTH = "BAD_LENGTH"  # negative string/bytes length
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"  # a string, bytes or array above its cap
    BAD_BOOLEAN = "BAD_BOOLEAN"  # boolean byte other than 0 or 1
    BAD_ENUM = "BAD_ENUM"  # enum index out of range
    BAD_UNION = "BAD_UNION"  # union branch index out of range
    BAD_UTF8 = "BAD_UTF8"  # string is not valid UTF-8
    BAD_DATE = "BAD_DATE"  # a date field is not a valid ISO yyyy-MM-dd
    BAD_DIGEST = "BAD_DIGEST"  # attachment sha256 does not match its content
    BAD_VALUE = "BAD_VALUE"  # another semantic check failed (e.g. cert_id format)
    INTERNAL = "INTERNAL"  # an unexpected exception, wrapped; a bug if it ever shows


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps applied while reading. `fields` overrides per "Record.field" (unqualified names)."""

    max_input: int
    max_string: int = 64 * 1024
    max_bytes: int = 64 * 1024
    max_items: int = 1_000
    fields: Mapping[str, int] = field(default_factory=dict)


Reader = Callable[[bytes, int], tuple[Any, int]]

_MAX_VARINT_BYTES = 10
_INT_MIN, _INT_MAX = -(1 << 31), (1 << 31) - 1
_LONG_MIN, _LONG_MAX = -(1 << 63), (1 << 63) - 1
_BYTES_LIKE = (bytes, bytearray, memoryview)  # built once, not a union per call
_FLOAT = struct.Struct("<f")
_DOUBLE = struct.Struct("<d")


def _fail(reason: DecodeReason, detail: str) -> DecodeError:
    return DecodeError(reason, detail)


def _read_varint(buf: bytes, pos: int, lo: int, hi: int) -> tuple[int, int]:
    """Read one zigzag varint and check it is minimal and within [lo, hi]."""
    if pos >= len(buf):
        raise _fail(DecodeReason.TRUNCATED, f"varint at {pos}")
    b = buf[pos]
    if b < 0x80:  # fast path: one byte
        return (b >> 1) ^ -(b & 1), pos + 1
    start = pos
    acc = 0
    shift = 0
    while True:
        if pos >= len(buf):
            raise _fail(DecodeReason.TRUNCATED, f"varint at {start}")
        b = buf[pos]
        pos += 1
        acc |= (b & 0x7F) << shift
        if not b & 0x80:
            break
        shift += 7
        if pos - start >= _MAX_VARINT_BYTES:
            raise _fail(DecodeReason.BAD_VARINT, f"varint at {start} longer than 10 bytes")
    if b == 0:
        raise _fail(DecodeReason.NON_CANONICAL, f"overlong varint at {start}")
    if acc >> 64:
        raise _fail(DecodeReason.BAD_VARINT, f"varint at {start} exceeds 64 bits")
    value = (acc >> 1) ^ -(acc & 1)
    if not lo <= value <= hi:
        raise _fail(DecodeReason.BAD_VARINT, f"varint at {start} out of range")
    return value, pos


def _read_long(buf: bytes, pos: int) -> tuple[int, int]:
    if pos < len(buf) and (b := buf[pos]) < 0x80:
        return (b >> 1) ^ -(b & 1), pos + 1
    return _read_varint(buf, pos, _LONG_MIN, _LONG_MAX)


def _length(buf: bytes, pos: int, cap: int, what: str) -> tuple[int, int]:
    """Read a string/bytes length; check sign, cap and remaining input before any slice."""
    if (
        pos + 1 < len(buf)
        and (b := buf[pos]) & 0x81 == 0x80  # continued, and even: not negative
        and 0 < (c := buf[pos + 1]) < 0x80  # ends here, not overlong
    ):  # a two-byte length (64 to 8,191: a signature, a cert id, a short document)
        n = ((b & 0x7F) | (c << 7)) >> 1
        pos += 2
    else:
        n, pos = _read_long(buf, pos)
    if n < 0:
        raise _fail(DecodeReason.BAD_LENGTH, f"{what}: negative length {n}")
    if n > cap:
        raise _fail(DecodeReason.LIMIT_EXCEEDED, f"{what}: length {n} above cap {cap}")
    if pos + n > len(buf):
        raise _fail(DecodeReason.TRUNCATED, f"{what}: length {n} beyond end of input")
    return n, pos


def _block_count(buf: bytes, pos: int, cap: int, min_size: int, what: str) -> tuple[int, int]:
    """Read the single block count a canonical writer emits, bounded before allocating."""
    n, pos = _read_long(buf, pos)
    if n < 0:
        raise _fail(DecodeReason.NON_CANONICAL, f"{what}: negative block count {n}")
    if n > cap:
        raise _fail(DecodeReason.LIMIT_EXCEEDED, f"{what}: {n} items above cap {cap}")
    if n * min_size > len(buf) - pos:
        raise _fail(DecodeReason.TRUNCATED, f"{what}: {n} items cannot fit the input")
    return n, pos


def _end_of_blocks(buf: bytes, pos: int, what: str) -> int:
    n, pos = _read_long(buf, pos)
    if n != 0:
        raise _fail(DecodeReason.NON_CANONICAL, f"{what}: more than one block")
    return pos


# What an out-of-range index is: of an enum symbol, or of a union branch.
_ENUM_INDEX = (DecodeReason.BAD_ENUM, "index")
_UNION_BRANCH = (DecodeReason.BAD_UNION, "branch")


def _index(
    buf: bytes, pos: int, count: int, what: str, kind: tuple[DecodeReason, str]
) -> tuple[int, int]:
    """Read an enum or union index (`kind`) and check it names one of `count` symbols or
    branches."""
    if pos < len(buf) and (b := buf[pos]) < 0x80:
        i, pos = (b >> 1) ^ -(b & 1), pos + 1
    else:
        i, pos = _read_varint(buf, pos, _INT_MIN, _INT_MAX)
    if not 0 <= i < count:
        reason, noun = kind
        raise _fail(reason, f"{what}: {noun} {i} not in 0..{count - 1}")
    return i, pos


# What the generated source may name (see `strict_gen`): the helpers above, and the
# reasons it raises itself.
_RUNTIME: dict[str, Any] = {
    "Any": Any,
    "_fail": _fail,
    "_varint": _read_varint,
    "_length": _length,
    "_index": _index,
    "_ENUM_INDEX": _ENUM_INDEX,
    "_UNION_BRANCH": _UNION_BRANCH,
    "_block_count": _block_count,
    "_end_of_blocks": _end_of_blocks,
    "_FLOAT": _FLOAT.unpack,
    "_DOUBLE": _DOUBLE.unpack,
    "_INT_MIN": _INT_MIN,
    "_INT_MAX": _INT_MAX,
    "_LONG_MIN": _LONG_MIN,
    "_LONG_MAX": _LONG_MAX,
    **{
        r.name: r
        for r in (
            DecodeReason.TRUNCATED,
            DecodeReason.BAD_BOOLEAN,
            DecodeReason.BAD_UTF8,
            DecodeReason.NON_CANONICAL,
            DecodeReason.TRAILING_BYTES,
        )
    },
}


class StrictReader:
    """Reads one top-level value of a parsed schema from untrusted bytes, or raises DecodeError.

    `proves_canonical`: every input `read` accepts is the one canonical encoding of the
    value it returns (minimal varints, one array block, 0/1 booleans, in-range enum and
    union indexes, exact lengths, strict UTF-8, nothing left over), because the schema
    has no construct with a second encoding of one value that the reader cannot see:
    no float or double, no map, no union with more than one non-null branch.

    `source`: the Python the reader runs (generated by `strict_gen`, compiled here once).

    `records` and `enums` (by full name) make it read a record as its constructor's
    result, given the record's field values in schema order, and an enum as the item of
    a sequence at its index, instead of a dict and a symbol (`strict_gen.generate`). The
    root record's constructor runs after every check of the bytes, trailing bytes
    included, so it may check across fields and raise DecodeError; any other must not
    raise. `proves_canonical` then holds of the value only if the constructors and
    sequences are one to one (the codec's are: each maps to one model value)."""

    def __init__(
        self,
        parsed_schema: Mapping[str, Any],
        limits: Limits,
        records: Mapping[str, Callable[..., Any]] | None = None,
        enums: Mapping[str, Sequence[Any]] | None = None,
    ) -> None:
        self.limits = limits
        namespace = dict(_RUNTIME)
        constructors: dict[str, str] = {}
        for i, (record, make) in enumerate((records or {}).items()):
            constructors[record] = f"_make{i}"
            namespace[f"_make{i}"] = make
        enum_values: dict[str, str] = {}
        named = parsed_schema.get("__named_schemas", {})
        for i, (enum_name, values) in enumerate((enums or {}).items()):
            if enum_name in named and len(values) != len(named[enum_name]["symbols"]):
                raise ValueError(f"{enum_name}: {len(values)} values for its symbols")
            enum_values[enum_name] = f"_values{i}"
            namespace[f"_values{i}"] = tuple(values)
        generated = strict_gen.generate(parsed_schema, limits, constructors, enum_values)
        self.source = generated.source
        self.proves_canonical = generated.proves_canonical
        name = str(parsed_schema.get("name", parsed_schema.get("type", "")))
        digest = hashlib.sha256(self.source.encode()).hexdigest()[:12]
        filename = f"<strict reader {name} {digest}>"
        # registered so a traceback through the reader shows its lines (one entry per
        # distinct source: building the same reader again adds nothing)
        linecache.cache[filename] = (len(self.source), None, self.source.splitlines(True), filename)
        exec(compile(self.source, filename, "exec"), namespace)  # noqa: S102 (our own source)
        self._root: Callable[[bytes], Any] = namespace[strict_gen.ROOT]

    def read(self, data: object) -> Any:
        """Decode `data`: every length is checked before use; all input must be consumed."""
        if not isinstance(data, _BYTES_LIKE):
            raise _fail(DecodeReason.NOT_BYTES, type(data).__name__)
        buf = bytes(data)
        if len(buf) > self.limits.max_input:
            raise _fail(
                DecodeReason.TOO_LARGE, f"{len(buf)} bytes above cap {self.limits.max_input}"
            )
        try:
            return self._root(buf)
        except RecursionError as exc:  # only a recursive schema can nest this deep
            raise _fail(DecodeReason.LIMIT_EXCEEDED, "nesting too deep") from exc
