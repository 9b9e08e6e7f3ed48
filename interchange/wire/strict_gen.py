"""Python source of a strict Avro reader for one (parsed schema, limits), written once.

`strict.StrictReader` compiles what `generate` returns and runs it for every read. The
source has a root, `read_root(buf) -> value`, which reads every field inline, in schema
order: varints, lengths, strings, bytes, enums, union indexes, array counts and items,
and a record inline where it occurs. Only a record that can contain itself gets a
function of its own (`_read_<Name>(buf, pos, size) -> (value, pos)`), one call per level
of nesting; no schema of the axis has one. A record becomes a dict of its fields, or,
where the caller names a constructor for it, that constructor's call with the fields'
values by position (the codec builds its model this way, no dict in between); an enum
becomes its symbol, or the item at its index of a sequence the caller names. The
common case of each value is a few byte tests; anything else, and so every refusal,
goes to a helper of `strict` that checks it in full (`_varint`, `_length`, `_index`,
`_block_count`, `_end_of_blocks`), so the checks, their order and the `DecodeReason`
of each refusal are those helpers' (docs/SCHEMAS.md, "Strict decoding").

Names the source uses and `strict` provides: `buf`, `pos`, `size` (the input, the read
position, `len(buf)`); the helpers above and `_fail`; `_FLOAT`/`_DOUBLE` (struct
unpackers); `_INT_MIN`.. `_LONG_MAX`; `_ENUM_INDEX`, `_UNION_BRANCH` (which index
`_index` reads); the reasons it raises itself (`TRUNCATED`, `BAD_BOOLEAN`, `BAD_UTF8`,
`NON_CANONICAL`, `TRAILING_BYTES`). `StrictReader(...).source` shows what a schema
becomes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from interchange.wire.strict import Limits

ROOT = "read_root"
_ONE_BYTE_MAX = 63  # the largest non-negative value a one-byte zigzag varint holds


@dataclass(frozen=True, slots=True)
class Generated:
    """What `generate` gives: the source, and whether the schema proves canonical form
    (see `strict.StrictReader.proves_canonical`)."""

    source: str
    proves_canonical: bool


def generate(
    parsed_schema: Mapping[str, Any],
    limits: Limits,
    constructors: Mapping[str, str] | None = None,
    enum_values: Mapping[str, str] | None = None,
) -> Generated:
    """The reader's source for a schema parsed by `fastavro.parse_schema`.

    Without `constructors` and `enum_values` it reads a record as a dict of its fields
    and an enum as its symbol. `constructors` maps a record's full name to the name of
    a callable in the reader's namespace: that record is read as what the callable
    returns given its fields' values, positionally, in schema order. `enum_values` maps
    an enum's full name to the name of a sequence there: the enum is read as the item
    at its index. A name the schema does not have is ignored (an older layout may lack
    a record). The root record's constructor is called last, once the input is known to
    end where the record does, so whatever it checks comes after every check of the
    bytes; every other constructor is called where its record ends."""
    gen = _Generator(
        parsed_schema.get("__named_schemas", {}), limits, constructors or {}, enum_values or {}
    )
    root = [f"def {ROOT}(buf: bytes) -> Any:"]
    out = _Out(root)
    out.add(
        '"""The whole input: one top-level value, then nothing."""', "size = len(buf)", "pos = 0"
    )
    name = str(parsed_schema.get("name", ""))
    value = "value"
    if (
        parsed_schema.get("type") == "record"
        and name in gen.constructors
        and not gen.recursive(name)
    ):
        out.add(f"# record {name}", "# (its constructor is called once nothing follows it)")
        value = gen.fields(name, parsed_schema, "r0_", out)
    else:
        gen.value(dict(parsed_schema), "", value, out)
    out.add(
        "if pos != size:",
        '    raise _fail(TRAILING_BYTES, f"{size - pos} bytes after the record")',
        f"return {value}",
    )
    parts = ["\n".join(lines) for lines in (*gen.constants, *gen.functions, root)]
    return Generated("\n\n\n".join(parts) + "\n", gen.proves_canonical)


class _Out:
    """The lines of one function, and the indentation of what is added to them now."""

    def __init__(self, lines: list[str], indent: str = "    ") -> None:
        self.lines = lines
        self.indent = indent

    def add(self, *lines: str) -> None:
        self.lines.extend(self.indent + line for line in lines)

    def inner(self) -> _Out:
        """The same function, one level deeper."""
        return _Out(self.lines, self.indent + "    ")


class _Generator:
    """Walks the schema as the reader will, appending each value's code to a function.

    `value(schema, where, target, out)` appends to `out` the
    lines that read one value at `pos` into the local `target` and advance `pos`. `where`
    names the value for the caps (`Limits.fields`) and the refusal details: "Record.field",
    "[]" appended for array items, "{}" for map keys and values, a named type referred to
    by name its full name."""

    def __init__(
        self,
        named: Mapping[str, Any],
        limits: Limits,
        constructors: Mapping[str, str],
        enum_values: Mapping[str, str],
    ) -> None:
        self._named = named
        self._limits = limits
        self.constructors = constructors
        self._enum_values = enum_values
        self._records: dict[str, str] = {}  # full record name -> its function's name
        self._symbols: dict[tuple[str, ...], str] = {}  # enum symbols -> their constant
        self._count = 0
        self.constants: list[list[str]] = []
        self.functions: list[list[str]] = []
        # False once a construct is met whose accepted bytes may not be the one encoding
        # of the value read: floats (NaN payloads), maps (key order), a union a writer may
        # resolve to another branch (see `strict.StrictReader.proves_canonical`).
        self.proves_canonical = True

    def _fresh(self, stem: str) -> str:
        self._count += 1
        return f"{stem}{self._count}"

    def min_size(self, schema: Any) -> int:
        """Smallest possible encoding, used to bound item counts by the remaining input."""
        if isinstance(schema, str):
            sizes = {"null": 0, "float": 4, "double": 8}
            if schema in self._named:
                return self.min_size(self._named[schema])
            return sizes.get(schema, 1)
        if isinstance(schema, list):
            return 1
        kind = schema["type"]
        if kind == "record":
            return sum(self.min_size(f["type"]) for f in schema["fields"])
        if kind == "fixed":
            return int(schema["size"])
        return self.min_size(kind) if kind in ("null", "float", "double") else 1

    def value(self, schema: Any, where: str, target: str, out: _Out) -> None:
        cap = self._limits.fields.get(where)
        if isinstance(schema, list):
            if sum(1 for s in schema if s != "null") > 1 or schema.count("null") > 1:
                self.proves_canonical = False
            self._union(schema, where, target, out)
        elif isinstance(schema, str):
            if schema in self._named:
                self._named_value(schema, self._named[schema], target, out)
            else:
                self._primitive(schema, cap, where, target, out)
        elif (kind := schema["type"]) == "record":
            self._named_value(schema["name"], schema, target, out)
        elif kind == "enum":
            self._enum(schema.get("name", ""), tuple(schema["symbols"]), where, target, out)
        elif kind == "fixed":
            self._fixed(int(schema["size"]), None, target, out)
        elif kind == "array":
            cap = self._limits.max_items if cap is None else cap
            self._array(schema["items"], cap, where, target, out)
        elif kind == "map":
            self.proves_canonical = False
            cap = self._limits.max_items if cap is None else cap
            self._map(schema["values"], cap, where, target, out)
        else:
            self._primitive(kind, cap, where, target, out)

    def _named_value(self, name: str, schema: Any, target: str, out: _Out) -> None:
        if schema["type"] == "enum":  # by name: `where` is its name
            self._enum(name, tuple(schema["symbols"]), name, target, out)
        elif schema["type"] != "record":  # a fixed by name
            self.value({k: v for k, v in schema.items() if k != "name"}, name, target, out)
        elif self.recursive(name):
            out.add(f"{target}, pos = {self._record(name, schema)}(buf, pos, size)")
        else:  # read inline, its fields into locals of their own
            out.add(f"# record {name}")
            values = self.fields(name, schema, self._fresh("r") + "_", out)
            out.add(f"{target} = {values}")

    def fields(self, name: str, schema: Any, prefix: str, out: _Out) -> str:
        """Read record `name`'s fields in order into locals named `prefix` + field; the
        expression of the record (returned): its constructor's call, or a dict display."""
        short = name.rsplit(".", 1)[-1]
        values = []
        for i, f in enumerate(schema["fields"]):
            var = f"{prefix}{f['name']}" if str(f["name"]).isidentifier() else f"{prefix}{i}"
            out.add(f"# {f['name']}: {_describe(f['type'])}")
            self.value(f["type"], f"{short}.{f['name']}", var, out)
            values.append((f["name"], var))
        if name in self.constructors:
            return f"{self.constructors[name]}({', '.join(var for _, var in values)})"
        return f"{{{', '.join(f'{field!r}: {var}' for field, var in values)}}}"

    def recursive(self, name: str) -> bool:
        """Whether record `name` can contain itself (then it is read by a function that
        calls itself; any other record is read inline where it occurs)."""
        seen: set[str] = set()
        todo = [f["type"] for f in self._named[name]["fields"]] if name in self._named else []
        while todo:
            schema = todo.pop()
            if isinstance(schema, list):
                todo += schema
            elif isinstance(schema, str):
                if schema == name:
                    return True
                if schema in self._named and schema not in seen:
                    seen.add(schema)
                    todo.append(self._named[schema])
            elif schema["type"] == "record":
                if schema["name"] == name:
                    return True
                todo += [f["type"] for f in schema["fields"]]
            elif schema["type"] in ("array", "map"):
                todo.append(schema["items" if schema["type"] == "array" else "values"])
        return False

    def _record(self, name: str, schema: Any) -> str:
        """The function reading record `name` (written on first use; a recursive record
        calls itself)."""
        if name in self._records:
            return self._records[name]
        func = f"_read_{re.sub(r'[^0-9A-Za-z_]', '_', name)}"
        if func in self._records.values():
            func = self._fresh(func + "_")
        self._records[name] = func
        lines = [f"def {func}(buf: bytes, pos: int, size: int) -> tuple[Any, int]:"]
        body = _Out(lines)
        body.add(f'"""Record {name}, which can contain itself: its fields in order."""')
        body.add(f"return {self.fields(name, schema, 'f_', body)}, pos")
        self.functions.append(lines)
        return func

    def _primitive(self, kind: str, cap: int | None, where: str, target: str, out: _Out) -> None:
        limits = self._limits
        if kind == "null":
            out.add(f"{target} = None")
        elif kind == "boolean":
            out.add(
                "if pos >= size:",
                '    raise _fail(TRUNCATED, f"boolean at {pos}")',
                "b = buf[pos]",
                "if b > 1:",
                '    raise _fail(BAD_BOOLEAN, f"boolean byte {b} at {pos}")',
                f"{target} = b == 1",
                "pos += 1",
            )
        elif kind in ("int", "long"):
            bounds = "_INT_MIN, _INT_MAX" if kind == "int" else "_LONG_MIN, _LONG_MAX"
            out.add(
                "if pos < size and (b := buf[pos]) < 0x80:  # one byte",
                f"    {target} = (b >> 1) ^ -(b & 1)",
                "    pos += 1",
                "else:",
                f"    {target}, pos = _varint(buf, pos, {bounds})",
            )
        elif kind in ("float", "double"):
            self.proves_canonical = False
            self._fixed(4 if kind == "float" else 8, kind, target, out)
        elif kind == "string":
            self._length(limits.max_string if cap is None else cap, where, out)
            out.add(
                "try:",
                f"    {target} = buf[pos:end].decode()",
                "except UnicodeDecodeError as exc:",
                f'    raise _fail(BAD_UTF8, {where!r} + ": " + exc.reason) from exc',
                "pos = end",
            )
        elif kind == "bytes":
            self._length(limits.max_bytes if cap is None else cap, where, out)
            out.add(f"{target} = buf[pos:end]", "pos = end")
        else:
            raise ValueError(f"unsupported Avro type {kind!r} at {where}")

    def _length(self, cap: int, where: str, out: _Out) -> None:
        """A string or bytes length into `end` (`pos` past it): one or two bytes that pass
        every check inline, anything else through `_length`."""
        within = "" if cap >= _ONE_BYTE_MAX else f" and b >> 1 <= {cap}"
        out.add(
            f"if pos < size and not (b := buf[pos]) & 0x81{within}"
            f" and (end := pos + 1 + (b >> 1)) <= size:",
            "    pos += 1",
        )
        if cap > _ONE_BYTE_MAX:  # a two-byte length (64 to 8,191) may fit the cap
            out.add(
                "elif (",
                "    pos + 1 < size",
                "    and b & 0x81 == 0x80  # continued, even: not negative",
                "    and 0 < (b2 := buf[pos + 1]) < 0x80  # ends here, not overlong",
                f"    and (n := ((b & 0x7F) | (b2 << 7)) >> 1) <= {cap}",
                "    and (end := pos + 2 + n) <= size",
                "):",
                "    pos += 2",
            )
        out.add(
            "else:",
            f"    n, pos = _length(buf, pos, {cap}, {where!r})",
            "    end = pos + n",
        )

    def _fixed(self, width: int, unpack: str | None, target: str, out: _Out) -> None:
        raw = "buf[pos:end]"
        out.add(
            f"end = pos + {width}",
            "if end > size:",
            f'    raise _fail(TRUNCATED, f"{width}-byte value at {{pos}}")',
            f"{target} = {raw if unpack is None else f'_{unpack.upper()}({raw})[0]'}",
            "pos = end",
        )

    def _index(self, count: int, where: str, out: _Out, enum: bool) -> str:
        """An enum or union index, checked in range, into a fresh local (returned)."""
        idx = self._fresh("idx")
        kind = "_ENUM_INDEX" if enum else "_UNION_BRANCH"
        out.add(
            f"if pos < size and not (b := buf[pos]) & 0x81 and ({idx} := b >> 1) < {count}:",
            "    pos += 1",
            "else:",
            f"    {idx}, pos = _index(buf, pos, {count}, {where!r}, {kind})",
        )
        return idx

    def _enum(
        self, name: str, symbols: tuple[str, ...], where: str, target: str, out: _Out
    ) -> None:
        table = self._enum_values.get(name)
        if table is None:
            if symbols not in self._symbols:
                self._symbols[symbols] = table = self._fresh("_SYMBOLS")
                self.constants.append([f"{table} = {symbols!r}  # enum of {where}"])
            table = self._symbols[symbols]
        idx = self._index(len(symbols), where, out, enum=True)
        out.add(f"{target} = {table}[{idx}]")

    def _union(self, branches: list[Any], where: str, target: str, out: _Out) -> None:
        idx = self._index(len(branches), where, out, enum=False)
        for i, branch in enumerate(branches):
            if len(branches) > 1:
                test = (
                    "else"
                    if i == len(branches) - 1
                    else f"{'if' if i == 0 else 'elif'} {idx} == {i}"
                )
                out.add(f"{test}:  # {_describe(branch)}")
            self.value(branch, where, target, out.inner() if len(branches) > 1 else out)

    def _array(self, items: Any, cap: int, where: str, target: str, out: _Out) -> None:
        count, item, min_size = self._fresh("count"), self._fresh("item"), self.min_size(items)
        if cap >= 0:  # the empty array: a count of 0, no end of block
            out.add("if pos < size and buf[pos] == 0:", f"    {target} = []", "    pos += 1")
            out.add("else:")
            out = out.inner()
        out.add(
            "if (",
            "    pos < size",
            "    and not (b := buf[pos]) & 0x81",
            f"    and ({count} := b >> 1) <= {cap}",
            f"    and {count} * {min_size} <= size - pos - 1",
            "):",
            "    pos += 1",
            "else:",
            f"    {count}, pos = _block_count(buf, pos, {cap}, {min_size}, {where!r})",
            f"{target} = []",
            f"for _ in range({count}):",
        )
        self.value(items, where + "[]", item, out.inner())
        out.add(
            f"    {target}.append({item})",
            "if pos < size and buf[pos] == 0:  # the end of the one block",
            "    pos += 1",
            "else:",
            f"    pos = _end_of_blocks(buf, pos, {where!r})",
        )

    def _map(self, values: Any, cap: int, where: str, target: str, out: _Out) -> None:
        count, key, value = self._fresh("count"), self._fresh("key"), self._fresh("value")
        min_size = 1 + self.min_size(values)
        out.add(
            f"{count}, pos = _block_count(buf, pos, {cap}, {min_size}, {where!r})",
            f"{target} = {{}}",
            f"if {count}:",
            f"    for _ in range({count}):",
        )
        inner = out.inner().inner()
        self._primitive("string", self._limits.max_string, where + "{}", key, inner)
        inner.add(
            f"if {key} in {target}:",
            f'    raise _fail(NON_CANONICAL, {where!r} + ": duplicate key")',
        )
        self.value(values, where + "{}", value, inner)
        out.add(
            f"        {target}[{key}] = {value}",
            f"    pos = _end_of_blocks(buf, pos, {where!r})",
        )


def _describe(schema: Any) -> str:
    """A short name of a schema for a comment in the source."""
    if isinstance(schema, list):
        return " | ".join(_describe(s) for s in schema)
    if isinstance(schema, str):
        return schema
    kind = schema["type"]
    if kind == "array":
        return f"array of {_describe(schema['items'])}"
    if kind == "map":
        return f"map of {_describe(schema['values'])}"
    return f"{kind} {schema['name']}" if "name" in schema else str(kind)
