"""The recipients' commit and rebalance handling on the in-memory Kafka fakes: each
commit saves the handled mark in the companion group, a revocation sends the pending 03s
and forgets the partition, and the next owner reads the mark and counts the handled
records as redelivered (handling them again, from their 01)."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest
from router_helpers import CENTRAL, COMMUNE, document, make_pki, sign

from interchange.axis.presets import build
from interchange.clock import now_us
from interchange.delivery.handling import RELEASE, Item, Timer
from interchange.delivery.marks import HandledMarks
from interchange.delivery.recipient import RecipientConfig, Recipients, _Listener
from interchange.delivery.state import EXTRAS_KEY, InboxCounts
from interchange.kafka.fakes import FakeConsumer, FakeLog, FakeProducer
from interchange.metrics.run import RunMetrics
from interchange.pki.keystore import KeyStore
from interchange.settings import Settings
from interchange.wire import codec
from interchange.wire.model import (
    Business,
    BusinessType,
    Document,
    Hop,
    StatusCode,
    StatusMessage,
    Tier,
)
from interchange.workrecords.plan import WorkSettings

GROUP = "interchange-recipients"
MARKS = GROUP + ".handled"  # the companion group that keeps the handled marks
PARTITIONS = 2


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> KeyStore:
    return make_pki(tmp_path_factory.mktemp("keys"), build("tiny"))


def recipients(
    keys: KeyStore, log: FakeLog, accept_delay_s: float, work: WorkSettings | None = None
) -> Recipients:
    """A recipients process on the fakes, subscribed as `run` subscribes it."""
    settings = Settings(bootstrap="127.0.0.1:1", keys_dir=keys.keys_dir)
    config = RecipientConfig(
        tiers=(Tier.COMMUNE,), accept_delay_s=accept_delay_s, work=work or WorkSettings()
    )
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
    owner.handling.fire(now_us())
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
    assert not first.handling.timers
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


def handling(log: FakeLog, topic: str) -> dict[str, tuple[bool | None, str]]:
    """Per document: the online flag and the clerk of its 03."""
    out = {}
    for record in log.records(topic):
        msg = codec.decode_status(record.value or b"")
        if msg.code is StatusCode.ACCEPTED:
            assert msg.staff is not None
            out[msg.document_id] = (msg.online, msg.staff.name)
    return out


def test_a_records_handling_does_not_depend_on_the_order_deliveries_arrive(
    keys: KeyStore,
) -> None:
    """Same seed, same deliveries in the opposite order: every record is handled the same
    (online or on paper, by the same clerk), so a run's online shares repeat."""
    values = []
    for n in range(40):
        env = sign(keys, document(CENTRAL, [COMMUNE], n))
        routed = dataclasses.replace(env, trace=(*env.trace, Hop("router:t", now_us())))
        values.append(codec.encode_envelope(routed))
    seen = []
    for order in (values, values[::-1]):
        log = FakeLog()
        owner = recipients(keys, log, accept_delay_s=0.0)
        for value in order:
            log.append(owner.layout.delivery(Tier.COMMUNE), value, key=COMMUNE.encode())
        assert step(owner) == len(order)
        seen.append(handling(log, owner.layout.status))
    assert len(seen[0]) == len(values)
    assert {online for online, _ in seen[0].values()} == {True, False}  # both modes drawn
    assert seen[0] == seen[1]


