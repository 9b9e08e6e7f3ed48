"""One entry point per reader for both content formats (AVRO, EDXML) of an envelope.

The router, the recipients and `inbox` call these instead of the Avro-only functions;
an Avro envelope takes exactly the path it took before (one envelope decode, the same
verifier), an EDXML one reads the package (read.py) and verifies its own signature
(verify.py) in the same order of checks, with the XML-specific word in the detail.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

from interchange.edxml import read
from interchange.edxml.reasons import EdxmlReason, PackageError
from interchange.edxml.verify import CertificateSource, XmlVerifier
from interchange.pki.verification import Verifier
from interchange.routing import decision as policy
from interchange.routing.outcomes import MAX_DETAIL_CHARS, Decision, Placement, Rejected, bounded
from interchange.routing.replay_guard import ReplayGuard
from interchange.wire import codec
from interchange.wire.model import ContentFormat, Document, Envelope, ReasonCode


def is_edxml(envelope: Envelope | None) -> bool:
    return envelope is not None and envelope.content_format is ContentFormat.EDXML


def read_content(envelope: Envelope) -> Document:
    """The document of either format (DecodeError on a defect: MALFORMED)."""
    if is_edxml(envelope):
        if envelope.signature:  # the package signs itself: a detached one would go unchecked
            raise PackageError(EdxmlReason.STRUCTURE, "an EDXML envelope's signature is not empty")
        return read.read_document(envelope.content)
    return codec.decode_document(envelope.content)


class _NoCertificates:
    """For a verifier that cannot look certificates up (test fakes): nothing verifies."""

    def verify(
        self, content: bytes, signature: bytes, cert_id: str, sender_id: str, at_us: int
    ) -> ReasonCode | None:
        return ReasonCode.UNKNOWN_CERTIFICATE


def decide(
    raw_value: bytes | None,
    *,
    directory: policy.Directory,
    trust: Verifier,
    certificates: CertificateSource | None,
    replay_window: ReplayGuard,
    now_us: int,
    placement: Placement | None,
    router_node: str = "router",
) -> Decision:
    """`decision.decide` for either format. `certificates`: the trust store the EDXML path
    reads certificates from (None: every EDXML envelope is UNKNOWN_CERTIFICATE)."""
    parsed = policy.parse(raw_value, now_us, read_content)
    if not is_edxml(parsed.envelope):
        return policy.decide(
            raw_value,
            directory=directory,
            trust=trust,
            replay_window=replay_window,
            now_us=now_us,
            placement=placement,
            router_node=router_node,
            parsed=parsed,
        )
    xml = XmlVerifier(certificates) if certificates is not None else None
    decision = policy.decide(
        raw_value,
        directory=directory,
        trust=xml if xml is not None else _NoCertificates(),
        replay_window=replay_window,
        now_us=now_us,
        placement=placement,
        router_node=router_node,
        parsed=parsed,
    )
    finding = xml.finding if xml is not None else None
    if isinstance(decision, Rejected) and finding is not None and decision.reason is finding.wire:
        detail = bounded(f"{finding.word}: {decision.detail}", MAX_DETAIL_CHARS)
        decision = replace(decision, rejection=replace(decision.rejection, detail=detail))
    return decision


class EnvelopeTrust(Verifier, CertificateSource, Protocol):
    """What verifying either content format needs (`TrustStore` is one): the verifier of
    a detached signature, and the certificates an XML-DSig is checked against."""


def verify_envelope(
    envelope: Envelope, sender_id: str, at_us: int, trust: EnvelopeTrust
) -> ReasonCode | None:
    """`trust.verify` for an Avro envelope; for an EDXML one, the package's XML-DSig
    against the same trust store's certificates."""
    if not is_edxml(envelope):
        return trust.verify(
            envelope.content, envelope.signature, envelope.cert_id, sender_id, at_us
        )
    return XmlVerifier(trust).verify(envelope.content, b"", envelope.cert_id, sender_id, at_us)


class EdxmlFormats:
    """`reverify.ContentFormats` for the audit: edXML packages read and verified as the
    router reads and verifies them."""

    def __init__(self, certificates: CertificateSource) -> None:
        self._certificates = certificates

    def read(self, envelope: Envelope) -> Document:
        return read_content(envelope)

    def verifier(self, envelope: Envelope) -> Verifier:
        del envelope  # one verifier for every package
        return XmlVerifier(self._certificates)
