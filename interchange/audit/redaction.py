"""Classified content never goes into an archive: the exclusion metadata replaces it. Pure.

A submission (or, only in a leak, a delivery) whose document decodes strictly and
declares a secrecy level above NONE is archived with a null value and, in the archive
record's `excluded` field, the metadata the router's exclusion keeps: document id,
sender, recipient ids, priority, secrecy, the SHA-256 of the content and of the whole
record value, the certificate id, the send time and the producer hop's time. Never
the subject, the content or an attachment. The audit reads such a record from the
metadata (docs/AUDIT.md): it counts it and checks that the router delivered nothing
and wrote one rejection at its coordinates, but cannot re-verify its signature.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from interchange.audit.findings import RawRecord
from interchange.errors import DecodeError
from interchange.wire import codec
from interchange.wire.model import Priority, Secrecy

EXCLUSION_FORMAT = "interchange-exclusion/1"


@dataclass(frozen=True, slots=True)
class Exclusion:
    """What an archive keeps of a classified record."""

    document_id: str
    sender: str
    recipients: tuple[str, ...]
    priority: Priority
    secrecy: Secrecy
    content_sha256: bytes  # of Envelope.content, as the router's rejection carries it
    value_sha256: bytes  # of the whole record value, so the archive still commits to it
    cert_id: str
    send_time_us: int
    producer_hop_us: int | None  # the first producer hop of the trace (schedule lag)

    def to_bytes(self) -> bytes:
        data: dict[str, Any] = {
            "format": EXCLUSION_FORMAT,
            "document_id": self.document_id,
            "sender": self.sender,
            "recipients": list(self.recipients),
            "priority": self.priority.value,
            "secrecy": self.secrecy.value,
            "content_sha256": self.content_sha256.hex(),
            "value_sha256": self.value_sha256.hex(),
            "cert_id": self.cert_id,
            "send_time_us": self.send_time_us,
            "producer_hop_us": self.producer_hop_us,
        }
        return json.dumps(data, sort_keys=True, ensure_ascii=False).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Exclusion:
        """Raises ValueError when `raw` is not exclusion metadata of this format."""
        try:
            data = json.loads(raw)
            if data.get("format") != EXCLUSION_FORMAT:
                raise ValueError(f"not {EXCLUSION_FORMAT}")
            return cls(
                str(data["document_id"]),
                str(data["sender"]),
                tuple(str(r) for r in data["recipients"]),
                Priority(int(data["priority"])),
                Secrecy(data["secrecy"]),
                bytes.fromhex(data["content_sha256"]),
                bytes.fromhex(data["value_sha256"]),
                str(data["cert_id"]),
                int(data["send_time_us"]),
                None if data.get("producer_hop_us") is None else int(data["producer_hop_us"]),
            )
        except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as exc:
            raise ValueError(f"unreadable exclusion metadata: {exc}") from exc


def exclusion_of(value: bytes | None) -> Exclusion | None:
    """The exclusion metadata of an envelope value whose document is classified, else None
    (not classified, or not decodable: then there is no declared secrecy to honour)."""
    try:
        env = codec.decode_envelope(value or b"")
        doc = codec.decode_document(env.content)
    except DecodeError:
        return None
    if not doc.secrecy.classified:
        return None
    return Exclusion(
        doc.id,
        doc.sender.id,
        tuple(r.id for r in doc.recipients),
        doc.priority,
        doc.secrecy,
        codec.content_sha256(env.content),
        hashlib.sha256(value or b"").digest(),
        env.cert_id,
        doc.send_time_us,
        next((h.time_us for h in env.trace if h.node.startswith("producer:")), None),
    )


def redact(rec: RawRecord, envelope_topics: Collection[str]) -> RawRecord:
    """`rec` as an archive may keep it: a classified envelope on `envelope_topics` loses
    its value (and its headers' values, which a writer may have filled with anything)."""
    if rec.topic not in envelope_topics or rec.excluded is not None:
        return rec
    exclusion = exclusion_of(rec.value)
    if exclusion is None:
        return rec
    headers = tuple((name, None) for name, _ in rec.headers)
    return dataclasses.replace(rec, value=None, headers=headers, excluded=exclusion.to_bytes())
