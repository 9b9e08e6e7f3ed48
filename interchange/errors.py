"""The exception hierarchy. Library exceptions never reach users; they are wrapped.

InterchangeError
├── ConfigError          bad settings, flags or environment
├── BrokerError          the embedded broker cannot start or stop
├── TopicError           topics cannot be created or checked
├── DecodeError          untrusted bytes are not a strict, canonical record (has .reason)
│   └── PackageError     edxml/reasons.py: an edXML package is refused (.why: EdxmlReason)
├── EncodeError          a value does not fit its schema
├── PkiError             key material is missing, unreadable or inconsistent
├── DirectoryError       an agency directory cannot be built or loaded
├── ArchiveError         an archive is unreadable (tampering is an audit finding, not this)
│
│   defined beside the stage that raises them:
├── ProducerError        workload/producer.py: the producer cannot connect to Kafka
├── RouterError          routing/router.py: the router cannot continue (fenced by a twin router id)
├── ReplayError          audit/replay.py: the topics cannot be read for an audit replay
├── StageError           bench/stages.py: a bench stage failed or was not ready in time
├── BenchStoppedError    bench/stages.py: SIGINT/SIGTERM ended a bench; its stages are stopped
├── PassthroughError     bench/passthrough.py: the raw Kafka pass-through ceiling failed
└── CeilingError         bench/ceilings.py: the CPU-ceiling run did not deliver a bench document
"""

from __future__ import annotations


class InterchangeError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigError(InterchangeError):
    pass


class BrokerError(InterchangeError):
    pass


class TopicError(InterchangeError):
    pass


class DecodeError(InterchangeError):
    """Raised for any defect in untrusted input; `reason` is a short machine-readable word."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class EncodeError(InterchangeError):
    pass


class PkiError(InterchangeError):
    pass


class DirectoryError(InterchangeError):
    pass


class ArchiveError(InterchangeError):
    pass
