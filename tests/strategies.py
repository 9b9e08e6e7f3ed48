"""Reusable Hypothesis strategies for the records that travel on the axis.

Import from tests as `from strategies import documents, envelopes, ...` (pytest puts
`tests/` on sys.path because `tests/conftest.py` lives there without an `__init__.py`).
Values stay within the strict decoder's limits (docs/SCHEMAS.md) and are
semantically valid (ISO dates, attachment digests, cert ids), so whatever
they generate must round-trip through the codec.
"""

from __future__ import annotations

import hashlib

from hypothesis import strategies as st

from interchange.wire.model import (
    AgencyRef,
    Attachment,
    Business,
    BusinessType,
    ContentFormat,
    Document,
    DocumentCategory,
    DocumentKind,
    DocumentType,
    Envelope,
    Hop,
    OrganDetail,
    OtherInfo,
    Priority,
    ReasonCode,
    Rejection,
    ResponseFor,
    Secrecy,
    Signer,
    StaffInfo,
    StatusCode,
    StatusMessage,
    SteeringType,
)

LONGS = st.integers(min_value=-(1 << 63), max_value=(1 << 63) - 1)
TIMES_US = st.integers(min_value=0, max_value=4_102_444_800_000_000)  # up to 2100-01-01

# Any Unicode except surrogates (which UTF-8 cannot carry); short for speed.
short_text = st.text(max_size=40)

agency_ids = st.builds(
    "{:03d}.{:02d}.{:02d}.{}{:02d}".format,
    st.integers(0, 999),
    st.integers(0, 99),
    st.integers(0, 99),
    st.sampled_from("GH"),
    st.integers(1, 99),
)
organ_details = st.just(OrganDetail()) | st.builds(
    OrganDetail, short_text, short_text, short_text, short_text, short_text, short_text
)
agency_refs = st.builds(AgencyRef, id=agency_ids, name=short_text, detail=organ_details)
iso_dates = st.dates().map(lambda d: d.isoformat())
signers = st.builds(
    Signer, name=short_text, position=short_text, competence=st.sampled_from(["", "TM.", "KT."])
)


@st.composite
def attachments(draw: st.DrawFn, max_content: int = 256) -> Attachment:
    content = draw(st.binary(max_size=max_content))
    return Attachment(
        name=draw(short_text),
        media_type=draw(st.sampled_from(["application/pdf", "text/plain", "image/png"])),
        sha256=hashlib.sha256(content).digest(),
        content=content,
        content_id=draw(short_text),
        description=draw(short_text),
    )


document_kinds = (
    st.none()
    | st.builds(
        DocumentKind,
        st.just(DocumentCategory.ADMINISTRATIVE),
        st.integers(0, 29),
        short_text,
    )
    | st.builds(DocumentKind, st.just(DocumentCategory.LEGAL), st.integers(0, 1 << 20), short_text)
)
other_infos = st.builds(
    OtherInfo,
    short_text,
    short_text,
    st.integers(0, (1 << 31) - 1),
    st.integers(0, (1 << 31) - 1),
    st.booleans(),
    st.lists(short_text, max_size=3).map(tuple),
)
responses = st.builds(ResponseFor, agency_ids, short_text, iso_dates, short_text)


@st.composite
def documents(draw: st.DrawFn, secrecy: st.SearchStrategy[Secrecy] | None = None) -> Document:
    sender = draw(agency_refs)
    date = draw(iso_dates)
    number = draw(st.integers(1, 99_999).map(str))
    notation = draw(short_text)
    answered = tuple(draw(st.lists(responses, max_size=3)))
    return Document(
        id=f"{sender.id},{date.replace('-', '/')},{number}/{notation}",
        sender=sender,
        recipients=tuple(draw(st.lists(agency_refs, min_size=1, max_size=5))),
        code_number=number,
        code_notation=notation,
        promulgation_place=draw(short_text),
        promulgation_date=date,
        document_type=draw(st.sampled_from(DocumentType)),
        subject=draw(st.text(max_size=200)),
        signer=draw(signers),
        priority=draw(st.sampled_from(Priority)),
        secrecy=draw(secrecy if secrecy is not None else st.sampled_from(Secrecy)),
        business_type=draw(st.sampled_from(BusinessType)),
        response_for=answered[0].document_id if answered else draw(st.none() | short_text),
        due_date=draw(st.none() | iso_dates),
        attachments=tuple(draw(st.lists(attachments(), max_size=3))),
        send_time_us=draw(LONGS),
        business=draw(
            st.none() | st.builds(Business, short_text, short_text, st.none() | short_text)
        ),
        document_kind=draw(document_kinds),
        to_places=tuple(draw(st.lists(short_text, max_size=3))),
        steering_type=draw(st.sampled_from(SteeringType)),
        other_info=draw(other_infos),
        response_for_list=answered,
    )


cert_ids = st.binary(min_size=32, max_size=32).map(bytes.hex)
hops = st.builds(Hop, node=short_text, time_us=LONGS)
envelopes = st.builds(
    Envelope,
    content=st.binary(max_size=512),
    signature=st.binary(max_size=512),
    cert_id=cert_ids,
    trace=st.lists(hops, max_size=5).map(tuple),
    content_format=st.sampled_from(ContentFormat),
)
status_messages = st.builds(
    StatusMessage,
    document_id=short_text,
    sender=agency_ids,
    recipient=agency_ids,
    code=st.sampled_from(StatusCode),
    time_us=LONGS,
    detail=short_text,
    staff=st.none()
    | st.builds(StaffInfo, name=short_text, position=short_text, department=short_text),
    online=st.none() | st.booleans(),
    due_us=st.none() | LONGS,
)
rejections = st.builds(
    Rejection,
    document_id=short_text,
    sender=st.just("") | agency_ids,
    reason=st.sampled_from(ReasonCode),
    detail=short_text,
    content_sha256=st.binary(min_size=32, max_size=32),
    secrecy=st.sampled_from(Secrecy),
    recipient=st.none() | agency_ids,
    time_us=LONGS,
    send_time_us=LONGS,
    topic=st.just("") | short_text,
    partition=st.integers(-1, (1 << 31) - 1),
    offset=st.integers(-1, (1 << 63) - 1),
    authenticated=st.booleans(),
)
