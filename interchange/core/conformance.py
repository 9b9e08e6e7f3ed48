"""Conformance checks of what an agency connector produced: bytes in, findings out.

Pure: no Kafka, no clock reads (the reference time is an argument). Every
message gets one `Finding` per `Check`, each PASS, FAIL or SKIP (skipped when
an earlier defect makes the check meaningless, e.g. no signature check on bytes
that are not an envelope). The rules are those of docs/CONNECTOR.md; reason
words are `DecodeReason` values for wire defects and `ReasonCode` values for
certificate and signature defects, so a finding names what the router would
answer.
"""

from __future__ import annotations

import enum
import io
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from fastavro import schemaless_reader, schemaless_writer

from interchange.core import codec
from interchange.core.directory import is_valid_id
from interchange.core.model import CERT_ID, ReasonCode, Secrecy
from interchange.core.policy import MAX_SEND_AHEAD_US, MAX_SEND_BEHIND_US
from interchange.core.truststore import TrustStore
from interchange.core.verification import Verdict
from interchange.errors import DecodeError, EncodeError

MAX_FUTURE_SKEW_US = MAX_SEND_AHEAD_US  # send time at most 5 min after the reference
MAX_AGE_US = MAX_SEND_BEHIND_US  # and at most one day before it (the router's bounds)
# The router's limits, so conformance never disagrees with it.
MAX_STRING_BYTES = codec.MAX_STRING_BYTES
MAX_RECIPIENTS = codec.MAX_RECIPIENTS
MAX_ATTACHMENTS = codec.MAX_ATTACHMENTS
MAX_TRACE = codec.MAX_TRACE_HOPS
MAX_SIGNATURE_BYTES = codec.MAX_SIGNATURE_BYTES


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


