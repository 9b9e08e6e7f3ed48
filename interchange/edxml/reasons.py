"""Why an edXML package is refused: XML-specific words, each carried by one wire reason.

The rejection record's `reason` is one of the axis's `ReasonCode` symbols (the schema's
enum); the XML-specific word travels in its `detail` (`document: edxml:NOT_WELL_FORMED`,
`edxml:WRAPPING: certificate ...`), so readers built on the Avro contract still decode
every rejection.
"""

from __future__ import annotations

import enum

from interchange.errors import DecodeError
from interchange.wire.model import ReasonCode

PREFIX = "edxml:"


class EdxmlReason(enum.StrEnum):
    """An XML-specific finding; `wire` is the ReasonCode a rejection carries."""

    NOT_WELL_FORMED = "NOT_WELL_FORMED"  # not XML 1.0, or not UTF-8
    FORBIDDEN_MARKUP = "FORBIDDEN_MARKUP"  # a DTD, an entity declaration or reference
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"  # above the size, depth or element-count cap
    STRUCTURE = "STRUCTURE"  # not the profile's structure (missing, unknown, repeated element)
    BAD_CODE = "BAD_CODE"  # an agency id, date, priority, type, business or status code
    ID_MISMATCH = "ID_MISMATCH"  # DocumentId is not {sender},{yyyy/MM/dd},{number}/{notation}
    BAD_ATTACHMENT = "BAD_ATTACHMENT"  # a manifest reference without its content, or not base64
    UNSIGNED = "UNSIGNED"  # the package carries no signature
    WRAPPING = "WRAPPING"  # a second signature, one out of place, or signed data not what is read
    ALGORITHM = "ALGORITHM"  # not rsa-sha256 with SHA-256 digests under a PKCS#1 v1.5 certificate
    REFERENCE_NOT_WHOLE = "REFERENCE_NOT_WHOLE"  # the reference is not URI="" + enveloped + c14n
    UNSIGNED_ELEMENT = "UNSIGNED_ELEMENT"  # content the signature does not cover (Object, comment)
    KEYINFO_MISMATCH = "KEYINFO_MISMATCH"  # KeyInfo's certificate is not the one cert_id names
    BAD_DIGEST = "BAD_DIGEST"  # the package changed after signing
    BAD_SIGNATURE_VALUE = "BAD_SIGNATURE_VALUE"  # SignatureValue does not verify with the key

    @property
    def wire(self) -> ReasonCode:
        return _WIRE.get(self, ReasonCode.BAD_SIGNATURE)

    @property
    def word(self) -> str:
        """The word in a rejection's detail (`edxml:WRAPPING`)."""
        return PREFIX + self.value


_WIRE = {
    EdxmlReason.NOT_WELL_FORMED: ReasonCode.MALFORMED,
    EdxmlReason.FORBIDDEN_MARKUP: ReasonCode.MALFORMED,
    EdxmlReason.LIMIT_EXCEEDED: ReasonCode.MALFORMED,
    EdxmlReason.STRUCTURE: ReasonCode.MALFORMED,
    EdxmlReason.BAD_CODE: ReasonCode.MALFORMED,
    EdxmlReason.ID_MISMATCH: ReasonCode.MALFORMED,
    EdxmlReason.BAD_ATTACHMENT: ReasonCode.MALFORMED,
    EdxmlReason.ALGORITHM: ReasonCode.ALGORITHM_MISMATCH,
}


class PackageError(DecodeError):
    """A package is refused; `reason` is `edxml:<EdxmlReason>` (a DecodeError, so every
    reader of untrusted bytes already handles it)."""

    def __init__(self, why: EdxmlReason, detail: str = "") -> None:
        super().__init__(why.word, detail)
        self.why = why
