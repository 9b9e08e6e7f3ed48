from __future__ import annotations

import pytest
from kafka.admin import KafkaAdminClient

from interchange.kafka.topics import create_topics, layout_of, topic_specs
from interchange.settings import Settings

pytestmark = pytest.mark.integration


def test_create_is_idempotent_with_the_documented_partitions(settings: Settings) -> None:
    first = create_topics(settings)
    assert sorted(first) == sorted(layout_of(settings).all)
    assert create_topics(settings) == []
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap)
    try:
        described = {t["name"]: len(t["partitions"]) for t in admin.describe_topics(first)}
    finally:
        admin.close()
    assert described == {s.name: s.partitions for s in topic_specs(settings)}
