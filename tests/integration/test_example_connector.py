"""The example connector (confluent-kafka, no interchange Kafka code) through a running router."""

from __future__ import annotations

import importlib.util
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from agency_helpers import module_settings, running_router

from interchange.audit.conformance import Checker
from interchange.audit.conformance_findings import Status
from interchange.axis.directory import Directory
from interchange.axis.presets import build_directory
from interchange.cli.conformance import read_topic
from interchange.delivery.inbox import AgencyInbox, InboxConfig, Received
from interchange.kafka.topics import layout_of
from interchange.pki.keyfiles import Layout
from interchange.pki.keystore import TrustStore, enroll
from interchange.settings import Settings
from interchange.wire import codec
from interchange.wire.model import StatusCode, Tier

pytestmark = pytest.mark.integration

AGENCY = "000.00.00.G05"
PROVINCE = "000.00.00.H01"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "connector" / "connector.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("example_connector", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["example_connector"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def kit(bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    directory: Directory = build_directory("tiny")
    settings = module_settings(bootstrap, tmp_path_factory.mktemp("example"), directory)
    with running_router(settings, directory):
        yield settings


def test_example_connector_sends_and_reads_its_own_inbox(kit: Settings) -> None:
    row = enroll(kit.keys_dir, AGENCY, Tier.CENTRAL)  # what `interchange keys enroll` does
    layout = Layout(kit.keys_dir)
    example = load_example()
    conn = example.Connector(
        str(kit.bootstrap),
        AGENCY,
        cert=layout.cert(row.cert_id),
        key=layout.key(row.cert_id),
        trust_dir=kit.keys_dir,
        prefix=kit.topic_prefix,
    )
    doc_id = conn.send([PROVINCE, AGENCY], "Từ connector mẫu", "31", "BTC-VP")
    inbox = conn.inbox(timeout_s=45, want=1)
    assert [(i["document"]["id"], i["problem"]) for i in inbox] == [(doc_id, "")]
    assert inbox[0]["trace"][-1]["node"].startswith("router:")

    # the other recipient, read with interchange's own inbox, gets the same verified document
    got: list[Received] = []
    config = InboxConfig(PROVINCE, Tier.PROVINCE, idle_exit_s=1.0)
    AgencyInbox(kit, TrustStore.open(kit.keys_dir), config).run(threading.Event(), got.append)
    assert [(r.document.id if r.document else "", r.valid) for r in got] == [(doc_id, True)]

    # what the connector produced passes every conformance check
    checker = Checker(TrustStore.open(kit.keys_dir))
    submissions = list(read_topic(kit, layout_of(kit).submissions, None, 1.0))
    reports = [checker.check(m, m.timestamp_us or 0) for m in submissions]
    assert len(reports) == 1
    assert [f.status for f in reports[0].findings] == [Status.PASS] * len(reports[0].findings)

    # and its status messages decode with the strict codec
    statuses = [
        codec.decode_status(m.value) for m in read_topic(kit, layout_of(kit).status, None, 1.0)
    ]
    assert [(s.document_id, s.recipient, s.code) for s in statuses] == [
        (doc_id, AGENCY, StatusCode.ARRIVED),
        (doc_id, AGENCY, StatusCode.ACCEPTED),
    ]
