"""The naive reference's figures from what its processes reported (no Kafka here)."""

from __future__ import annotations

from interchange.bench.naive import NaiveResult


def test_cpu_per_document_is_each_roles_cpu_over_the_documents_it_handled() -> None:
    result = NaiveResult(
        produced=4_000,
        forwarded=4_000,
        received=2_000,  # half still in flight when the sink stopped
        seconds=2.0,
        p50_us=1_000,
        p99_us=9_000,
        cpu_s={"producer": 1.2, "router": 0.8, "sink": 0.1, "broker": 0.5},
    )
    assert result.cpu_us_per_doc() == {
        "producer": 300.0,  # over the documents sent
        "router": 200.0,  # over the documents it consumed (every one sent)
        "sink": 50.0,  # over the documents received
        "broker": 250.0,  # over the documents received, as the pipeline's over deliveries
    }
    assert result.to_dict()["cpu_us_per_doc"] == result.cpu_us_per_doc()


def test_without_documents_or_samples_no_figure_is_made_up() -> None:
    empty = NaiveResult(0, 0, 0, 0.0, 0, 0, {"producer": 0.3, "sink": 0.0})
    assert empty.cpu_us_per_doc() == {}
    assert NaiveResult(10, 10, 10, 1.0, 1, 2).cpu_us_per_doc() == {}  # no CPU reported
