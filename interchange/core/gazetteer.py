"""Static facts the directory presets are built from: central bodies and provinces.

Counts are approximate figures from before the 2025 reform (about 705 districts
and 10,600 communes in 63 provinces); they make the `national` preset uneven the
way the real country is (Hà Nội has 30 districts and 579 communes, Đà Nẵng 56
communes). Codes `G..`/`H..` are the simulator's own (see docs/WORKLOAD.md);
only the Government Office's `G22` is a real code (docs/RULES.md).
"""

from __future__ import annotations

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
)

# The central bodies a single province mostly corresponds with (`province` preset).
PROVINCE_PARTNERS: tuple[int, ...] = (5, 10, 11, 13, 14, 15, 18, 22)

# (name, is a centrally-run city, districts, communes), in H01..H63 order.
PROVINCES: tuple[tuple[str, bool, int, int], ...] = (
    ("Hà Nội", True, 30, 579),
    ("Hồ Chí Minh", True, 22, 312),
    ("Hải Phòng", True, 15, 223),
    ("Đà Nẵng", True, 8, 56),
    ("Cần Thơ", True, 9, 83),
    ("Hà Giang", False, 11, 195),
    ("Cao Bằng", False, 10, 161),
    ("Bắc Kạn", False, 8, 108),
    ("Tuyên Quang", False, 7, 138),
    ("Lào Cai", False, 9, 152),
    ("Điện Biên", False, 10, 129),
    ("Lai Châu", False, 8, 106),
    ("Sơn La", False, 12, 204),
    ("Yên Bái", False, 9, 180),
    ("Hòa Bình", False, 10, 151),
    ("Thái Nguyên", False, 9, 178),
    ("Lạng Sơn", False, 11, 200),
    ("Quảng Ninh", False, 13, 177),
    ("Bắc Giang", False, 10, 209),
    ("Phú Thọ", False, 13, 225),
    ("Vĩnh Phúc", False, 9, 136),
    ("Bắc Ninh", False, 8, 126),
    ("Hải Dương", False, 12, 235),
    ("Hưng Yên", False, 10, 161),
    ("Thái Bình", False, 8, 260),
    ("Hà Nam", False, 6, 109),
    ("Nam Định", False, 10, 226),
    ("Ninh Bình", False, 8, 143),
    ("Thanh Hóa", False, 26, 559),
    ("Nghệ An", False, 21, 460),
    ("Hà Tĩnh", False, 13, 216),
    ("Quảng Bình", False, 8, 151),
    ("Quảng Trị", False, 10, 125),
    ("Thừa Thiên Huế", False, 9, 141),
    ("Quảng Nam", False, 18, 241),
    ("Quảng Ngãi", False, 13, 173),
    ("Bình Định", False, 11, 155),
    ("Phú Yên", False, 9, 110),
    ("Khánh Hòa", False, 9, 139),
    ("Ninh Thuận", False, 7, 65),
    ("Bình Thuận", False, 10, 124),
    ("Kon Tum", False, 10, 102),
    ("Gia Lai", False, 17, 220),
    ("Đắk Lắk", False, 15, 184),
    ("Đắk Nông", False, 8, 71),
    ("Lâm Đồng", False, 12, 142),
    ("Bình Phước", False, 11, 111),
    ("Tây Ninh", False, 9, 94),
    ("Bình Dương", False, 9, 91),
    ("Đồng Nai", False, 11, 170),
    ("Bà Rịa - Vũng Tàu", False, 8, 82),
    ("Long An", False, 15, 188),
    ("Tiền Giang", False, 11, 172),
    ("Bến Tre", False, 9, 157),
    ("Trà Vinh", False, 9, 106),
    ("Vĩnh Long", False, 8, 107),
    ("Đồng Tháp", False, 12, 143),
    ("An Giang", False, 11, 156),
    ("Kiên Giang", False, 15, 144),
    ("Hậu Giang", False, 8, 75),
    ("Sóc Trăng", False, 11, 109),
    ("Bạc Liêu", False, 7, 64),
    ("Cà Mau", False, 9, 100),
)

HAU_GIANG = 60  # index + 1 in PROVINCES: the `province` preset
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

# The 34 provinces after the 2025 merger: (name, centrally-run city, old province names).
MERGED_2025: tuple[tuple[str, bool, tuple[str, ...]], ...] = (
    ("Hà Nội", True, ("Hà Nội",)),
    ("Huế", True, ("Thừa Thiên Huế",)),
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
COMMUNES_2025 = 3321  # communes and wards after the 2025 reform

# Syllables of place names; pairs of them name districts and communes.
PLACE_SYLLABLES: tuple[str, ...] = (
    "An", "Bình", "Châu", "Đông", "Hòa", "Hưng", "Long", "Mỹ", "Nhơn", "Phú",
    "Phước", "Quang", "Tân", "Thạnh", "Thành", "Thuận", "Trung", "Vĩnh", "Xuân", "Yên",
    "Lộc", "Hiệp", "Lợi", "Khánh", "Hải", "Sơn", "Điền", "Giang", "Lương", "Thủy",
    "Tiến", "Định", "Hội", "Nghĩa", "Phong", "Thái",
)  # fmt: skip

SURNAMES: tuple[str, ...] = (
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng",
    "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý",
)  # fmt: skip
MIDDLE_NAMES: tuple[str, ...] = ("Văn", "Thị", "Hữu", "Đức", "Minh", "Thanh", "Quốc", "Ngọc")
GIVEN_NAMES: tuple[str, ...] = (
    "An", "Bình", "Cường", "Dũng", "Hà", "Hải", "Hùng", "Lan", "Long", "Mai",
    "Nam", "Nga", "Phong", "Phương", "Quân", "Sơn", "Thảo", "Trung", "Tuấn", "Vy",
)  # fmt: skip
