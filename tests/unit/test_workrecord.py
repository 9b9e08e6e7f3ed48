"""Work records: the planner (workrecords.plan) and the status-topic tally
(workrecords.workflow)."""

from __future__ import annotations

import dataclasses
import random

import pytest

from interchange.errors import ConfigError
from interchange.metrics.run import RunMetrics
from interchange.wire.model import (
    DocumentType,
    Priority,
    StaffInfo,
    StatusCode,
    StatusMessage,
    Tier,
)
from interchange.workrecords.plan import (
    DAY_S,
    DEFAULT_ONLINE_SHARE,
    WORK_STATUSES,
    RecordDraws,
    WorkItem,
    WorkPlan,
    WorkSettings,
    deadline_us,
    open_overdue,
    overdue_at_completion,
    plan,
)
from interchange.workrecords.workflow import UPDATE_DETAIL, Violation, WorkCell, WorkflowTally

T0 = 1_800_000_000_000_000
LETTER = WorkItem(Priority.NORMAL, DocumentType.OFFICIAL_LETTER, None)


def test_plan_is_03_04_05_06_in_time_order_with_staff() -> None:
    p = plan(LETTER, Tier.COMMUNE, random.Random(1), T0)
    assert tuple(s.code for s in p.steps) == WORK_STATUSES
    times = [s.at_us for s in p.steps]
    assert times == sorted(times)
    assert times[0] >= T0
    assert all(s.staff.name and s.staff.position and s.staff.department for s in p.steps)
    assert p.steps[0].staff.position == "Văn thư"  # the clerk registers
    assert p.steps[1].staff == p.steps[2].staff == p.steps[3].staff  # one handler
    assert p.deadline_us is None
    assert not p.overdue


def test_plan_is_deterministic_from_the_seed() -> None:
    a = plan(LETTER, Tier.DISTRICT, random.Random("s:1"), T0)
    b = plan(LETTER, Tier.DISTRICT, random.Random("s:1"), T0)
    c = plan(LETTER, Tier.DISTRICT, random.Random("s:2"), T0)
    assert a == b
    assert a != c


def test_a_records_plan_is_a_function_of_seed_document_and_recipient() -> None:
    """Planned in one order or another, interleaved with other records or alone, a
    record's plan is the same for one seed; another seed or recipient changes it."""
    records = [(f"000.00.00.G05,2026/11/02,{n}/UBND-VP", "000.01.01.H01") for n in range(300)]

    def plans(order: list[tuple[str, str]], seed: int = 5) -> dict[tuple[str, str], WorkPlan]:
        return {r: plan(LETTER, Tier.COMMUNE, RecordDraws(seed, *r), T0) for r in order}

    forward = plans(records)
    assert forward == plans(records[::-1]) == plans(random.Random(1).sample(records, 300))
    assert forward[records[7]] == plans([records[7]])[records[7]]
    other_seed = plans(records, seed=6)
    assert sum(forward[r] != other_seed[r] for r in records) > 290
    elsewhere = plans([(d, "000.02.01.H01") for d, _ in records])
    assert sum(forward[r] != elsewhere[(r[0], "000.02.01.H01")] for r in records) > 290
    online = sum(p.online for p in forward.values()) / len(records)
    assert online == pytest.approx(DEFAULT_ONLINE_SHARE[Tier.COMMUNE], abs=0.08)


def test_record_draws_are_uniform_and_go_on_past_one_digest() -> None:
    draws = RecordDraws(0, "doc", "agency")
    values = [draws.random() for _ in range(20_000)]  # 1,250 digests
    assert all(0.0 <= v < 1.0 for v in values)
    assert sum(values) / len(values) == pytest.approx(0.5, abs=0.01)
    assert len(set(values)) > 19_900
    again = RecordDraws(0, "doc", "agency")
    assert [again.random() for _ in range(40)] == values[:40]  # across the digest boundary
    assert sorted({draws.choice("abc") for _ in range(200)}) == ["a", "b", "c"]
    mean = sum(draws.expovariate(1.0) for _ in range(20_000)) / 20_000
    assert mean == pytest.approx(1.0, abs=0.05)


def test_status_messages_carry_staff_online_flag_and_deadline() -> None:
    item = WorkItem(Priority.URGENT, DocumentType.REPORT, 5)
    p = plan(item, Tier.PROVINCE, random.Random(3), T0, send_time_us=T0 - 10)
    msg = p.status(p.steps[1], "doc", "sender", "recipient")
    assert (msg.code, msg.time_us, msg.staff) == (
        StatusCode.ASSIGNED,
        p.steps[1].at_us,
        p.steps[1].staff,
    )
    assert msg.online is p.online
    assert msg.due_us == p.deadline_us == T0 - 10 + 5 * 1_000_000  # 5 days at 86,400x