class Checker:
    """Runs every check on messages against one trust store (opened by the caller)."""

    def __init__(
        self,
        trust: TrustStore,
        *,
        max_future_skew_us: int = MAX_FUTURE_SKEW_US,
        max_age_us: int = MAX_AGE_US,
    ) -> None:
        self._trust = trust
        self._future = max_future_skew_us
        self._age = max_age_us

    def check(self, message: Message, reference_us: int) -> MessageReport:
        """All findings for one message; `reference_us` stands in for a missing timestamp."""
        ref = message.timestamp_us if message.timestamp_us is not None else reference_us
        found: dict[Check, Finding] = {}
        env, env_canonical = _read(message.value, codec.decode_envelope, codec.ENVELOPE_SCHEMA)
        doc, doc_canonical = (None, None)
        if isinstance(env, dict):
            doc, doc_canonical = _read(env["content"], codec.decode_document, codec.DOCUMENT_SCHEMA)
        found[Check.SCHEMA] = _schema_finding(env, doc)
        found[Check.SIZE_LIMITS] = _size_finding(message.value, env, doc)
        if not isinstance(env, dict) or not isinstance(doc, dict):
            return self._partial(message, found)
        found[Check.CANONICAL] = _canonical_finding(env_canonical, doc_canonical)
        found[Check.REQUIRED_FIELDS] = _required_finding(env, doc)
        found[Check.ID_CONVENTION] = _id_finding(doc)
        found[Check.TIMESTAMPS] = self._time_finding(env, doc, ref)
        found[Check.CERTIFICATE], found[Check.SIGNATURE] = self._crypto_findings(env, doc, ref)
        found[Check.RECORD_KEY] = _key_finding(message.key, doc)
        found[Check.SECRECY] = _secrecy_finding(doc)
        return MessageReport(message.name, doc["id"], tuple(found[c] for c in Check))

    def _partial(self, message: Message, found: dict[Check, Finding]) -> MessageReport:
        why = "not an envelope holding a document"
        out = [found.get(c) or Finding(c, Status.SKIP, "", why) for c in Check]
        return MessageReport(message.name, "", tuple(out))

    def _time_finding(self, env: dict[str, Any], doc: dict[str, Any], ref: int) -> Finding:
        send = doc["send_time_us"]
        if send > ref + self._future:
            ahead = (send - ref) / 1e6
            return _fail(Check.TIMESTAMPS, "FUTURE", f"send_time_us {ahead:.0f} s ahead")
        if send < ref - self._age:
            behind = (ref - send) / 1e6
            return _fail(Check.TIMESTAMPS, "TOO_OLD", f"send_time_us {behind:.0f} s old")
        times = [h["time_us"] for h in env["trace"]]
        if any(b < a for a, b in itertools.pairwise(times)):
            return _fail(Check.TIMESTAMPS, "TRACE_ORDER", "trace times decrease")
        if times and times[0] < send - self._future:
            return _fail(Check.TIMESTAMPS, "TRACE_BEFORE_SEND", "first hop long before send time")
        return Finding(Check.TIMESTAMPS, Status.PASS)

    def _crypto_findings(
        self, env: dict[str, Any], doc: dict[str, Any], ref: int
    ) -> tuple[Finding, Finding]:
        """Judged at the reference time (the record timestamp), as the router judges at
        the receipt time, never at the send time the signer chose. Both through the one
        verifier: the certificate by its ordered checks, the signature with the
        certificate's key even when the certificate itself is not acceptable."""
        content, signature, cert_id = env["content"], env["signature"], env["cert_id"]
        verifier = self._trust.verifier
        verdict = verifier.verdict(content, signature, cert_id, doc["sender"]["id"], ref)
        if verdict.of_certificate:
            reason = verdict.reason
            cert = _fail(Check.CERTIFICATE, str(reason), _cert_detail(reason, cert_id))
        else:
            cert = Finding(Check.CERTIFICATE, Status.PASS)
        verdict = verifier.signature_only(content, signature, cert_id)
        return cert, self._signature_finding(verdict, signature, cert_id)

    def _signature_finding(self, verdict: Verdict, signature: bytes, cert_id: str) -> Finding:
        info = self._trust.certificate(cert_id)
        algorithm = info.algorithm if info is not None else None
        if verdict.reason is ReasonCode.UNKNOWN_CERTIFICATE:
            return Finding(Check.SIGNATURE, Status.SKIP, "", "certificate not found")
        if verdict.of_certificate:  # damaged, or a key outside the profile
            return Finding(Check.SIGNATURE, Status.SKIP, "", "key type outside the profile")
        if verdict.reason is ReasonCode.ALGORITHM_MISMATCH:
            return _fail(
                Check.SIGNATURE,
                ReasonCode.ALGORITHM_MISMATCH,
                f"{len(signature)}-byte signature is not a {algorithm} signature",
            )
        if verdict.reason is not None:
            return _fail(Check.SIGNATURE, verdict.reason, f"{algorithm} over content")
        return Finding(Check.SIGNATURE, Status.PASS)


def _fail(check: Check, reason: str, detail: str) -> Finding:
    return Finding(check, Status.FAIL, str(reason), detail)


def _read(data: bytes, strict: Any, schema: dict[str, Any]) -> tuple[Any, bool | None]:
    """(value dict, canonical?) ; value is a DecodeError when the bytes are not schema-valid.

    The strict codec decides first; only when it objects to canonical form or to a
    semantic rule is fastavro asked for a lenient reading, to tell "valid Avro, wrong
    form" from "not Avro at all". The input is size-capped by the strict codec first.
    """
    try:
        strict(data)
    except DecodeError as exc:
        if exc.reason == codec.DecodeReason.TOO_LARGE or exc.reason not in _LENIENT:
            return exc, None
        try:
            value = _lenient(data, schema)
        except Exception:  # not readable leniently either: report the strict reason
            return exc, None
        return value, _reencodes(value, schema, data)
    # The strict codec re-encoded the input to the same bytes: canonical already.
    return _lenient(data, schema), True


def _reencodes(value: dict[str, Any], schema: dict[str, Any], data: bytes) -> bool:
    """The definition of canonical: fastavro's encoding of the value is the input."""
    out = io.BytesIO()
    try:
        schemaless_writer(out, schema, value)
    except Exception:  # a value fastavro read but cannot write back
        return False
    return out.getvalue() == data


