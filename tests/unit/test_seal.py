"""The archive seal: CMS signature and RFC 3161 time-stamp, checked against the root alone."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from asn1crypto import tsp
from cryptography import x509

from interchange.audit.seal import (
    SealFault,
    TimeStampAuthority,
    TimeStampResp,
    answers,
    sign_detached,
    timestamp_request,
    verify_seal,
)
from interchange.axis.presets import build_directory
from interchange.clock import now_us
from interchange.pki import certificates as certs
from interchange.pki.ca import DAY_US
from interchange.pki.issuance import ServiceKey, archive_services, init_pki
from interchange.pki.keyfiles import Layout
from interchange.pki.truststore import TrustStore

MANIFEST = b'{"format":"interchange-archive/2","records":3}\n'


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys")
    init_pki(path, list(build_directory("tiny"))[:3])
    return path


@pytest.fixture(scope="module")
def services(keys: Path) -> tuple[ServiceKey, ServiceKey]:
    signer, tsa, issued = archive_services(keys)
    assert issued
    assert archive_services(keys)[2] is False  # issued once, then reused
    return signer, tsa


def seal(
    services: tuple[ServiceKey, ServiceKey], data: bytes = MANIFEST, at: int | None = None
) -> tuple[bytes, bytes]:
    signer, tsa = services
    t = now_us() if at is None else at
    p7s = sign_detached(data, signer.key, signer.cert, t)
    return p7s, TimeStampAuthority(tsa.key, tsa.cert).respond(timestamp_request(p7s), t)


def check(
    keys: Path, data: bytes, p7s: bytes | None, tsr: bytes | None, created: int = 0
) -> set[SealFault]:
    trust = TrustStore.open(keys)
    result = verify_seal(data, p7s, tsr, trust.root, trust.revoked_at, created_us=created)
    return {p.fault for p in result.problems}


def test_a_genuine_seal_verifies_with_the_root_alone(
    keys: Path, services: tuple[ServiceKey, ServiceKey]
) -> None:
    p7s, tsr = seal(services)
    trust = TrustStore.open(keys)
    result = verify_seal(MANIFEST, p7s, tsr, trust.root, trust.revoked_at, created_us=now_us())
    assert result.problems == ()
    assert result.gen_time_us is not None
    assert abs(result.gen_time_us - now_us()) < 5_000_000
    assert "Interchange Archive Signer" in result.signer


def test_openssl_verifies_both_files(
    keys: Path, services: tuple[ServiceKey, ServiceKey], tmp_path: Path
) -> None:
    """An independent implementation accepts the CMS signature and the RFC 3161 token."""
    openssl = shutil.which("openssl")
    assert openssl, "the openssl command line tool is needed for this cross-check"
    p7s, tsr = seal(services)
    for name, data in (("m.json", MANIFEST), ("m.p7s", p7s), ("m.tsr", tsr)):
        (tmp_path / name).write_bytes(data)
    root = str(Layout(keys).root_cert)
    cms = [openssl, "cms", "-verify", "-binary", "-inform", "DER", "-in", "m.p7s"]
    cms += ["-content", "m.json", "-CAfile", root, "-purpose", "any", "-out", "/dev/null"]
    ts = [openssl, "ts", "-verify", "-data", "m.p7s", "-in", "m.tsr", "-CAfile", root]
    for cmd in (cms, ts):
        done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr


def test_the_token_is_an_rfc3161_response(services: tuple[ServiceKey, ServiceKey]) -> None:
    _, tsr = seal(services)
    resp = tsp.TimeStampResp.load(tsr)
    assert resp["status"]["status"].native == "granted"
    info = resp["time_stamp_token"]["content"]["encap_content_info"]["content"].parsed
    assert info["message_imprint"]["hash_algorithm"]["algorithm"].native == "sha256"
    usages, critical = certs.purposes(services[1].cert)
    assert (usages, critical) == ((certs.TIME_STAMPING,), True)


def test_a_changed_manifest_fails_the_signature(
    keys: Path, services: tuple[ServiceKey, ServiceKey]
) -> None:
    p7s, tsr = seal(services)
    assert check(keys, MANIFEST.replace(b"3", b"2"), p7s, tsr) == {SealFault.SIGNATURE}


def test_a_changed_signature_fails_the_time_stamp(
    keys: Path, services: tuple[ServiceKey, ServiceKey]
) -> None:
    _, tsr = seal(services)
    other, _ = seal(services, MANIFEST + b" ")
    assert SealFault.TIMESTAMP in check(keys, MANIFEST + b" ", other, tsr)


def test_missing_files_are_named(keys: Path, services: tuple[ServiceKey, ServiceKey]) -> None:
    p7s, tsr = seal(services)
    assert check(keys, MANIFEST, None, tsr) == {SealFault.UNSIGNED}  # nothing to time-stamp
    assert check(keys, MANIFEST, p7s, None) == {SealFault.TIMESTAMP}
    assert check(keys, MANIFEST, b"not der", b"junk") == {SealFault.UNSIGNED, SealFault.TIMESTAMP}


def test_the_roles_cannot_be_swapped(keys: Path, services: tuple[ServiceKey, ServiceKey]) -> None:
    """The TSA key signing the manifest, or the archive key time-stamping, is refused."""
    signer, tsa = services
    assert check(keys, MANIFEST, *seal((tsa, tsa))) == {SealFault.SIGNATURE}
    assert check(keys, MANIFEST, *seal((signer, signer))) == {SealFault.TIMESTAMP}


def test_an_agency_key_cannot_seal(keys: Path, services: tuple[ServiceKey, ServiceKey]) -> None:
    from interchange.pki.keyfiles import read_index
    from interchange.pki.signing import load_private_key

    layout = Layout(keys)
    row = read_index(layout)[0]
    agency = ServiceKey(
        load_private_key(layout.key(row.cert_id).read_bytes()),
        x509.load_pem_x509_certificate(layout.cert(row.cert_id).read_bytes()),
    )
    assert check(keys, MANIFEST, *seal((agency, services[1]))) == {SealFault.SIGNATURE}


def test_service_certificates_sign_no_document(services: tuple[ServiceKey, ServiceKey]) -> None:
    for service in services:
        assert not certs.is_signing_end_entity(service.cert)


def test_a_request_the_tsa_cannot_serve_is_rejected(
    keys: Path, services: tuple[ServiceKey, ServiceKey]
) -> None:
    tsa = TimeStampAuthority(services[1].key, services[1].cert)
    answer = tsa.respond(b"\x30\x03\x02\x01\x01", now_us())
    resp = TimeStampResp.load(answer)
    assert resp["status"]["status"].native == "rejection"
    assert resp["time_stamp_token"].native is None
    p7s, _ = seal(services)
    assert SealFault.TIMESTAMP in check(keys, MANIFEST, p7s, answer)


def test_a_seal_older_than_its_manifest_is_refused(
    keys: Path, services: tuple[ServiceKey, ServiceKey]
) -> None:
    p7s, tsr = seal(services, at=now_us() - 3600 * 1_000_000)
    assert check(keys, MANIFEST, p7s, tsr, created=now_us()) == {SealFault.TIMESTAMP}


def test_revocation_after_the_time_stamp_does_not_undo_the_seal(
    tmp_path: Path,
) -> None:
    """What the time-stamp is for: a key revoked later still vouches for what it signed before."""
    keys = tmp_path / "keys"
    init_pki(keys, list(build_directory("tiny"))[:1])
    signer, tsa, _ = archive_services(keys)
    t = now_us()
    p7s, tsr = seal((signer, tsa), at=t)
    _revoke(keys, signer.cert, t + DAY_US)
    assert check(keys, MANIFEST, p7s, tsr) == set()
    _revoke(keys, signer.cert, t - DAY_US, again=True)
    assert check(keys, MANIFEST, p7s, tsr) == {SealFault.SIGNATURE}


def _revoke(keys: Path, cert: x509.Certificate, at: int, *, again: bool = False) -> None:
    """Put a service certificate on the CRL (`keys revoke` takes agency certificates)."""
    from interchange.pki.ca import load_ca, revoked_entries, write_crl

    layout = Layout(keys)
    with layout.locked():
        ca_key, _ = load_ca(layout)
        entries = revoked_entries(layout)
        entries[cert.serial_number] = at
        write_crl(layout, ca_key, entries, now_us() + (2_000_000 if again else 0))


def test_the_requester_checks_nonce_and_imprint(services: tuple[ServiceKey, ServiceKey]) -> None:
    tsa = TimeStampAuthority(services[1].key, services[1].cert)
    request = timestamp_request(MANIFEST, nonce=7)
    assert answers(request, tsa.respond(request, now_us())) == ""
    other = tsa.respond(timestamp_request(MANIFEST, nonce=8), now_us())
    assert "nonce" in answers(request, other)
    elsewhere = tsa.respond(timestamp_request(MANIFEST + b" ", nonce=7), now_us())
    assert "imprint" in answers(request, elsewhere)
