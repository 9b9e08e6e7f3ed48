from __future__ import annotations

import itertools
import statistics
from collections import Counter

import pytest

from interchange.axis.directory import Directory, Downtime, body_of_id, is_valid_id
from interchange.axis.presets import Scenario, build_directory
from interchange.errors import ConfigError
from interchange.wire import codec
from interchange.wire.model import BusinessType, Priority, ReasonCode, Secrecy, Tier
from interchange.workload.faults import DEFAULT_FAULTS, EXPECTED_REASON, Fault, parse_faults
from interchange.workload.flows import effective_flows
from interchange.workload.generator import Planned, WorkloadSpec, for_shard, generate, shard_of
from interchange.workload.spec import Role, role_of_id
from interchange.workload.tally import DELIVERED, Tally

N = 20_000
HEAVY_FAULTS = dict.fromkeys(Fault, 0.02)


@pytest.fixture(scope="module")
def tiny() -> Directory:
    return build_directory("tiny")


@pytest.fixture(scope="module")
def plain(tiny: Directory) -> list[Planned]:
    """No faults, no replies: the flow matrix and mixes show directly."""
    return list(generate(tiny, WorkloadSpec(rate=500, count=N, reply_share=0.0), seed=11))


@pytest.fixture(scope="module")
def faulty(tiny: Directory) -> list[Planned]:
    return list(generate(tiny, WorkloadSpec(rate=500, count=N, faults=HEAVY_FAULTS), seed=12))


def test_same_seed_same_stream_byte_for_byte(tiny: Directory) -> None:
    spec = WorkloadSpec(rate=100, count=500, faults=DEFAULT_FAULTS)
    a = list(generate(tiny, spec, seed=5))
    b = list(generate(tiny, spec, seed=5))
    assert a == b
    assert [codec.encode_document(p.document) for p in a] == [
        codec.encode_document(p.document) for p in b
    ]
    c = list(generate(tiny, spec, seed=6))
    assert [p.document.id for p in a] != [p.document.id for p in c]


def test_start_time_only_shifts_wall_clock_fields(tiny: Directory) -> None:
    spec = WorkloadSpec(rate=100, count=200)
    a = list(generate(tiny, spec, seed=5, start_us=1_800_000_000_000_000))
    b = list(generate(tiny, spec, seed=5, start_us=1_800_000_000_000_000 + 1000))
    assert [p.offset_us for p in a] == [p.offset_us for p in b]
    assert [p.document.send_time_us + 1000 for p in a] == [p.document.send_time_us for p in b]


def test_poisson_arrival_rate(plain: list[Planned]) -> None:
    gaps = [b.offset_us - a.offset_us for a, b in itertools.pairwise(plain)]
    assert statistics.mean(gaps) == pytest.approx(1e6 / 500, rel=0.03)
    # exponential: standard deviation equals the mean
    assert statistics.stdev(gaps) == pytest.approx(1e6 / 500, rel=0.05)
    assert all(p.send_at_us == p.document.send_time_us for p in plain)


def test_duration_bounds_the_stream(tiny: Directory) -> None:
    stream = list(generate(tiny, WorkloadSpec(rate=200, duration_s=10.0), seed=1))
    assert 2000 - 5 * 45 < len(stream) < 2000 + 5 * 45
    assert all(p.offset_us < 10_000_000 for p in stream)


def test_flow_shares_follow_the_matrix(tiny: Directory, plain: list[Planned]) -> None:
    flows = effective_flows(tiny, WorkloadSpec(rate=1, count=1))
    total = sum(flows.values())
    seen = Counter((role_of_id(p.sender), role_of_id(p.expected[0].recipient)) for p in plain)
    for pair, weight in flows.items():
        assert seen[pair] / N == pytest.approx(weight / total, abs=0.012), pair
    assert set(seen) <= set(flows)
    units = sum(n for (a, b), n in seen.items() if a.unit or b.unit)
    assert units / N == pytest.approx(0.40, abs=0.02)  # the documented share


