"""Static facts the directory presets are built from: bodies, provinces, units, counts.

Which figures are public and which are the simulator's own is said next to each
table and in docs/WORKLOAD.md ("Presets", "Level-1 codes", "Units"). Only the
Government Office's `G22` and the province codes H14, H29, H30 and H41 are codes
seen in public documents; every other code is invented in the regulated shape.
"""

from __future__ import annotations

from typing import NamedTuple

# (code number, name, abbreviation used in document notations)
CENTRAL_BODIES: tuple[tuple[int, str, str], ...] = (
    (1, "Bộ Quốc phòng", "BQP"),
    (2, "Bộ Công an", "BCA"),
    (3, "Bộ Ngoại giao", "BNG"),
    (4, "Bộ Tư pháp", "BTP"),
    (5, "Bộ Tài chính", "BTC"),
    (6, "Bộ Công Thương", "BCT"),
    (7, "Bộ Lao động - Thương binh và Xã hội", "BLĐTBXH"),
    (8, "Bộ Giao thông vận tải", "BGTVT"),
    (9, "Bộ Xây dựng", "BXD"),
    (10, "Bộ Thông tin và Truyền thông", "BTTTT"),
    (11, "Bộ Giáo dục và Đào tạo", "BGDĐT"),
    (12, "Bộ Nông nghiệp và Phát triển nông thôn", "BNNPTNT"),
    (13, "Bộ Kế hoạch và Đầu tư", "BKHĐT"),
    (14, "Bộ Nội vụ", "BNV"),
    (15, "Bộ Y tế", "BYT"),
    (16, "Bộ Khoa học và Công nghệ", "BKHCN"),
    (17, "Bộ Văn hóa, Thể thao và Du lịch", "BVHTTDL"),
    (18, "Bộ Tài nguyên và Môi trường", "BTNMT"),
    (19, "Thanh tra Chính phủ", "TTCP"),
    (20, "Ngân hàng Nhà nước Việt Nam", "NHNN"),
    (21, "Ủy ban Dân tộc", "UBDT"),
    (22, "Văn phòng Chính phủ", "VPCP"),
    (23, "Đài Truyền hình Việt Nam", "THVN"),
    (24, "Đài Tiếng nói Việt Nam", "VOV"),
    (25, "Thông tấn xã Việt Nam", "TTXVN"),
    (26, "Học viện Chính trị quốc gia Hồ Chí Minh", "HVCTQG"),
    (27, "Viện Hàn lâm Khoa học và Công nghệ Việt Nam", "VHLKHCN"),
    (28, "Viện Hàn lâm Khoa học xã hội Việt Nam", "VHLKHXH"),
    (29, "Bảo hiểm xã hội Việt Nam", "BHXH"),
    (30, "Ủy ban Quản lý vốn nhà nước tại doanh nghiệp", "UBQLV"),
    # created by the 2025 reform (Resolution 176/2025/QH15): new names, so new codes
    (31, "Bộ Nông nghiệp và Môi trường", "BNNMT"),
    (32, "Bộ Dân tộc và Tôn giáo", "BDTTG"),
)
CENTRAL_EARLY_2025: tuple[int, ...] = tuple(range(1, 31))  # the 30 bodies of early 2025
# After the 2025 reform: 14 ministries, 3 ministerial-level agencies (Government
# Inspectorate, State Bank, Government Office) and, of the government agencies, the
# five this preset models (broadcasters, news agency, two academies). A ministry that
# kept its name after absorbing another (Tài chính, Nội vụ, Xây dựng, Khoa học và Công
# nghệ) keeps its code: one code, one agency.
MINISTRIES_2025: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 9, 11, 14, 15, 16, 17, 31, 32)
MINISTERIAL_2025: tuple[int, ...] = (19, 20, 22)
GOVERNMENT_AGENCIES_2025: tuple[int, ...] = (23, 24, 25, 27, 28)
CENTRAL_2025: tuple[int, ...] = MINISTRIES_2025 + MINISTERIAL_2025 + GOVERNMENT_AGENCIES_2025

# The central bodies a single province mostly corresponds with (`province` preset).
PROVINCE_PARTNERS: tuple[int, ...] = (5, 10, 11, 13, 14, 15, 18, 22)

