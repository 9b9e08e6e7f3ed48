"""Constructors of the model's frozen records for the decoder, written once per class.

A frozen dataclass's `__init__` sets each field through `object.__setattr__`; the
decoder, which has every field's value in order, can set them through each slot's
descriptor instead. `positional(cls)` writes that constructor for one class as Python
source, one line per field, and compiles it: about 60% of `__init__`'s cost for a
record of six fields, 65% for three (callgrind, docs/BENCHMARKS.md, "Ninth session").
The result is the record `__init__` gives (equal, same hash, still frozen).
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
    without slots (there is no descriptor to set), and for a later field without a
    plain default (a factory's value would be shared by every record)."""
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} validates in __post_init__; build it with __init__")
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    if getattr(cls, "__slots__", None) is None:
        raise TypeError(f"{cls.__name__} has no slots")
    given = len(fields) if given is None else given
    namespace: dict[str, Any] = {"new": object.__new__, "cls": cls}
    params = [f"a{i}" for i in range(given)]  # not the field names: none may shadow
    lines = [f"def make_{cls.__name__}({', '.join(params)}):", "    obj = new(cls)"]
    for i, f in enumerate(fields):
        namespace[f"set{i}"] = getattr(cls, f.name).__set__
        if i < given:
            lines.append(f"    set{i}(obj, a{i})  # {f.name}")
        elif f.default is dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{f.name} has no plain default")
        else:
            namespace[f"d{i}"] = f.default
            lines.append(f"    set{i}(obj, d{i})  # {f.name}, at its default")
    lines.append("    return obj")
    exec("\n".join(lines), namespace)  # noqa: S102 (source written here from field names)
    make: Callable[..., T] = namespace[f"make_{cls.__name__}"]
    return make
