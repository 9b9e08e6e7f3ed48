"""Enveloped XML-DSig of a package (signxml): sign, and check a signature's profile.

The profile (docs/CONNECTOR.md, "Signing profile"): exactly one `ds:Signature`, the
last child of edXMLHeader; SignedInfo canonicalised with C14N 1.0, 1.1 or exclusive
C14N (without comments); SignatureMethod rsa-sha256 (RSASSA-PKCS1-v1_5); exactly one
Reference, `URI=""` (the whole package), transforms `enveloped-signature` then at most
one canonicalisation, DigestMethod SHA-256; KeyInfo holding exactly the signer's
certificate (X509Data/X509Certificate) and nothing else; no ds:Object, no comment or
processing instruction anywhere (canonicalisation would leave them unsigned).
Canonicalisation, digests and the RSA operation are signxml's (on lxml and
cryptography): nothing here computes a digest or a signature by hand.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.exceptions import InvalidDigest
from signxml.exceptions import InvalidSignature as SignxmlInvalidSignature
from signxml.signer import XMLSigner
from signxml.verifier import SignatureConfiguration, XMLVerifier

from interchange.edxml import xmlsafe
from interchange.edxml.build import serialise
from interchange.edxml.names import NS, ds, q
from interchange.edxml.reasons import EdxmlReason

ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
C14N = frozenset(
    {
        CanonicalizationMethod.CANONICAL_XML_1_0.value,
        CanonicalizationMethod.CANONICAL_XML_1_1.value,
        CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0.value,
    }
)
RSA_SHA256 = SignatureMethod.RSA_SHA256.value
SHA256 = DigestAlgorithm.SHA256.value
_CONFIG_METHODS = frozenset({SignatureMethod.RSA_SHA256})
_CONFIG_DIGESTS = frozenset({DigestAlgorithm.SHA256})


def sign(root: etree._Element, key: rsa.RSAPrivateKey, cert: x509.Certificate) -> bytes:
    """The package signed with `key` (its certificate `cert` in KeyInfo), serialised.

    `root` must hold the `ds:Signature` placeholder `build` puts in edXMLHeader."""
    signer = XMLSigner(
        signature_algorithm=SignatureMethod.RSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.CANONICAL_XML_1_0,
    )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
    signed = signer.sign(root, key=key, cert=pem)
    return serialise(signed)


def signature_of(root: etree._Element) -> etree._Element | EdxmlReason:
    """The package's one signature in its place, or UNSIGNED / WRAPPING."""
    found = list(root.iter(ds("Signature")))
    if not found:
        return EdxmlReason.UNSIGNED
    if len(found) > 1:
        return EdxmlReason.WRAPPING
    signature = found[0]
    header = root.find(q("edXMLHeader"))
    elements = [c for c in header if isinstance(c.tag, str)] if header is not None else []
    if signature.getparent() is not header or elements[-1] is not signature:
        return EdxmlReason.WRAPPING
    if any(etree.QName(n).namespace == NS for n in signature.iter() if isinstance(n.tag, str)):
        return EdxmlReason.WRAPPING  # a package element hidden inside the signature
    return signature


def check_profile(root: etree._Element, signature: etree._Element) -> EdxmlReason | None:
    """The signing profile (module docstring), before any cryptography."""
    reason = _check_algorithms(signature)
    if reason is not None:
        return reason
    reason = _check_reference(signature)
    if reason is not None:
        return reason
    return _check_unsigned(root, signature)


def _only(parent: etree._Element, name: str) -> etree._Element | None:
    found = parent.findall(ds(name))
    return found[0] if len(found) == 1 else None


def _check_algorithms(signature: etree._Element) -> EdxmlReason | None:
    signed_info = _only(signature, "SignedInfo")
    if signed_info is None:
        return EdxmlReason.UNSIGNED_ELEMENT
    method = _only(signed_info, "SignatureMethod")
    if method is None or method.get("Algorithm") != RSA_SHA256:
        return EdxmlReason.ALGORITHM
    for digest in signed_info.iter(ds("DigestMethod")):
        if digest.get("Algorithm") != SHA256:
            return EdxmlReason.ALGORITHM
    return None


