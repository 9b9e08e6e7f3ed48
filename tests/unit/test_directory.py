from __future__ import annotations

import json
from pathlib import Path

import pytest

from interchange.axis import gazetteer as gz
from interchange.axis.directory import (
    ID_PATTERN,
    AgencyKind,
    Directory,
    Downtime,
    attributed_tier,
    body_of_id,
    commune_id,
    district_id,
    is_valid_id,
    kind_of_id,
    tier_of_id,
    unit_id,
)
from interchange.axis.presets import PRESET_DATES, Preset, RandomDowntime, Scenario, build_directory
from interchange.errors import DirectoryError
from interchange.wire.model import Agency, Tier


@pytest.fixture(scope="module")
def national() -> Directory:
    return build_directory("national")


def bodies(d: Directory) -> dict[Tier, int]:
    return {t: len(d.bodies(t)) for t in Tier}


def test_national_counts_are_those_of_early_2025(national: Directory) -> None:
    assert bodies(national) == {
        Tier.CENTRAL: 30, Tier.PROVINCE: 63, Tier.DISTRICT: 696, Tier.COMMUNE: 10_035
    }  # fmt: skip
    assert national.as_of == "2025-01-01"
    hoa_binh = national.get("000.00.00.H28")
    assert "Hòa Bình" in hoa_binh.name
    assert len(national.descendants(hoa_binh.id, Tier.DISTRICT)) == 10
    assert len(national.descendants(hoa_binh.id, Tier.COMMUNE)) == 151


def test_every_body_has_its_departments_and_public_service_units(national: Directory) -> None:
    """Under each body: departments and offices (001-099), public-service units (100-999),
    numbered under it, of its tier; a public-service unit may hang under a department."""
    per_body = {Tier.CENTRAL: (4, 1), Tier.PROVINCE: (19, 3), Tier.DISTRICT: (11, 1)}
    for tier, (departments, services) in per_body.items():
        for body in national.bodies(tier):
            units = national.units_of(body.id)
            kinds = [kind_of_id(u.id) for u in units]
            if tier is Tier.CENTRAL:  # G19, G22 have no unit named like themselves
                assert kinds.count(AgencyKind.DEPARTMENT) in (departments - 1, departments)
            else:
                assert kinds.count(AgencyKind.DEPARTMENT) == departments, body
            assert kinds.count(AgencyKind.PUBLIC_SERVICE) == services, body
            for u in units:
                assert u.tier is tier
                assert body_of_id(u.id) == body.id
                assert national.body_of(u.id) == body
    for commune in national.bodies(Tier.COMMUNE):
        assert [u.name.split(" xã ")[0].split(" phường ")[0].split(" thị trấn ")[0]
                for u in national.units_of(commune.id)] == ["Trạm Y tế"]  # fmt: skip
    hospital = national.get("103.00.00.H30")
    assert hospital.name == "Bệnh viện Đa khoa tỉnh Hậu Giang"
    assert hospital.parent == "016.00.00.H30"
    assert "016.00.00.H30" in national
    assert national.get("016.00.00.H30").name == "Sở Y tế tỉnh Hậu Giang"
    assert national.get("002.00.00.G05").name == "Vụ Pháp chế Bộ Tài chính"


def test_national_communes_are_spread_unevenly(national: Directory) -> None:
    per_province = [
        len(national.descendants(p.id, Tier.COMMUNE)) for p in national.of_tier(Tier.PROVINCE)
    ]
    assert max(per_province) > 5 * min(per_province)
    per_district = [
        len([c for c in national.children(d.id) if c.tier is Tier.COMMUNE])
        for d in national.bodies(Tier.DISTRICT)
    ]
    assert min(per_district) >= 1
    assert max(per_district) > 2 * (sum(per_district) / len(per_district))


def test_every_id_is_valid_and_matches_its_tier(national: Directory) -> None:
    for agency in national:
        assert ID_PATTERN.match(agency.id)
        assert tier_of_id(agency.id) is agency.tier
        assert agency.name.startswith(("Bộ ", "Ủy ban", "Văn phòng", "Ngân hàng")) or agency.name


def test_default_scenario_connects_the_documented_shares(national: Directory) -> None:
    for tier, share in (
        (Tier.CENTRAL, 1.0),
        (Tier.PROVINCE, 1.0),
        (Tier.DISTRICT, 0.9),
        (Tier.COMMUNE, 0.7),
    ):
        for group in (national.bodies(tier), national.units(tier)):
            assert sum(a.connected for a in group) == round(share * len(group))


