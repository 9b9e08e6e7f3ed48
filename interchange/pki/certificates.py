"""The certificate profile of the simulated national PKI: root CA, agency certificates, CRL.

Everything here is a pure function of its arguments (keys, names, times), so a
fixed key, serial and validity give byte-identical certificates (the test
vectors rely on it: Ed25519 signatures are deterministic). See docs/PKI.md.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, SignatureAlgorithmOID

from interchange.errors import PkiError
from interchange.pki.signing import (
    WEAK_ED25519_KEY,
    Algorithm,
    PrivateKey,
    PublicKey,
    RsaPadding,
    algorithm_of,
    padding_of,
)
from interchange.wire.model import Tier

ORGANIZATION = "Interchange Simulated Government"
ROOT_NAME = "Interchange Simulated National Root CA"
ARCHIVE_SIGNER_NAME = "Interchange Archive Signer"
TSA_NAME = "Interchange Simulated Time-Stamping Authority"
# id-kp-documentSigning (RFC 9336): the archive key signs manifests, nothing else.
DOCUMENT_SIGNING = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")
TIME_STAMPING = ExtendedKeyUsageOID.TIME_STAMPING  # RFC 3161: the only EKU, critical
# An RSA key can sign with either padding: its certificate names the one scheme it
# signs documents with, as a certificate policy whose identifier is the OID of that
# signature algorithm (docs/PKI.md, "Which RSA padding"). Signed by the CA, so a
# sender cannot choose; none at all means PSS (certificates issued before PKCS#1 v1.5).
SCHEME_POLICIES = {
    RsaPadding.PKCS1V15: SignatureAlgorithmOID.RSA_WITH_SHA256,  # sha256WithRSAEncryption
    RsaPadding.PSS: SignatureAlgorithmOID.RSASSA_PSS,  # id-RSASSA-PSS
}
_POLICY_SCHEMES = {oid: scheme for scheme, oid in SCHEME_POLICIES.items()}
_US = 1_000_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def to_datetime(time_us: int) -> dt.datetime:
    """UTC datetime, truncated to whole seconds (X.509 times have second precision)."""
    return _EPOCH + dt.timedelta(seconds=time_us // _US)


def to_us(when: dt.datetime) -> int:
    return (when - _EPOCH) // dt.timedelta(microseconds=1)


def cert_id_of(cert: x509.Certificate) -> str:
    """Lowercase hex SHA-256 of the certificate DER: the id envelopes carry."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def _ca_signature_hash(ca_key: PrivateKey) -> hashes.SHA256 | None:
    # Ed25519 signs without a separate hash; RSA/ECDSA CAs use SHA-256.
    return None if isinstance(ca_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def root_name(common_name: str = ROOT_NAME) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def agency_name(agency_id: str, tier: Tier) -> x509.Name:
    """Subject of an agency certificate: CN and UID carry the agency id, OU the tier."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, tier.value),
            x509.NameAttribute(NameOID.COMMON_NAME, agency_id),
            x509.NameAttribute(NameOID.USER_ID, agency_id),
        ]
    )


def build_root(
    key: PrivateKey, *, serial: int, not_before_us: int, not_after_us: int, name: x509.Name
) -> x509.Certificate:
    """A self-signed root CA certificate (CA:true, pathlen 0, keyCertSign + cRLSign)."""
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(serial)
        .not_valid_before(to_datetime(not_before_us))
        .not_valid_after(to_datetime(not_after_us))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, _ca_signature_hash(key))
    )


def issue(
    ca_key: PrivateKey,
    ca_name: x509.Name,
    subject_key: PublicKey,
    *,
    agency_id: str,
    tier: Tier,
    serial: int,
    not_before_us: int,
    not_after_us: int,
    algorithm: Algorithm | None = None,
) -> x509.Certificate:
    """An end-entity signing certificate for one agency, issued by `ca_key`.

    `algorithm` (default: the key's, PSS for RSA) must fit the key; for RSA the
    certificate names its padding (SCHEME_POLICIES). An Ed25519 key outside the
    prime-order group, or not canonically encoded, is refused (`WEAK_ED25519_KEY`)."""
    if not_after_us < not_before_us:
        raise PkiError(f"certificate for {agency_id}: not-after before not-before")
    if isinstance(subject_key, ed25519.Ed25519PublicKey) and algorithm_of(subject_key) is None:
        raise PkiError(f"certificate for {agency_id}: {WEAK_ED25519_KEY}")
    algorithm = algorithm or algorithm_of(subject_key)
    if algorithm is None or algorithm_of(subject_key, padding_of(algorithm)) is not algorithm:
        raise PkiError(f"certificate for {agency_id}: key does not fit {algorithm}")
    builder = (
        x509.CertificateBuilder()
        .subject_name(agency_name(agency_id, tier))
        .issuer_name(ca_name)
        .public_key(subject_key)
        .serial_number(serial)
        .not_valid_before(to_datetime(not_before_us))
        .not_valid_after(to_datetime(not_after_us))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    scheme = padding_of(algorithm)
    if scheme is not None:
        policy = x509.PolicyInformation(SCHEME_POLICIES[scheme], None)
        builder = builder.add_extension(x509.CertificatePolicies([policy]), critical=False)
    return builder.sign(ca_key, _ca_signature_hash(ca_key))


def rsa_scheme(cert: x509.Certificate) -> tuple[RsaPadding | None, bool]:
    """(the RSA padding the certificate names, unambiguous?): two schemes is ambiguous."""
    try:
        policies = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
    except x509.ExtensionNotFound:
        return None, True
    ids = (p.policy_identifier for p in policies)
    named = {_POLICY_SCHEMES[oid] for oid in ids if oid in _POLICY_SCHEMES}
    if len(named) > 1:
        return None, False
    return (named.pop() if named else None), True


def issue_service(
    ca_key: PrivateKey,
    ca_name: x509.Name,
    subject_key: PublicKey,
    *,
    common_name: str,
    purpose: x509.ObjectIdentifier,
    serial: int,
    not_before_us: int,
    not_after_us: int,
) -> x509.Certificate:
    """A certificate for a service of the axis (archive signer, time-stamping authority).

    Its extended key usage names the one purpose (critical for time-stamping, as
    RFC 3161 requires); agency certificates carry none, and the document verifier
    refuses any certificate that has one (`is_signing_end_entity`), so a service key
    can never pass for an agency's.
    """
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(ca_name)
        .public_key(subject_key)
        .serial_number(serial)
        .not_valid_before(to_datetime(not_before_us))
        .not_valid_after(to_datetime(not_after_us))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([purpose]), critical=purpose == TIME_STAMPING)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, _ca_signature_hash(ca_key))
    )


def purposes(cert: x509.Certificate) -> tuple[tuple[x509.ObjectIdentifier, ...], bool]:
    """The extended key usages of `cert` and whether that extension is critical."""
    try:
        ext = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        return (), False
    return tuple(ext.value), ext.critical


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=not ca,  # non-repudiation: the agency vouches for the document
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def build_crl(
    ca_key: PrivateKey,
    ca_name: x509.Name,
    revoked: Iterable[tuple[int, int]],
    *,
    this_update_us: int,
    next_update_us: int,
) -> x509.CertificateRevocationList:
    """A CRL listing `(serial, revocation time us)` pairs, signed by the CA."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_name)
        .last_update(to_datetime(this_update_us))
        .next_update(to_datetime(next_update_us))
    )
    for serial, at_us in sorted(revoked):
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(to_datetime(at_us))
            .build()
        )
    return builder.sign(ca_key, _ca_signature_hash(ca_key))


