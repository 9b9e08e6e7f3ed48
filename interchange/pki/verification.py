"""The one signature verifier: ordered checks, each failing with its own reason code.

Every reader of a signature goes through `SignatureVerifier`: the router's decision
(`routing.decision`, through `TrustStore.verify`), the recipients' end-to-end re-check,
the agency inbox, the conformance checker and the audit. They differ only in the time
they judge at (`judged_at` for anything that went through the router) and in what
they do with the result, never in the checks or their order.

Order of checks, the first failure wins (`ORDER`, docs/PKI.md):

    Check         reason
    CERTIFICATE   UNKNOWN_CERTIFICATE    no certificate of this PKI has the cert id
    TRUST         UNTRUSTED_CERTIFICATE  damaged, not issued by the root, or key outside the profile
    VALIDITY      NOT_YET_VALID, EXPIRED the time judged at is outside the validity window
    REVOCATION    REVOKED                revoked at or before the time judged at
    SENDER        SENDER_MISMATCH        the certificate belongs to another agency
    ALGORITHM     ALGORITHM_MISMATCH     the signature cannot be one of the certificate's algorithm
    SIGNATURE     BAD_SIGNATURE          it does not verify over the content bytes

The first five judge the certificate and are the same for any content format; the last
two judge the signature over the content and depend on how the content is signed. That
is the one dispatch point for a second format: `SIGNATURE_CHECKS` maps a `ContentFormat`
to a `SignatureCheck`, a function `(certificate, content, signature) -> Verdict` returning
`VALID`, or the verdict of ALGORITHM or SIGNATURE. The detached format (the canonical
Avro document, signed as bytes) is `detached`; an XML-DSig format adds one function that
finds and checks its references and then calls `certificate.check` (the raw verifier bound
to the certificate's key and algorithm) over its canonical SignedInfo.

A `Verdict` is the coded result: the reason (None when valid) and the check that gave
it. There is one instance per reason, made at import, so the hot path allocates nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from interchange.pki.certificates import CertInfo
from interchange.pki.signing import Verifier as KeyCheck
from interchange.pki.signing import plausible
from interchange.wire.model import ContentFormat, Envelope, ReasonCode

ROUTER_NODE_PREFIX = "router:"  # the trace hop the router appends (`Hop("router:<id>", t)`)


class Check(enum.StrEnum):
    """One step of verification, in order (`ORDER`)."""

    CERTIFICATE = "certificate"
    TRUST = "trust"
    VALIDITY = "validity"
    REVOCATION = "revocation"
    SENDER = "sender"
    ALGORITHM = "algorithm"
    SIGNATURE = "signature"


# Each check and the reasons it can give, in the order they are made.
ORDER: tuple[tuple[Check, tuple[ReasonCode, ...]], ...] = (
    (Check.CERTIFICATE, (ReasonCode.UNKNOWN_CERTIFICATE,)),
    (Check.TRUST, (ReasonCode.UNTRUSTED_CERTIFICATE,)),
    (Check.VALIDITY, (ReasonCode.NOT_YET_VALID, ReasonCode.EXPIRED)),
    (Check.REVOCATION, (ReasonCode.REVOKED,)),
    (Check.SENDER, (ReasonCode.SENDER_MISMATCH,)),
    (Check.ALGORITHM, (ReasonCode.ALGORITHM_MISMATCH,)),
    (Check.SIGNATURE, (ReasonCode.BAD_SIGNATURE,)),
)
# The checks that judge the certificate, not the signature over the content.
CERTIFICATE_CHECKS = frozenset(
    {Check.CERTIFICATE, Check.TRUST, Check.VALIDITY, Check.REVOCATION, Check.SENDER}
)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The coded result of verifying one signature: `reason` None means valid."""

    reason: ReasonCode | None
    check: Check | None  # the check that failed; None when valid

    @property
    def ok(self) -> bool:
        return self.reason is None

    @property
    def of_certificate(self) -> bool:
        """Failed on the certificate (checks CERTIFICATE to SENDER), not on the signature."""
        return self.check in CERTIFICATE_CHECKS


VALID = Verdict(None, None)
VERDICTS: Mapping[ReasonCode, Verdict] = {
    reason: Verdict(reason, check) for check, reasons in ORDER for reason in reasons
}
_UNKNOWN = VERDICTS[ReasonCode.UNKNOWN_CERTIFICATE]
_UNTRUSTED = VERDICTS[ReasonCode.UNTRUSTED_CERTIFICATE]
_NOT_YET_VALID = VERDICTS[ReasonCode.NOT_YET_VALID]
_EXPIRED = VERDICTS[ReasonCode.EXPIRED]
_REVOKED = VERDICTS[ReasonCode.REVOKED]
_SENDER = VERDICTS[ReasonCode.SENDER_MISMATCH]
_ALGORITHM = VERDICTS[ReasonCode.ALGORITHM_MISMATCH]
_BAD = VERDICTS[ReasonCode.BAD_SIGNATURE]


@dataclass(frozen=True, slots=True)
class Certificate:
    """One certificate as the trust store loaded it (once, then cached by cert id)."""

    info: CertInfo | None  # None: the file is damaged (not a certificate, or misnamed)
    trusted: bool  # signed by the root and inside the profile
    check: KeyCheck  # raw `(content, signature) -> valid` bound to its key and algorithm