def test_parents_and_children_are_consistent(national: Directory) -> None:
    for agency in national:
        if agency.parent is not None:
            assert agency in national.children(agency.parent)
    hg = national.get("000.00.00.H30")
    assert "Hậu Giang" in hg.name


@pytest.mark.parametrize(
    ("preset", "expected"),
    [
        ("province", {Tier.CENTRAL: 8, Tier.PROVINCE: 1, Tier.DISTRICT: 8, Tier.COMMUNE: 75}),
        ("tiny", {Tier.CENTRAL: 3, Tier.PROVINCE: 2, Tier.DISTRICT: 4, Tier.COMMUNE: 8}),
        (
            "two-level-2025",
            {Tier.CENTRAL: 22, Tier.PROVINCE: 34, Tier.DISTRICT: 0, Tier.COMMUNE: 3321},
        ),
    ],
)
def test_preset_counts(preset: str, expected: dict[Tier, int]) -> None:
    d = build_directory(preset)
    assert bodies(d) == expected
    assert d.as_of == PRESET_DATES[Preset(preset)] != ""
    assert all(d.units(t) for t in Tier if expected[t])  # every tier present has units


@pytest.fixture(scope="module")
def every_preset() -> dict[str, Directory]:
    return {p.value: build_directory(p) for p in Preset}


def test_one_id_means_one_agency_in_every_preset(every_preset: dict[str, Directory]) -> None:
    """An id that two presets hold names the same agency (name, tier, parent) in both."""
    seen: dict[str, tuple[str, Agency]] = {}
    shared = 0
    for preset, d in every_preset.items():
        for a in d:
            first = seen.setdefault(a.id, (preset, a))
            if first[0] != preset:
                shared += 1
                assert (a.name, a.tier, a.parent) == (
                    first[1].name, first[1].tier, first[1].parent
                ), f"{a.id} in {first[0]} and {preset}"  # fmt: skip
    assert shared > 1000  # the four-tier presets are parts of `national`, 2025 shares bodies


def test_level_1_codes_seen_in_public_documents(every_preset: dict[str, Directory]) -> None:
    for d in every_preset.values():
        for code, name in (
            ("000.00.00.G22", "Văn phòng Chính phủ"),
            ("000.00.00.H14", "Cao Bằng"),
            ("000.00.00.H29", "Hồ Chí Minh"),
            ("000.00.00.H30", "Hậu Giang"),
            ("000.00.00.H41", "Nghệ An"),
        ):
            if code in d:
                assert d.get(code).name.endswith(name), (d.preset, code)
    two = every_preset["two-level-2025"]
    assert {"000.00.00.G22", "000.00.00.H14", "000.00.00.H29", "000.00.00.H41"} <= set(two.by_id)
    assert "000.00.00.H30" not in two  # Hậu Giang merged into Cần Thơ


def test_two_level_2025_counts(every_preset: dict[str, Directory]) -> None:
    d = every_preset["two-level-2025"]
    assert d.tiers == (Tier.CENTRAL, Tier.PROVINCE, Tier.COMMUNE)
    assert d.as_of == "2025-07-01"
    names = {a.id: a.name for a in d.bodies(Tier.CENTRAL)}
    ministries = [n for n in names.values() if n.startswith("Bộ ")]
    assert len(ministries) == 14
    assert {"Bộ Nông nghiệp và Môi trường", "Bộ Dân tộc và Tôn giáo"} <= set(ministries)
    assert {"Thanh tra Chính phủ", "Ngân hàng Nhà nước Việt Nam", "Văn phòng Chính phủ"} <= set(
        names.values()
    )
    assert "Bộ Kế hoạch và Đầu tư" not in names.values()
    kinds: dict[str, int] = {}
    for commune in d.bodies(Tier.COMMUNE):
        kind = commune.name.removeprefix("Ủy ban nhân dân ").split(" ")[0]
        kinds[kind] = kinds.get(kind, 0) + 1
        assert d.tier_of(commune.parent or "") is Tier.PROVINCE
    assert kinds == {"xã": 2621, "phường": 687, "đặc": 13}
    per_province = {p.name: len(d.descendants(p.id, Tier.COMMUNE)) for p in d.bodies(Tier.PROVINCE)}
    assert per_province["Ủy ban nhân dân thành phố Hà Nội"] == 126
    assert per_province["Ủy ban nhân dân thành phố Hồ Chí Minh"] == 168
    assert per_province["Ủy ban nhân dân tỉnh Lai Châu"] == 38
    assert d.get("000.00.00.H29").name == "Ủy ban nhân dân thành phố Hồ Chí Minh"
    zone = next(a for a in d.bodies(Tier.COMMUNE) if a.name.endswith("đặc khu Côn Đảo"))
    assert zone.parent == "000.00.00.H29"
    units = [u.name for u in d.units_of(d.get("000.00.00.H29").id)]
    assert "Sở Nông nghiệp và Môi trường thành phố Hồ Chí Minh" in units
    assert not any("Kế hoạch và Đầu tư" in u for u in units)


