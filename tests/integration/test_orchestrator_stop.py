"""An orchestrator that is stopped or killed leaves no stage process running.

`interchange bench` on SIGTERM stops its routers, recipients and producers and exits
with 128 + 15 and one line; killed outright (SIGKILL, as a CI job's time limit does),
its stages notice that their parent is gone and stop by themselves."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

STAGES_UP_S = 120.0  # keys, the in-process CPU ceiling, then the stages' start
GONE_S = 30.0  # a stage stops within its stop budget, its broker alive or not


def _start_bench(bootstrap: str, out: Path) -> subprocess.Popen[bytes]:
    argv = [
        sys.executable, "-m", "interchange", "bench", "--bootstrap", bootstrap,
        "--topic-prefix", f"t-stop-{out.name}.", "--keys-dir", str(out / "keys"),
        "--out-dir", str(out), "--rate", "40", "--duration", "600", "--warmup", "1",
        "--passthrough", "0", "--naive", "0", "--preset", "tiny", "--no-progress",
    ]  # fmt: skip
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _stages_of(bench: subprocess.Popen[bytes]) -> list[psutil.Process]:
    """The bench's router, recipients and producer processes, once all three run."""
    parent = psutil.Process(bench.pid)
    deadline = time.monotonic() + STAGES_UP_S
    while time.monotonic() < deadline:
        assert bench.poll() is None, bench.communicate()[1].decode()[-2000:]
        found = {}
        for child in parent.children(recursive=True):
            try:
                line = " ".join(child.cmdline())
            except psutil.Error:
                continue
            for role, mark in (("router", " route "), ("recipients", " recipients "),
                               ("producer", "multiprocessing")):  # fmt: skip
                if mark in line:
                    found[role] = child
        if len(found) == 3:
            return list(found.values())
        time.sleep(0.5)
    pytest.fail("the bench's stages did not start")


def _still_running(stages: list[psutil.Process]) -> list[str]:
    _gone, alive = psutil.wait_procs(stages, timeout=GONE_S)
    return [" ".join(p.cmdline()[:4]) for p in alive if p.is_running()]


def test_sigterm_stops_the_bench_and_every_stage(bootstrap: str, tmp_path: Path) -> None:
    bench = _start_bench(bootstrap, tmp_path)
    try:
        stages = _stages_of(bench)
        bench.send_signal(signal.SIGTERM)
        _out, err = bench.communicate(timeout=60)
    finally:
        if bench.poll() is None:
            bench.kill()
    text = err.decode()
    assert bench.returncode == 128 + signal.SIGTERM, text[-2000:]
    assert "Traceback" not in text
    last = text.strip().splitlines()[-1]
    assert last.startswith("interchange bench: SIGTERM: stopped")
    assert "no report written" in last
    assert _still_running(stages) == []


def test_stages_stop_by_themselves_when_the_bench_is_killed(bootstrap: str, tmp_path: Path) -> None:
    bench = _start_bench(bootstrap, tmp_path)
    try:
        stages = _stages_of(bench)
        bench.kill()  # SIGKILL: the bench can stop nothing
        bench.wait(10)
        leftover = _still_running(stages)
    finally:
        for stage in stages:
            if stage.is_running():
                stage.kill()
    assert leftover == []
