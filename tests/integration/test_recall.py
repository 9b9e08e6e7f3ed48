"""Recall through the whole axis: `interchange send` a document, then `send --recall` it;
the recipients stage answers 13 then 15 (its work record open) or 16 (completed, 06 out),
and a revoke naming a document never delivered is rejected UNKNOWN_TARGET."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from agency_helpers import module_settings, running_router

from interchange.audit.replay import ReplayConfig, replay
from interchange.axis.directory import Directory
from interchange.axis.presets import build_directory
from interchange.cli.main import main
from interchange.delivery.recipient import RecipientConfig, Recipients
from interchange.kafka.topics import layout_of
from interchange.settings import Settings
from interchange.wire import codec
from interchange.wire.model import ReasonCode, StatusCode, StatusMessage
from interchange.workrecords.plan import WorkSettings

pytestmark = pytest.mark.integration

SENDER = "000.00.00.G22"
RECIPIENT = "000.00.00.H01"


@pytest.fixture(scope="module")
def directory() -> Directory:
    return build_directory("tiny")


@contextmanager
def axis(
    bootstrap: str, tmp: Path, directory: Directory, time_scale: float
) -> Iterator[tuple[Settings, Recipients]]:
    """Fresh topics, a router and a recipients stage handling at `time_scale`."""
    settings = module_settings(bootstrap, tmp, directory)
    config = RecipientConfig(
        group_prefix="recall-test",
        accept_delay_s=0.01,
        static=True,
        work=WorkSettings(time_scale=time_scale),
    )
    recipients = Recipients(settings, directory, config)
    stop = threading.Event()
    runner = threading.Thread(target=recipients.run, args=(stop,), daemon=True)
    with running_router(settings, directory):
        runner.start()
        try:
            yield settings, recipients
        finally:
            stop.set()
            runner.join(30)


def send(
    settings: Settings, number: int, *extra: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    """`interchange send` as SENDER to RECIPIENT; (exit status, document id). The whole
    output is kept in `OUTPUT`."""
    code = main([
        "send", "--bootstrap", str(settings.bootstrap), "--topic-prefix", settings.topic_prefix,
        "--keys-dir", str(settings.keys_dir), "--as", SENDER, "--to", RECIPIENT,
        "--subject", f"Văn bản {number}", "--code-number", str(number),
        "--code-notation", "VPCP-TH", "--timeout", "45", "--until", "arrived", *extra,
    ])  # fmt: skip
    out = capsys.readouterr().out
    OUTPUT.append(out)
    return code, out.splitlines()[0]


OUTPUT: list[str] = []
# a recipient writes 13 and 15/16 before the revoke's own 03, on the same status partition:
# a send that waits for the 03 has seen the answer
ACK = ("--until", "acknowledged")


def statuses(settings: Settings, document_id: str) -> list[StatusMessage]:
    records, _ = replay(settings, ReplayConfig((layout_of(settings).status,)))
    found = (codec.decode_status(r.value or b"") for r in records)
    return [m for m in found if m.document_id == document_id]


def wait_for(settings: Settings, document_id: str, code: StatusCode) -> list[StatusMessage]:
    deadline = time.monotonic() + 40
    while True:
        got = statuses(settings, document_id)
        if any(m.code is code for m in got) or time.monotonic() > deadline:
            return got
        time.sleep(0.5)


def test_a_recall_of_an_open_record_is_agreed_15(
    bootstrap: str, tmp_path: Path, directory: Directory, capsys: pytest.CaptureFixture[str]
) -> None:
    # real time: handling takes hours, so the record is still open when the recall comes
    with axis(bootstrap, tmp_path, directory, time_scale=1) as (settings, _):
        code, target = send(settings, 31, capsys=capsys)
        assert code == 0
        code, _revoke = send(
            settings, 32, "--recall", target, "--reason", "sent in error", *ACK, capsys=capsys
        )
        assert code == 0
        got = wait_for(settings, target, StatusCode.RECALL_AGREED)
    # send --recall shows the answer about the target, and sums it up
    assert f"status 15      {RECIPIENT}  recall agreed ({target})" in OUTPUT[-1]
    assert OUTPUT[-1].rstrip().endswith(f"recall: {RECIPIENT} 15")
    codes = [m.code for m in got if m.recipient == RECIPIENT]
    assert StatusCode.COMPLETED not in codes
    assert codes[-2:] == [StatusCode.RECALL_REQUESTED, StatusCode.RECALL_AGREED]
    assert all(m.sender == SENDER for m in got)


def test_an_update_of_an_open_record_is_agreed_15_without_a_13(
    bootstrap: str, tmp_path: Path, directory: Directory, capsys: pytest.CaptureFixture[str]
) -> None:
    """`send --update`: the recipient answers 15 about the target (its record is open),
    naming the update; no 13 (the update itself is the request), and `send` reports it."""
    with axis(bootstrap, tmp_path, directory, time_scale=1) as (settings, _):
        code, target = send(settings, 61, capsys=capsys)
        assert code == 0
        code, update = send(settings, 62, "--update", target, "--reason", "sửa", *ACK,
                            capsys=capsys)  # fmt: skip
        assert code == 0
        got = wait_for(settings, target, StatusCode.RECALL_AGREED)
    assert f"status 15      {RECIPIENT}  update agreed ({target})" in OUTPUT[-1]
    assert OUTPUT[-1].rstrip().endswith(f"update: {RECIPIENT} 15")
    answers = [(m.code, m.detail) for m in got if m.code.value in {"13", "15", "16"}]
    assert answers == [(StatusCode.RECALL_AGREED, f"update {update}")]


def test_a_recall_of_a_completed_record_is_refused_16(
    bootstrap: str, tmp_path: Path, directory: Directory, capsys: pytest.CaptureFixture[str]
) -> None:
    with axis(bootstrap, tmp_path, directory, time_scale=1e9) as (settings, _):
        code, target = send(settings, 41, capsys=capsys)
        assert code == 0
        assert StatusCode.COMPLETED in [
            m.code for m in wait_for(settings, target, StatusCode.COMPLETED)
        ]
        code, _revoke = send(settings, 42, "--recall", target, *ACK, capsys=capsys)
        assert code == 0
        got = wait_for(settings, target, StatusCode.RECALL_REFUSED)
    assert OUTPUT[-1].rstrip().endswith(f"recall: {RECIPIENT} 16")
    codes = [m.code for m in got if m.recipient == RECIPIENT]
    assert codes[-2:] == [StatusCode.RECALL_REQUESTED, StatusCode.RECALL_REFUSED]
    assert StatusCode.RECALL_AGREED not in codes


def test_a_revoke_naming_an_unknown_target_is_rejected_with_its_reason(
    bootstrap: str, tmp_path: Path, directory: Directory, capsys: pytest.CaptureFixture[str]
) -> None:
    with axis(bootstrap, tmp_path, directory, time_scale=1) as (settings, _):
        never = f"{SENDER},2025/01/01,999/VPCP-TH"
        code, revoke = send(settings, 51, "--recall", never, capsys=capsys)
        rejections = [
            codec.decode_rejection(r.value or b"")
            for r in replay(settings, ReplayConfig((layout_of(settings).rejections,)))[0]
        ]
    assert code == 1  # rejected by the router
    mine = [r for r in rejections if r.document_id == revoke]
    assert [(r.reason, r.authenticated) for r in mine] == [(ReasonCode.UNKNOWN_TARGET, True)]
    assert never in mine[0].detail
