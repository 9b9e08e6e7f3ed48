"""The recipients' redelivery mark, without a broker: a record at or below the mark the
partition's previous owner saved is counted as redelivered, not as a new delivery, and
handled again from its 01 (that owner may have died before its 03)."""

from __future__ import annotations

import dataclasses
import time
from types import SimpleNamespace
from typing import Any

from kafka.structs import TopicPartition
from router_helpers import CENTRAL, COMMUNE, document, make_pki, sign

from interchange.axis.presets import build
from interchange.delivery.recipient import RecipientConfig, Recipients
from interchange.kafka.fakes import FakeLog, FakeProducer, FakeRecord
from interchange.settings import Settings
from interchange.wire import codec
from interchange.wire.model import Hop, Tier


def _record(tp: TopicPartition, offset: int, key: bytes, value: bytes) -> FakeRecord:
    return FakeRecord(tp.topic, tp.partition, offset, 0, key, value)


def _codes(log: FakeLog, topic: str) -> list[bytes]:
    return [dict(r.headers)["code"] for r in log.records(topic)]


def test_records_up_to_the_mark_are_redelivered_the_rest_delivered(tmp_path: Any) -> None:
    directory = build("tiny")
    keys = make_pki(tmp_path / "keys", directory)
    settings = Settings(bootstrap="127.0.0.1:1", keys_dir=tmp_path / "keys")
    recipients = Recipients(settings, directory, RecipientConfig(tiers=(Tier.COMMUNE,)))
    log = FakeLog()
    log.create(recipients.layout.status, 1)
    recipients.producer = FakeProducer(log)
    tp = TopicPartition(recipients.layout.delivery(Tier.COMMUNE), 0)
    recipients.marks[tp] = 2  # the previous owner handled offsets 0..2
    for offset in range(5):
        env = sign(keys, document(CENTRAL, [COMMUNE], offset, send_time_us=1_000))
        routed = dataclasses.replace(env, trace=(*env.trace, Hop("router:t", 2_000)))
        value = codec.encode_envelope(routed)
        recipients._arrive(Tier.COMMUNE, tp, _record(tp, offset, COMMUNE.encode(), value))
    counts = recipients.snapshot()[1]
    assert (counts.redelivered, counts.delivered, counts.status_arrived) == (3, 2, 5)
    assert counts.records == counts.delivered + counts.duplicates + counts.redelivered
    assert _codes(log, recipients.layout.status) == [b"01"] * 5  # each handled again
    # the redelivered records are not finished before their 03: the commit may not pass them
    assert recipients.pending.to_commit() == {tp: 0}
    assert recipients.metrics.merged_histogram("delivery").count == 2  # latency once each


class _NetworkThreadConsumer:
    """A consumer whose blocking calls fail as kafka-python's do on its network thread."""

    def __getattr__(self, name: str) -> Any:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("Cannot block on net.run() from the IO thread itself")

        return refuse


def test_a_revocation_calls_no_consumer_method_in_the_callback_and_forgets_after_poll(
    tmp_path: Any,
) -> None:
    """The rebalance callback runs on kafka-python's network thread: the old handler
    committed from there (RuntimeError on every rebalance) and then skipped forgetting
    the revoked partitions' pending offsets."""
    from interchange.delivery.recipient import _Listener

    directory = build("tiny")
    keys = make_pki(tmp_path / "keys", directory)
    settings = Settings(bootstrap="127.0.0.1:1", keys_dir=tmp_path / "keys")
    recipients = Recipients(settings, directory, RecipientConfig(tiers=(Tier.COMMUNE,)))
    log = FakeLog()
    log.create(recipients.layout.status, 1)
    recipients.producer = FakeProducer(log)
    recipients._consumer = _NetworkThreadConsumer()
    tp = TopicPartition(recipients.layout.delivery(Tier.COMMUNE), 0)
    env = sign(keys, document(CENTRAL, [COMMUNE], 1, send_time_us=1_000))
    routed = dataclasses.replace(env, trace=(*env.trace, Hop("router:t", 2_000)))
    recipients._arrive(
        Tier.COMMUNE, tp, _record(tp, 0, COMMUNE.encode(), codec.encode_envelope(routed))
    )
    assert recipients.pending.to_commit() == {tp: 0}  # its 03 is not out yet

    _Listener(recipients).on_partitions_revoked({tp})  # must not touch the consumer
    recipients._rebalanced()  # after the poll, on the loop's thread

    assert recipients.pending.to_commit() == {}  # the next owner has the partition
    assert not recipients.handling.timers  # its pending 03 went out at the revocation
    assert _codes(log, recipients.layout.status) == [b"01", b"03"]


class _Unreachable:
    """A client whose every blocking call waits out its bound: the broker is gone."""

    def __init__(self, waits: list[float]) -> None:
        self.waits = waits

    def _wait(self, seconds: float) -> None:
        self.waits.append(seconds)
        time.sleep(seconds)

    def flush(self, timeout: float | None = None) -> None:
        from kafka.errors import KafkaTimeoutError

        self._wait(timeout or 0.0)
        raise KafkaTimeoutError("no broker")

    def commit(self, offsets: Any = None, timeout_ms: int | None = None) -> None:
        from kafka.errors import KafkaTimeoutError

        self._wait((timeout_ms or 0) / 1000)
        raise KafkaTimeoutError("no broker")

    def close(self, autocommit: bool = True, timeout_ms: int | None = None) -> None:
        self._wait((timeout_ms or 0) / 1000)


def test_stopping_with_the_broker_gone_stays_within_one_budget(
    tmp_path: Any, monkeypatch: Any
) -> None:
    """Flush, commit and every close share one stop budget: with a bound of its own for
    each (3 s), a recipients process took up to ~12 s to honour SIGTERM."""
    from interchange.delivery import recipient as module

    monkeypatch.setattr(module, "STOP_BUDGET_S", 0.6)
    directory = build("tiny")
    make_pki(tmp_path / "keys", directory)
    settings = Settings(bootstrap="127.0.0.1:1", keys_dir=tmp_path / "keys")
    recipients = Recipients(settings, directory, RecipientConfig(tiers=(Tier.COMMUNE,)))
    waits: list[float] = []
    recipients.producer = _Unreachable(waits)  # type: ignore[assignment]
    recipients._consumer = _Unreachable(waits)  # type: ignore[assignment]
    recipients._futures = [SimpleNamespace(is_done=False)]  # a status not acknowledged
    recipients._finish()
    recipients._close()
    assert len(waits) == 3  # the flush, then both closes
    assert sum(waits) <= 0.6 + 0.1 * len(waits)
