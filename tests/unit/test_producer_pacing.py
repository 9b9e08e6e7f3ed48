"""The producer's wait for the next send time: a short wait sleeps, a stop is still seen."""

from __future__ import annotations

import threading
import time

from interchange.workload.producer import SHORT_WAIT_S, AgencyProducer


def test_a_short_wait_sleeps_its_whole_delay_when_not_stopped() -> None:
    started = time.monotonic()
    assert AgencyProducer._stopped(threading.Event(), 0.003) is False
    assert time.monotonic() - started >= 0.003  # never sends before its time


def test_a_stop_is_seen_before_a_short_wait_and_a_long_one() -> None:
    stop = threading.Event()
    stop.set()
    for delay in (-1.0, 0.0, SHORT_WAIT_S / 2, SHORT_WAIT_S * 20):
        started = time.monotonic()
        assert AgencyProducer._stopped(stop, delay) is True
        assert time.monotonic() - started < SHORT_WAIT_S  # not after sleeping the delay


def test_a_long_wait_ends_early_when_stopped_meanwhile() -> None:
    stop = threading.Event()
    threading.Timer(0.05, stop.set).start()
    started = time.monotonic()
    assert AgencyProducer._stopped(stop, 5.0) is True
    assert time.monotonic() - started < 2.0
