"""`interchange edxml import|export`: an agency's edXML packages on the axis (integrators).

Exit status of `import` is `send`'s (0 delivered, 1 rejected or excluded or the package
does not verify, 2 bad input or usage, 3 timeout, 4 not everywhere); with several files,
the worst. `export` exits 0 when it wrote something, 1 when nothing matched.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from interchange.cli.common import (
    Command,
    add_kafka_options,
    add_keys_option,
    kafka_settings,
    settings_from_args,
)
from interchange.errors import ConfigError

EDXML = Command(
    "edxml",
    "integrators",
    "import signed edXML packages onto the axis, or export documents and statuses as packages",
    "interchange edxml import --bootstrap 127.0.0.1:9092 package.xml\n"
    "  interchange edxml export --bootstrap 127.0.0.1:9092 --agency 000.00.00.H01 --out out/",
)


def register_edxml(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="edxml_action", metavar="ACTION", required=True)
    imp = sub.add_parser(
        "import",
        help="check, verify and submit edXML packages, then follow each one's fate",
        description="Parse each package (hardened), check its structure and codes, verify its "
        "XML-DSig signature against the sender's certificate in the keys directory, submit it "
        "with content format EDXML and follow its fate as 'send' does. A status package is "
        "checked (codes, ids) and sent to the status topic, keyed by the original sender.",
        epilog="Example:\n  interchange edxml import --bootstrap 127.0.0.1:9092 package.xml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_kafka_options(imp)
    add_keys_option(imp)
    imp.add_argument("files", nargs="+", type=Path, metavar="FILE", help="edXML package files")
    imp.add_argument(
        "--timeout", type=float, default=30.0, metavar="S", help="follow each fate this long"
    )
    imp.add_argument(
        "--until",
        choices=["acknowledged", "arrived"],
        default="acknowledged",
        help="settled when every recipient sent 03-06 (default) or 01",
    )
    imp.add_argument(
        "--no-verify",
        action="store_true",
        help="submit even a package whose signature does not verify here (to see the "
        "router reject it)",
    )
    imp.set_defaults(func=run_import)

    exp = sub.add_parser(
        "export",
        help="write delivered documents (and their statuses) as edXML packages",
        description="Write documents on the axis as edXML packages: a package submitted as "
        "edXML byte for byte; an Avro document mapped to a package and signed with its "
        "sender's RSA PKCS#1 v1.5 key when that key is in the keys directory (unsigned "
        "otherwise, said on its line). Statuses of the written documents become status packages.",
        epilog="Example:\n  interchange edxml export --bootstrap 127.0.0.1:9092 "
        "--document '000.00.00.G22,2026/12/01,12/VPCP-TH' --out out/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_kafka_options(exp)
    add_keys_option(exp)
    which = exp.add_mutually_exclusive_group(required=True)
    which.add_argument("--document", metavar="DOC_ID", help="the document with this id")
    which.add_argument("--agency", metavar="ID", help="every delivery in this agency's inbox")
    exp.add_argument("--out", type=Path, required=True, metavar="DIR", help="output directory")
    exp.add_argument("--no-status", action="store_true", help="do not write status packages")
    exp.add_argument(
        "--idle", type=float, default=2.0, metavar="S", help="read until S seconds without data"
    )
    exp.set_defaults(func=run_export)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc


def run_import(args: argparse.Namespace) -> int:
    from interchange.clock import now_us
    from interchange.delivery.edxml_io import import_and_follow, submit_status
    from interchange.delivery.fate import Until
    from interchange.delivery.send import refuse_classified
    from interchange.edxml import read
    from interchange.edxml.package import prepare, verify_prepared
    from interchange.errors import DecodeError
    from interchange.pki.truststore import TrustStore
    from interchange.wire.model import StatusMessage

    settings = settings_from_args(args)
    trust = TrustStore.open(settings.keys_dir)
    prepared_all = []
    answers: list[tuple[Path, StatusMessage]] = []
    for path in args.files:  # every file is checked before anything is sent
        data = _read(path)
        try:
            package = read.parse_package(data)
            if package.status:
                answers.append((path, read.status_of(package.root)))
                continue
            prepared = prepare(data, now_us())
        except DecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from exc
        refuse_classified(prepared.document.secrecy)
        verdict = verify_prepared(prepared, trust, now_us())
        if verdict is not None and not args.no_verify:
            word = f" ({verdict[1].word})" if verdict[1] is not None else ""
            print(f"{path}: does not verify: {verdict[0].value}{word}", file=sys.stderr)
            return 1
        prepared_all.append((path, prepared))
    worst = 0
    with kafka_settings(settings) as live:
        for path, msg in answers:
            submit_status(live, msg)
            print(
                f"status {msg.code.value} for {msg.document_id} from {msg.recipient} "
                f"submitted ({path})",
                flush=True,
            )
        for path, prepared in prepared_all:
            doc = prepared.document

            def sent(partition: int, offset: int, path: Path = path, doc_id: str = doc.id) -> None:
                print(doc_id, flush=True)
                print(
                    f"submitted      {path} -> partition {partition} offset {offset}",
                    file=sys.stderr,
                    flush=True,
                )

            fate = import_and_follow(
                live,
                prepared,
                timeout_s=args.timeout,
                until=Until(args.until),
                on_sent=sent,
                on_event=lambda line: print(line, flush=True),
            )
            print(fate.summary(), flush=True)
            worst = max(worst, fate.outcome().exit_code)
    return worst


def run_export(args: argparse.Namespace) -> int:
    from interchange.axis.directory import tier_of_id
    from interchange.delivery.edxml_io import deliveries, statuses
    from interchange.delivery.inbox import document_file_name
    from interchange.edxml import build
    from interchange.edxml.package import export_document, signing_credential
    from interchange.errors import EncodeError
    from interchange.pki.keystore import KeyStore, TrustStore

    settings = settings_from_args(args)
    if settings.bootstrap is None:
        raise ConfigError(
            "nothing to export from: give --bootstrap HOST:PORT (the broker that holds the "
            "deliveries); an embedded broker started for this command would be empty"
        )
    keys = KeyStore.open(settings.keys_dir)
    trust = TrustStore.open(settings.keys_dir)
    args.out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    with kafka_settings(settings) as live:
        tier = tier_of_id(args.agency) if args.agency else None
        for item in deliveries(live, args.idle, agency=args.agency, tier=tier):
            doc = item.document
            if doc.id in written or (args.document and doc.id != args.document):
                continue
            credential = signing_credential(keys.credentials(doc.sender.id, doc.send_time_us))
            cert = trust.x509_certificate(credential.cert_id) if credential else None
            try:
                data, signed = export_document(item.envelope, doc, credential, cert)
            except EncodeError as exc:
                print(f"{doc.id}  not written: {exc}", file=sys.stderr, flush=True)
                continue
            path = args.out / f"{document_file_name(doc.id)}.xml"
            path.write_bytes(data)
            written[doc.id] = path
            note = "" if signed else " (unsigned: no RSA PKCS#1 v1.5 key of the sender here)"
            print(f"{doc.id}  {path}{note}", flush=True)
        if written and not args.no_status:
            for msg in statuses(live, set(written), args.idle):
                stem = document_file_name(msg.document_id)
                name = f"{stem}.status-{msg.code.value}-{msg.recipient}.xml"
                (args.out / name).write_bytes(build.serialise(build.status_package(msg)))
                print(f"{msg.document_id}  status {msg.code.value} from {msg.recipient}  {name}")
    if not written:
        print("no matching delivery found", file=sys.stderr)
        return 1
    return 0
