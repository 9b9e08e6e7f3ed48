"""Constructors of the model's frozen records for the decoder, written once per class.

A frozen dataclass's `__init__` sets each field through `object.__setattr__`, one
call per field; setting a slot through its descriptor's `__set__` is still a call
per field. `positional(cls)` instead writes, once per class, a plain twin class with
the same slots, whose `__init__` assigns each field (`self.x = a0`: the interpreter's
own slot store, no call), and the constructor builds the twin and then sets its
`__class__` to `cls`, which CPython allows between classes of the same slots and
base. A Document (23 fields) costs about 7k instructions this way against 18k
through the descriptors and more through `__init__` (callgrind, docs/BENCHMARKS.md,
"Tenth session"). The result is the record `__init__` gives (the same class, equal,
same hash, still frozen: after the switch, `cls`'s `__setattr__` refuses as always).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def positional(cls: type[T], given: int | None = None) -> Callable[..., T]:
    """`cls`'s constructor from every field's value, by position, in field order; with
    `given`, from the first `given` fields' values, each later field at its default (a
    record read from an older layout, or one whose later fields come from elsewhere).

    Refused for a class with `__post_init__` (its checks would be skipped), for one
    without slots or with a base other than `object` (no twin of the same layout), and
    for a later field without a plain default (a factory's value would be shared by
    every record)."""
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} validates in __post_init__; build it with __init__")
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    slots = getattr(cls, "__slots__", None)
    if slots is None or "__dict__" in vars(cls):
        raise TypeError(f"{cls.__name__} has no slots")
    if cls.__bases__ != (object,):
        raise TypeError(f"{cls.__name__} derives from another class than object")
    given = len(fields) if given is None else given
    namespace: dict[str, Any] = {"cls": cls}
    params = [f"a{i}" for i in range(given)]  # not the field names: none may shadow
    args = ", ".join(params)
    lines = [
        "class Twin:",
        f"    __slots__ = {tuple(slots)!r}",
        f"    def __init__(self{', ' if params else ''}{args}):",
    ]
    for i, f in enumerate(fields):
        if i < given:
            lines.append(f"        self.{f.name} = a{i}")
        elif f.default is dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{f.name} has no plain default")
        else:
            namespace[f"d{i}"] = f.default
            lines.append(f"        self.{f.name} = d{i}  # at its default")
    if not fields:
        lines.append("        pass")
    lines += [
        f"def make_{cls.__name__}({args}):",
        f"    obj = Twin({args})",
        "    obj.__class__ = cls  # the same slots and base: now the frozen record",
        "    return obj",
    ]
    exec("\n".join(lines), namespace)  # noqa: S102 (source written here from field names)
    make: Callable[..., T] = namespace[f"make_{cls.__name__}"]
    return make
