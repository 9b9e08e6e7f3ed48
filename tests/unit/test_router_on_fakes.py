"""The router's batch, commit and abandon logic on the in-memory Kafka fakes: one
transaction per batch, nothing visible before its commit, and a failed commit undone
so that its records are decided again as new (not as replays of themselves)."""

from __future__ import annotations

import pytest
from kafka.errors import KafkaError
from kafka.structs import TopicPartition
from router_helpers import CENTRAL, COMMUNE, document, make_pki, sign

from interchange.axis.presets import build
from interchange.kafka.clients import assign_all
from interchange.kafka.fakes import FakeConsumer, FakeLog, FakeProducer
from interchange.kafka.seam import Consumer, Producer
from interchange.pki.keystore import KeyStore, TrustStore
from interchange.routing.router import Router, RouterConfig, _Listener
from interchange.routing.transaction import Batch
from interchange.settings import Settings
from interchange.wire import codec
from interchange.wire.model import Tier

GROUP = "interchange-router"
PARTITIONS = 2


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> KeyStore:
    return make_pki(tmp_path_factory.mktemp("keys"), build("tiny"))


def make_router(keys: KeyStore, log: FakeLog, **config: int) -> Router:
    """A router wired to the fakes as `_open_clients` wires it (static assignment)."""
    settings = Settings(bootstrap="127.0.0.1:1", keys_dir=keys.keys_dir)
    router = Router(
        settings,
        build("tiny"),
        TrustStore.open(keys.keys_dir),
        RouterConfig("t", group=GROUP, static=True, **config),  # type: ignore[arg-type]
        echo=lambda _line: None,
    )
    for topic in router.layout.all:
        log.create(topic, PARTITIONS)
    connect(router, log)
    return router


def connect(router: Router, log: FakeLog, producer: FakeProducer | None = None) -> None:
    """New clients, as after a reconnect: positions from the committed offsets."""
    fake = producer or FakeProducer(log)
    fake.init_transactions()
    router._producer = fake
    router._restorer = FakeConsumer(log)
    consumer = FakeConsumer(log, group_id=GROUP)
    router._consumer = consumer
    owned = assign_all(consumer, [router.layout.submissions])
    router._restore({})
    router._assigned([tp.partition for tp in owned])


def fake_producer(router: Router) -> FakeProducer:
    """The router's producer, which `connect` made a fake."""
    assert isinstance(router._producer, FakeProducer)
    return router._producer


def pending(router: Router) -> Batch | None:
    """The batch decided and not yet committed (a call, so each read is a fresh one)."""
    return router._pending


def submit(log: FakeLog, keys: KeyStore, topic: str, numbers: range) -> None:
    for n in numbers:
        env = sign(keys, document(CENTRAL, [COMMUNE], n))
        log.append(topic, codec.encode_envelope(env), key=CENTRAL.encode())


def committed(log: FakeLog, router: Router) -> dict[int, int | None]:
    return {
        tp.partition: log.offset_of(GROUP, tp) for tp in sorted(router._connected().assignment())
    }


def test_the_fakes_offer_the_seam() -> None:
    log = FakeLog()
    consumer: Consumer = FakeConsumer(log, GROUP)
    producer: Producer = FakeProducer(log)
    assert consumer.assignment() == set()
    producer.close()


def test_a_batch_is_one_transaction_with_its_offsets(keys: KeyStore) -> None:
    log = FakeLog()
    router = make_router(keys, log)
    layout = router.layout
    submit(log, keys, layout.submissions, range(3))
    home = log.records(layout.submissions)[0].partition

    assert router._step()
    deliveries = log.records(layout.delivery(Tier.COMMUNE))
    assert len(deliveries) == 3
    assert log.records(layout.rejections) == []
    assert fake_producer(router).transactions == {"committed": 1, "aborted": 0}
    assert committed(log, router)[home] == 3
    assert router.decided == 3
    assert len(log.records(layout.router_state)) == 1  # one changelog record per partition


def test_a_commit_interval_gathers_polls_and_nothing_is_visible_before_the_commit(
    keys: KeyStore,
) -> None:
    log = FakeLog()
    router = make_router(keys, log, commit_interval_ms=3_600_000, batch_size=5)
    layout = router.layout
    submit(log, keys, layout.submissions, range(3))
    assert router._step()  # 3 decided, the batch (room for 5) not due for an hour
    assert pending(router) is not None
    assert log.records(layout.delivery(Tier.COMMUNE)) == []
    assert set(committed(log, router).values()) == {None}

    submit(log, keys, layout.submissions, range(3, 6))
    assert router._step()  # room for 2 more: the batch is full and commits
    assert pending(router) is None
    assert len(log.records(layout.delivery(Tier.COMMUNE))) == 5
    assert fake_producer(router).transactions["committed"] == 1
    router._step()  # the sixth, in a batch of its own still gathering
    router._drain()
    assert len(log.records(layout.delivery(Tier.COMMUNE))) == 6
    assert router.decided == 6


