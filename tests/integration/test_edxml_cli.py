"""`edxml import|export` through a running router and an acknowledging inbox: a package
signed by xmlsec1 (or signxml where xmlsec1 is missing) comes back byte for byte."""

from __future__ import annotations

import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from agency_helpers import running_router
from edxml_helpers import (
    XMLSEC1,
    bad_digest,
    classified,
    document,
    package_of,
    template,
    wrapping,
)

from interchange.axis.directory import Directory
from interchange.axis.presets import build_directory
from interchange.cli.main import main
from interchange.delivery.inbox import (
    AgencyInbox,
    InboxConfig,
    Received,
    document_file_name,
    save,
)
from interchange.delivery.send import LOOKBACK_MS
from interchange.edxml import build, read
from interchange.kafka.topics import create_topics
from interchange.pki.keystore import AlgorithmPolicy, KeyStore, TrustStore, init_pki
from interchange.settings import Settings
from interchange.wire.model import StatusCode, StatusMessage, Tier

pytestmark = pytest.mark.integration

SENDER, RECIPIENT = "000.00.00.G05", "000.00.00.H01"


@pytest.fixture(scope="module")
def directory() -> Directory:
    return build_directory("tiny")


@pytest.fixture(scope="module")
def kit(
    bootstrap: str, tmp_path_factory: pytest.TempPathFactory, directory: Directory
) -> Iterator[Settings]:
    tmp = tmp_path_factory.mktemp("edxml-kit")
    settings = Settings.from_env().replace(
        bootstrap=bootstrap,
        topic_prefix=f"edxml-{uuid.uuid4().hex[:10]}.",
        keys_dir=tmp / "keys",
        out_dir=tmp / "out",
        max_poll_interval_ms=3_000,
    )
    init_pki(settings.keys_dir, list(directory), policy=AlgorithmPolicy.parse("rsa-2048-pkcs1"))
    create_topics(settings)
    with running_router(settings, directory):
        yield settings


def _args(kit: Settings) -> list[str]:
    return [
        "--bootstrap",
        str(kit.bootstrap),
        "--topic-prefix",
        kit.topic_prefix,
        "--keys-dir",
        str(kit.keys_dir),
    ]


