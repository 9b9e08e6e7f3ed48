"""`send` and `inbox` through a running router: delivered and acknowledged, or excluded."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agency_helpers import module_settings, running_router

from interchange.audit.replay import ReplayConfig, replay
from interchange.axis.directory import Directory
from interchange.axis.presets import build_directory
from interchange.cli.main import main
from interchange.delivery.fate import Outcome, Until
from interchange.delivery.inbox import AgencyInbox, InboxConfig, Received, save
from interchange.delivery.send import SendRequest, Sent, send_and_follow
from interchange.kafka.clients import make_producer
from interchange.kafka.topics import layout_of
from interchange.pki.keystore import KeyStore, TrustStore
from interchange.settings import Settings
from interchange.wire import codec
from interchange.wire.model import Envelope, ReasonCode, Rejection, StatusCode, Tier

pytestmark = pytest.mark.integration

SENDER = "000.00.00.G22"
RECIPIENT = "000.00.00.H01"
TIMEOUT_S = 45.0  # covers the router's first group join (a few seconds on Tansu)


@pytest.fixture(scope="module")
def directory() -> Directory:
    return build_directory("tiny")


@pytest.fixture(scope="module")
def kit(
    bootstrap: str, tmp_path_factory: pytest.TempPathFactory, directory: Directory
) -> Iterator[Settings]:
    settings = module_settings(bootstrap, tmp_path_factory.mktemp("kit"), directory)
    with running_router(settings, directory):
        yield settings


def test_send_is_delivered_to_the_inbox_and_acknowledged(kit: Settings, tmp_path: Path) -> None:
    config = InboxConfig(
        RECIPIENT, Tier.PROVINCE, acks=(StatusCode.ARRIVED, StatusCode.ACCEPTED), max_documents=1
    )
    inbox = AgencyInbox(kit, TrustStore.open(kit.keys_dir), config)
    got: list[Received] = []
    stop = threading.Event()
    reader = threading.Thread(target=inbox.run, args=(stop, got.append), daemon=True)
    reader.start()
    attachment = tmp_path / "bao-cao.txt"
    attachment.write_bytes("Nội dung".encode())
    request = SendRequest(
        SENDER, (RECIPIENT,), "Báo cáo tháng", "21", "VPCP-TH", attachments=(attachment,)
    )
    credential = KeyStore.open(kit.keys_dir).credential(SENDER)
    events: list[str] = []
    try:
        fate = send_and_follow(
            kit, request, credential, timeout_s=TIMEOUT_S, on_event=events.append
        )
    finally:
        stop.set()
        reader.join(timeout=10)
    assert fate.outcome() is Outcome.DELIVERED
    assert [m.code for m in fate.statuses[RECIPIENT]] == [StatusCode.ARRIVED, StatusCode.ACCEPTED]
    assert len(events) == 2
    assert [r.document.id for r in got if r.document] == [fate.document_id]
    assert got[0].valid
    folder = save(got[0], tmp_path / "saved")
    assert (folder / "attachments" / "00-bao-cao.txt").read_bytes() == attachment.read_bytes()
    assert (folder / "envelope.avro").read_bytes() == got[0].value


def test_a_department_of_a_province_sends_to_a_communes_unit(kit: Settings) -> None:
    """Units are agencies: the health department of a province (Sở Y tế) sends to the
    health station of one of its communes, which receives it and acknowledges it."""
    department, station = "016.00.00.H01", "101.02.01.H01"
    directory = build_directory("tiny")
    assert directory.body_of(department).id == "000.00.00.H01"
    assert directory.ancestor(directory.body_of(station).id, Tier.PROVINCE) == directory.get(
        "000.00.00.H01"
    )
    config = InboxConfig(
        station, Tier.COMMUNE, acks=(StatusCode.ARRIVED, StatusCode.ACCEPTED), max_documents=1
    )
    inbox = AgencyInbox(kit, TrustStore.open(kit.keys_dir), config)
    got: list[Received] = []
    stop = threading.Event()
    reader = threading.Thread(target=inbox.run, args=(stop, got.append), daemon=True)
    reader.start()
    request = SendRequest(department, (station,), "Kế hoạch tiêm chủng", "31", "KH-SYT")
    credential = KeyStore.open(kit.keys_dir).credential(department)
    try:
        fate = send_and_follow(kit, request, credential, timeout_s=TIMEOUT_S)
    finally:
        stop.set()
        reader.join(timeout=10)
    assert fate.outcome() is Outcome.DELIVERED, fate.summary()
    assert [m.code for m in fate.statuses[station]] == [StatusCode.ARRIVED, StatusCode.ACCEPTED]
    assert [r.document.sender.id for r in got if r.document] == [department]
    assert got[0].valid


def test_a_forged_copy_under_the_same_id_does_not_make_send_report_a_rejection(
    kit: Settings,
) -> None:
    """A forger who sees a document id submits a copy with a bad signature under it: the
    router rejects that copy (BAD_SIGNATURE, not authenticated, the forger's coordinates),
    and `send` of the genuine document still reports it delivered."""
    # no document limit: the inbox also answers the documents of earlier tests again
    config = InboxConfig(RECIPIENT, Tier.PROVINCE, acks=(StatusCode.ARRIVED,))
    inbox = AgencyInbox(kit, TrustStore.open(kit.keys_dir), config)
    stop = threading.Event()
    reader = threading.Thread(target=inbox.run, args=(stop, lambda _r: None), daemon=True)
    reader.start()
    credential = KeyStore.open(kit.keys_dir).credential(SENDER)
    forged: list[tuple[int, int]] = []

    def forge(sent: Sent) -> None:  # right after the genuine record is acknowledged
        content = codec.encode_document(sent.document)
        envelope = Envelope(content, bytes(64), credential.cert_id, ())
        producer = make_producer(kit)
        try:
            meta = producer.send(
                layout_of(kit).submissions,
                codec.encode_envelope(envelope),
                key=SENDER.encode(),
            ).get(timeout=10)
        finally:
            producer.close(timeout=5)
        forged.append((meta.partition, meta.offset))

    request = SendRequest(SENDER, (RECIPIENT,), "Công văn gốc", "23", "VPCP-TH")
    try:
        fate = send_and_follow(
            kit, request, credential, timeout_s=TIMEOUT_S, until=Until.ARRIVED, on_sent=forge
        )
    finally:
        stop.set()
        reader.join(timeout=10)
    assert fate.outcome() is Outcome.DELIVERED, fate.summary()
    assert fate.rejection is None
    rejections = _rejections_of(kit, fate.document_id)
    assert [(r.reason, r.authenticated) for r in rejections] == [(ReasonCode.BAD_SIGNATURE, False)]
    topic = layout_of(kit).submissions
    assert [(r.topic, r.partition, r.offset) for r in rejections] == [(topic, *forged[0])]


def _rejections_of(settings: Settings, document_id: str) -> list[Rejection]:
    """Every rejection record naming `document_id` (read until 2 s without a record)."""
    records, _stats = replay(settings, ReplayConfig((layout_of(settings).rejections,)))
    rejections = [codec.decode_rejection(r.value or b"") for r in records]
    return [r for r in rejections if r.document_id == document_id]


def test_classified_send_is_refused_before_sending(
    kit: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "send",
        "--bootstrap",
        str(kit.bootstrap),
        "--topic-prefix",
        kit.topic_prefix,
        "--keys-dir",
        str(kit.keys_dir),
        "--as",
        SENDER,
        "--to",
        RECIPIENT,
        "--subject",
        "Không được gửi",
        "--code-number",
        "22",
        "--code-notation",
        "VPCP-M",
        "--secrecy",
        "secret",
        "--timeout",
        str(TIMEOUT_S),
    ]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # no document id: nothing was submitted
    assert captured.err.splitlines() == [
        "interchange send: error: refusing to send a classified document (secrecy SECRET): "
        "classified documents do not travel over the axis"
    ]


def test_inbox_with_a_group_resumes_and_never_acknowledges_twice(kit: Settings) -> None:
    recipient = "000.00.00.G05"  # central, connected in the tiny preset
    group = f"{kit.topic_prefix}inbox-{recipient}"

    def inbox(**limits: Any) -> AgencyInbox:
        config = InboxConfig(
            recipient, Tier.CENTRAL, acks=(StatusCode.ARRIVED,), group=group, **limits
        )
        return AgencyInbox(kit, TrustStore.open(kit.keys_dir), config)

    first = inbox(max_documents=1)
    reader = threading.Thread(
        target=first.run, args=(threading.Event(), lambda _item: None), daemon=True
    )
    reader.start()
    request = SendRequest(SENDER, (recipient,), "Công văn", "77", "VPCP-KGVX")
    credential = KeyStore.open(kit.keys_dir).credential(SENDER)
    fate = send_and_follow(kit, request, credential, timeout_s=TIMEOUT_S, until=Until.ARRIVED)
    reader.join(timeout=20)
    assert fate.outcome() is Outcome.DELIVERED
    assert (first.received, first.acked) == (1, 1)

    again = inbox(idle_exit_s=2.0)
    again.run(threading.Event(), lambda _item: None)
    assert (again.received, again.acked) == (0, 0)