def test_departments_write_to_departments_communes_and_their_units(
    tiny: Directory, plain: list[Planned]
) -> None:
    """Department-to-department within one People's Committee, department-to-commune and
    to a commune's unit within the department's province, district office to commune
    within its district, committee to its own departments: each at its documented share."""
    pu, p, m, mu, du = (
        Role.PROVINCE_UNIT, Role.PROVINCE, Role.COMMUNE, Role.COMMUNE_UNIT, Role.DISTRICT_UNIT
    )  # fmt: skip
    by_pair: dict[tuple[Role, Role], list[Planned]] = {}
    for planned in plain:
        for e in planned.expected:
            by_pair.setdefault((role_of_id(planned.sender), role_of_id(e.recipient)), []).append(
                planned
            )
    shares = {pair: len({x.seq for x in docs}) / N for pair, docs in by_pair.items()}
    for pair, share in (((pu, pu), 0.05), ((pu, m), 0.03), ((pu, mu), 0.01), ((p, pu), 0.04)):
        assert shares[pair] == pytest.approx(share, abs=0.006), pair
    for planned in by_pair[(pu, pu)]:
        assert {r.id[3:] for r in planned.document.recipients} == {planned.sender[3:]}
    for pair in ((pu, m), (pu, mu)):
        for planned in by_pair[pair]:
            for r in planned.document.recipients:  # in the department's own province
                assert r.id.endswith(planned.sender[-4:])
                assert tiny.ancestor(body_of_id(r.id), Tier.PROVINCE) == tiny.body_of(
                    planned.sender
                )
    for planned in by_pair[(du, m)]:
        for r in planned.document.recipients:
            assert tiny.get(r.id).parent == body_of_id(planned.sender)
    for planned in by_pair[(p, pu)]:
        for r in planned.document.recipients:
            assert tiny.body_of(r.id).id == planned.sender
    health = [x for x in by_pair[(pu, pu)] if x.sender.startswith("016.")]
    assert health
    assert all("SYT" in x.document.code_notation.split("-") for x in health)  # Sở Y tế
    new = [x for x in by_pair[(pu, p)] if x.document.business_type is BusinessType.NEW]
    assert {x.direction.value for x in new} == {"up"}  # a department reports up to its body


def test_mixes_and_classified_share(plain: list[Planned]) -> None:
    priorities = Counter(p.document.priority for p in plain)
    assert priorities[Priority.NORMAL] / N == pytest.approx(0.80, abs=0.015)
    assert priorities[Priority.URGENT] / N == pytest.approx(0.12, abs=0.012)
    secrecy = Counter(p.document.secrecy for p in plain)
    assert secrecy[Secrecy.CONFIDENTIAL] / N == pytest.approx(0.010, abs=0.003)
    classified = sum(n for s, n in secrecy.items() if s.classified)
    assert classified / N == pytest.approx(0.014, abs=0.004)
    no_attachment = sum(not p.document.attachments for p in plain)
    assert no_attachment / N == pytest.approx(0.20, abs=0.015)
    multi = sum(len(p.document.recipients) > 1 for p in plain)
    assert 0.1 < multi / N < 0.4


def test_classified_documents_are_withheld_at_the_source_and_counted(
    plain: list[Planned],
) -> None:
    classified = [p for p in plain if p.document.secrecy.classified]
    assert classified
    for p in classified:
        assert p.fault is None
        assert p.withheld
        assert {e.reason for e in p.expected} == {ReasonCode.CLASSIFIED}
    tally = Tally.of(plain)
    assert sum(tally.withheld.values()) == len(classified)
    assert tally.documents == len(plain)
    addressed = sum(len(p.expected) for p in plain if not p.withheld)
    assert tally.recipients == addressed
    assert tally.to_dict()["withheld_classified"] == len(classified)
    assert "CLASSIFIED" not in tally.outcome  # no classified outcome among what is sent


def test_not_connected_outcome_follows_the_directory(tiny: Directory, plain: list[Planned]) -> None:
    for p in plain:
        assert tiny.is_connected(p.sender)
        if p.document.secrecy.classified:
            continue
        for e in p.expected:
            assert (e.reason is None) == tiny.is_connected(e.recipient)
            assert e.reason in (None, ReasonCode.NOT_CONNECTED)


def test_ids_are_valid_and_unique(tiny: Directory, faulty: list[Planned]) -> None:
    ids = Counter(p.document.id for p in faulty if p.fault is not Fault.REPLAY)
    assert max(ids.values()) == 1
    for p in faulty:
        doc = p.document
        assert is_valid_id(doc.sender.id)
        assert all(is_valid_id(r.id) for r in doc.recipients)
        assert doc.id == codec.make_document_id(
            doc.sender.id, doc.promulgation_date, doc.code_number, doc.code_notation
        )


