"""The recipients write their stats file on its own cadence, whatever the loop is doing.

The per-second series of `bench` and `simulate` reads the stats files' write times; when
the file was written from the loop, a loop busy for seconds (a large batch, a status
flush, a commit on a loaded broker) showed as seconds in which nothing was delivered."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from router_helpers import make_pki

from interchange.axis.presets import build
from interchange.delivery import recipient as recipient_module
from interchange.delivery.recipient import RecipientConfig, Recipients
from interchange.kafka.fakes import FakeConsumer, FakeLog, FakeProducer
from interchange.pki.keystore import KeyStore
from interchange.settings import Settings
from interchange.wire.model import Tier

BUSY_S = 0.6  # one pass of the loop, as long as a saturated batch and commit
RUN_S = 1.3
INTERVAL_S = 0.05


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> KeyStore:
    return make_pki(tmp_path_factory.mktemp("keys"), build("tiny"))


class _BusyConsumer(FakeConsumer):
    """Each poll takes BUSY_S, as a loop pass does at saturation."""

    def poll(
        self, timeout_ms: int = 0, max_records: int | None = None
    ) -> Mapping[Any, Sequence[Any]]:
        time.sleep(BUSY_S)
        return super().poll(timeout_ms=0, max_records=max_records)


def _owner(
    keys: KeyStore,
    tmp_path: Path,
    log: FakeLog,
    monkeypatch: pytest.MonkeyPatch,
    consumer: type[FakeConsumer],
) -> Recipients:
    """A static recipients process of the commune tier on the fakes, run as `run` runs it."""
    settings = Settings(bootstrap="127.0.0.1:1", keys_dir=keys.keys_dir)
    config = RecipientConfig(
        tiers=(Tier.COMMUNE,),
        static=True,
        stats_file=tmp_path / "recipients.json",
        report_interval_s=INTERVAL_S,
    )
    owner = Recipients(settings, build("tiny"), config)
    for topic in owner.layout.all:
        log.create(topic, 2)
    monkeypatch.setattr(recipient_module, "create_topics", lambda _settings: None)
    monkeypatch.setattr(
        recipient_module, "make_consumer", lambda _s, group_id=None: consumer(log, group_id)
    )
    monkeypatch.setattr(Recipients, "_status_producer", lambda _self: FakeProducer(log))
    return owner


def _count_writes(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    writes: list[float] = []
    write = Recipients.write_stats

    def counted(self: Recipients) -> None:
        writes.append(time.monotonic())
        write(self)

    monkeypatch.setattr(Recipients, "write_stats", counted)
    return writes


def test_the_stats_file_keeps_its_cadence_while_the_loop_is_busy(
    keys: KeyStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each poll takes 0.6 s (outside the loop's lock): the reporter thread writes."""
    log = FakeLog()
    owner = _owner(keys, tmp_path, log, monkeypatch, _BusyConsumer)
    writes = _count_writes(monkeypatch)
    stop = threading.Event()
    threading.Timer(RUN_S, stop.set).start()
    owner.run(stop)

    # the loop made about RUN_S / BUSY_S passes; the file was written every INTERVAL_S
    assert len(writes) >= 8, writes
    assert (tmp_path / "recipients.json").exists()


def test_the_stats_file_keeps_its_cadence_within_a_long_batch(
    keys: KeyStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One poll returns 400 records that take ~5 ms each (2 s, as a batch of 2,000 does
    at saturation): the loop holds its lock throughout, so the file is written from it."""
    log = FakeLog()
    owner = _owner(keys, tmp_path, log, monkeypatch, FakeConsumer)
    for n in range(400):
        log.append(owner.layout.delivery(Tier.COMMUNE), b"not an envelope %d" % n, key=b"k")
    arrive = Recipients._arrive

    def slow(self: Recipients, tier: Tier, tp: Any, record: Any) -> None:
        time.sleep(0.005)
        arrive(self, tier, tp, record)

    monkeypatch.setattr(Recipients, "_arrive", slow)
    writes = _count_writes(monkeypatch)
    stop = threading.Event()
    threading.Timer(RUN_S, stop.set).start()
    owner.run(stop)

    assert owner.counts.records == 400
    assert len(writes) >= 8, writes
