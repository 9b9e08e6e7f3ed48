"""The audit's cache of decoded contents and signature verdicts (`Reverified`).

A document delivered to twenty recipients is the same signed content on twenty
delivery records and on its submission, judged at the same receipt time (its router
hop). One `Reverified`, shared by a document's deliveries and then its submission,
decodes each distinct content once and verifies each distinct (content, signature,
certificate, sender, time) once through the one verifier (`core.verification`), so a
document delivered to any number of recipients costs one signature check. A verdict
is a function of exactly those inputs, so reusing it changes no finding.
"""

from __future__ import annotations

from dataclasses import dataclass

from interchange.core import codec
from interchange.core.model import Document, Envelope, Priority, ReasonCode, Secrecy
from interchange.core.policy import Parsed, parse
from interchange.core.verification import Verifier
from interchange.errors import DecodeError


@dataclass(frozen=True, slots=True)
class Content:
    """What one signed content says, decoded once: the document fields the audit keeps."""

    sha256: bytes
    error: str  # "" when the content decoded strictly, else "document: <reason>"
    document_id: str = ""
    sender: str = ""
    recipients: tuple[str, ...] = ()
    secrecy: Secrecy = Secrecy.NONE
    priority: Priority = Priority.NORMAL
    send_time_us: int = 0


def content_of(digest: bytes, doc: Document) -> Content:
    return Content(
        digest,
        "",
        doc.id,
        doc.sender.id,
        tuple(r.id for r in doc.recipients),
        doc.secrecy,
        doc.priority,
        doc.send_time_us,
    )


_VerdictKey = tuple[bytes, bytes, str, str, int]  # content SHA-256, signature, cert, sender, time


class Reverified:
    """Each distinct content decoded once, each distinct signed document verified once.

    A `Verifier` itself (pass it to `decide`): the verdict of `trust.verify` is cached
    under everything it depends on (the content's SHA-256, signature, cert id, sender
    and the time it is judged at), so an equal call costs a dict lookup. The CRL
    is not re-read between two equal calls: the audit judges revocation as of a
    document's time, from one CRL. One instance per unit of work, so memory stays
    bounded by that unit.
    """

    def __init__(self, trust: Verifier) -> None:
        self._trust = trust
        self._verdicts: dict[_VerdictKey, ReasonCode | None] = {}
        self._contents: dict[bytes, Content] = {}
        self._documents: dict[bytes, Document] = {}  # by content, for `parsed`
        self.verifications = 0  # calls that reached `trust.verify`
        self.decodes = 0  # contents decoded

    def verify(
        self, content: bytes, signature: bytes, cert_id: str, sender_id: str, at_us: int
    ) -> ReasonCode | None:
        key = (self.digest(content), signature, cert_id, sender_id, at_us)
        if key in self._verdicts:
            return self._verdicts[key]
        self.verifications += 1
        verdict = self._trust.verify(content, signature, cert_id, sender_id, at_us)
        self._verdicts[key] = verdict
        return verdict

    def content(self, content: bytes) -> Content:
        """The decoded fields of `content` (strict decode on first sight only)."""
        known = self._contents.get(content)
        if known is not None:
            return known
        self.decodes += 1
        digest = codec.content_sha256(content)
        try:
            doc = codec.decode_document(content)
        except DecodeError as exc:
            known = Content(digest, f"document: {exc.reason}")
        else:
            known = content_of(digest, doc)
            self._documents[content] = doc
        self._contents[content] = known
        return known

    def parsed(self, value: bytes | None) -> Parsed:
        """`policy.parse(value, 0)`, without decoding a document this cache decoded before
        (a submission whose deliveries came first): the same bytes decode the same way."""
        if value:
            try:
                envelope = codec.decode_envelope(value)
            except DecodeError:
                envelope = None
            doc = self._documents.get(envelope.content) if envelope is not None else None
            if envelope is not None and doc is not None:
                return Parsed(envelope, doc, None)
        parsed = parse(value, 0)
        if parsed.envelope is not None and parsed.document is not None:
            self.learn(parsed.envelope.content, parsed.document)
        return parsed

    def learn(self, content: bytes, doc: Document) -> None:
        """Record a document the caller decoded itself (a submission's)."""
        if content not in self._contents:
            self._contents[content] = content_of(codec.content_sha256(content), doc)
            self._documents[content] = doc

    def digest(self, content: bytes) -> bytes:
        """SHA-256 of `content` (hashed once when it was decoded or learnt here)."""
        known = self._contents.get(content)
        return known.sha256 if known is not None else codec.content_sha256(content)


def hop_time(env: Envelope | None, prefix: str, *, first: bool) -> int | None:
    if env is None:
        return None
    hops = [h.time_us for h in env.trace if h.node.startswith(prefix)]
    if not hops:
        return None
    return hops[0] if first else hops[-1]
