"""RSA PKCS#1 v1.5 beside RSA-PSS: the certificate names the padding, and only that one verifies."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pki_fixtures import AGENCIES, BY_ALGORITHM, NOW, pki_copy, pki_dir  # noqa: F401 (fixtures)

from interchange.errors import PkiError
from interchange.pki import certificates as certs
from interchange.pki.ca import load_ca
from interchange.pki.keyfiles import Layout
from interchange.pki.keystore import (
    Algorithm,
    AlgorithmPolicy,
    KeyStore,
    TrustStore,
    algorithm_mix,
    ensure_keys,
)
from interchange.pki.signing import RsaPadding, algorithm_of, generate_key, sign
from interchange.wire.model import ReasonCode, Tier

PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
CONTENT = b"\x00document bytes" * 50


def _rsa_key(cred_key: object) -> rsa.RSAPrivateKey:
    assert isinstance(cred_key, rsa.RSAPrivateKey)
    return cred_key


@pytest.mark.parametrize("algorithm", [Algorithm.RSA_2048_PKCS1, Algorithm.RSA_3072_PKCS1])
def test_a_pss_signature_under_a_pkcs1_certificate_is_rejected(
    pki_dir: Path,  # noqa: F811
    algorithm: Algorithm,
) -> None:
    """The same key, the same length, a valid PSS signature: the certificate says PKCS#1 v1.5,
    so it is BAD_SIGNATURE (no padding confusion), while the PKCS#1 v1.5 one verifies."""
    cred = KeyStore.open(pki_dir).credential(BY_ALGORITHM[algorithm])
    trust = TrustStore.open(pki_dir)
    key = _rsa_key(cred.key)
    pss = key.sign(CONTENT, PSS, hashes.SHA256())
    key.public_key().verify(pss, CONTENT, PSS, hashes.SHA256())  # a genuine PSS signature
    pkcs1 = cred.sign(CONTENT)
    assert pkcs1 == key.sign(CONTENT, padding.PKCS1v15(), hashes.SHA256())  # deterministic
    assert len(pss) == len(pkcs1)
    args = (cred.cert_id, cred.agency_id, NOW)
    assert trust.verify(CONTENT, pkcs1, *args) is None
    assert trust.verify(CONTENT, pss, *args) is ReasonCode.BAD_SIGNATURE


@pytest.mark.parametrize("algorithm", [Algorithm.RSA_2048, Algorithm.RSA_3072])
def test_a_pkcs1_signature_under_a_pss_certificate_is_rejected(
    pki_dir: Path,  # noqa: F811
    algorithm: Algorithm,
) -> None:
    cred = KeyStore.open(pki_dir).credential(BY_ALGORITHM[algorithm])
    trust = TrustStore.open(pki_dir)
    pkcs1 = _rsa_key(cred.key).sign(CONTENT, padding.PKCS1v15(), hashes.SHA256())
    args = (cred.cert_id, cred.agency_id, NOW)
    assert trust.verify(CONTENT, cred.sign(CONTENT), *args) is None
    assert trust.verify(CONTENT, pkcs1, *args) is ReasonCode.BAD_SIGNATURE


def test_every_rsa_certificate_names_its_padding_as_a_policy(pki_dir: Path) -> None:  # noqa: F811
    keys = KeyStore.open(pki_dir)
    for algorithm, scheme in (
        (Algorithm.RSA_2048, RsaPadding.PSS),
        (Algorithm.RSA_3072, RsaPadding.PSS),
        (Algorithm.RSA_2048_PKCS1, RsaPadding.PKCS1V15),
        (Algorithm.RSA_3072_PKCS1, RsaPadding.PKCS1V15),
    ):
        row = keys.valid_rows(BY_ALGORITHM[algorithm])[0]
        cert = x509.load_pem_x509_certificate(Layout(pki_dir).cert(row.cert_id).read_bytes())
        policies = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
        assert [p.policy_identifier for p in policies] == [certs.SCHEME_POLICIES[scheme]]
        assert certs.describe(cert).algorithm is algorithm
    row = keys.valid_rows(BY_ALGORITHM[Algorithm.ED25519])[0]
    cert = x509.load_pem_x509_certificate(Layout(pki_dir).cert(row.cert_id).read_bytes())
    with pytest.raises(x509.ExtensionNotFound):
        cert.extensions.get_extension_for_class(x509.CertificatePolicies)