def test_a_failed_commit_is_abandoned_and_its_records_are_decided_again_as_new(
    keys: KeyStore,
) -> None:
    log = FakeLog()
    router = make_router(keys, log)
    layout = router.layout
    submit(log, keys, layout.submissions, range(4))
    producer = fake_producer(router)
    producer.fail_commits = 1

    with pytest.raises(KafkaError):
        router._step()
    assert pending(router) is None
    assert producer.transactions == {"committed": 0, "aborted": 1}
    assert log.records(layout.delivery(Tier.COMMUNE)) == []
    assert set(committed(log, router).values()) == {None}
    assert router.decided == 0

    connect(router, log)  # the run loop reconnects after a Kafka error
    assert router._step()
    # the ids the abandoned batch remembered were forgotten: no REPLAY rejection
    assert log.records(layout.rejections) == []
    assert len(log.records(layout.delivery(Tier.COMMUNE))) == 4
    assert router.decided == 4


def test_a_revocation_while_a_batch_gathers_drops_it_and_the_new_owner_decides_it(
    keys: KeyStore,
) -> None:
    log = FakeLog()
    router = make_router(keys, log, commit_interval_ms=3_600_000)
    layout = router.layout
    consumer = FakeConsumer(log, group_id=GROUP)  # subscribed: the group assigns at poll
    router._consumer = consumer
    consumer.subscribe([layout.submissions], listener=_Listener(router))
    submit(log, keys, layout.submissions, range(2))
    assert router._step()
    assert pending(router) is not None
    assert len(consumer.assignment()) == PARTITIONS

    consumer.rebalance([])  # the group hands every partition to another router
    with pytest.raises(KafkaError, match="rebalance"):
        router._step()
    router._close_clients()  # the run loop's reaction: abandon, then reconnect
    assert pending(router) is None
    assert log.records(layout.delivery(Tier.COMMUNE)) == []
    assert set(committed_of(log, layout.submissions).values()) == {None}

    other = make_router(keys, log)  # the new owner starts at the committed offsets
    assert other._step()
    assert len(log.records(layout.delivery(Tier.COMMUNE))) == 2
    assert log.records(layout.rejections) == []


def committed_of(log: FakeLog, topic: str) -> dict[int, int | None]:
    return {p: log.offset_of(GROUP, TopicPartition(topic, p)) for p in range(PARTITIONS)}


def test_the_warm_up_transaction_commits_the_start_positions_and_writes_nothing(
    keys: KeyStore,
) -> None:
    """Before a static router says it is ready it runs one transaction (the first one
    costs the coordinator round trips): the offsets it commits are where the router
    starts, so nothing is skipped or read twice, and no record is written."""
    log = FakeLog()
    router = make_router(keys, log)
    layout = router.layout
    submit(log, keys, layout.submissions, range(3))
    assert router._step()  # three decided and committed: positions move past them
    before = committed(log, router)
    producer = fake_producer(router)
    records = {topic: len(log.records(topic)) for topic in layout.all}

    consumer = router._connected()
    router._warm_up(producer, consumer, sorted(consumer.assignment()))

    assert producer.transactions == {"committed": 2, "aborted": 0}
    assert committed(log, router) == {
        p: (before[p] if before[p] is not None else 0) for p in before
    }
    assert {topic: len(log.records(topic)) for topic in layout.all} == records
    submit(log, keys, layout.submissions, range(3, 5))
    assert router._step()
    assert router.decided == 5  # the next records are decided once, none skipped


def test_a_static_router_reconnects_with_every_replay_guard_held(keys: KeyStore) -> None:
    """A static router restores, at connect, only partitions without a guard; when it
    held them all (a reconnect after a broker loss) there is nothing to read, and the
    changelog reader was asked to seek with no partition assigned (kafka-python raises:
    `route --static-assignment` exited on its first reconnect)."""
    log = FakeLog()
    router = make_router(keys, log)
    layout = router.layout
    submit(log, keys, layout.submissions, range(2))
    assert router._step()
    router._close_clients()
    connect(router, log)  # every guard is held: nothing to restore
    submit(log, keys, layout.submissions, range(2, 3))
    assert router._step()
    assert router.decided == 3
    assert log.records(layout.rejections) == []
