"""Report writing of a simulation: the run's meta, the coverage report (JSON + HTML, the
terminal is the caller's) and summary.json, gathered in a `SimulationResult`."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from interchange.atomic import atomic_write_text
from interchange.delivery.acks import AckCounts
from interchange.delivery.state import InboxCounts
from interchange.metrics.coverage import CoverageReport
from interchange.metrics.timeseries import Series
from interchange.report.bundle import write_coverage_files
from interchange.simulate.ledger import Ledger
from interchange.simulate.values import SimulationOptions, SimulationResult


def run_meta(
    options: SimulationOptions,
    run_dir: Path,
    ledger: Ledger,
    problems: list[str],
    *,
    start_us: int,
    started: float,
) -> dict[str, Any]:
    """What the report says about the run itself (`started`: its monotonic start)."""
    o = options
    return {
        "run_dir": str(run_dir),
        "preset": o.preset if o.directory_file is None else str(o.directory_file),
        "seed": o.seed,
        "rate": o.rate,
        "count": o.size[0],
        "duration_s": o.size[1],
        "faults": o.faults,
        "routers": 0 if o.external_stages else o.routers,
        "start_us": start_us,
        "documents": ledger.documents,
        "classified_withheld_at_source": ledger.withheld,
        "seconds": round(time.monotonic() - started, 1),
        "problems": list(problems),
    }


def write_report(
    report: CoverageReport,
    run_dir: Path,
    *,
    meta: dict[str, Any],
    timeline: Series,
    run_started: bool,
    ledger: Ledger,
    counts: InboxCounts,
    acks: AckCounts | None,
    problems: list[str],
    started: float,
) -> SimulationResult:
    """Write report.json, report.html and summary.json into `run_dir`; the result (exit
    code 1 when there is any problem). The report charts `timeline` only when the run
    started (`run_started`)."""
    paths = write_coverage_files(
        report,
        run_dir,
        meta=meta,
        title=f"interchange simulate — {run_dir.name}",
        timeline=timeline if run_started else None,
    )
    result = SimulationResult(
        run_dir,
        paths.json,
        paths.html,
        run_dir / "summary.json",
        1 if problems else 0,
        tuple(problems),
        ledger.documents,
        ledger.expected_delivered,
        counts.delivered,
        counts.duplicates,
        counts.leaks,
        counts.malformed,
        acks.accepted if acks is not None else 0,
        time.monotonic() - started,
        report,
        ledger,
        meta,
        counts.redelivered,
        timeline,
    )
    atomic_write_text(result.summary_json, json.dumps(result.to_dict(), indent=1) + "\n")
    return result
