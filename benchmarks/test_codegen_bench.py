"""Side by side: strict decode with the generated reader (avro_codegen) and with the closure walk.

Run: python -m pytest benchmarks/test_codegen_bench.py --benchmark-enable
The decision rule (issue 16): keep the generator only if it makes the router's decode
(envelope + document, with the canonical re-encode check) at least ~1.5x faster.
"""

from __future__ import annotations

import pytest
from pytest_benchmark.fixture import BenchmarkFixture
from test_codec_bench import CONTENT, DOCUMENT, ENVELOPE_BYTES

from interchange.core import codec
from interchange.core.avro_strict import StrictReader
from interchange.core.model import Document


@pytest.fixture(params=["generated", "closures"])
def readers(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    gen = request.param == "generated"
    doc = StrictReader(codec.DOCUMENT_SCHEMA, codec._DOCUMENT_READER.limits, specialised=gen)
    env = StrictReader(codec.ENVELOPE_SCHEMA, codec._ENVELOPE_READER.limits, specialised=gen)
    monkeypatch.setattr(codec, "_DOCUMENT_READER", doc)
    monkeypatch.setattr(codec, "_ENVELOPE_READER", env)
    return str(request.param)


@pytest.mark.benchmark(group="router-decode")
def test_router_decode(benchmark: BenchmarkFixture, readers: str) -> None:
    """decode_envelope + decode_document, as the router does per submission."""

    def both(data: bytes) -> Document:
        return codec.decode_document(codec.decode_envelope(data).content)

    assert benchmark(both, ENVELOPE_BYTES) == DOCUMENT


@pytest.mark.benchmark(group="reader-only")
def test_reader_walk_only(benchmark: BenchmarkFixture, readers: str) -> None:
    """The bounded walk alone, without mapping and re-encode: the generator's best case."""

    def walk() -> object:
        codec._ENVELOPE_READER.read(ENVELOPE_BYTES)
        return codec._DOCUMENT_READER.read(CONTENT)

    assert benchmark(walk)["id"] == DOCUMENT.id
