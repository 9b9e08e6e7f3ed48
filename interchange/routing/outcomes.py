"""The outcomes of the router's decision (`routing.decision`) and the rejections it writes.

`Delivered`, `Excluded` or `Rejected` (`Decision`); `Parsed`, check 1's work, shared with
the audit; `Placement`, where a submission sits on Kafka. A rejection copies at most
`MAX_ID_CHARS` characters of any id and `MAX_DETAIL_CHARS` of detail (`bounded`), and
never a document's subject or content (`Meta` holds what it may carry).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from interchange.wire import codec
from interchange.wire.codec import content_sha256
from interchange.wire.model import (
    Document,
    Envelope,
    Priority,
    ReasonCode,
    Rejection,
    Secrecy,
    Tier,
)

MAX_ID_CHARS = 256  # characters of an id a rejection copies; longer ones are cut
MAX_DETAIL_CHARS = 512  # characters of a rejection's detail
TRUNCATED = "...[truncated]"  # ends an id or detail that was cut


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a submission sits on Kafka: its record key and partition, and how many
    partitions the submissions topic has (`partitions_for_topic`)."""

    key: bytes | None
    partition: int
    partitions: int


@dataclass(frozen=True, slots=True)
class Delivery:
    recipient: str
    tier: Tier


@dataclass(frozen=True, slots=True)
class Delivered:
    """Verified and unclassified: deliveries (may be empty) and NOT_CONNECTED rejections."""

    document_id: str
    sender: str
    envelope: Envelope  # the submitted envelope with the router hop appended
    deliveries: tuple[Delivery, ...]
    not_connected: tuple[Rejection, ...]
    priority: Priority


@dataclass(frozen=True, slots=True)
class Excluded:
    """A classified document: only this metadata-only rejection (reason CLASSIFIED) leaves."""

    rejection: Rejection
    addressed: tuple[str, ...] = ()  # recipient ids, for per-tier counters
    priority: Priority = Priority.NORMAL


@dataclass(frozen=True, slots=True)
class Rejected:
    rejection: Rejection
    addressed: tuple[str, ...] = ()  # recipient ids when the document decoded, for counters
    priority: Priority = Priority.NORMAL

    @property
    def reason(self) -> ReasonCode:
        return self.rejection.reason

    @property
    def detail(self) -> str:
        return self.rejection.detail


Decision = Delivered | Excluded | Rejected


@dataclass(frozen=True, slots=True)
class Parsed:
    """Check 1's work on one record: both layers as far as they decoded strictly, or the
    MALFORMED rejection. Public so the audit, which also needs the decoded layers, decodes
    each submission once."""

    envelope: Envelope | None
    document: Document | None
    malformed: Rejected | None  # set exactly when `document` is None


def bounded(text: str, limit: int = MAX_ID_CHARS) -> str:
    """`text`, or its first `limit` characters followed by `TRUNCATED` when longer.

    What a rejection copies from unauthenticated input; the content hash it keeps
    still matches the submission."""
    return text if len(text) <= limit else text[:limit] + TRUNCATED


@dataclass(frozen=True, slots=True)
class Meta:
    """The metadata a rejection may carry: never subject, content or attachments.

    `content` is held only to hash it when a rejection is made: most documents are
    delivered, and only rejections carry the SHA-256. Ids are copied `bounded`.
    """

    document_id: str
    sender: str
    secrecy: Secrecy
    content: bytes = field(repr=False)
    send_time_us: int
    now_us: int
    addressed: tuple[str, ...]
    priority: Priority

    def rejection(
        self,
        reason: ReasonCode,
        detail: str,
        recipient: str | None = None,
        digest: bytes | None = None,
    ) -> Rejection:
        return Rejection(
            document_id=bounded(self.document_id),
            sender=bounded(self.sender),
            reason=reason,
            detail=bounded(detail, MAX_DETAIL_CHARS),
            content_sha256=digest if digest is not None else codec.content_sha256(self.content),
            secrecy=self.secrecy,
            recipient=recipient,
            time_us=self.now_us,
            send_time_us=self.send_time_us,
        )

    def rejected(self, reason: ReasonCode, detail: str) -> Rejected:
        return Rejected(self.rejection(reason, detail), self.addressed, self.priority)


def refused_batch(reason: str, now_us: int) -> Rejected:
    """Check 1 for the stand-in of a batch the reader refused to inflate (the Kafka
    seam's `bounded_records.refusal`): MALFORMED, hashed over the (empty) value the
    reader saw."""
    detail = f"envelope: refused batch: {reason}"
    return rejected_unattributed(ReasonCode.MALFORMED, detail, content_sha256(b""), now_us)


def rejected_unattributed(reason: ReasonCode, detail: str, digest: bytes, now_us: int) -> Rejected:
    return Rejected(
        Rejection(
            document_id="",
            sender="",
            reason=reason,
            detail=bounded(detail, MAX_DETAIL_CHARS),
            content_sha256=digest,
            secrecy=Secrecy.NONE,
            recipient=None,
            time_us=now_us,
            send_time_us=0,
        )
    )
