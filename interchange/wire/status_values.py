"""Status record values from parts encoded once, for the recipients' five statuses per record.

An Avro record's binary encoding is the encodings of its fields one after the other, with
nothing between them (the Avro specification, "Binary Encoding", records). A status value
of the recipients' own (01, and 03-06 of a work record) is therefore

    head (document_id, sender, recipient)   once per delivered record
    code                                    once per status code, at import
    time_us                                 per status
    detail ("")                             once, at import
    tail (staff, online, due_us)            once per official of a plan (two per record),
                                            or the empty tail of a 01

and every part is written by fastavro, with a schema cut from `status.avsc`'s own fields
in their order: the bytes are exactly `codec.encode_status`'s (tests/unit/
test_status_values.py compares the two over generated messages), for one fastavro call
per status on a `long` instead of one on the whole record (a record's five statuses
56 -> 23 µs with their headers and key, measured; docs/BENCHMARKS.md, sixth session).
Recall and update answers (13, 15, 16: rare, with a detail of their own) are encoded
whole by `codec.encode_status`. No Kafka here.
"""

from __future__ import annotations

import json
from typing import Any

from fastavro import parse_schema

from interchange.wire import codec
from interchange.wire.model import StaffInfo, StatusCode
from interchange.wire.schemas import schema_text

_HEAD = ("document_id", "sender", "recipient")
_CODE = ("code",)
_TIME = ("time_us",)
_DETAIL = ("detail",)
_TAIL = ("staff", "online", "due_us")
_STAFF_BRANCH = "vn.interchange.StaffInfo"  # the named record of the staff union


def _fields() -> dict[str, Any]:
    schema = json.loads(schema_text("status"))
    names = tuple(f["name"] for f in schema["fields"])
    if names != _HEAD + _CODE + _TIME + _DETAIL + _TAIL:  # the parts must cover it, in order
        raise TypeError(f"status schema fields {names} no longer match the status parts")
    return {f["name"]: f for f in schema["fields"]}


_FIELDS = _fields()


def _part(name: str, fields: tuple[str, ...]) -> Any:
    """A record schema of `fields` of the status schema (same types, same named types)."""
    record = {
        "type": "record",
        "name": name,
        "namespace": "vn.interchange",
        "fields": [_FIELDS[f] for f in fields],
    }
    return parse_schema(record, named_schemas={})


def _write(schema: Any, value: Any) -> bytes:
    return codec.write_value(schema, value, "status")


_HEAD_SCHEMA = _part("StatusHead", _HEAD)
_TAIL_SCHEMA = _part("StatusTail", _TAIL)
_LONG = parse_schema("long")  # time_us
# the code enum's symbols are "S" + the two-digit code (status.avsc)
CODES: dict[StatusCode, bytes] = {
    c: _write(_part(f"StatusCode{c.value}", _CODE), {"code": f"S{c.value}"}) for c in StatusCode
}
NO_DETAIL = _write(_part("StatusDetail", _DETAIL), {"detail": ""})
NO_WORK = _write(_TAIL_SCHEMA, {"staff": None, "online": None, "due_us": None})  # a 01's tail


def head(document_id: str, sender: str, recipient: str) -> bytes:
    """The first three fields: which document, whose, and who reports."""
    return _write(
        _HEAD_SCHEMA, {"document_id": document_id, "sender": sender, "recipient": recipient}
    )


def tail(staff: StaffInfo, online: bool, due_us: int | None) -> bytes:
    """The last three fields of a work-record status (03-06)."""
    member = {"name": staff.name, "position": staff.position, "department": staff.department}
    return _write(
        _TAIL_SCHEMA, {"staff": (_STAFF_BRANCH, member), "online": online, "due_us": due_us}
    )


def value(head: bytes, code: StatusCode, time_us: int, tail: bytes) -> bytes:
    """A status record value without a detail: `head`, `code`, `time_us`, "", `tail`."""
    return b"".join((head, CODES[code], _write(_LONG, time_us), NO_DETAIL, tail))
