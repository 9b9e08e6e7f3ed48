"""Reports as JSON with stable, documented keys (docs/REPORT.md lists every one).

Every report file has the same envelope, so tools can tell kinds and versions apart:

    {"schema_version": 1, "kind": "coverage" | "audit" | "loadtest" | ...,
     "meta": {...caller's run facts...}, <kind-specific payload keys>}

Latencies are integer microseconds (keys end in `_us`), shares are fractions in [0, 1]
or null when there was nothing to measure, verdicts are "PASS", "FAIL" or "n/a".
Keys are never renamed within a schema_version; new keys may be added.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from interchange.atomic import atomic_write_text
from interchange.metrics.coverage import CoverageReport
from interchange.metrics.coverage_json import coverage_payload

REPORT_SCHEMA_VERSION = 1


def build_report(
    kind: str, payload: Mapping[str, Any], meta: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The common envelope around a kind-specific payload."""
    reserved = {"schema_version", "kind", "meta"} & set(payload)
    if reserved:
        raise ValueError(f"payload may not use reserved key(s) {sorted(reserved)}")
    return {
        "schema_version": REPORT_SCHEMA_VERSION,
        "kind": kind,
        "meta": dict(meta or {}),
        **payload,
    }


def dumps(report: Mapping[str, Any]) -> str:
    """Stable text: sorted keys, two-space indent, UTF-8 kept readable, trailing newline."""
    return json.dumps(report, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def write_json(path: Path, report: Mapping[str, Any]) -> Path:
    """Write atomically and return the path."""
    atomic_write_text(Path(path), dumps(report))
    return Path(path)


def coverage_json(report: CoverageReport, meta: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The complete coverage report document."""
    return build_report("coverage", coverage_payload(report), meta)
