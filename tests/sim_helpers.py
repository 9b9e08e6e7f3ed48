"""A scenario for simulate runs in tests: the default directory, handling ten times faster.

A simulate run waits (bounded, 10 s) for the recipients to finish every open work record
(status 06) before it stops the stages. At the default time scale (a simulated day per
second) a record's handling takes several seconds, so a short test run spent most of its
time in that wait. Ten times faster, the records finish within a second or two after the
last delivery, and a revoke or update sent during the run still finds open records, so
the 15 answers (and the 16s of completed ones) of the default run keep being exercised.
"""

from __future__ import annotations

import json
from pathlib import Path

from interchange.simulate.values import DOWNTIME_S, DOWNTIME_SHARE
from interchange.wire.model import Tier
from interchange.workrecords.plan import DEFAULT_TIME_SCALE

BRISK_TIME_SCALE = 10 * DEFAULT_TIME_SCALE


def brisk_scenario(path: Path, span_s: float) -> Path:
    """Write a scenario that builds the same directory as simulate's default (the
    built-in downtime of a run spanning `span_s` seconds) with handling at
    BRISK_TIME_SCALE; return its path."""
    downtime = {
        "tier": Tier.COMMUNE.value,
        "share": DOWNTIME_SHARE,
        "within_s": max(span_s, DOWNTIME_S + 1.0),
        "duration_s": DOWNTIME_S,
    }
    data = {"random_downtime": [downtime], "work_records": {"time_scale": BRISK_TIME_SCALE}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path