# (level-1 code number, name, is a centrally-run city, districts, communes): the 63
# provinces of early 2025, by code. H14 Cao Bằng, H29 Hồ Chí Minh, H30 Hậu Giang and
# H41 Nghệ An are the codes seen in public documents (docs/WORKLOAD.md, "Level-1
# codes"); the others follow the order those codes suggest (names sorted without
# diacritics, Thừa Thiên Huế under T, Hậu Giang and Hòa Bình swapped) and are
# invented. The district and commune figures are the older per-province counts: the
# `national` preset uses them as weights only (see NATIONAL_EARLY_2025).
PROVINCES: tuple[tuple[int, str, bool, int, int], ...] = (
    (1, "An Giang", False, 11, 156),
    (2, "Bà Rịa - Vũng Tàu", False, 8, 82),
    (3, "Bắc Giang", False, 10, 209),
    (4, "Bắc Kạn", False, 8, 108),
    (5, "Bạc Liêu", False, 7, 64),
    (6, "Bắc Ninh", False, 8, 126),
    (7, "Bến Tre", False, 9, 157),
    (8, "Bình Định", False, 11, 155),
    (9, "Bình Dương", False, 9, 91),
    (10, "Bình Phước", False, 11, 111),
    (11, "Bình Thuận", False, 10, 124),
    (12, "Cà Mau", False, 9, 100),
    (13, "Cần Thơ", True, 9, 83),
    (14, "Cao Bằng", False, 10, 161),
    (15, "Đà Nẵng", True, 8, 56),
    (16, "Đắk Lắk", False, 15, 184),
    (17, "Đắk Nông", False, 8, 71),
    (18, "Điện Biên", False, 10, 129),
    (19, "Đồng Nai", False, 11, 170),
    (20, "Đồng Tháp", False, 12, 143),
    (21, "Gia Lai", False, 17, 220),
    (22, "Hà Giang", False, 11, 195),
    (23, "Hà Nam", False, 6, 109),
    (24, "Hà Nội", True, 30, 579),
    (25, "Hà Tĩnh", False, 13, 216),
    (26, "Hải Dương", False, 12, 235),
    (27, "Hải Phòng", True, 15, 223),
    (28, "Hòa Bình", False, 10, 151),
    (29, "Hồ Chí Minh", True, 22, 312),
    (30, "Hậu Giang", False, 8, 75),
    (31, "Hưng Yên", False, 10, 161),
    (32, "Khánh Hòa", False, 9, 139),
    (33, "Kiên Giang", False, 15, 144),
    (34, "Kon Tum", False, 10, 102),
    (35, "Lai Châu", False, 8, 106),
    (36, "Lâm Đồng", False, 12, 142),
    (37, "Lạng Sơn", False, 11, 200),
    (38, "Lào Cai", False, 9, 152),
    (39, "Long An", False, 15, 188),
    (40, "Nam Định", False, 10, 226),
    (41, "Nghệ An", False, 21, 460),
    (42, "Ninh Bình", False, 8, 143),
    (43, "Ninh Thuận", False, 7, 65),
    (44, "Phú Thọ", False, 13, 225),
    (45, "Phú Yên", False, 9, 110),
    (46, "Quảng Bình", False, 8, 151),
    (47, "Quảng Nam", False, 18, 241),
    (48, "Quảng Ngãi", False, 13, 173),
    (49, "Quảng Ninh", False, 13, 177),
    (50, "Quảng Trị", False, 10, 125),
    (51, "Sóc Trăng", False, 11, 109),
    (52, "Sơn La", False, 12, 204),
    (53, "Tây Ninh", False, 9, 94),
    (54, "Thái Bình", False, 8, 260),
    (55, "Thái Nguyên", False, 9, 178),
    (56, "Thanh Hóa", False, 26, 559),
    (57, "Huế", True, 9, 141),
    (58, "Tiền Giang", False, 11, 172),
    (59, "Trà Vinh", False, 9, 106),
    (60, "Tuyên Quang", False, 7, 138),
    (61, "Vĩnh Long", False, 8, 107),
    (62, "Vĩnh Phúc", False, 9, 136),
    (63, "Yên Bái", False, 9, 180),
)
PROVINCE_BY_NAME = {name: code for code, name, _, _, _ in PROVINCES}

