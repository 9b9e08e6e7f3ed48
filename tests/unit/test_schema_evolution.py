"""The schemas are documented, and every change to them is backward compatible (schemas/README.md).

`schemas/history/vN/` holds each released version. The newest must equal the
current `schemas/*.avsc` (so a change forces a new version), and the current
schemas must read data written with every version (fastavro schema resolution),
with fields only appended (with defaults) and enum symbols only appended.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fastavro
import pytest

from interchange.errors import DecodeError
from interchange.wire.schemas import SCHEMA_NAMES, schema_text

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
HISTORY = SCHEMAS / "history"
VECTORS = SCHEMAS.parent / "tests" / "vectors" / "vectors.json"
NAMESPACE = "vn.interchange"


def _versions() -> list[Path]:
    dirs = [p for p in HISTORY.iterdir() if p.is_dir() and p.name[1:].isdigit()]
    return sorted(dirs, key=lambda p: int(p.name[1:]))


def _current(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(schema_text(name))
    return loaded


def _named(schema: dict[str, Any]) -> dict[str, Any]:
    parsed: Any = fastavro.parse_schema(schema)
    named: dict[str, Any] = parsed["__named_schemas"]
    return named


def _sample(schema: Any, named: dict[str, Any], rng: random.Random) -> Any:
    """A random value of `schema` (enough to exercise resolution, not the codec's semantics)."""
    if isinstance(schema, list):
        return _sample(rng.choice(schema), named, rng)
    if isinstance(schema, str):
        if schema in named:
            return _sample(named[schema], named, rng)
        primitives: dict[str, Callable[[], Any]] = {
            "null": lambda: None,
            "boolean": lambda: rng.random() < 0.5,
            "int": lambda: rng.randint(-(1 << 31), (1 << 31) - 1),
            "long": lambda: rng.randint(-(1 << 63), (1 << 63) - 1),
            "float": lambda: 0.5,
            "double": rng.random,
            "string": lambda: rng.choice(["", "Hà Nội", "000.00.00.G22"]),
            "bytes": lambda: rng.randbytes(rng.randint(0, 8)),
        }
        return primitives[schema]()
    kind = schema["type"]
    if kind == "record":
        return {f["name"]: _sample(f["type"], named, rng) for f in schema["fields"]}
    if kind == "enum":
        return rng.choice(schema["symbols"])
    if kind == "fixed":
        return rng.randbytes(schema["size"])
    if kind == "array":
        return [_sample(schema["items"], named, rng) for _ in range(rng.randint(0, 3))]
    if kind == "map":
        return {str(i): _sample(schema["values"], named, rng) for i in range(rng.randint(0, 3))}
    return _sample(kind, named, rng)


def check_readable(old: dict[str, Any], new: dict[str, Any], samples: int = 300) -> None:
    """Data written with `old` must resolve with `new` as the reader schema."""
    old_parsed = fastavro.parse_schema(old)
    new_parsed = fastavro.parse_schema(new)
    rng = random.Random(7)
    for _ in range(samples):
        value = _sample(old_parsed, _named(old), rng)
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, old_parsed, value)
        buf.seek(0)
        fastavro.schemaless_reader(buf, old_parsed, new_parsed)
        assert buf.tell() == len(buf.getvalue())


def check_append_only(old: dict[str, Any], new: dict[str, Any]) -> None:
    """Stricter than Avro: old fields and enum symbols stay, in order; new fields have defaults."""
    old_named, new_named = _named(old), _named(new)
    for name, before in old_named.items():
        assert name in new_named, f"{name} was removed or renamed"
        after = new_named[name]
        assert after["type"] == before["type"], f"{name} changed kind"
        if before["type"] == "enum":
            assert after["symbols"][: len(before["symbols"])] == before["symbols"], name
        elif before["type"] == "fixed":
            assert after["size"] == before["size"], name
        elif before["type"] == "record":
            old_fields = [f["name"] for f in before["fields"]]
            new_fields = [f["name"] for f in after["fields"]]
            assert new_fields[: len(old_fields)] == old_fields, f"{name} fields not append-only"
            for added in after["fields"][len(old_fields) :]:
                assert "default" in added, f"{name}.{added['name']} has no default"