def test_online_share_per_tier_is_honoured() -> None:
    rng = random.Random(7)
    settings = WorkSettings({**DEFAULT_ONLINE_SHARE, Tier.COMMUNE: 0.3})
    n = 4000
    online = sum(plan(LETTER, Tier.COMMUNE, rng, T0, settings=settings).online for _ in range(n))
    assert online / n == pytest.approx(0.3, abs=0.03)
    all_online = WorkSettings({**DEFAULT_ONLINE_SHARE, Tier.COMMUNE: 1.0})
    assert all(plan(LETTER, Tier.COMMUNE, rng, T0, settings=all_online).online for _ in range(50))


def test_priority_shortens_handling_and_time_scale_compresses_it() -> None:
    def mean_completion(priority: Priority, scale: float) -> float:
        rng = random.Random(11)
        s = WorkSettings(time_scale=scale)
        item = WorkItem(priority, DocumentType.OFFICIAL_LETTER, None)
        return (
            sum(
                plan(item, Tier.PROVINCE, rng, T0, settings=s).completed_us - T0 for _ in range(500)
            )
            / 500
        )

    normal, express = (
        mean_completion(Priority.NORMAL, 86_400),
        mean_completion(Priority.EXPRESS, 86_400),
    )
    assert express < normal / 5
    # ten times the scale: one tenth of the real time (same draws)
    assert mean_completion(Priority.NORMAL, 864_000) == pytest.approx(normal / 10, rel=1e-3)


def test_due_date_drives_completion_and_overdue_rules() -> None:
    assert deadline_us(2, T0, 86_400) == T0 + 2_000_000
    assert deadline_us(None, T0) is None
    assert not overdue_at_completion(T0, T0)  # at the deadline: on time
    assert overdue_at_completion(T0 + 1, T0)
    assert not overdue_at_completion(T0 + 10**12, None)  # no due date: never overdue
    assert open_overdue(T0, T0 + 1)
    assert not open_overdue(T0, T0)
    assert not open_overdue(None, T0 + 10**12)
    rng = random.Random(5)
    item = WorkItem(Priority.NORMAL, DocumentType.DECISION, 10)
    plans = [plan(item, Tier.PROVINCE, rng, T0) for _ in range(2000)]
    late = sum(p.overdue for p in plans) / len(plans)
    assert 0.02 < late < 0.35  # some, not most, records run late
    assert all(p.deadline_us == T0 + round(10 * DAY_S / 86_400 * 1e6) for p in plans)


def test_work_settings_validation() -> None:
    s = WorkSettings.from_dict({"online_share": {"commune": 0.5}, "time_scale": 8640})
    assert s.online_share[Tier.COMMUNE] == 0.5
    assert s.online_share[Tier.PROVINCE] == DEFAULT_ONLINE_SHARE[Tier.PROVINCE]
    assert WorkSettings.from_dict(s.to_dict()) == s
    for bad, message in (
        ({"online_share": {"village": 0.5}}, "unknown tier"),
        ({"online_share": {"commune": 1.5}}, "within 0..1"),
        ({"time_scale": 0}, "time scale"),
        ({"speed": 1}, "unknown key"),
    ):
        with pytest.raises(ConfigError, match=message):
            WorkSettings.from_dict(bad)


# ---- the tally of the status topic -------------------------------------------------------

P, M = Tier.PROVINCE, Tier.COMMUNE
STAFF = StaffInfo("Nguyễn Văn A", "Chuyên viên", "Văn phòng")


def status(
    code: StatusCode, t: int, *, online: bool | None = True, due: int | None = None, doc: str = "d1"
) -> StatusMessage:
    return StatusMessage(doc, "s", "r", code, t, staff=STAFF, online=online, due_us=due)


def feed(tally: WorkflowTally, *msgs: StatusMessage) -> list[Violation | None]:
    return [tally.observe(m, P, M) for m in msgs]


def only_cell(tally: WorkflowTally, as_of: int | None = None) -> WorkCell:
    cells = dict(tally.cells(as_of))
    assert list(cells) == [(P, M)]
    return cells[(P, M)]


