"""Write a coverage report's JSON and HTML files in one call (simulate, audit)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interchange.metrics.coverage import CoverageReport
from interchange.metrics.timeseries import Series
from interchange.report.html import coverage_html, write_html
from interchange.report.json_report import coverage_json, write_json
from interchange.report.sections import Section
from interchange.report.timeline_view import timeline_section


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
    timeline: Series | None = None,
) -> ReportPaths:
    """`<out_dir>/<stem>.json` and `<stem>.html`, both written atomically; with the run's
    per-second series (simulate) as the JSON's `timeline` and a section of the page."""
    out_dir = Path(out_dir)
    meta = dict(meta or {})
    data = coverage_json(report, meta)
    extra: tuple[Section, ...] = ()
    if timeline is not None:
        data["timeline"] = timeline.to_dict()
        extra = (timeline_section(timeline),)
    json_path = write_json(out_dir / f"{stem}.json", data)
    html = coverage_html(report, title=title, meta=meta, extra=extra)
    html_path = write_html(out_dir / f"{stem}.html", html)
    return ReportPaths(json_path, html_path)
