"""The workload generator as it was before the tenth session's speed-up: a test oracle.

A verbatim copy of `interchange.workload.generator` at that point (only this docstring
and the header module's import differ), kept so `test_generator_oracle.py` can show
that the faster generator plans the very same stream, draw for draw. Not product code:
change the product's generator and this copy stays as it is; a change meant to alter
the stream updates the oracle test's reasoning, not this file.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime
import functools
import hashlib
import itertools
import random
import zlib
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import oracle_header as header

from interchange.axis import gazetteer
from interchange.axis.directory import Directory, body_of_id, tier_of_id
from interchange.errors import ConfigError
from interchange.people import person_name
from interchange.wire.model import (
    AgencyRef,
    Attachment,
    Business,
    BusinessType,
    Document,
    DocumentType,
    ReasonCode,
    Secrecy,
    Signer,
    Tier,
)
from interchange.workload import wording
from interchange.workload.faults import EXPECTED_REASON, Fault
from interchange.workload.flows import effective_flows, members, related
from interchange.workload.spec import Direction, Role, WorkloadSpec, direction_of, role_of_id

__all__ = ["Direction", "Expected", "Planned", "Role", "WorkloadSpec", "generate", "shard_of"]

DEFAULT_START_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z, for reproducible tests
ICT = datetime.timezone(datetime.timedelta(hours=7))  # dates are Vietnam's
REPLAY_POOL = 256  # replays re-send one of the last 256 fault-free documents
REPLY_POOL = 1024
TARGET_POOL = 16  # a revoke, update or replace names one of its sender's last 16 delivered
# edXML BussinessDocReason of the generated revokes, updates and replaces
BUSINESS_REASONS = {
    BusinessType.REVOKE: "Thu hồi văn bản ban hành không đúng thẩm quyền",
    BusinessType.UPDATE: "Cập nhật nội dung và thời hạn thực hiện",
    BusinessType.REPLACE: "Thay thế văn bản có sai sót",
}
K = TypeVar("K")
NOT_CONNECTED = ReasonCode.NOT_CONNECTED


@dataclass(frozen=True, slots=True)
class Expected:
    """The router outcome planned for one recipient: None = delivered."""

    recipient: str
    tier: Tier
    reason: ReasonCode | None


@dataclass(frozen=True, slots=True)
class Planned:
    """One submission of the stream. For a REPLAY, `document` is the earlier one."""

    seq: int  # position in the whole stream
    document: Document
    offset_us: int  # since run start; the intended send time is start + offset
    send_at_us: int
    fault: Fault | None
    signer: str  # agency whose key signs (not the sender for UNKNOWN_SENDER, SENDER_MISMATCH)
    direction: Direction
    expected: tuple[Expected, ...]
    replay_of: int | None = None  # seq of the original

    @property
    def offset_s(self) -> float:
        return self.offset_us / 1e6

    @property
    def sender(self) -> str:
        return self.document.sender.id

    @property
    def sender_tier(self) -> Tier:
        return _tier_of_sender(self.document.sender.id)

    @property
    def key(self) -> bytes:
        """Kafka record key: the sender id as written in the document."""
        return self.document.sender.id.encode()

    @property
    def withheld(self) -> bool:
        """Classified and not a deliberate leak: the producer keeps it off the axis (it never
        sends a classified document) and only counts it."""
        return self.document.secrecy.classified and self.fault is not Fault.CLASSIFIED_LEAK

    @property
    def rejection(self) -> ReasonCode | None:
        """The document-level reason, when the whole document is rejected."""
        if self.fault is not None:
            return EXPECTED_REASON[self.fault]
        return ReasonCode.CLASSIFIED if self.document.secrecy.classified else None


# The producer asks for a document's sender tier more than once per document (metrics,
# counts); parsing the id each time cost ~3 µs. Ids come from one directory: bounded.
_tier_of_sender = functools.lru_cache(maxsize=1 << 16)(tier_of_id)


def shard_of(key: bytes, shards: int) -> int:
    """Stable shard of a sender key: every document of a sender lands in one process."""
    return zlib.crc32(key) % shards


def for_shard(stream: Iterable[Planned], index: int, shards: int) -> Iterator[Planned]:
    if not 0 <= index < shards:
        raise ConfigError(f"shard {index} is not in 0..{shards - 1}")
    return (p for p in stream if shard_of(p.key, shards) == index)


class _Chooser(Generic[K]):
    """Weighted choice by one uniform draw (deterministic given the rng state)."""

    def __init__(self, weights: Mapping[K, float]) -> None:
        self.items = [k for k, w in weights.items() if w > 0]
        self.cumulative = list(itertools.accumulate(weights[k] for k in self.items))

    def __call__(self, rng: random.Random) -> K:
        u = rng.random() * self.cumulative[-1]
        return self.items[min(bisect.bisect_right(self.cumulative, u), len(self.items) - 1)]


def generate(
    directory: Directory, spec: WorkloadSpec, seed: int, *, start_us: int = DEFAULT_START_US
) -> Iterator[Planned]:
    """The planned stream (see the module docstring); stops at `spec.count`/`duration_s`."""
    return _Generator(directory, spec, seed, start_us).run()


class _Generator:
    def __init__(self, directory: Directory, spec: WorkloadSpec, seed: int, start_us: int):
        self.d, self.spec, self.start_us = directory, spec, start_us
        self.rng = random.Random(seed)
        self.flows = _Chooser(effective_flows(directory, spec))
        self.types = {k: _Chooser(v) for k, v in spec.type_mix.items()}
        self.priorities = _Chooser(spec.priority_mix)
        self.sizes = _Chooser(spec.attachment_mix)
        self.n_recipients = _Chooser(spec.recipients_mix)
        self.business = _Chooser(spec.business_mix)
        self.fault_items = list(spec.faults.items())
        self.secrecy_items = list(spec.classified.items())
        self.senders = {r: tuple(a.id for a in members(directory, r) if a.connected) for r in Role}
        self.any_sender = tuple(a for r in Role for a in self.senders[r])
        self.candidates: dict[tuple[str, Role], Sequence[str]] = {}
        self.counters: dict[str, int] = {}
        self.replayable: deque[Planned] = deque(maxlen=REPLAY_POOL)
        self.answerable: deque[Planned] = deque(maxlen=REPLY_POOL)
        # per sender: its last documents the router will deliver (targets of 1-3)
        self.delivered_by: dict[str, deque[Planned]] = {}
        self.refs: dict[AgencyRef, AgencyRef] = {}  # each agency with its header details

    def run(self) -> Iterator[Planned]:
        t = 0.0
        for seq in itertools.count():
            if self.spec.count is not None and seq >= self.spec.count:
                return
            t += self.rng.expovariate(self.spec.rate)
            if self.spec.duration_s is not None and t >= self.spec.duration_s:
                return
            planned = self.plan(seq, round(t * 1e6))
            if planned.fault is None and not planned.document.secrecy.classified:
                self.replayable.append(planned)
                if any(e.reason is None for e in planned.expected):
                    self.answerable.append(planned)
                    pool = self.delivered_by.setdefault(planned.sender, deque(maxlen=TARGET_POOL))
                    pool.append(planned)
            yield planned

    def draw_fault(self) -> Fault | None:
        u = self.rng.random()
        for fault, rate in self.fault_items:
            if u < rate:
                return fault
            u -= rate
        return None

    def plan(self, seq: int, offset_us: int) -> Planned:
        fault = self.draw_fault()
        if fault is Fault.REPLAY:
            if self.replayable:
                return self.replay(seq, offset_us)
            fault = None  # nothing to replay yet: an ordinary document
        draft = self.route(seq, offset_us, fault)
        if fault is None:
            draft.secrecy = self.draw_secrecy()
        elif fault is Fault.CLASSIFIED_LEAK:
            draft.secrecy = self.draw_classified()
        self.apply_fault(draft)
        document = self.document(draft)
        if fault is not None:
            expected = _all(document, EXPECTED_REASON[fault])
        elif draft.secrecy.classified:
            expected = _all(document, ReasonCode.CLASSIFIED)
        else:
            expected = tuple(
                Expected(r, self.d.tier_of(r), None if self.d.is_connected(r) else NOT_CONNECTED)
                for r in draft.recipients
            )
        send_at = self.start_us + offset_us
        return Planned(
            seq, document, offset_us, send_at, fault, draft.signer, draft.direction, expected
        )

    def replay(self, seq: int, offset_us: int) -> Planned:
        original = self.rng.choice(self.replayable)
        return dataclasses.replace(
            original,
            seq=seq,
            offset_us=offset_us,
            send_at_us=self.start_us + offset_us,
            fault=Fault.REPLAY,
            expected=_all(original.document, ReasonCode.REPLAY),
            replay_of=original.seq,
        )

    def route(self, seq: int, offset_us: int, fault: Fault | None) -> _Draft:
        rng = self.rng
        reply_to = self.pick_reply(offset_us)
        if reply_to is not None:
            sender = rng.choice([e.recipient for e in reply_to.expected if e.reason is None])
            direction = direction_of(role_of_id(sender), role_of_id(reply_to.sender))
            doc_type = rng.choice((DocumentType.REPORT, DocumentType.OFFICIAL_LETTER))
            return _Draft(
                seq, offset_us, fault, sender, [reply_to.sender], direction, doc_type, reply_to
            )
        src, dst = self.flows(rng)
        sender = self.pick_sender(src, offset_us)
        pool = self.recipient_pool(sender, dst)
        recipients = rng.sample(pool, min(self.n_recipients(rng), len(pool)))
        direction = direction_of(src, dst)
        return _Draft(
            seq, offset_us, fault, sender, recipients, direction, self.types[direction](rng), None
        )

    def draw_secrecy(self) -> Secrecy:
        u = self.rng.random()
        for level, share in self.secrecy_items:
            if u < share:
                return level
            u -= share
        return Secrecy.NONE

    def draw_classified(self) -> Secrecy:
        """A classified level, in the proportions of the spec's classified shares."""
        total = sum(share for _, share in self.secrecy_items)
        if total <= 0:
            return Secrecy.CONFIDENTIAL
        u = self.rng.random() * total
        for level, share in self.secrecy_items:
            if u < share:
                return level
            u -= share
        return self.secrecy_items[-1][0]

    def apply_fault(self, draft: _Draft) -> None:
        if draft.fault is Fault.UNKNOWN_SENDER:
            draft.doc_sender = self.unknown_id(tier_of_id(draft.sender))
        elif draft.fault is Fault.SENDER_MISMATCH:
            while draft.signer == draft.sender:  # any other connected agency's valid key
                draft.signer = self.rng.choice(self.any_sender)
        elif draft.fault is Fault.UNKNOWN_RECIPIENT:
            i = self.rng.randrange(len(draft.recipients))
            draft.recipients[i] = self.unknown_id(tier_of_id(draft.recipients[i]))

    def pick_reply(self, offset_us: int) -> Planned | None:
        if not self.answerable or self.rng.random() >= self.spec.reply_share:
            return None
        original = self.rng.choice(self.answerable)
        if any(self.d.is_down(e.recipient, offset_us / 1e6) for e in original.expected):
            return None
        return original

    def pick_sender(self, role: Role, offset_us: int) -> str:
        senders = self.senders[role]
        for _ in range(16):  # skip agencies that are down now
            sender = self.rng.choice(senders)
            if not self.d.is_down(sender, offset_us / 1e6):
                return sender
        return sender

    def recipient_pool(self, sender: str, role: Role) -> Sequence[str]:
        key = (sender, role)
        pool = self.candidates.get(key)
        if pool is None:
            pool = [a for a in related(self.d, sender, role) if a != sender]
            if not pool:
                pool = [a.id for a in members(self.d, role) if a.id != sender]
            self.candidates[key] = pool
        return pool

    def unknown_id(self, tier: Tier) -> str:
        """A well-formed id of `tier`'s shape that the directory does not hold."""
        rng = self.rng
        for _ in range(10_000):
            n, m, p = rng.randint(1, 99), rng.randint(1, 99), rng.randint(1, 99)
            candidate = {
                Tier.CENTRAL: f"000.00.00.G{n:02d}",
                Tier.PROVINCE: f"000.00.00.H{p:02d}",
                Tier.DISTRICT: f"000.00.{n:02d}.H{p:02d}",
                Tier.COMMUNE: f"000.{m:02d}.{n:02d}.H{p:02d}",
            }[tier]
            if candidate not in self.d:
                return candidate
        raise ConfigError(f"the directory leaves no free {tier} id")  # pragma: no cover

    def document(self, draft: _Draft) -> Document:
        seq, sender, doc_sender, reply_to = (
            draft.seq,
            draft.sender,
            draft.doc_sender,
            draft.reply_to,
        )
        doc_type, recipients = draft.doc_type, draft.recipients
        rng, d = self.rng, self.d
        send_time = self.start_us + draft.offset_us
        day = datetime.datetime.fromtimestamp(send_time / 1e6, ICT).date()
        number = self.counters.get(doc_sender, 0) + 1
        self.counters[doc_sender] = number
        tier = _tier_of_sender(sender)
        issuer = _issuer(sender)
        signers = wording.SIGNERS if sender.startswith("000.") else wording.UNIT_SIGNERS
        abbr = wording.TYPE_ABBREVIATION[doc_type]
        notation = f"{abbr}-{issuer}" if abbr else f"{issuer}-VP"
        position, competence = rng.choice(signers[tier])
        signer_name = person_name(rng)
        topic = rng.choice(wording.TOPICS)
        subject = f"{wording.TYPE_TITLE[doc_type]} {topic}"
        if reply_to is not None:
            subject = (
                f"Trả lời văn bản số {reply_to.document.code_number}/"
                f"{reply_to.document.code_notation} về {topic}"
            )
        size = self.sizes(rng)
        attachments: tuple[Attachment, ...] = ()
        if size:
            content = rng.randbytes(size)
            attachments = (
                Attachment(
                    f"van-ban-{seq}.pdf",
                    "application/pdf",
                    hashlib.sha256(content).digest(),
                    content,
                ),
            )
        due = None
        if rng.random() < self.spec.due_share:
            due = (day + datetime.timedelta(days=rng.randint(3, 30))).isoformat()
        name = d.get(sender).name if doc_sender == sender else "Cơ quan ngoài danh bạ"
        priority = self.priorities(rng)
        business_type, business = self.business_of(draft)
        recipients = draft.recipients
        fields: dict[str, Any] = {
            "id": f"{doc_sender},{day.isoformat().replace('-', '/')},{number}/{notation}",
            "sender": AgencyRef(doc_sender, name),
            "recipients": tuple(
                AgencyRef(r, d.get(r).name if r in d else "Cơ quan ngoài danh bạ")
                for r in recipients
            ),
            "code_number": str(number),
            "code_notation": notation,
            "promulgation_place": _place(d, sender),
            "promulgation_date": day.isoformat(),
            "document_type": doc_type,
            "subject": subject,
            "signer": Signer(signer_name, position, competence),
            "priority": priority,
            "secrecy": draft.secrecy,
            "business_type": business_type,
            "response_for": reply_to.document.id if reply_to is not None else None,
            "due_date": due,
            "attachments": attachments,
            "send_time_us": send_time,
            "business": business,
        }
        answered = reply_to.document if reply_to is not None else None
        fields.update(header.header_fields(fields, d, lambda a: _place(d, a), answered, self.refs))
        return Document(**fields)  # built once, with its header (no `replace`)

    def business_of(self, draft: _Draft) -> tuple[BusinessType, Business | None]:
        """The business type drawn from the mix and, for a revoke, update or replace, its
        target: one of the sender's last `TARGET_POOL` documents the router delivers (and
        for a replace, another one as the replacing document); a revoked or replaced document
        is not named again. Such a document goes to
        the target's recipients. A sender with no such earlier document (the first
        seconds of a run), a reply, a faulted or a classified draft sends a new document
        instead."""
        kind = self.business(self.rng)
        if (
            kind is BusinessType.NEW
            or draft.fault is not None
            or draft.secrecy.classified
            or draft.reply_to is not None  # a reply goes to whom it answers
        ):
            return BusinessType.NEW, None
        pool = self.delivered_by.get(draft.sender)
        if pool is None or len(pool) < (2 if kind is BusinessType.REPLACE else 1):
            return BusinessType.NEW, None
        target, *other = self.rng.sample(list(pool), 2 if kind is BusinessType.REPLACE else 1)
        if kind is not BusinessType.UPDATE:  # revoked or replaced: never a target again
            pool.remove(target)
        draft.recipients = [r.id for r in target.document.recipients]
        replacement = other[0].document.id if other else None
        return kind, Business(target.document.id, BUSINESS_REASONS[kind], replacement)