# Early 2025, before the reforms of that year: 696 district-level and 10,035
# commune-level units in 63 provinces. Per-province counts of that date that are
# public: Hậu Giang 8 and 75 (13 wards, 11 townships, 51 communes), Hòa Bình 10 and
# 151. The other provinces share the rest in proportion to the older figures above.
DATE_EARLY_2025 = "2025-01-01"
DISTRICTS_EARLY_2025 = 696
COMMUNES_EARLY_2025 = 10_035
PINNED_EARLY_2025: dict[str, tuple[int, int]] = {"Hậu Giang": (8, 75), "Hòa Bình": (10, 151)}

HAU_GIANG = 30  # H30, the `province` preset
HAU_GIANG_DISTRICTS: tuple[str, ...] = (
    "Thành phố Vị Thanh",
    "Thành phố Ngã Bảy",
    "Thị xã Long Mỹ",
    "Huyện Châu Thành",
    "Huyện Châu Thành A",
    "Huyện Phụng Hiệp",
    "Huyện Vị Thủy",
    "Huyện Long Mỹ",
)
# (wards, townships) of each district above; the rest are communes. The totals are the
# public ones of early 2025 (13 wards, 11 townships, 51 communes); the split by
# district is the simulator's reading of them.
HAU_GIANG_URBAN: tuple[tuple[int, int], ...] = (
    (5, 0), (4, 0), (4, 0), (0, 2), (0, 4), (0, 3), (0, 1), (0, 1)
)  # fmt: skip

# The 34 provinces after the 2025 merger: (name, centrally-run city, old province names).
# Each keeps the code of the old province whose name it carries (one code, one agency).
MERGED_2025: tuple[tuple[str, bool, tuple[str, ...]], ...] = (
    ("Hà Nội", True, ("Hà Nội",)),
    ("Huế", True, ("Huế",)),
    ("Lai Châu", False, ("Lai Châu",)),
    ("Điện Biên", False, ("Điện Biên",)),
    ("Sơn La", False, ("Sơn La",)),
    ("Lạng Sơn", False, ("Lạng Sơn",)),
    ("Quảng Ninh", False, ("Quảng Ninh",)),
    ("Thanh Hóa", False, ("Thanh Hóa",)),
    ("Nghệ An", False, ("Nghệ An",)),
    ("Hà Tĩnh", False, ("Hà Tĩnh",)),
    ("Cao Bằng", False, ("Cao Bằng",)),
    ("Tuyên Quang", False, ("Tuyên Quang", "Hà Giang")),
    ("Lào Cai", False, ("Lào Cai", "Yên Bái")),
    ("Thái Nguyên", False, ("Thái Nguyên", "Bắc Kạn")),
    ("Phú Thọ", False, ("Phú Thọ", "Vĩnh Phúc", "Hòa Bình")),
    ("Bắc Ninh", False, ("Bắc Ninh", "Bắc Giang")),
    ("Hưng Yên", False, ("Hưng Yên", "Thái Bình")),
    ("Hải Phòng", True, ("Hải Phòng", "Hải Dương")),
    ("Ninh Bình", False, ("Ninh Bình", "Hà Nam", "Nam Định")),
    ("Quảng Trị", False, ("Quảng Trị", "Quảng Bình")),
    ("Đà Nẵng", True, ("Đà Nẵng", "Quảng Nam")),
    ("Quảng Ngãi", False, ("Quảng Ngãi", "Kon Tum")),
    ("Gia Lai", False, ("Gia Lai", "Bình Định")),
    ("Khánh Hòa", False, ("Khánh Hòa", "Ninh Thuận")),
    ("Lâm Đồng", False, ("Lâm Đồng", "Đắk Nông", "Bình Thuận")),
    ("Đắk Lắk", False, ("Đắk Lắk", "Phú Yên")),
    ("Hồ Chí Minh", True, ("Hồ Chí Minh", "Bình Dương", "Bà Rịa - Vũng Tàu")),
    ("Đồng Nai", False, ("Đồng Nai", "Bình Phước")),
    ("Tây Ninh", False, ("Tây Ninh", "Long An")),
    ("Cần Thơ", True, ("Cần Thơ", "Sóc Trăng", "Hậu Giang")),
    ("Vĩnh Long", False, ("Vĩnh Long", "Bến Tre", "Trà Vinh")),
    ("Đồng Tháp", False, ("Đồng Tháp", "Tiền Giang")),
    ("Cà Mau", False, ("Cà Mau", "Bạc Liêu")),
    ("An Giang", False, ("An Giang", "Kiên Giang")),
)

