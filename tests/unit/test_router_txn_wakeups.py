"""A transaction wakes the producer's I/O thread once per transactional step, not once
per record appended (kafka-python wakes it on every send that opens a batch: a socket
write and a thread hand-over each, about 140 per transaction on a backlog)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from kafka.structs import TopicPartition

from interchange.routing.transaction import Batch, Output, run_transaction


class _Answered:
    def wait(self, timeout_ms: float | None = None) -> bool:
        return True


class _Manager:
    def send_offsets_to_transaction(self, offsets: Any, group: Any) -> _Answered:
        return _Answered()

    def begin_commit(self) -> _Answered:
        return _Answered()

    def begin_abort(self) -> _Answered:
        return _Answered()


class _Sender:
    def __init__(self) -> None:
        self.wakeups = 0

    def wakeup(self) -> None:
        self.wakeups += 1


class _Metadata:
    def __init__(self, known: set[str]) -> None:
        self.known = known

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        return {0, 1} if topic in self.known else None


class _Producer:
    """KafkaProducer's surface, where every send opens a batch and so wakes the sender
    (as kafka-python's does when a partition has no open batch)."""

    def __init__(self, known: set[str], fail_at: int | None = None) -> None:
        self._transaction_manager = _Manager()
        self._sender = _Sender()
        self._metadata = _Metadata(known)
        self.fail_at = fail_at
        self.sent: list[str] = []
        self.wakeups_during_sends = 0

    def init_transactions(self) -> None:
        pass

    def begin_transaction(self) -> None:
        pass

    def send_offsets_to_transaction(self, offsets: Any, group_metadata: Any) -> None:
        raise AssertionError("the bounded step runs on the transaction manager")

    def commit_transaction(self) -> None:
        raise AssertionError("the bounded step runs on the transaction manager")

    def abort_transaction(self) -> None:
        raise AssertionError("the bounded step runs on the transaction manager")

    def flush(self, timeout: float | None = None) -> None:
        pass

    def close(self, timeout: float | None = None) -> None:
        pass

    def send(
        self,
        topic: str,
        value: bytes | None = None,
        *,
        key: bytes | None = None,
        headers: Sequence[tuple[str, bytes]] | None = None,
        partition: int | None = None,
        timestamp_ms: int | None = None,
    ) -> None:
        if self.fail_at is not None and len(self.sent) == self.fail_at:
            raise ValueError("partition 9 is not among the topic's partitions")
        self.sent.append(topic)
        before = self._sender.wakeups
        self._sender.wakeup()
        self.wakeups_during_sends += self._sender.wakeups - before


def _batch(records: int) -> Batch:
    batch = Batch(txn=b"r/1:1")
    batch.outputs += [Output(f"d{i % 3}", b"k", b"v") for i in range(records)]
    batch.remembered[0] = [(i, f"id-{i}") for i in range(records)]
    batch.next_offsets[TopicPartition("s", 0)] = records
    return batch


TOPICS = {"d0", "d1", "d2", "state"}


def test_the_sends_of_a_transaction_do_not_wake_the_sender() -> None:
    producer = _Producer(TOPICS)
    run_transaction(producer, _batch(50), None, "state")
    assert len(producer.sent) == 51  # 50 outputs and one changelog record
    assert producer.wakeups_during_sends == 0
    assert producer._sender.wakeups == 2  # the offsets step and the commit
    producer._sender.wakeup()  # the sender's own wakeup is back after the transaction
    assert producer._sender.wakeups == 3


def test_a_failed_send_gives_the_sender_its_wakeup_back() -> None:
    producer = _Producer(TOPICS, fail_at=10)
    with pytest.raises(Exception, match="cannot send the batch"):
        run_transaction(producer, _batch(50), None, "state")
    woken = producer._sender.wakeups  # the abort woke it
    assert woken >= 1
    producer._sender.wakeup()
    assert producer._sender.wakeups == woken + 1


def test_a_topic_without_metadata_keeps_the_wakeups() -> None:
    """A send to a topic the producer knows nothing of waits for the I/O thread to fetch
    its metadata: that thread must still be woken."""
    producer = _Producer(TOPICS - {"d2"})
    run_transaction(producer, _batch(9), None, "state")
    assert producer.wakeups_during_sends == 10
