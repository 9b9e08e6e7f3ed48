"""A recall agreed before its target's 03, on the pure handling (no Kafka, no stage).

`simulate` stops its stages once no registered work record is open. A recall agreed while
its target's 03 was still pending was counted as withdrawn before the target was counted
as registered: the open count was one too low until that 03, so a run could stop its
stages while another record was still in handling."""

from __future__ import annotations

import json
from pathlib import Path

from interchange.clock import now_us
from interchange.delivery.handling import Handling, Item
from interchange.delivery.state import EXTRAS_KEY, Arrival, InboxCounts, PendingOffsets
from interchange.metrics.run import RunMetrics
from interchange.simulate.values import StatsTotals, stats_totals
from interchange.wire import codec
from interchange.wire.model import Priority, Secrecy, StatusCode, Tier
from interchange.workrecords.plan import WorkSettings

SENDER, RECIPIENT = "000.00.00.G01", "000.00.00.H01"
TP = ("deliveries.commune", 0)


class Box:
    """The statuses a handling sends, decoded: (document id, code), in order."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, StatusCode]] = []

    def __call__(self, key: bytes, value: bytes, headers: list[tuple[str, bytes]]) -> None:
        message = codec.decode_status(value)
        self.sent.append((message.document_id, message.code))

    def codes(self, document_id: str) -> list[StatusCode]:
        return [code for doc, code in self.sent if doc == document_id]


def handling(box: Box, *, time_scale: float) -> Handling:
    """03 within 10 accept delays (10 ms); 04-06 hours later (scale 1) or at once (1e9)."""
    return Handling(
        (Tier.COMMUNE,),
        box,
        InboxCounts(),
        RunMetrics(),
        PendingOffsets(),
        accept_delay_s=0.001,
        work=WorkSettings(time_scale=time_scale),
    )


def arrive(h: Handling, offset: int, document_id: str, *, recall_of: str | None = None) -> None:
    at = now_us()
    a = Arrival(
        document_id,
        SENDER,
        Tier.CENTRAL,
        Priority.NORMAL,
        Secrecy.NONE,
        at - 1_000,
        None,
        None,
        recall_of=recall_of,
    )
    h.pending.consumed(TP, offset)
    h.deliver(Item(TP, offset, Tier.COMMUNE, RECIPIENT, a), at)


def totals(h: Handling, tmp_path: Path) -> StatsTotals:
    """What simulate reads of the recipients' stats file (written as the stage writes it)."""
    path = tmp_path / "recipients.json"
    path.write_text(json.dumps({"cells": [], EXTRAS_KEY: h.counts.to_dict()}), encoding="utf-8")
    return stats_totals([path])


def test_a_record_recalled_before_its_03_is_not_withdrawn_before_it_is_registered(
    tmp_path: Path,
) -> None:
    box = Box()
    h = handling(box, time_scale=1)  # 04-06 hours away: a registered record stays open
    arrive(h, 0, "busy")
    h.fire(now_us() + 50_000)  # busy's 03: registered, in handling
    assert box.codes("busy") == [StatusCode.ARRIVED, StatusCode.ACCEPTED]
    assert totals(h, tmp_path).work_open == 1

    arrive(h, 1, "target")
    arrive(h, 2, "revoke", recall_of="target")  # agreed at once, target's 03 still pending
    assert box.codes("target") == [
        StatusCode.ARRIVED,
        StatusCode.RECALL_REQUESTED,
        StatusCode.RECALL_AGREED,
    ]
    assert h.counts.recall_agreed == 1
    # busy is the one registered record and it is in handling: simulate must not stop
    assert totals(h, tmp_path).work_open == 1

    h.fire(now_us() + 50_000)  # the 03s of target and revoke
    # the withdrawn record still registers (03), then its handling stops
    assert box.codes("target")[-1] is StatusCode.ACCEPTED
    got = totals(h, tmp_path)
    assert (got.work_registered, got.work_withdrawn, got.work_open) == (3, 1, 2)


def test_a_record_is_withdrawn_once_before_or_after_its_03_and_never_completes(
    tmp_path: Path,
) -> None:
    """One record recalled before its 03, one after: each counts as withdrawn once it is
    both registered and recalled, neither gets 04-06, and once the others complete
    nothing is open (never below zero on the way)."""
    box = Box()
    h = handling(box, time_scale=1)

    def counted() -> tuple[int, int, int, int]:
        t = totals(h, tmp_path)
        return t.work_registered, t.work_completed, t.work_withdrawn, t.work_open

    arrive(h, 0, "early")
    arrive(h, 1, "recall-early", recall_of="early")
    assert counted() == (0, 0, 0, 0)  # nothing registered yet: nothing open, none withdrawn
    h.fire(now_us() + 50_000)  # both 03s: early is registered and withdrawn at once
    assert counted() == (2, 0, 1, 1)
    arrive(h, 2, "later")
    h.fire(now_us() + 50_000)
    assert counted() == (3, 0, 1, 2)
    arrive(h, 3, "recall-later", recall_of="later")  # agreed after later's 03
    assert box.codes("later")[-1] is StatusCode.RECALL_AGREED
    assert counted() == (3, 0, 2, 1)
    h.fire(now_us() + 365 * 86_400 * 1_000_000)  # a year on: every step still to come
    assert counted() == (4, 2, 2, 0)
    for doc in ("early", "later"):
        assert not {StatusCode.ASSIGNED, StatusCode.IN_PROGRESS, StatusCode.COMPLETED} & set(
            box.codes(doc)
        ), doc
    for doc in ("recall-early", "recall-later"):
        assert box.codes(doc)[-1] is StatusCode.COMPLETED
    assert h.counts.recall_agreed == 2