def test_the_province_is_hau_giang_of_national(every_preset: dict[str, Directory]) -> None:
    national, province = every_preset["national"], every_preset["province"]
    hg = set(national.by_id) - {a.id for a in national if not a.id.endswith(".H30")}
    assert {a.id for a in province if a.id.endswith(".H30")} == hg
    kinds: dict[str, int] = {}
    for commune in province.bodies(Tier.COMMUNE):
        kind = commune.name.removeprefix("Ủy ban nhân dân ").rsplit(" ", 2)[0]
        kinds[kind] = kinds.get(kind, 0) + 1
    assert kinds == {"phường": 13, "thị trấn": 11, "xã": 51}  # early 2025
    assert [a.name for a in province.bodies(Tier.DISTRICT)] == [
        f"Ủy ban nhân dân {d[0].lower()}{d[1:]}" for d in gz.HAU_GIANG_DISTRICTS
    ]


def test_build_is_deterministic_and_seed_changes_connection() -> None:
    assert build_directory("province") == build_directory("province")
    other = build_directory("province", Scenario(seed=99))
    assert other != build_directory("province")
    assert other.counts() == build_directory("province").counts()


def test_scenario_overrides_and_downtime() -> None:
    scenario = Scenario(
        connected_share={Tier.COMMUNE: 0.0},
        connected=(commune_id(1, 1, 1),),
        disconnected=(district_id(2, 1),),
        downtime=(Downtime("000.00.00.G22", 10.0, 5.0),),
    )
    d = build_directory("tiny", scenario)
    assert [a.id for a in d.of_tier(Tier.COMMUNE) if a.connected] == [commune_id(1, 1, 1)]
    assert not d.is_connected(district_id(2, 1))
    assert not d.is_connected("000.00.00.G99")
    assert d.is_down("000.00.00.G22", 12.0)
    assert not d.is_down("000.00.00.G22", 15.0)


def test_random_downtime_is_deterministic() -> None:
    scenario = Scenario(random_downtime=(RandomDowntime(Tier.COMMUNE, 0.5, 100.0, 10.0),))
    a = build_directory("province", scenario)
    assert a.downtime == build_directory("province", scenario).downtime
    assert len(a.downtime) == round(0.5 * a.counts()[Tier.COMMUNE][1])
    assert all(0 <= w.start_s <= 90 and w.duration_s == 10 for w in a.downtime)


def test_scenario_file_round_trip(tmp_path: Path) -> None:
    scenario = Scenario(
        connected_share={Tier.DISTRICT: 0.5}, seed=3, downtime=(Downtime("000.00.00.H01", 1, 2),)
    )
    path = tmp_path / "s.json"
    path.write_text(json.dumps(scenario.to_dict()))
    assert Scenario.load(path) == scenario
    path.write_text(json.dumps({"connected_shares": {}}))
    with pytest.raises(DirectoryError, match="connected_shares"):
        Scenario.load(path)
    with pytest.raises(DirectoryError, match=r"\[0, 1\]"):
        Scenario(connected_share={Tier.COMMUNE: 1.5})


def test_save_load_round_trip_and_user_edit(tmp_path: Path) -> None:
    d = build_directory("tiny", Scenario(downtime=(Downtime("000.00.00.G05", 0, 1),)))
    path = tmp_path / "dir.json"
    d.save(path)
    assert Directory.load(path) == d
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["as_of"] == "2025-01-01"
    data["agencies"][0]["connected"] = False
    data["agencies"][0]["name"] = "Bộ Tài chính (sửa)"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    edited = Directory.load(path)
    assert not edited.is_connected("000.00.00.G05")
    assert edited.get("000.00.00.G05").name == "Bộ Tài chính (sửa)"


