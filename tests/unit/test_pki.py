"""The simulated PKI: certificate profile, every reason code, rotation, enrolment, files."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from pki_fixtures import AGENCIES, BY_ALGORITHM, NOW, pki_copy, pki_dir  # noqa: F401 (fixtures)

from interchange.cli.main import main
from interchange.errors import PkiError
from interchange.pki.ca import DAY_US
from interchange.pki.certificates import issued_by
from interchange.pki.keyfiles import Layout
from interchange.pki.keystore import (
    Algorithm,
    CertFault,
    KeyStore,
    TrustStore,
    enroll,
    init_pki,
    issue_fault,
    revoke,
    rotate,
)
from interchange.wire.model import Agency, ReasonCode, Tier

ED = BY_ALGORITHM[Algorithm.ED25519]
CONTENT = b"canonical document bytes"
REPO = Path(__file__).resolve().parents[2]


def _verify(trust: TrustStore, keys: KeyStore, agency: str, at: int = NOW) -> ReasonCode | None:
    cred = keys.credential(agency, at=NOW)
    return trust.verify(CONTENT, cred.sign(CONTENT), cred.cert_id, agency, at)


def test_every_agency_has_a_profiled_certificate_chaining_to_the_root(pki_dir: Path) -> None:  # noqa: F811
    layout = Layout(pki_dir)
    root = x509.load_pem_x509_certificate(layout.root_cert.read_bytes())
    keys = KeyStore.open(pki_dir)
    assert keys.agency_ids() == sorted(a.id for a in AGENCIES)
    for agency in AGENCIES:
        cred = keys.credential(agency.id)
        cert = x509.load_pem_x509_certificate(layout.cert(cred.cert_id).read_bytes())
        subject = cert.subject
        assert subject.get_attributes_for_oid(NameOID.USER_ID)[0].value == agency.id
        assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == agency.id
        assert subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == (
            agency.tier.value
        )
        assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
        assert issued_by(cert, root)
        assert cert.not_valid_before_utc.timestamp() * 1e6 <= NOW
        assert cert.not_valid_after_utc.timestamp() * 1e6 > NOW + 700 * DAY_US
    crl = x509.load_pem_x509_crl(layout.crl.read_bytes())
    assert len(crl) == 0
    assert crl.is_signature_valid(root.public_key())  # type: ignore[arg-type]


def test_file_modes(pki_dir: Path) -> None:  # noqa: F811
    layout = Layout(pki_dir)
    for d in (layout.root, layout.ca_dir, layout.certs_dir, layout.private_dir):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700
    keys = [layout.root_key, *layout.private_dir.iterdir()]
    assert len(keys) == len(AGENCIES) + 1
    for key in keys:
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key


def test_validity_window(pki_dir: Path) -> None:  # noqa: F811
    keys, trust = KeyStore.open(pki_dir), TrustStore.open(pki_dir)
    info = trust.certificate(keys.credential(ED).cert_id)
    assert info is not None
    assert _verify(trust, keys, ED, info.not_before_us) is None
    assert _verify(trust, keys, ED, info.not_after_us) is None
    assert _verify(trust, keys, ED, info.not_before_us - 1) is ReasonCode.NOT_YET_VALID
    assert _verify(trust, keys, ED, info.not_after_us + 1) is ReasonCode.EXPIRED


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (CertFault.REVOKED, ReasonCode.REVOKED),
        (CertFault.EXPIRED, ReasonCode.EXPIRED),
        (CertFault.NOT_YET_VALID, ReasonCode.NOT_YET_VALID),
        (CertFault.UNTRUSTED, ReasonCode.UNTRUSTED_CERTIFICATE),
    ],
)
def test_fault_credentials_give_their_reason(
    pki_copy: Path,  # noqa: F811
    fault: CertFault,
    reason: ReasonCode,
) -> None:
    trust = TrustStore.open(pki_copy)  # opened before the fault exists: found on first use
    cred = KeyStore.open(pki_copy).fault_credential(ED, fault)
    assert cred.agency_id == ED
    assert trust.verify(CONTENT, cred.sign(CONTENT), cred.cert_id, ED, NOW) is reason
    again = KeyStore.open(pki_copy).fault_credential(ED, fault)
    assert again.cert_id == cred.cert_id  # persisted, shared by every process
    assert KeyStore.open(pki_copy).credential(ED).cert_id != cred.cert_id


def test_fault_certificates_are_shared_between_key_stores(pki_copy: Path) -> None:  # noqa: F811
    first, second = KeyStore.open(pki_copy), KeyStore.open(pki_copy)  # both before any fault
    cred = first.fault_credential(ED, CertFault.EXPIRED)
    assert second.fault_credential(ED, CertFault.EXPIRED).cert_id == cred.cert_id
    tier = AGENCIES[3].tier
    assert issue_fault(pki_copy, ED, tier, CertFault.EXPIRED).cert_id == cred.cert_id
    fresh = issue_fault(pki_copy, ED, tier, CertFault.EXPIRED, reuse=False)
    assert fresh.cert_id != cred.cert_id


def test_untrusted_certificate_claims_the_root_name(pki_copy: Path) -> None:  # noqa: F811
    cred = KeyStore.open(pki_copy).fault_credential(ED, CertFault.UNTRUSTED)
    layout = Layout(pki_copy)
    cert = x509.load_pem_x509_certificate(layout.cert(cred.cert_id).read_bytes())
    root = x509.load_pem_x509_certificate(layout.root_cert.read_bytes())
    assert cert.issuer == root.subject  # only the signature tells it apart
    assert not issued_by(cert, root)


def test_revocation_applies_from_its_date(pki_copy: Path) -> None:  # noqa: F811
    keys, trust = KeyStore.open(pki_copy), TrustStore.open(pki_copy, crl_check_interval_s=3600)
    at = NOW + 10 * DAY_US
    assert _verify(trust, keys, ED, NOW + 20 * DAY_US) is None  # certificate now cached
    [cert_id] = revoke(pki_copy, agency_id=ED, at=at)
    assert cert_id == keys.credential(ED, at=NOW).cert_id
    assert _verify(trust, keys, ED, NOW + 20 * DAY_US) is None  # stale CRL until refresh
    trust.refresh()
    assert _verify(trust, keys, ED, at - 1_000_000) is None  # sent before the revocation
    assert _verify(trust, keys, ED, at) is ReasonCode.REVOKED
    assert _verify(trust, keys, ED, at + DAY_US) is ReasonCode.REVOKED
    assert revoke(pki_copy, cert_id=cert_id) == []  # already revoked: nothing new
    keys.reload()
    with pytest.raises(PkiError, match="no valid"):
        keys.credential(ED, at=at + 1)


def test_unknown_certificate(pki_dir: Path) -> None:  # noqa: F811
    keys, trust = KeyStore.open(pki_dir), TrustStore.open(pki_dir)
    cred = keys.credential(ED)
    signature = cred.sign(CONTENT)
    for cert_id in ("ab" * 32, "", "../ca/root", cred.cert_id.upper(), cred.cert_id[:-1]):
        assert trust.verify(CONTENT, signature, cert_id, ED, NOW) is ReasonCode.UNKNOWN_CERTIFICATE


def test_wrong_agency(pki_dir: Path) -> None:  # noqa: F811
    keys, trust = KeyStore.open(pki_dir), TrustStore.open(pki_dir)
    cred = keys.credential(ED)
    other = BY_ALGORITHM[Algorithm.RSA_2048]
    reason = trust.verify(CONTENT, cred.sign(CONTENT), cred.cert_id, other, NOW)
    assert reason is ReasonCode.SENDER_MISMATCH


def test_rotation_keeps_old_and_new_valid(pki_copy: Path) -> None:  # noqa: F811
    trust = TrustStore.open(pki_copy)
    old = KeyStore.open(pki_copy).credential(ED, at=NOW)
    row = rotate(pki_copy, ED, now=NOW + 1_000_000)
    keys = KeyStore.open(pki_copy)
    creds = keys.credentials(ED, at=NOW + 2_000_000)
    assert [c.cert_id for c in creds] == [row.cert_id, old.cert_id]
    assert keys.credential(ED, at=NOW + 2_000_000).cert_id == row.cert_id  # newest first
    for cred in creds:
        sig = cred.sign(CONTENT)
        assert trust.verify(CONTENT, sig, cred.cert_id, ED, NOW + 2_000_000) is None
    with pytest.raises(PkiError):
        rotate(pki_copy, "999.99.99.H99")


def test_enrolment_of_an_external_connector(pki_copy: Path) -> None:  # noqa: F811
    trust = TrustStore.open(pki_copy)
    row = enroll(pki_copy, "000.00.00.G07", Tier.CENTRAL, Algorithm.ECDSA_P256, now=NOW)
    layout = Layout(pki_copy)
    assert stat.S_IMODE(layout.key(row.cert_id).stat().st_mode) == 0o600
    assert row.enrolled
    cred = KeyStore.open(pki_copy).credential("000.00.00.G07", at=NOW)
    assert cred.cert_id == row.cert_id
    assert trust.verify(CONTENT, cred.sign(CONTENT), cred.cert_id, "000.00.00.G07", NOW) is None


def test_init_refuses_to_overwrite_unless_forced(pki_copy: Path) -> None:  # noqa: F811
    old_root = TrustStore.open(pki_copy).root_cert_id
    with pytest.raises(PkiError, match="already"):
        init_pki(pki_copy, AGENCIES[:1])
    init_pki(pki_copy, AGENCIES[:1], force=True)
    assert TrustStore.open(pki_copy).root_cert_id != old_root
    assert KeyStore.open(pki_copy).agency_ids() == [AGENCIES[0].id]


def test_bad_inputs_are_pki_errors(tmp_path: Path, pki_copy: Path) -> None:  # noqa: F811
    with pytest.raises(PkiError):
        TrustStore.open(tmp_path / "nothing")
    with pytest.raises(PkiError):
        KeyStore.open(tmp_path / "nothing")
    with pytest.raises(PkiError):
        init_pki(tmp_path / "k", [Agency("a,b", "x", Tier.CENTRAL, None)])
    with pytest.raises(PkiError):
        init_pki(tmp_path / "k2", [AGENCIES[0], AGENCIES[0]])
    with pytest.raises(PkiError):
        revoke(pki_copy)
    # a CRL not signed by the root is refused
    forged = tmp_path / "forged"
    init_pki(forged, AGENCIES[:1])
    os.replace(Layout(forged).crl, Layout(pki_copy).crl)
    with pytest.raises(PkiError, match="not signed"):
        TrustStore.open(pki_copy)


def test_private_keys_are_never_tracked_in_git() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "keys"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    assert sorted(tracked) == ["keys/.gitignore", "keys/README.md"]
    candidates = ["keys/ca/root.key", "keys/private/abc.key", "keys/certs/abc.pem", "keys/x.pem"]
    ignored = subprocess.run(
        ["git", "check-ignore", *candidates], check=False, cwd=REPO, capture_output=True, text=True
    )
    assert ignored.stdout.split() == candidates


def test_cli_init_enroll_rotate_revoke_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = str(tmp_path / "keys")
    assert main(["keys", "init", "--dir", keys, "--preset", "tiny"]) == 0
    assert "agency certificates" in capsys.readouterr().out
    assert main(["keys", "enroll", "--keys-dir", keys, "--agency", "000.00.00.G22"]) == 0
    out = capsys.readouterr().out
    cert_id = out.split()[2]
    assert len(cert_id) == 64
    assert (Path(keys) / "private" / f"{cert_id}.key").exists()
    assert main(["keys", "rotate", "--dir", keys, "--agency", "000.00.00.G22"]) == 0
    assert "new certificate" in capsys.readouterr().out
    args = ["keys", "revoke", "--dir", keys, "--cert-id", cert_id, "--at", "2026-01-01T00:00:00"]
    assert main(args) == 0
    assert f"revoked {cert_id} as of 2026-01-01T00:00:00Z" in capsys.readouterr().out
    assert main(["keys", "list", "--dir", keys, "--agency", "000.00.00.G22"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert len(listing) == 3  # tiny has G22, plus enrolled and rotated
    assert any("enrolled, revoked 2026-01-01T00:00:00Z" in line for line in listing)
    assert main(["keys", "init", "--dir", keys, "--preset", "tiny"]) == 2  # exists
    capsys.readouterr()
    assert main(["keys", "init", "--dir", keys, "--preset", "tiny", "--if-missing"]) == 0
    assert "left as it is" in capsys.readouterr().out
    assert main(["keys", "list", "--dir", keys, "--agency", "000.00.00.G22"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3  # nothing was replaced


def test_cli_help_has_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    for action in ("init", "enroll", "rotate", "revoke", "list"):
        with pytest.raises(SystemExit):
            main(["keys", action, "--help"])
        assert "Example:\n  interchange keys " + action in capsys.readouterr().out


def test_damaged_or_misnamed_certificate_file_is_untrusted_not_an_error(
    pki_copy: Path,  # noqa: F811
) -> None:
    keys = KeyStore.open(pki_copy)
    cred = keys.credential(ED)
    other = keys.credential(BY_ALGORITHM[Algorithm.ECDSA_P256])
    layout = Layout(pki_copy)
    layout.cert(cred.cert_id).write_bytes(b"-----BEGIN CERTIFICATE-----\nnot base64\n")
    trust = TrustStore.open(pki_copy)
    reason = trust.verify(CONTENT, cred.sign(CONTENT), cred.cert_id, ED, NOW)
    assert reason is ReasonCode.UNTRUSTED_CERTIFICATE
    assert trust.certificate(cred.cert_id) is None
    # a valid certificate stored under another certificate's id
    layout.cert(cred.cert_id).write_bytes(layout.cert(other.cert_id).read_bytes())
    trust = TrustStore.open(pki_copy)
    reason = trust.verify(CONTENT, cred.sign(CONTENT), cred.cert_id, ED, NOW)
    assert reason is ReasonCode.UNTRUSTED_CERTIFICATE


def test_root_signed_ca_certificate_cannot_sign_documents(pki_copy: Path) -> None:  # noqa: F811
    import hashlib

    from cryptography.hazmat.primitives import serialization

    layout = Layout(pki_copy)
    keys = KeyStore.open(pki_copy)
    cred = keys.credential(ED)
    genuine = x509.load_pem_x509_certificate(layout.cert(cred.cert_id).read_bytes())
    root_key = serialization.load_pem_private_key(layout.root_key.read_bytes(), password=None)
    builder = (
        x509.CertificateBuilder()
        .subject_name(genuine.subject)
        .issuer_name(genuine.issuer)
        .public_key(genuine.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(genuine.not_valid_before_utc)
        .not_valid_after(genuine.not_valid_after_utc)
    )
    for ext in genuine.extensions:
        if isinstance(ext.value, x509.BasicConstraints):
            builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
        else:
            builder = builder.add_extension(ext.value, ext.critical)
    as_ca = builder.sign(root_key, None)  # type: ignore[arg-type]
    der = as_ca.public_bytes(serialization.Encoding.DER)
    ca_id = hashlib.sha256(der).hexdigest()
    layout.cert(ca_id).write_bytes(as_ca.public_bytes(serialization.Encoding.PEM))
    trust = TrustStore.open(pki_copy)
    assert issued_by(as_ca, x509.load_pem_x509_certificate(layout.root_cert.read_bytes()))
    reason = trust.verify(CONTENT, cred.sign(CONTENT), ca_id, ED, NOW)
    assert reason is ReasonCode.UNTRUSTED_CERTIFICATE
    assert trust.verify(CONTENT, cred.sign(CONTENT), cred.cert_id, ED, NOW) is None


def test_an_ed25519_certificate_key_is_judged_once_when_it_loads(
    pki_dir: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The curve-point validation of a key (~0.13 ms) runs once per certificate load:
    `describe` judges the key, and the verifier bound to it is not judged again. The
    judgement itself is unchanged: a sound key verifies, a forged signature does not."""
    from interchange.pki import signing

    calls: list[bytes] = []
    sound = signing.ed25519_key_sound

    def counted(raw: bytes) -> bool:
        calls.append(raw)
        return sound(raw)

    monkeypatch.setattr(signing, "ed25519_key_sound", counted)
    keys, trust = KeyStore.open(pki_dir), TrustStore.open(pki_dir)
    cred = keys.credential(ED, at=NOW)
    calls.clear()
    assert _verify(trust, keys, ED) is None
    assert len(calls) == 1
    forged = bytes(64)
    assert trust.verify(CONTENT, forged, cred.cert_id, ED, NOW) is ReasonCode.BAD_SIGNATURE
    assert len(calls) == 1  # the loaded certificate is not judged again