class Certificates(Protocol):
    """Where the verifier finds certificates and revocations (`TrustStore`)."""

    def entry(self, cert_id: str) -> Certificate | None:
        """The certificate with `cert_id` (None: no such certificate), CRL kept current."""
        ...

    def revoked_at(self, serial: int) -> int | None: ...


class Verifier(Protocol):
    """What deciding and re-verifying need: `TrustStore.verify` or `SignatureVerifier.verify`
    (or a cache or timer around one), None when the signature is valid, else the reason."""

    def verify(
        self, content: bytes, signature: bytes, cert_id: str, sender_id: str, at_us: int
    ) -> ReasonCode | None: ...


SignatureCheck = Callable[[Certificate, bytes, bytes], Verdict]


def detached(certificate: Certificate, content: bytes, signature: bytes) -> Verdict:
    """ALGORITHM and SIGNATURE for a signature over the exact content bytes."""
    info = certificate.info
    if info is None or info.algorithm is None:
        return _UNTRUSTED  # unreachable after TRUST; kept so a direct call cannot pass
    if not plausible(info.algorithm, signature):
        return _ALGORITHM
    if not certificate.check(content, signature):
        return _BAD
    return VALID


# The one dispatch point per content format (module docstring).
SIGNATURE_CHECKS: dict[ContentFormat, SignatureCheck] = {ContentFormat.AVRO: detached}


class SignatureVerifier:
    """The ordered checks over one `Certificates` source (the module docstring)."""

    def __init__(self, certificates: Certificates) -> None:
        # bound once: the router verifies thousands of documents a second
        self._entry = certificates.entry
        self._revoked_at = certificates.revoked_at

    def verdict(
        self,
        content: bytes,
        signature: bytes,
        cert_id: str,
        sender_id: str,
        at_us: int,
        *,
        content_format: ContentFormat = ContentFormat.AVRO,
    ) -> Verdict:
        """Whether `signature` by cert `cert_id` of `sender_id` is valid at `at_us`.

        `at_us` is the receipt time (when the axis received the record), never the
        signer's own `send_time_us`: a signer cannot backdate past a revocation or
        into a certificate's validity window."""
        judged, entry = self._judge(cert_id, sender_id, at_us)
        if entry is None:
            return judged
        return SIGNATURE_CHECKS[content_format](entry, content, signature)  # ALGORITHM, SIGNATURE

    def certificate_verdict(self, cert_id: str, sender_id: str, at_us: int) -> Verdict:
        """CERTIFICATE, TRUST, VALIDITY, REVOCATION and SENDER: `VALID` or the first
        failing check's verdict. A format that checks its own signature (an edXML
        package's XML-DSig) runs these first, as `verdict` does."""
        return self._judge(cert_id, sender_id, at_us)[0]

    def _judge(  # noqa: PLR0911 - one return per check, in the documented order
        self, cert_id: str, sender_id: str, at_us: int
    ) -> tuple[Verdict, Certificate | None]:
        """The certificate checks, and the certificate when they all pass (looked up
        once: the router verifies thousands of documents a second)."""
        entry = self._entry(cert_id)
        if entry is None:  # CERTIFICATE
            return _UNKNOWN, None
        info = entry.info
        if info is None or not entry.trusted or info.algorithm is None:  # TRUST
            return _UNTRUSTED, None
        if at_us < info.not_before_us:  # VALIDITY
            return _NOT_YET_VALID, None
        if at_us > info.not_after_us:
            return _EXPIRED, None
        revoked_at = self._revoked_at(info.serial)  # REVOCATION
        if revoked_at is not None and revoked_at <= at_us:
            return _REVOKED, None
        if info.agency_id != sender_id:  # SENDER
            return _SENDER, None
        return VALID, entry

    def verify(
        self, content: bytes, signature: bytes, cert_id: str, sender_id: str, at_us: int
    ) -> ReasonCode | None:
        """`verdict(...).reason`: the `Verifier` shape deciding and re-verifying use."""
        return self.verdict(content, signature, cert_id, sender_id, at_us).reason

    def signature_only(
        self,
        content: bytes,
        signature: bytes,
        cert_id: str,
        content_format: ContentFormat = ContentFormat.AVRO,
    ) -> Verdict:
        """ALGORITHM and SIGNATURE alone, with the certificate's key even when the
        certificate is not acceptable (untrusted, expired, revoked, another agency's).

        For diagnosis only (conformance reports the signature apart from the
        certificate); never a reason to accept anything. A certificate with no key to
        check with gives the verdict of CERTIFICATE or TRUST."""
        entry = self._entry(cert_id)
        if entry is None:
            return _UNKNOWN
        if entry.info is None or entry.info.algorithm is None:
            return _UNTRUSTED
        return SIGNATURE_CHECKS[content_format](entry, content, signature)


def judged_at(envelope: Envelope, send_time_us: int) -> int:
    """The time a delivered envelope's signature is judged at: the receipt time the router
    recorded in its (last) trace hop, as the router judged it; `send_time_us` when no
    router hop is there (a record no router wrote)."""
    for hop in reversed(envelope.trace):
        if hop.node.startswith(ROUTER_NODE_PREFIX):
            return hop.time_us
    return send_time_us
