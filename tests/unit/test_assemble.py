"""`wire.assemble.positional`: the decoder's constructors give what `__init__` gives."""

from __future__ import annotations

import dataclasses
import pickle

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
    assert pickle.loads(pickle.dumps(built)) == value  # e.g. to another process
    assert dataclasses.replace(built) == value  # type: ignore[type-var]
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


def test_a_constructor_of_the_first_fields_leaves_the_rest_at_their_defaults() -> None:
    """What the decoder uses for a record whose later fields come from elsewhere (an
    attachment's v6 details) or an older layout that ends early."""
    make = positional(Attachment, given=4)
    built = make("a.pdf", "application/pdf", b"\x01" * 32, b"pdf")
    assert repr(built) == repr(Attachment("a.pdf", "application/pdf", b"\x01" * 32, b"pdf"))
    assert (built.content_id, built.description) == ("", "")
    with pytest.raises(TypeError):  # exactly the first four
        make("a.pdf", "application/pdf", b"\x01" * 32, b"pdf", "1-1")
    agency = positional(AgencyRef, given=2)("000.00.00.H01", "Hà Nội")
    assert agency.detail is AgencyRef("x", "y").detail  # the default itself, shared


def test_no_constructor_of_the_first_fields_before_one_without_a_plain_default() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Listed:
        n: int
        items: list[int] = dataclasses.field(default_factory=list)

    with pytest.raises(TypeError, match="no plain default"):
        positional(Listed, given=1)
    with pytest.raises(TypeError, match="no plain default"):
        positional(Signer, given=2)


def test_no_positional_constructor_for_a_record_with_a_base() -> None:
    """The twin the constructor builds first has `object` as its only base; a record
    with another has a layout the twin cannot match."""

    @dataclasses.dataclass(frozen=True, slots=True)
    class Base:
        n: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Derived(Base):
        m: int

    with pytest.raises(TypeError, match="derives"):
        positional(Derived)
