"""A compiled writer of schemaless Avro binary for the records the stages send most.

fastavro's `schemaless_writer` costs a few microseconds of fixed overhead per field
it writes: a status record (nine fields) took ~5 µs on an idle core and far more on
a loaded one, five times per delivery in the recipients (docs/BENCHMARKS.md,
"Fourth session"). This writer compiles a parsed schema once into closures that
append to one `bytearray`, like `avro_strict.StrictReader` reads. It covers the
types the axis's hot records use (null, boolean, int, long, string, bytes, enum,
fixed, record, array, and unions of null with one other branch); a schema with
anything else is refused at compile time, and its records stay with fastavro.

Its output is fastavro's, byte for byte (tests/unit/test_avro_writer.py compares
them on generated records of every schema it writes); fastavro stays the
reference. It is stricter on values that do not fit: an int or long outside its
range, a fixed of the wrong size, a missing field or an unknown enum symbol
raises `ValueError`, `TypeError` or `KeyError` (the codec wraps them in
`EncodeError`), so it never writes what the strict reader would refuse.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Writer = Callable[[bytearray, Any], None]

_INT_MIN, _INT_MAX = -(1 << 31), (1 << 31) - 1
_LONG_MIN, _LONG_MAX = -(1 << 63), (1 << 63) - 1
_BYTES_LIKE = (bytes, bytearray, memoryview)


def _varint(out: bytearray, n: int) -> None:
    """Append the zigzag varint of `n` (already range-checked by the caller)."""
    n = (n << 1) ^ (n >> 63)
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _integer(lo: int, hi: int, what: str) -> Writer:
    def write(out: bytearray, value: Any) -> None:
        if not isinstance(value, int):
            raise TypeError(f"{what}: {type(value).__name__} is not an integer")
        if not lo <= value <= hi:
            raise ValueError(f"{what}: {value} out of range")
        _varint(out, value)

    return write


def _write_null(out: bytearray, value: Any) -> None:
    if value is not None:
        raise TypeError(f"null field given {type(value).__name__}")


def _write_boolean(out: bytearray, value: Any) -> None:
    out.append(1 if value else 0)  # as fastavro


def _write_string(out: bytearray, value: Any) -> None:
    if not isinstance(value, str):
        raise TypeError(f"string field given {type(value).__name__}")
    data = value.encode()
    _varint(out, len(data))
    out += data


def _write_bytes(out: bytearray, value: Any) -> None:
    if not isinstance(value, _BYTES_LIKE):
        raise TypeError(f"bytes field given {type(value).__name__}")
    _varint(out, len(value))
    out += value


def _fixed(size: int, what: str) -> Writer:
    def write(out: bytearray, value: Any) -> None:
        if not isinstance(value, _BYTES_LIKE) or len(value) != size:
            raise ValueError(f"{what}: not {size} bytes")
        out += value

    return write


def _enum(symbols: list[str], what: str) -> Writer:
    index = {s: i for i, s in enumerate(symbols)}

    def write(out: bytearray, value: Any) -> None:
        try:
            i = index[value]
        except (KeyError, TypeError):
            raise ValueError(f"{what}: {value!r} is not one of its symbols") from None
        _varint(out, i)

    return write


def _nullable(branch: Writer, null_first: bool) -> Writer:
    null_tag, value_tag = (0, 2) if null_first else (2, 0)  # zigzag of 0 and 1

    def write(out: bytearray, value: Any) -> None:
        if value is None:
            out.append(null_tag)
        else:
            out.append(value_tag)
            branch(out, value)

    return write


def _array(item: Writer) -> Writer:
    def write(out: bytearray, value: Any) -> None:
        if value:
            _varint(out, len(value))
            for v in value:
                item(out, v)
        out.append(0)

    return write


def _record(fields: list[tuple[str, Writer]]) -> Writer:
    def write(out: bytearray, value: Any) -> None:
        for name, field_writer in fields:
            field_writer(out, value[name])

    return write


_PRIMITIVES: dict[str, Writer] = {
    "null": _write_null,
    "boolean": _write_boolean,
    "int": _integer(_INT_MIN, _INT_MAX, "int"),
    "long": _integer(_LONG_MIN, _LONG_MAX, "long"),
    "string": _write_string,
    "bytes": _write_bytes,
}


class _Compiler:
    def __init__(self, named: Mapping[str, Any]) -> None:
        self._named = named
        self._writers: dict[str, Writer] = {}

    def compile(self, schema: Any, where: str) -> Writer:  # noqa: PLR0911 (one arm per type)
        if isinstance(schema, list):
            others = [s for s in schema if s != "null"]
            if len(schema) != 2 or len(others) != 1:
                raise ValueError(f"{where}: only a union of null and one type is compiled")
            return _nullable(self.compile(others[0], where), schema[0] == "null")
        if isinstance(schema, str):
            if schema in _PRIMITIVES:
                return _PRIMITIVES[schema]
            if schema in self._named:
                return self._named_writer(schema)
            raise ValueError(f"{where}: unsupported type {schema!r}")
        kind = schema["type"]
        if kind == "record":
            return self._named_writer(schema["name"], schema)
        if kind == "enum":
            return _enum(list(schema["symbols"]), where)
        if kind == "fixed":
            return _fixed(int(schema["size"]), where)
        if kind == "array":
            return _array(self.compile(schema["items"], where + "[]"))
        if isinstance(kind, str) and kind in _PRIMITIVES:
            return _PRIMITIVES[kind]
        raise ValueError(f"{where}: unsupported type {kind!r}")

    def _named_writer(self, name: str, schema: Any = None) -> Writer:
        if name in self._writers:
            return self._writers[name]
        schema = self._named[name] if schema is None else schema
        if schema["type"] != "record":
            writer = self.compile({k: v for k, v in schema.items() if k != "name"}, name)
            self._writers[name] = writer
            return writer
        cell: list[Writer] = []

        def forward(out: bytearray, value: Any) -> None:  # a recursive record
            cell[0](out, value)

        self._writers[name] = forward
        fields = [
            (f["name"], self.compile(f["type"], f"{name}.{f['name']}")) for f in schema["fields"]
        ]
        cell.append(_record(fields))
        self._writers[name] = cell[0]
        return cell[0]


class CompiledWriter:
    """Writes values of one parsed record schema as fastavro's `schemaless_writer` does."""

    def __init__(self, parsed_schema: Mapping[str, Any]) -> None:
        compiler = _Compiler(parsed_schema.get("__named_schemas", {}))
        self._root = compiler.compile(dict(parsed_schema), "")

    def write(self, value: Any) -> bytes:
        """The encoding of `value`; ValueError, TypeError or KeyError when it does not fit."""
        out = bytearray()
        self._root(out, value)
        return bytes(out)
