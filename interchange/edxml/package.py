"""What `interchange edxml import` and `export` do with a package, without Kafka.

`prepare` turns package bytes into the envelope that carries them (content format EDXML,
`cert_id` from the KeyInfo certificate, the producer hop) after checking structure,
codes and, with a trust store, the signature; `export_document` turns a delivered
envelope of either format into package bytes (the sender's bytes when it came as edXML).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree

from interchange.edxml import build, dsig, read, xmlsafe
from interchange.edxml.names import ds
from interchange.edxml.reasons import EdxmlReason, PackageError
from interchange.edxml.verify import XML_DSIG_ALGORITHMS, CertificateSource, check_package
from interchange.errors import EncodeError
from interchange.pki.signing import Credential
from interchange.wire.model import ContentFormat, Document, Envelope, Hop, ReasonCode


@dataclass(frozen=True, slots=True)
class Prepared:
    document: Document
    envelope: Envelope


def keyinfo_cert_id(package: bytes) -> str:
    """The cert id (SHA-256 of the DER) of the first certificate in a KeyInfo of the
    package: what its envelope names. Whether the signature around it is of the profile
    is the verifier's question (a wrapped package still names a certificate)."""
    root = xmlsafe.parse(package)
    text = root.findtext(f".//{ds('KeyInfo')}/{ds('X509Data')}/{ds('X509Certificate')}")
    try:
        der = base64.b64decode("".join((text or "").split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PackageError(EdxmlReason.UNSIGNED, "X509Certificate is not base64") from exc
    if not der:
        raise PackageError(EdxmlReason.UNSIGNED, "no KeyInfo/X509Data/X509Certificate")
    return hashlib.sha256(der).hexdigest()


def prepare(package: bytes, now_us: int) -> Prepared:
    """The envelope of `package` (PackageError when it is not a signed document package)."""
    doc = read.read_document(package)
    envelope = Envelope(
        content=package,
        signature=b"",
        cert_id=keyinfo_cert_id(package),
        trace=(Hop(f"producer:{doc.sender.id}", now_us),),
        content_format=ContentFormat.EDXML,
    )
    return Prepared(doc, envelope)


def verify_prepared(
    prepared: Prepared, trust: CertificateSource, at_us: int
) -> tuple[ReasonCode, EdxmlReason | None] | None:
    """The router's verdict on the signature, judged now (None: valid)."""
    env = prepared.envelope
    return check_package(env.content, env.cert_id, prepared.document.sender.id, at_us, trust)


def signing_credential(credentials: list[Credential]) -> Credential | None:
    """The newest credential that can sign XML-DSig (RSA PKCS#1 v1.5), if any."""
    usable = [c for c in credentials if c.algorithm in XML_DSIG_ALGORITHMS]
    return usable[0] if usable else None


def export_document(
    envelope: Envelope,
    document: Document,
    credential: Credential | None,
    certificate: x509.Certificate | None,
) -> tuple[bytes, bool]:
    """(package bytes, signed): an EDXML envelope's own package byte for byte; an Avro
    document mapped to a package and signed with `credential` when given. EncodeError
    when a field holds what XML 1.0 cannot carry (a control character)."""
    if envelope.content_format is ContentFormat.EDXML:
        return envelope.content, True
    try:
        root = build.document_package(document)
    except (ValueError, OverflowError, OSError) as exc:  # lxml: not XML 1.0 text; a time
        raise EncodeError(f"cannot be written as edXML ({exc})") from exc
    key = credential.key if credential is not None else None
    if certificate is None or not isinstance(key, rsa.RSAPrivateKey):
        return unsigned(root), False
    return dsig.sign(root, key, certificate), True


def unsigned(root: etree._Element) -> bytes:
    """A package without its signature placeholder (for a sender whose key is not here)."""
    for placeholder in list(root.iter(ds("Signature"))):
        parent = placeholder.getparent()
        if parent is not None:
            parent.remove(placeholder)
    return build.serialise(root)
