"""What conformance reports: the checks, their outcomes, and the per-message report.

Every message gets one `Finding` per `Check`, each PASS, FAIL or SKIP; reason words are
`DecodeReason` values for wire defects and `ReasonCode` values for certificate and
signature defects (`audit.conformance`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass


class Check(enum.StrEnum):
    """What is checked, in report order."""

    SCHEMA = "schema"  # envelope and document are valid Avro of schemas/*.avsc
    CANONICAL = "canonical"  # the one canonical encoding (what the router re-encodes)
    SIZE_LIMITS = "size-limits"  # byte and count caps of docs/SCHEMAS.md
    REQUIRED_FIELDS = "required-fields"  # non-empty fields, valid dates, digests, trace
    ID_CONVENTION = "id-convention"  # id = {sender},{yyyy/MM/dd},{CodeNumber}/{CodeNotation}
    TIMESTAMPS = "timestamps"  # send time plausible against the reference time
    CERTIFICATE = "certificate"  # known, chained, valid and unrevoked at the reference time
    SIGNATURE = "signature"  # verifies over the exact content bytes with the cert's key
    RECORD_KEY = "record-key"  # Kafka key = sender id (topic input only)
    SECRECY = "secrecy"  # classified documents must not be submitted


class Status(enum.StrEnum):
    PASS = "pass"  # noqa: S105 - a check outcome, not a password
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True, slots=True)
class Finding:
    check: Check
    status: Status
    reason: str = ""  # machine word: a DecodeReason, a ReasonCode or a short tag
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Message:
    """One produced record: its value, and what the transport says about it."""

    name: str  # where it came from: "topic[p]@offset" or a file name
    value: bytes
    key: bytes | None = None  # None: not known (file input), RECORD_KEY is skipped
    timestamp_us: int | None = None  # record timestamp; None: use the run's reference time


@dataclass(frozen=True, slots=True)
class MessageReport:
    name: str
    document_id: str
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return all(f.status is not Status.FAIL for f in self.findings)

    def failures(self) -> list[Finding]:
        return [f for f in self.findings if f.status is Status.FAIL]


@dataclass(frozen=True, slots=True)
class Totals:
    messages: int
    passed: int
    failed: int
    by_check: dict[Check, int]  # failures per check


def totals(reports: Iterable[MessageReport]) -> Totals:
    reports = list(reports)
    by_check = dict.fromkeys(Check, 0)
    for r in reports:
        for f in r.failures():
            by_check[f.check] += 1
    failed = sum(1 for r in reports if not r.ok)
    return Totals(len(reports), len(reports) - failed, failed, by_check)


def fail(check: Check, reason: str, detail: str) -> Finding:
    return Finding(check, Status.FAIL, str(reason), detail)
