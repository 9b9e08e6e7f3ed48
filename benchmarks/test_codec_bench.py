"""Codec hot path without a broker: encode and strict decode of a ~2 KB document and its envelope.

Run: python -m pytest benchmarks/test_codec_bench.py --benchmark-enable
The router strictly decodes one envelope and one document per submission.
"""

from __future__ import annotations

import hashlib

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from interchange.wire.codec import (
    decode_document,
    decode_envelope,
    encode_document,
    encode_envelope,
    make_document_id,
)
from interchange.wire.model import (
    AgencyRef,
    Attachment,
    BusinessType,
    Document,
    DocumentType,
    Envelope,
    Hop,
    Priority,
    Secrecy,
    Signer,
)


def _document() -> Document:
    content = bytes(range(256)) * 5  # a 1,280-byte attachment
    return Document(
        id=make_document_id("000.00.00.H63", "2024-03-05", "1234", "UBND-VP"),
        sender=AgencyRef("000.00.00.H63", "Ủy ban nhân dân tỉnh Hậu Giang"),
        recipients=tuple(
            AgencyRef(f"000.00.{i:02d}.H63", f"Ủy ban nhân dân huyện {i}") for i in range(1, 4)
        ),
        code_number="1234",
        code_notation="UBND-VP",
        promulgation_place="Vị Thanh",
        promulgation_date="2024-03-05",
        document_type=DocumentType.DIRECTIVE,
        subject="Về việc triển khai kết nối liên thông văn bản điện tử bốn cấp " * 3,
        signer=Signer("Trần Văn B", "Chủ tịch", "TM."),
        priority=Priority.URGENT,
        secrecy=Secrecy.NONE,
        business_type=BusinessType.NEW,
        response_for="000.00.00.G22,2024/02/01,77/VPCP-KSTT",
        due_date="2024-04-01",
        attachments=(
            Attachment("chi-thi.pdf", "application/pdf", hashlib.sha256(content).digest(), content),
        ),
        send_time_us=1_709_600_000_000_000,
    )


DOCUMENT = _document()
CONTENT = encode_document(DOCUMENT)
ENVELOPE = Envelope(
    CONTENT,
    b"\x5a" * 64,
    "ab" * 32,
    (Hop("producer:000.00.00.H63", 1_709_600_000_000_100),),
)
ENVELOPE_BYTES = encode_envelope(ENVELOPE)


def test_document_is_about_2_kb() -> None:
    assert 1_800 <= len(CONTENT) <= 2_300


@pytest.mark.benchmark(group="codec-document")
def test_encode_document(benchmark: BenchmarkFixture) -> None:
    assert benchmark(encode_document, DOCUMENT) == CONTENT


@pytest.mark.benchmark(group="codec-document")
def test_decode_document(benchmark: BenchmarkFixture) -> None:
    assert benchmark(decode_document, CONTENT) == DOCUMENT


@pytest.mark.benchmark(group="codec-envelope")
def test_encode_envelope(benchmark: BenchmarkFixture) -> None:
    assert benchmark(encode_envelope, ENVELOPE) == ENVELOPE_BYTES


@pytest.mark.benchmark(group="codec-envelope")
def test_decode_envelope(benchmark: BenchmarkFixture) -> None:
    assert benchmark(decode_envelope, ENVELOPE_BYTES) == ENVELOPE


@pytest.mark.benchmark(group="codec-envelope")
def test_decode_envelope_and_document(benchmark: BenchmarkFixture) -> None:
    """What the router does per submission before verifying the signature."""

    def both(data: bytes) -> Document:
        return decode_document(decode_envelope(data).content)

    assert benchmark(both, ENVELOPE_BYTES) == DOCUMENT