def _entry(data: dict[str, object], agency_id: str) -> dict[str, object]:
    agencies = data["agencies"]
    assert isinstance(agencies, list)
    return next(a for a in agencies if a["id"] == agency_id)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["agencies"].append(dict(d["agencies"][0])), "duplicate"),
        (lambda d: d["agencies"][0].update(id="00.00.00.G05"), "shape"),
        (lambda d: _entry(d, "000.00.01.H01").update(parent="000.00.00.H09"), "not in the"),
        (
            lambda d: _entry(d, "000.01.01.H01").update(parent="000.00.00.H01"),
            "expected a district",
        ),
        (lambda d: _entry(d, "000.00.01.H01").update(tier="commune"), "listed as commune"),
        (  # a department hangs under its own body, not under another body
            lambda d: _entry(d, "016.00.00.H01").update(parent="000.00.00.H02"),
            "not numbered under its parent",
        ),
        (  # nor under another department
            lambda d: _entry(d, "016.00.00.H01").update(parent="001.00.00.H01"),
            "not numbered under its parent",
        ),
        (lambda d: _entry(d, "016.00.00.H01").update(parent=None), "not in the directory"),
        (  # a unit whose body is missing
            lambda d: d["agencies"].append(
                {
                    "id": "016.00.00.H05",
                    "name": "Sở Y tế",
                    "tier": "province",
                    "parent": "000.00.00.H01",
                }
            ),
            "its body 000.00.00.H05 is not in the directory",
        ),
        (lambda d: d["agencies"][0].update(connected="yes"), "connected"),
        (lambda d: d["agencies"][0].update(extra=1), "unknown key"),
        (lambda d: d.update(format="other"), "format"),
        (
            lambda d: d["downtime"].append(
                {"agency": "000.00.00.G77", "start_s": 0, "duration_s": 1}
            ),
            "unknown agency",
        ),
    ],
)
def test_load_rejects_bad_files(tmp_path: Path, mutate: object, message: str) -> None:
    data = build_directory("tiny").to_dict()
    mutate(data)  # type: ignore[operator]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(DirectoryError, match=message):
        Directory.load(path)


def test_load_rejects_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text("{not json")
    with pytest.raises(DirectoryError, match="cannot read"):
        Directory.load(path)


def test_id_scheme() -> None:
    assert tier_of_id("000.00.00.G22") is Tier.CENTRAL
    assert tier_of_id("000.00.00.H30") is Tier.PROVINCE
    assert tier_of_id("000.00.03.H30") is Tier.DISTRICT
    assert tier_of_id("000.12.03.H30") is Tier.COMMUNE
    # a unit has the tier of its body; its kind is in the unit block
    assert tier_of_id("001.00.00.G22") is Tier.CENTRAL
    assert tier_of_id("016.00.00.H30") is Tier.PROVINCE
    assert tier_of_id("009.00.03.H30") is Tier.DISTRICT
    assert tier_of_id("101.12.03.H30") is Tier.COMMUNE
    assert attributed_tier({}, "016.00.00.H30") is Tier.PROVINCE
    assert kind_of_id("000.00.00.H30") is AgencyKind.BODY
    assert kind_of_id("099.00.00.H30") is AgencyKind.DEPARTMENT
    assert kind_of_id("100.00.00.H30") is AgencyKind.PUBLIC_SERVICE
    assert body_of_id("101.12.03.H30") == "000.12.03.H30"
    assert unit_id("000.12.03.H30", 7) == "007.12.03.H30"
    with pytest.raises(DirectoryError):
        unit_id("001.12.03.H30", 7)
    with pytest.raises(DirectoryError):
        unit_id("000.12.03.H30", 1000)
    for bad in (
        "000.01.00.H60",
        "000.00.01.G22",
        "001.00.01.G22",
        "000.00.00.H00",
        "000.00.00.X01",
        "0.00.00.H01",
        "000.00.00.H1",
    ):
        assert not is_valid_id(bad), bad
    with pytest.raises(DirectoryError):
        commune_id(1, 1, 100)


def test_an_id_whose_letter_is_neither_g_nor_h_has_no_tier() -> None:
    for letter in "AKXZ":
        agency_id = f"000.00.00.{letter}01"
        assert not is_valid_id(agency_id)
        with pytest.raises(DirectoryError, match=f"letter {letter} is neither G"):
            tier_of_id(agency_id)
        assert attributed_tier({}, agency_id) is None
    with pytest.raises(DirectoryError, match="neither G"):
        Directory((Agency("000.00.00.K01", "Khác", Tier.CENTRAL, None),))


def test_unknown_preset() -> None:
    with pytest.raises(DirectoryError, match="unknown preset"):
        build_directory("galaxy")


def test_directory_rejects_commune_not_numbered_under_its_district() -> None:
    agencies = (
        Agency("000.00.00.H01", "P", Tier.PROVINCE, None),
        Agency("000.00.01.H01", "D1", Tier.DISTRICT, "000.00.00.H01"),
        Agency("000.00.02.H01", "D2", Tier.DISTRICT, "000.00.00.H01"),
        Agency("000.01.02.H01", "C", Tier.COMMUNE, "000.00.01.H01"),
    )
    with pytest.raises(DirectoryError, match="numbered under"):
        Directory(agencies)
