"""The audit's vocabulary: raw records as read, invariants, and findings (pure, no Kafka).

Every check of the audit (docs/AUDIT.md) reports a `Finding` naming what is wrong
and where: the topic, partition and offset of the offending record (for an archive
also the file and the record's position in it). `Check` groups finding kinds into
the invariants the audit proves; the run passes only when no finding exists.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One Kafka record exactly as read (from the broker or from an archive)."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...] = ()
    timestamp_type: int = 0  # 0 CreateTime, 1 LogAppendTime, -1 unknown
    # exclusion metadata replacing the value of a classified envelope in an archive
    # (`audit.redaction`); None for every record read from Kafka
    excluded: bytes | None = None

    @property
    def size(self) -> int:
        """Key, value and header bytes (what replay throughput in MB/s counts)."""
        n = len(self.key or b"") + len(self.value or b"")
        return n + sum(len(k) + len(v or b"") for k, v in self.headers)


class Check(enum.StrEnum):
    """The invariants, in report order."""

    SOURCE = "the source holds records to judge"
    ARCHIVE = "archive intact"
    DECODE = "every record decodes strictly"
    SIGNATURE = "every delivery re-verifies"
    NO_CLASSIFIED = "no classified content delivered"
    NO_CONTENT_IN_REJECTIONS = "no content in rejections"
    EXACTLY_ONCE = "valid submissions delivered exactly once"
    MATCHED = "no delivery without a valid submission"
    REJECTIONS = "every rejection carries its reason"
    STATUS = "every status refers to a delivery"
    WORKFLOW = "work-record statuses in order, 06 last, recall trail 13 -> 15/16 valid"
    AGREEMENT = "figures agree with the live report"


class Kind(enum.StrEnum):
    """What a finding is; `CHECK_OF` says which invariant it breaks."""

    # source: an audit that read nothing of the run proves nothing
    NOTHING_JUDGED = "NOTHING_JUDGED"
    # archive
    MANIFEST_UNSIGNED = "MANIFEST_UNSIGNED"
    MANIFEST_SIGNATURE_INVALID = "MANIFEST_SIGNATURE_INVALID"
    TIMESTAMP_INVALID = "TIMESTAMP_INVALID"
    ARCHIVE_MISSING = "ARCHIVE_MISSING"
    CHAIN_BROKEN = "CHAIN_BROKEN"
    MANIFEST_INVALID = "MANIFEST_INVALID"
    FILE_MISSING = "FILE_MISSING"
    FILE_EXTRA = "FILE_EXTRA"
    FILE_MODIFIED = "FILE_MODIFIED"
    FILE_UNREADABLE = "FILE_UNREADABLE"
    RECORD_MODIFIED = "RECORD_MODIFIED"
    RECORD_DELETED = "RECORD_DELETED"
    RECORD_INSERTED = "RECORD_INSERTED"
    RECORD_REORDERED = "RECORD_REORDERED"
    # records
    MALFORMED_DELIVERY = "MALFORMED_DELIVERY"
    MALFORMED_REJECTION = "MALFORMED_REJECTION"
    MALFORMED_STATUS = "MALFORMED_STATUS"
    SIGNATURE_INVALID = "SIGNATURE_INVALID"
    CLASSIFIED_DELIVERED = "CLASSIFIED_DELIVERED"
    CONTENT_IN_REJECTION = "CONTENT_IN_REJECTION"
    MISSING_DELIVERY = "MISSING_DELIVERY"
    DUPLICATE_DELIVERY = "DUPLICATE_DELIVERY"
    DELIVERED_TWICE = "DELIVERED_TWICE"  # one document id delivered from two submissions
    WRONG_DELIVERY_TOPIC = "WRONG_DELIVERY_TOPIC"
    FORGED_DELIVERY = "FORGED_DELIVERY"
    # a revoke, update or replace delivered although its target was never delivered from
    # its sender (the router had to reject it UNKNOWN_TARGET)
    TARGET_NOT_DELIVERED = "TARGET_NOT_DELIVERED"
    CONTENT_MISMATCH = "CONTENT_MISMATCH"
    REJECTION_WITHOUT_REASON = "REJECTION_WITHOUT_REASON"
    REASON_MISMATCH = "REASON_MISMATCH"
    UNEXPECTED_REJECTION = "UNEXPECTED_REJECTION"
    MISSING_REJECTION = "MISSING_REJECTION"
    STATUS_WITHOUT_DELIVERY = "STATUS_WITHOUT_DELIVERY"
    STATUS_OUT_OF_ORDER = "STATUS_OUT_OF_ORDER"  # a work-record step skipped or gone back
    STATUS_AFTER_COMPLETED = "STATUS_AFTER_COMPLETED"  # a non-recall status after 06
    # 15/16 answering no request: no 13 before it, nor a delivered update it names
    RECALL_ANSWER_WITHOUT_REQUEST = "RECALL_ANSWER_WITHOUT_REQUEST"
    RECALL_AGREED_AFTER_COMPLETED = "RECALL_AGREED_AFTER_COMPLETED"  # 15 after the record's 06
    STATUS_AFTER_WITHDRAWN = "STATUS_AFTER_WITHDRAWN"  # 04-06 after an agreed recall (15)
    RECALL_WITHOUT_REVOKE = "RECALL_WITHOUT_REVOKE"  # a 13 no delivered revoke stands behind
    FIGURE_DIFFERS = "FIGURE_DIFFERS"


_ARCHIVE = (
    Kind.MANIFEST_UNSIGNED,
    Kind.MANIFEST_SIGNATURE_INVALID,
    Kind.TIMESTAMP_INVALID,
    Kind.ARCHIVE_MISSING,
    Kind.CHAIN_BROKEN,
    Kind.MANIFEST_INVALID,
    Kind.FILE_MISSING,
    Kind.FILE_EXTRA,
    Kind.FILE_MODIFIED,
    Kind.FILE_UNREADABLE,
    Kind.RECORD_MODIFIED,
    Kind.RECORD_DELETED,
    Kind.RECORD_INSERTED,
    Kind.RECORD_REORDERED,
)

CHECK_OF: Mapping[Kind, Check] = MappingProxyType(
    dict.fromkeys(_ARCHIVE, Check.ARCHIVE)
    | {
        Kind.NOTHING_JUDGED: Check.SOURCE,
        Kind.MALFORMED_DELIVERY: Check.DECODE,
        Kind.MALFORMED_REJECTION: Check.DECODE,
        Kind.MALFORMED_STATUS: Check.DECODE,
        Kind.SIGNATURE_INVALID: Check.SIGNATURE,
        Kind.CLASSIFIED_DELIVERED: Check.NO_CLASSIFIED,
        Kind.CONTENT_IN_REJECTION: Check.NO_CONTENT_IN_REJECTIONS,
        Kind.MISSING_DELIVERY: Check.EXACTLY_ONCE,
        Kind.DUPLICATE_DELIVERY: Check.EXACTLY_ONCE,
        Kind.DELIVERED_TWICE: Check.EXACTLY_ONCE,
        Kind.WRONG_DELIVERY_TOPIC: Check.EXACTLY_ONCE,
        Kind.FORGED_DELIVERY: Check.MATCHED,
        Kind.TARGET_NOT_DELIVERED: Check.MATCHED,
        Kind.CONTENT_MISMATCH: Check.MATCHED,
        Kind.REJECTION_WITHOUT_REASON: Check.REJECTIONS,
        Kind.REASON_MISMATCH: Check.REJECTIONS,
        Kind.UNEXPECTED_REJECTION: Check.REJECTIONS,
        Kind.MISSING_REJECTION: Check.REJECTIONS,
        Kind.STATUS_WITHOUT_DELIVERY: Check.STATUS,
        Kind.STATUS_OUT_OF_ORDER: Check.WORKFLOW,
        Kind.STATUS_AFTER_COMPLETED: Check.WORKFLOW,
        Kind.RECALL_ANSWER_WITHOUT_REQUEST: Check.WORKFLOW,
        Kind.RECALL_AGREED_AFTER_COMPLETED: Check.WORKFLOW,
        Kind.STATUS_AFTER_WITHDRAWN: Check.WORKFLOW,
        Kind.RECALL_WITHOUT_REVOKE: Check.WORKFLOW,
        Kind.FIGURE_DIFFERS: Check.AGREEMENT,
    }
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One violation. Location fields are empty/None when the offending thing has no record."""

    kind: Kind
    detail: str
    topic: str = ""
    partition: int | None = None
    offset: int | None = None
    file: str = ""  # archive file, for archive findings
    seq: int | None = None  # position in the archive file

    @property
    def check(self) -> Check:
        return CHECK_OF[self.kind]

    @property
    def where(self) -> str:
        """`topic[partition]@offset`, plus `file#seq` for archive findings."""
        parts = []
        if self.topic:
            loc = self.topic
            if self.partition is not None:
                loc += f"[{self.partition}]"
            if self.offset is not None:
                loc += f"@{self.offset}"
            parts.append(loc)
        if self.file:
            parts.append(self.file + (f"#{self.seq}" if self.seq is not None else ""))
        return " ".join(parts) or "-"

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind.value,
            "check": self.check.name,
            "detail": self.detail,
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "file": self.file,
            "seq": self.seq,
        }


def at(kind: Kind, record: RawRecord, detail: str) -> Finding:
    """A finding located at `record`."""
    return Finding(kind, detail, record.topic, record.partition, record.offset)


def by_check(findings: Iterable[Finding]) -> dict[Check, list[Finding]]:
    """Findings grouped per invariant, every invariant present (empty list: it holds)."""
    out: dict[Check, list[Finding]] = {c: [] for c in Check}
    for f in findings:
        out[f.check].append(f)
    return out
