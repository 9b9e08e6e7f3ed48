"""Specialises a `StrictReader` walk into one generated Python function per schema.

Why: the closure walk of `avro_strict` pays three or four Python calls per field
(reader, length, varint), and CPython call overhead was most of the strict
decode's cost. The generated function reads the fields in straight-line code and
inlines only the *certain* cases: a one- or two-byte non-negative length within
its cap and within the input, a one-byte enum or union index in range, valid
UTF-8. Anything else (a long varint, a truncation, a negative or overlong
length, bad UTF-8, an unusual type) calls the generic closure of the same
(schema, position) from the same offset, so it accepts, rejects and words every
`DecodeError` exactly like the closure walk. Recursive references call the
generic closure too, which bounds their nesting as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from interchange.core import avro_strict as strict


class _Compiler(Protocol):
    """What the generator needs from `avro_strict._Compiler`."""

    def compile(self, schema: Any, where: str) -> strict.Reader: ...

    def min_size(self, schema: Any) -> int: ...


class _Gen:
    def __init__(self, compiler: _Compiler, named: Mapping[str, Any], limits: strict.Limits):
        self._compiler = compiler
        self._named = named
        self._limits = limits
        self._lines: list[str] = []
        self._env: dict[str, Any] = {
            "_read_long": strict._read_long,
            "_read_int": strict._read_int,
            "_block_count": strict._block_count,
            "_end_of_blocks": strict._end_of_blocks,
            "UnicodeDecodeError": UnicodeDecodeError,
        }
        self._count = 0
        self._inlining: list[str] = []  # record names being inlined (recursion guard)

    def _name(self, stem: str) -> str:
        self._count += 1
        return f"{stem}{self._count}"

    def _const(self, value: Any, stem: str) -> str:
        name = self._name("_" + stem)
        self._env[name] = value
        return name

    def _emit(self, ind: int, line: str) -> None:
        self._lines.append("    " * ind + line)

    def _generic(self, schema: Any, where: str, ind: int, target: str) -> None:
        reader = self._const(self._compiler.compile(schema, where), "g")
        self._emit(ind, f"{target}, pos = {reader}(buf, pos)")

    def build(self, schema: Any) -> strict.Reader:
        self._emit(0, "def _read(buf, pos):")
        self._emit(1, "n = len(buf)")
        self.gen(schema, "", 1, "result")
        self._emit(1, "return result, pos")
        namespace = dict(self._env)
        exec(compile("\n".join(self._lines), "<avro_codegen>", "exec"), namespace)  # noqa: S102
        reader: strict.Reader = namespace["_read"]
        return reader

    def gen(self, schema: Any, where: str, ind: int, target: str) -> None:  # noqa: PLR0911
        """Emit code that reads `schema` at `pos` into `target` (same arms as _Compiler)."""
        cap = self._limits.fields.get(where)
        if isinstance(schema, list):
            return self._union(schema, where, ind, target)
        if isinstance(schema, str):
            if schema in self._named:
                return self._named_ref(schema, where, ind, target)
            return self._primitive(schema, cap, where, ind, target)
        kind = schema["type"]
        if kind == "record":
            return self._record(schema, where, ind, target)
        if kind == "enum":
            return self._enum(schema, list(schema["symbols"]), where, ind, target)
        if kind == "array":
            return self._array(schema, cap, where, ind, target)
        if kind in ("fixed", "map"):
            return self._generic(schema, where, ind, target)
        return self._primitive(kind, cap, where, ind, target)

    def _named_ref(self, name: str, where: str, ind: int, target: str) -> None:
        schema = self._named[name]
        if schema["type"] == "record":
            self._record(schema, where, ind, target, ref=name)
        elif schema["type"] == "enum":
            self._enum(name, list(schema["symbols"]), where, ind, target)
        else:
            self._generic(name, where, ind, target)

    def _record(
        self, schema: Any, where: str, ind: int, target: str, ref: str | None = None
    ) -> None:
        name = schema["name"]
        if name in self._inlining:  # recursive: the closure walk bounds the nesting
            return self._generic(ref if ref is not None else schema, where, ind, target)
        self._inlining.append(name)
        short = name.rsplit(".", 1)[-1]
        parts = []
        for f in schema["fields"]:
            var = self._name("v")
            self.gen(f["type"], f"{short}.{f['name']}", ind, var)
            parts.append(f"{f['name']!r}: {var}")
        self._inlining.pop()
        self._emit(ind, f"{target} = {{{', '.join(parts)}}}")
        return None

    def _primitive(self, kind: str, cap: int | None, where: str, ind: int, target: str) -> None:
        if kind == "null":
            self._emit(ind, f"{target} = None")
        elif kind in ("int", "long"):
            fn = "_read_int" if kind == "int" else "_read_long"
            self._emit(ind, "if pos < n and buf[pos] < 0x80:")
            self._emit(ind + 1, f"b = buf[pos]; {target} = (b >> 1) ^ -(b & 1); pos += 1")
            self._emit(ind, "else:")
            self._emit(ind + 1, f"{target}, pos = {fn}(buf, pos)")
        elif kind in ("string", "bytes"):
            limit = self._limits.max_string if kind == "string" else self._limits.max_bytes
            self._sized(kind, limit if cap is None else cap, where, ind, target)
        else:
            self._generic(kind, where, ind, target)

    def _sized(self, kind: str, cap: int, where: str, ind: int, target: str) -> None:
        """A string or bytes whose length is a one- or two-byte canonical varint."""
        generic = self._const(self._compiler.compile(kind, where), "g")
        # length L and start s; L = -1 sends everything unusual to the generic reader
        self._emit(ind, "L = -1")
        self._emit(ind, "if pos < n:")
        self._emit(ind + 1, "b = buf[pos]")
        self._emit(ind + 1, "if not b & 0x81:")
        self._emit(ind + 2, "L = b >> 1; s = pos + 1")
        self._emit(ind + 1, "elif b & 0x81 == 0x80 and pos + 1 < n and 0 < buf[pos + 1] < 0x80:")
        self._emit(ind + 2, "L = ((b & 0x7F) | (buf[pos + 1] << 7)) >> 1; s = pos + 2")
        self._emit(ind, f"if 0 <= L <= {cap} and s + L <= n:")
        if kind == "bytes":
            self._emit(ind + 1, f"pos = s + L; {target} = buf[s:pos]")
        else:
            self._emit(ind + 1, "try:")
            self._emit(ind + 2, f"{target} = buf[s : s + L].decode(); pos = s + L")
            self._emit(ind + 1, "except UnicodeDecodeError:")
            self._emit(ind + 2, f"{target}, pos = {generic}(buf, pos)")
        self._emit(ind, "else:")
        self._emit(ind + 1, f"{target}, pos = {generic}(buf, pos)")

    def _enum(self, schema: Any, symbols: list[str], where: str, ind: int, target: str) -> None:
        generic = self._const(self._compiler.compile(schema, where), "g")
        table = self._const(tuple(symbols), "symbols")
        self._emit(ind, "b = buf[pos] if pos < n else 1")
        self._emit(ind, f"if not b & 0x81 and b < {2 * len(symbols)}:")
        self._emit(ind + 1, f"{target} = {table}[b >> 1]; pos += 1")
        self._emit(ind, "else:")
        self._emit(ind + 1, f"{target}, pos = {generic}(buf, pos)")

    def _union(self, branches: list[Any], where: str, ind: int, target: str) -> None:
        generic = self._const(self._compiler.compile(branches, where), "g")
        self._emit(ind, "b = buf[pos] if pos < n else 1")
        for i, branch in enumerate(branches[:63]):  # one-byte indexes only
            self._emit(ind, f"{'if' if i == 0 else 'elif'} b == {2 * i}:")
            self._emit(ind + 1, "pos += 1")
            self.gen(branch, where, ind + 1, target)
        self._emit(ind, "else:")
        self._emit(ind + 1, f"{target}, pos = {generic}(buf, pos)")

    def _array(self, schema: Any, cap: int | None, where: str, ind: int, target: str) -> None:
        item = schema["items"]
        limit = self._limits.max_items if cap is None else cap
        what = self._const(where, "what")
        count, value = self._name("c"), self._name("i")
        min_size = self._compiler.min_size(item)
        self._emit(ind, f"{count}, pos = _block_count(buf, pos, {limit}, {min_size}, {what})")
        self._emit(ind, f"{target} = []")
        self._emit(ind, f"if {count}:")
        self._emit(ind + 1, f"for _ in range({count}):")
        self.gen(item, where + "[]", ind + 2, value)
        self._emit(ind + 2, f"{target}.append({value})")
        self._emit(ind + 1, f"pos = _end_of_blocks(buf, pos, {what})")


def specialise(
    compiler: _Compiler, named: Mapping[str, Any], limits: strict.Limits, schema: Any
) -> strict.Reader:
    """A reader equivalent to `compiler.compile(schema, "")`, generated as one function."""
    return _Gen(compiler, named, limits).build(schema)
