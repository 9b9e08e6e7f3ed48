"""Plausible Vietnamese wording for generated documents: notations, subjects, signers.

Only realism depends on these tables; no check anywhere relies on their text.
"""

from __future__ import annotations

from interchange.wire.model import DocumentType, Tier

# Type abbreviation in the code notation (số ký hiệu), e.g. 12/QĐ-UBND.
# Official letters carry none: 7816/VPCP-TTĐT, 154/UBND-VP.
TYPE_ABBREVIATION: dict[DocumentType, str] = {
    DocumentType.DECISION: "QĐ",
    DocumentType.DIRECTIVE: "CT",
    DocumentType.OFFICIAL_LETTER: "",
    DocumentType.REPORT: "BC",
    DocumentType.PLAN: "KH",
    DocumentType.NOTICE: "TB",
    DocumentType.RESOLUTION: "NQ",
    DocumentType.SUBMISSION: "TTr",
}

TYPE_TITLE: dict[DocumentType, str] = {
    DocumentType.DECISION: "Quyết định",
    DocumentType.DIRECTIVE: "Chỉ thị",
    DocumentType.OFFICIAL_LETTER: "V/v",
    DocumentType.REPORT: "Báo cáo",
    DocumentType.PLAN: "Kế hoạch",
    DocumentType.NOTICE: "Thông báo",
    DocumentType.RESOLUTION: "Nghị quyết",
    DocumentType.SUBMISSION: "Tờ trình",
}

TOPICS: tuple[str, ...] = (
    "triển khai chuyển đổi số năm 2025",
    "kết quả cải cách thủ tục hành chính quý III",
    "phòng, chống thiên tai và tìm kiếm cứu nạn",
    "giải ngân vốn đầu tư công",
    "tăng cường công tác quản lý đất đai",
    "tổ chức kỳ thi tốt nghiệp trung học phổ thông",
    "công tác phòng, chống dịch bệnh",
    "thực hiện dịch vụ công trực tuyến toàn trình",
    "kiện toàn tổ chức bộ máy",
    "sử dụng chữ ký số trong văn bản điện tử",
    "báo cáo tình hình kinh tế - xã hội tháng",
    "xây dựng nông thôn mới",
    "bảo đảm an toàn thông tin mạng",
    "công tác tiếp công dân và giải quyết khiếu nại",
    "phê duyệt dự toán ngân sách",
)

# (position, competence) of the signer; "KT." = acting for the head, "TM." = on behalf of.
SIGNERS: dict[Tier, tuple[tuple[str, str], ...]] = {
    Tier.CENTRAL: (("Bộ trưởng", ""), ("Thứ trưởng", "KT."), ("Chánh Văn phòng", "TL.")),
    Tier.PROVINCE: (("Chủ tịch", "TM."), ("Phó Chủ tịch", "KT."), ("Chánh Văn phòng", "TL.")),
    Tier.DISTRICT: (("Chủ tịch", "TM."), ("Phó Chủ tịch", "KT.")),
    Tier.COMMUNE: (("Chủ tịch", "TM."), ("Phó Chủ tịch", "KT.")),
}

# Signers of a unit's documents: its head in own right, a deputy acting for the head.
UNIT_SIGNERS: dict[Tier, tuple[tuple[str, str], ...]] = {
    Tier.CENTRAL: (("Vụ trưởng", ""), ("Phó Vụ trưởng", "KT."), ("Chánh Văn phòng", "")),
    Tier.PROVINCE: (("Giám đốc", ""), ("Phó Giám đốc", "KT.")),
    Tier.DISTRICT: (("Trưởng phòng", ""), ("Phó Trưởng phòng", "KT.")),
    Tier.COMMUNE: (("Trưởng trạm", ""), ("Chánh Văn phòng", "")),
}

CAPITAL = "Hà Nội"  # promulgation place of central bodies
PEOPLES_COMMITTEE = "UBND"