def test_fault_rates_and_their_shape(tiny: Directory, faulty: list[Planned]) -> None:
    counts = Counter(p.fault for p in faulty)
    for fault in Fault:
        assert counts[fault] / N == pytest.approx(0.02, abs=0.006), fault
    by_seq = {p.seq: p for p in faulty}
    for p in faulty:
        if p.fault is None:
            continue
        # only a deliberate leak is classified (and it is never withheld: it is sent)
        assert p.document.secrecy.classified == (p.fault is Fault.CLASSIFIED_LEAK)
        assert not p.withheld
        assert {e.reason for e in p.expected} == {EXPECTED_REASON[p.fault]}
        unknown_recipients = [r for r in p.document.recipients if r.id not in tiny]
        assert len(unknown_recipients) == (p.fault is Fault.UNKNOWN_RECIPIENT)
        assert (p.sender in tiny) == (p.fault is not Fault.UNKNOWN_SENDER)
        assert p.signer in tiny
        assert (p.signer != p.sender) == (p.fault in (Fault.SENDER_MISMATCH, Fault.UNKNOWN_SENDER))
        if p.fault is Fault.REPLAY:
            assert p.replay_of is not None
            assert p.replay_of < p.seq
            original = by_seq[p.replay_of]
            assert original.fault is None
            assert original.document == p.document
            assert original.signer == p.signer


def test_replies_reference_earlier_documents(tiny: Directory) -> None:
    stream = list(generate(tiny, WorkloadSpec(rate=100, count=5000), seed=4))
    earlier: dict[str, Planned] = {}
    replies = 0
    for p in stream:
        ref = p.document.response_for
        if ref is not None:
            replies += 1
            original = earlier[ref]
            assert p.document.recipients[0].id == original.sender
            assert p.sender in {e.recipient for e in original.expected if e.reason is None}
        earlier[p.document.id] = p
    assert replies / len(stream) == pytest.approx(0.10, abs=0.02)


def test_downtime_keeps_an_agency_from_sending() -> None:
    scenario = Scenario(downtime=(Downtime("000.00.00.G05", 0.0, 1000.0),))
    d = build_directory("tiny", scenario)
    stream = generate(d, WorkloadSpec(rate=100, count=3000, reply_share=0.0), seed=2)
    assert all(p.sender != "000.00.00.G05" for p in stream)


def test_two_level_directory_has_no_district_traffic() -> None:
    d = build_directory("two-level-2025")
    stream = list(generate(d, WorkloadSpec(rate=100, count=2000), seed=3))
    assert all(
        tier_ is not Tier.DISTRICT
        for p in stream
        for tier_ in (p.sender_tier, *(e.tier for e in p.expected))
    )


def test_shards_partition_the_stream_by_sender(tiny: Directory) -> None:
    spec = WorkloadSpec(rate=100, count=3000, faults=DEFAULT_FAULTS)
    whole = list(generate(tiny, spec, seed=9))
    parts = [list(for_shard(generate(tiny, spec, seed=9), i, 3)) for i in range(3)]
    assert sorted(p.seq for part in parts for p in part) == [p.seq for p in whole]
    for i, part in enumerate(parts):
        assert all(shard_of(p.key, 3) == i for p in part)


def test_tally_counts_add_up(faulty: list[Planned]) -> None:
    tally = Tally.of(faulty)
    data = tally.to_dict()
    assert data["documents"] == N
    assert sum(data["by_sender_tier"].values()) == N
    assert sum(data["by_fault"].values()) == N
    assert sum(data["expected_outcome"].values()) == data["recipients"]
    assert (
        sum(sum(c.values()) for c in data["expected_outcome_by_recipient_tier"].values())
        == (data["recipients"])
    )
    assert data["expected_outcome"][DELIVERED] > 0


def test_parse_faults() -> None:
    assert parse_faults("none") == {}
    assert parse_faults("default") == dict(DEFAULT_FAULTS)
    assert parse_faults("tampered_content=0.01, replay=0.005") == {
        Fault.TAMPERED_CONTENT: 0.01,
        Fault.REPLAY: 0.005,
    }
    assert parse_faults("default,replay=0.05")[Fault.REPLAY] == 0.05
    for bad in ("tampered=0.1", "replay", "replay=x", "replay=2", "malformed=0.3,replay=0.3"):
        with pytest.raises(ConfigError):
            parse_faults(bad)