def _check_reference(signature: etree._Element) -> EdxmlReason | None:
    signed_info = signature.find(ds("SignedInfo"))
    assert signed_info is not None  # _check_algorithms came first
    c14n = _only(signed_info, "CanonicalizationMethod")
    if c14n is None or c14n.get("Algorithm") not in C14N:
        return EdxmlReason.REFERENCE_NOT_WHOLE
    references = signed_info.findall(ds("Reference"))
    if len(references) != 1 or references[0].get("URI") != "":
        return EdxmlReason.REFERENCE_NOT_WHOLE
    transforms = references[0].find(ds("Transforms"))
    algorithms = [t.get("Algorithm") for t in transforms] if transforms is not None else []
    if not algorithms or algorithms[0] != ENVELOPED or len(algorithms) > 2:
        return EdxmlReason.REFERENCE_NOT_WHOLE
    if len(algorithms) == 2 and algorithms[1] not in C14N:
        return EdxmlReason.REFERENCE_NOT_WHOLE
    if transforms is not None and any(len(t) for t in transforms):
        return EdxmlReason.REFERENCE_NOT_WHOLE  # XPath or other parameters
    return None


def _check_unsigned(root: etree._Element, signature: etree._Element) -> EdxmlReason | None:
    names = [etree.QName(c).localname if isinstance(c.tag, str) else "" for c in signature]
    if names not in (["SignedInfo", "SignatureValue", "KeyInfo"],):
        return EdxmlReason.UNSIGNED_ELEMENT  # a ds:Object, a comment, no or a second KeyInfo
    key_info = signature[2]
    if [etree.QName(c).localname for c in key_info if isinstance(c.tag, str)] != ["X509Data"]:
        return EdxmlReason.UNSIGNED_ELEMENT
    x509_data = key_info[0]
    if len(x509_data) != 1 or x509_data[0].tag != ds("X509Certificate"):
        return EdxmlReason.UNSIGNED_ELEMENT
    if next(root.iter(etree.Comment, etree.ProcessingInstruction), None) is not None:
        return EdxmlReason.UNSIGNED_ELEMENT
    outside = (*root.itersiblings(preceding=True), *root.itersiblings())
    return EdxmlReason.UNSIGNED_ELEMENT if outside else None


def keyinfo_certificate(signature: etree._Element) -> bytes | None:
    """The DER of the certificate in KeyInfo (None if it is not base64)."""
    text = signature.findtext(f"{ds('KeyInfo')}/{ds('X509Data')}/{ds('X509Certificate')}")
    try:
        return base64.b64decode("".join((text or "").split()), validate=True) or None
    except (binascii.Error, ValueError):
        return None


def verify(
    data: bytes, root: etree._Element, cert: x509.Certificate, at: dt.datetime
) -> EdxmlReason | None:
    """Digest and SignatureValue with the PKI's `cert` (never KeyInfo's), then that what
    was signed is what was read. `root` is `data` parsed by `xmlsafe.parse`."""
    config = SignatureConfiguration(
        require_x509=True,
        expect_references=1,
        signature_methods=_CONFIG_METHODS,
        digest_algorithms=_CONFIG_DIGESTS,
        verification_time=at,
    )
    try:
        result = XMLVerifier().verify(
            data, x509_cert=cert, parser=xmlsafe.parser(), expect_config=config
        )
    except InvalidDigest:
        return EdxmlReason.BAD_DIGEST
    except SignxmlInvalidSignature:
        return EdxmlReason.BAD_SIGNATURE_VALUE
    except Exception:  # InvalidInput, SignXMLException, ValueError, lxml's errors, and on
        # hostile input TypeError (an empty SignatureValue), ...: it did not verify
        return EdxmlReason.BAD_SIGNATURE_VALUE
    if isinstance(result, list):
        return EdxmlReason.WRAPPING
    unsigned = _without_signature(root)
    if _c14n(result.signed_xml) != _c14n(unsigned):
        return EdxmlReason.WRAPPING
    return None


def _without_signature(root: etree._Element) -> etree._Element:
    copy = etree.fromstring(etree.tostring(root), xmlsafe.parser())
    for signature in list(copy.iter(ds("Signature"))):
        parent = signature.getparent()
        if parent is None:
            continue
        if signature.tail:  # keep the text after it, as the enveloped transform does
            before = signature.getprevious()
            if before is not None:
                before.tail = (before.tail or "") + signature.tail
            else:
                parent.text = (parent.text or "") + signature.tail
        parent.remove(signature)
    return copy


def _c14n(node: etree._Element) -> bytes:
    return bytes(etree.tostring(node, method="c14n"))
