"""`--compare`: the policy measures (exchanged, the work-record funnel) are compared exactly."""

from __future__ import annotations

import copy
from typing import Any

from interchange.audit.compare import compare, differences
from interchange.metrics.coverage import compute_coverage
from interchange.metrics.coverage_json import coverage_payload
from interchange.metrics.run import RunMetrics
from interchange.wire.model import Priority, Tier
from interchange.workrecords.workflow import WorkCell

P, M = Tier.PROVINCE, Tier.COMMUNE


def payload() -> dict[str, Any]:
    m = RunMetrics()
    m.record_addressed(P, M, Priority.NORMAL, 3)
    for _ in range(3):
        m.record_delivery(P, M, Priority.NORMAL, 1_000)
    cell = WorkCell()
    cell.records, cell.online, cell.paper, cell.completed = 3, 2, 1, 2
    m.record_work(P, M, cell)
    return coverage_payload(compute_coverage(m))


def test_equal_reports_agree_on_exchange_and_work() -> None:
    live = payload()
    rows = compare(live, payload())
    assert not differences(rows)
    figures = {r.figure for r in rows if r.tier == "commune"}
    assert {"exchanged", "work records", "work online", "work completed"} <= figures


def test_a_different_funnel_is_a_finding() -> None:
    live, audit = payload(), payload()
    audit["tiers"]["commune"]["work"]["online"] = 1
    found = differences(compare(live, audit))
    assert [f.detail for f in found] == ["commune work online: live 2, audit 1"]


def test_a_live_report_older_than_the_figures_is_not_compared_on_them() -> None:
    live = copy.deepcopy(payload())
    for tier in (*live["tiers"].values(), live["total"]):
        del tier["exchanged"], tier["work"]
    rows = compare(live, payload())
    assert not differences(rows)
    assert not any(r.figure == "exchanged" or r.figure.startswith("work ") for r in rows)
