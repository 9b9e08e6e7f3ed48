"""The embedded broker's lifecycle, against the real Tansu binary."""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from interchange.errors import BrokerError
from interchange.kafka.broker import EmbeddedBroker, kafka_answers, port_in_use
from interchange.kafka.clients import make_consumer, make_producer
from interchange.settings import Settings

pytestmark = pytest.mark.integration


def test_round_trip_with_kafka_python(tmp_path: Path) -> None:
    with EmbeddedBroker(log_path=tmp_path / "b.log") as broker:
        settings = Settings(bootstrap=broker.bootstrap)
        producer = make_producer(settings)
        for i in range(20):
            producer.send("roundtrip", key=b"k", value=f"v{i}".encode())
        producer.flush()
        producer.close()
        consumer = make_consumer(settings, "roundtrip", group_id=None)
        got: list[bytes] = []
        deadline = time.monotonic() + 15
        while len(got) < 20 and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=200).values():
                got += [r.value for r in records]
        consumer.close()
    assert got == [f"v{i}".encode() for i in range(20)]


def test_stop_frees_port_and_leaves_no_process(tmp_path: Path) -> None:
    broker = EmbeddedBroker(log_path=tmp_path / "b.log").start()
    pid, port = broker.pid, broker.port
    assert pid is not None
    assert port is not None
    assert kafka_answers("127.0.0.1", port)
    broker.stop()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert not port_in_use(port)
    assert not kafka_answers("127.0.0.1", port)


def test_stop_with_a_client_connected_is_prompt_and_clean(tmp_path: Path) -> None:
    """Tansu answers SIGTERM with a graceful shutdown of about 5 s, which an in-memory
    broker has no use for: every embedded run (and test) waited it out at its end."""
    broker = EmbeddedBroker(log_path=tmp_path / "b.log").start()
    producer = make_producer(Settings(bootstrap=broker.bootstrap))
    try:
        producer.send("stopping", value=b"x").get(timeout=15)
        process = broker._process
        assert process is not None
        started = time.monotonic()
        broker.stop()
        assert time.monotonic() - started < 2.0
        assert process.returncode == 0  # it exited by itself: not killed
    finally:
        producer.close(timeout=1)
        broker.stop()


def test_two_brokers_at_once(tmp_path: Path) -> None:
    with (
        EmbeddedBroker(log_path=tmp_path / "a.log") as a,
        EmbeddedBroker(log_path=tmp_path / "b.log") as b,
    ):
        assert a.port != b.port
        assert a.port is not None
        assert b.port is not None
        assert kafka_answers("127.0.0.1", a.port)
        assert kafka_answers("127.0.0.1", b.port)


def test_port_taken_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(BrokerError, match=f"port {port} .* in use"):
            EmbeddedBroker(port, log_path=tmp_path / "b.log").start()


def test_restarts_on_its_port_right_after_a_crash(tmp_path: Path) -> None:
    """A SIGKILLed broker's connections linger in TIME_WAIT; a new one starts at once."""
    broker = EmbeddedBroker(log_path=tmp_path / "a.log").start()
    port, pid = broker.port, broker.pid
    assert port is not None
    assert pid is not None
    client = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        request = struct.pack(">hhih", 18, 0, 7, 1) + b"x"  # ApiVersions v0
        client.sendall(struct.pack(">i", len(request)) + request)
        assert client.recv(4096)  # a live Kafka connection, as a client of the old broker has
        os.kill(pid, signal.SIGKILL)  # the broker's side closes first: TIME_WAIT on `port`
        assert client.recv(1) == b""
    finally:
        client.close()
        broker.stop()
    again = EmbeddedBroker(port, log_path=tmp_path / "b.log")
    with again:
        assert kafka_answers("127.0.0.1", port)


def test_missing_binary_is_a_clear_error(tmp_path: Path) -> None:
    broker = EmbeddedBroker(binary=tmp_path / "no-such-tansu", log_path=tmp_path / "b.log")
    with pytest.raises(BrokerError, match="does not exist"):
        broker.start()


def test_broker_command_serves_and_exits_on_sigint(tmp_path: Path) -> None:
    """`interchange broker` prints its address, serves Kafka, and leaves nothing behind."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "interchange", "broker", "--log", str(tmp_path / "b.log")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        address = proc.stdout.readline().strip()
        host, port = address.rsplit(":", 1)
        assert kafka_answers(host, int(port))
        children = psutil.Process(proc.pid).children(recursive=True)
        assert children, "the broker runs as a child process"
        os.kill(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=15) == 0
        for child in children:
            assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE
        assert not port_in_use(int(port))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_broker_dies_with_the_process_that_started_it(tmp_path: Path) -> None:
    """A SIGKILLed owner (a killed test run, bench or simulate) leaves no orphaned broker."""
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from interchange.kafka.broker import EmbeddedBroker\n"
        f"b = EmbeddedBroker(log_path=Path({str(tmp_path / 'b.log')!r})).start()\n"
        "print(b.pid, b.port, flush=True)\n"
        "time.sleep(60)\n"
    )
    owner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout is not None
        pid, port = (int(x) for x in owner.stdout.readline().split())
        assert kafka_answers("127.0.0.1", port)
        owner.kill()
        owner.wait(10)
        deadline = time.monotonic() + 10
        while psutil.pid_exists(pid) and time.monotonic() < deadline:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                break
            time.sleep(0.1)
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    finally:
        if owner.poll() is None:
            owner.kill()
