"""`interchange send` and `interchange inbox`: act as one agency on the axis (integrators).

Exit status of `send` (docs/CONNECTOR.md): 0 delivered (and acknowledged, with
the default `--until acknowledged`) by every recipient; 1 rejected or excluded
by the router; 2 usage, key or Kafka error; 3 timeout; 4 settled but not
everywhere (a recipient not connected, or refusing with status 02).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from interchange.audit.replay import parse_time_ms
from interchange.cli.common import (
    Command,
    StopFlag,
    add_directory_options,
    add_kafka_options,
    add_keys_option,
    kafka_settings,
    settings_from_args,
)
from interchange.errors import ConfigError
from interchange.wire.model import Business, BusinessType, StatusCode

SEND = Command(
    "send",
    "integrators",
    "submit one signed document as an agency and report its fate (delivered, acknowledged, "
    "rejected)",
    "interchange send --bootstrap 127.0.0.1:9092 --as 000.00.00.G22 --to 000.00.00.H01 "
    '--subject "Báo cáo tháng" --code-number 12 --code-notation VPCP-TH --attach report.pdf\n'
    "  interchange send --bootstrap 127.0.0.1:9092 --as 000.00.00.G22 --to 000.00.00.H01 "
    "--recall '000.00.00.G22,2025/09/01,12/VPCP-TH' --reason 'sent in error' "
    '--subject "Thu hồi văn bản 12/VPCP-TH" --code-number 13 --code-notation VPCP-TH',
)
INBOX = Command(
    "inbox",
    "integrators",
    "receive as an agency: verify, list or save documents, acknowledge with status codes",
    "interchange inbox --bootstrap 127.0.0.1:9092 --agency 000.00.00.H01 --drain "
    "--save inbox/ --ack 01,03",
)

_TYPES = ["decision", "directive", "official-letter", "report", "plan", "notice", "resolution",
          "submission"]  # fmt: skip
_SECRECY = {"none": "NONE", "confidential": "CONFIDENTIAL", "secret": "SECRET",
            "top-secret": "TOP_SECRET"}  # fmt: skip


def register_send(parser: argparse.ArgumentParser) -> None:
    add_kafka_options(parser)
    add_keys_option(parser)
    d = parser.add_argument_group("document")
    d.add_argument("--as", dest="sender", required=True, metavar="AGENCY_ID", help="sender")
    d.add_argument("--to", action="append", required=True, metavar="ID[,ID...]", help="recipients")
    d.add_argument("--subject", required=True, help="subject line (trích yếu)")
    d.add_argument("--code-number", required=True, metavar="N", help="CodeNumber, e.g. 7816")
    d.add_argument(
        "--code-notation", required=True, metavar="X", help="CodeNotation, e.g. VPCP-TTĐT"
    )
    d.add_argument("--type", choices=_TYPES, default="official-letter", help="document type")
    d.add_argument("--priority", type=int, choices=range(5), default=0, help="0 normal .. 4")
    d.add_argument(
        "--secrecy",
        choices=list(_SECRECY),
        default="none",
        help="anything but none is refused before sending (exit 2): classified documents "
        "do not travel over the axis",
    )
    b = parser.add_argument_group(
        "revoke, update, replace (business types 1-3)",
        "name a document this sender delivered earlier, or the router rejects it "
        "(UNKNOWN_TARGET); a recall is answered per recipient with status 13 then 15 "
        "(agreed) or 16 (refused: its work record is completed), an update with 15 or 16",
    )
    act = b.add_mutually_exclusive_group()
    act.add_argument("--recall", metavar="DOC_ID", help="revoke (recall) this document")
    act.add_argument("--update", metavar="DOC_ID", help="update this document")
    act.add_argument(
        "--replace", metavar="DOC_ID", help="replace this document (with --by: the replacing one)"
    )
    b.add_argument("--by", metavar="DOC_ID", help="with --replace: the replacing document's id")
    b.add_argument("--reason", default="", help="why (edXML BussinessDocReason)")
    d.add_argument("--attach", action="append", type=Path, default=[], metavar="FILE")
    d.add_argument("--reply-to", metavar="DOC_ID", help="id of the document this one answers")
    d.add_argument("--due-date", metavar="YYYY-MM-DD")
    d.add_argument("--date", metavar="YYYY-MM-DD", help="promulgation date (default today, UTC)")
    d.add_argument("--place", default="Hà Nội", help="promulgation place")
    d.add_argument("--signer", metavar="NAME", help="signer's name")
    d.add_argument("--position", metavar="TEXT", help="signer's position")
    add_directory_options(d, whose="agency names", default=None)
    f = parser.add_argument_group("following")
    f.add_argument("--timeout", type=float, default=30.0, metavar="S", help="default 30")
    f.add_argument(
        "--until",
        choices=["arrived", "acknowledged"],
        default="acknowledged",
        help="delivered means status 01 (arrived) or 03-06 (acknowledged, default)",
    )
    parser.set_defaults(func=run_send)


def _business(args: argparse.Namespace) -> tuple[BusinessType, Business | None]:
    """--recall / --update / --replace (+ --by, --reason) as the document's business type
    and substance; a usage error (exit 2) for --by without --replace or the reverse, or
    for a target (or --by) that is not a well-formed document id."""
    if args.by is not None and args.replace is None:
        raise ConfigError("--by names the replacing document of a --replace")
    if args.replace is not None and args.by is None:
        raise ConfigError("--replace needs --by DOC_ID, the replacing document")
    for kind, flag, target in (
        (BusinessType.REVOKE, "--recall", args.recall),
        (BusinessType.UPDATE, "--update", args.update),
        (BusinessType.REPLACE, "--replace", args.replace),
    ):
        if target is not None:
            _check_document_id(flag, target)
            if args.by is not None:
                _check_document_id("--by", args.by)
            return kind, Business(target, args.reason, args.by)
    if args.reason:
        raise ConfigError("--reason goes with --recall, --update or --replace")
    return BusinessType.NEW, None


def _check_document_id(flag: str, text: str) -> None:
    """A usage error (exit 2, before anything is sent) for a target that is not an id."""
    from interchange.wire.codec import valid_document_id

    if not valid_document_id(text):
        raise ConfigError(
            f"{flag} {text!r} is not a document id (sender,yyyy/MM/dd,number/notation)"
        )


def _names(args: argparse.Namespace) -> dict[str, str]:
    from interchange.axis.directory import Directory
    from interchange.axis.presets import build_directory

    if args.directory:
        return {a.id: a.name for a in Directory.load(args.directory)}
    if args.preset:
        return {a.id: a.name for a in build_directory(args.preset)}
    return {}


def run_send(args: argparse.Namespace) -> int:
    from interchange.delivery.fate import Until
    from interchange.delivery.send import (
        DEFAULT_SIGNER,
        SendRequest,
        Sent,
        parse_recipients,
        refuse_classified,
        send_and_follow,
    )
    from interchange.pki.keystore import KeyStore
    from interchange.wire.model import DocumentType, Priority, Secrecy, Signer

    business_type, business = _business(args)
    settings = settings_from_args(args)
    credential = KeyStore.open(settings.keys_dir).credential(args.sender)
    request = SendRequest(
        sender=args.sender,
        recipients=parse_recipients(args.to),
        subject=args.subject,
        code_number=args.code_number,
        code_notation=args.code_notation,
        document_type=DocumentType(args.type.upper().replace("-", "_")),
        priority=Priority(args.priority),
        secrecy=Secrecy(_SECRECY[args.secrecy]),
        business_type=business_type,
        business=business,
        attachments=tuple(args.attach),
        reply_to=args.reply_to,
        due_date=args.due_date,
        promulgation_date=args.date,
        place=args.place,
        signer=Signer(
            args.signer or DEFAULT_SIGNER.name,
            args.position or DEFAULT_SIGNER.position,
            DEFAULT_SIGNER.competence,
        ),
        names=_names(args),
    )
    refuse_classified(request.secrecy)  # before any broker is started or reached

    def sent(s: Sent) -> None:
        print(s.document.id, flush=True)
        print(
            f"submitted      {s.document.sender.id} -> {len(s.document.recipients)} recipient(s), "
            f"cert {credential.cert_id[:16]}, partition {s.partition} offset {s.offset}",
            file=sys.stderr,
            flush=True,
        )

    with kafka_settings(settings) as live:
        fate = send_and_follow(
            live,
            request,
            credential,
            timeout_s=args.timeout,
            until=Until(args.until),
            on_sent=sent,
            on_event=lambda line: print(line, flush=True),
        )
    print(fate.summary(), flush=True)
    return fate.outcome().exit_code


def register_inbox(parser: argparse.ArgumentParser) -> None:
    add_kafka_options(parser)
    add_keys_option(parser)
    g = parser.add_argument_group("inbox")
    g.add_argument("--agency", required=True, metavar="ID", help="receive as this agency")
    g.add_argument(
        "--tier",
        choices=["central", "province", "district", "commune"],
        help="delivery topic tier (default: from the id scheme)",
    )
    g.add_argument("--drain", action="store_true", help="exit after --idle seconds without data")
    g.add_argument("--idle", type=float, default=2.0, metavar="S", help="drain window (default 2)")
    g.add_argument("--max", type=int, metavar="N", help="exit after N documents")
    g.add_argument("--since", metavar="ISO-TIME", help="only records from this time on")
    g.add_argument(
        "--group",
        metavar="NAME",
        help="commit what was read under this consumer group: the next run with the same "
        "group resumes after it, so nothing is listed or acknowledged twice",
    )
    g.add_argument("--save", type=Path, metavar="DIR", help="save documents and attachments")
    g.add_argument(
        "--ack",
        metavar="CODES",
        default="",
        help="status codes to send for each valid document, e.g. 01,03 "
        "(invalid documents get 02 with the reason)",
    )
    parser.set_defaults(func=run_inbox)


def _acks(text: str) -> tuple[StatusCode, ...]:
    try:
        return tuple(StatusCode(c.strip().zfill(2)) for c in text.split(",") if c.strip())
    except ValueError as exc:
        known = ", ".join(c.value for c in StatusCode)
        raise ConfigError(f"--ack {text!r}: unknown status code (known: {known})") from exc


def run_inbox(args: argparse.Namespace) -> int:
    from interchange.axis.directory import tier_of_id
    from interchange.delivery.inbox import (
        AgencyInbox,
        InboxConfig,
        Received,
        save,
        summary_line,
    )
    from interchange.errors import DirectoryError
    from interchange.kafka.clients import await_kafka
    from interchange.pki.truststore import TrustStore
    from interchange.wire.model import Tier

    settings = settings_from_args(args)
    try:
        tier = Tier(args.tier) if args.tier else tier_of_id(args.agency)
    except DirectoryError as exc:
        raise ConfigError(f"{exc}; give --tier") from exc
    acks = _acks(args.ack)
    config = InboxConfig(
        agency_id=args.agency,
        tier=tier,
        since_ms=parse_time_ms(args.since) if args.since else None,
        acks=acks,
        idle_exit_s=args.idle if args.drain else None,
        max_documents=args.max,
        group=args.group,
    )
    trust = TrustStore.open(settings.keys_dir)
    invalid = 0

    def show(item: Received) -> None:
        nonlocal invalid
        invalid += not item.valid
        print(summary_line(item), flush=True)
        if args.save is not None:
            save(item, args.save)

    stop = StopFlag().install()
    with kafka_settings(settings) as live:

        def say(line: str) -> None:
            print(line, file=sys.stderr, flush=True)

        if not await_kafka(live.bootstrap or "", stop, say, "inbox"):
            say(f"inbox: stopped ({stop.signal_name}) before Kafka answered")
            return 0
        inbox = AgencyInbox(live, trust, config)
        received = inbox.run(stop, show)
    print(
        f"{received} document(s) for {args.agency}, {invalid} invalid, "
        f"{inbox.acked} status message(s) sent",
        file=sys.stderr,
    )
    return 1 if invalid else 0