def test_tally_counts_the_funnel_online_paper_and_overdue() -> None:
    t = WorkflowTally()
    codes = (StatusCode.ARRIVED, *WORK_STATUSES)
    assert feed(t, *(status(c, i, due=10) for i, c in enumerate(codes))) == [None] * 5
    assert (
        feed(t, *(status(c, 20 + i, online=False, due=21, doc="d2") for i, c in enumerate(codes)))
        == [None] * 5
    )
    feed(t, status(StatusCode.ACCEPTED, 30, online=None, doc="d3"))  # an old-style 03
    feed(
        t,
        status(StatusCode.ACCEPTED, 31, due=35, doc="d4"),
        status(StatusCode.ASSIGNED, 40, due=35, doc="d4"),
    )
    c = only_cell(t)
    assert (c.records, c.assigned, c.in_progress, c.completed) == (4, 3, 2, 2)
    assert (c.online, c.paper, c.mode_unknown) == (2, 1, 1)
    assert c.overdue_completed == 1  # d2 completed at 24 > 21
    assert c.overdue_open == 1  # d4 open at 40 (the last status) past 35
    assert only_cell(t, as_of=34).overdue_open == 0


def test_tally_flags_out_of_order_after_completed_and_recall_answers() -> None:
    t = WorkflowTally()
    assert feed(t, status(StatusCode.ACCEPTED, 1), status(StatusCode.IN_PROGRESS, 2)) == [
        None,
        Violation.OUT_OF_ORDER,
    ]
    assert feed(t, status(StatusCode.ACCEPTED, 3)) == [None]  # a re-send of the current step
    feed(
        t,
        status(StatusCode.ASSIGNED, 4),
        status(StatusCode.IN_PROGRESS, 5),
        status(StatusCode.COMPLETED, 6),
    )
    assert feed(t, status(StatusCode.ASSIGNED, 7)) == [Violation.AFTER_COMPLETED]
    assert feed(t, status(StatusCode.RECALL_REFUSED, 8)) == [Violation.ANSWER_WITHOUT_RECALL]
    assert feed(
        t, status(StatusCode.RECALL_REQUESTED, 9), status(StatusCode.RECALL_REFUSED, 10)
    ) == [None, None]
    c = only_cell(t)
    assert (c.records, c.assigned, c.in_progress, c.completed) == (1, 1, 1, 1)
    assert (c.recall_requested, c.recall_agreed, c.recall_refused) == (1, 0, 1)


def test_a_redelivered_completed_record_may_be_agreed_by_its_new_handling() -> None:
    """A record completed (06) and then redelivered (a second 01: its process died before
    committing) is handled again by a process that cannot know about that 06; a recall or
    update it then agrees (15) follows the new handling and is not a finding. Without the
    redelivery it still is."""
    done = [StatusCode.ARRIVED, *WORK_STATUSES]
    for answer in (
        [dataclasses.replace(status(StatusCode.RECALL_REQUESTED, 20), detail="revoke x")],
        [],
    ):
        agreed = status(StatusCode.RECALL_AGREED, 21)
        if not answer:  # an update's answer: no 13, its detail names the update
            agreed = dataclasses.replace(agreed, detail=f"{UPDATE_DETAIL}u1")
        else:
            agreed = dataclasses.replace(agreed, detail="revoke x")
        t = WorkflowTally()
        steps = [status(c, i) for i, c in enumerate([*done, StatusCode.ARRIVED])]
        assert feed(t, *steps, *answer, agreed) == [None] * (len(steps) + len(answer) + 1)
        u = WorkflowTally()
        steps = [status(c, i) for i, c in enumerate(done)]
        results = feed(u, *steps, *answer, agreed)
        assert results[-1] is Violation.AGREED_AFTER_COMPLETED


def test_a_redelivered_record_is_counted_and_its_steps_may_come_again() -> None:
    """A recipients process restarted before its commit handles records again: a second
    01, then 03.. again. That is at-least-once, counted, not a broken order."""
    t = WorkflowTally()
    first = [StatusCode.ARRIVED, StatusCode.ACCEPTED, StatusCode.ASSIGNED]
    again = [StatusCode.ARRIVED, *WORK_STATUSES]
    results = feed(t, *(status(c, i) for i, c in enumerate([*first, *again])))
    assert results == [None] * 8
    c = only_cell(t)
    assert c.redelivered == 1
    assert (c.records, c.assigned, c.in_progress, c.completed) == (1, 1, 1, 1)
    # without a second 01, going back a step is still a broken order
    u = WorkflowTally()
    steps = [StatusCode.ARRIVED, StatusCode.ACCEPTED, StatusCode.ASSIGNED, StatusCode.ACCEPTED]
    assert feed(u, *(status(c, i) for i, c in enumerate(steps)))[-1] is Violation.OUT_OF_ORDER
    assert only_cell(u).redelivered == 0


