"""The reader-built decode against the dict path it replaced, input for input.

The codec's readers build the model as they read (a constructor per record, the model's
members for enums, the cross-field checks once the whole record is read); before, they
returned dicts that `*_from_avro` mapped afterwards. `dict_mapping.py` (beside this file)
is that path. Both get every input the decoders' other tests throw at them: the
differential test of the generated reader's inputs (valid records of every layout, a
cut, hostile bytes and insertions at every offset, random mutations), the hostile
corpus, and documents with one or several semantic defects, in every layout. Each must
give an equal model value of the same type and repr, or the same `DecodeReason` with the
same detail text.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import dict_mapping as old
import pytest
from test_codec_hostile import (
    CORPUS,
    DIGEST,
    NO_V6,
    _mutate,
    _rich_document,
    attachment,
    doc,
    organ,
    other_info,
    response,
    s,
    varint,
)
from test_strict_generated import SCHEMAS, random_mutations, sweep

from interchange.errors import DecodeError
from interchange.wire import codec
from interchange.wire.strict import DecodeReason

Decoder = Callable[[bytes], Any]
PAIRS: dict[str, tuple[Decoder, Decoder]] = {
    "document": (codec.decode_document, old.decode_document),
    "envelope": (codec.decode_envelope, old.decode_envelope),
    "status": (codec.decode_status, old.decode_status),
    "rejection": (codec.decode_rejection, old.decode_rejection),
}


def outcome(decode: Decoder, data: bytes) -> tuple[Any, ...]:
    """("value", type, repr, value) or ("refused", reason, detail). The repr tells an
    enum member from its symbol and a tuple from a list, which `==` may not."""
    try:
        value = decode(data)
    except DecodeError as exc:
        return "refused", exc.reason, exc.detail
    return "value", type(value), repr(value), value


def compare(kind: str, cases: Iterable[bytes]) -> tuple[int, set[str]]:
    """Both paths on every case; (values accepted, reasons refused)."""
    new, reference = PAIRS[kind]
    accepted, reasons, seen = 0, set(), set()
    for case in cases:
        if case in seen:
            continue
        seen.add(case)
        got, want = outcome(new, case), outcome(reference, case)
        assert got == want, (kind, case.hex())
        if got[0] == "value":
            accepted += 1
        else:
            reasons.add(got[1])
    assert DecodeReason.INTERNAL not in reasons
    return accepted, reasons


# -- every input of the generated reader's differential test ------------------------------

AXIS = sorted(name for name in SCHEMAS if not name.startswith("every-type"))


@pytest.mark.parametrize("name", AXIS)
def test_reader_built_records_equal_the_dict_paths_on_every_swept_input(name: str) -> None:
    _, _, valid = SCHEMAS[name]
    rng = random.Random(name)
    swept = valid[:1] if name.endswith(("-v1", "-v4", "-v5")) else [valid[0], valid[-1]]
    cases = itertools.chain.from_iterable(
        itertools.chain(
            [data], sweep(data) if data in swept else (), random_mutations(data, rng, 200)
        )
        for data in valid
    )
    accepted, reasons = compare(name.partition("-")[0], cases)
    assert accepted >= len(valid)
    # (bytes after an older layout's record read as a cut newer one: TRUNCATED)
    assert DecodeReason.TRUNCATED in reasons
    assert len(reasons) >= 4, reasons


# -- the hostile corpus --------------------------------------------------------------------

KIND_OF = {new: kind for kind, (new, _) in PAIRS.items()}


@pytest.mark.parametrize(
    ("kind", "data"), [pytest.param(KIND_OF[d], b, id=name) for name, d, b, _ in CORPUS]
)
def test_reader_built_records_equal_the_dict_paths_on_the_hostile_corpus(
    kind: str, data: bytes
) -> None:
    compare(kind, [data])


# -- semantic defects, alone and together, in every layout ----------------------------------

NO_V5 = {**NO_V6, "business_v5": b""}
# One defect each, found only once the whole record is read (by field).
DEFECTS: dict[str, dict[str, bytes]] = {
    "date": {"date": s("2024-02-30")},
    "due-date": {"due_date": varint(1) + s("2024-13-01")},
    "digest": {"attachments": attachment(s(b"pdF"), varint(0))},
    "second-digest": {
        "attachments": varint(2)
        + s("a")
        + s("t")
        + DIGEST
        + s(b"pdf")
        + s("b")
        + s("t")
        + DIGEST
        + s(b"pdX")
        + varint(0)
    },
    "attachment-details-count": {
        "attachment_details": varint(2) + s("c1") + s("") + s("c2") + s("") + varint(0)
    },
    "attachment-details-empty": {"attachment_details": varint(1) + s("") * 2 + varint(0)},
    "recipient-details-count": {"recipient_details": varint(2) + organ() * 2 + varint(0)},
    "recipient-details-empty": {"recipient_details": varint(1) + s("") * 6 + varint(0)},
    "kind-type": {"document_kind": varint(1) + varint(3) + varint(1) + s("X")},
    "kind-detail": {"document_kind": varint(1) + varint(2) + varint(30) + s("X")},
    "kind-detail-negative": {"document_kind": varint(1) + varint(1) + varint(-1) + s("")},
    "steering": {"steering_type": varint(4)},
    "amount": {"other_info": other_info(amount=varint(-1))},
    "response-date": {
        "response_for": varint(1) + s("d9"),
        "response_for_list": varint(1) + response(date=s("2023-13-01")) + varint(0),
    },
    "response-not-first": {
        "response_for": varint(1) + s("other"),
        "response_for_list": varint(1) + response() + varint(0),
    },
}
_EMPTY_ORGAN = [s("")] * 6
_EMPTY_OTHER = [s(""), s(""), varint(0), varint(0), b"\x00", varint(0)]
_ONE_OTHER = [
    s("Toàn quốc"),
    s("NV"),
    varint(3),
    varint(2),
    b"\x01",
    varint(1) + s("P") + varint(0),
]


def _one_stated(empty: list[bytes], one: list[bytes], i: int) -> bytes:
    return b"".join(one[i] if j == i else e for j, e in enumerate(empty))


# Valid: one field of a v6 record stated, the others empty (what the reader's
# constructors tell from the record that states nothing).
PARTLY_STATED: dict[str, dict[str, bytes]] = {
    **{
        f"sender-detail-{i}": {"sender_detail": _one_stated(_EMPTY_ORGAN, [s("x")] * 6, i)}
        for i in range(6)
    },
    **{
        f"recipient-detail-{i}": {
            "recipient_details": varint(1) + _one_stated(_EMPTY_ORGAN, [s("x")] * 6, i) + varint(0)
        }
        for i in range(6)
    },
    **{
        f"other-info-{i}": {"other_info": _one_stated(_EMPTY_OTHER, _ONE_OTHER, i)}
        for i in range(6)
    },
    "attachment-content-id": {"attachment_details": varint(1) + s("c") + s("") + varint(0)},
    "attachment-description": {"attachment_details": varint(1) + s("") + s("d") + varint(0)},
    "kind-legal": {"document_kind": varint(1) + varint(1) + varint(0) + s("")},
}
CHANGES = {**DEFECTS, **PARTLY_STATED}
# Every v6 field stated, and valid: what a defect is added to.
STATED: dict[str, bytes] = {
    "response_for": varint(1) + s("d9"),
    "sender_detail": organ(),
    "recipient_details": varint(1) + organ(s("")) + varint(0),
    "document_kind": varint(1) + varint(2) + varint(18) + s("Công văn"),
    "to_places": varint(2) + s("Như trên") + s("Lưu: VT") + varint(0),
    "steering_type": varint(2),
    "other_info": other_info(appendixes=varint(1) + s("Phụ lục I") + varint(0)),
    "response_for_list": varint(1) + response() + varint(0),
    "attachment_details": varint(1) + s("att-1") + s("Báo cáo") + varint(0),
    "business_v5": varint(1) + s("t") + s("r") + varint(1) + s("x"),
}


def defective_documents() -> Iterator[bytes]:
    """Each defect or partly stated record, and each pair of them in different fields,
    on the plain and the fully stated document, as written and cut to the v5 and v4
    layouts (a v6 defect then falls away with its field); then each with trailing bytes
    and with a cut, where the reader's refusal must win over the defect."""
    for base in ({}, STATED):
        for one, two in itertools.combinations_with_replacement(CHANGES.values(), 2):
            if one is not two and set(one) & set(two):
                continue
            fields = {**base, **one, **two}
            for layout in ({}, NO_V6, NO_V5):
                data = doc(**{**fields, **layout})
                yield data
                yield data + b"\x00"
                yield data[:-1]