@dataclass
class _Draft:
    """A document being planned (mutable while faults are applied)."""

    seq: int
    offset_us: int
    fault: Fault | None
    sender: str
    recipients: list[str]
    direction: Direction
    doc_type: DocumentType
    reply_to: Planned | None
    secrecy: Secrecy = Secrecy.NONE
    doc_sender: str = ""
    signer: str = ""

    def __post_init__(self) -> None:
        self.doc_sender = self.doc_sender or self.sender
        self.signer = self.signer or self.sender


def _all(document: Document, reason: ReasonCode) -> tuple[Expected, ...]:
    return tuple(Expected(r.id, tier_of_id(r.id), reason) for r in document.recipients)


_CENTRAL_ABBR = {f"000.00.00.G{n:02d}": abbr for n, _, abbr in gazetteer.CENTRAL_BODIES}
_UNIT_ABBR = {
    (tier, spec.number): spec.abbreviation
    for tier, specs in (
        (Tier.CENTRAL, gazetteer.CENTRAL_UNITS),
        (Tier.PROVINCE, gazetteer.PROVINCE_UNITS),
        (Tier.DISTRICT, gazetteer.DISTRICT_UNITS),
        (Tier.COMMUNE, gazetteer.COMMUNE_UNITS),
    )
    for spec in specs
}


def _issuer(agency_id: str) -> str:
    """The issuer's part of a notation: BTC, UBND, a department's SYT, a ministry's BTC-PC."""
    body = _CENTRAL_ABBR.get(body_of_id(agency_id), wording.PEOPLES_COMMITTEE)
    if agency_id.startswith("000."):
        return body
    unit = _UNIT_ABBR.get((tier_of_id(agency_id), int(agency_id[:3])), "VP")
    return f"{body}-{unit}" if tier_of_id(agency_id) is Tier.CENTRAL else unit


def _place(d: Directory, agency_id: str) -> str:
    province = d.ancestor(body_of_id(agency_id), Tier.PROVINCE)
    if province is None:
        return wording.CAPITAL
    for kind in ("Ủy ban nhân dân thành phố ", "Ủy ban nhân dân tỉnh "):
        if province.name.startswith(kind):
            return province.name[len(kind) :]
    return province.name
