"""The topic layout as `topics describe` prints it (no broker needed)."""

from __future__ import annotations

from interchange.kafka.topics import layout_of, topic_specs
from interchange.settings import Settings


def test_the_router_state_key_is_the_router_transaction_id() -> None:
    settings = Settings.from_env({})
    spec = next(s for s in topic_specs(settings) if s.name == layout_of(settings).router_state)
    assert spec.key.startswith("router transaction id")
    assert "document id" not in spec.key


def test_only_the_submissions_topic_has_a_bounded_retention() -> None:
    settings = Settings.from_env({})
    layout = layout_of(settings)
    retention = {s.name: s.retention_ms for s in topic_specs(settings)}
    assert retention.pop(layout.submissions) == 7 * 24 * 3600 * 1000
    assert set(retention.values()) == {-1}
    shorter = Settings.from_env({"INTERCHANGE_SUBMISSIONS_RETENTION_MS": "3600000"})
    spec = next(s for s in topic_specs(shorter) if s.name == layout.submissions)
    assert spec.retention_ms == 3_600_000
