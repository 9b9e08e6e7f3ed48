"""A long-running stage's heap, settled once it is ready: collected, then frozen.

CPython's cyclic collector walks every tracked object of the generation it collects;
a full collection in a stage walked everything it had built at start-up (modules, the
Kafka client, schemas, the directory, keys, restored windows) again and again. In a
default `interchange simulate` a full collection paused the recipients for a median of
64-87 ms (up to 183 ms) and the router and the producer for 63-94 ms, in the middle
of the deliveries whose latency the run measures. Frozen once the stage is ready
(`gc.freeze`: the objects that exist move to a permanent generation the collector
ignores), the recipients' later full collections took a median of 13-17 ms
(docs/BENCHMARKS.md, "Seventh session").

Nothing is given up: the collector keeps running for what the stage allocates later,
and frozen objects are still freed by reference counting when the stage drops them
(a window's evicted entries, a replaced client). Only a reference cycle among objects
that existed at start-up and die later is never reclaimed; the collection just before
the freeze leaves none that is already garbage.
"""

from __future__ import annotations

import gc

_settled = False


def settle_startup_heap() -> bool:
    """Collect, then freeze what is left, the first time a process calls it (a later
    call, after a rebalance or a reconnect, does nothing); True when this call did it."""
    global _settled  # noqa: PLW0603 - once per process, whichever stage calls first
    if _settled:
        return False
    _settled = True
    gc.collect()
    gc.freeze()
    return True
