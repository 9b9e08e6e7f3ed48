"""The fate of a sent document, from rejection and status records (pure)."""

from __future__ import annotations

from interchange.delivery.fate import Fate, Outcome, Until
from interchange.wire.model import ReasonCode, Rejection, Secrecy, StatusCode, StatusMessage

DOC = "000.00.00.G22,2026/11/02,1/VP"
A, B = "000.00.00.H01", "000.00.01.H01"


def rejection(reason: ReasonCode, recipient: str | None = None, doc: str = DOC) -> Rejection:
    return Rejection(doc, "000.00.00.G22", reason, "d", b"\0" * 32, Secrecy.NONE, recipient, 1, 1)


def status(recipient: str, code: StatusCode, doc: str = DOC) -> StatusMessage:
    return StatusMessage(doc, "000.00.00.G22", recipient, code, 1)


def test_nothing_seen_is_a_timeout_with_exit_3() -> None:
    fate = Fate(DOC, (A,))
    assert fate.outcome() is Outcome.TIMEOUT
    assert fate.outcome().exit_code == 3


def test_records_of_other_documents_are_ignored() -> None:
    fate = Fate(DOC, (A,))
    assert fate.observe_rejection(rejection(ReasonCode.REPLAY, doc="other")) is None
    assert fate.observe_status(status(A, StatusCode.ACCEPTED, doc="other")) is None
    assert not fate.settled


def test_whole_document_rejection_settles_with_exit_1() -> None:
    fate = Fate(DOC, (A, B))
    line = fate.observe_rejection(rejection(ReasonCode.BAD_SIGNATURE))
    assert line is not None
    assert "BAD_SIGNATURE" in line
    assert fate.outcome() is Outcome.REJECTED
    assert fate.outcome().exit_code == 1


def test_classified_is_excluded() -> None:
    fate = Fate(DOC, (A,))
    fate.observe_rejection(rejection(ReasonCode.CLASSIFIED))
    assert fate.outcome() is Outcome.EXCLUDED
    assert fate.summary().startswith("excluded: CLASSIFIED")


def test_arrived_is_not_enough_until_acknowledged() -> None:
    fate = Fate(DOC, (A,))
    fate.observe_status(status(A, StatusCode.ARRIVED))
    assert not fate.settled
    fate.observe_status(status(A, StatusCode.ACCEPTED))
    assert fate.outcome() is Outcome.DELIVERED


def test_until_arrived_needs_only_01_from_each_recipient() -> None:
    fate = Fate(DOC, (A, B), Until.ARRIVED)
    fate.observe_status(status(A, StatusCode.ARRIVED))
    assert not fate.settled
    fate.observe_status(status(B, StatusCode.ARRIVED))
    assert fate.outcome().exit_code == 0


def test_not_connected_recipient_makes_it_partial_with_exit_4() -> None:
    fate = Fate(DOC, (A, B))
    fate.observe_rejection(rejection(ReasonCode.NOT_CONNECTED, recipient=B))
    fate.observe_status(status(A, StatusCode.ACCEPTED))
    assert fate.outcome() is Outcome.PARTIAL
    assert fate.outcome().exit_code == 4


def test_a_recipient_refusing_with_02_settles_it_as_partial() -> None:
    fate = Fate(DOC, (A,))
    fate.observe_status(status(A, StatusCode.REJECTED))
    assert fate.outcome() is Outcome.PARTIAL


def test_duplicate_status_is_reported_once() -> None:
    fate = Fate(DOC, (A,))
    assert fate.observe_status(status(A, StatusCode.ARRIVED)) is not None
    assert fate.observe_status(status(A, StatusCode.ARRIVED)) is None


def test_a_rejection_is_matched_by_its_submission_coordinates_not_by_id() -> None:
    fate = Fate(DOC, (A,), source=("t.submissions", 3, 40))
    forged = rejection(ReasonCode.BAD_SIGNATURE).about("t.submissions", 3, 41)
    assert not forged.authenticated
    assert fate.observe_rejection(forged) is None  # someone else's record under our id
    assert not fate.settled
    ours = Rejection("", "", ReasonCode.MALFORMED, "envelope: TRUNCATED", b"\0" * 32,
                     Secrecy.NONE, None, 1, 0).about("t.submissions", 3, 40)  # fmt: skip
    assert fate.observe_rejection(ours) is not None  # no id at all, but our record
    assert fate.outcome() is Outcome.REJECTED


def test_a_rejection_without_coordinates_falls_back_to_the_id() -> None:
    fate = Fate(DOC, (A,), source=("t.submissions", 3, 40))
    assert fate.observe_rejection(rejection(ReasonCode.REVOKED)) is not None
    assert fate.outcome() is Outcome.REJECTED


def test_a_revoke_follows_the_recall_answers_about_its_target() -> None:
    target = "000.00.00.G22,2025/09/01,1/VPCP"
    fate = Fate(DOC, (A, B), recall_of=target)

    def about(recipient: str, code: StatusCode, detail: str = f"revoke {DOC}") -> StatusMessage:
        return StatusMessage(target, "S", recipient, code, 1, detail)

    assert fate.observe_status(about(A, StatusCode.RECALL_REQUESTED)) is not None
    line = fate.observe_status(about(A, StatusCode.RECALL_AGREED))
    assert line is not None
    assert "recall agreed" in line
    assert target in line
    assert fate.observe_status(about(A, StatusCode.RECALL_REFUSED)) is None  # answered
    # another revoke's answers, and statuses of the target itself, are not this fate's
    assert fate.observe_status(about(B, StatusCode.RECALL_REFUSED, "revoke other")) is None
    assert fate.observe_status(about(B, StatusCode.COMPLETED)) is None
    stranger = "000.00.02.H01"  # not addressed by the revoke
    assert fate.observe_status(about(stranger, StatusCode.RECALL_REFUSED)) is None
    fate.observe_status(about(B, StatusCode.RECALL_REFUSED))
    for r in (A, B):
        fate.observe_status(status(r, StatusCode.ACCEPTED))
    assert fate.outcome() is Outcome.DELIVERED
    assert fate.summary().endswith(f"; recall: {A} 15, {B} 16")


def test_an_update_follows_the_15_or_16_answers_about_its_target() -> None:
    """`send --update`: each recipient's 15/16 about the target naming this update (no 13
    comes for an update), summed up as 'update: <recipient> 15|16'."""
    target = "000.00.00.G22,2025/09/01,1/VPCP"
    fate = Fate(DOC, (A, B), recall_of=target, request="update")

    def about(recipient: str, code: StatusCode, detail: str = f"update {DOC}") -> StatusMessage:
        return StatusMessage(target, "S", recipient, code, 1, detail)

    line = fate.observe_status(about(A, StatusCode.RECALL_AGREED))
    assert line is not None
    assert "update agreed" in line
    assert target in line
    assert fate.observe_status(about(B, StatusCode.RECALL_REFUSED, f"revoke {DOC}")) is None
    assert fate.observe_status(about(B, StatusCode.RECALL_REFUSED)) is not None
    for r in (A, B):
        fate.observe_status(status(r, StatusCode.ACCEPTED))
    assert fate.outcome() is Outcome.DELIVERED
    assert fate.summary().endswith(f"; update: {A} 15, {B} 16")
    assert (
        Fate(DOC, (A,), recall_of=target, request="update")
        .summary()
        .endswith("; update: no answer yet")
    )