def test_history_exists_and_newest_equals_current() -> None:
    versions = _versions()
    assert versions, "no committed schema version under schemas/history/"
    assert versions[0].name == "v1"
    newest = versions[-1]
    for name in SCHEMA_NAMES:
        released = json.loads((newest / f"{name}.avsc").read_text(encoding="utf-8"))
        assert released == _current(name), f"{name}.avsc changed: commit it as a new version"


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_current_reads_every_released_version(name: str) -> None:
    for version in _versions():
        path = version / f"{name}.avsc"
        if not path.exists():  # the record type did not exist yet
            continue
        old = json.loads(path.read_text(encoding="utf-8"))
        check_append_only(old, _current(name))
        check_readable(old, _current(name))


def test_the_checks_catch_incompatible_changes() -> None:
    base = _current("document")
    dropped_symbol = copy.deepcopy(base)
    priority = next(f for f in dropped_symbol["fields"] if f["name"] == "priority")
    priority["type"]["symbols"].remove("EXPRESS_TIMED")
    with pytest.raises((AssertionError, fastavro.read.SchemaResolutionError)):
        check_readable(base, dropped_symbol)
    with pytest.raises(AssertionError):
        check_append_only(base, dropped_symbol)

    reordered = copy.deepcopy(base)
    priority = next(f for f in reordered["fields"] if f["name"] == "priority")
    priority["type"]["symbols"].reverse()
    with pytest.raises(AssertionError):
        check_append_only(base, reordered)

    no_default = copy.deepcopy(base)
    no_default["fields"].append({"name": "extra", "type": "string", "doc": "x"})
    with pytest.raises(fastavro.read.SchemaResolutionError):
        check_readable(base, no_default)
    with pytest.raises(AssertionError):
        check_append_only(base, no_default)

    with_default = copy.deepcopy(no_default)
    with_default["fields"][-1]["default"] = ""
    check_readable(base, with_default)
    check_append_only(base, with_default)


def _walk_docs(schema: Any, where: str, missing: list[str]) -> None:
    if isinstance(schema, list):
        for branch in schema:
            _walk_docs(branch, where, missing)
        return
    if not isinstance(schema, dict):
        return
    kind = schema["type"]
    if kind in ("record", "enum", "fixed") and not schema.get("doc"):
        missing.append(f"{where} ({schema['name']})")
    if kind == "record":
        for f in schema["fields"]:
            if not f.get("doc"):
                missing.append(f"{schema['name']}.{f['name']}")
            _walk_docs(f["type"], f"{schema['name']}.{f['name']}", missing)
    elif kind == "array":
        _walk_docs(schema["items"], where + "[]", missing)
    elif kind == "map":
        _walk_docs(schema["values"], where + "{}", missing)


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_every_schema_has_a_namespace_and_docs(name: str) -> None:
    schema = _current(name)
    assert schema["namespace"] == NAMESPACE
    missing: list[str] = []
    _walk_docs(schema, name, missing)
    assert not missing, missing


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_no_logical_types(name: str) -> None:
    assert "logicalType" not in schema_text(name)


def test_shared_named_types_are_identical_across_files() -> None:
    seen: dict[str, tuple[str, Any]] = {}
    for name in SCHEMA_NAMES:
        for full, definition in _named(_current(name)).items():
            if full in seen:
                assert definition == seen[full][1], f"{full} differs in {name} and {seen[full][0]}"
            else:
                seen[full] = (name, definition)
    assert {"vn.interchange.Secrecy", "vn.interchange.Sha256"} <= set(seen)


def test_a_document_signed_under_v4_still_decodes_and_verifies_under_v5() -> None:
    """Schema v5 appends `business` to Document. A document encoded with the released v4
    schema (by fastavro, as any connector of that version) decodes with the strict codec
    with `business` None, its bytes unchanged, so its signature still verifies."""
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from interchange.wire import codec
    from interchange.wire.model import Business

    v4 = fastavro.parse_schema(json.loads((HISTORY / "v4" / "document.avsc").read_text()))
    doc = _without_v6(_vector_document(0))
    value = codec._document_to_avro(doc)
    value.pop("business")
    out = io.BytesIO()
    fastavro.schemaless_writer(out, v4, value)
    old = out.getvalue()
    key = ed25519.Ed25519PrivateKey.generate()
    signature = key.sign(old)
    decoded = codec.decode_document(old)
    assert decoded == doc
    assert decoded.business is None
    assert codec._encode_v5(decoded) == old + b"\x00"  # v5's null `business`
    key.public_key().verify(signature, old)  # the signed bytes are what they were
    # a v5 document with a business has no v4 form: cutting bytes off never decodes as one
    with_business = codec.encode_document(
        dataclasses.replace(doc, business=Business(doc.id, "r", None))
    )
    with pytest.raises(DecodeError):
        codec.decode_document(with_business[:-1])


