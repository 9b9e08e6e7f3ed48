"""Samples CPU time and memory (RSS) of the stage processes while a load test runs.

A daemon thread reads `psutil` for each registered process every `interval_s`; the
bench snapshots CPU times when the warm-up ends and at the end, so CPU per document
covers exactly the measured window, and keeps the RSS series of the measured window
(start, peak, end per process: flat or growing).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import psutil


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a process so far (None when it is gone)."""
    try:
        cpu = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return None
    return float(cpu.user + cpu.system)


@dataclass
class ProcessSeries:
    """What was sampled of one process: its role, pid, RSS series and last CPU seconds."""

    role: str
    pid: int
    rss: list[tuple[float, int]] = field(default_factory=list)  # (monotonic s, bytes)
    cpu_s: float = 0.0  # user + system, last sample (children excluded)
    alive: bool = True


class ProcessSampler:
    """Polls registered processes; thread-safe reads via `snapshot_cpu` and `series`."""

    def __init__(self, interval_s: float = 0.5) -> None:
        self.interval_s = interval_s
        self._procs: dict[int, tuple[psutil.Process, ProcessSeries]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, role: str, pid: int) -> None:
        """Register a process (ignored if it is already gone)."""
        try:
            proc = psutil.Process(pid)
        except psutil.Error:
            return
        with self._lock:
            self._procs.setdefault(pid, (proc, ProcessSeries(role, pid)))

    def start(self) -> ProcessSampler:
        self._thread = threading.Thread(target=self._loop, name="bench-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.sample()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def sample(self) -> None:
        now = time.monotonic()
        with self._lock:
            items = list(self._procs.values())
        for proc, series in items:
            if not series.alive:
                continue
            try:
                with proc.oneshot():
                    cpu = proc.cpu_times()
                    rss = proc.memory_info().rss
            except psutil.Error:
                series.alive = False
                continue
            with self._lock:
                series.cpu_s = float(cpu.user + cpu.system)
                series.rss.append((now, int(rss)))

    def snapshot_cpu(self) -> dict[int, float]:
        """pid -> CPU seconds now (sampled on the spot)."""
        self.sample()
        with self._lock:
            return {pid: s.cpu_s for pid, (_, s) in self._procs.items()}

    def series(self) -> list[ProcessSeries]:
        with self._lock:
            return [s for _, s in self._procs.values()]
