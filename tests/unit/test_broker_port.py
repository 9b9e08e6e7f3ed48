"""The broker's "port in use" check: a listener is, a connection in TIME_WAIT is not.

After a crash the old broker's connections linger in TIME_WAIT for about a minute;
the broker itself binds with SO_REUSEADDR (as every Tokio listener does), so it can
start at once, and the check must agree with it.
"""

from __future__ import annotations

import socket
import time

from interchange.kafka.broker import LOOPBACK, port_in_use


def _time_wait_port() -> int:
    """A port whose only trace is a server-side connection in TIME_WAIT."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the broker's listener
    listener.bind((LOOPBACK, 0))
    listener.listen(1)
    port = int(listener.getsockname()[1])
    client = socket.create_connection((LOOPBACK, port), timeout=5)
    served, _ = listener.accept()
    served.close()  # the server closes first: its side (local port `port`) goes to TIME_WAIT
    client.recv(1)  # sees the FIN
    client.close()
    listener.close()
    time.sleep(0.05)
    return port


def _states(port: int) -> set[str]:
    names = {"06": "TIME_WAIT", "0A": "LISTEN"}
    found: set[str] = set()
    with open("/proc/net/tcp", encoding="ascii") as fo:
        for line in fo.readlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            if int(local.split(":")[1], 16) == port:
                found.add(names.get(state, state))
    return found


def test_a_time_wait_connection_does_not_hold_the_port() -> None:
    port = _time_wait_port()
    assert "TIME_WAIT" in _states(port)  # the situation after a broker crash
    assert not port_in_use(port)


def test_a_listener_holds_the_port() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((LOOPBACK, 0))
        listener.listen(1)
        assert port_in_use(int(listener.getsockname()[1]))