def _package(kit: Settings, number: int, tmp: Path, *, secret: bool = False) -> bytes:
    """Signed by xmlsec1 with the agency's key and certificate files when it is installed."""
    keys, trust = KeyStore.open(kit.keys_dir), TrustStore.open(kit.keys_dir)
    cred = keys.credential(SENDER)
    doc = document(SENDER, [RECIPIENT], number, time.time_ns() // 1000)
    package = package_of(
        classified(doc) if secret else doc, cred.key, trust.x509_certificate(cred.cert_id)
    )
    if XMLSEC1 is None:
        return package
    (tmp / "template.xml").write_bytes(template(package))
    key = kit.keys_dir / "private" / f"{cred.cert_id}.key"
    pem = kit.keys_dir / "certs" / f"{cred.cert_id}.pem"
    subprocess.run(
        [XMLSEC1, "--sign", "--privkey-pem", f"{key},{pem}",
         "--output", str(tmp / "signed.xml"), str(tmp / "template.xml")],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return (tmp / "signed.xml").read_bytes()


def test_an_imported_package_is_delivered_acknowledged_and_exported_byte_for_byte(
    kit: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    package = _package(kit, 5101, tmp_path)
    (tmp_path / "package.xml").write_bytes(package)
    config = InboxConfig(
        RECIPIENT, Tier.PROVINCE, acks=(StatusCode.ARRIVED, StatusCode.ACCEPTED), max_documents=1
    )
    inbox = AgencyInbox(kit, TrustStore.open(kit.keys_dir), config)
    got: list[Received] = []
    stop = threading.Event()
    reader = threading.Thread(target=inbox.run, args=(stop, got.append), daemon=True)
    reader.start()
    try:
        code = main(
            ["edxml", "import", *_args(kit), "--timeout", "45", str(tmp_path / "package.xml")]
        )
    finally:
        stop.set()
        reader.join(timeout=10)
    out = capsys.readouterr().out
    doc_id = read.read_document(package).id
    assert code == 0, out
    assert out.splitlines()[0] == doc_id
    assert got
    assert got[0].valid, got[0].problem
    folder = save(got[0], tmp_path / "inbox")
    assert (folder / "package.xml").read_bytes() == package  # the recipient's copy
    assert (
        main(["edxml", "export", *_args(kit), "--agency", RECIPIENT, "--out", str(tmp_path / "x")])
        == 0
    )
    exported = sorted((tmp_path / "x").iterdir())
    mine = tmp_path / "x" / f"{document_file_name(doc_id)}.xml"
    assert mine.read_bytes() == package
    codes = sorted(read.read_status(p.read_bytes()).code for p in exported if ".status-" in p.name)
    assert codes == [StatusCode.ARRIVED, StatusCode.ACCEPTED]
    # the recipient's own system answers with a status package; export by id shows it
    answer = StatusMessage(
        doc_id, SENDER, RECIPIENT, StatusCode.IN_PROGRESS, time.time_ns() // 1000
    )
    (tmp_path / "answer.xml").write_bytes(build.serialise(build.status_package(answer)))
    assert main(["edxml", "import", *_args(kit), str(tmp_path / "answer.xml")]) == 0
    by_id = tmp_path / "by-id"
    assert main(["edxml", "export", *_args(kit), "--document", doc_id, "--out", str(by_id)]) == 0
    assert (by_id / f"{document_file_name(doc_id)}.xml").read_bytes() == package
    answered = by_id / f"{document_file_name(doc_id)}.status-05-{RECIPIENT}.xml"
    assert read.read_status(answered.read_bytes()) == answer


def test_a_tampered_package_is_refused_here_and_rejected_by_the_router(
    kit: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "tampered.xml"
    path.write_bytes(bad_digest(_package(kit, 5102, tmp_path)))
    assert main(["edxml", "import", *_args(kit), str(path)]) == 1
    assert "does not verify: BAD_SIGNATURE (edxml:BAD_DIGEST)" in capsys.readouterr().err
    assert main(["edxml", "import", *_args(kit), "--no-verify", "--timeout", "45", str(path)]) == 1
    out = capsys.readouterr().out
    assert "BAD_SIGNATURE" in out
    assert "edxml:BAD_DIGEST" in out


def test_bad_input_is_one_line_and_exit_2(
    kit: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    garbage = tmp_path / "garbage.xml"
    garbage.write_bytes(b"<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>")
    assert main(["edxml", "import", *_args(kit), str(garbage)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert "edxml:FORBIDDEN_MARKUP" in err[0]
    secret = tmp_path / "secret.xml"
    secret.write_bytes(_package(kit, 5103, tmp_path, secret=True))
    assert main(["edxml", "import", *_args(kit), str(secret)]) == 2
    assert capsys.readouterr().out == ""  # nothing submitted


def test_a_wrapped_copy_of_a_delivered_package_is_reported_rejected_not_delivered(
    kit: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The genuine package's statuses are on the status topic already; the wrapped copy's
    fate is its own rejection, not those older statuses (import followed them before)."""
    package = _package(kit, 5104, tmp_path)
    (tmp_path / "genuine.xml").write_bytes(package)
    since = time.time_ns() // 1_000_000 - 1_000  # not the earlier tests' deliveries
    config = InboxConfig(
        RECIPIENT, Tier.PROVINCE, since, acks=(StatusCode.ARRIVED,), max_documents=1
    )
    inbox = AgencyInbox(kit, TrustStore.open(kit.keys_dir), config)
    stop = threading.Event()
    reader = threading.Thread(target=inbox.run, args=(stop, lambda _r: None), daemon=True)
    reader.start()
    try:
        argv = ["edxml", "import", *_args(kit), "--until", "arrived", "--timeout", "45"]
        assert main([*argv, str(tmp_path / "genuine.xml")]) == 0
    finally:
        stop.set()
        reader.join(timeout=10)
    time.sleep(LOOKBACK_MS / 1000 + 1)  # the genuine statuses are older than any lookback
    capsys.readouterr()
    (tmp_path / "wrapped.xml").write_bytes(wrapping(package))
    argv = ["edxml", "import", *_args(kit), "--no-verify", "--until", "arrived"]
    assert main([*argv, "--timeout", "45", str(tmp_path / "wrapped.xml")]) == 1
    assert "edxml:WRAPPING" in capsys.readouterr().out
