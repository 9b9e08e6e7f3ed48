"""The domain vocabulary: tiers, codes and the frozen records that travel on the axis.

Every stage speaks these types; the codec maps them to and from Avro. Enum
*values* are the wire symbols (Avro enum symbols or status code strings), so a
value never needs a translation table. Times are integers: microseconds since
the Unix epoch (UTC), because that is what Kafka timestamps, HDR histograms and
other-language connectors handle without ambiguity.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field, replace

# A certificate id: the lower-case hex SHA-256 of its DER (match with `fullmatch`).
CERT_ID = re.compile(r"[0-9a-f]{64}")


class Tier(enum.StrEnum):
    """Government tier of an agency; the order is top-down."""

    CENTRAL = "central"
    PROVINCE = "province"
    DISTRICT = "district"
    COMMUNE = "commune"


class Priority(enum.IntEnum):
    """Độ khẩn. The integer is the edXML code and the Avro enum index."""

    NORMAL = 0
    URGENT = 1  # Khẩn
    VERY_URGENT = 2  # Thượng khẩn
    EXPRESS = 3  # Hỏa tốc
    EXPRESS_TIMED = 4  # Hỏa tốc hẹn giờ


class Secrecy(enum.StrEnum):
    """Secrecy level. Anything but NONE must never travel over the axis."""

    NONE = "NONE"
    CONFIDENTIAL = "CONFIDENTIAL"  # Mật
    SECRET = "SECRET"  # noqa: S105 - Tối mật, a secrecy level, not a password
    TOP_SECRET = "TOP_SECRET"  # noqa: S105 - Tuyệt mật

    @property
    def classified(self) -> bool:
        return self is not Secrecy.NONE


class BusinessType(enum.IntEnum):
    """edXML business type; the integer is the code and the Avro enum index."""

    NEW = 0
    REVOKE = 1
    UPDATE = 2
    REPLACE = 3


class DocumentType(enum.StrEnum):
    """Kind of administrative document (loại văn bản)."""

    DECISION = "DECISION"
    DIRECTIVE = "DIRECTIVE"
    OFFICIAL_LETTER = "OFFICIAL_LETTER"
    REPORT = "REPORT"
    PLAN = "PLAN"
    NOTICE = "NOTICE"
    RESOLUTION = "RESOLUTION"
    SUBMISSION = "SUBMISSION"  # tờ trình


class DocumentCategory(enum.IntEnum):
    """edXML DocumentType.Type: the broad class of a document (schema v6)."""

    LEGAL = 1  # văn bản quy phạm pháp luật (legal normative document)
    ADMINISTRATIVE = 2  # văn bản hành chính (administrative document)


class AdministrativeKind(enum.IntEnum):
    """edXML DocumentType.TypeDetail of an administrative document (schema v6).

    The 29 kinds and their order are those of NĐ 30/2020/NĐ-CP article 7 (clerical
    work); the number is the position in that list (docs/SCHEMAS.md). `TYPE_NAMES`
    gives the Vietnamese name carried as TypeName."""

    RESOLUTION = 1  # Nghị quyết (cá biệt)
    DECISION = 2  # Quyết định (cá biệt)
    DIRECTIVE = 3  # Chỉ thị
    REGULATION = 4  # Quy chế
    RULE = 5  # Quy định
    COMMUNIQUE = 6  # Thông cáo
    NOTICE = 7  # Thông báo
    GUIDANCE = 8  # Hướng dẫn
    PROGRAMME = 9  # Chương trình
    PLAN = 10  # Kế hoạch
    SCHEME = 11  # Phương án
    PROPOSAL = 12  # Đề án
    PROJECT = 13  # Dự án
    REPORT = 14  # Báo cáo
    MINUTES = 15  # Biên bản
    SUBMISSION = 16  # Tờ trình
    CONTRACT = 17  # Hợp đồng
    OFFICIAL_LETTER = 18  # Công văn
    TELEGRAM = 19  # Công điện
    MEMORANDUM = 20  # Bản ghi nhớ
    AGREEMENT = 21  # Bản thỏa thuận
    AUTHORISATION = 22  # Giấy ủy quyền
    INVITATION = 23  # Giấy mời
    INTRODUCTION = 24  # Giấy giới thiệu
    LEAVE = 25  # Giấy nghỉ phép
    DISPATCH_NOTE = 26  # Phiếu gửi
    TRANSFER_NOTE = 27  # Phiếu chuyển
    ADVICE_NOTE = 28  # Phiếu báo
    PUBLIC_LETTER = 29  # Thư công


TYPE_NAMES: dict[AdministrativeKind, str] = dict(
    zip(
        AdministrativeKind,
        (
            "Nghị quyết",
            "Quyết định",
            "Chỉ thị",
            "Quy chế",
            "Quy định",
            "Thông cáo",
            "Thông báo",
            "Hướng dẫn",
            "Chương trình",
            "Kế hoạch",
            "Phương án",
            "Đề án",
            "Dự án",
            "Báo cáo",
            "Biên bản",
            "Tờ trình",
            "Hợp đồng",
            "Công văn",
            "Công điện",
            "Bản ghi nhớ",
            "Bản thỏa thuận",
            "Giấy ủy quyền",
            "Giấy mời",
            "Giấy giới thiệu",
            "Giấy nghỉ phép",
            "Phiếu gửi",
            "Phiếu chuyển",
            "Phiếu báo",
            "Thư công",
        ),
        strict=True,
    )
)


class SteeringType(enum.IntEnum):
    """edXML SteeringType (schema v6): the standard's codes 1-3, carried as given; 0 when
    the document does not state one. interchange routes on none of them."""

    NONE = 0
    TYPE_1 = 1
    TYPE_2 = 2
    TYPE_3 = 3


class ContentFormat(enum.StrEnum):
    """What `Envelope.content` holds (schema v6); the value is the Avro enum symbol."""

    AVRO = "AVRO"  # the canonical Avro Document; `signature` is over these bytes
    EDXML = "EDXML"  # an edXML XML package carrying its own enveloped XML-DSig signature


class StatusCode(enum.StrEnum):
    """Status messages that flow back to the sender (edXML codes)."""

    ARRIVED = "01"
    REJECTED = "02"
    ACCEPTED = "03"
    ASSIGNED = "04"
    IN_PROGRESS = "05"
    COMPLETED = "06"
    RECALL_REQUESTED = "13"
    RECALL_AGREED = "15"
    RECALL_REFUSED = "16"


# The detail of a status 02 from a recipient whose delivery verified but whose signed
# recipient list does not name it (a record keyed to it by a writer other than the
# router). Not a ReasonCode: the router never writes it; every other 02 detail is one.
NOT_ADDRESSED = "NOT_ADDRESSED"


class ReasonCode(enum.StrEnum):
    """Why a submission (or one recipient of it) was not delivered.

    Shared by verification, the router, the audit and the connector contract;
    the value is the wire symbol in rejection records.
    """

    MALFORMED = "MALFORMED"  # bytes are not a strict, canonical envelope/document
    BAD_SIGNATURE = "BAD_SIGNATURE"  # signature does not verify over the content bytes
    UNKNOWN_SENDER = "UNKNOWN_SENDER"  # sender id is not in the directory
    UNKNOWN_CERTIFICATE = "UNKNOWN_CERTIFICATE"  # cert id not known to the trust store
    UNTRUSTED_CERTIFICATE = "UNTRUSTED_CERTIFICATE"  # does not chain to the trusted root
    REVOKED = "REVOKED"  # certificate revoked at or before the receipt time
    EXPIRED = "EXPIRED"  # receipt time after the certificate's not-after
    NOT_YET_VALID = "NOT_YET_VALID"  # receipt time before the certificate's not-before
    SENDER_MISMATCH = "SENDER_MISMATCH"  # certificate belongs to another agency
    ALGORITHM_MISMATCH = "ALGORITHM_MISMATCH"  # signature not of the certificate's key type
    REPLAY = "REPLAY"  # document id already seen
    UNKNOWN_RECIPIENT = "UNKNOWN_RECIPIENT"  # a recipient id is not in the directory
    CLASSIFIED = "CLASSIFIED"  # excluded: secrecy level above NONE (metadata only)
    NOT_CONNECTED = "NOT_CONNECTED"  # recipient exists but is not on the axis (goes on paper)
    KEY_MISMATCH = "KEY_MISMATCH"  # the record key is not the document's sender id
    WRONG_PARTITION = "WRONG_PARTITION"  # not on the partition the key hashes to
    SEND_TIME_SKEW = "SEND_TIME_SKEW"  # send time too far from the time the axis received it
    TOO_LARGE = "TOO_LARGE"  # could not be forwarded within the caps once the router's hop is added
    NO_RECIPIENTS = "NO_RECIPIENTS"  # the document names no recipient
    # a revoke, update or replace whose target (or replacing document) the router did not
    # deliver from the same sender within its replay window (schema v5)
    UNKNOWN_TARGET = "UNKNOWN_TARGET"

    @property
    def authenticated(self) -> bool:
        """Whether a rejection with this reason is only reached once the signature verified
        over the content naming the document id (the router's checks after the certificate
        and signature checks). Any other reason may come from a forgery carrying someone
        else's id, so it says nothing about the document that id names."""
        return self in _AUTHENTICATED_REASONS