def _vector_document(index: int) -> Any:
    from interchange.wire import codec

    vectors = json.loads(VECTORS.read_text())
    return codec.decode_document(bytes.fromhex(vectors["documents"][index]["document_hex"]))


def _without_v6(doc: Any) -> Any:
    """`doc` with the fields schema v6 added at their defaults (what a v5 writer could say)."""
    from interchange.wire.model import AgencyRef, Attachment, OtherInfo, SteeringType

    return dataclasses.replace(
        doc,
        sender=AgencyRef(doc.sender.id, doc.sender.name),
        recipients=tuple(AgencyRef(r.id, r.name) for r in doc.recipients),
        attachments=tuple(
            Attachment(a.name, a.media_type, a.sha256, a.content) for a in doc.attachments
        ),
        document_kind=None,
        to_places=(),
        steering_type=SteeringType.NONE,
        other_info=OtherInfo(),
        response_for_list=(),
    )


def _write_with(version: str, name: str, value: dict[str, Any]) -> bytes:
    schema = fastavro.parse_schema(json.loads((HISTORY / version / f"{name}.avsc").read_text()))
    out = io.BytesIO()
    fastavro.schemaless_writer(out, schema, value)
    return out.getvalue()


@pytest.mark.parametrize("index", range(4))
def test_a_document_signed_under_v5_still_decodes_and_verifies_under_v6(index: int) -> None:
    """Schema v6 appends the rest of the edXML header to Document. Bytes written by the
    released v5 schema (fastavro, as a v5 connector writes them) decode with the strict
    codec with those fields at their defaults, the bytes unchanged, so the signature over
    them still verifies; the v6 encoding of the same value appends only default bytes."""
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from interchange.wire import codec

    full = _vector_document(index)
    doc = _without_v6(full)
    old = _write_with("v5", "document", codec._document_to_avro(doc))
    key = ed25519.Ed25519PrivateKey.generate()
    signature = key.sign(old)
    decoded = codec.decode_document(old)
    assert decoded == doc
    assert decoded.document_kind is None
    assert decoded.response_for_list == ()
    assert codec.encode_document(decoded).startswith(old)
    key.public_key().verify(signature, old)
    # the vector states v6 fields: its v6 bytes are the v5 bytes plus a non-default tail
    stated = codec.encode_document(full)
    assert full != doc
    assert stated[: len(old)] == old
    assert stated != codec.encode_document(doc)


def test_an_envelope_written_under_v5_still_decodes_as_avro_content() -> None:
    from interchange.wire import codec
    from interchange.wire.model import ContentFormat, Envelope, Hop

    value = {
        "content": b"doc",
        "signature": b"s" * 64,
        "cert_id": "ab" * 32,
        "trace": [{"node": "producer:p1", "time_us": 5}],
    }
    old = _write_with("v5", "envelope", value)
    env = codec.decode_envelope(old)
    assert env == Envelope(b"doc", b"s" * 64, "ab" * 32, (Hop("producer:p1", 5),))
    assert env.content_format is ContentFormat.AVRO
    assert codec.encode_envelope(env) == old + b"\x00"  # v6 writes AVRO, index 0
    edxml = codec.encode_envelope(dataclasses.replace(env, content_format=ContentFormat.EDXML))
    assert codec.decode_envelope(edxml).content_format is ContentFormat.EDXML
    with pytest.raises(DecodeError):  # an EDXML envelope has no v5 form
        codec.decode_envelope(edxml[:-1] + b"\x04")


def test_new_readers_read_v6_data_and_v5_readers_skip_what_they_do_not_know() -> None:
    """Avro resolution both ways for the v6 fields: a v5 reader given the v6 writer schema
    reads a full v6 document and drops the appended fields."""
    from interchange.wire import codec

    full = _vector_document(1)
    data = codec.encode_document(full)
    v6 = fastavro.parse_schema(json.loads((HISTORY / "v6" / "document.avsc").read_text()))
    v5 = fastavro.parse_schema(json.loads((HISTORY / "v5" / "document.avsc").read_text()))
    buf = io.BytesIO(data)
    old_view = fastavro.schemaless_reader(buf, v6, v5)
    assert buf.tell() == len(data)
    assert isinstance(old_view, dict)
    assert "document_kind" not in old_view
    assert old_view["id"] == full.id