def crl_entries(crl: x509.CertificateRevocationList) -> dict[int, int]:
    """Serial -> revocation time (us) of every entry."""
    return {r.serial_number: to_us(r.revocation_date_utc) for r in crl}


@dataclass(frozen=True, slots=True)
class CertInfo:
    """What verification needs from an agency certificate, read from the certificate itself."""

    cert_id: str
    agency_id: str
    tier: Tier | None
    algorithm: Algorithm | None  # None: key outside the profile
    serial: int
    not_before_us: int
    not_after_us: int


def describe(cert: x509.Certificate) -> CertInfo:
    """Read the profile fields; agency id from UID (falling back to CN), tier from OU."""
    subject = cert.subject
    uid = subject.get_attributes_for_oid(NameOID.USER_ID) or subject.get_attributes_for_oid(
        NameOID.COMMON_NAME
    )
    ou = subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    tier_text = str(ou[0].value) if ou else ""
    public = cert.public_key()
    scheme, clear = rsa_scheme(cert)
    return CertInfo(
        cert_id=cert_id_of(cert),
        agency_id=str(uid[0].value) if uid else "",
        tier=Tier(tier_text) if tier_text in Tier._value2member_map_ else None,
        algorithm=algorithm_of(public, scheme) if clear and isinstance(public, PublicKey) else None,
        serial=cert.serial_number,
        not_before_us=to_us(cert.not_valid_before_utc),
        not_after_us=to_us(cert.not_valid_after_utc),
    )


def is_signing_end_entity(cert: x509.Certificate) -> bool:
    """True if the profile lets `cert` sign documents: not a CA, digital signature allowed.

    Without this check a root-signed CA certificate (or one issued for another
    purpose) would be accepted as a document signer.
    """
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        service = purposes(cert)[0]  # an archive signer or TSA certificate signs no document
    except (x509.ExtensionNotFound, ValueError):
        return False
    return not constraints.ca and usage.digital_signature and not service


def issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    """True if `ca` signed `cert` (issuer name and signature both match)."""
    try:
        cert.verify_directly_issued_by(ca)
    except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError):
        return False
    return True
