"""The edXML header fields of schema v6 <-> their Avro values, and the date rule.

Split from the codec because the header is most of the document's fields: what the
standard names OrganDetail, DocumentKind, OtherInfo, ResponseFor and SteeringType, the
lists parallel to recipients and attachments, and the yyyy-MM-dd rule of every date.
Pure; the codec calls these while it encodes and decodes a Document.
"""

from __future__ import annotations

import datetime
import functools
import re
from collections.abc import Callable, Sequence
from typing import Any

from interchange.errors import DecodeError
from interchange.wire.assemble import positional
from interchange.wire.model import (
    AdministrativeKind,
    AgencyRef,
    DocumentCategory,
    DocumentKind,
    OrganDetail,
    OtherInfo,
    ResponseFor,
    SteeringType,
)
from interchange.wire.strict import DecodeReason

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_CATEGORY = {int(c): c for c in DocumentCategory}  # a lookup, not the enum's slow call
_CATEGORIES = frozenset(_CATEGORY)
_STEERING = {int(s): s for s in SteeringType}


def valid_date(text: str) -> bool:
    """True for a real calendar date written yyyy-MM-dd (the wire form of every date field)."""
    return len(text) == _DATE_LENGTH and _valid_date_10(text)


_DATE_LENGTH = len("yyyy-MM-dd")


@functools.lru_cache(maxsize=4096)
def _valid_date_10(text: str) -> bool:
    """Remembered: a run's documents share a few dates, each checked twice per decode.
    Only 10-character strings get here, so the cache stays small under hostile input."""
    if not _ISO_DATE.match(text):
        return False
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return True


# ---- decoding: the reader builds each v6 record (`codec`), these check them -------------
#
# The strict reader calls the constructors below where each record ends; they never
# raise. The document's constructor runs the checks, in a fixed order, once the whole
# input is read.

NO_DETAIL = AgencyRef("", "").detail  # the model's own default: no detail stated
NO_OTHER = OtherInfo()
_ORGAN = positional(OrganDetail)
_KIND = positional(DocumentKind)
_OTHER = positional(OtherInfo)
_MAX_ADMINISTRATIVE = max(AdministrativeKind)  # once, not per decoded document


def organ(  # noqa: PLR0917 - the reader passes a record's fields by position
    organization_in_charge: str, address: str, email: str, telephone: str, fax: str, website: str
) -> OrganDetail:
    """An OrganDetail read; the one shared empty detail when nothing is stated (most
    documents), so `is not NO_DETAIL` tells a stated one."""
    if organization_in_charge or address or email or telephone or fax or website:
        return _ORGAN(organization_in_charge, address, email, telephone, fax, website)
    return NO_DETAIL


def kind(category: int, type_detail: int, type_name: str) -> DocumentKind:
    """A DocumentKind read; its type stays the int read when it is no DocumentCategory
    (`check_kind` refuses it)."""
    return _KIND(_CATEGORY.get(category, category), type_detail, type_name)


def other(  # noqa: PLR0917 - the reader passes a record's fields by position
    sphere_of_promulgation: str,
    typer_notation: str,
    promulgation_amount: int,
    page_amount: int,
    direction: bool,
    appendixes: list[str],
) -> OtherInfo:
    """An OtherInfo read (amounts unchecked: `check_other`); the shared empty one when
    nothing is stated."""
    if (
        sphere_of_promulgation or typer_notation or promulgation_amount or page_amount
        or direction or appendixes
    ):  # fmt: skip
        return _OTHER(
            sphere_of_promulgation, typer_notation, promulgation_amount, page_amount, direction,
            tuple(appendixes),
        )  # fmt: skip
    return NO_OTHER


def attachment_detail(content_id: str, description: str) -> tuple[str, str]:
    """An AttachmentDetail read: its two strings (they go into the Attachment)."""
    return content_id, description


def parallel(
    details: Sequence[Any], items: Sequence[Any], name: str, what: str, stated: Callable[[Any], Any]
) -> bool:
    """Whether a v6 list parallel to `items` (named `name`, of `what`) states anything:
    False when empty, else it must have exactly one entry per item.

    A list whose entries state nothing is the same document as no list, so only the
    empty list is canonical (the codec's encode writes it): checked here, because the strict
    decode does not re-encode the schemas the reader proves canonical."""
    if not details:
        return False
    if len(details) != len(items):
        raise DecodeError(
            DecodeReason.BAD_VALUE, f"{name} has {len(details)} entries for {len(items)} {what}"
        )
    if not any(map(stated, details)):
        raise DecodeError(DecodeReason.NON_CANONICAL, f"{name} states nothing: write no list")
    return True


def check_kind(k: DocumentKind) -> None:
    if k.type not in _CATEGORIES:
        raise DecodeError(DecodeReason.BAD_VALUE, f"document_kind.type {k.type} not 1 or 2")
    top = _MAX_ADMINISTRATIVE if k.type == DocumentCategory.ADMINISTRATIVE else 1 << 31
    if not 0 <= k.type_detail <= top:
        raise DecodeError(DecodeReason.BAD_VALUE, f"document_kind.type_detail {k.type_detail}")


def check_other(o: OtherInfo) -> None:
    if o.promulgation_amount < 0 or o.page_amount < 0:
        raise DecodeError(DecodeReason.BAD_VALUE, "other_info amounts must not be negative")


def check_responses(response_for: str | None, answered: Sequence[ResponseFor]) -> None:
    for r in answered:
        if not valid_date(r.promulgation_date):
            raise DecodeError(DecodeReason.BAD_DATE, "response_for_list promulgation_date")
    if answered and response_for != answered[0].document_id:
        raise DecodeError(
            DecodeReason.BAD_VALUE, "response_for is not response_for_list's first document_id"
        )


def steering(value: int) -> SteeringType:
    found = _STEERING.get(value)
    if found is None:
        raise DecodeError(DecodeReason.BAD_VALUE, f"steering_type {value} not 0-3")
    return found