_AUTHENTICATED_REASONS = frozenset(
    {
        ReasonCode.REPLAY,
        ReasonCode.UNKNOWN_RECIPIENT,
        ReasonCode.CLASSIFIED,
        ReasonCode.NOT_CONNECTED,
        ReasonCode.UNKNOWN_TARGET,
    }
)


@dataclass(frozen=True, slots=True)
class Agency:
    """One agency of the directory. `parent` is None for central bodies and provinces."""

    id: str
    name: str
    tier: Tier
    parent: str | None
    connected: bool = True


@dataclass(frozen=True, slots=True)
class OrganDetail:
    """edXML Organ beyond id and name (schema v6); "" when not stated."""

    organization_in_charge: str = ""  # OrganizationInCharge: the governing body
    address: str = ""  # OrganAdd
    email: str = ""
    telephone: str = ""
    fax: str = ""
    website: str = ""

    @property
    def stated(self) -> bool:
        """Whether any detail is given (an all-empty detail is not carried on the wire)."""
        return self != _NO_DETAIL


_NO_DETAIL = OrganDetail()


@dataclass(frozen=True, slots=True)
class AgencyRef:
    """An agency as named inside a document (edXML From/To); identity is the `id`."""

    id: str
    name: str
    detail: OrganDetail = field(default=_NO_DETAIL)  # schema v6


