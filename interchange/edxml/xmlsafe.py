"""The one way interchange parses an untrusted package: lxml with every dangerous feature off.

* no DTD (internal or external), no entity declarations or references: a `<!DOCTYPE`
  anywhere is refused before libxml2 sees the bytes (billion laughs, XXE), and the
  parser is told not to load, validate or resolve anything (belt and braces);
* no network, no XInclude, no huge-tree mode (libxml2's own text and depth caps stay on);
* UTF-8 only (the profile's encoding; also what makes the byte scan above sound);
* at most `MAX_PACKAGE_BYTES`, `MAX_DEPTH` levels and `MAX_ELEMENTS` elements.
"""

from __future__ import annotations

import re

from lxml import etree

from interchange.edxml.reasons import EdxmlReason, PackageError
from interchange.wire.codec import MAX_DOCUMENT_BYTES

MAX_PACKAGE_BYTES = MAX_DOCUMENT_BYTES  # the envelope's content cap (4 MiB)
MAX_DEPTH = 32  # the profile is 6 levels deep; KeyInfo adds 3
MAX_ELEMENTS = 20_000  # 1,000 recipients and trace hops, 100 attachments, with room

_DECLARATION = re.compile(rb"\A<\?xml[^>]*encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_FORBIDDEN = (b"<!DOCTYPE", b"<!ENTITY", b"<!doctype", b"<!entity")


def parser() -> etree.XMLParser:
    """A fresh hardened parser (lxml parsers are not thread-safe: one per use)."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
        remove_comments=False,
        remove_pis=False,
        strip_cdata=False,
        collect_ids=False,
    )


def parse(data: object) -> etree._Element:
    """The root element of `data`; PackageError (never another exception) when refused."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise PackageError(EdxmlReason.NOT_WELL_FORMED, "not bytes")
    raw = bytes(data)
    if len(raw) > MAX_PACKAGE_BYTES:
        raise PackageError(
            EdxmlReason.LIMIT_EXCEEDED, f"{len(raw)} bytes, the cap is {MAX_PACKAGE_BYTES}"
        )
    if not raw:
        raise PackageError(EdxmlReason.NOT_WELL_FORMED, "empty package")
    _check_encoding(raw)
    if any(marker in raw for marker in _FORBIDDEN):
        raise PackageError(EdxmlReason.FORBIDDEN_MARKUP, "a DTD or entity declaration")
    try:
        root = etree.fromstring(raw, parser())
    except etree.XMLSyntaxError as exc:
        raise PackageError(EdxmlReason.NOT_WELL_FORMED, _first_line(str(exc))) from exc
    except (ValueError, MemoryError, RecursionError) as exc:
        raise PackageError(EdxmlReason.NOT_WELL_FORMED, type(exc).__name__) from exc
    if root is None:
        raise PackageError(EdxmlReason.NOT_WELL_FORMED, "no root element")
    _check_tree(root)
    return root


def _check_encoding(raw: bytes) -> None:
    if raw.startswith((b"\xfe\xff", b"\xff\xfe", b"\x00", b"\xef\xbb\xbf")):
        raise PackageError(EdxmlReason.NOT_WELL_FORMED, "not UTF-8 without a byte order mark")
    found = _DECLARATION.match(raw)
    if found and found.group(1).upper() not in (b"UTF-8", b"UTF8"):
        raise PackageError(
            EdxmlReason.NOT_WELL_FORMED, f"encoding {found.group(1).decode()!r}, not UTF-8"
        )
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PackageError(EdxmlReason.NOT_WELL_FORMED, f"not UTF-8 at byte {exc.start}") from exc


def _check_tree(root: etree._Element) -> None:
    """Caps on the parsed tree; entity references are refused wherever they survived."""
    if root.getroottree().docinfo.doctype:
        raise PackageError(EdxmlReason.FORBIDDEN_MARKUP, "a document type declaration")
    count = 0
    stack: list[tuple[etree._Element, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH:
            raise PackageError(EdxmlReason.LIMIT_EXCEEDED, f"deeper than {MAX_DEPTH} levels")
        if count > MAX_ELEMENTS:
            raise PackageError(EdxmlReason.LIMIT_EXCEEDED, f"more than {MAX_ELEMENTS} nodes")
        if isinstance(node, etree._Entity):
            raise PackageError(EdxmlReason.FORBIDDEN_MARKUP, "an entity reference")
        stack.extend((child, depth + 1) for child in node)


def _first_line(text: str) -> str:
    return text.splitlines()[0][:200] if text else "syntax error"
