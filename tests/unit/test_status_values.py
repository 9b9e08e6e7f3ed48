"""The recipients' status values made from parts are byte for byte `codec.encode_status`'s:
the status topic's contract does not depend on which path wrote a record."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from interchange.errors import EncodeError
from interchange.wire import codec, status_values
from interchange.wire.model import StaffInfo, StatusCode, StatusMessage

texts = st.text(max_size=40)
times = st.integers(min_value=-(2**63), max_value=2**63 - 1)
staff = st.builds(StaffInfo, texts, texts, texts)
work_codes = st.sampled_from(
    [StatusCode.ACCEPTED, StatusCode.ASSIGNED, StatusCode.IN_PROGRESS, StatusCode.COMPLETED]
)


@settings(max_examples=300)
@given(texts, texts, texts, work_codes, times, staff, st.booleans(), st.none() | times)
def test_a_work_record_status_is_the_codec_s_bytes(
    document_id: str,
    sender: str,
    recipient: str,
    code: StatusCode,
    time_us: int,
    official: StaffInfo,
    online: bool,
    due_us: int | None,
) -> None:
    head = status_values.head(document_id, sender, recipient)
    tail = status_values.tail(official, online, due_us)
    message = StatusMessage(
        document_id, sender, recipient, code, time_us, "", official, online, due_us
    )
    assert status_values.value(head, code, time_us, tail) == codec.encode_status(message)


@settings(max_examples=200)
@given(texts, texts, texts, st.sampled_from(list(StatusCode)), times)
def test_a_status_without_work_fields_is_the_codec_s_bytes(
    document_id: str, sender: str, recipient: str, code: StatusCode, time_us: int
) -> None:
    head = status_values.head(document_id, sender, recipient)
    message = StatusMessage(document_id, sender, recipient, code, time_us)
    got = status_values.value(head, code, time_us, status_values.NO_WORK)
    assert got == codec.encode_status(message)
    assert codec.decode_status(got) == message


def test_a_time_beyond_a_long_is_an_encode_error() -> None:
    head = status_values.head("d", "s", "r")
    with pytest.raises(EncodeError):
        status_values.value(head, StatusCode.ARRIVED, 2**63, status_values.NO_WORK)
