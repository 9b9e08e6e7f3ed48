"""The producer says when the broker lost its state, even when it learns so only while
flushing at the end (a clean-clone run of the broker-loss test met exactly that)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kafka.errors import OutOfOrderSequenceNumberError

from interchange.axis.presets import build_directory
from interchange.cli.common import StopFlag
from interchange.pki.keystore import KeyStore, init_pki
from interchange.settings import Settings
from interchange.workload import producer as producer_module
from interchange.workload.generator import WorkloadSpec
from interchange.workload.producer import AgencyProducer, ProducerConfig


class _PendingFuture:
    """A send the broker has not answered yet; it fails when the producer flushes."""

    def __init__(self) -> None:
        self.is_done = False
        self._failed = False
        self._errbacks: list[Any] = []

    def add_errback(self, fn: Any) -> None:
        self._errbacks.append(fn)

    def failed(self) -> bool:
        return self._failed

    def fail(self, exc: BaseException) -> None:
        self.is_done, self._failed = True, True
        for fn in self._errbacks:
            fn(exc)


class _ForgottenProducer:
    """Every send waits; the flush finds the broker restarted without this producer."""

    def __init__(self) -> None:
        self.pending: list[_PendingFuture] = []

    def partitions_for(self, topic: str) -> set[int]:
        return {0}

    def send(self, topic: str, **_: Any) -> _PendingFuture:
        future = _PendingFuture()
        self.pending.append(future)
        return future

    def flush(self, timeout: float | None = None) -> None:
        for future in self.pending:
            future.fail(OutOfOrderSequenceNumberError())

    def close(self, timeout: float | None = None) -> None:
        pass


def test_a_lost_state_learnt_in_the_final_flush_is_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = build_directory("tiny")
    settings = Settings.from_env().replace(keys_dir=tmp_path / "keys", out_dir=tmp_path)
    init_pki(settings.keys_dir, list(directory))
    monkeypatch.setattr(producer_module, "make_producer", lambda _settings: _ForgottenProducer())
    said: list[str] = []
    producer = AgencyProducer(
        settings,
        directory,
        WorkloadSpec(rate=2000, count=20),
        KeyStore.open(settings.keys_dir),
        ProducerConfig(seed=1),
        echo=said.append,
    )
    result = producer.run(StopFlag())
    assert result.acked == 0
    assert result.failed > 0
    assert result.first_error.startswith("OutOfOrderSequenceNumberError")
    assert sum("lost this producer's state" in line for line in said) == 1, said
