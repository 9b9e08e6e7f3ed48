"""Stats files written on a thread of their own, so a stage's loop never waits for them.

A stage rewrites its stats file once a second. Encoding its histograms (HDR, ~0.1-0.2 ms
each; the recipients hold ~100) and writing the file (with an fsync) took the recipients'
loop 16 ms at the median, up to 45 ms, once a second, and every delivery that arrived
meanwhile waited for it (docs/BENCHMARKS.md, "Default simulate's tail, eighth session").
With a `StatsWriter` the loop only takes a snapshot (`RunMetrics.snapshot`, a copy of the
counts) and hands over a function that renders it; the thread renders and writes.

Only the latest request counts: a write still pending when a newer one comes is dropped
(the file is a snapshot of a running process, not a log). `close` waits for the thread;
after it, `write_now` writes on the caller's thread, and nothing the thread still had
can overwrite that last file.
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
        self._closed = False
        self._thread: threading.Thread | None = None
        self._write_lock = threading.Lock()  # one writer of the file at a time
        self.failures = 0  # background writes that failed (each logged)

    def submit(self, render: Render) -> None:
        """Write `render()` soon, on the thread; replaces a request not yet started.
        After `close`, written at once on the caller's thread instead."""
        with self._cond:
            if not self._closed:
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
        only a snapshot is taken. `final`: the stage's last file, written by the caller
        after the thread stopped."""
        snapshot = metrics.snapshot()

        def render() -> str:
            return stats_text(snapshot.to_dict())

        if final:
            self.close()
            self.write_now(render)
        else:
            self.submit(render)

    def write_now(self, render: Render) -> None:
        """Write `render()` on the caller's thread (the last write of a stopping stage)."""
        text = render()
        with self._write_lock:
            atomic_write_text(self.path, text)

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread after the write in progress (a pending one is dropped): later
        writes are the caller's own (`write_now`), and the thread writes nothing after."""
        with self._cond:
            self._closed = True
            self._pending = None
            self._cond.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def idle(self, timeout: float) -> bool:
        """Wait until nothing is pending or being written; False after `timeout`."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending is None and not self._busy, timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending is not None or self._closed)
                if self._closed:
                    self._cond.notify_all()
                    return
                render, self._pending = self._pending, None
                self._busy = True
            try:
                assert render is not None
                text = render()
                with self._write_lock:
                    if not self._closed:  # close() came meanwhile: the caller writes last
                        atomic_write_text(self.path, text)
            except Exception as exc:  # a full disk must not stop the stage; said each time
                self.failures += 1
                log.warning("stats file %s not written: %s", self.path, exc)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
