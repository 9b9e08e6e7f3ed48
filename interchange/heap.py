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

The collector is also made to run less often (`STAGE_GC_THRESHOLDS`). CPython's
default starts a young collection every 700 net allocations and a full one every
100 young ones; a stage allocates a few dozen tracked objects per record (kafka-python's
futures and records, the work-record timers), so at saturation the recipients ran ~80
young and ~0.7 full collections a second, and every full one walked the work records
still pending (~80 ms each). Measured in `interchange bench` at saturation: the
collector's share of the recipients' CPU 6.9% -> 3-4%, the router's 1.8% -> 0.3%, the
producer's 2.2% -> 0.4% (docs/BENCHMARKS.md, "Tenth session"). Cyclic garbage waits a
little longer to be reclaimed (at most 10,000 allocations for the young generation).
"""

from __future__ import annotations

import gc

_settled = False
# young collection every 10,000 net allocations (default 700); a middle one every 10
# young, a full one at most every 10 middle (the defaults), and only once the objects
# promoted since the last full one are a quarter of the old generation (CPython's rule)
STAGE_GC_THRESHOLDS = (10_000, 10, 10)


def settle_startup_heap() -> bool:
    """Collect, freeze what is left and set the stage's collector thresholds, the first
    time a process calls it (a later call, after a rebalance or a reconnect, does
    nothing); True when this call did it."""
    global _settled  # noqa: PLW0603 - once per process, whichever stage calls first
    if _settled:
        return False
    _settled = True
    gc.collect()
    gc.freeze()
    gc.set_threshold(*STAGE_GC_THRESHOLDS)
    return True
