"""Verify an edXML package as the router does: the Avro path's order, then the XML's.

1. The certificate the envelope's `cert_id` names, judged at the receipt time by the
   trust store, in the Avro path's order (UNKNOWN_CERTIFICATE, UNTRUSTED_CERTIFICATE,
   NOT_YET_VALID, EXPIRED, REVOKED, SENDER_MISMATCH).
2. The signature's presence and place (UNSIGNED, WRAPPING), then ALGORITHM_MISMATCH:
   an XML-DSig signature is rsa-sha256, so the certificate must be an RSA PKCS#1 v1.5
   one (`rsa-2048-pkcs1`, `rsa-3072-pkcs1`) and the package must say rsa-sha256/SHA-256.
3. The rest of the signing profile (REFERENCE_NOT_WHOLE, UNSIGNED_ELEMENT), KeyInfo
   holding exactly that certificate (KEYINFO_MISMATCH), then the cryptography with the
   PKI's certificate (BAD_DIGEST, BAD_SIGNATURE_VALUE), then that what signxml says was
   signed is what was read (WRAPPING).
Every XML-specific finding of 2-3 is BAD_SIGNATURE on the wire, except ALGORITHM.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol, runtime_checkable

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from interchange.edxml import dsig, xmlsafe
from interchange.edxml.reasons import EdxmlReason, PackageError
from interchange.pki import certificates as certs
from interchange.pki.signing import Algorithm
from interchange.wire.model import ReasonCode

XML_DSIG_ALGORITHMS = frozenset({Algorithm.RSA_2048_PKCS1, Algorithm.RSA_3072_PKCS1})


@runtime_checkable
class CertificateSource(Protocol):
    """What the check needs from `TrustStore`."""

    def certificate_reason(self, cert_id: str, sender_id: str, at_us: int) -> ReasonCode | None: ...

    def certificate(self, cert_id: str) -> certs.CertInfo | None: ...

    def x509_certificate(self, cert_id: str) -> x509.Certificate | None: ...


def check_package(
    package: bytes, cert_id: str, sender_id: str, at_us: int, trust: CertificateSource
) -> tuple[ReasonCode, EdxmlReason | None] | None:
    """None when the package's signature is valid; else the wire reason and, for a
    finding of the XML signature, its EdxmlReason. Never raises on any bytes."""
    reason = trust.certificate_reason(cert_id, sender_id, at_us)
    if reason is not None:
        return reason, None
    why = signature_finding(package, cert_id, at_us, trust)
    return None if why is None else (why.wire, why)


def signature_finding(
    package: bytes, cert_id: str, at_us: int, trust: CertificateSource
) -> EdxmlReason | None:
    """Checks 2-3 of the module docstring for a certificate already judged acceptable."""
    try:
        root = xmlsafe.parse(package)
    except PackageError as exc:
        return exc.why
    signature = dsig.signature_of(root)
    if isinstance(signature, EdxmlReason):
        return signature
    info = trust.certificate(cert_id)
    cert = trust.x509_certificate(cert_id)
    if info is None or cert is None or info.algorithm not in XML_DSIG_ALGORITHMS:
        return EdxmlReason.ALGORITHM
    profile = dsig.check_profile(root, signature)
    if profile is not None:
        return profile
    if dsig.keyinfo_certificate(signature) != cert.public_bytes(serialization.Encoding.DER):
        return EdxmlReason.KEYINFO_MISMATCH
    at = dt.datetime.fromtimestamp(at_us / 1_000_000, dt.UTC)
    return dsig.verify(package, root, cert, at)


class XmlVerifier:
    """A `decision.Verifier` for EDXML envelopes: `content` is the package, `signature`
    is unused (the package carries its own). Remembers the last XML-specific finding so
    the router can name it in the rejection's detail."""

    def __init__(self, trust: CertificateSource) -> None:
        self._trust = trust
        self.finding: EdxmlReason | None = None

    def verify(
        self, content: bytes, signature: bytes, cert_id: str, sender_id: str, at_us: int
    ) -> ReasonCode | None:
        del signature  # an EDXML envelope's signature field is empty; the package signs
        outcome = check_package(content, cert_id, sender_id, at_us, self._trust)
        self.finding = outcome[1] if outcome is not None else None
        return outcome[0] if outcome is not None else None