@dataclass(frozen=True, slots=True)
class Signer:
    name: str
    position: str
    competence: str  # e.g. "TM." (on behalf of), "KT." (acting for), "" (in own right)


@dataclass(frozen=True, slots=True)
class Attachment:
    name: str
    media_type: str
    sha256: bytes  # 32 bytes, over `content`
    content: bytes
    content_id: str = ""  # edXML Reference ContentId (schema v6)
    description: str = ""  # edXML Reference Description (schema v6)


@dataclass(frozen=True, slots=True)
class Business:
    """edXML Bussiness: what a revoke, update or replace acts on (schema v5).

    `target` is the id of the document revoked, updated or replaced; `replacement` (a
    replace only) the id of the document that replaces it. Both were sent earlier by the
    same sender, which the router checks (UNKNOWN_TARGET otherwise)."""

    target: str
    reason: str
    replacement: str | None = None


@dataclass(frozen=True, slots=True)
class DocumentKind:
    """edXML DocumentType in full (schema v6): Type, TypeDetail and TypeName."""

    type: DocumentCategory
    type_detail: int  # an AdministrativeKind for ADMINISTRATIVE; 0 when not stated
    type_name: str  # e.g. "Công văn"

    @classmethod
    def administrative(cls, kind: AdministrativeKind) -> DocumentKind:
        return cls(DocumentCategory.ADMINISTRATIVE, int(kind), TYPE_NAMES[kind])


# The full edXML DocumentType of each DocumentType member (all administrative kinds).
DOCUMENT_KINDS: dict[DocumentType, DocumentKind] = {
    t: DocumentKind.administrative(AdministrativeKind[t.name]) for t in DocumentType
}


@dataclass(frozen=True, slots=True)
class OtherInfo:
    """edXML OtherInfo except Priority, which is `Document.priority` (schema v6)."""

    sphere_of_promulgation: str = ""  # SphereOfPromulgation, e.g. "Toàn quốc"
    typer_notation: str = ""  # TyperNotation: the typist's initials
    promulgation_amount: int = 0  # PromulgationAmount: copies issued
    page_amount: int = 0  # PageAmount
    direction: bool = False  # Direction: a steering (chỉ đạo điều hành) document
    appendixes: tuple[str, ...] = ()  # Appendixes: their titles


@dataclass(frozen=True, slots=True)
class ResponseFor:
    """One document answered (edXML ResponseFor, schema v6)."""

    organ_id: str  # the agency that issued it
    code: str  # "CodeNumber/CodeNotation"
    promulgation_date: str  # ISO yyyy-MM-dd
    document_id: str


