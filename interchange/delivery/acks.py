"""The senders' side of the status topic: acknowledgement latency (status 03 back at the sender).

`interchange simulate` runs one `AckReader` thread for all simulated senders (they live
in the producer processes, which only send). It reads the status topic from the
beginning without a consumer group (no join delay; every status of the run), skips
records whose intended send time is before the run (older runs on a kept topic), and
for each first status 03 of a (document, recipient) records `now - intended send time`
by (sender tier, recipient tier). The intended send time travels in the status record's
`send-time-us` header, copied by the recipient from the document, so the reader needs no
outbox of its own; a real sender would look it up in its outbox by document id.

The reader fetches with a wait of `status_linger_ms` (50 ms), not the stages' 10 ms: the
recipients send statuses in batches lingering that long, and the embedded broker holds
every fetch for its full wait, so at 10 ms this one reader made ~100 fetches a second and
was ~85% of the orchestrator's CPU (a sixth of a core) in a default simulate, on the
same two cores as the stages whose latency the run measures. An ack is then seen up to
one wait later than it could be; on Apache Kafka a fetch returns as soon as a status is
there, so the longer wait costs nothing.

Every status after 01 also goes through a `workrecords.workflow.WorkflowTally`: the work-record
funnel (03 -> 04 -> 05 -> 06, online or paper, overdue) and the recall statuses per
(sender tier, recipient tier), which `snapshot(work=True)` adds to the metrics (the
coverage report's processing measure). A status breaking a workflow invariant is counted
in `workflow_violations`; the audit names each one with its topic, partition and offset.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from interchange.axis.directory import Directory
from interchange.errors import DecodeError, DirectoryError
from interchange.kafka.clients import make_consumer
from interchange.kafka.topics import layout_of
from interchange.metrics.run import RunMetrics
from interchange.settings import Settings
from interchange.wire import codec
from interchange.wire.model import StatusCode, Tier
from interchange.workrecords.workflow import WorkflowTally

ARRIVED = b"01"


def ack_reader_settings(settings: Settings) -> Settings:
    """The reader's fetch wait is the status producer's linger (or the stages' wait when
    that is longer): reading statuses more often than they are sent only costs CPU."""
    wait = max(settings.fetch_max_wait_ms, settings.status_linger_ms, settings.linger_ms)
    return settings.replace(fetch_max_wait_ms=wait)


@dataclass
class AckCounts:
    arrived: int = 0  # status 01 records seen
    accepted: int = 0  # first status 03 per (document, recipient)
    repeated: int = 0  # a 03 seen again
    malformed: int = 0
    workflow_violations: int = 0  # statuses that break the workflow (WorkflowTally)


class AckReader:
    """Reads the status topic until stopped; thread-safe `snapshot()`."""

    def __init__(self, settings: Settings, directory: Directory, *, since_us: int = 0) -> None:
        self.settings = settings
        self.topic = layout_of(settings).status
        self.since_us = since_us
        self._directory = directory
        self._lock = threading.Lock()
        self._metrics = RunMetrics()
        self._counts = AckCounts()
        self._seen: set[tuple[str, str]] = set()
        self._work = WorkflowTally()
        self.error: BaseException | None = None

    def _tier(self, agency_id: str) -> Tier:
        return self._directory.required_tier(agency_id)

    def run(self, stop: threading.Event) -> None:
        """Thread target: assign every status partition from the beginning, read until `stop`."""
        from kafka.structs import TopicPartition

        consumer: Any = None
        try:
            consumer = make_consumer(
                ack_reader_settings(self.settings), group_id=None, read_committed=False
            )
            partitions = None
            while partitions is None and not stop.is_set():
                partitions = consumer.partitions_for_topic(self.topic)
                if partitions is None:
                    stop.wait(0.1)
            if partitions is None:
                return
            tps = [TopicPartition(self.topic, p) for p in sorted(partitions)]
            consumer.assign(tps)
            consumer.seek_to_beginning(*tps)
            while not stop.is_set():
                batch = consumer.poll(timeout_ms=100, max_records=5000)
                if batch:
                    with self._lock:
                        for records in batch.values():
                            for record in records:
                                self._one(record)
        except BaseException as exc:  # reported by the orchestrator
            self.error = exc
        finally:
            if consumer is not None:
                consumer.close()

    def _one(self, record: Any) -> None:
        headers = dict(record.headers or ())
        code = headers.get("code")
        counts = self._counts
        try:
            send_time = int(headers.get("send-time-us", b""))
        except ValueError:
            counts.malformed += 1
            return
        if send_time < self.since_us:
            return  # a status of an earlier run on a kept topic
        if code == ARRIVED:
            counts.arrived += 1
            return
        try:
            status = codec.decode_status(record.value)
            sender, recipient = self._tier(status.sender), self._tier(status.recipient)
        except (DecodeError, DirectoryError):
            counts.malformed += 1
            return
        if self._work.observe(status, sender, recipient) is not None:
            counts.workflow_violations += 1
        if status.code is not StatusCode.ACCEPTED:
            return
        key = (status.document_id, status.recipient)
        if key in self._seen:
            counts.repeated += 1
            return
        self._seen.add(key)
        counts.accepted += 1
        self._metrics.record_ack(sender, recipient, time.time_ns() // 1000 - send_time)

    def snapshot(self, *, work: bool = False) -> tuple[RunMetrics, AckCounts]:
        """Metrics and counts so far; `work` adds the work-record funnel (a pass over records)."""
        with self._lock:
            c = self._counts
            metrics = RunMetrics().merge(self._metrics)
            if work:
                for (s, r), cell in self._work.cells():
                    metrics.record_work(s, r, cell)
            return metrics, AckCounts(
                c.arrived, c.accepted, c.repeated, c.malformed, c.workflow_violations
            )
