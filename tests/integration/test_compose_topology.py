"""The docker-compose topology on the session broker: the same commands, configured the same way.

docker-compose.yml runs `keys init --if-missing`, `topics create`, two `route`
replicas, `recipients` and `simulate --external-stages`, each a separate process
reading INTERCHANGE_* variables. Docker cannot run here, so this test runs those
exact command lines as subprocesses, so that `docker compose up` only uses
covered code paths.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "interchange", *args]


def test_compose_services_run_the_simulation_end_to_end(
    bootstrap: str, unique: Callable[[str], str], tmp_path: Path
) -> None:
    stats = tmp_path / "runs" / "stats"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("INTERCHANGE_")},
        "INTERCHANGE_BOOTSTRAP": bootstrap,
        "INTERCHANGE_TOPIC_PREFIX": unique("compose") + ".",
        "INTERCHANGE_KEYS_DIR": str(tmp_path / "keys"),
        "INTERCHANGE_OUT_DIR": str(tmp_path / "runs"),
    }
    if os.environ.get("INTERCHANGE_REPLICATION_FACTOR"):
        env["INTERCHANGE_REPLICATION_FACTOR"] = os.environ["INTERCHANGE_REPLICATION_FACTOR"]
    # the same commands, with a quick group join on Tansu (docs/BROKER_QUIRKS.md, quirk 1):
    # the two routers share one group, and simulate waits until they have their partitions
    env["INTERCHANGE_MAX_POLL_INTERVAL_MS"] = "3000"

    def once(*args: str) -> str:
        done = subprocess.run(
            _cli(*args), check=False, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    once("keys", "init", "--preset", "tiny", "--if-missing")
    assert "left as it is" in once("keys", "init", "--preset", "tiny", "--if-missing")
    once("topics", "create")

    services = [
        subprocess.Popen(
            _cli(
                "route",
                "--preset",
                "tiny",
                "--router-id",
                name,
                "--stats-file",
                str(stats / f"router-{name}.json"),
            ),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name in ("r1", "r2")
    ]
    services.append(
        subprocess.Popen(
            _cli("recipients", "--preset", "tiny", "--stats-file", str(stats / "recipients.json")),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    )
    try:
        run = subprocess.run(
            _cli(
                "simulate",
                "--preset",
                "tiny",
                "--external-stages",
                "--stats-dir",
                str(stats),
                "--count",
                "120",
                "--rate",
                "60",
                "--no-progress",
                "--out",
                str(tmp_path / "sim"),
            ),
            check=False,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
    finally:
        for service in services:
            service.send_signal(signal.SIGTERM)
        codes = []
        for service in services:
            try:
                codes.append(service.wait(20))
            except subprocess.TimeoutExpired:
                service.kill()
                codes.append(service.wait())

    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert codes == [0, 0, 0], "every service stops cleanly on SIGTERM"
    summary = json.loads((tmp_path / "sim" / "summary.json").read_text())
    report = json.loads((tmp_path / "sim" / "report.json").read_text())
    tiers = report["tiers"].values()
    assert sum(t["delivered"] for t in tiers) > 0
    for tier in tiers:
        outcomes = (
            tier["delivered"]
            + tier["excluded_classified"]
            + tier["rejected_total"]
            + tier["not_connected"]
        )
        assert tier["addressed"] == outcomes
    assert summary["exit_code"] == 0
