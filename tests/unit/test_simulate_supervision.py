"""A simulation whose stages never become ready stops them before it reports.

No broker: the stages are stand-in processes that never signal readiness and exit
with code 3 on SIGTERM, so the report must be built after they exited and carry
their exit codes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from interchange.settings import Settings
from interchange.simulate import run as simulate
from interchange.simulate.run import Simulation
from interchange.simulate.values import SimulationOptions, SimulationResult
from interchange.stages.commands import Stage

NEVER_READY = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, lambda *_: sys.exit(3))\n"
    "time.sleep(120)\n"
)


def stand_in(name: str, stats_dir: Path, logs: Path) -> Stage:
    slug = name.replace(" ", "-")
    argv = [sys.executable, "-c", NEVER_READY]
    return Stage(name, argv, logs / f"{slug}.log", stats_dir / f"{slug}.json")


class Recording(Simulation):
    """Notes which stages were still running when the report was built."""

    running_at_finish: list[str] | None = None

    def _finish(self, **kwargs: object) -> SimulationResult:
        self.running_at_finish = [st.name for st in self.stages if st.running]
        return super()._finish(**kwargs)  # type: ignore[arg-type]


def test_stages_that_never_get_ready_are_stopped_before_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(simulate, "create_topics", lambda settings: None)

    def router(
        settings: Settings, i: int, directory: Path, stats: Path, logs: Path, **_: object
    ) -> Stage:
        return stand_in(f"router {i}", stats, logs)

    def producer(
        settings: Settings, directory: Path, run_dir: Path, stats: Path, **_: object
    ) -> Stage:
        return stand_in("producer", stats, run_dir / "logs")

    def recipients(
        settings: Settings, directory: Path, stats: Path, logs: Path, **_: object
    ) -> Stage:
        return stand_in("recipients", stats, logs)

    monkeypatch.setattr(simulate, "router_stage", router)
    monkeypatch.setattr(simulate, "recipients_stage", recipients)
    monkeypatch.setattr(simulate, "producer_stage", producer)
    settings = Settings(
        bootstrap="127.0.0.1:9", keys_dir=tmp_path / "keys", out_dir=tmp_path / "out"
    )
    options = SimulationOptions(
        preset="tiny", count=10, out=tmp_path / "run", ready_timeout_s=1.0, default_downtime=False
    )
    sim = Recording(settings, options)

    result = sim.run()

    assert sim.running_at_finish == []
    assert not any(st.running for st in sim.stages)
    assert result.exit_code == 1
    assert any("did not get their partitions" in p for p in result.problems)
    assert any(p.startswith("router 0 exited with code 3") for p in result.problems)
    assert any(p.startswith("recipients exited with code 3") for p in result.problems)
    # the producer starts with them (waiting for the run file), and is stopped with them
    assert any(p.startswith("producer exited with code 3") for p in result.problems)


def test_the_brisk_test_scenario_builds_simulates_default_directory(tmp_path: Path) -> None:
    """The integration runs pass tests/sim_helpers.py's scenario only to handle work records
    faster; the directory (connections, built-in downtime) must stay the default one."""
    from sim_helpers import BRISK_TIME_SCALE, brisk_scenario

    from interchange.axis.presets import Scenario
    from interchange.simulate.values import make_directory

    for count, rate in ((150, 300.0), (150, 100.0), (3000, 150.0)):
        default = SimulationOptions(preset="tiny", count=count, rate=rate)
        path = brisk_scenario(tmp_path / f"{count}-{rate}.json", default.span_s)
        brisk = SimulationOptions(preset="tiny", count=count, rate=rate, scenario=path)
        assert make_directory(brisk) == make_directory(default)
        assert make_directory(default).downtime  # the built-in downtime is there to compare
        assert Scenario.load(path).work_records.time_scale == BRISK_TIME_SCALE
