"""Conformance checks: the example connector's output passes; each defect gets its finding."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType

import pytest

from interchange.audit.conformance import Checker
from interchange.audit.conformance_findings import Check, Message, MessageReport, Status, totals
from interchange.axis.presets import build_directory
from interchange.cli.main import main
from interchange.clock import now_us
from interchange.pki.keyfiles import Layout
from interchange.pki.keystore import CertFault, KeyStore, TrustStore, init_pki
from interchange.report.junit import junit_xml
from interchange.wire import codec
from interchange.wire.model import (
    AgencyRef,
    Attachment,
    BusinessType,
    Document,
    DocumentType,
    Envelope,
    Hop,
    Priority,
    Secrecy,
    Signer,
)

ROOT = Path(__file__).resolve().parents[2]
G22 = "000.00.00.G22"
G05 = "000.00.00.G05"
H01 = "000.00.00.H01"


def load_example() -> ModuleType:
    path = ROOT / "examples" / "connector" / "connector.py"
    spec = importlib.util.spec_from_file_location("example_connector", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["example_connector"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys")
    init_pki(path, list(build_directory("tiny")))
    return path


@pytest.fixture(scope="module")
def keys(keys_dir: Path) -> KeyStore:
    return KeyStore.open(keys_dir)


@pytest.fixture(scope="module")
def checker(keys_dir: Path) -> Checker:
    return Checker(TrustStore.open(keys_dir))


def document(**changes: object) -> Document:
    body = b"attachment body"
    base = Document(
        id=codec.make_document_id(G22, "2026-11-02", "12", "VPCP-TH"),
        sender=AgencyRef(G22, "Văn phòng Chính phủ"),
        recipients=(AgencyRef(H01, "UBND tỉnh"),),
        code_number="12",
        code_notation="VPCP-TH",
        promulgation_place="Hà Nội",
        promulgation_date="2026-11-02",
        document_type=DocumentType.REPORT,
        subject="Báo cáo tháng",
        signer=Signer("Nguyễn Văn A", "Chánh Văn phòng", "TL."),
        priority=Priority.NORMAL,
        secrecy=Secrecy.NONE,
        business_type=BusinessType.NEW,
        response_for=None,
        due_date=None,
        attachments=(Attachment("a.txt", "text/plain", codec.content_sha256(body), body),),
        send_time_us=now_us(),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def seal(
    keys: KeyStore,
    doc: Document,
    *,
    signer: str | None = None,
    fault: CertFault | None = None,
    content: bytes | None = None,
) -> bytes:
    agency = signer or doc.sender.id
    cred = keys.fault_credential(agency, fault) if fault else keys.credential(agency)
    data = content if content is not None else codec.encode_document(doc)
    hop = Hop(f"producer:{doc.sender.id}", doc.send_time_us)
    return codec.encode_envelope(Envelope(data, cred.sign(data), cred.cert_id, (hop,)))


def run(checker: Checker, value: bytes, key: bytes | None = G22.encode()) -> MessageReport:
    return checker.check(Message("m", value, key), now_us())


def failed(report: MessageReport) -> dict[Check, str]:
    return {f.check: f.reason for f in report.failures()}


def test_example_connector_output_passes_every_check(keys_dir: Path, checker: Checker) -> None:
    example = load_example()
    row = KeyStore.open(keys_dir).valid_rows(G22)[0]
    layout = Layout(keys_dir)
    conn = example.Connector(
        "unused:0", G22, cert=layout.cert(row.cert_id), key=layout.key(row.cert_id)
    )
    _, value = conn.envelope(
        [H01], "Thử nghiệm", "7", "VPCP-TH", [("a.pdf", "application/pdf", b"%PDF")]
    )
    report = run(checker, value)
    assert [f.status for f in report.findings] == [Status.PASS] * len(Check)


def test_own_sealed_document_passes(keys: KeyStore, checker: Checker) -> None:
    assert run(checker, seal(keys, document())).ok


def test_garbage_is_a_schema_failure_and_the_rest_is_skipped(checker: Checker) -> None:
    report = run(checker, b"\x00garbage")
    assert failed(report) == {Check.SCHEMA: "BAD_LENGTH"}
    assert {f.check for f in report.findings if f.status is Status.SKIP} >= {Check.SIGNATURE}


def test_document_content_that_is_not_avro_is_a_schema_failure(
    keys: KeyStore, checker: Checker
) -> None:
    report = run(checker, seal(keys, document(), content=b"\x02not a document"))
    assert Check.SCHEMA in failed(report)


def test_overlong_varint_is_non_canonical_but_schema_valid(
    keys: KeyStore, checker: Checker
) -> None:
    doc = document()
    content = codec.encode_document(doc)
    assert content[-1] < 0x80  # the last byte of send_time_us's varint
    overlong = content[:-1] + bytes([content[-1] | 0x80, 0x00])
    report = run(checker, seal(keys, doc, content=overlong))
    assert failed(report) == {Check.CANONICAL: "NON_CANONICAL"}


def test_flipped_signature_bit(keys: KeyStore, checker: Checker) -> None:
    env = codec.decode_envelope(seal(keys, document()))
    bad = dataclasses.replace(env, signature=bytes([env.signature[0] ^ 1]) + env.signature[1:])
    assert failed(run(checker, codec.encode_envelope(bad))) == {Check.SIGNATURE: "BAD_SIGNATURE"}


def test_signature_of_the_wrong_shape(keys: KeyStore, checker: Checker) -> None:
    env = codec.decode_envelope(seal(keys, document()))
    bad = dataclasses.replace(env, signature=b"\x01" * 7)
    report = run(checker, codec.encode_envelope(bad))
    assert failed(report) == {Check.SIGNATURE: "ALGORITHM_MISMATCH"}


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (CertFault.REVOKED, "REVOKED"),
        (CertFault.EXPIRED, "EXPIRED"),
        (CertFault.NOT_YET_VALID, "NOT_YET_VALID"),
        (CertFault.UNTRUSTED, "UNTRUSTED_CERTIFICATE"),
    ],
)
def test_unacceptable_certificate(
    keys: KeyStore, checker: Checker, fault: CertFault, reason: str
) -> None:
    report = run(checker, seal(keys, document(), fault=fault))
    assert failed(report) == {Check.CERTIFICATE: reason}


def test_certificate_of_another_agency(keys: KeyStore, checker: Checker) -> None:
    report = run(checker, seal(keys, document(), signer=G05))
    assert failed(report) == {Check.CERTIFICATE: "SENDER_MISMATCH"}


def test_unknown_certificate_skips_the_signature(keys: KeyStore, checker: Checker) -> None:
    env = codec.decode_envelope(seal(keys, document()))
    report = run(checker, codec.encode_envelope(dataclasses.replace(env, cert_id="ab" * 32)))
    assert failed(report) == {Check.CERTIFICATE: "UNKNOWN_CERTIFICATE"}
    assert report.findings[list(Check).index(Check.SIGNATURE)].status is Status.SKIP


def test_empty_subject_is_a_missing_field(keys: KeyStore, checker: Checker) -> None:
    report = run(checker, seal(keys, document(subject="  ")))
    assert failed(report) == {Check.REQUIRED_FIELDS: "MISSING_OR_INVALID"}


def test_attachment_digest_mismatch(keys: KeyStore, checker: Checker) -> None:
    att = Attachment("a.txt", "text/plain", b"\x00" * 32, b"body")
    report = run(checker, seal(keys, document(attachments=(att,))))
    assert failed(report) == {Check.REQUIRED_FIELDS: "MISSING_OR_INVALID"}


def test_missing_producer_hop(keys: KeyStore, checker: Checker) -> None:
    env = codec.decode_envelope(seal(keys, document()))
    report = run(checker, codec.encode_envelope(dataclasses.replace(env, trace=())))
    assert failed(report) == {Check.REQUIRED_FIELDS: "MISSING_OR_INVALID"}


def test_id_not_following_the_convention(keys: KeyStore, checker: Checker) -> None:
    report = run(checker, seal(keys, document(id=f"{G22},2026-11-02,12/VPCP-TH")))
    assert failed(report) == {Check.ID_CONVENTION: "ID_MISMATCH"}


def test_send_time_in_the_future(keys: KeyStore, checker: Checker) -> None:
    report = run(checker, seal(keys, document(send_time_us=now_us() + 3600 * 10**6)))
    assert failed(report) == {Check.TIMESTAMPS: "FUTURE"}


def test_send_time_long_before_the_record_timestamp(keys: KeyStore, checker: Checker) -> None:
    later = now_us() + 2 * 86400 * 10**6  # the record's timestamp wins over the reference time
    report = checker.check(Message("m", seal(keys, document()), G22.encode(), later), now_us())
    assert failed(report) == {Check.TIMESTAMPS: "TOO_OLD"}


def test_too_many_attachments(keys: KeyStore, checker: Checker) -> None:
    att = Attachment("a", "text/plain", codec.content_sha256(b""), b"")
    report = run(checker, seal(keys, document(attachments=(att,) * 101)))
    assert failed(report) == {Check.SIZE_LIMITS: "LIMIT_EXCEEDED"}


def test_an_id_longer_than_the_router_forwards(keys: KeyStore, checker: Checker) -> None:
    notation = "V" * (codec.MAX_DOCUMENT_ID_BYTES - len(f"{G22},2026/11/02,12/") + 1)
    doc = document(
        code_notation=notation, id=codec.make_document_id(G22, "2026-11-02", "12", notation)
    )
    assert failed(run(checker, seal(keys, doc))) == {Check.SIZE_LIMITS: "LIMIT_EXCEEDED"}
    shorter = notation[:-1]
    doc = document(
        code_notation=shorter, id=codec.make_document_id(G22, "2026-11-02", "12", shorter)
    )
    assert failed(run(checker, seal(keys, doc))) == {}


def test_record_key_other_than_the_sender(keys: KeyStore, checker: Checker) -> None:
    report = run(checker, seal(keys, document()), key=H01.encode())
    assert failed(report) == {Check.RECORD_KEY: "KEY_MISMATCH"}


def test_classified_document(keys: KeyStore, checker: Checker) -> None:
    report = run(checker, seal(keys, document(secrecy=Secrecy.SECRET)))
    assert failed(report) == {Check.SECRECY: "CLASSIFIED"}


def test_junit_xml_parses_with_one_testcase_per_message_and_check(
    keys: KeyStore, checker: Checker
) -> None:
    reports = [run(checker, seal(keys, document())), run(checker, b"junk")]
    root = ET.fromstring(junit_xml(reports))
    suite = root.find("testsuite")
    assert suite is not None
    assert len(suite.findall("testcase")) == 2 * len(Check)
    assert int(suite.get("failures", "")) == 1
    assert len(suite.findall("testcase/failure")) == 1
    assert totals(reports).failed == 1


def test_cli_on_files_exit_status_and_junit(keys: KeyStore, keys_dir: Path, tmp_path: Path) -> None:
    good = seal(keys, document())
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "good.avro").write_bytes(good)
    args = ["conformance", "--keys-dir", str(keys_dir), "--junit", str(tmp_path / "j.xml")]
    assert main([*args, "--file", str(tmp_path / "in")]) == 0
    lines = [json.dumps(good.hex()), json.dumps({"envelope_hex": "00", "key": G22})]
    (tmp_path / "m.jsonl").write_text("\n".join(lines) + "\n")
    assert main([*args, "--file", str(tmp_path / "m.jsonl")]) == 1
    suite = ET.parse(tmp_path / "j.xml").getroot().find("testsuite")
    assert suite is not None
    assert int(suite.get("tests", "")) == 2 * len(Check)
