"""Agency producers: publish the planned stream as signed envelopes to the submissions topic.

Open loop: each document is sent at its intended send time (`Planned.send_at_us`),
never later on purpose and never "caught up" silently. When the process falls
behind, every record's lag (actual - intended) goes into the `schedule_lag`
histogram and the manifest, and latency downstream is still measured from the
intended time, so back-pressure shows up as latency instead of vanishing.

Classified documents never leave a producer: the stream's classified share is
withheld at the source and counted (`Tally.withheld`); only the CLASSIFIED_LEAK
fault submits one on purpose, so the router's exclusion stays exercised.

Records are keyed by the sender id (utf-8) with the idempotent producer from
`kafka.clients`; a `producer:<sender>` hop with the actual send time is
appended to the trace just before sending. Several processes split the stream
by sender hash (`shard_of`), so each sender's documents, replays included, stay
in one process and in order on one partition.
"""

from __future__ import annotations

import json
import sys
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from interchange.axis.directory import Directory
from interchange.errors import InterchangeError
from interchange.heap import settle_startup_heap
from interchange.kafka.clients import close_quietly, make_producer, producer_is_fenced_or_lost
from interchange.kafka.seam import Stop
from interchange.kafka.topics import layout_of
from interchange.metrics.run import RunMetrics, write_stats
from interchange.settings import Settings
from interchange.wire.model import Envelope, Hop
from interchange.workload.faults import Fault
from interchange.workload.generator import Planned, WorkloadSpec, for_shard, generate
from interchange.workload.manifest import lag_summary
from interchange.workload.sealing import CredentialSource, seal, to_wire
from interchange.workload.tally import Tally

MANIFEST_FORMAT = "interchange-manifest/1"
REPLAY_CACHE = 4096  # sealed envelopes kept for byte-identical replays (pool is 256)
STATS_INTERVAL_S = 1.0
START_LEAD_US = 100_000  # first send 0.1 s after connecting, so it is not late by design
STOP_FLUSH_S = 5.0  # flush bound when stopped early (the broker may be gone)
MAX_BURST = 512  # records sent between two checks of the stop flag when behind schedule
SHORT_WAIT_S = 0.005  # a wait up to this long for the next send time is a plain sleep


class ProducerError(InterchangeError):
    pass


@dataclass(frozen=True, slots=True)
class ProducerConfig:
    seed: int
    start_us: int | None = None  # run start, shared by every process of a run; None: at connect
    shard: int = 0
    shards: int = 1
    stats_file: Path | None = None
    flush_timeout_s: float = 60.0
    # a JSON file with "start_us", written by the orchestrator once the stages are ready:
    # the producer connects first and waits for it, so the run starts without a spawn lead
    start_file: Path | None = None
    start_file_timeout_s: float = 120.0


@dataclass(frozen=True, slots=True)
class Progress:
    sent: int
    acked: int
    failed: int
    elapsed_s: float
    lag_us: int  # of the last record


@dataclass
class ProduceResult:
    """What one producer process did; `to_manifest` is the JSON written for report and audit."""

    sent: Tally = field(default_factory=Tally)
    acked: int = 0
    failed: int = 0
    first_error: str = ""
    stopped_early: bool = False
    end_us: int = 0
    replaced: int = 0  # producers replaced after the broker lost their state