# Commune-level units after the reform (in force 1 July 2025): 3,321 = 2,621 communes
# + 687 wards + 13 special zones. Public per-province totals: Hà Nội 126, Hồ Chí Minh
# 168, Lai Châu 38; the other provinces share the rest in proportion to the commune
# counts of the provinces each merged. The 13 special zones (đặc khu) by province.
DATE_2025 = "2025-07-01"
COMMUNES_2025 = 3321
COMMUNES_ONLY_2025, WARDS_2025, SPECIAL_ZONES_2025 = 2621, 687, 13
PINNED_2025: dict[str, int] = {"Hà Nội": 126, "Hồ Chí Minh": 168, "Lai Châu": 38}
SPECIAL_ZONES: dict[str, tuple[str, ...]] = {
    "Quảng Ninh": ("Vân Đồn", "Cô Tô"),
    "Hải Phòng": ("Cát Hải", "Bạch Long Vĩ"),
    "Quảng Trị": ("Cồn Cỏ",),
    "Đà Nẵng": ("Hoàng Sa",),
    "Quảng Ngãi": ("Lý Sơn",),
    "Khánh Hòa": ("Trường Sa",),
    "Lâm Đồng": ("Phú Quý",),
    "Hồ Chí Minh": ("Côn Đảo",),
    "An Giang": ("Phú Quốc", "Kiên Hải", "Thổ Châu"),
}


class UnitSpec(NamedTuple):
    """A unit every body of a tier has: its number (the id's unit block), its name (the
    body's place is appended), the abbreviation of its notations, the number of its
    parent unit (0: the body itself), and the data it belongs to: the four-tier presets
    (early 2025), the two-level one (after the 2025 reform), or both. For communes of
    2025, `wards` restricts a unit to wards (True) or to communes and zones (False)."""

    number: int
    name: str
    abbreviation: str
    parent: int = 0
    four_tier: bool = True
    two_level: bool = True
    wards: bool | None = None


