"""The router's transaction steps are bounded: a broker that never answers does not
hang the router (it hung in send_offsets_to_transaction, then in abort)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from kafka.errors import KafkaTimeoutError

from interchange.routing.transaction import Batch, Output, run_transaction


class _NeverAnswered:
    """kafka-python's TransactionalRequestResult for a broker that is gone."""

    def wait(self, timeout_ms: float | None = None) -> bool:
        time.sleep(0.05 if timeout_ms is None else min(timeout_ms / 1000, 0.05))
        if timeout_ms is None:  # kafka-python's own calls wait for ever
            return self.wait(None)
        return False


class _Manager:
    def send_offsets_to_transaction(self, offsets: Any, group: Any) -> _NeverAnswered:
        return _NeverAnswered()

    def begin_commit(self) -> _NeverAnswered:
        return _NeverAnswered()

    def begin_abort(self) -> _NeverAnswered:
        return _NeverAnswered()


class _Sender:
    def wakeup(self) -> None:
        pass


class _DeadBrokerProducer:
    """The surface of KafkaProducer that a transaction uses, with the broker gone."""

    def __init__(self) -> None:
        self._transaction_manager = _Manager()
        self._sender = _Sender()
        self.sent: list[str] = []

    def init_transactions(self) -> None:
        pass

    def begin_transaction(self) -> None:
        pass

    def send(self, topic: str, value: bytes | None = None, **_: Any) -> None:
        self.sent.append(topic)

    def flush(self, timeout: float | None = None) -> None:
        pass

    def close(self, timeout: float | None = None) -> None:
        pass

    # kafka-python's public calls: no bound on the wait
    def send_offsets_to_transaction(self, offsets: Any, group: Any) -> None:
        self._transaction_manager.send_offsets_to_transaction(offsets, group).wait()

    def commit_transaction(self) -> None:
        self._transaction_manager.begin_commit().wait()

    def abort_transaction(self) -> None:
        self._transaction_manager.begin_abort().wait()


def _batch() -> Batch:
    batch = Batch(b"r/1:1")
    batch.outputs.append(Output("t", b"k", b"v"))
    return batch


@pytest.mark.timeout(20)
def test_a_transaction_against_a_dead_broker_times_out() -> None:
    producer = _DeadBrokerProducer()
    started = time.monotonic()
    with pytest.raises(KafkaTimeoutError, match="not answered"):
        run_transaction(producer, _batch(), None, "state", timeout_s=0.5)
    # offsets wait (0.5 s) + abort wait (0.5 s), not for ever
    assert time.monotonic() - started < 5
    assert producer.sent == ["t"]


@pytest.mark.timeout(20)
def test_a_stop_request_ends_the_wait_at_once() -> None:
    stop = threading.Event()
    stop.set()
    started = time.monotonic()
    with pytest.raises(KafkaTimeoutError, match="stopped"):
        run_transaction(_DeadBrokerProducer(), _batch(), None, "state", stop=stop, timeout_s=60)
    assert time.monotonic() - started < 5
