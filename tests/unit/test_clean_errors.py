"""Bad input through the CLI entry point: one clear line on stderr, exit 2, no traceback.

Run as a subprocess (`python -m interchange`), exactly as a user does, so a traceback
printed by any process (a pool worker too) shows up in stderr.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pki_fixtures import pki_dir  # noqa: F401 - the fixture

from interchange.kafka.broker import find_free_port


def cli(*argv: str, env: dict[str, str] | None = None, timeout: float = 60) -> tuple[int, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("INTERCHANGE_")}
    proc = subprocess.run(
        [sys.executable, "-m", "interchange", *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=clean | (env or {}),
        check=False,
    )
    return proc.returncode, proc.stderr


def assert_one_clean_line(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], err


COMMANDS = [
    ("audit", "--preset", "tiny"),
    ("archive", "--out", "{tmp}/archive"),
    ("topics", "create"),
    ("route",),
    ("recipients",),
    ("produce", "--preset", "tiny", "--count", "1", "--keys-dir", "{tmp}/keys"),
    ("simulate", "--preset", "tiny", "--count", "10", "--out", "{tmp}/run"),
    ("bench", "--rate", "10", "--duration", "1", "--out-dir", "{tmp}/bench"),
    ("inbox", "--agency", "000.00.00.G05"),
    ("conformance", "--topic", "t"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_malformed_bootstrap_flag(command: tuple[str, ...], tmp_path: Path) -> None:
    argv = [a.format(tmp=tmp_path) for a in command]
    code, err = cli(*argv, "--bootstrap", "localhost:abc")
    assert_one_clean_line(code, err, "localhost:abc", "HOST:PORT")


@pytest.mark.parametrize("value", ["localhost:abc", "localhost", "h:1,:2", "h:99999"])
def test_malformed_bootstrap_environment(value: str) -> None:
    code, err = cli("topics", "create", env={"INTERCHANGE_BOOTSTRAP": value})
    assert_one_clean_line(code, err, "HOST:PORT")


def test_produce_with_a_missing_keys_dir_says_how_to_make_one(tmp_path: Path) -> None:
    missing = tmp_path / "typo"
    code, err = cli(
        "produce",
        "--preset",
        "tiny",
        "--count",
        "1",
        "--bootstrap",
        f"127.0.0.1:{find_free_port()}",
        "--keys-dir",
        str(missing),
        "--out-dir",
        str(tmp_path / "out"),
    )
    assert_one_clean_line(code, err, str(missing), "interchange keys init")
    assert not missing.exists()  # no new PKI, not even an empty directory


def test_recipients_verifying_with_a_missing_keys_dir_does_not_start(tmp_path: Path) -> None:
    started = time.monotonic()
    code, err = cli(
        "recipients",
        "--preset",
        "tiny",
        "--verify-at-recipient",
        "--keys-dir",
        str(tmp_path / "missing"),
        "--bootstrap",
        f"127.0.0.1:{find_free_port()}",
        timeout=30,
    )
    assert_one_clean_line(code, err, str(tmp_path / "missing"), "keys init")
    assert time.monotonic() - started < 20  # refused up front, not after a Kafka timeout


def test_an_unknown_signature_algorithm_is_one_line(tmp_path: Path) -> None:
    """Refused before any broker or key work starts (no broker listens at this port)."""
    port = find_free_port()
    bench = ("bench", "--out-dir", str(tmp_path / "b"), "--bootstrap", f"127.0.0.1:{port}")
    keys = ("keys", "init", "--preset", "tiny", "--dir", str(tmp_path / "keys"))
    for argv in (
        (*bench, "--algorithm", "rsa-2048-pkcs2"),
        (*keys, "--algorithms", "rsa-2048-pkcs2"),
    ):
        code, err = cli(*argv)
        assert_one_clean_line(code, err, "rsa-2048-pkcs2", "rsa-2048-pkcs1")
    assert not (tmp_path / "keys" / "ca").exists()


@pytest.mark.parametrize(
    ("command", "who"),
    [
        (("recipients", "--preset", "tiny"), "recipients"),
        (("inbox", "--agency", "000.00.00.G05"), "inbox"),
        (("produce", "--preset", "tiny", "--count", "1", "--out-dir", "{tmp}"), "producer"),
    ],
    ids=lambda c: c[0] if isinstance(c, tuple) else c,
)
def test_sigterm_is_honoured_while_no_broker_answers(
    command: tuple[str, ...],
    who: str,
    pki_dir: Path,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    """Before a broker answers, the process says so once per attempt and stops at SIGTERM
    within seconds (it used to sit silent in kafka-python's 30 s bootstrap, SIGTERM or not)."""
    import signal

    clean = {k: v for k, v in os.environ.items() if not k.startswith("INTERCHANGE_")}
    bootstrap = f"127.0.0.1:{find_free_port()}"  # nothing listens there
    argv = [a.format(tmp=tmp_path) for a in command]
    argv += ["--bootstrap", bootstrap, "--keys-dir", str(pki_dir)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "interchange", *argv],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=clean,
    )
    time.sleep(4)  # past the start-up, into the attempts to connect
    signalled = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert time.monotonic() - signalled < 3, err
    assert proc.returncode == 0, err
    assert "Traceback" not in err, err
    attempts = [line for line in err.splitlines() if "unreachable" in line]
    assert attempts, err
    assert all(line.startswith(f"{who}: Kafka at {bootstrap} unreachable") for line in attempts)