# Units 001..099 are departments and offices, 100..999 public-service units. A unit
# renamed or created by a reform gets a new number, so a number means one unit in
# every preset. The lists are typical, not a census: real bodies differ in detail.
CENTRAL_UNITS: tuple[UnitSpec, ...] = (
    UnitSpec(1, "Văn phòng", "VP"),
    UnitSpec(2, "Vụ Pháp chế", "PC"),
    UnitSpec(3, "Vụ Tổ chức cán bộ", "TCCB"),
    UnitSpec(4, "Thanh tra", "TTr"),
    UnitSpec(101, "Trung tâm Công nghệ thông tin", "TTCNTT"),
)
PROVINCE_UNITS: tuple[UnitSpec, ...] = (
    UnitSpec(1, "Văn phòng Ủy ban nhân dân", "VP"),
    UnitSpec(2, "Sở Nội vụ", "SNV"),
    UnitSpec(3, "Sở Tư pháp", "STP"),
    UnitSpec(4, "Sở Kế hoạch và Đầu tư", "SKHĐT", two_level=False),
    UnitSpec(5, "Sở Tài chính", "STC"),
    UnitSpec(6, "Sở Công Thương", "SCT"),
    UnitSpec(7, "Sở Nông nghiệp và Phát triển nông thôn", "SNNPTNT", two_level=False),
    UnitSpec(8, "Sở Giao thông vận tải", "SGTVT", two_level=False),
    UnitSpec(9, "Sở Xây dựng", "SXD"),
    UnitSpec(10, "Sở Tài nguyên và Môi trường", "STNMT", two_level=False),
    UnitSpec(11, "Sở Thông tin và Truyền thông", "STTTT", two_level=False),
    UnitSpec(12, "Sở Lao động - Thương binh và Xã hội", "SLĐTBXH", two_level=False),
    UnitSpec(13, "Sở Văn hóa, Thể thao và Du lịch", "SVHTTDL"),
    UnitSpec(14, "Sở Khoa học và Công nghệ", "SKHCN"),
    UnitSpec(15, "Sở Giáo dục và Đào tạo", "SGDĐT"),
    UnitSpec(16, "Sở Y tế", "SYT"),
    UnitSpec(17, "Thanh tra", "TTr"),
    UnitSpec(18, "Ban Quản lý các khu công nghiệp", "BQLKCN"),
    UnitSpec(19, "Ban Dân tộc", "BDT", two_level=False),
    UnitSpec(20, "Sở Nông nghiệp và Môi trường", "SNNMT", four_tier=False),
    UnitSpec(21, "Sở Dân tộc và Tôn giáo", "SDTTG", four_tier=False),
    UnitSpec(101, "Đài Phát thanh và Truyền hình", "ĐPTTH"),
    UnitSpec(102, "Trung tâm Phục vụ hành chính công", "TTPVHCC", parent=1),
    UnitSpec(103, "Bệnh viện Đa khoa", "BVĐK", parent=16),
)
DISTRICT_UNITS: tuple[UnitSpec, ...] = (  # the district tier exists only before the reform
    UnitSpec(1, "Văn phòng Hội đồng nhân dân và Ủy ban nhân dân", "VP", two_level=False),
    UnitSpec(2, "Phòng Nội vụ", "PNV", two_level=False),
    UnitSpec(3, "Phòng Tư pháp", "PTP", two_level=False),
    UnitSpec(4, "Phòng Tài chính - Kế hoạch", "PTCKH", two_level=False),
    UnitSpec(5, "Phòng Tài nguyên và Môi trường", "PTNMT", two_level=False),
    UnitSpec(6, "Phòng Lao động - Thương binh và Xã hội", "PLĐTBXH", two_level=False),
    UnitSpec(7, "Phòng Văn hóa và Thông tin", "PVHTT", two_level=False),
    UnitSpec(8, "Phòng Giáo dục và Đào tạo", "PGDĐT", two_level=False),
    UnitSpec(9, "Phòng Y tế", "PYT", two_level=False),
    UnitSpec(10, "Phòng Kinh tế và Hạ tầng", "PKTHT", two_level=False),
    UnitSpec(11, "Thanh tra", "TTr", two_level=False),
    UnitSpec(101, "Ban Quản lý dự án đầu tư xây dựng", "BQLDA", two_level=False),
)
COMMUNE_UNITS: tuple[UnitSpec, ...] = (
    # before the reform a commune had civil servants, not offices; its health station
    # (professionally under the district's health centre) is listed under the commune
    UnitSpec(101, "Trạm Y tế", "TYT", two_level=False),
    # after the reform: three offices and a one-stop public-service centre
    UnitSpec(1, "Văn phòng Hội đồng nhân dân và Ủy ban nhân dân", "VP", four_tier=False),
    UnitSpec(2, "Phòng Kinh tế", "PKT", four_tier=False, wards=False),
    UnitSpec(3, "Phòng Kinh tế, Hạ tầng và Đô thị", "PKTHTĐT", four_tier=False, wards=True),
    UnitSpec(4, "Phòng Văn hóa - Xã hội", "PVHXH", four_tier=False),
    UnitSpec(102, "Trung tâm Phục vụ hành chính công", "TTPVHCC", four_tier=False),
)

# Syllables of place names; pairs of them name districts and communes.
PLACE_SYLLABLES: tuple[str, ...] = (
    "An", "Bình", "Châu", "Đông", "Hòa", "Hưng", "Long", "Mỹ", "Nhơn", "Phú",
    "Phước", "Quang", "Tân", "Thạnh", "Thành", "Thuận", "Trung", "Vĩnh", "Xuân", "Yên",
    "Lộc", "Hiệp", "Lợi", "Khánh", "Hải", "Sơn", "Điền", "Giang", "Lương", "Thủy",
    "Tiến", "Định", "Hội", "Nghĩa", "Phong", "Thái",
)  # fmt: skip
