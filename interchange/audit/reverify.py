"""The audit's cache of decoded contents and signature verdicts (`Reverified`).

A document delivered to twenty recipients is the same signed content on twenty
delivery records and on its submission, judged at the same receipt time (its router
hop). One `Reverified`, shared by a document's deliveries and then its submission,
decodes each distinct content once and verifies each distinct (content, signature,
certificate, sender, time) once through the one verifier (`pki.verification`), so a
document delivered to any number of recipients costs one signature check. A verdict
is a function of exactly those inputs, so reusing it changes no finding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from interchange.errors import DecodeError
from interchange.pki.verification import Verifier
from interchange.routing.decision import parse
from interchange.routing.outcomes import Parsed
from interchange.wire import codec
from interchange.wire.model import (
    ContentFormat,
    Document,
    Envelope,
    Priority,
    ReasonCode,
    Secrecy,
)


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


class ContentFormats(Protocol):
    """How an envelope whose content is not an Avro document (content format EDXML) is
    read and verified; interchange/edxml provides it, so this pure core stays Avro-only."""

    def read(self, envelope: Envelope) -> Document: ...  # DecodeError on a defect

    def verifier(self, envelope: Envelope) -> Verifier: ...


class Reverified:
    """Each distinct content decoded once, each distinct signed document verified once.

    A `Verifier` itself (pass it to `decide`): the verdict of `trust.verify` is cached
    under everything it depends on (the content's SHA-256, signature, cert id, sender
    and the time it is judged at), so an equal call costs a dict lookup. The CRL
    is not re-read between two equal calls: the audit judges revocation as of a
    document's time, from one CRL. One instance per unit of work, so memory stays
    bounded by that unit.
    """

    def __init__(self, trust: Verifier, formats: ContentFormats | None = None) -> None:
        self._trust = trust
        self._formats = formats  # None: every content is read as Avro (as before v6)
        self._verdicts: dict[_VerdictKey, ReasonCode | None] = {}
        self._contents: dict[bytes, Content] = {}
        self._foreign: dict[bytes, Content] = {}  # contents of another format, decoded
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

    def content(self, content: bytes, envelope: Envelope | None = None) -> Content:
        """The decoded fields of `content` (strict decode on first sight only); `envelope`
        names its content format (Avro when None)."""
        foreign = self._foreign_format(envelope)
        cache = self._foreign if foreign else self._contents
        known = cache.get(content)
        if known is not None:
            return known
        self.decodes += 1
        digest = codec.content_sha256(content)
        try:
            doc = (
                self._read(envelope)
                if envelope is not None and foreign
                else codec.decode_document(content)
            )
        except DecodeError as exc:
            known = Content(digest, f"document: {exc.reason}")
        else:
            known = content_of(digest, doc)
            if not foreign:
                self._documents[content] = doc
        cache[content] = known
        return known

    def _foreign_format(self, envelope: Envelope | None) -> bool:
        return envelope is not None and envelope.content_format is not ContentFormat.AVRO

    def _read(self, envelope: Envelope) -> Document:
        """The content reader `decision.parse` is given: Avro, or the other format's."""
        if self._formats is not None and self._foreign_format(envelope):
            return self._formats.read(envelope)
        return codec.decode_document(envelope.content)

    def for_envelope(self, envelope: Envelope | None) -> Verifier:
        """The verifier of `envelope`'s content format: this cache for Avro, the other
        format's own verifier (counted, not cached) otherwise."""
        if self._formats is None or envelope is None or not self._foreign_format(envelope):
            return self
        self.verifications += 1
        return self._formats.verifier(envelope)

    def parsed(self, value: bytes | None) -> Parsed:
        """`decision.parse(value, 0)`, without decoding a document this cache decoded before
        (a submission whose deliveries came first): the same bytes decode the same way.
        Nor an envelope twice: a document no delivery carried is read from the envelope
        decoded here; only a record that fails to decode goes to `parse` (for the
        router's own MALFORMED rejection)."""
        if value:
            try:
                envelope = codec.decode_envelope(value)
            except DecodeError:
                envelope = None
            if envelope is not None:
                avro = not self._foreign_format(envelope)
                doc = self._documents.get(envelope.content) if avro else None
                failed = avro and doc is None and envelope.content in self._contents
                if doc is None and not failed:  # not read yet (a known failure: to `parse`)
                    try:
                        doc = self._read(envelope)
                    except DecodeError:
                        doc = None
                    else:
                        if avro:
                            self.learn(envelope.content, doc)
                if doc is not None:
                    return Parsed(envelope, doc, None)
        # an empty value, or one that did not decode above: the same bytes fail the same
        # way in `parse`, so there is no document to learn from its result
        return parse(value, 0, self._read)

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
