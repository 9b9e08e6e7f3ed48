"""Idle cost of the axis: CPU of each stage process with topics created and no traffic.

Starts the embedded broker, a router and a recipients process (the same commands
an operator runs), waits for them to settle, then samples each process's CPU
time from /proc over a window and prints it as a share of one core. Run from a
scratch directory (it writes keys/ there):

    python benchmarks/idle_cpu.py --settle 15 --window 30

Linux only (/proc). A share is (user + system CPU seconds) / wall seconds.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settle", type=float, default=15.0, help="seconds before sampling")
    parser.add_argument("--window", type=float, default=30.0, help="seconds sampled")
    parser.add_argument("--preset", default="province")
    args = parser.parse_args()

    exe = [sys.executable, "-m", "interchange"]
    port = free_port()
    bootstrap = f"127.0.0.1:{port}"
    subprocess.run([*exe, "keys", "init", "--preset", args.preset, "--if-missing"], check=True)
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        procs["broker"] = subprocess.Popen([*exe, "broker", "--port", str(port)])
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("the broker did not start within 30 s") from None
                time.sleep(0.2)
        subprocess.run([*exe, "topics", "create", "--bootstrap", bootstrap], check=True)
        kafka = ["--bootstrap", bootstrap, "--preset", args.preset]
        procs["router"] = subprocess.Popen([*exe, "route", *kafka])
        procs["recipients"] = subprocess.Popen([*exe, "recipients", *kafka])
        time.sleep(args.settle)
        pids = {name: p.pid for name, p in procs.items()}
        # the broker command runs the broker binary as its child: sample that too
        children = Path(f"/proc/{pids['broker']}/task/{pids['broker']}/children")
        if children.exists() and children.read_text().split():
            pids["broker"] = int(children.read_text().split()[0])
        before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        started = time.monotonic()
        time.sleep(args.window)
        wall = time.monotonic() - started
        print(f"idle CPU over {wall:.0f} s, no traffic (share of one core):")
        for name, pid in pids.items():
            share = (cpu_seconds(pid) - before[name]) / wall
            print(f"  {name:<11} {100 * share:5.1f}%")
    finally:
        for p in reversed(procs.values()):
            p.send_signal(signal.SIGTERM)
        for p in reversed(procs.values()):
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
