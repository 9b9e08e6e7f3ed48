"""The seedable document stream: who sends what to whom, when, and with which fault.

`generate` is pure: one `random.Random(seed)` drives every draw in a fixed order,
so the same directory, spec, seed and `start_us` give the same stream, byte for
byte. Each `Planned` carries the outcome the router must reach for each
recipient, following the check order of docs/ARCHITECTURE.md, so a run can be
checked against its plan. Senders are connected agencies that are not down at
their send time; recipients may be unconnected (expected NOT_CONNECTED).
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
from typing import Generic, TypeVar

from interchange.axis import gazetteer
from interchange.axis.directory import Directory, body_of_id, tier_of_id
from interchange.errors import ConfigError
from interchange.people import person_name
from interchange.wire.assemble import positional
from interchange.wire.model import (
    DOCUMENT_KINDS,
    AgencyRef,
    Attachment,
    Business,
    BusinessType,
    Document,
    DocumentType,
    ReasonCode,
    Secrecy,
    Signer,
    SteeringType,
    Tier,
)
from interchange.workload import header, wording
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
        self.total, self.last = self.cumulative[-1], len(self.items) - 1

    def __call__(self, rng: random.Random) -> K:
        i = bisect.bisect_right(self.cumulative, rng.random() * self.total)
        return self.items[i if i < self.last else self.last]


def generate(
    directory: Directory, spec: WorkloadSpec, seed: int, *, start_us: int = DEFAULT_START_US
) -> Iterator[Planned]:
    """The planned stream (see the module docstring); stops at `spec.count`/`duration_s`."""
    return _Generator(directory, spec, seed, start_us).run()


class _Generator:
    def __init__(self, directory: Directory, spec: WorkloadSpec, seed: int, start_us: int):
        self.d, self.spec, self.start_us = directory, spec, start_us
        self.rng = random.Random(seed)  # noqa: S311 - seeded simulation, not cryptography
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
        # Per-document work done once instead (each was recomputed per document; together
        # about half of the generator's CPU, docs/BENCHMARKS.md "Producer's per-document
        # work"): each sender's and recipient's fixed parts, each flow's direction, each
        # recipient's planned outcome, the dates of the current day.
        self.sender_parts: dict[str, _Sender] = {}
        self.refs: dict[str, AgencyRef] = {}  # each directory agency with its header details
        self.delivered_to: dict[str, Expected] = {}
        self.directions: dict[tuple[Role, Role], Direction] = {}
        self.roles: dict[str, Role] = {}
        self.with_downtime = frozenset(a.id for a in directory if directory.downtime_of(a.id))
        self.day = _Day(start_us)

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
                    sender = planned.document.sender.id
                    pool = self.delivered_by.get(sender)
                    if pool is None:
                        pool = self.delivered_by[sender] = deque(maxlen=TARGET_POOL)
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
            delivered_to = self.delivered_to
            expected = tuple(
                delivered_to.get(r) or self.expected_delivery(r) for r in draft.recipients
            )
        send_at = self.start_us + offset_us
        return _PLANNED(
            seq, document, offset_us, send_at, fault, draft.signer, draft.direction, expected, None
        )

    def expected_delivery(self, recipient: str) -> Expected:
        """The planned outcome of a fault-free, unclassified document for `recipient`
        (frozen, so one value serves every plan)."""
        d = self.d
        reason = None if d.is_connected(recipient) else NOT_CONNECTED
        expected = self.delivered_to[recipient] = Expected(recipient, d.tier_of(recipient), reason)
        return expected

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
            direction = self.direction(self.role(sender), self.role(reply_to.sender))
            doc_type = rng.choice((DocumentType.REPORT, DocumentType.OFFICIAL_LETTER))
            return _Draft(
                seq, offset_us, fault, sender, [reply_to.sender], direction, doc_type, reply_to
            )
        src, dst = self.flows(rng)
        sender = self.pick_sender(src, offset_us)
        pool = self.recipient_pool(sender, dst)
        recipients = rng.sample(pool, min(self.n_recipients(rng), len(pool)))
        direction = self.direction(src, dst)
        return _Draft(
            seq, offset_us, fault, sender, recipients, direction, self.types[direction](rng), None
        )

    def direction(self, src: Role, dst: Role) -> Direction:
        found = self.directions.get((src, dst))
        if found is None:
            found = self.directions[src, dst] = direction_of(src, dst)
        return found

    def role(self, agency_id: str) -> Role:
        found = self.roles.get(agency_id)
        if found is None:
            found = self.roles[agency_id] = role_of_id(agency_id)
        return found

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
        down = self.with_downtime
        if down and any(
            e.recipient in down and self.d.is_down(e.recipient, offset_us / 1e6)
            for e in original.expected
        ):
            return None
        return original

    def pick_sender(self, role: Role, offset_us: int) -> str:
        senders = self.senders[role]
        down = self.with_downtime
        for _ in range(16):  # skip agencies that are down now
            sender = self.rng.choice(senders)
            if sender not in down or not self.d.is_down(sender, offset_us / 1e6):
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
        doc_type = draft.doc_type
        rng = self.rng
        send_time = self.start_us + draft.offset_us
        day, iso_day, id_day = self.day.of(send_time)
        number = self.counters.get(doc_sender, 0) + 1
        self.counters[doc_sender] = number
        parts = self.sender_parts.get(sender) or self.sender_parts_of(sender)
        notation = parts.notations[doc_type]
        position, competence = rng.choice(parts.signers)
        signer_name = person_name(rng)
        topic = rng.choice(wording.TOPICS)
        subject = f"{wording.TYPE_TITLE[doc_type]} {topic}"
        if reply_to is not None:
            subject = (
                f"Trả lời văn bản số {reply_to.document.code_number}/"
                f"{reply_to.document.code_notation} về {topic}"
            )
        code_number = str(number)
        size = self.sizes(rng)
        attachments: tuple[Attachment, ...] = ()
        if size:
            content = rng.randbytes(size)
            attachments = (
                _ATTACHMENT(
                    f"van-ban-{seq}.pdf",
                    "application/pdf",
                    hashlib.sha256(content).digest(),
                    content,
                    f"{code_number}-1",
                    header.ATTACHMENT_DESCRIPTION,
                ),
            )
        due = None
        if rng.random() < self.spec.due_share:
            due = (day + datetime.timedelta(days=rng.randint(3, 30))).isoformat()
        priority = self.priorities(rng)
        business_type, business = self.business_of(draft)
        recipients = tuple(self.refs.get(r) or self.ref(r) for r in draft.recipients)
        doc_id = f"{doc_sender},{id_day},{number}/{notation}"
        if doc_sender == sender:
            sender_ref, sphere = parts.ref, parts.sphere
        else:  # an unknown sender (a fault) states no details and applies nationwide
            sender_ref, sphere = self.ref(doc_sender), header.NATIONWIDE
        return _DOCUMENT(
            doc_id,
            sender_ref,
            recipients,
            code_number,
            notation,
            parts.place,
            iso_day,
            doc_type,
            subject,
            _SIGNER(signer_name, position, competence),
            priority,
            draft.secrecy,
            business_type,
            reply_to.document.id if reply_to is not None else None,
            due,
            attachments,
            send_time,
            business,
            DOCUMENT_KINDS[doc_type],
            header.to_places(doc_type),
            SteeringType.NONE,
            header.other_info(doc_id, doc_type, sphere, len(recipients), attachments),
            () if reply_to is None else header.response_for(reply_to.document),
        )  # built once, with its header, by position (no keywords, no `replace`)

    def sender_parts_of(self, sender: str) -> _Sender:
        """What every document of `sender` shares (it is in the directory)."""
        d = self.d
        tier = _tier_of_sender(sender)
        issuer = _issuer(sender)
        signers = wording.SIGNERS if sender.startswith("000.") else wording.UNIT_SIGNERS
        place = _place(d, sender)
        notations = {
            t: f"{abbr}-{issuer}" if abbr else f"{issuer}-VP"
            for t, abbr in wording.TYPE_ABBREVIATION.items()
        }
        central = d.get(sender).tier is Tier.CENTRAL
        parts = _Sender(
            self.ref(sender),
            signers[tier],
            place,
            header.NATIONWIDE if central else place,
            notations,
        )
        self.sender_parts[sender] = parts
        return parts

    def ref(self, agency_id: str) -> AgencyRef:
        """`agency_id` as a document names it, with its header details; remembered for a
        directory agency (bounded by the directory: a fault's invented id is not kept)."""
        d = self.d
        found = header.agency_ref(d, agency_id, lambda a: _place(d, a))
        if agency_id in d:
            self.refs[agency_id] = found
        return found

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


@dataclass(frozen=True, slots=True)
class _Sender:
    """What every document of one sender shares."""

    ref: AgencyRef  # with its header details
    signers: Sequence[tuple[str, str]]  # (position, competence) of who may sign
    place: str  # its town: the promulgation place
    sphere: str  # OtherInfo's sphere of promulgation
    notations: Mapping[DocumentType, str]  # the code notation of each document type


class _Day:
    """The send time's date in Vietnam, and its two written forms, for the current day.

    A date from `fromtimestamp` and two `isoformat`s cost more than the rest of the
    document's dates; the stream's send times rise, so one day serves thousands of
    documents. The remembered span stops 1 ms short of either midnight, so a time near
    one is dated exactly as before (through the float `fromtimestamp` takes)."""

    def __init__(self, start_us: int) -> None:
        self.low = self.high = start_us  # empty: the first call computes
        self.dates: tuple[datetime.date, str, str] = (datetime.date.min, "", "")

    def of(self, time_us: int) -> tuple[datetime.date, str, str]:
        """(date, yyyy-MM-dd, yyyy/MM/dd) of `time_us` in Vietnam's time."""
        if self.low <= time_us < self.high:
            return self.dates
        day = datetime.datetime.fromtimestamp(time_us / 1e6, ICT).date()
        iso = day.isoformat()
        self.dates = (day, iso, iso.replace("-", "/"))
        midnight_us = round(datetime.datetime.combine(day, datetime.time(), ICT).timestamp()) * (
            1_000_000
        )
        self.low, self.high = midnight_us + _MARGIN_US, midnight_us + _DAY_US - _MARGIN_US
        return self.dates


_DAY_US = 86_400_000_000  # Vietnam keeps no daylight saving time: every day is 24 h
_MARGIN_US = 1_000
# The records of a plan, built by position through their slots (`assemble.positional`):
# what `__init__` gives, for less (a Document's 23 keywords cost most).
_DOCUMENT = positional(Document)
_SIGNER = positional(Signer)
_ATTACHMENT = positional(Attachment)
_PLANNED = positional(Planned)


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
