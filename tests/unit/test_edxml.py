"""edXML packages: mapping, the signing profile, the vectors (checked by xmlsec1 too),
the router's dispatch (tampered, wrapped, classified) and hostile packages."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import random
import subprocess
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from edxml_helpers import (
    SKIP_XMLSEC1,
    XMLSEC1,
    bad_digest,
    classified,
    document,
    package_of,
    template,
    unsigned_element,
    wrapping,
)
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from lxml import etree
from strategies import TIMES_US, documents

from interchange.audit.conformance_edxml import check_package as conformance_of
from interchange.axis.presets import build_directory
from interchange.edxml import build, read, xmlsafe
from interchange.edxml.names import DS
from interchange.edxml.package import prepare
from interchange.edxml.reasons import EdxmlReason, PackageError
from interchange.edxml.verify import check_package, signature_finding
from interchange.errors import EncodeError
from interchange.pki import certificates as certs
from interchange.pki.keystore import AlgorithmPolicy, KeyStore, TrustStore, init_pki
from interchange.routing import formats as dispatch
from interchange.routing.outcomes import Delivered, Excluded, Rejected
from interchange.routing.replay_guard import ReplayGuard
from interchange.wire import codec
from interchange.wire.model import (
    ContentFormat,
    Document,
    Envelope,
    Hop,
    ReasonCode,
    Secrecy,
    StatusCode,
    StatusMessage,
)

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "edxml"
SENDER, RECIPIENT = "000.00.00.G05", "000.00.00.H01"


class VectorCertificates:
    """The vectors' certificates as a trust store would give them (chain and CRL aside)."""

    def __init__(self) -> None:
        self.cert = x509.load_pem_x509_certificate((VECTORS / "sender-cert.pem").read_bytes())
        self.info = certs.describe(self.cert)

    def certificate_reason(self, cert_id: str, sender_id: str, at_us: int) -> ReasonCode | None:
        if cert_id != self.info.cert_id:
            return ReasonCode.UNKNOWN_CERTIFICATE
        return None if sender_id == self.info.agency_id else ReasonCode.SENDER_MISMATCH

    def certificate(self, cert_id: str) -> certs.CertInfo | None:
        return self.info if cert_id == self.info.cert_id else None

    def x509_certificate(self, cert_id: str) -> x509.Certificate | None:
        return self.cert if cert_id == self.info.cert_id else None


MANIFEST = json.loads((VECTORS / "vectors.json").read_text())


@pytest.mark.parametrize("name", sorted(MANIFEST["packages"]))
def test_every_vector_gives_its_finding(name: str) -> None:
    data = (VECTORS / name).read_bytes()
    why = signature_finding(data, MANIFEST["cert_id"], MANIFEST["at_us"], VectorCertificates())
    expected = MANIFEST["packages"][name]
    assert (why.value if why is not None else None) == expected


def _xmlsec1_verifies(path: Path) -> bool:
    assert XMLSEC1 is not None
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(MANIFEST["at_us"] / 1e6 + 3600))
    done = subprocess.run(
        [XMLSEC1, "--verify", "--trusted-pem", str(VECTORS / "root.pem"),
         "--enabled-reference-uris", "empty", "--verification-time", when, str(path)],
        capture_output=True,
        timeout=30,
        check=False,
    )  # fmt: skip
    return done.returncode == 0


@pytest.mark.skipif(XMLSEC1 is None, reason=SKIP_XMLSEC1)
def test_xmlsec1_agrees_on_the_cryptography_of_every_vector() -> None:
    """The independent verifier accepts the good package and refuses a changed digest, a
    foreign key and a partial reference; it accepts the unsigned-element and wrapping
    packages, whose cryptography is intact: only the signing profile refuses those."""
    got = {name: _xmlsec1_verifies(VECTORS / name) for name in MANIFEST["packages"]}
    assert got == {
        "good.xml": True,
        "bad-digest.xml": False,
        "wrong-certificate.xml": False,
        "reference-not-whole.xml": False,
        "unsigned-element.xml": True,
        "wrapping.xml": True,
    }


@pytest.fixture(scope="module")
def rsa_pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    keys_dir = tmp_path_factory.mktemp("edxml") / "keys"
    policy = AlgorithmPolicy.parse("rsa-2048-pkcs1,000.00.00.G14=ed25519")
    init_pki(keys_dir, build_directory("tiny").agencies, policy=policy)
    return keys_dir


