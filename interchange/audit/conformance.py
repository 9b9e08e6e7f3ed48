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

import itertools
from typing import Any

from interchange.audit.conformance_findings import (
    Check,
    Finding,
    Message,
    MessageReport,
    Status,
    fail,
)
from interchange.audit.conformance_wire import (
    canonical_finding,
    id_finding,
    read,
    required_finding,
    schema_finding,
    size_finding,
)
from interchange.pki.truststore import TrustStore
from interchange.pki.verification import Verdict
from interchange.routing.decision import MAX_SEND_AHEAD_US, MAX_SEND_BEHIND_US
from interchange.wire import codec
from interchange.wire.model import ReasonCode, Secrecy

__all__ = [  # the checker; its findings live in `conformance_findings`
    "MAX_AGE_US",
    "MAX_FUTURE_SKEW_US",
    "Checker",
]

MAX_FUTURE_SKEW_US = MAX_SEND_AHEAD_US  # send time at most 5 min after the reference
MAX_AGE_US = MAX_SEND_BEHIND_US  # and at most one day before it (the router's bounds)


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
        env, env_canonical = read(message.value, codec.decode_envelope, codec.ENVELOPE_SCHEMA)
        doc, doc_canonical = (None, None)
        if isinstance(env, dict):
            doc, doc_canonical = read(env["content"], codec.decode_document, codec.DOCUMENT_SCHEMA)
        found[Check.SCHEMA] = schema_finding(env, doc)
        found[Check.SIZE_LIMITS] = size_finding(message.value, env, doc)
        if not isinstance(env, dict) or not isinstance(doc, dict):
            return self._partial(message, found)
        found[Check.CANONICAL] = canonical_finding(env_canonical, doc_canonical)
        found[Check.REQUIRED_FIELDS] = required_finding(env, doc)
        found[Check.ID_CONVENTION] = id_finding(doc)
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
            return fail(Check.TIMESTAMPS, "FUTURE", f"send_time_us {ahead:.0f} s ahead")
        if send < ref - self._age:
            behind = (ref - send) / 1e6
            return fail(Check.TIMESTAMPS, "TOO_OLD", f"send_time_us {behind:.0f} s old")
        times = [h["time_us"] for h in env["trace"]]
        if any(b < a for a, b in itertools.pairwise(times)):
            return fail(Check.TIMESTAMPS, "TRACE_ORDER", "trace times decrease")
        if times and times[0] < send - self._future:
            return fail(Check.TIMESTAMPS, "TRACE_BEFORE_SEND", "first hop long before send time")
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
            cert = fail(Check.CERTIFICATE, str(reason), _cert_detail(reason, cert_id))
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
            return fail(
                Check.SIGNATURE,
                ReasonCode.ALGORITHM_MISMATCH,
                f"{len(signature)}-byte signature is not a {algorithm} signature",
            )
        if verdict.reason is not None:
            return fail(Check.SIGNATURE, verdict.reason, f"{algorithm} over content")
        return Finding(Check.SIGNATURE, Status.PASS)


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
        return fail(Check.RECORD_KEY, "KEY_MISMATCH", f"key {key!r} is not the sender id")
    return Finding(Check.RECORD_KEY, Status.PASS)


def _secrecy_finding(doc: dict[str, Any]) -> Finding:
    if Secrecy(doc["secrecy"]).classified:
        return fail(
            Check.SECRECY,
            ReasonCode.CLASSIFIED,
            f"secrecy {doc['secrecy']}: classified documents must not travel over the axis",
        )
    return Finding(Check.SECRECY, Status.PASS)
