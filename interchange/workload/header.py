"""The edXML header fields of a generated document, derived from the directory (schema v6).

The workload (`interchange.workload.generator`) fills every header field so a simulated
document looks like a real one to a connector: the agencies' details (the governing
body from the directory's parent; address, e-mail, telephone, fax and web site
invented deterministically from the agency id, since the directory holds none), the
full DocumentType, where the paper copies go, OtherInfo, the ResponseFor list of a
reply and the attachments' ContentId and Description.

Pure and draw-free: nothing here consumes the workload's random stream, so a seed gives
the same documents as before apart from these fields (docs/WORKLOAD.md). Variety comes
from a CRC-32 of the agency or document id instead.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

from interchange import people
from interchange.axis.directory import Directory
from interchange.wire.model import (
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
OUTSIDE_DIRECTORY = "Cơ quan ngoài danh bạ"  # the name of an agency the directory lacks


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


def agency_ref(d: Directory, agency_id: str, place: Callable[[str], str]) -> AgencyRef:
    """An agency as a document names it, with its details: a directory agency's name and
    `organ_detail`; an id the directory does not hold states neither."""
    if agency_id not in d:
        return AgencyRef(agency_id, OUTSIDE_DIRECTORY)
    return AgencyRef(agency_id, d.get(agency_id).name, organ_detail(d, agency_id, place))


def to_places(document_type: DocumentType) -> tuple[str, ...]:
    """Where the paper copies go: the addressees, then the archive with the kind's initials."""
    return _TO_PLACES[document_type]


_TO_PLACES = {
    t: (AS_ABOVE, f"{ARCHIVE_COPY}, {wording.TYPE_ABBREVIATION[t] or 'VP'}") for t in DocumentType
}
_APPENDIXES = ("Phụ lục: Biểu tổng hợp số liệu",)  # "annex: summary tables"
_WITH_APPENDIXES = frozenset({DocumentType.PLAN, DocumentType.REPORT})


def other_info(
    doc_id: str,
    document_type: DocumentType,
    sphere: str,
    recipients: int,
    attachments: tuple[Attachment, ...],
) -> OtherInfo:
    """OtherInfo of a document: `sphere` is where it applies (NATIONWIDE for a central
    agency's or an unknown sender's, its town otherwise); the typist's initials and the
    page count vary with the id's CRC-32."""
    h = _hash(doc_id)
    surname = people.SURNAMES[h % len(people.SURNAMES)]
    given = people.GIVEN_NAMES[(h >> 8) % len(people.GIVEN_NAMES)]
    return OtherInfo(
        sphere,
        f"{surname[0]}{given[0]}",
        recipients + 2,  # one each, the office, the archive
        1 + h % 6 + sum(len(a.content) for a in attachments) // 4000,
        document_type in STEERING_KINDS,
        _APPENDIXES if attachments and document_type in _WITH_APPENDIXES else (),
    )


def response_for(answered: Document) -> tuple[ResponseFor, ...]:
    """The ResponseFor list of a reply to `answered`."""
    return (
        ResponseFor(
            organ_id=answered.sender.id,
            code=f"{answered.code_number}/{answered.code_notation}",
            promulgation_date=answered.promulgation_date,
            document_id=answered.id,
        ),
    )