def test_an_update_is_answered_15_while_the_record_is_open_and_16_once_completed(
    keys: KeyStore,
) -> None:
    """An update (business type 2) is answered like a revoke, 15 or 16 about its target
    with detail 'update <id>', but without a 13, and an agreed update withdraws nothing."""
    log = FakeLog()
    # a simulated day in 86 µs: records complete
    owner = recipients(keys, log, accept_delay_s=0.0, work=WorkSettings(time_scale=1e9))
    topic, status = owner.layout.delivery(Tier.COMMUNE), owner.layout.status

    def send(doc: Document) -> None:
        env = sign(keys, doc)
        routed = dataclasses.replace(env, trace=(*env.trace, Hop("router:t", now_us())))
        log.append(topic, codec.encode_envelope(routed), key=COMMUNE.encode())

    def statuses() -> list[StatusMessage]:
        return [codec.decode_status(r.value or b"") for r in log.records(status)]

    def run_until(done: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 10
        while not done() and time.monotonic() < deadline:
            step(owner)
            time.sleep(0.005)
        assert done()

    def update(n: int, target: str) -> Document:
        return dataclasses.replace(
            document(CENTRAL, [COMMUNE], n),
            business_type=BusinessType.UPDATE,
            business=Business(target, "sửa số liệu"),
        )

    first = document(CENTRAL, [COMMUNE], 1)
    send(first)
    run_until(lambda: any(m.code is StatusCode.COMPLETED for m in statuses()))
    second, late = document(CENTRAL, [COMMUNE], 2), update(3, first.id)
    early = update(4, second.id)
    for doc in (second, late, early):
        send(doc)
    step(owner)
    answers = [
        (m.document_id, m.code, m.detail)
        for m in statuses()
        if m.code in (StatusCode.RECALL_REQUESTED, StatusCode.RECALL_AGREED,
                      StatusCode.RECALL_REFUSED)
    ]  # fmt: skip
    assert answers == [
        (first.id, StatusCode.RECALL_REFUSED, f"update {late.id}"),
        (second.id, StatusCode.RECALL_AGREED, f"update {early.id}"),
    ]
    run_until(  # the updated record goes on to 06
        lambda: any(m.code is StatusCode.COMPLETED and m.document_id == second.id
                    for m in statuses())
    )  # fmt: skip
    got = counts(owner)
    assert (got.update_agreed, got.update_refused, got.update_unanswered) == (1, 1, 0)


def test_the_poll_waits_for_the_next_timer_rounded_up_never_a_busy_poll(keys: KeyStore) -> None:
    """A timer due within the next millisecond gave a poll of 0 ms (rounded down), again
    and again until it was due: about half of a drain's polls."""
    owner = recipients(keys, FakeLog(), accept_delay_s=0.0)
    now = 1_000_000_000
    assert owner._poll_timeout_ms(now) == owner.config.poll_timeout_ms  # no timer
    for due, wait_ms in ((now + 300, 1), (now + 1_000, 1), (now + 1_001, 2), (now - 5, 0)):
        owner.handling.timers = [(due, 1, Timer(due, 1, RELEASE, cast(Item, None)))]
        assert owner._poll_timeout_ms(now) == wait_ms, due - now
    far = now + 10_000_000
    owner.handling.timers = [(far, 1, Timer(far, 1, RELEASE, cast(Item, None)))]
    assert owner._poll_timeout_ms(now) == owner.config.poll_timeout_ms


def test_the_stats_file_encodes_the_metrics_again_only_after_a_delivery_or_duplicate(
    keys: KeyStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The work records' timers change the counters for many seconds after the last
    delivery, not the metrics: each stats file then reuses the metrics' JSON (a histogram
    per flow, HDR-encoded), and still says what the metrics say."""
    log = FakeLog()
    owner = recipients(keys, log, accept_delay_s=0.0)
    stats = tmp_path / "stats.json"
    owner.config = dataclasses.replace(owner.config, stats_file=stats)
    encodes: list[RunMetrics] = []
    to_dict = RunMetrics.to_dict

    def counted(metrics: RunMetrics) -> dict[str, Any]:
        encodes.append(metrics)
        return to_dict(metrics)

    monkeypatch.setattr(RunMetrics, "to_dict", counted)
    topic = owner.layout.delivery(Tier.COMMUNE)

    def written() -> tuple[dict[str, Any], dict[str, Any]]:
        data = json.loads(stats.read_text(encoding="utf-8"))
        return data, data.pop(EXTRAS_KEY)

    deliver(log, keys, topic, range(3))
    step(owner)
    owner.write_stats()
    first, extras = written()
    assert (len(encodes), extras["delivered"]) == (1, 3)
    owner.counts.status_completed += 1  # what a timer's 06 does: counters only
    owner.write_stats()
    again, extras = written()
    assert (len(encodes), extras["status_completed"]) == (1, 1)
    assert again == first == to_dict(owner.metrics)
    deliver(log, keys, topic, range(3, 5))
    deliver(log, keys, topic, range(1))  # a duplicate of the first
    step(owner)
    owner.write_stats()
    later, extras = written()
    assert (len(encodes), extras["delivered"], extras["duplicates"]) == (2, 5, 1)
    assert later == to_dict(owner.metrics) != first
