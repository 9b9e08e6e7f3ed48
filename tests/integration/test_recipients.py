"""Recipients on a real broker: latency, duplicates, leaks, malformed records, downtime, status."""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from router_helpers import CENTRAL, COMMUNE, DISTRICT, PROVINCE, document, make_pki, sign

from interchange.axis.directory import Downtime
from interchange.axis.presets import Scenario, build
from interchange.delivery.recipient import RecipientConfig, Recipients, read_counts
from interchange.kafka.clients import make_consumer, make_producer
from interchange.kafka.topics import create_topics, layout_of
from interchange.metrics.run import read_stats
from interchange.pki.truststore import TrustStore
from interchange.settings import Settings
from interchange.wire import codec
from interchange.wire.model import (
    Envelope,
    Hop,
    Priority,
    Secrecy,
    StatusCode,
    StatusMessage,
    Tier,
)

pytestmark = pytest.mark.integration

DOWN_COMMUNE = "000.01.02.H01"
DOWN_S = 2.0


def _routed(env: Envelope, router_time_us: int, trace: tuple[Hop, ...] | None = None) -> bytes:
    """The envelope as the router writes it: its hop appended to the trace.

    `trace` replaces the trace `sign` made (a producer hop at the intended send time).
    """
    trace = env.trace if trace is None else trace
    hop = Hop("router:test", router_time_us)
    return codec.encode_envelope(dataclasses.replace(env, trace=(*trace, hop)))