@dataclass(frozen=True, slots=True)
class Document:
    """The signed content: everything the issuing agency vouches for."""

    id: str  # "{sender id},{yyyy/MM/dd},{CodeNumber}/{CodeNotation}"
    sender: AgencyRef
    recipients: tuple[AgencyRef, ...]
    code_number: str
    code_notation: str
    promulgation_place: str
    promulgation_date: str  # ISO yyyy-MM-dd
    document_type: DocumentType
    subject: str
    signer: Signer
    priority: Priority
    secrecy: Secrecy
    business_type: BusinessType
    response_for: str | None
    due_date: str | None  # ISO yyyy-MM-dd
    attachments: tuple[Attachment, ...]
    send_time_us: int  # intended send time; latency is measured from it
    business: Business | None = None  # revoke/update/replace: the target (None for NEW)
    # Schema v6: the rest of the edXML header (defaults = not stated; documents before v6).
    # Agencies' details ride in `sender.detail` / `recipients[i].detail`, attachments'
    # ContentId and Description in `Attachment`; `response_for` stays the first answered id.
    document_kind: DocumentKind | None = None
    to_places: tuple[str, ...] = ()
    steering_type: SteeringType = SteeringType.NONE
    other_info: OtherInfo = field(default=OtherInfo())
    response_for_list: tuple[ResponseFor, ...] = ()


@dataclass(frozen=True, slots=True)
class Hop:
    """One trace entry appended by a node that handled the envelope."""

    node: str
    time_us: int


@dataclass(frozen=True, slots=True)
class Envelope:
    """What travels on Kafka. Only `content` is signed; `trace` is appended to en route."""

    content: bytes  # canonical Avro encoding of a Document (or an edXML package)
    signature: bytes
    cert_id: str  # lowercase hex SHA-256 of the signer certificate's DER
    trace: tuple[Hop, ...] = field(default=())
    content_format: ContentFormat = ContentFormat.AVRO  # schema v6


@dataclass(frozen=True, slots=True)
class StaffInfo:
    """edXML StaffInfo: the official who handled one step of a work record."""

    name: str
    position: str
    department: str


@dataclass(frozen=True, slots=True)
class StatusMessage:
    """Status of a delivered document, sent by the recipient back to the sender.

    `staff`, `online` and `due_us` describe the work record (statuses 03-06); None when
    not stated (statuses 01/02, and every record written before schema v2).
    """

    document_id: str
    sender: str  # the original sender (the status travels to it)
    recipient: str  # the agency reporting the status
    code: StatusCode
    time_us: int
    detail: str = ""
    staff: StaffInfo | None = None
    online: bool | None = None  # handled on the network (True) or on paper (False)
    due_us: int | None = None  # handling deadline on the run's clock


@dataclass(frozen=True, slots=True)
class Rejection:
    """The only trace a rejected, excluded or undeliverable document leaves.

    Never carries content, subject or attachments: `content_sha256` lets an
    auditor match it to a submission without revealing anything.
    """

    document_id: str  # "" when the bytes could not be decoded far enough
    sender: str  # "" when unknown
    reason: ReasonCode
    detail: str
    content_sha256: bytes  # SHA-256 of the submitted envelope's content bytes (or raw value)
    secrecy: Secrecy
    recipient: str | None  # set when the outcome concerns one recipient (NOT_CONNECTED)
    time_us: int  # the receipt time the router judged at (docs/ROUTER.md)
    send_time_us: int  # the document's intended send time, 0 when unknown
    # The submission this rejection is about (schema v2; "" / -1 in records of v1 and
    # before the router stamps them): match a rejection to a submission by these, never
    # by the claimed document id alone.
    topic: str = ""
    partition: int = -1
    offset: int = -1
    authenticated: bool = False  # the signature verified: the document id is the sender's

    def about(self, topic: str, partition: int, offset: int) -> Rejection:
        """This rejection stamped with its submission's coordinates and, from its reason,
        whether the document id it names was authenticated."""
        return replace(
            self,
            topic=topic,
            partition=partition,
            offset=offset,
            authenticated=self.reason.authenticated,
        )

    @property
    def located(self) -> bool:
        """Carries its submission's coordinates (written by a router of schema v2 or later)."""
        return self.offset >= 0