def _root_signed(keys_dir: Path, public: rsa.RSAPublicKey, *policies: x509.ObjectIdentifier) -> str:
    """A root-signed agency certificate for G22 with exactly these policies; its cert id."""
    ca_key, root = load_ca(Layout(keys_dir))
    builder = (
        x509.CertificateBuilder()
        .subject_name(certs.agency_name("000.00.00.G22", Tier.CENTRAL))
        .issuer_name(root.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(certs.to_datetime(NOW - 86_400_000_000))
        .not_valid_after(certs.to_datetime(NOW + 86_400_000_000))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False),
            critical=True,
        )
    )
    if policies:
        info = [x509.PolicyInformation(oid, None) for oid in policies]
        builder = builder.add_extension(x509.CertificatePolicies(info), critical=False)
    cert = builder.sign(ca_key, None)  # the session PKI's root is Ed25519
    cert_id = certs.cert_id_of(cert)
    Layout(keys_dir).cert(cert_id).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_id


def test_an_rsa_certificate_naming_both_paddings_is_untrusted_and_none_means_pss(
    pki_copy: Path,  # noqa: F811
) -> None:
    key = generate_key(Algorithm.RSA_2048)
    assert isinstance(key, rsa.RSAPrivateKey)
    both = _root_signed(pki_copy, key.public_key(), *certs.SCHEME_POLICIES.values())
    legacy = _root_signed(pki_copy, key.public_key())  # issued before PKCS#1 v1.5 existed
    trust = TrustStore.open(pki_copy)
    g22 = "000.00.00.G22"
    for signature in (
        sign(key, CONTENT, Algorithm.RSA_2048),
        sign(key, CONTENT, Algorithm.RSA_2048_PKCS1),
    ):
        assert trust.verify(CONTENT, signature, both, g22, NOW) is ReasonCode.UNTRUSTED_CERTIFICATE
    assert trust.verify(CONTENT, sign(key, CONTENT, Algorithm.RSA_2048), legacy, g22, NOW) is None
    pkcs1 = sign(key, CONTENT, Algorithm.RSA_2048_PKCS1)
    assert trust.verify(CONTENT, pkcs1, legacy, g22, NOW) is ReasonCode.BAD_SIGNATURE


def test_a_key_signs_only_as_its_own_algorithm() -> None:
    key = generate_key(Algorithm.ED25519)
    with pytest.raises(PkiError):
        sign(key, CONTENT, Algorithm.RSA_2048_PKCS1)
    assert algorithm_of(key.public_key(), RsaPadding.PKCS1V15) is None  # a scheme for a non-RSA key
    assert algorithm_of(key.public_key()) is Algorithm.ED25519
    rsa_key = generate_key(Algorithm.RSA_2048_PKCS1)
    with pytest.raises(PkiError):
        sign(rsa_key, CONTENT, Algorithm.RSA_3072_PKCS1)  # a 2048-bit key


def test_a_bare_algorithm_is_the_default_of_a_policy() -> None:
    policy = AlgorithmPolicy.parse("rsa-2048-pkcs1")
    assert policy.default is Algorithm.RSA_2048_PKCS1
    assert policy.overrides == {}
    mixed = AlgorithmPolicy.parse("rsa-3072-pkcs1,commune=ed25519")
    assert mixed.algorithm_for("000.01.01.H30", Tier.COMMUNE) is Algorithm.ED25519
    assert mixed.algorithm_for("000.00.00.G22", Tier.CENTRAL) is Algorithm.RSA_3072_PKCS1
    with pytest.raises(PkiError):
        AlgorithmPolicy.parse("rsa-2048-pkcs2")


