"""`interchange keys`: the simulated PKI for integrators (init, enroll, rotate, revoke, list)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections import Counter
from pathlib import Path

from interchange.audit.replay import parse_time_ms
from interchange.axis.presets import PRESET_NAMES
from interchange.cli.common import Command, add_keys_option, settings_from_args
from interchange.errors import PkiError

KEYS = Command(
    "keys",
    "integrators",
    "create the simulated national PKI; enroll, rotate, revoke and list certificates",
    "interchange keys init --preset national --algorithms central=rsa-2048,default=ed25519",
)

# interchange.pki.signing.Algorithm, spelled out so `--help` needs no cryptography import
_ALGORITHMS = [
    "ed25519",
    "ecdsa-p256",
    "rsa-2048",
    "rsa-3072",
    "rsa-2048-pkcs1",
    "rsa-3072-pkcs1",
]


def register_keys(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="keys_action", metavar="ACTION", required=True)
    init = _action(
        sub,
        "init",
        "root CA, empty CRL, one key + certificate per agency",
        "interchange keys init --dir keys/ --preset tiny",
    )
    source = init.add_mutually_exclusive_group()
    source.add_argument(
        "--preset",
        choices=PRESET_NAMES,
        default=None,
        help="agency directory preset (default national)",
    )
    source.add_argument(
        "--agencies",
        type=Path,
        metavar="FILE",
        help="a directory JSON file (as written by Directory.save)",
    )
    init.add_argument(
        "--algorithms",
        metavar="POLICY",
        default="",
        help="per tier or agency id, e.g. central=rsa-2048,province=ecdsa-p256,"
        "default=ed25519, or one algorithm for all; rsa-2048-pkcs1 is what the real "
        "axis uses (default: ed25519 for all; docs/PKI.md)",
    )
    init.add_argument(
        "--validity-days",
        type=int,
        default=730,
        metavar="N",
        help="certificate validity from now (default 730; starts a day early)",
    )
    init.add_argument(
        "--workers", type=int, metavar="N", help="key generation processes (default: CPU count)"
    )
    replace = init.add_mutually_exclusive_group()
    replace.add_argument("--force", action="store_true", help="replace an existing PKI")
    replace.add_argument(
        "--if-missing",
        action="store_true",
        help="do nothing when the directory already holds a PKI (for scripted setup)",
    )
    init.set_defaults(func=run_init)

    enroll = _action(
        sub,
        "enroll",
        "issue a certificate + key for one external connector",
        "interchange keys enroll --agency 000.00.00.G22 --algorithm rsa-2048",
    )
    enroll.add_argument("--agency", required=True, metavar="ID")
    enroll.add_argument("--algorithm", choices=_ALGORITHMS, default="ed25519")
    enroll.add_argument(
        "--tier",
        choices=["central", "province", "district", "commune"],
        help="tier (default: from the id scheme)",
    )
    enroll.set_defaults(func=run_enroll)

    rotate = _action(
        sub,
        "rotate",
        "add a new certificate for an agency (old ones stay valid)",
        "interchange keys rotate --agency 000.00.00.G22",
    )
    rotate.add_argument("--agency", required=True, metavar="ID")
    rotate.add_argument("--algorithm", choices=_ALGORITHMS, help="default: the current one")
    rotate.set_defaults(func=run_rotate)

    revoke = _action(
        sub,
        "revoke",
        "add certificates to the CRL as of a time",
        "interchange keys revoke --agency 000.00.00.G22 --at 2026-01-01T00:00:00Z",
    )
    target = revoke.add_mutually_exclusive_group(required=True)
    target.add_argument("--cert-id", metavar="HEX")
    target.add_argument("--agency", metavar="ID", help="every regular certificate of the agency")
    revoke.add_argument(
        "--at", metavar="ISO-TIME", help="revocation time (default now; naive times are UTC)"
    )
    revoke.set_defaults(func=run_revoke)

    show = _action(
        sub,
        "list",
        "summarise the PKI, or list certificates",
        "interchange keys list --agency 000.00.00.G22",
    )
    show.add_argument("--agency", metavar="ID", help="list this agency's certificates")
    show.add_argument("--all", action="store_true", help="list every certificate")
    show.set_defaults(func=run_list)


def _action(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, text: str, example: str
) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        name,
        help=text,
        description=text[0].upper() + text[1:] + ".",
        epilog=f"Example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_keys_option(parser)
    parser.add_argument(
        "--dir", dest="keys_dir", type=Path, metavar="DIR", help="same as --keys-dir"
    )
    return parser


def _keys_dir(args: argparse.Namespace) -> Path:
    return settings_from_args(args).keys_dir


def run_init(args: argparse.Namespace) -> int:
    from interchange.axis.directory import Directory
    from interchange.axis.presets import build_directory
    from interchange.pki.keyfiles import Layout
    from interchange.pki.keystore import AlgorithmPolicy, init_pki

    keys_dir = _keys_dir(args)
    if args.if_missing and Layout(keys_dir).root_cert.exists():
        print(f"{keys_dir} already holds a PKI; left as it is")
        return 0
    if args.agencies is not None:
        directory = Directory.load(args.agencies)
    else:
        directory = build_directory(args.preset or "national")
    report = init_pki(
        keys_dir,
        list(directory),
        policy=AlgorithmPolicy.parse(args.algorithms),
        validity_days=args.validity_days,
        workers=args.workers,
        force=args.force,
    )
    mix = ", ".join(f"{n} {alg}" for alg, n in sorted(report.by_algorithm.items()))
    print(f"root CA {report.root_cert_id} in {keys_dir / 'ca'}")
    print(
        f"{report.certificates} agency certificates ({mix}) in {report.seconds:.1f} s "
        f"with {report.workers} process(es)"
    )
    return 0


def run_enroll(args: argparse.Namespace) -> int:
    from interchange.axis.directory import tier_of_id
    from interchange.errors import DirectoryError
    from interchange.pki.keyfiles import Layout
    from interchange.pki.keystore import Algorithm, enroll
    from interchange.wire.model import Tier

    keys_dir = _keys_dir(args)
    if args.tier:
        tier = Tier(args.tier)
    else:
        try:
            tier = tier_of_id(args.agency)
        except DirectoryError as exc:
            raise PkiError(f"{exc}; give --tier") from exc
    row = enroll(keys_dir, args.agency, tier, Algorithm(args.algorithm))
    layout = Layout(keys_dir)
    print(f"cert id      {row.cert_id}")
    print(f"certificate  {layout.cert(row.cert_id)}")
    print(f"private key  {layout.key(row.cert_id)}  (mode 0600, keep it secret)")
    print(f"root CA      {layout.root_cert}")
    print(f"valid        {_iso(row.not_before_us)} .. {_iso(row.not_after_us)}")
    return 0


def run_rotate(args: argparse.Namespace) -> int:
    from interchange.pki.keystore import Algorithm, rotate

    algorithm = Algorithm(args.algorithm) if args.algorithm else None
    row = rotate(_keys_dir(args), args.agency, algorithm)
    print(
        f"new certificate {row.cert_id} ({row.algorithm}) for {row.agency_id}, "
        f"valid {_iso(row.not_before_us)} .. {_iso(row.not_after_us)}; older ones stay valid"
    )
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    from interchange.pki.keystore import revoke

    at = parse_time_ms(args.at) * 1000 if args.at else None
    revoked = revoke(_keys_dir(args), cert_id=args.cert_id, agency_id=args.agency, at=at)
    when = _iso(at) if at is not None else "now"
    for cert_id in revoked:
        print(f"revoked {cert_id} as of {when}")
    if not revoked:
        print("nothing new to revoke (already in the CRL)", file=sys.stderr)
    return 0


def run_list(args: argparse.Namespace) -> int:
    from interchange.pki.keystore import KeyStore

    store = KeyStore.open(_keys_dir(args))
    rows = store.rows(args.agency)
    if args.agency is None and not args.all:
        regular = [r for r in rows if r.fault is None]
        print(
            f"{len(store.agency_ids())} agencies, {len(regular)} certificates, "
            f"{sum(1 for r in rows if r.enrolled)} enrolled, "
            f"{sum(1 for r in rows if r.fault)} fault certificates, "
            f"{sum(1 for r in regular if store.revoked_at(r) is not None)} revoked"
        )
        for (tier, alg), n in sorted(Counter((r.tier, r.algorithm) for r in regular).items()):
            print(f"  {tier:<9} {alg:<14} {n}")
        return 0
    for r in rows:
        revoked = store.revoked_at(r)
        state = r.fault or ("enrolled" if r.enrolled else "agency")
        if revoked is not None:
            state += f", revoked {_iso(revoked)}"
        print(
            f"{r.cert_id}  {r.agency_id:<14} {r.tier:<9} {r.algorithm:<14} "
            f"{_iso(r.not_before_us)} .. {_iso(r.not_after_us)}  {state}"
        )
    return 0 if rows or args.agency is None else 1


def _iso(time_us: int) -> str:
    when = dt.datetime.fromtimestamp(time_us // 1_000_000, tz=dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")