_LENIENT = frozenset(
    {
        codec.DecodeReason.NON_CANONICAL,
        codec.DecodeReason.BAD_DATE,
        codec.DecodeReason.BAD_DIGEST,
        codec.DecodeReason.BAD_VALUE,
        codec.DecodeReason.LIMIT_EXCEEDED,  # valid Avro above a cap: SIZE_LIMITS reports it
    }
)


def _lenient(data: bytes, schema: dict[str, Any]) -> dict[str, Any]:
    buf = io.BytesIO(data)
    value = schemaless_reader(buf, schema, None)
    if buf.tell() != len(data):
        raise DecodeError(codec.DecodeReason.TRAILING_BYTES, "bytes after the record")
    if not isinstance(value, dict):
        raise DecodeError(codec.DecodeReason.INTERNAL, "not a record")
    return value


def _schema_finding(env: Any, doc: Any) -> Finding:
    if isinstance(env, DecodeError):
        return _fail(Check.SCHEMA, env.reason, f"envelope: {env.detail}")
    if isinstance(doc, DecodeError):
        return _fail(Check.SCHEMA, doc.reason, f"document (content): {doc.detail}")
    return Finding(Check.SCHEMA, Status.PASS)


def _canonical_finding(env_ok: bool | None, doc_ok: bool | None) -> Finding:
    if doc_ok is False:
        return _fail(
            Check.CANONICAL,
            codec.DecodeReason.NON_CANONICAL,
            "document bytes are not the canonical encoding (re-encoding differs)",
        )
    if env_ok is False:
        return _fail(
            Check.CANONICAL,
            codec.DecodeReason.NON_CANONICAL,
            "envelope bytes are not the canonical encoding (re-encoding differs)",
        )
    return Finding(Check.CANONICAL, Status.PASS)


def _size_finding(value: bytes, env: Any, doc: Any) -> Finding:
    if len(value) > codec.MAX_ENVELOPE_BYTES:
        return _fail(Check.SIZE_LIMITS, "TOO_LARGE", f"envelope {len(value)} bytes")
    for what in (env, doc):
        if isinstance(what, DecodeError) and what.reason == "TOO_LARGE":
            return _fail(Check.SIZE_LIMITS, what.reason, what.detail)
    problems: list[str] = []
    if isinstance(env, dict):
        if len(env["content"]) > codec.MAX_DOCUMENT_BYTES:
            problems.append(f"content {len(env['content'])} bytes")
        if len(env["signature"]) > MAX_SIGNATURE_BYTES:
            problems.append(f"signature {len(env['signature'])} bytes")
        if len(env["trace"]) > MAX_TRACE:
            problems.append(f"{len(env['trace'])} trace hops")
    if isinstance(doc, dict):
        if len(doc["recipients"]) > MAX_RECIPIENTS:
            problems.append(f"{len(doc['recipients'])} recipients")
        if len(doc["attachments"]) > MAX_ATTACHMENTS:
            problems.append(f"{len(doc['attachments'])} attachments")
        long = [
            p
            for p, s in _strings(doc)
            if len(s.encode("utf-8", "surrogatepass")) > MAX_STRING_BYTES
        ]
        problems += [f"{p} above 64 KiB" for p in long]
    if problems:
        return _fail(Check.SIZE_LIMITS, "LIMIT_EXCEEDED", "; ".join(problems))
    return Finding(Check.SIZE_LIMITS, Status.PASS)


def _strings(doc: dict[str, Any]) -> list[tuple[str, str]]:
    out = [(k, v) for k, v in doc.items() if isinstance(v, str)]
    out += [(f"sender.{k}", v) for k, v in doc["sender"].items()]
    out += [(f"signer.{k}", v) for k, v in doc["signer"].items()]
    for i, r in enumerate(doc["recipients"]):
        out += [(f"recipients[{i}].{k}", v) for k, v in r.items()]
    for i, a in enumerate(doc["attachments"]):
        out += [(f"attachments[{i}].{k}", a[k]) for k in ("name", "media_type")]
    return out


_REQUIRED = ("id", "code_number", "code_notation", "promulgation_place", "subject")


