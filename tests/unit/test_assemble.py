"""`wire.assemble.positional`: the decoder's constructors give what `__init__` gives."""

from __future__ import annotations

import dataclasses

import pytest

from interchange.wire.assemble import positional
from interchange.wire.model import (
    AgencyRef,
    Attachment,
    Business,
    DocumentCategory,
    DocumentKind,
    Hop,
    OrganDetail,
    OtherInfo,
    Signer,
)

SAMPLES: list[object] = [
    AgencyRef("000.00.00.H01", "Hà Nội", OrganDetail("UBND", "1 Lê Lợi")),
    Signer("A", "B", "TM."),
    Attachment("a.pdf", "application/pdf", b"\x01" * 32, b"pdf", "1-1", "Bản chính"),
    Business("d,2024/01/01,1/X", "sai", None),
    Hop("router:r1", 7),
    OrganDetail("a", "b", "c", "d", "e", "f"),
    OtherInfo("Toàn quốc", "NV", 3, 2, True, ("Phụ lục I",)),
    DocumentKind(DocumentCategory.ADMINISTRATIVE, 18, "Công văn"),
]


@pytest.mark.parametrize("value", SAMPLES, ids=lambda v: type(v).__name__)
def test_a_positional_constructor_builds_what_init_builds(value: object) -> None:
    cls = type(value)
    values = [getattr(value, f.name) for f in dataclasses.fields(value)]  # type: ignore[arg-type]
    built = positional(cls)(*values)
    assert type(built) is cls
    assert built == value
    assert hash(built) == hash(value)
    assert repr(built) == repr(value)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(built, dataclasses.fields(value)[0].name, "x")  # type: ignore[arg-type]
    with pytest.raises(TypeError):  # every field must be given
        positional(cls)(*values[:-1])


def test_no_positional_constructor_for_a_record_that_validates_itself() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        n: int

        def __post_init__(self) -> None:
            if self.n < 0:
                raise ValueError("negative")

    with pytest.raises(TypeError, match="__post_init__"):
        positional(Checked)


def test_no_positional_constructor_without_slots() -> None:
    @dataclasses.dataclass(frozen=True)
    class Plain:
        n: int

    with pytest.raises(TypeError, match="slots"):
        positional(Plain)
