"""The profile's namespace, element names and code tables (docs/CONNECTOR.md, "edXML packages").

Element names are the standard's (QCVN 102:2016/BTTTT, amended 2022), in the namespace
public edXML implementations use. DocumentType's Type/TypeDetail are the model's
(`DocumentCategory`, `AdministrativeKind`); the secrecy level, which the standard does not
carry, is the simulator's extension and is documented as such.
"""

from __future__ import annotations

import datetime as dt

from interchange.wire.model import Secrecy, StatusCode

NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
PREFIX = "edXML"
DS = "http://www.w3.org/2000/09/xmldsig#"


def q(name: str) -> str:
    """The qualified (Clark) name of a profile element."""
    return f"{{{NS}}}{name}"


def ds(name: str) -> str:
    return f"{{{DS}}}{name}"


# OtherInfo/SecurityLevel: the simulator's extension (0 none, 1 Mật, 2 Tối mật,
# 3 Tuyệt mật); absent means 0. A package with a level above 0 is excluded by the router.
SECRECY_CODES: dict[Secrecy, int] = {
    Secrecy.NONE: 0,
    Secrecy.CONFIDENTIAL: 1,
    Secrecy.SECRET: 2,
    Secrecy.TOP_SECRET: 3,
}
SECRECY_OF_CODE = {v: k for k, v in SECRECY_CODES.items()}
STATUS_OF_CODE = {c.value: c for c in StatusCode}


def edxml_date(iso: str) -> str:
    """yyyy-MM-dd (the model) -> yyyy/MM/dd (edXML)."""
    return iso.replace("-", "/")


def iso_date(edxml: str) -> str:
    """yyyy/MM/dd (edXML) -> yyyy-MM-dd (the model); ValueError if not a real date."""
    if len(edxml) != 10 or edxml[4] != "/" or edxml[7] != "/":
        raise ValueError(f"{edxml!r} is not yyyy/MM/dd")
    iso = edxml.replace("/", "-")
    dt.date.fromisoformat(iso)
    return iso


def timestamp(time_us: int) -> str:
    """Microseconds since the epoch -> ISO 8601 UTC with microseconds (exact both ways)."""
    seconds, micros = divmod(time_us, 1_000_000)
    when = dt.datetime.fromtimestamp(seconds, dt.UTC).replace(microsecond=micros)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def time_us(text: str) -> int:
    """ISO 8601 UTC `yyyy-MM-ddTHH:mm:ss[.ffffff]Z` -> microseconds; ValueError otherwise."""
    if not text.endswith("Z") or "T" not in text:
        raise ValueError(f"{text!r} is not an ISO 8601 UTC time ending in Z")
    when = dt.datetime.fromisoformat(text[:-1]).replace(tzinfo=dt.UTC)
    delta = when - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