def _wait(predicate: Callable[[], bool], timeout: float = 40.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_recipients_record_latency_status_duplicates_leaks_and_downtime(
    settings: Settings, unique: Callable[[str], str], tmp_path: Path
) -> None:
    directory = build("tiny", Scenario(downtime=(Downtime(DOWN_COMMUNE, 0.0, DOWN_S),)))
    keys = make_pki(settings.keys_dir, directory)
    create_topics(settings)
    layout = layout_of(settings)
    stats_file = tmp_path / "recipients.json"
    run_file = tmp_path / "run.json"
    config = RecipientConfig(
        group_prefix=unique("recipients"),
        accept_delay_s=0.05,
        run_file=run_file,  # read at the first arrival, written below once the groups joined
        stats_file=stats_file,
    )
    recipients = Recipients(settings, directory, config, trust=TrustStore.open(settings.keys_dir))
    stop = threading.Event()
    runner = threading.Thread(target=recipients.run, args=(stop,))
    runner.start()
    try:
        _wait(lambda: recipients.snapshot()[1].ready)
        run_start = time.time_ns() // 1000
        run_file.write_text(json.dumps({"start_us": run_start}))
        now = time.time_ns() // 1000
        normal = document(CENTRAL, [COMMUNE, DISTRICT], 1, send_time_us=now - 50_000)
        held = document(PROVINCE, [DOWN_COMMUNE], 2, send_time_us=now - 20_000)
        leaked = document(DISTRICT, [PROVINCE], 3, secrecy=Secrecy.SECRET, send_time_us=now)
        sent = (Hop("producer:p", now - 30_000),)  # the actual send, 20 ms after the intended
        routed = {
            normal.id: _routed(sign(keys, normal), now - 10_000, sent),
            held.id: _routed(sign(keys, held), now - 10_000),
            leaked.id: _routed(sign(keys, leaked), now - 10_000, ()),  # no producer hop
        }
        records = [
            (Tier.COMMUNE, COMMUNE, routed[normal.id]),
            (Tier.DISTRICT, DISTRICT, routed[normal.id]),
            (Tier.COMMUNE, COMMUNE, routed[normal.id]),  # the same delivery again: a duplicate
            (Tier.COMMUNE, DOWN_COMMUNE, routed[held.id]),  # its agency is offline for 2 s
            (Tier.PROVINCE, PROVINCE, routed[leaked.id]),  # a classified document got through
            (Tier.CENTRAL, CENTRAL, b"\x00not an envelope"),
        ]
        producer = make_producer(settings)
        for tier, key, value in records:
            producer.send(layout.delivery(tier), key=key.encode(), value=value)
        producer.flush()
        producer.close()
        _wait(lambda: recipients.snapshot()[1].status_accepted >= 4)
    finally:
        stop.set()
        runner.join(30)
    assert not runner.is_alive()

    metrics, counts = recipients.snapshot()
    assert counts.records == 6
    assert counts.delivered == 4
    assert counts.duplicates == 1
    assert counts.malformed == 1
    assert counts.leaks == 1
    assert counts.held == 1
    assert counts.status_arrived == 4
    assert counts.status_accepted == 4
    assert counts.by_agency[COMMUNE].delivered == 1
    assert counts.by_agency[COMMUNE].duplicates == 1
    assert counts.by_agency[PROVINCE].leaks == 1

    commune_cell = metrics.cells[(Tier.CENTRAL, Tier.COMMUNE, Priority.NORMAL)]
    assert commune_cell.delivered == 1
    assert commune_cell.duplicates == 1
    assert commune_cell.signature_reverified == 1
    assert commune_cell.signature_invalid == 0
    delivery = metrics.histograms("delivery")
    assert delivery[(Tier.CENTRAL, Tier.DISTRICT, Priority.NORMAL)].min >= 50_000
    # Held until the window ended: at least the rest of the 2 s window after it arrived.
    held_hist = delivery[(Tier.PROVINCE, Tier.COMMUNE, Priority.NORMAL)]
    assert held_hist.max >= run_start + int(DOWN_S * 1e6) - held.send_time_us  # 0.1% buckets
    before = metrics.histograms("before_router")[(Tier.CENTRAL, Tier.COMMUNE)]
    assert 39_000 <= before.min <= 41_000  # router hop 10 ms after a send 50 ms ago
    assert metrics.histograms("after_router")[(Tier.CENTRAL, Tier.COMMUNE)].count == 1
    # From the actual send (the producer hop, 30 ms ago), not the intended one (50 ms ago).
    from_send = metrics.histograms("from_send")
    sent_latency = from_send[(Tier.CENTRAL, Tier.COMMUNE)].min
    intended_latency = delivery[(Tier.CENTRAL, Tier.COMMUNE, Priority.NORMAL)].min
    assert sent_latency >= 30_000
    assert 19_500 <= intended_latency - sent_latency <= 20_500  # 0.1% buckets
    assert from_send[(Tier.CENTRAL, Tier.DISTRICT)].count == 1
    assert (Tier.DISTRICT, Tier.PROVINCE) not in from_send  # no producer hop: not recorded

    on_disk = read_stats([stats_file])
    assert on_disk.cells == metrics.cells
    assert read_counts([stats_file]).delivered == 4
    assert json.loads(stats_file.read_text())["recipients"]["ready"] is True

    statuses = _read_statuses(settings, expected=8)
    by_code = {
        code: sorted((s.document_id, s.recipient) for k, s in statuses if s.code is code)
        for code in (StatusCode.ARRIVED, StatusCode.ACCEPTED)
    }
    delivered_pairs = sorted(
        [(normal.id, COMMUNE), (normal.id, DISTRICT), (held.id, DOWN_COMMUNE),
         (leaked.id, PROVINCE)]
    )  # fmt: skip
    assert by_code[StatusCode.ARRIVED] == delivered_pairs
    assert by_code[StatusCode.ACCEPTED] == delivered_pairs
    for key, status in statuses:
        assert key == status.sender  # keyed by the original sender: it travels back to it


def _read_statuses(settings: Settings, expected: int) -> list[tuple[str, StatusMessage]]:
    consumer = make_consumer(settings, layout_of(settings).status, group_id=None)
    out: list[tuple[str, StatusMessage]] = []
    deadline = time.monotonic() + 20
    try:
        while len(out) < expected and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=200).values():
                out += [(r.key.decode(), codec.decode_status(r.value)) for r in records]
        time.sleep(0.3)
        for records in consumer.poll(timeout_ms=300).values():
            out += [(r.key.decode(), codec.decode_status(r.value)) for r in records]
    finally:
        consumer.close()
    return out


