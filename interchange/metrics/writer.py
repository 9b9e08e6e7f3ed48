"""Stats files written on a thread of their own, so a stage's loop never waits for them.

A stage rewrites its stats file once a second. Encoding its histograms (HDR, ~0.1-0.2 ms
each; the recipients hold ~100) and writing the file (with an fsync) took the recipients'
loop 16 ms at the median, up to 45 ms, once a second, and every delivery that arrived
meanwhile waited for it (docs/BENCHMARKS.md, "Default simulate's tail, eighth session").
With a `StatsWriter` the loop only takes a snapshot (`RunMetrics.snapshot`, the buckets in
use) and hands over a function that renders it; the thread renders and writes.

Only the latest request counts: a write still pending when a newer one comes is dropped
(the file is a snapshot of a running process, not a log). `close` has the thread write
what is pending and stop (or writes it on the caller's thread if the thread does not
finish in time); after it, nothing the thread still had can overwrite the file, and any
later write is the caller's own.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from interchange.atomic import atomic_write_text
from interchange.metrics.run import RunMetrics, stats_text

log = logging.getLogger(__name__)

Render = Callable[[], str]


class StatsWriter:
    """Writes one stats file from a daemon thread, the latest request first and only."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._cond = threading.Condition()
        self._pending: Render | None = None
        self._busy = False  # the thread is rendering or writing
        self._closing = False  # close() asked: write what is pending, then stop
        self._closed = False  # closed: the thread writes nothing more
        self._thread: threading.Thread | None = None
        self._write_lock = threading.Lock()  # one writer of the file at a time
        self.failures = 0  # background writes that failed (each logged)

    def submit(self, render: Render) -> None:
        """Write `render()` soon, on the thread; replaces a request not yet started.
        After `close` began, written at once on the caller's thread instead."""
        with self._cond:
            if not self._closing:
                self._pending = render
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name=f"stats:{self.path.name}", daemon=True
                    )
                    self._thread.start()
                self._cond.notify()
                return
        self.write_now(render)

    def write_metrics(self, metrics: RunMetrics, *, final: bool = False) -> None:
        """`write_stats(path, metrics)`, the encoding and the write on the thread: here
        only a snapshot is taken. `final`: the stage's last file; returns once it is
        written (`close`)."""
        snapshot = metrics.snapshot()

        def render() -> str:
            return stats_text(snapshot.to_dict())

        self.submit(render)
        if final:
            self.close()

    def write_now(self, render: Render) -> None:
        """Write `render()` on the caller's thread (the last write of a stopping stage)."""
        text = render()
        with self._write_lock:
            atomic_write_text(self.path, text)

    def close(self, timeout: float = 5.0) -> None:
        """Write what is pending (on the thread), then stop the thread; later writes are
        the caller's own (`write_now`). A request the thread did not finish within
        `timeout` is written here instead, and the thread writes nothing after."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
        with self._write_lock, self._cond:
            self._closed = True
            leftover, self._pending = self._pending, None
        if leftover is not None:
            self.write_now(leftover)

    def idle(self, timeout: float) -> bool:
        """Wait until nothing is pending or being written; False after `timeout`."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending is None and not self._busy, timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending is not None or self._closing)
                if self._pending is None or self._closed:
                    self._cond.notify_all()
                    return
                render, self._pending = self._pending, None
                self._busy = True
            try:
                assert render is not None
                text = render()
                with self._write_lock:
                    if not self._closed:  # close() gave up waiting: the caller writes last
                        atomic_write_text(self.path, text)
            except Exception as exc:  # a full disk must not stop the stage; said each time
                self.failures += 1
                log.warning("stats file %s not written: %s", self.path, exc)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
