"""Every error the package raises on purpose is drawn in the tree of interchange/errors.py."""

from __future__ import annotations

import importlib
import pkgutil
import re

import interchange
from interchange import errors
from interchange.errors import InterchangeError


def all_subclasses(cls: type[Exception]) -> set[type[Exception]]:
    found: set[type[Exception]] = set()
    for sub in cls.__subclasses__():
        found |= {sub, *all_subclasses(sub)}
    return found


def test_every_interchange_error_is_in_the_documented_tree() -> None:
    for module in pkgutil.walk_packages(interchange.__path__, "interchange."):
        if module.name != "interchange.__main__":
            importlib.import_module(module.name)
    defined = {
        cls.__name__
        for cls in all_subclasses(InterchangeError)
        if cls.__module__.startswith("interchange.")
    }
    assert errors.__doc__ is not None
    drawn = set(re.findall(r"^[│ ]*[├└]── (\w+)", errors.__doc__, flags=re.MULTILINE))
    assert {"ConfigError", "RouterError", "StageError"} <= defined
    assert defined - drawn == set()
    assert drawn - defined == set()