def test_ensure_keys_with_a_policy_gives_every_agency_a_key_of_that_algorithm(
    pki_copy: Path,  # noqa: F811
) -> None:
    """What `bench --algorithm` does to an existing keys directory."""
    ids = [a.id for a in AGENCIES]
    assert algorithm_mix(pki_copy, ids) != {Algorithm.RSA_2048_PKCS1: len(ids)}
    already = BY_ALGORITHM[Algorithm.RSA_2048_PKCS1]
    line = ensure_keys(pki_copy, AGENCIES, policy=AlgorithmPolicy.parse("rsa-2048-pkcs1"))
    assert line.endswith(f"({len(ids) - 1} issued)")  # all but the one that already had one
    assert algorithm_mix(pki_copy, ids) == {Algorithm.RSA_2048_PKCS1: len(ids)}
    keys, trust = KeyStore.open(pki_copy), TrustStore.open(pki_copy)
    for agency in ids:
        cred = keys.credential(agency)
        assert cred.algorithm is Algorithm.RSA_2048_PKCS1
        assert trust.verify(CONTENT, cred.sign(CONTENT), cred.cert_id, agency, NOW) is None
    assert len(keys.valid_rows(already)) == 1
    # again: nothing to do; without a policy the keys stay as they are
    assert ensure_keys(pki_copy, AGENCIES, policy=AlgorithmPolicy.parse("rsa-2048-pkcs1")) == (
        f"keys in {pki_copy}"
    )
    assert ensure_keys(pki_copy, AGENCIES) == f"keys in {pki_copy}"


def test_conformance_accepts_pkcs1_and_refuses_pss_under_a_pkcs1_certificate(
    pki_dir: Path,  # noqa: F811
) -> None:
    import time

    from interchange.audit.conformance import Checker
    from interchange.audit.conformance_findings import Check, Message, Status
    from interchange.wire import codec
    from interchange.wire.model import (
        AgencyRef,
        BusinessType,
        Document,
        DocumentType,
        Envelope,
        Hop,
        Priority,
        Secrecy,
        Signer,
    )

    sender = BY_ALGORITHM[Algorithm.RSA_2048_PKCS1]
    now = time.time_ns() // 1000
    doc = Document(
        id=codec.make_document_id(sender, "2026-11-02", "12", "BTC-VP"),
        sender=AgencyRef(sender, "Bộ Tài chính"),
        recipients=(AgencyRef("000.00.00.H30", "UBND tỉnh Hậu Giang"),),
        code_number="12",
        code_notation="BTC-VP",
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
        attachments=(),
        send_time_us=now,
    )
    cred = KeyStore.open(pki_dir).credential(sender)
    content = codec.encode_document(doc)
    checker = Checker(TrustStore.open(pki_dir))
    hop = (Hop(f"producer:{sender}", now),)
    pss = _rsa_key(cred.key).sign(content, PSS, hashes.SHA256())
    results = {}
    for name, signature in (("pkcs1", cred.sign(content)), ("pss", pss)):
        value = codec.encode_envelope(Envelope(content, signature, cred.cert_id, hop))
        report = checker.check(Message(name, value, sender.encode()), now)
        results[name] = {f.check: (f.status, f.reason) for f in report.findings}
    assert results["pkcs1"][Check.SIGNATURE] == (Status.PASS, "")
    assert results["pkcs1"][Check.CERTIFICATE] == (Status.PASS, "")
    assert results["pss"][Check.SIGNATURE] == (Status.FAIL, "BAD_SIGNATURE")


def test_the_example_connector_signs_with_the_padding_its_certificate_names(
    pki_dir: Path,  # noqa: F811
) -> None:
    """Its output passes every conformance check under a PKCS#1 v1.5 and under a PSS
    certificate (it reads the padding from the certificate, as CONNECTOR.md section 7 says)."""
    import importlib.util
    import sys
    import time

    from interchange.audit.conformance import Checker
    from interchange.audit.conformance_findings import Message, Status

    path = Path(__file__).resolve().parents[2] / "examples" / "connector" / "connector.py"
    spec = importlib.util.spec_from_file_location("example_connector_rsa", path)
    assert spec is not None
    assert spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    sys.modules["example_connector_rsa"] = example
    spec.loader.exec_module(example)
    checker = Checker(TrustStore.open(pki_dir))
    layout = Layout(pki_dir)
    for algorithm in (Algorithm.RSA_2048_PKCS1, Algorithm.RSA_2048):
        sender = BY_ALGORITHM[algorithm]
        row = KeyStore.open(pki_dir).valid_rows(sender)[0]
        conn = example.Connector(
            "unused:0", sender, cert=layout.cert(row.cert_id), key=layout.key(row.cert_id)
        )
        _, value = conn.envelope(["000.00.00.H30"], "Thử nghiệm", "7", "BTC-VP", [])
        report = checker.check(Message("m", value, sender.encode()), time.time_ns() // 1000)
        assert [f.status for f in report.findings] == [Status.PASS] * len(report.findings), (
            algorithm,
            report.failures(),
        )
