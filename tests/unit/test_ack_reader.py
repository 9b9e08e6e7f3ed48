"""The simulate orchestrator's status reader fetches at the status linger, not at the
stages' 10 ms: on the embedded broker every fetch is held for its full wait, so a shorter
wait only multiplies empty fetches on the cores the stages share."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from interchange.axis.directory import Directory
from interchange.delivery import acks
from interchange.delivery.acks import AckReader, ack_reader_settings
from interchange.settings import Settings


def test_the_wait_is_the_status_linger_when_longer() -> None:
    s = Settings(fetch_max_wait_ms=10, status_linger_ms=50, linger_ms=5)
    assert ack_reader_settings(s).fetch_max_wait_ms == 50


def test_the_wait_never_falls_below_the_stages_or_the_producer_linger() -> None:
    slow_fetch = Settings(fetch_max_wait_ms=80, status_linger_ms=50)
    assert ack_reader_settings(slow_fetch).fetch_max_wait_ms == 80
    soak = Settings(linger_ms=200, status_linger_ms=50)
    assert ack_reader_settings(soak).fetch_max_wait_ms == 200


def test_the_reader_makes_its_consumer_with_that_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[Settings] = []
    stop = threading.Event()

    class NoTopic:
        def partitions_for_topic(self, topic: str) -> None:
            stop.set()  # ends the reader's wait for the topic

        def close(self) -> None:
            pass

    def fake_make_consumer(settings: Settings, **_: Any) -> NoTopic:
        made.append(settings)
        return NoTopic()

    monkeypatch.setattr(acks, "make_consumer", fake_make_consumer)
    reader = AckReader(Settings(fetch_max_wait_ms=10, status_linger_ms=50), Directory(()))
    reader.run(stop)
    assert reader.error is None
    assert [s.fetch_max_wait_ms for s in made] == [50]
