"""Write a coverage report's JSON and HTML files in one call (simulate, audit)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interchange.core.coverage import CoverageReport
from interchange.report.html import coverage_html, write_html
from interchange.report.json_report import coverage_json, write_json


@dataclass(frozen=True, slots=True)
class ReportPaths:
    json: Path
    html: Path


def write_coverage_files(
    report: CoverageReport,
    out_dir: Path,
    *,
    stem: str = "report",
    meta: Mapping[str, Any] | None = None,
    title: str = "",
) -> ReportPaths:
    """`<out_dir>/<stem>.json` and `<stem>.html`, both written atomically."""
    out_dir = Path(out_dir)
    meta = dict(meta or {})
    json_path = write_json(out_dir / f"{stem}.json", coverage_json(report, meta))
    html_path = write_html(out_dir / f"{stem}.html", coverage_html(report, title=title, meta=meta))
    return ReportPaths(json_path, html_path)