def test_work_cells_travel_in_run_metrics() -> None:
    t = WorkflowTally()
    feed(t, status(StatusCode.ACCEPTED, 1), status(StatusCode.ASSIGNED, 2))
    m = RunMetrics()
    for (s, r), cell in t.cells():
        m.record_work(s, r, cell)
    back = RunMetrics.from_dict(m.to_dict())
    assert back == m
    assert back.work[(P, M)].assigned == 1
    old = m.to_dict()
    del old["work"]  # a stats file written before work records
    assert RunMetrics.from_dict(old).work == {}


def test_scenario_carries_work_record_settings() -> None:
    from interchange.axis.presets import Scenario
    from interchange.errors import DirectoryError

    s = Scenario.from_dict({"work_records": {"online_share": {"commune": 0.4}, "time_scale": 3600}})
    assert s.work_records.online_share[Tier.COMMUNE] == 0.4
    assert s.work_records.time_scale == 3600
    assert Scenario.from_dict(s.to_dict()) == s
    assert Scenario().work_records.online_share == DEFAULT_ONLINE_SHARE
    with pytest.raises(DirectoryError, match="online share of commune"):
        Scenario.from_dict({"work_records": {"online_share": {"commune": 2}}})


def test_tally_flags_a_recall_agreed_after_06_and_work_after_a_withdrawal() -> None:
    """A completed record's recall is refused (16), so a 15 after 06 breaks the rule; an
    agreed recall withdraws the record, so no 04-06 may follow (its 03 still may)."""
    done = WorkflowTally()
    feed(done, *(status(c, i) for i, c in enumerate(WORK_STATUSES)))
    assert feed(
        done, status(StatusCode.RECALL_REQUESTED, 9), status(StatusCode.RECALL_AGREED, 10)
    ) == [None, Violation.AGREED_AFTER_COMPLETED]
    assert only_cell(done).recall_agreed == 0  # a finding is not counted

    withdrawn = WorkflowTally()
    assert feed(
        withdrawn,
        status(StatusCode.ARRIVED, 1),
        status(StatusCode.RECALL_REQUESTED, 2),
        status(StatusCode.RECALL_AGREED, 3),
        status(StatusCode.ACCEPTED, 4),  # registration still goes out
        status(StatusCode.ASSIGNED, 5),
    ) == [None, None, None, None, Violation.AFTER_WITHDRAWN]
    c = only_cell(withdrawn)
    assert (c.records, c.assigned, c.recall_agreed) == (1, 0, 1)


def test_tally_takes_an_update_answered_15_or_16_and_still_flags_forged_answers() -> None:
    """An update's request is the update document itself: its answer (detail 'update <id>')
    needs no 13. Agreed (15) while the record is open, and the work goes on; refused (16)
    once it is completed, where a 15 breaks the rule. A 15 naming no request is flagged."""
    open_ = WorkflowTally()
    agreed = dataclasses.replace(status(StatusCode.RECALL_AGREED, 3), detail="update u1")
    assert (
        feed(
            open_,
            status(StatusCode.ARRIVED, 1),
            status(StatusCode.ACCEPTED, 2),
            agreed,
            *(status(c, 4 + i) for i, c in enumerate(WORK_STATUSES[1:])),  # not withdrawn
        )
        == [None] * 6
    )
    c = only_cell(open_)
    assert (c.completed, c.update_agreed, c.update_refused) == (1, 1, 0)
    assert (c.recall_requested, c.recall_agreed, c.recall_refused) == (0, 0, 0)

    done = WorkflowTally()
    feed(done, *(status(c, i) for i, c in enumerate(WORK_STATUSES)))
    refused = dataclasses.replace(status(StatusCode.RECALL_REFUSED, 9), detail="update u2")
    late_yes = dataclasses.replace(status(StatusCode.RECALL_AGREED, 10), detail="update u3")
    forged = dataclasses.replace(status(StatusCode.RECALL_AGREED, 11), detail="revoke u4")
    assert feed(done, refused, late_yes, forged, status(StatusCode.RECALL_REFUSED, 12)) == [
        None,
        Violation.AGREED_AFTER_COMPLETED,
        Violation.ANSWER_WITHOUT_RECALL,  # names a revoke, but no 13 recorded it
        Violation.ANSWER_WITHOUT_RECALL,
    ]
    c = only_cell(done)
    assert (c.update_agreed, c.update_refused, c.recall_agreed, c.recall_refused) == (0, 1, 0, 0)
