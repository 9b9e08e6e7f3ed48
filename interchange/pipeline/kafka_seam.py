"""The seam between the stages and Kafka: the few client operations the stages use.

`Stop` is how every stage is told to stop.
"""

from __future__ import annotations

from typing import Protocol


class Stop(Protocol):
    """A `threading.Event` or `cli.common.StopFlag`; `wait(0)` reads it without blocking."""

    def wait(self, timeout: float | None = None) -> bool: ...
