"""The generator's edXML header fields as they were before the tenth session: a test oracle.

A verbatim copy of `interchange.workload.header` at that point (only this docstring
differs), used by `oracle_generator`.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from interchange import people
from interchange.axis.directory import Directory
from interchange.wire.model import (
    DOCUMENT_KINDS,
    AgencyRef,
    Attachment,
    Document,
    DocumentType,
    OrganDetail,
    OtherInfo,
    ResponseFor,
    Tier,
)
from interchange.workload import wording

GOVERNMENT = "Chính phủ"  # the body central agencies and provinces answer to
NATIONWIDE = "Toàn quốc"  # sphere of promulgation of a central agency's document
ARCHIVE_COPY = "Lưu: VT"  # "kept by the clerical office": the last place of every list
AS_ABOVE = "Như trên"  # "the addressees above": the first place of every list
# Street names common to every Vietnamese town, for the invented addresses.
STREETS = ("Lê Lợi", "Trần Hưng Đạo", "Hùng Vương", "Nguyễn Huệ", "Quang Trung", "Hai Bà Trưng")
# Kinds that steer (edXML OtherInfo Direction: a document of direction and management).
STEERING_KINDS = frozenset({DocumentType.DIRECTIVE, DocumentType.DECISION, DocumentType.PLAN})
ATTACHMENT_DESCRIPTION = "Bản điện tử của văn bản"  # "the electronic copy of the document"


def _hash(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


def mail_label(agency_id: str) -> str:
    """The invented DNS label of an agency: its id's non-zero blocks, most significant last
    (`000.00.05.H29` -> `h29-05`), so a province and its units share a suffix."""
    blocks = [b for b in agency_id.lower().split(".") if b.strip("0")]
    return "-".join(reversed(blocks)) or "axis"


def organ_detail(d: Directory, agency_id: str, place: Callable[[str], str]) -> OrganDetail:
    """The details of a directory agency; empty for an id the directory does not hold
    (a fault's unknown sender or recipient states nothing about itself)."""
    if agency_id not in d:
        return OrganDetail()
    agency = d.get(agency_id)
    parent = d.get(agency.parent) if agency.parent is not None and agency.parent in d else None
    h = _hash(agency_id)
    label = mail_label(agency_id)
    area = 200 + h % 100  # a landline prefix of the 02xx form
    return OrganDetail(
        organization_in_charge=parent.name if parent is not None else GOVERNMENT,
        address=f"Số {1 + h % 199} {STREETS[h % len(STREETS)]}, {place(agency_id)}",
        email=f"vanthu@{label}.gov.vn",
        telephone=f"0{area} {3_800_000 + h % 200_000:07d}",
        fax="" if agency.tier is Tier.COMMUNE else f"0{area} {3_600_000 + h % 200_000:07d}",
        website=f"https://{label}.gov.vn",
    )


def with_header(
    doc: Document,
    d: Directory,
    place: Callable[[str], str],
    answered: Document | None,
    refs: dict[AgencyRef, AgencyRef] | None = None,
) -> Document:
    """`doc` with every edXML header field of schema v6 filled in (`header_fields`)."""
    return replace(doc, **header_fields(doc, d, place, answered, refs))


def header_fields(
    doc: Document | Mapping[str, Any],
    d: Directory,
    place: Callable[[str], str],
    answered: Document | None,
    refs: dict[AgencyRef, AgencyRef] | None = None,
) -> dict[str, Any]:
    """The edXML header fields of schema v6 for a document, as `Document` keyword arguments.

    `doc` is the document without them, or the keyword arguments it would be built from:
    the generator passes those and builds each `Document` once (a `replace` of ~25 fields
    cost ~10 µs a document). `place` names the town of a directory agency (its address's
    last part); `answered` is the document `doc` replies to (its ResponseFor), if any.
    SteeringType stays NONE: the workload gives no meaning to the standard's codes 1-3
    (docs/SCHEMAS.md). `refs`: the caller's memo of each agency reference with its details
    (they depend on the agency and the directory only; building them was 40% of the
    generator's CPU)."""
    memo: dict[AgencyRef, AgencyRef] = {} if refs is None else refs

    def ref(a: AgencyRef) -> AgencyRef:
        found = memo.get(a)
        if found is None:
            found = AgencyRef(a.id, a.name, organ_detail(d, a.id, place))
            if a.id in d:  # bounded by the directory (a fault's invented id is not kept)
                memo[a] = found
        return found

    f: Mapping[str, Any] = doc if isinstance(doc, Mapping) else _fields(doc)
    doc_id: str = f["id"]
    sender: AgencyRef = f["sender"]
    recipients: tuple[AgencyRef, ...] = f["recipients"]
    document_type: DocumentType = f["document_type"]
    attachments: tuple[Attachment, ...] = f["attachments"]
    code_number: str = f["code_number"]
    h = _hash(doc_id)
    abbr = wording.TYPE_ABBREVIATION[document_type] or "VP"
    sender_tier = d.get(sender.id).tier if sender.id in d else None
    surname = people.SURNAMES[h % len(people.SURNAMES)]
    given = people.GIVEN_NAMES[(h >> 8) % len(people.GIVEN_NAMES)]
    responses: tuple[ResponseFor, ...] = ()
    if answered is not None:
        responses = (
            ResponseFor(
                organ_id=answered.sender.id,
                code=f"{answered.code_number}/{answered.code_notation}",
                promulgation_date=answered.promulgation_date,
                document_id=answered.id,
            ),
        )
    appendixes: tuple[str, ...] = ()
    if document_type in (DocumentType.PLAN, DocumentType.REPORT) and attachments:
        appendixes = ("Phụ lục: Biểu tổng hợp số liệu",)  # "annex: summary tables"
    return {
        "sender": ref(sender),
        "recipients": tuple(ref(r) for r in recipients),
        "attachments": tuple(
            replace(a, content_id=f"{code_number}-{i}", description=ATTACHMENT_DESCRIPTION)
            for i, a in enumerate(attachments, start=1)
        ),
        "document_kind": DOCUMENT_KINDS[document_type],
        "to_places": (AS_ABOVE, f"{ARCHIVE_COPY}, {abbr}"),
        "other_info": OtherInfo(
            sphere_of_promulgation=NATIONWIDE
            if sender_tier in (Tier.CENTRAL, None)
            else f["promulgation_place"],
            typer_notation=f"{surname[0]}{given[0]}",
            promulgation_amount=len(recipients) + 2,  # one each, the office, the archive
            page_amount=1 + h % 6 + sum(len(a.content) for a in attachments) // 4000,
            direction=document_type in STEERING_KINDS,
            appendixes=appendixes,
        ),
        "response_for_list": responses,
    }


def _fields(doc: Document) -> dict[str, Any]:
    """What `header_fields` reads of a built document."""
    return {
        "id": doc.id,
        "sender": doc.sender,
        "recipients": doc.recipients,
        "document_type": doc.document_type,
        "attachments": doc.attachments,
        "code_number": doc.code_number,
        "promulgation_place": doc.promulgation_place,
    }