def test_spec_validation() -> None:
    with pytest.raises(ConfigError, match="count or a duration"):
        WorkloadSpec(rate=1)
    with pytest.raises(ConfigError, match="rate"):
        WorkloadSpec(rate=0, count=1)
    with pytest.raises(ConfigError, match="priority_mix"):
        WorkloadSpec(rate=1, count=1, priority_mix={})
    flows = WorkloadSpec(rate=1, count=1).to_dict()["flows"]
    assert flows["province->district"] == 0.084
    assert flows["province-unit->province-unit"] == 0.05
    assert flows["province-unit->commune"] == 0.03
    assert sum(flows.values()) == pytest.approx(1.0)
    # a tier names its bodies
    tiers = {(Tier.PROVINCE, Tier.DISTRICT): 1.0}  # as an older caller or manifest names them
    spec = WorkloadSpec(rate=1, count=1, flows=tiers)  # type: ignore[arg-type]
    assert dict(spec.flows) == {(Role.PROVINCE, Role.DISTRICT): 1.0}


def test_revokes_updates_and_replaces_name_earlier_delivered_documents_of_their_sender(
    tiny: Directory,
) -> None:
    """Business types 1-3 carry a target the router will have delivered from the same
    sender (else it rejects them UNKNOWN_TARGET), at about the mix's rates."""
    stream = list(generate(tiny, WorkloadSpec(rate=100, count=5000), seed=4))
    assert stream == list(generate(tiny, WorkloadSpec(rate=100, count=5000), seed=4))
    earlier: dict[str, Planned] = {}
    kinds: Counter[BusinessType] = Counter()
    for p in stream:
        doc = p.document
        if doc.business is not None:
            kinds[doc.business_type] += 1
            target = earlier[doc.business.target]
            assert target.sender == p.sender
            assert target.fault is None
            assert any(e.reason is None for e in target.expected)
            assert doc.recipients == target.document.recipients
            if doc.business_type is BusinessType.REPLACE:
                assert doc.business.replacement is not None
                assert earlier[doc.business.replacement].sender == p.sender
            else:
                assert doc.business.replacement is None
        else:
            assert doc.business_type is BusinessType.NEW or p.fault is not None
        earlier.setdefault(doc.id, p)  # a replay keeps its original here
    total = len(stream)
    assert kinds[BusinessType.UPDATE] / total == pytest.approx(0.03, abs=0.012)
    assert kinds[BusinessType.REPLACE] / total == pytest.approx(0.02, abs=0.01)
    assert kinds[BusinessType.REVOKE] / total == pytest.approx(0.01, abs=0.006)


def test_every_document_carries_the_full_edxml_header(
    faulty: list[Planned], tiny: Directory
) -> None:
    """Schema v6: the generated header is filled from the directory, replies name what they
    answer in ResponseFor, and the whole document round-trips through the strict codec."""
    from interchange.wire.model import DOCUMENT_KINDS, OtherInfo
    from interchange.workload import header

    replies = 0
    for p in faulty[:3000]:
        doc = p.document
        assert doc.document_kind == DOCUMENT_KINDS[doc.document_type]
        assert doc.to_places[0] == header.AS_ABOVE
        assert doc.to_places[-1].startswith(header.ARCHIVE_COPY)
        assert doc.other_info != OtherInfo()
        assert doc.other_info.promulgation_amount == len(doc.recipients) + 2
        assert doc.other_info.page_amount >= 1
        for ref in (doc.sender, *doc.recipients):
            if ref.id not in tiny:  # a fault's unknown agency states nothing
                assert not ref.detail.stated
                continue
            agency = tiny.get(ref.id)
            in_charge = (
                tiny.get(agency.parent).name if agency.parent is not None else header.GOVERNMENT
            )
            assert ref.detail.organization_in_charge == in_charge
            assert ref.detail.email == f"vanthu@{header.mail_label(ref.id)}.gov.vn"
            assert ref.detail.address
            assert ref.detail.telephone.startswith("02")
        for i, a in enumerate(doc.attachments, start=1):
            assert a.content_id == f"{doc.code_number}-{i}"
            assert a.description
        if doc.response_for is None:
            assert doc.response_for_list == ()
        else:
            replies += 1
            (answered,) = doc.response_for_list
            assert answered.document_id == doc.response_for
            assert doc.response_for.startswith(answered.organ_id + ",")
            assert doc.response_for.endswith("," + answered.code)
            assert answered.promulgation_date.replace("-", "/") in doc.response_for
        assert codec.decode_document(codec.encode_document(doc)) == doc
    assert replies > 0


def test_mail_labels_put_the_province_first() -> None:
    from interchange.workload.header import mail_label

    assert mail_label("000.00.00.H29") == "h29"
    assert mail_label("000.00.05.H29") == "h29-05"
    assert mail_label("000.12.05.H29") == "h29-05-12"
    assert mail_label("000.00.00.G22") == "g22"
