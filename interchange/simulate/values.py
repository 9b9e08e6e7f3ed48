"""Values of a simulation: options, progress snapshots, the result, and cheap stats reading."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from interchange.axis.directory import Directory
from interchange.axis.presets import DEFAULT_PRESET, RandomDowntime, Scenario, build
from interchange.metrics.coverage import CoverageReport
from interchange.metrics.timeseries import Series
from interchange.simulate.ledger import Ledger
from interchange.wire.model import Tier

DEFAULT_RATE = 150.0
DEFAULT_COUNT = 3000  # 20 s of arrivals at the default rate: the whole run stays under a minute
DEFAULT_FAULTS = "default"
# Built-in scenario when none is given: 5% of the connected communes are offline once, for
# 4 s, during the run (a commune office losing its connection), so downtime shows up.
DOWNTIME_SHARE, DOWNTIME_S = 0.05, 4.0


@dataclass(frozen=True, slots=True)
class SimulationOptions:
    preset: str = DEFAULT_PRESET
    directory_file: Path | None = None
    scenario: Path | None = None
    rate: float = DEFAULT_RATE
    count: int | None = None  # neither count nor duration: DEFAULT_COUNT
    duration_s: float | None = None
    seed: int = 0
    faults: str = DEFAULT_FAULTS
    routers: int = 1
    targets: str = "2025"
    sla: str | None = None
    out: Path | None = None  # run directory; default <out_dir>/<timestamp>-<seed>
    external_stages: bool = False  # router(s) and recipients run elsewhere (docker-compose)
    stats_dir: Path | None = None  # default <run dir>/stats
    verify_at_recipient: bool = False
    accept_delay_s: float = 0.1
    idle_timeout_s: float = 30.0
    ready_timeout_s: float = 60.0  # stages must have their partitions within this
    external_ready_timeout_s: float = 20.0  # external stages: then start anyway
    lead_s: float = 0.5  # from the stages being ready to the run start (the producer waits)
    default_downtime: bool = True

    @property
    def size(self) -> tuple[int | None, float | None]:
        if self.count is None and self.duration_s is None:
            return DEFAULT_COUNT, None
        return self.count, self.duration_s

    @property
    def span_s(self) -> float:
        count, duration = self.size
        return duration if duration is not None else (count or 0) / self.rate


def make_directory(options: SimulationOptions) -> Directory:
    """The run's directory: a file, or a preset under the scenario (built-in downtime)."""
    if options.directory_file is not None:
        return Directory.load(options.directory_file)
    if options.scenario is not None:
        return build(options.preset, Scenario.load(options.scenario))
    if not options.default_downtime or options.external_stages:
        return build(options.preset)  # external recipients would not know the windows
    within = max(options.span_s, DOWNTIME_S + 1.0)
    down = RandomDowntime(Tier.COMMUNE, DOWNTIME_SHARE, within, DOWNTIME_S)
    return build(options.preset, Scenario(random_downtime=(down,)))


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Progress, as the CLI shows it."""

    elapsed_s: float
    phase: str  # starting, producing, draining
    planned: int
    produced: int
    expected_delivered: int
    delivered: int
    excluded: int
    rejected: int
    not_connected: int
    unaccounted: int  # addressed so far minus every outcome so far
    acks: int
    held_now: int
    produced_rate: float | None = None  # documents sent / s over the last few seconds
    delivered_rate: float | None = None  # deliveries / s over the last few seconds


@dataclass
class StatsTotals:
    """Sums over stats files without decoding a histogram (cheap enough to poll)."""

    addressed: int = 0
    delivered: int = 0
    excluded: int = 0
    rejected: int = 0
    not_connected: int = 0
    produced: int = 0  # documents sent: rows of the producers' schedule-lag histograms
    held_now: int = 0
    work_registered: int = 0  # work records the recipients registered (status 03 sent)
    work_completed: int = 0  # of them, handled to the end (status 06 sent)
    work_withdrawn: int = 0  # of them, withdrawn by an agreed recall (15): never a 06
    ready: bool = False  # a recipients file says every tier consumer has partitions

    @property
    def work_open(self) -> int:
        """Registered work records still to be handled: neither completed (06) nor
        withdrawn by a recall (which ends the handling, so no 06 ever comes). Withdrawn
        counts registered records only (the recipients' `work_withdrawn`, not every 15:
        a recall agreed before its target's 03 counts once that 03 is out), so a record in
        handling is never offset by one not registered yet."""
        return self.work_registered - self.work_completed - self.work_withdrawn

    @property
    def unaccounted(self) -> int:
        return self.addressed - (
            self.delivered + self.excluded + self.rejected + self.not_connected
        )


def stats_totals(files: list[Path]) -> StatsTotals:
    """Counters summed over stats files; `ready` only when every recipients file says so."""
    out = StatsTotals()
    readiness: list[bool] = []  # one per recipients file
    for path in files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for cell in data.get("cells", ()):
            out.addressed += cell.get("addressed", 0)
            out.delivered += cell.get("delivered", 0)
            out.excluded += cell.get("excluded_classified", 0)
            out.not_connected += cell.get("not_connected", 0)
            out.rejected += sum(cell.get("rejected", {}).values())
        for row in data.get("histograms", {}).get("schedule_lag", ()):
            out.produced += row.get("count", 0)
        extras = data.get("recipients")
        if isinstance(extras, dict):
            out.held_now += int(extras.get("held_now", 0))
            out.work_registered += int(extras.get("status_accepted", 0))
            out.work_completed += int(extras.get("status_completed", 0))
            out.work_withdrawn += int(extras.get("work_withdrawn", 0))
            readiness.append(bool(extras.get("ready")))
    out.ready = bool(readiness) and all(readiness)
    return out


@dataclass(frozen=True)
class SimulationResult:
    run_dir: Path
    report_json: Path
    report_html: Path
    summary_json: Path
    exit_code: int  # 0 pass; 1 lost, duplicated, leaked or a stage failed
    problems: tuple[str, ...]
    documents: int
    expected_delivered: int
    delivered: int
    duplicates: int
    leaks: int
    malformed: int
    acks: int
    seconds: float
    coverage: CoverageReport
    ledger: Ledger
    meta: dict[str, Any] = field(default_factory=dict)
    redelivered: int = 0  # at-least-once repeats recognised after a recipients restart
    timeline: Series = field(default_factory=Series)  # the run second by second

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_dir": str(self.run_dir),
            "report_json": str(self.report_json),
            "report_html": str(self.report_html),
            "exit_code": self.exit_code,
            "problems": list(self.problems),
            "documents": self.documents,
            "expected_delivered": self.expected_delivered,
            "delivered": self.delivered,
            "duplicates": self.duplicates,
            "redelivered": self.redelivered,
            "classified_leaks": self.leaks,
            "malformed_deliveries": self.malformed,
            "acks": self.acks,
            "seconds": round(self.seconds, 2),
            "meta": self.meta,
            "agencies": {a: row.to_dict() for a, row in sorted(self.ledger.agencies.items())},
        }