def _signed(keys_dir: Path, number: int, now: int) -> bytes:
    keys, trust = KeyStore.open(keys_dir), TrustStore.open(keys_dir)
    cred = keys.credential(SENDER)
    return package_of(
        document(SENDER, [RECIPIENT], number, now), cred.key, trust.x509_certificate(cred.cert_id)
    )


def test_a_package_maps_back_to_its_document(rsa_pki: Path) -> None:
    now = time.time_ns() // 1000
    doc = document(SENDER, [RECIPIENT], 1, now)
    assert read.read_document(_signed(rsa_pki, 1, now)) == doc
    status = StatusMessage(doc.id, SENDER, RECIPIENT, StatusCode.ACCEPTED, now, "ok")
    assert read.read_status(build.serialise(build.status_package(status))) == status


def _decide(keys_dir: Path, package: bytes, now: int) -> object:
    cert_id = KeyStore.open(keys_dir).credential(SENDER).cert_id  # what a forger would name
    envelope = Envelope(
        package, b"", cert_id, (Hop(f"producer:{SENDER}", now),), ContentFormat.EDXML
    )
    trust = TrustStore.open(keys_dir)
    return dispatch.decide(
        codec.encode_envelope(envelope),
        directory=build_directory("tiny"),
        trust=trust,
        certificates=trust,
        replay_window=ReplayGuard(),
        now_us=now,
        placement=None,
        router_node="router:t",
    )


def test_the_router_delivers_a_signed_package_and_keeps_its_bytes(rsa_pki: Path) -> None:
    now = time.time_ns() // 1000
    package = _signed(rsa_pki, 2, now)
    decision = _decide(rsa_pki, package, now)
    assert isinstance(decision, Delivered)
    assert decision.envelope.content == package
    assert decision.envelope.content_format is ContentFormat.EDXML
    assert [d.recipient for d in decision.deliveries] == [RECIPIENT]


@pytest.mark.parametrize(
    ("tamper", "reason", "word"),
    [
        (bad_digest, ReasonCode.BAD_SIGNATURE, "edxml:BAD_DIGEST"),
        (unsigned_element, ReasonCode.BAD_SIGNATURE, "edxml:UNSIGNED_ELEMENT"),
        (wrapping, ReasonCode.BAD_SIGNATURE, "edxml:WRAPPING"),
    ],
)
def test_the_router_rejects_a_tampered_package_with_its_reason(
    rsa_pki: Path, tamper: object, reason: ReasonCode, word: str
) -> None:
    now = time.time_ns() // 1000
    decision = _decide(rsa_pki, tamper(_signed(rsa_pki, 3, now)), now)  # type: ignore[operator]
    assert isinstance(decision, Rejected)
    assert decision.reason is reason
    assert decision.detail.startswith(word)


def test_a_classified_package_is_excluded_with_nothing_forwarded(rsa_pki: Path) -> None:
    now = time.time_ns() // 1000
    keys, trust = KeyStore.open(rsa_pki), TrustStore.open(rsa_pki)
    cred = keys.credential(SENDER)
    doc = classified(document(SENDER, [RECIPIENT], 4, now))
    decision = _decide(
        rsa_pki, package_of(doc, cred.key, trust.x509_certificate(cred.cert_id)), now
    )
    assert isinstance(decision, Excluded)
    assert decision.rejection.reason is ReasonCode.CLASSIFIED
    assert "Nội dung" not in repr(decision)


def test_an_ed25519_agency_cannot_sign_xml_dsig(rsa_pki: Path) -> None:
    """The profile is rsa-sha256: a package under an Ed25519 certificate is ALGORITHM_MISMATCH."""
    now = time.time_ns() // 1000
    other = KeyStore.open(rsa_pki).credential("000.00.00.G14")
    env = Envelope(
        _signed(rsa_pki, 5, now), b"", other.cert_id, (Hop("producer:x", now),), ContentFormat.EDXML
    )
    got = check_package(
        env.content, other.cert_id, "000.00.00.G14", now, _Any(TrustStore.open(rsa_pki))
    )
    assert got == (ReasonCode.ALGORITHM_MISMATCH, EdxmlReason.ALGORITHM)


class _Any:
    """A trust store whose certificate checks all pass (to reach the algorithm check)."""

    def __init__(self, trust: TrustStore) -> None:
        self._trust = trust

    def certificate_reason(self, cert_id: str, sender_id: str, at_us: int) -> ReasonCode | None:
        return None

    def certificate(self, cert_id: str) -> certs.CertInfo | None:
        return self._trust.certificate(cert_id)

    def x509_certificate(self, cert_id: str) -> x509.Certificate | None:
        return self._trust.x509_certificate(cert_id)


