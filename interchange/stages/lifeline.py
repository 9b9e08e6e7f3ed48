"""A stage started by an orchestrator (`simulate`, `bench`) stops when the orchestrator is gone.

An orchestrator that is killed outright (SIGKILL, a CI job's time limit, the kernel's
out-of-memory killer) cannot stop its stages. Without this they would run on, each
polling a broker that may be gone and spending a share of a core, until someone finds
them. A stage that knows its orchestrator's process id asks the kernel for its own
parent once a second; when that is no longer the orchestrator (the stage was handed to
init or to a subreaper), it stops exactly as on SIGTERM: flush, commit, stats.

Polling rather than Linux's parent-death signal: that signal follows the *thread* that
started the child, not the process, so an orchestrator that starts a stage from a
worker thread would stop it when that thread ends; and it exists on Linux only.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

PARENT_CHECK_S = 1.0  # how soon a stage notices that its orchestrator is gone


def watch_parent(
    parent_pid: int, on_gone: Callable[[], None], *, interval_s: float = PARENT_CHECK_S
) -> threading.Thread:
    """Call `on_gone` once, from a daemon thread, as soon as this process's parent is no
    longer `parent_pid` (at once if it already is not)."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(interval_s)
        on_gone()

    thread = threading.Thread(target=watch, name="parent-watch", daemon=True)
    thread.start()
    return thread
