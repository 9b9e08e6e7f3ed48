"""`watch_parent`: a stage notices that the process that started it is gone."""

from __future__ import annotations

import os
import threading

from interchange.cli.common import StopFlag
from interchange.stages.lifeline import watch_parent


def test_a_parent_that_is_not_ours_is_gone_at_once() -> None:
    gone = threading.Event()
    watch_parent(os.getppid() + 1_000_000, gone.set, interval_s=0.01)  # no such parent
    assert gone.wait(5)


def test_our_own_parent_is_watched_without_a_call() -> None:
    gone = threading.Event()
    thread = watch_parent(os.getppid(), gone.set, interval_s=0.01)
    assert not gone.wait(0.2)
    assert thread.is_alive()  # still watching (a daemon: it never holds the process up)
    assert thread.daemon


def test_the_stop_flag_stops_when_the_parent_is_gone_and_says_why() -> None:
    stop = StopFlag().watch_parent(os.getppid() + 1_000_000)
    assert stop.wait(5)
    assert stop.signal_name == "orchestrator gone"


def test_no_parent_pid_watches_nothing() -> None:
    stop = StopFlag().watch_parent(None)
    assert not stop.wait(0.1)
