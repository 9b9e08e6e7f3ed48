"""The recipients' commit and rebalance handling on the in-memory Kafka fakes: each
commit saves the handled mark in the companion group, a revocation sends the pending 03s
and forgets the partition, and the next owner reads the mark and counts the handled
records as redelivered (handling them again, from their 01)."""

from __future__ import annotations

import dataclasses

import pytest
from router_helpers import CENTRAL, COMMUNE, document, make_pki, sign

from interchange.axis.presets import build
from interchange.clock import now_us
from interchange.delivery.marks import HandledMarks
from interchange.delivery.recipient import RecipientConfig, Recipients, _Listener
from interchange.delivery.state import InboxCounts
from interchange.kafka.fakes import FakeConsumer, FakeLog, FakeProducer
from interchange.pki.keystore import KeyStore
from interchange.settings import Settings
from interchange.wire import codec
from interchange.wire.model import Hop, Tier

GROUP = "interchange-recipients"
MARKS = GROUP + ".handled"  # the companion group that keeps the handled marks
PARTITIONS = 2


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> KeyStore:
    return make_pki(tmp_path_factory.mktemp("keys"), build("tiny"))


def recipients(keys: KeyStore, log: FakeLog, accept_delay_s: float) -> Recipients:
    """A recipients process on the fakes, subscribed as `run` subscribes it."""
    settings = Settings(bootstrap="127.0.0.1:1", keys_dir=keys.keys_dir)
    config = RecipientConfig(tiers=(Tier.COMMUNE,), accept_delay_s=accept_delay_s)
    owner = Recipients(settings, build("tiny"), config)
    for topic in owner.layout.all:
        log.create(topic, PARTITIONS)
    owner.producer = FakeProducer(log)
    consumer = FakeConsumer(log, group_id=GROUP)
    consumer.subscribe(sorted(owner.tier_of_topic), listener=_Listener(owner))
    owner._consumer = consumer
    owner.mark_store = HandledMarks(GROUP, lambda group: FakeConsumer(log, group_id=group))
    return owner


def fake_consumer(owner: Recipients) -> FakeConsumer:
    """The consumer `recipients` gave the owner."""
    assert isinstance(owner._consumer, FakeConsumer)
    return owner._consumer


def step(owner: Recipients) -> int:
    """One pass of `run`'s loop body: poll, rebalance, arrive, fire due timers."""
    batch = fake_consumer(owner).poll(timeout_ms=0, max_records=100)
    owner._rebalanced()
    for tp, records in batch.items():
        for record in records:
            owner._arrive(owner.tier_of_topic[tp.topic], tp, record)
    owner._fire(now_us())
    return sum(len(r) for r in batch.values())


def deliver(log: FakeLog, keys: KeyStore, topic: str, numbers: range) -> None:
    for n in numbers:
        env = sign(keys, document(CENTRAL, [COMMUNE], n))
        routed = dataclasses.replace(env, trace=(*env.trace, Hop("router:t", now_us())))
        log.append(topic, codec.encode_envelope(routed), key=COMMUNE.encode())


def codes(log: FakeLog, topic: str) -> list[bytes]:
    return [dict(r.headers)["code"] for r in log.records(topic)]


def counts(owner: Recipients) -> InboxCounts:
    return owner.snapshot()[1]


def test_a_commit_passes_the_accepted_records_with_the_handled_mark(keys: KeyStore) -> None:
    log = FakeLog()
    owner = recipients(keys, log, accept_delay_s=0.0)
    topic = owner.layout.delivery(Tier.COMMUNE)
    deliver(log, keys, topic, range(3))
    assert step(owner) == 3  # 01 at arrival, 03 due at once
    owner._commit()
    (tp,) = {tp for tp in fake_consumer(owner).assignment() if log.offset_of(GROUP, tp) is not None}
    assert log.committed[(GROUP, tp)].offset == 3
    assert log.committed[(MARKS, tp)].offset == 3  # mark 2, stored as "next to read"
    assert sorted(codes(log, owner.layout.status)) == [b"01"] * 3 + [b"03"] * 3


def test_a_revocation_sends_the_pending_03s_and_the_next_owner_counts_redeliveries(
    keys: KeyStore,
) -> None:
    log = FakeLog()
    first = recipients(keys, log, accept_delay_s=3600.0)  # 03 not due during the test
    topic = first.layout.delivery(Tier.COMMUNE)
    deliver(log, keys, topic, range(3))
    assert step(first) == 3
    first._commit()  # nothing accepted yet: the offset stays, the mark says 0..2 handled
    (tp,) = {r.partition for r in log.records(topic)}
    home = next(p for p in fake_consumer(first).assignment() if p.partition == tp)
    assert log.committed[(GROUP, home)].offset == 0
    assert log.committed[(MARKS, home)].offset == 3  # the mark: 0..2 handled
    assert codes(log, first.layout.status) == [b"01"] * 3

    fake_consumer(first).rebalance([])  # the group gives the partitions to another process
    assert step(first) == 0
    assert codes(log, first.layout.status) == [b"01"] * 3 + [b"03"] * 3  # sent at revocation
    assert first.pending.to_commit() == {}
    assert not first.timers
    first._commit()
    assert log.committed[(GROUP, home)].offset == 0  # nothing committed for a lost partition

    deliver(log, keys, topic, range(3, 4))
    second = recipients(keys, log, accept_delay_s=0.0)
    assert step(second) == 4  # from the committed offset 0
    assert second.marks == {home: 2}
    got = counts(second)
    assert (got.redelivered, got.delivered) == (3, 1)  # handled again, not delivered twice
    statuses = codes(log, second.layout.status)
    assert sorted(statuses[6:]) == [b"01"] * 4 + [b"03"] * 4  # at-least-once statuses
    second._commit()
    assert log.committed[(GROUP, home)].offset == 4
    assert log.committed[(MARKS, home)].offset == 4
