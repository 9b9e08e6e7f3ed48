from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from interchange.axis.presets import build_directory
from interchange.cli.common import StopFlag
from interchange.errors import DecodeError
from interchange.kafka.clients import make_consumer
from interchange.kafka.topics import create_topics, layout_of
from interchange.pki.keystore import KeyStore, init_pki
from interchange.settings import Settings
from interchange.wire import codec
from interchange.wire.model import Secrecy
from interchange.workload.faults import Fault
from interchange.workload.generator import WorkloadSpec
from interchange.workload.producer import AgencyProducer, ProducerConfig

pytestmark = pytest.mark.integration


def consume_all(settings: Settings, expected: int, idle_s: float = 1.5) -> list[Any]:
    """Every record of the submissions topic, counted by consuming (never by end offsets)."""
    from kafka import TopicPartition

    topic = layout_of(settings).submissions
    consumer = make_consumer(settings)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        records: list[Any] = []
        deadline = time.monotonic() + 60
        last = time.monotonic()
        while time.monotonic() < deadline:
            batch = consumer.poll(timeout_ms=200)
            for part in batch.values():
                records += part
            if batch:
                last = time.monotonic()
            elif len(records) >= expected and time.monotonic() - last > idle_s:
                break
        return records
    finally:
        consumer.close()


def test_produce_lands_exactly_the_count_keyed_by_sender(settings: Settings) -> None:
    directory = build_directory("tiny")
    create_topics(settings)
    init_pki(settings.keys_dir, list(directory))
    faults = {Fault.MALFORMED: 0.05, Fault.REPLAY: 0.05, Fault.CLASSIFIED_LEAK: 0.03}
    spec = WorkloadSpec(rate=400, count=300, faults=faults, classified={Secrecy.SECRET: 0.05})
    stats = settings.out_dir / "producer.stats.json"
    producer = AgencyProducer(
        settings,
        directory,
        spec,
        KeyStore.open(settings.keys_dir),
        ProducerConfig(seed=8, stats_file=stats),
    )
    result = producer.run(StopFlag())
    withheld = sum(result.sent.withheld.values())
    assert withheld > 0  # the classified share never leaves the producer
    sent = 300 - withheld
    assert (result.sent.documents, result.acked, result.failed) == (300, sent, 0)
    records = consume_all(settings, sent)
    assert len(records) == sent
    malformed = classified = 0
    for record in records:
        try:
            envelope = codec.decode_envelope(record.value)
        except DecodeError:
            malformed += 1
            continue
        doc = codec.decode_document(envelope.content)
        classified += doc.secrecy.classified
        assert record.key == doc.sender.id.encode()
        assert envelope.trace[-1].node == f"producer:{doc.sender.id}"
        assert envelope.trace[-1].time_us >= doc.send_time_us - 1000  # open loop, on time
    assert malformed == result.sent.fault[Fault.MALFORMED.value]
    assert classified == result.sent.fault[Fault.CLASSIFIED_LEAK.value] > 0  # only the leaks
    manifest = producer.manifest()
    assert manifest["sent"]["documents"] == 300
    assert manifest["sent"]["withheld_classified"] == withheld
    assert manifest["schedule_lag"]["count"] == sent
    assert json.loads(stats.read_text())["histograms"]


def test_sigterm_stops_cleanly_and_flushes_everything(settings: Settings, tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    init_pki(settings.keys_dir, list(build_directory("tiny")))  # produce makes no PKI itself
    command = [
        sys.executable,
        "-m",
        "interchange",
        "produce",
        "--preset",
        "tiny",
        "--rate",
        "200",
        "--duration",
        "60",
        "--seed",
        "1",
        "--bootstrap",
        settings.bootstrap or "",
        "--topic-prefix",
        settings.topic_prefix,
        "--keys-dir",
        str(settings.keys_dir),
        "--out-dir",
        str(tmp_path / "out"),
        "--manifest",
        str(manifest),
        "--no-progress",
    ]
    child = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not (tmp_path / "out" / "directory.json").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(2.0)
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    data = json.loads(manifest.read_text())
    assert data["stopped_early"] is True
    sent = data["sent"]["documents"] - data["sent"]["withheld_classified"]  # on the topic
    assert 0 < sent < 200 * 60
    assert data["acked"] == sent
    assert len(consume_all(settings, sent)) == sent


def test_a_producer_with_a_start_file_sends_nothing_until_the_file_names_the_start(
    settings: Settings, tmp_path: Path
) -> None:
    import threading

    directory = build_directory("tiny")
    create_topics(settings)
    init_pki(settings.keys_dir, list(directory))
    start_file = tmp_path / "run.json"
    producer = AgencyProducer(
        settings,
        directory,
        WorkloadSpec(rate=200, count=20),
        KeyStore.open(settings.keys_dir),
        ProducerConfig(seed=3, start_file=start_file),
    )
    stop = threading.Event()
    runner = threading.Thread(target=producer.run, args=(stop,))
    runner.start()
    try:
        time.sleep(1.5)  # connected, waiting for the file
        assert producer.result.sent.documents == 0
        start_us = time.time_ns() // 1000 + 200_000
        start_file.write_text(json.dumps({"start_us": start_us}))
        runner.join(30)
    finally:
        stop.set()
        runner.join(30)
    assert producer.start_us == start_us
    assert producer.result.sent.documents == 20
    assert len(consume_all(settings, 20)) == 20
