"""Conformance of the wire format: schema, canonical form, size caps, required fields and
the id convention of one message (pure; `audit.conformance` runs them).

The strict codec decides first; fastavro's lenient reading only tells "valid Avro,
wrong form" from "not Avro at all", so a finding names what the router would answer.
"""

from __future__ import annotations

import io
from typing import Any

from fastavro import schemaless_reader, schemaless_writer

from interchange.audit.conformance_findings import Check, Finding, Status, fail
from interchange.axis.directory import is_valid_id
from interchange.errors import DecodeError, EncodeError
from interchange.wire import codec, header_avro
from interchange.wire.model import CERT_ID

# The router's limits, so conformance never disagrees with it.
MAX_STRING_BYTES = codec.MAX_STRING_BYTES
MAX_RECIPIENTS = codec.MAX_RECIPIENTS
MAX_ATTACHMENTS = codec.MAX_ATTACHMENTS
MAX_TRACE = codec.MAX_TRACE_HOPS
MAX_SIGNATURE_BYTES = codec.MAX_SIGNATURE_BYTES


def read(data: bytes, strict: Any, schema: dict[str, Any]) -> tuple[Any, bool | None]:
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


def schema_finding(env: Any, doc: Any) -> Finding:
    if isinstance(env, DecodeError):
        return fail(Check.SCHEMA, env.reason, f"envelope: {env.detail}")
    if isinstance(doc, DecodeError):
        return fail(Check.SCHEMA, doc.reason, f"document (content): {doc.detail}")
    return Finding(Check.SCHEMA, Status.PASS)


def canonical_finding(env_ok: bool | None, doc_ok: bool | None) -> Finding:
    if doc_ok is False:
        return fail(
            Check.CANONICAL,
            codec.DecodeReason.NON_CANONICAL,
            "document bytes are not the canonical encoding (re-encoding differs)",
        )
    if env_ok is False:
        return fail(
            Check.CANONICAL,
            codec.DecodeReason.NON_CANONICAL,
            "envelope bytes are not the canonical encoding (re-encoding differs)",
        )
    return Finding(Check.CANONICAL, Status.PASS)


def size_finding(value: bytes, env: Any, doc: Any) -> Finding:
    if len(value) > codec.MAX_ENVELOPE_BYTES:
        return fail(Check.SIZE_LIMITS, "TOO_LARGE", f"envelope {len(value)} bytes")
    for what in (env, doc):
        if isinstance(what, DecodeError) and what.reason == "TOO_LARGE":
            return fail(Check.SIZE_LIMITS, what.reason, what.detail)
    problems: list[str] = []
    if isinstance(env, dict):
        if len(env["content"]) > codec.MAX_DOCUMENT_BYTES:
            problems.append(f"content {len(env['content'])} bytes")
        if len(env["signature"]) > MAX_SIGNATURE_BYTES:
            problems.append(f"signature {len(env['signature'])} bytes")
        if len(env["trace"]) > MAX_TRACE:
            problems.append(f"{len(env['trace'])} trace hops")
    if isinstance(doc, dict):
        if len(doc["id"].encode("utf-8", "surrogatepass")) > codec.MAX_DOCUMENT_ID_BYTES:
            problems.append(f"id above {codec.MAX_DOCUMENT_ID_BYTES} bytes")
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
        return fail(Check.SIZE_LIMITS, "LIMIT_EXCEEDED", "; ".join(problems))
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


def required_finding(env: dict[str, Any], doc: dict[str, Any]) -> Finding:
    problems = _header_problems(doc) + _attachment_problems(doc)
    if not CERT_ID.fullmatch(env["cert_id"]):
        problems.append("cert_id is not 64 lowercase hex digits")
    producer = f"producer:{doc['sender']['id']}"
    if not env["trace"] or env["trace"][0]["node"] != producer:
        problems.append(f"trace does not start with a {producer!r} hop")
    if problems:
        return fail(Check.REQUIRED_FIELDS, "MISSING_OR_INVALID", "; ".join(problems))
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
        if doc[name] is not None and not header_avro.valid_date(doc[name])
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


def id_finding(doc: dict[str, Any]) -> Finding:
    try:
        want = codec.make_document_id(
            doc["sender"]["id"], doc["promulgation_date"], doc["code_number"], doc["code_notation"]
        )
    except EncodeError:
        return Finding(Check.ID_CONVENTION, Status.SKIP, "", "promulgation_date is not valid")
    if doc["id"] != want:
        return fail(Check.ID_CONVENTION, "ID_MISMATCH", f"id {doc['id']!r}, expected {want!r}")
    return Finding(Check.ID_CONVENTION, Status.PASS)
