"""Fault kinds, the `--faults` parser, and the router reason each fault must get.

A fault is decided by the workload (`interchange.workload.generator`), which also
fixes every document-level consequence (an unknown sender id, another agency's
key). Sealing (`interchange.workload.sealing`) applies the byte-level part when the
envelope is built:

    TAMPERED_CONTENT    signed, then the subject is changed: still a canonical document
    TAMPERED_SIGNATURE  one bit of the signature flipped (length and DER shape kept)
    REVOKED_CERT        signed with a credential whose certificate is revoked
    EXPIRED_CERT        signed with a credential whose certificate has expired
    UNKNOWN_SENDER      the document names a sender outside the directory (any key signs)
    SENDER_MISMATCH     signed with another agency's valid credential
    MALFORMED           the envelope bytes truncated (even seq) or replaced by garbage (odd)
    REPLAY              an earlier document re-sent with the same content and signature
    UNKNOWN_RECIPIENT   one recipient id is outside the directory
    CLASSIFIED_LEAK     a classified document submitted anyway (a misclassified document, or
                        a connector that ignores the rule): the router's exclusion, the second
                        line, must catch it

Each kind maps to exactly one router reason (`EXPECTED_REASON`), given the
check order of docs/ARCHITECTURE.md. Only a CLASSIFIED_LEAK document is classified:
every other classified document of the workload is withheld at the source
(`Planned.withheld`), as every producer must do, and only counted.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

from interchange.errors import ConfigError
from interchange.wire.model import ReasonCode


class Fault(enum.StrEnum):
    TAMPERED_CONTENT = "tampered_content"
    TAMPERED_SIGNATURE = "tampered_signature"
    REVOKED_CERT = "revoked_cert"
    EXPIRED_CERT = "expired_cert"
    UNKNOWN_SENDER = "unknown_sender"
    SENDER_MISMATCH = "sender_mismatch"
    MALFORMED = "malformed"
    REPLAY = "replay"
    UNKNOWN_RECIPIENT = "unknown_recipient"
    CLASSIFIED_LEAK = "classified_leak"


EXPECTED_REASON: Mapping[Fault, ReasonCode] = MappingProxyType(
    {
        Fault.TAMPERED_CONTENT: ReasonCode.BAD_SIGNATURE,
        Fault.TAMPERED_SIGNATURE: ReasonCode.BAD_SIGNATURE,
        Fault.REVOKED_CERT: ReasonCode.REVOKED,
        Fault.EXPIRED_CERT: ReasonCode.EXPIRED,
        Fault.UNKNOWN_SENDER: ReasonCode.UNKNOWN_SENDER,
        Fault.SENDER_MISMATCH: ReasonCode.SENDER_MISMATCH,
        Fault.MALFORMED: ReasonCode.MALFORMED,
        Fault.REPLAY: ReasonCode.REPLAY,
        Fault.UNKNOWN_RECIPIENT: ReasonCode.UNKNOWN_RECIPIENT,
        Fault.CLASSIFIED_LEAK: ReasonCode.CLASSIFIED,
    }
)

# `--faults default`: about 1.3% of documents faulty, every kind present, so a run of a
# few thousand documents exercises each rejection path (docs/WORKLOAD.md).
DEFAULT_FAULTS: Mapping[Fault, float] = MappingProxyType(
    {
        Fault.TAMPERED_CONTENT: 0.002,
        Fault.TAMPERED_SIGNATURE: 0.002,
        Fault.REVOKED_CERT: 0.001,
        Fault.EXPIRED_CERT: 0.001,
        Fault.UNKNOWN_SENDER: 0.001,
        Fault.SENDER_MISMATCH: 0.001,
        Fault.MALFORMED: 0.001,
        Fault.REPLAY: 0.002,
        Fault.UNKNOWN_RECIPIENT: 0.001,
        Fault.CLASSIFIED_LEAK: 0.001,
    }
)
MAX_TOTAL_FAULT_RATE = 0.5


def parse_faults(text: str) -> dict[Fault, float]:
    """`none`, `default`, or `kind=rate,...`; `default,replay=0.01` overrides one kind."""
    rates: dict[Fault, float] = {}
    for raw in text.split(","):
        item = raw.strip().lower()
        if item in ("", "none"):
            continue
        if item == "default":
            rates.update(DEFAULT_FAULTS)
            continue
        name, sep, value = item.partition("=")
        try:
            fault = Fault(name.strip().replace("-", "_"))
        except ValueError:
            known = ", ".join(f.value for f in Fault)
            raise ConfigError(f"unknown fault {name!r} in --faults; known: {known}") from None
        try:
            rate = float(value) if sep else float("nan")
        except ValueError:
            rate = float("nan")
        if not 0.0 <= rate <= 1.0:
            raise ConfigError(f"--faults: {name}={value!r} needs a rate between 0 and 1")
        rates[fault] = rate
    check_fault_rates(rates)
    return rates


def check_fault_rates(rates: Mapping[Fault, float]) -> None:
    if any(not 0.0 <= r <= 1.0 for r in rates.values()):
        raise ConfigError("every fault rate must be between 0 and 1")
    if sum(rates.values()) > MAX_TOTAL_FAULT_RATE:
        raise ConfigError(f"fault rates add up to more than {MAX_TOTAL_FAULT_RATE}")


def format_faults(rates: Mapping[Fault, float]) -> str:
    return ",".join(f"{f.value}={r:g}" for f, r in rates.items() if r > 0) or "none"
