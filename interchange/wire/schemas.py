"""Locate and parse the Avro schemas shipped in `schemas/`.

The schema files live in the top-level `schemas/` directory (the contract an
integrator reads); `interchange/schemas` is a symlink to it, so setuptools
copies the files into the wheel as package data of `interchange` and
`importlib.resources` finds them in an installed package. A checkout where the
symlink did not survive (e.g. Windows without symlink support) falls back to
the directory next to the package.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from fastavro import parse_schema

SCHEMA_NAMES = ("document", "envelope", "status", "rejection")


def schema_text(name: str) -> str:
    """The raw JSON text of `schemas/<name>.avsc`."""
    if name not in SCHEMA_NAMES:
        raise KeyError(f"unknown schema {name!r}; known: {', '.join(SCHEMA_NAMES)}")
    packaged = resources.files("interchange") / "schemas" / f"{name}.avsc"
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    checkout = Path(__file__).resolve().parents[2] / "schemas" / f"{name}.avsc"
    return checkout.read_text(encoding="utf-8")


def load_schema(name: str) -> dict[str, Any]:
    """Parse `schemas/<name>.avsc` with fastavro (do it once, at import of the caller)."""
    parsed = parse_schema(json.loads(schema_text(name)))
    if not isinstance(parsed, dict):
        raise TypeError(f"schema {name!r} is not a record schema")
    return parsed
