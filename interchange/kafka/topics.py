"""The topic layout of the axis, and its idempotent creation.

Topics are created explicitly because Tansu auto-creates missing topics with
four partitions and no settings. Every topic is documented in docs/TOPICS.md.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from interchange.errors import TopicError
from interchange.settings import Settings
from interchange.wire.model import Tier

# Auditors replay long after a run: keep everything (Kafka's retention.ms=-1).
# Leave room for documents with attachments (the codec caps a document at 4 MiB).
MAX_MESSAGE_BYTES = str(5 * 1024 * 1024)


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    key: str
    value: str
    writer: str
    reader: str
    retention_ms: int = -1  # -1: kept forever


@dataclass(frozen=True, slots=True)
class TopicLayout:
    """Names of all topics for one prefix."""

    prefix: str

    @property
    def submissions(self) -> str:
        return f"{self.prefix}submissions"

    def delivery(self, tier: Tier) -> str:
        return f"{self.prefix}delivery.{tier.value}"

    @property
    def deliveries(self) -> tuple[str, ...]:
        return tuple(self.delivery(t) for t in Tier)

    @property
    def rejections(self) -> str:
        return f"{self.prefix}rejections"

    @property
    def status(self) -> str:
        return f"{self.prefix}status"

    @property
    def router_state(self) -> str:
        """Changelog of the router's replay guard: one record per transaction and submissions
        partition, keyed by the transaction id, listing the document ids it accepted."""
        return f"{self.prefix}router-state"

    @property
    def all(self) -> tuple[str, ...]:
        return (
            self.submissions,
            *self.deliveries,
            self.rejections,
            self.status,
            self.router_state,
        )


def layout_of(settings: Settings) -> TopicLayout:
    return TopicLayout(settings.topic_prefix)


def topic_specs(settings: Settings) -> list[TopicSpec]:
    """The documented layout: name, partitions, key, value schema, writer, reader."""
    layout = layout_of(settings)
    specs = [
        TopicSpec(
            layout.submissions,
            settings.submission_partitions,
            "sender agency id",
            "Envelope",
            "agency producers, `interchange send`",
            "router (group <prefix>router)",
            settings.submissions_retention_ms,
        )
    ]
    specs += [
        TopicSpec(
            layout.delivery(tier),
            settings.delivery_partitions,
            "recipient agency id",
            "Envelope (router hop appended to trace)",
            "router (transactional)",
            "recipients (one group for every tier, default interchange-recipients), audit",
        )
        for tier in Tier
    ]
    specs += [
        TopicSpec(
            layout.rejections,
            settings.rejection_partitions,
            "sender agency id (empty when undecodable)",
            "Rejection (metadata only, never content)",
            "router (transactional)",
            "`interchange send`, report, audit",
        ),
        TopicSpec(
            layout.status,
            settings.status_partitions,
            "original sender agency id",
            "StatusMessage",
            "recipients, `interchange inbox`",
            "senders, `interchange send`, report, audit",
        ),
        TopicSpec(
            layout.router_state,
            settings.submission_partitions,  # partition p holds the state of submissions p
            "router transaction id (the `router-txn` header of its outputs)",
            "per accepted document: 8-byte big-endian submissions offset, 2-byte length, "
            "UTF-8 document id (see docs/ROUTER.md)",
            "router (transactional, with its outputs)",
            "router, on partition assignment (replay guard restore)",
        ),
    ]
    return specs


def create_topics(settings: Settings, timeout_s: float = 30.0) -> list[str]:
    """Create every missing topic; return the names created. Safe to call repeatedly."""
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import KafkaError, TopicAlreadyExistsError

    wanted = topic_specs(settings)
    deadline = time.monotonic() + timeout_s
    try:
        admin = KafkaAdminClient(**settings.client_defaults())
    except KafkaError as exc:
        raise TopicError(f"cannot reach Kafka at {settings.bootstrap}: {exc}") from exc
    try:
        existing = set(admin.list_topics())
        missing = [s for s in wanted if s.name not in existing]
        new = [
            NewTopic(
                s.name,
                num_partitions=s.partitions,
                replication_factor=settings.replication_factor,
                topic_configs={
                    "retention.ms": str(s.retention_ms),
                    "cleanup.policy": "delete",
                    "max.message.bytes": MAX_MESSAGE_BYTES,
                    # acks=all then survives one replica down, and a test's RF=1 topic still
                    # accepts writes on a cluster whose broker default is 2.
                    "min.insync.replicas": str(min(2, settings.replication_factor)),
                },
            )
            for s in missing
        ]
        if new:
            try:
                admin.create_topics(new, raise_errors=True)
            except TopicAlreadyExistsError:
                pass  # another process created it between our list and create
            except KafkaError as exc:
                raise TopicError(f"cannot create topics on {settings.bootstrap}: {exc}") from exc
        wait_visible(admin, {s.name for s in wanted}, deadline)
    finally:
        admin.close()
    return [s.name for s in missing]


def wait_visible(admin: object, names: set[str], deadline: float) -> None:
    """Block until every topic in `names` is listed (creation is asynchronous)."""
    while True:
        visible = set(admin.list_topics())  # type: ignore[attr-defined]
        if names <= visible:
            return
        if time.monotonic() > deadline:
            raise TopicError(f"topics not visible after creation: {sorted(names - visible)}")
        time.sleep(0.1)
