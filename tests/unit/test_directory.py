from __future__ import annotations

import json
from pathlib import Path

import pytest

from interchange.core.directory import (
    ID_PATTERN,
    Directory,
    Downtime,
    attributed_tier,
    build_directory,
    commune_id,
    district_id,
    is_valid_id,
    tier_of_id,
)
from interchange.core.model import Agency, Tier
from interchange.core.presets import Preset, RandomDowntime, Scenario
from interchange.errors import DirectoryError


@pytest.fixture(scope="module")
def national() -> Directory:
    return build_directory("national")


def test_national_counts_have_the_real_shape(national: Directory) -> None:
    counts = national.counts()
    assert counts[Tier.CENTRAL][0] == 30
    assert counts[Tier.PROVINCE][0] == 63
    assert 680 <= counts[Tier.DISTRICT][0] <= 720
    assert 10_400 <= counts[Tier.COMMUNE][0] <= 10_800


def test_national_communes_are_spread_unevenly(national: Directory) -> None:
    per_province = [
        len(national.descendants(p.id, Tier.COMMUNE)) for p in national.of_tier(Tier.PROVINCE)
    ]
    assert max(per_province) > 5 * min(per_province)
    per_district = [len(national.children(d.id)) for d in national.of_tier(Tier.DISTRICT)]
    assert min(per_district) >= 1
    assert max(per_district) > 2 * (sum(per_district) / len(per_district))


def test_every_id_is_valid_and_matches_its_tier(national: Directory) -> None:
    for agency in national:
        assert ID_PATTERN.match(agency.id)
        assert tier_of_id(agency.id) is agency.tier
        assert agency.name.startswith(("Bộ ", "Ủy ban", "Văn phòng", "Ngân hàng")) or agency.name


def test_default_scenario_connects_the_documented_shares(national: Directory) -> None:
    counts = national.counts()
    for tier, share in (
        (Tier.CENTRAL, 1.0),
        (Tier.PROVINCE, 1.0),
        (Tier.DISTRICT, 0.9),
        (Tier.COMMUNE, 0.7),
    ):
        total, connected = counts[tier]
        assert connected == round(share * total)


def test_parents_and_children_are_consistent(national: Directory) -> None:
    for agency in national:
        if agency.parent is not None:
            assert agency in national.children(agency.parent)
    hg = national.get("000.00.00.H60")
    assert "Hậu Giang" in hg.name


@pytest.mark.parametrize(
    ("preset", "expected"),
    [
        ("province", {Tier.CENTRAL: 8, Tier.PROVINCE: 1, Tier.DISTRICT: 8, Tier.COMMUNE: 75}),
        ("tiny", {Tier.CENTRAL: 3, Tier.PROVINCE: 2, Tier.DISTRICT: 4, Tier.COMMUNE: 8}),
        (
            "two-level-2025",
            {Tier.CENTRAL: 30, Tier.PROVINCE: 34, Tier.DISTRICT: 0, Tier.COMMUNE: 3321},
        ),
    ],
)
def test_preset_counts(preset: str, expected: dict[Tier, int]) -> None:
    d = build_directory(preset)
    assert {t: n for t, (n, _) in d.counts().items()} == expected


def test_two_level_communes_hang_under_provinces() -> None:
    d = build_directory(Preset.TWO_LEVEL_2025)
    assert d.tiers == (Tier.CENTRAL, Tier.PROVINCE, Tier.COMMUNE)
    for commune in d.of_tier(Tier.COMMUNE):
        assert d.tier_of(commune.parent or "") is Tier.PROVINCE


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
    data["agencies"][0]["connected"] = False
    data["agencies"][0]["name"] = "Bộ Tài chính (sửa)"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    edited = Directory.load(path)
    assert not edited.is_connected("000.00.00.G05")
    assert edited.get("000.00.00.G05").name == "Bộ Tài chính (sửa)"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["agencies"].append(dict(d["agencies"][0])), "duplicate"),
        (lambda d: d["agencies"][0].update(id="00.00.00.G05"), "shape"),
        (lambda d: d["agencies"][4].update(parent="000.00.00.H09"), "not in the directory"),
        (lambda d: d["agencies"][5].update(parent="000.00.00.H01"), "expected a district"),
        (lambda d: d["agencies"][4].update(tier="commune"), "listed as commune"),
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
    assert tier_of_id("000.00.00.H60") is Tier.PROVINCE
    assert tier_of_id("000.00.03.H60") is Tier.DISTRICT
    assert tier_of_id("000.12.03.H60") is Tier.COMMUNE
    for bad in (
        "000.01.00.H60",
        "000.00.01.G22",
        "001.00.00.G22",
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
