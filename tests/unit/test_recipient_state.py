"""The recipients' bounded duplicate memory and the arrival's actual send time (no Kafka)."""

from __future__ import annotations

from pathlib import Path

import pytest
from router_helpers import CENTRAL, COMMUNE, document

from interchange.axis.presets import build
from interchange.delivery.state import ArrivalDecoder, RecentDeliveries
from interchange.wire import codec
from interchange.wire.model import Envelope, Hop


def test_recent_deliveries_forget_the_oldest_pair_beyond_the_window() -> None:
    recent = RecentDeliveries(capacity=3)
    for doc in ("a", "b", "c"):
        recent.add((doc, "r"))
    assert ("a", "r") in recent
    recent.add(("d", "r"))
    assert len(recent) == 3
    assert ("a", "r") not in recent  # outside the window: a repeat would count as new
    assert all((doc, "r") in recent for doc in ("b", "c", "d"))
    assert ("b", "other recipient") not in recent


def test_recent_deliveries_memory_stays_bounded() -> None:
    recent = RecentDeliveries(capacity=100)
    for i in range(10_000):
        recent.add((f"doc-{i}", "r"))
    assert len(recent) == 100
    assert ("doc-9999", "r") in recent
    assert ("doc-9899", "r") not in recent


def test_recent_deliveries_reject_an_empty_window() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RecentDeliveries(capacity=0)


def _wire(*hops: Hop) -> bytes:
    """A delivery record; not verified at the recipient here, so any signature bytes do."""
    content = codec.encode_document(document(CENTRAL, [COMMUNE], 1, send_time_us=1_000_000))
    return codec.encode_envelope(Envelope(content, b"\x01" * 64, "ab" * 32, hops))


def test_arrival_carries_the_producer_hop_as_the_actual_send_time() -> None:
    decode = ArrivalDecoder(build("tiny"))
    arrival = decode(_wire(Hop(f"producer:{CENTRAL}", 1_000_500), Hop("router:r", 1_002_000)))
    assert arrival is not None
    assert (arrival.send_time_us, arrival.sent_time_us, arrival.router_time_us) == (
        1_000_000,
        1_000_500,
        1_002_000,
    )
    bare = decode(_wire(Hop("router:r", 1_002_000)))
    assert bare is not None
    assert bare.sent_time_us is None


def test_stages_are_ready_only_when_every_recipients_process_is(tmp_path: Path) -> None:
    import json

    from interchange.simulate.values import stats_totals

    def stats(name: str, ready: bool) -> Path:
        path = tmp_path / name
        path.write_text(json.dumps({"cells": [], "recipients": {"ready": ready}}))
        return path

    one, two = stats("r1.json", True), stats("r2.json", False)
    assert stats_totals([one]).ready
    assert not stats_totals([one, two]).ready
    assert not stats_totals([]).ready


def test_a_record_withdrawn_by_a_recall_is_no_open_work(tmp_path: Path) -> None:
    """simulate drains open work records before it stops the stages; a record withdrawn by
    an agreed recall never gets its 06, so counting it as open made every run with such a
    recall wait the whole drain bound (10 s)."""
    import json

    from interchange.simulate.values import stats_totals

    def stats(name: str, accepted: int, completed: int, withdrawn: int, agreed: int) -> Path:
        path = tmp_path / name
        extras = {"status_accepted": accepted, "status_completed": completed}
        extras |= {"work_withdrawn": withdrawn, "recall_agreed": agreed}
        path.write_text(json.dumps({"cells": [], "recipients": extras}))
        return path

    one = stats("r1.json", accepted=169, completed=168, withdrawn=1, agreed=1)
    assert stats_totals([one]).work_open == 0
    two = stats("r2.json", accepted=10, completed=8, withdrawn=1, agreed=1)  # one in handling
    assert stats_totals([one, two]).work_open == 1
    assert stats_totals([two, one]).work_withdrawn == 2
    # a 15 whose target's 03 is not out yet withdraws nothing registered (yet)
    three = stats("r3.json", accepted=10, completed=9, withdrawn=0, agreed=1)
    assert stats_totals([three]).work_open == 1


def test_work_states_are_bounded_and_forget_the_oldest_record() -> None:
    from interchange.delivery.state import WorkStates

    states = WorkStates(capacity=2)
    states.set(("a", "r"), WorkStates.OPEN)
    states.set(("b", "r"), WorkStates.OPEN)
    states.set(("a", "r"), WorkStates.COMPLETED)  # an update keeps the record's age
    states.set(("c", "r"), WorkStates.OPEN)
    assert len(states) == 2
    assert states.get(("a", "r")) is None  # the oldest opened is forgotten
    assert states.get(("b", "r")) == WorkStates.OPEN
    assert states.get(("b", "other")) is None
    with pytest.raises(ValueError, match="at least 1"):
        WorkStates(0)
