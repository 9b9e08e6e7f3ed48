"""Broker loss and restart: every stage says what happened in a line, keeps going or
stops cleanly, and honours SIGTERM within seconds. The embedded broker loses all its
data on a restart, which is the harshest case (producer state, topics, offsets)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from interchange.delivery.recipient import read_counts
from interchange.kafka.broker import EmbeddedBroker

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SIGTERM_BOUND_S = 15.0
# what router and recipients say once the broker is gone (asserted again at the end)
OUTAGE_LINES = {"router": ("reconnecting", "unreachable"), "recipients": ("not answering",)}
OUTAGE_BOUND_S = 30.0
STATS_SETTLE_S = 2.0


def _stage(args: list[str], log: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "interchange", *args],
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
        text=True,
    )


def _await_deliveries(
    stats: Path, stages: dict[str, subprocess.Popen[str]], logs: dict[str, Path], bound_s: float
) -> None:
    deadline = time.monotonic() + bound_s
    while time.monotonic() < deadline:
        if read_counts([stats]).delivered > 0:
            return
        assert all(p.poll() is None for p in stages.values()), {
            n: logs[n].read_text()[-2000:] for n, p in stages.items() if p.poll() is not None
        }
        time.sleep(0.5)
    pytest.fail(f"no delivery within {bound_s:.0f} s: {logs['router'].read_text()[-2000:]}")


def _assert_running(stages: dict[str, subprocess.Popen[str]], logs: dict[str, Path]) -> None:
    assert all(p.poll() is None for p in stages.values()), {
        n: logs[n].read_text()[-2000:] for n, p in stages.items() if p.poll() is not None
    }


@contextmanager
def _lines_after(
    logs: dict[str, Path],
    wanted: dict[str, tuple[str, ...]],
    stages: dict[str, subprocess.Popen[str]],
    bound_s: float,
) -> Iterator[None]:
    """After the block, wait until each stage named in `wanted` has logged one of its
    phrases since the block began, all still running."""
    since = {n: len(logs[n].read_text()) for n in wanted}
    yield
    deadline = time.monotonic() + bound_s
    while True:
        missing = {
            n: words for n, words in wanted.items()
            if not any(w in logs[n].read_text()[since[n]:] for w in words)
        }  # fmt: skip
        if not missing:
            return
        _assert_running(stages, logs)
        assert time.monotonic() < deadline, {n: logs[n].read_text()[-2000:] for n in missing}
        time.sleep(0.5)


@pytest.mark.skipif(bool(os.environ.get("INTERCHANGE_BOOTSTRAP")), reason="kills its own broker")
def test_every_stage_survives_a_broker_restart_and_stops_on_sigterm(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    subprocess.run(
        [sys.executable, "-m", "interchange", "keys", "init", "--keys-dir", str(keys),
         "--preset", "tiny"],
        check=True, capture_output=True,
    )  # fmt: skip
    first = EmbeddedBroker(log_path=tmp_path / "broker-1.log").start()
    port = first.port
    assert port is not None
    bootstrap = first.bootstrap
    common = ["--bootstrap", bootstrap, "--keys-dir", str(keys), "--preset", "tiny"]
    logs = {name: tmp_path / f"{name}.log" for name in ("router", "recipients", "producer")}
    subprocess.run(
        [sys.executable, "-m", "interchange", "topics", "create", "--bootstrap", bootstrap],
        check=True, capture_output=True,
    )  # fmt: skip
    stages = {
        "router": _stage(["route", *common, "--router-id", "loss"], logs["router"]),
        "recipients": _stage(
            ["recipients", *common, "--stats-file", str(tmp_path / "recipients.json")],
            logs["recipients"],
        ),
        "producer": _stage(
            ["produce", *common, "--rate", "50", "--duration", "120", "--no-progress",
             "--out-dir", str(tmp_path / "run")],
            logs["producer"],
        ),
    }  # fmt: skip
    second = None
    try:
        # documents flow end to end before the broker dies (a loaded machine joins slowly)
        _await_deliveries(tmp_path / "recipients.json", stages, logs, bound_s=90)
        # the broker stops (SIGINT: at once): everything in memory is gone. Transactions,
        # flushes and fetches fail meanwhile: the recipients say so within seconds; the
        # router's open transaction fails at its bound (it says so by the end, below)
        with _lines_after(
            logs, {"recipients": OUTAGE_LINES["recipients"]}, stages, bound_s=OUTAGE_BOUND_S
        ):
            first.stop()
        # records fetched before the loss are delivered and counted within a second (the
        # stats file is rewritten every second): what comes after is from the new broker
        time.sleep(STATS_SETTLE_S)
        before = read_counts([tmp_path / "recipients.json"]).delivered
        second = EmbeddedBroker(port=port, log_path=tmp_path / "broker-2.log").start()
        # each stage finds the new broker, and documents flow end to end again:
        # produced, routed and received after the loss
        deadline = time.monotonic() + 60
        while read_counts([tmp_path / "recipients.json"]).delivered <= before:
            assert time.monotonic() < deadline, {
                n: log.read_text()[-2000:] for n, log in logs.items()
            }
            _assert_running(stages, logs)
            time.sleep(0.5)
        _assert_running(stages, logs)
        started = time.monotonic()
        for p in stages.values():
            p.send_signal(signal.SIGTERM)
        for p in stages.values():
            p.wait(timeout=SIGTERM_BOUND_S)
        assert time.monotonic() - started < SIGTERM_BOUND_S
    finally:
        for p in stages.values():
            if p.poll() is None:
                p.kill()
        if second is not None:
            second.stop()
    text = {name: log.read_text() for name, log in logs.items()}
    for name, body in text.items():
        assert "Traceback" not in body, (name, body[-3000:])
    # each stage said what happened, in its own words
    assert any(words in text["router"] for words in OUTAGE_LINES["router"]), text["router"][-2000:]
    assert "not answering" in text["recipients"], text["recipients"][-2000:]
    assert "lost this producer's state" in text["producer"], text["producer"][-2000:]