def test_reader_built_documents_equal_the_dict_paths_on_every_defect_and_pair() -> None:
    accepted, reasons = compare("document", defective_documents())
    assert accepted > 0
    assert {
        DecodeReason.BAD_DATE,
        DecodeReason.BAD_DIGEST,
        DecodeReason.BAD_VALUE,
        DecodeReason.NON_CANONICAL,
        DecodeReason.TRAILING_BYTES,
        DecodeReason.TRUNCATED,
    } <= reasons


def test_reader_built_documents_equal_the_dict_paths_on_swept_stated_headers() -> None:
    """The fully stated v6 document at every offset: flipped and hostile bytes land in
    every v6 field, and many turn into a semantic defect instead of a structural one."""
    stated = doc(**STATED)
    accepted, reasons = compare("document", itertools.chain([stated], sweep(stated)))
    assert accepted >= 1
    assert {DecodeReason.BAD_VALUE, DecodeReason.BAD_DATE, DecodeReason.NON_CANONICAL} <= reasons


def test_reader_built_records_equal_the_dict_paths_on_stacked_mutations() -> None:
    """The hostile fuzz test's mutations (bit flips, splices of two records, random
    bytes), two stacked, on documents and envelopes."""
    rng = random.Random(20261201)
    documents = [doc(), doc(**STATED), _rich_document(), *SCHEMAS["document"][2][:4]]
    envelopes = SCHEMAS["envelope"][2]
    pool = documents + envelopes
    for kind, seeds in (("document", documents), ("envelope", envelopes)):
        cases = [_mutate(rng, _mutate(rng, rng.choice(seeds), pool), pool) for _ in range(3000)]
        _, reasons = compare(kind, cases)
        assert len(reasons) >= 5, reasons