def _required_finding(env: dict[str, Any], doc: dict[str, Any]) -> Finding:
    problems = _header_problems(doc) + _attachment_problems(doc)
    if not CERT_ID.fullmatch(env["cert_id"]):
        problems.append("cert_id is not 64 lowercase hex digits")
    producer = f"producer:{doc['sender']['id']}"
    if not env["trace"] or env["trace"][0]["node"] != producer:
        problems.append(f"trace does not start with a {producer!r} hop")
    if problems:
        return _fail(Check.REQUIRED_FIELDS, "MISSING_OR_INVALID", "; ".join(problems))
    return Finding(Check.REQUIRED_FIELDS, Status.PASS)


def _header_problems(doc: dict[str, Any]) -> list[str]:
    problems = [f"{name} is empty" for name in _REQUIRED if not doc[name].strip()]
    problems += [f"sender.{p} is empty" for p in ("id", "name") if not doc["sender"][p].strip()]
    problems += [
        f"signer.{p} is empty" for p in ("name", "position") if not doc["signer"][p].strip()
    ]
    if not is_valid_id(doc["sender"]["id"]):
        problems.append("sender.id is not of the shape DDD.DD.DD.Xnn")
    if not doc["recipients"]:
        problems.append("no recipients")
    problems += [
        f"recipients[{i}].id {r['id']!r} is not of the shape DDD.DD.DD.Xnn"
        for i, r in enumerate(doc["recipients"])
        if not is_valid_id(r["id"])
    ]
    problems += [
        f"{name} {doc[name]!r} is not a real yyyy-MM-dd date"
        for name in ("promulgation_date", "due_date")
        if doc[name] is not None and not codec.valid_date(doc[name])
    ]
    return problems


def _attachment_problems(doc: dict[str, Any]) -> list[str]:
    problems = []
    for i, a in enumerate(doc["attachments"]):
        if not a["name"].strip() or not a["media_type"].strip():
            problems.append(f"attachments[{i}] has an empty name or media_type")
        if codec.content_sha256(a["content"]) != a["sha256"]:
            problems.append(f"attachments[{i}].sha256 does not match its content")
    return problems


def _id_finding(doc: dict[str, Any]) -> Finding:
    try:
        want = codec.make_document_id(
            doc["sender"]["id"], doc["promulgation_date"], doc["code_number"], doc["code_notation"]
        )
    except EncodeError:
        return Finding(Check.ID_CONVENTION, Status.SKIP, "", "promulgation_date is not valid")
    if doc["id"] != want:
        return _fail(Check.ID_CONVENTION, "ID_MISMATCH", f"id {doc['id']!r}, expected {want!r}")
    return Finding(Check.ID_CONVENTION, Status.PASS)


def _cert_detail(reason: ReasonCode | None, cert_id: str) -> str:
    texts = {
        ReasonCode.UNKNOWN_CERTIFICATE: "cert_id names no certificate of this PKI",
        ReasonCode.UNTRUSTED_CERTIFICATE: "certificate not issued by the root CA",
        ReasonCode.NOT_YET_VALID: "send time before the certificate's not-before",
        ReasonCode.EXPIRED: "send time after the certificate's not-after",
        ReasonCode.REVOKED: "certificate revoked at or before the send time",
        ReasonCode.SENDER_MISMATCH: "certificate belongs to another agency than the sender",
    }
    return f"{texts.get(reason, str(reason)) if reason else ''} ({cert_id[:16]})"


def _key_finding(key: bytes | None, doc: dict[str, Any]) -> Finding:
    if key is None:
        return Finding(Check.RECORD_KEY, Status.SKIP, "", "record key not known (file input)")
    if key != doc["sender"]["id"].encode():
        return _fail(Check.RECORD_KEY, "KEY_MISMATCH", f"key {key!r} is not the sender id")
    return Finding(Check.RECORD_KEY, Status.PASS)


def _secrecy_finding(doc: dict[str, Any]) -> Finding:
    if Secrecy(doc["secrecy"]).classified:
        return _fail(
            Check.SECRECY,
            ReasonCode.CLASSIFIED,
            f"secrecy {doc['secrecy']}: classified documents must not travel over the axis",
        )
    return Finding(Check.SECRECY, Status.PASS)