class AgencyProducer:
    """Publishes one shard of a planned stream; connects in `run`, not in the constructor."""

    def __init__(
        self,
        settings: Settings,
        directory: Directory,
        spec: WorkloadSpec,
        credentials: CredentialSource,
        config: ProducerConfig,
        *,
        echo: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.directory = directory
        self.spec = spec
        self.credentials = credentials
        self.config = config
        self.topic = layout_of(settings).submissions
        self.metrics = RunMetrics()
        self.result = ProduceResult()
        self._sealed: OrderedDict[int, Envelope] = OrderedDict()
        # Only a REPLAY fault re-sends a sealed envelope: without it the cache is never
        # read, and keeping 4,096 envelopes alive only fed the garbage collector.
        self._keep_sealed = spec.faults.get(Fault.REPLAY, 0.0) > 0
        self.start_us = config.start_us or 0
        self._lost: str | None = None  # a send failed so: the producer must be replaced
        self._in_flight: deque[Any] = deque()  # sends not yet counted as acked or failed
        self._echo = echo or (lambda line: print(line, file=sys.stderr, flush=True))

    def plan(self) -> Iterator[Planned]:
        """The shard's documents to send. A classified document is never sent: it is
        counted as withheld at the source here (only a deliberate CLASSIFIED_LEAK fault,
        which exercises the router's exclusion, goes out)."""
        stream = generate(self.directory, self.spec, self.config.seed, start_us=self.start_us)
        for planned in for_shard(stream, self.config.shard, self.config.shards):
            if planned.withheld:
                self.result.sent.add(planned)
                continue
            yield planned

    def run(
        self, stop: Stop, on_progress: Callable[[Progress], None] | None = None
    ) -> ProduceResult:
        """Send the shard on schedule until it ends or `stop` is set; flush before returning."""
        from kafka.errors import KafkaError

        try:
            producer = make_producer(self.settings)
        except KafkaError as exc:
            raise ProducerError(
                f"cannot connect to Kafka at {self.settings.bootstrap}: {exc}"
            ) from exc
        settle_startup_heap()  # connected; before the start time, so no send waits for it
        if not self._set_start(producer, stop):
            producer.close(timeout=5)
            self.result.stopped_early = True
            return self.result
        started = time.monotonic()
        try:
            producer, lag_us = self._send_plan(producer, stop, on_progress, started)
        finally:
            # a stopped producer does not wait a minute for a broker that is gone
            timeout = STOP_FLUSH_S if self.result.stopped_early else self.config.flush_timeout_s
            try:
                producer.flush(timeout=timeout)
            except KafkaError as exc:
                self._failed(exc)
            if problem := close_quietly(producer, timeout):
                self._echo(f"producer: closed with records undelivered ({problem})")
            self._settle()  # a force-close fails what was still in flight
            if self._lost is not None:  # learnt only while flushing: still worth saying
                self._say_lost("sends failed")
            self.result.end_us = time.time_ns() // 1000
            self._write_stats()
        if on_progress is not None:
            on_progress(self._progress(started, lag_us))
        return self.result

    def _send_plan(
        self,
        producer: Any,
        stop: Stop,
        on_progress: Callable[[Progress], None] | None,
        started: float,
    ) -> tuple[Any, int]:
        """Send the plan on schedule; returns the producer in use (it may have been
        replaced after the broker lost its state) and the last record's lag."""
        last_report = 0.0
        lag_us = 0
        plan = self.plan()
        nxt = next(plan, None)
        ready = None if nxt is None else self._envelope(nxt)
        while nxt is not None:
            delay = (nxt.send_at_us - time.time_ns() // 1000) / 1e6
            if self._stopped(stop, delay):
                self.result.stopped_early = True
                break
            # A burst: everything due now, each record only once its own time has come.
            now = time.time_ns() // 1000
            for _ in range(MAX_BURST):
                assert ready is not None
                lag_us = self._send(producer, nxt, ready, now)
                nxt = next(plan, None)
                if nxt is None:
                    break
                ready = self._envelope(nxt)  # signed ahead, before its time comes
                now = time.time_ns() // 1000
                if nxt.send_at_us > now:
                    break
            self._settle()
            if self._lost is not None:
                producer = self._replace(producer)
            mono = time.monotonic()
            if mono - last_report >= STATS_INTERVAL_S:
                last_report = mono
                self._write_stats()
                if on_progress is not None:
                    on_progress(self._progress(started, lag_us))
        return producer, lag_us

    @staticmethod
    def _stopped(stop: Stop, delay: float) -> bool:
        """Wait `delay` seconds for the next send time; True if stopped first. A short wait
        is a plain sleep after a non-blocking look at the flag: `Event.wait` with a timeout
        cost ~20 µs of CPU against ~10 µs for `time.sleep`, once a record at 3,000/s. A stop
        during such a sleep is seen at most `SHORT_WAIT_S` plus one burst later."""
        if delay <= 0:
            return stop.wait(0)
        if delay > SHORT_WAIT_S:
            return stop.wait(delay)
        if stop.wait(0):
            return True
        time.sleep(delay)
        return False

    def _replace(self, producer: Any) -> Any:
        """The broker forgot this producer (restarted without its state): say so once,
        and go on with a new producer (a new producer id)."""
        self._say_lost("sends failed, continuing with a new producer")
        self.result.replaced += 1
        close_quietly(producer, 1.0)
        return make_producer(self.settings)

    def _say_lost(self, outcome: str) -> None:
        self._echo(f"producer: the broker lost this producer's state ({self._lost}); {outcome}")
        self._lost = None

    def _set_start(self, producer: Any, stop: Stop) -> bool:
        """Fix the run start unless given: from the start file, else just after connecting.
        False when stopped while waiting for the start file."""
        if self.config.start_us is not None:
            return True
        producer.partitions_for(self.topic)  # fetch metadata before the clock starts
        if self.config.start_file is None:
            self.start_us = time.time_ns() // 1000 + START_LEAD_US
            return True
        start = self._await_start_file(stop)
        if start is None:
            return False
        self.start_us = start
        return True

    def _await_start_file(self, stop: Stop) -> int | None:
        """ "start_us" of the start file once it exists; None if stopped first. Raises
        ProducerError after `start_file_timeout_s` or on a file without it."""
        path = self.config.start_file
        assert path is not None
        deadline = time.monotonic() + self.config.start_file_timeout_s
        while not path.exists():
            if stop.wait(0.02):
                return None
            if time.monotonic() >= deadline:
                raise ProducerError(
                    f"no start file {path} after {self.config.start_file_timeout_s:.0f} s"
                )
        try:
            return int(json.loads(path.read_text(encoding="utf-8"))["start_us"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ProducerError(f"start file {path} has no start_us: {exc}") from exc

    def _send(self, producer: Any, planned: Planned, envelope: Envelope, actual: int) -> int:
        """Send one sealed envelope with the producer hop at `actual`; return its lag (µs)."""
        from kafka.errors import KafkaError

        if planned.withheld:  # the first line of the rule; `plan` already filters them
            raise ProducerError(f"refusing to send classified document {planned.document.id}")
        hop = Hop(f"producer:{planned.sender}", actual)
        data = to_wire(envelope, planned.fault, hop, planned.seq)
        lag = actual - planned.send_at_us
        try:
            future = producer.send(
                self.topic, key=planned.key, value=data, timestamp_ms=actual // 1000
            )
        except KafkaError as exc:  # e.g. no metadata within max_block_ms: the broker is gone
            self._failed(exc)
        else:
            # a failure is acted on at once (it may mean a new producer), whatever the
            # sends before it; successes are counted in bulk by `_settle`
            future.add_errback(self._failed)
            self._in_flight.append(future)
        tier = planned.sender_tier
        self.metrics.record_schedule_lag(tier, lag)
        if planned.fault is not Fault.MALFORMED:  # the router can attribute it to tiers
            for expected in planned.expected:
                self.metrics.record_addressed(tier, expected.tier, planned.document.priority)
        self.result.sent.add(planned, len(envelope.content))
        return lag

    def _envelope(self, planned: Planned) -> Envelope:
        if planned.replay_of is not None:
            original = self._sealed.get(planned.replay_of)
            if original is not None:
                return original
        envelope = seal(planned, self.credentials)
        if self._keep_sealed and planned.fault is None and not planned.document.secrecy.classified:
            self._sealed[planned.seq] = envelope
            if len(self._sealed) > REPLAY_CACHE:
                self._sealed.popitem(last=False)
        return envelope

    def _settle(self) -> None:
        """Count the sends the broker acknowledged, oldest first, once per burst (no
        success callback per record)."""
        in_flight = self._in_flight
        while in_flight and in_flight[0].is_done:
            if not in_flight.popleft().failed():  # failures were counted by their errback
                self.result.acked += 1

    def _failed(self, exc: BaseException) -> None:
        self.result.failed += 1
        if producer_is_fenced_or_lost(exc):
            self._lost = f"{type(exc).__name__}"
        if not self.result.first_error:
            self.result.first_error = f"{type(exc).__name__}: {exc}"

    def _progress(self, started: float, lag_us: int) -> Progress:
        r = self.result
        return Progress(r.sent.documents, r.acked, r.failed, time.monotonic() - started, lag_us)

    def _write_stats(self) -> None:
        if self.config.stats_file is not None:
            write_stats(self.config.stats_file, self.metrics)

    def manifest(self, **extra: Any) -> dict[str, Any]:
        """The manifest of this process (see docs/WORKLOAD.md for the format)."""
        r, c = self.result, self.config
        lag = self.metrics.merged_histogram("schedule_lag")  # every sender tier
        return {
            "format": MANIFEST_FORMAT,
            "seed": c.seed,
            "preset": self.directory.preset,
            "spec": self.spec.to_dict(),
            "start_us": self.start_us,
            "end_us": r.end_us,
            "shards": [[c.shard, c.shards]],
            "topic": self.topic,
            "sent": r.sent.to_dict(),
            "acked": r.acked,
            "failed": r.failed,
            "first_error": r.first_error,
            "stopped_early": r.stopped_early,
            "schedule_lag": lag_summary(lag),
            "schedule_lag_hdr": lag.encode(),
            **extra,
        }