def _recipients_process(settings: Settings, group: str, stats: Path) -> subprocess.Popen[str]:
    argv = [
        sys.executable, "-m", "interchange", "recipients", "--bootstrap", str(settings.bootstrap),
        "--topic-prefix", settings.topic_prefix, "--keys-dir", str(settings.keys_dir),
        "--preset", "tiny", "--group-prefix", group, "--accept-delay", "0.01",
        "--stats-file", str(stats),
    ]  # fmt: skip
    return subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)


def test_two_recipients_processes_share_one_group_through_a_rebalance(
    settings: Settings, unique: Callable[[str], str], tmp_path: Path
) -> None:
    """The second process joining makes the group rebalance; both keep working, nobody
    crashes on the rebalance, SIGTERM ends both cleanly, and every delivery is handled."""
    directory = build("tiny")
    keys = make_pki(settings.keys_dir, directory)
    create_topics(settings)
    layout = layout_of(settings)
    group = unique("recipients")
    stats = [tmp_path / "r0.json", tmp_path / "r1.json"]
    now = time.time_ns() // 1000
    docs = [document(CENTRAL, [COMMUNE, DISTRICT], i, send_time_us=now) for i in range(60)]
    routed = [_routed(sign(keys, d), now) for d in docs]
    producer = make_producer(settings)

    def send(batch: list[bytes]) -> None:
        for value in batch:
            producer.send(layout.delivery(Tier.COMMUNE), key=COMMUNE.encode(), value=value)
            producer.send(layout.delivery(Tier.DISTRICT), key=DISTRICT.encode(), value=value)
        producer.flush()

    first = _recipients_process(settings, group, stats[0])
    procs = [first]
    try:
        _wait(lambda: read_counts([stats[0]]).ready, timeout=60)
        send(routed[:30])
        _wait(lambda: read_counts([stats[0]]).status_accepted >= 60, timeout=60)
        procs.append(_recipients_process(settings, group, stats[1]))
        _wait(lambda: read_counts([stats[1]]).ready, timeout=60)  # the rebalance is done
        send(routed[30:])
        _wait(lambda: read_counts(stats).delivered + read_counts(stats).redelivered >= 120, 60)
    finally:
        producer.close()
        for p in procs:
            p.send_signal(signal.SIGTERM)
        errors = [p.communicate(timeout=30)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    assert not any("Traceback" in e for e in errors), errors
    counts = read_counts(stats)
    assert counts.malformed == 0
    # at-least-once: every delivery handled; a repeat is counted, never silent
    assert counts.records == counts.delivered + counts.duplicates + counts.redelivered
    assert counts.delivered == 120


@contextmanager
def _fast_workflow(
    settings: Settings, group: str
) -> Iterator[tuple[Recipients, Callable[..., None]]]:
    """A recipients process on its own thread whose records are handled within
    milliseconds, and a way to deliver signed documents to its commune."""
    from interchange.workrecords.plan import WorkSettings

    directory = build("tiny", Scenario())
    keys = make_pki(settings.keys_dir, directory)
    create_topics(settings)
    layout = layout_of(settings)
    config = RecipientConfig(
        group_prefix=group,
        accept_delay_s=0.01,
        work=WorkSettings(time_scale=1e9),  # a whole handling within milliseconds
    )
    recipients = Recipients(settings, directory, config)
    stop = threading.Event()
    runner = threading.Thread(target=recipients.run, args=(stop,))
    runner.start()
    producer = make_producer(settings)

    def deliver(*docs: object) -> None:
        now = time.time_ns() // 1000
        for d in docs:
            value = _routed(sign(keys, d), now)  # type: ignore[arg-type]
            producer.send(layout.delivery(Tier.COMMUNE), key=COMMUNE.encode(), value=value)
        producer.flush()

    try:
        _wait(lambda: recipients.snapshot()[1].ready)
        yield recipients, deliver
    finally:
        stop.set()
        runner.join(30)
        producer.close()


def test_a_revoke_is_answered_15_while_the_record_is_open_and_16_once_completed(
    settings: Settings, unique: Callable[[str], str]
) -> None:
    """The recall flow at the recipient: a revoke delivered to it is the recall request of
    its target; 13 then 15 (record open: withdrawn) or 16 (06 already sent)."""
    from interchange.wire.model import Business, BusinessType

    def revoke(number: int, target: str) -> object:
        return dataclasses.replace(
            document(CENTRAL, [COMMUNE], number),
            business_type=BusinessType.REVOKE,
            business=Business(target, "sent in error"),
        )

    with _fast_workflow(settings, unique("recall")) as (recipients, deliver):
        done = document(CENTRAL, [COMMUNE], 11)
        deliver(done)
        _wait(lambda: recipients.snapshot()[1].status_completed >= 1)
        still_open = document(CENTRAL, [COMMUNE], 12)
        # in one batch: the revoke is read before the record's 03 timer fires
        deliver(still_open, revoke(13, still_open.id), revoke(14, done.id))
        _wait(lambda: recipients.snapshot()[1].recall_refused >= 1)
        # withdrawn before its 03: counted withdrawn once that 03 (registration) is out
        _wait(lambda: recipients.snapshot()[1].work_withdrawn >= 1)
    counts = recipients.snapshot()[1]
    assert (counts.recall_agreed, counts.recall_refused, counts.work_withdrawn) == (1, 1, 1)
    statuses = [m for _, m in _read_statuses(settings, 8)]
    answers = {(m.document_id, m.code) for m in statuses if m.code.value in {"13", "15", "16"}}
    assert answers == {
        (still_open.id, StatusCode.RECALL_REQUESTED),
        (still_open.id, StatusCode.RECALL_AGREED),
        (done.id, StatusCode.RECALL_REQUESTED),
        (done.id, StatusCode.RECALL_REFUSED),
    }
    # the withdrawn record's handling stopped: no 06 for it
    assert (still_open.id, StatusCode.COMPLETED) not in {(m.document_id, m.code) for m in statuses}


def test_statuses_03_to_06_reach_the_status_topic_in_order_with_staff_and_mode(
    settings: Settings, unique: Callable[[str], str]
) -> None:
    """Every delivered document becomes a work record whose 01, 03, 04, 05, 06 travel back to
    the sender in that order (one partition per sender), each of 03-06 with the official
    who handled the step (StaffInfo) and the online flag, fixed at 03."""
    docs = [document(CENTRAL, [COMMUNE], 21), document(PROVINCE, [COMMUNE], 22)]
    with _fast_workflow(settings, unique("workflow")) as (recipients, deliver):
        deliver(*docs)
        _wait(lambda: recipients.snapshot()[1].status_completed >= len(docs))
    statuses = _read_statuses(settings, 5 * len(docs))
    work = (StatusCode.ACCEPTED, StatusCode.ASSIGNED, StatusCode.IN_PROGRESS)
    for d in docs:
        mine = [(key, m) for key, m in statuses if m.document_id == d.id]
        assert [m.code for _, m in mine] == [StatusCode.ARRIVED, *work, StatusCode.COMPLETED]
        assert {key for key, _ in mine} == {d.sender.id}  # back to the sender
        times = [m.time_us for _, m in mine]
        assert times == sorted(times)
        steps = [m for _, m in mine[1:]]
        assert all(m.recipient == COMMUNE and m.staff is not None for m in steps)
        assert all(m.staff.name and m.staff.position for m in steps if m.staff)
        assert len({m.online for m in steps}) == 1  # the mode is fixed at 03
        assert steps[0].online is not None