@pytest.mark.skipif(XMLSEC1 is None, reason=SKIP_XMLSEC1)
def test_a_package_signed_by_xmlsec1_is_delivered(rsa_pki: Path, tmp_path: Path) -> None:
    """Signed by an independent tool with the agency's key and certificate from the PKI."""
    assert XMLSEC1 is not None
    now = time.time_ns() // 1000
    cred = KeyStore.open(rsa_pki).credential(SENDER)
    (tmp_path / "t.xml").write_bytes(template(_signed(rsa_pki, 6, now)))
    key = rsa_pki / "private" / f"{cred.cert_id}.key"
    pem = rsa_pki / "certs" / f"{cred.cert_id}.pem"
    subprocess.run(
        [XMLSEC1, "--sign", "--privkey-pem", f"{key},{pem}",
         "--output", str(tmp_path / "s.xml"), str(tmp_path / "t.xml")],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    package = (tmp_path / "s.xml").read_bytes()
    decision = _decide(rsa_pki, package, now)
    assert isinstance(decision, Delivered)
    assert decision.envelope.content == package


def test_conformance_gives_one_finding_per_defect(rsa_pki: Path) -> None:
    now = time.time_ns() // 1000
    trust = TrustStore.open(rsa_pki)
    good = conformance_of("good", _signed(rsa_pki, 7, now), trust, now)
    assert all(f.status.value != "fail" for f in good.findings)
    bad = conformance_of("bad", bad_digest(_signed(rsa_pki, 8, now)), trust, now)
    failed = [(f.check.value, f.reason) for f in bad.findings if f.status.value == "fail"]
    assert failed == [("signature", "BAD_DIGEST")]
    broken = conformance_of("broken", b"<edXMLEnvelope", trust, now)
    assert [(f.check.value, f.reason) for f in broken.findings if f.status.value == "fail"] == [
        ("schema", "NOT_WELL_FORMED")
    ]


LAUGHS = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">
<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><a>&lol3;</a>"""
XXE = b"""<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>"""
HOSTILE = {
    "billion-laughs": (LAUGHS, EdxmlReason.FORBIDDEN_MARKUP),
    "xxe": (XXE, EdxmlReason.FORBIDDEN_MARKUP),
    "utf16-doctype": ("<!DOCTYPE a><a/>".encode("utf-16"), EdxmlReason.NOT_WELL_FORMED),
    "huge": (b"<a>" + b"x" * (xmlsafe.MAX_PACKAGE_BYTES + 1) + b"</a>", EdxmlReason.LIMIT_EXCEEDED),
    "deep": (b"<a>" * 5000 + b"</a>" * 5000, EdxmlReason.LIMIT_EXCEEDED),
    "wide": (b"<a>" + b"<b/>" * 30_000 + b"</a>", EdxmlReason.LIMIT_EXCEEDED),
    "not-xml": (b"\x00\x01garbage", EdxmlReason.NOT_WELL_FORMED),
    "latin1": (b'<?xml version="1.0" encoding="ISO-8859-1"?><a/>', EdxmlReason.NOT_WELL_FORMED),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_package_is_refused_quickly_with_a_reason(name: str) -> None:
    data, why = HOSTILE[name]
    started = time.monotonic()
    with pytest.raises(PackageError) as caught:
        read.read_document(data)
    assert caught.value.why in (why, EdxmlReason.NOT_WELL_FORMED)
    assert time.monotonic() - started < 5


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_mutated_package_never_crashes_the_router(data: st.DataObject) -> None:
    good = (VECTORS / "good.xml").read_bytes()
    at = data.draw(st.integers(0, len(good) - 1))
    cut = data.draw(st.integers(0, 8))
    insert = data.draw(st.binary(max_size=8))
    mutated = good[:at] + insert + good[at + cut :]
    env = Envelope(mutated, b"", MANIFEST["cert_id"], (), ContentFormat.EDXML)
    decision = dispatch.decide(
        codec.encode_envelope(env),
        directory=build_directory("tiny"),
        trust=VectorCertificates(),  # type: ignore[arg-type]
        certificates=VectorCertificates(),
        replay_window=ReplayGuard(),
        now_us=MANIFEST["at_us"],
        placement=None,
    )
    if isinstance(decision, Rejected):
        assert "internal error" not in decision.detail
    else:  # accepted: only bytes outside the signed content changed (base64 whitespace)
        assert _signed_parts(mutated) == _signed_parts(good)


def test_an_edxml_envelope_with_a_detached_signature_is_malformed(rsa_pki: Path) -> None:
    """The package signs itself; bytes in the envelope's signature field would be unchecked."""
    now = time.time_ns() // 1000
    prepared = prepare(_signed(rsa_pki, 9, now), now)
    value = codec.encode_envelope(replace(prepared.envelope, signature=b"\x01" * 256))
    trust = TrustStore.open(rsa_pki)
    decision = dispatch.decide(
        value,
        directory=build_directory("tiny"),
        trust=trust,
        certificates=trust,
        replay_window=ReplayGuard(),
        now_us=now,
        placement=None,
    )
    assert isinstance(decision, Rejected)
    assert decision.reason is ReasonCode.MALFORMED
    assert decision.detail == "document: edxml:STRUCTURE"


def test_the_audit_decides_and_reverifies_edxml_envelopes_as_the_router_does(
    rsa_pki: Path,
) -> None:
    """Without the edXML reader the audit called every package MALFORMED and every status
    of one a status without delivery (found by auditing an axis an edXML import ran on)."""
    from interchange.audit.deliveries import delivery_facts
    from interchange.audit.facts import submission_facts
    from interchange.audit.findings import RawRecord
    from interchange.audit.reverify import Reverified
    from interchange.routing.formats import EdxmlFormats
    from interchange.wire.model import Tier

    now = time.time_ns() // 1000
    trust = TrustStore.open(rsa_pki)
    cert_id = KeyStore.open(rsa_pki).credential(SENDER).cert_id
    good, bad = _signed(rsa_pki, 10, now), bad_digest(_signed(rsa_pki, 11, now))

    def value(package: bytes, *hops: Hop) -> bytes:
        env = Envelope(package, b"", cert_id, (Hop(f"producer:{SENDER}", now), *hops))
        return codec.encode_envelope(replace(env, content_format=ContentFormat.EDXML))

    subs = [
        RawRecord("t.submissions", 0, 0, now // 1000, SENDER.encode(), value(good)),
        RawRecord("t.submissions", 0, 1, now // 1000, SENDER.encode(), value(bad)),
    ]
    delivered = RawRecord(
        "t.delivery.province",
        0,
        0,
        now // 1000,
        RECIPIENT.encode(),
        value(good, Hop("router:r", now)),
    )
    once = Reverified(trust, EdxmlFormats(trust))
    [fact] = delivery_facts([(delivered, Tier.PROVINCE)], trust, once)
    assert (fact.error, fact.verify, fact.document_id) == ("", None, read.read_document(good).id)
    facts = submission_facts(
        subs, build_directory("tiny"), trust, partitions=1, times={}, cache=once
    )
    assert [(f.outcome, f.deliveries) for f in facts] == [
        (None, ((RECIPIENT, Tier.PROVINCE),)),
        (ReasonCode.BAD_SIGNATURE, ()),
    ]


def _tree_mutation(rng: random.Random, good: bytes) -> bytes:
    """One structural change to the good package: drop, repeat, move or rewrite an
    element, add an attribute or a comment, or prepend a document type."""
    root = etree.fromstring(good)
    nodes = [n for n in root.iter() if isinstance(n.tag, str) and n is not root]
    node = rng.choice(nodes)
    action = rng.randrange(7)
    if action == 0:
        node.getparent().remove(node)
    elif action == 1:
        node.addnext(etree.fromstring(etree.tostring(node)))
    elif action == 2:
        target = rng.choice(nodes)
        if target is not node and node not in target.iterancestors():
            target.append(node)
    elif action == 3:
        node.text = rng.choice(["", "0", "999", "x" * 300, "&", "2026/13/40", f"{node.text} "])
    elif action == 4:
        node.set("Id", "x")
    elif action == 5:
        node.append(etree.Comment("unsigned"))
    else:
        return b"<!DOCTYPE x>" + good
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def _signed_parts(package: bytes) -> tuple[bytes, bytes]:
    """What the signature covers: the package without its ds:Signature (the reference) and
    SignedInfo (the signature value); an Id on ds:Signature itself is neither."""
    root = etree.fromstring(package)
    signature = root.find(f".//{{{DS}}}Signature")
    signed_info = etree.tostring(signature.find(f"{{{DS}}}SignedInfo"), method="c14n")
    signature.getparent().remove(signature)
    return bytes(etree.tostring(root, method="c14n")), bytes(signed_info)


@pytest.mark.slow
def test_2000_structural_mutations_are_refused_with_a_reason_or_change_nothing_signed() -> None:
    """Whatever a mutation does, the reader and the verifier answer with an EdxmlReason or
    accept only a package whose signed content is the original's."""
    rng = random.Random(20261201)
    good = (VECTORS / "good.xml").read_bytes()
    signed = _signed_parts(good)
    certificates = VectorCertificates()
    reasons: set[EdxmlReason] = set()
    for _ in range(2000):
        data = _tree_mutation(rng, good)
        try:
            read.read_document(data)
        except PackageError as exc:
            reasons.add(exc.why)
        why = signature_finding(data, MANIFEST["cert_id"], MANIFEST["at_us"], certificates)
        if why is None:
            assert _signed_parts(data) == signed
        else:
            reasons.add(why)
    assert {EdxmlReason.STRUCTURE, EdxmlReason.BAD_DIGEST, EdxmlReason.FORBIDDEN_MARKUP} <= reasons


def test_an_empty_signature_value_is_a_bad_signature_not_a_crash() -> None:
    """signxml raises TypeError on it (found by the structural mutations below)."""
    good = (VECTORS / "good.xml").read_bytes()
    root = etree.fromstring(good)
    root.find(f".//{{{DS}}}SignatureValue").text = None
    data = bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    why = signature_finding(data, MANIFEST["cert_id"], MANIFEST["at_us"], VectorCertificates())
    assert why is EdxmlReason.BAD_SIGNATURE_VALUE


LEAVES = sorted(
    {
        etree.QName(n).localname
        for n in etree.fromstring((VECTORS / "good.xml").read_bytes()).iter()
        if isinstance(n.tag, str) and len(n) == 0 and etree.QName(n).namespace != DS
    }
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(LEAVES), st.text(max_size=40))
@example("Priority", "²")  # str.isdigit() is true for it, int() refuses it
@example("TypeDetail", "٣")
def test_any_text_in_any_field_is_read_or_refused_with_a_reason(leaf: str, text: str) -> None:
    root = etree.fromstring((VECTORS / "good.xml").read_bytes())
    node = next(
        n for n in root.iter() if isinstance(n.tag, str) and etree.QName(n).localname == leaf
    )
    try:
        node.text = text
    except ValueError:  # not XML characters: cannot be in a package at all
        return
    data = bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    with contextlib.suppress(PackageError):  # anything else fails the test
        read.read_document(data)


def test_export_signs_an_avro_document_with_the_senders_rsa_key(rsa_pki: Path) -> None:
    from interchange.edxml.package import export_document, signing_credential

    now = time.time_ns() // 1000
    keys, trust = KeyStore.open(rsa_pki), TrustStore.open(rsa_pki)
    doc = document(SENDER, [RECIPIENT], 12, now)
    cred = signing_credential(keys.credentials(SENDER, now))
    assert cred is not None
    avro = Envelope(codec.encode_document(doc), cred.sign(codec.encode_document(doc)), cred.cert_id)
    package, signed = export_document(avro, doc, cred, trust.x509_certificate(cred.cert_id))
    assert signed
    assert read.read_document(package) == doc
    assert check_package(package, cred.cert_id, SENDER, now, trust) is None
    ed25519 = KeyStore.open(rsa_pki).credentials("000.00.00.G14", now)
    assert signing_credential(ed25519) is None  # no XML-DSig key: exported unsigned
    with pytest.raises(EncodeError, match="cannot be written as edXML"):
        export_document(avro, replace(doc, subject="control \x01 character"), cred, None)
    unsigned, signed = export_document(avro, doc, None, None)
    assert not signed
    assert read.read_document(unsigned) == doc
    assert check_package(unsigned, cred.cert_id, SENDER, now, trust) == (
        ReasonCode.BAD_SIGNATURE,
        EdxmlReason.UNSIGNED,
    )


def test_conformance_edxml_writes_junit_with_one_failure_per_defect(
    rsa_pki: Path, tmp_path: Path
) -> None:
    from interchange.cli.main import main

    now = time.time_ns() // 1000
    files = {
        "good.xml": _signed(rsa_pki, 13, now),
        "digest.xml": bad_digest(_signed(rsa_pki, 14, now)),
        "wrapped.xml": wrapping(_signed(rsa_pki, 15, now)),
        "broken.xml": b"<edXML:edXMLEnvelope",
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    junit = tmp_path / "report.xml"
    argv = ["conformance", "--keys-dir", str(rsa_pki), "--junit", str(junit), "--edxml"]
    assert main([*argv, *(str(tmp_path / n) for n in files)]) == 1
    failures = {
        (case.get("classname", "").rsplit("/", 1)[-1], f.get("message"))
        for case in etree.fromstring(junit.read_bytes()).iter("testcase")
        for f in case.iter("failure")
    }
    assert failures == {
        ("digest.xml", "BAD_DIGEST"),
        ("wrapped.xml", "WRAPPING"),
        ("broken.xml", "NOT_WELL_FORMED"),
    }


def test_conformance_of_edxml_envelopes_checks_the_record_key_and_the_named_certificate(
    rsa_pki: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An EDXML envelope (from a topic, or a .jsonl of records) gets the package checks,
    not the Avro ones; the key must be the sender, cert_id must name KeyInfo's certificate."""
    from interchange.cli.main import main

    now = time.time_ns() // 1000
    prepared = prepare(_signed(rsa_pki, 16, now), now)
    other = KeyStore.open(rsa_pki).credential(RECIPIENT).cert_id

    def line(name: str, key: str, cert_id: str) -> str:
        env = replace(prepared.envelope, cert_id=cert_id)
        item = {"name": name, "key": key, "envelope_hex": codec.encode_envelope(env).hex()}
        return json.dumps(item)

    records = tmp_path / "records.jsonl"
    records.write_text(
        "\n".join(
            [
                line("ok", SENDER, prepared.envelope.cert_id),
                line("key", RECIPIENT, prepared.envelope.cert_id),
                line("cert", SENDER, other),
            ]
        )
    )
    junit = tmp_path / "report.xml"
    argv = ["conformance", "--keys-dir", str(rsa_pki), "--file", str(records), "--junit"]
    assert main([*argv, str(junit)]) == 1
    capsys.readouterr()
    failures = {
        (case.get("classname"), case.get("name"), f.get("message"))
        for case in etree.fromstring(junit.read_bytes()).iter("testcase")
        for f in case.iter("failure")
    }
    assert ("conformance.key", "record-key", "KEY_MISMATCH") in failures
    assert ("conformance.cert", "signature", "KEYINFO_MISMATCH") in failures
    assert not {f for f in failures if f[0] == "conformance.ok"}


def test_export_without_a_broker_to_read_is_one_line_and_exit_2(
    rsa_pki: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from interchange.cli.main import main

    monkeypatch.delenv("INTERCHANGE_BOOTSTRAP", raising=False)
    argv = ["edxml", "export", "--keys-dir", str(rsa_pki), "--agency", RECIPIENT]
    assert main([*argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert "give --bootstrap" in err[0]


def _xml_safe(value: Any) -> Any:
    """`value` with every character XML 1.0 cannot carry (controls, U+FFFE/F) removed."""
    if isinstance(value, str):
        return "".join(c for c in value if c in "\t\n" or (c >= " " and c not in "\ufffe\uffff"))
    if isinstance(value, tuple):
        return tuple(_xml_safe(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return replace(
            value, **{f.name: _xml_safe(getattr(value, f.name)) for f in dataclasses.fields(value)}
        )
    return value


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents(secrecy=st.sampled_from(Secrecy)), TIMES_US)
def test_any_document_maps_to_a_package_and_back(drawn: Document, send_time_us: int) -> None:
    """What routes, what is signed for and what a recipient shows survive the mapping; the
    rest is the standard's (docs/CONNECTOR.md, section 15)."""
    doc = replace(_xml_safe(drawn), send_time_us=send_time_us)
    date = doc.promulgation_date.replace("-", "/")
    doc = replace(doc, id=f"{doc.sender.id},{date},{doc.code_number}/{doc.code_notation}")
    back = read.read_document(build.serialise(build.document_package(doc)))
    same = ("id", "sender", "recipients", "code_number", "code_notation", "subject", "signer",
            "promulgation_place", "promulgation_date", "priority", "secrecy", "business_type",
            "due_date", "send_time_us", "to_places", "steering_type", "other_info")  # fmt: skip
    assert {f: getattr(back, f) for f in same} == {f: getattr(doc, f) for f in same}
    assert [(a.name, a.media_type, a.content) for a in back.attachments] == [
        (a.name, a.media_type, a.content) for a in doc.attachments
    ]
