"""Sealing a planned document into envelope bytes, with its fault's byte-level part.

The workload decides each fault and its document-level consequences; sealing signs
the document and applies what happens to the bytes (`interchange.workload.faults` lists
the kinds): a changed subject after signing, a flipped signature bit, a revoked or
expired credential, a truncated or garbage envelope.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Protocol

from interchange.pki.issuance import CertFault
from interchange.wire import codec
from interchange.wire.model import Document, Envelope, Hop
from interchange.workload.faults import Fault
from interchange.workload.generator import Planned


class SigningCredential(Protocol):
    @property
    def cert_id(self) -> str: ...

    def sign(self, content: bytes) -> bytes: ...


class CredentialSource(Protocol):
    """What sealing needs from a key store (`interchange.pki.keystore.KeyStore` fits)."""

    def credential(self, agency_id: str) -> SigningCredential: ...

    def fault_credential(self, agency_id: str, fault: CertFault) -> SigningCredential: ...


_CERT_FAULT = {Fault.REVOKED_CERT: CertFault.REVOKED, Fault.EXPIRED_CERT: CertFault.EXPIRED}


def seal(planned: Planned, credentials: CredentialSource) -> Envelope:
    """Sign the planned document with the planned key and apply the signature-level fault.

    The trace is empty; `to_wire` appends the producer hop at the actual send time.
    """
    content = codec.encode_document(planned.document)
    fault = planned.fault
    if fault in _CERT_FAULT:
        credential = credentials.fault_credential(planned.signer, _CERT_FAULT[fault])
    else:
        credential = credentials.credential(planned.signer)
    signature = credential.sign(content)
    if fault is Fault.TAMPERED_CONTENT:
        content = codec.encode_document(tampered(planned.document))
    elif fault is Fault.TAMPERED_SIGNATURE:
        signature = signature[:-1] + bytes([signature[-1] ^ 0x01])
    return Envelope(content, signature, credential.cert_id)


def tampered(document: Document) -> Document:
    """The document with a changed subject: decodes fine, no longer matches its signature."""
    subject = document.subject
    last = "X" if not subject.endswith("X") else "Y"
    return dataclasses.replace(document, subject=subject[:-1] + last)


def to_wire(envelope: Envelope, fault: Fault | None, hop: Hop, seq: int) -> bytes:
    """Encode with `hop` appended to the trace; MALFORMED breaks the bytes deterministically."""
    routed = Envelope(
        envelope.content, envelope.signature, envelope.cert_id, (*envelope.trace, hop)
    )
    data = codec.encode_envelope(routed)
    if fault is Fault.MALFORMED:
        return malformed(data, seq)
    return data


def malformed(data: bytes, seq: int) -> bytes:
    if seq % 2 == 0:
        return data[: max(1, len(data) // 2)]
    rng = random.Random(seq)  # noqa: S311 - garbage, not cryptography
    return b"\xff\xfenot-an-envelope:" + rng.randbytes(48)
