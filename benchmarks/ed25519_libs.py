"""Ed25519 sign and verify per call: OpenSSL (`cryptography`) against libsodium (PyNaCl).

Not a pytest benchmark: it compares the candidate primitives for `pki.signing` on one
~2 KB content, in two ways.

* Instruction counts (load-independent): one process per variant runs the call `--count`
  times after its setup; run it under callgrind twice, with `--count 0` and with
  `--count N`, and the difference of the two totals over N is the count per call.

      valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
          python benchmarks/ed25519_libs.py count verify-openssl --count 0
      valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
          python benchmarks/ed25519_libs.py count verify-openssl --count 2000

  (`callgrind` prints "Collected : <Ir>" on stderr; `count-all` does the pairs for
  every variant and prints the table.)

* Thread CPU time: `time` alternates the variants in one process, round after round,
  and prints the best and the median per call of each (time.thread_time_ns, so other
  processes on a loaded machine cost less than in wall time). Hold a lock against other
  benchmarks on a shared machine: `flock /tmp/bench.lock python ... time`.

Variants: `verify-openssl` (Ed25519PublicKey.verify, what `pki.signing` used),
`verify-nacl-key` (nacl.signing.VerifyKey.verify with a detached signature: it joins
signature and content into one buffer first), `verify-nacl-open` (nacl.bindings.crypto_sign_open
over signature + content: the same libsodium call without VerifyKey's checks),
`verify-signing` (`pki.signing.verifier` as it is now, whatever library it binds), and
the same for signing: `sign-openssl`, `sign-nacl-key` (SigningKey.sign),
`sign-nacl-raw` (nacl.bindings.crypto_sign, first 64 bytes), `sign-signing` (a one-off
`pki.signing.sign`) and `sign-credential` (`Credential.sign`, what the producers call). PyNaCl
exposes no detached call (crypto_sign_verify_detached, crypto_sign_detached): its
combined calls copy the ~2 KB content once more, which costs well under a microsecond.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import nacl.bindings
import nacl.signing
from cryptography.hazmat.primitives.asymmetric import ed25519

from interchange.pki.signing import Algorithm, Credential, sign, verifier

SEED = bytes(range(32))
CONTENT = bytes((i * 7 + 3) % 256 for i in range(2048))


def variants() -> dict[str, Callable[[], object]]:
    """Each variant as a no-argument call, its keys and signature built beforehand."""
    private = ed25519.Ed25519PrivateKey.from_private_bytes(SEED)
    public = private.public_key()
    raw = public.public_bytes_raw()
    signature = private.sign(CONTENT)
    signing_key = nacl.signing.SigningKey(SEED)
    verify_key = nacl.signing.VerifyKey(raw)
    secret = bytes(signing_key._signing_key)
    check = verifier(public, Algorithm.ED25519)
    credential = Credential("000.00.00.G22", "ab" * 32, Algorithm.ED25519, private)
    assert signing_key.sign(CONTENT).signature == signature  # deterministic: same bytes
    assert check(CONTENT, signature)

    return {
        "verify-openssl": lambda: public.verify(signature, CONTENT),
        "verify-nacl-key": lambda: verify_key.verify(CONTENT, signature),
        "verify-nacl-open": lambda: nacl.bindings.crypto_sign_open(signature + CONTENT, raw),
        "verify-signing": lambda: check(CONTENT, signature),
        "sign-openssl": lambda: private.sign(CONTENT),
        "sign-nacl-key": lambda: signing_key.sign(CONTENT).signature,
        "sign-nacl-raw": lambda: nacl.bindings.crypto_sign(CONTENT, secret)[:64],
        "sign-signing": lambda: sign(private, CONTENT, Algorithm.ED25519),
        "sign-credential": lambda: credential.sign(CONTENT),
    }


def run_count(name: str, count: int) -> None:
    call = variants()[name]
    for _ in range(count):
        call()


def _callgrind_ir(name: str, count: int) -> int:
    cmd = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "count",
        name,
        "--count",
        str(count),
    ]
    err = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=1800).stderr
    match = re.search(r"Collected\s*:\s*(\d+)", err)
    if match is None:
        raise SystemExit(f"no callgrind total for {name}: {err[-500:]}")
    return int(match.group(1))


def count_all(names: list[str], count: int) -> None:
    print(f"{'variant':<24} {'instructions/call':>18}")
    for name in names:
        per_call = (_callgrind_ir(name, count) - _callgrind_ir(name, 0)) / count
        print(f"{name:<24} {per_call:>18,.0f}", flush=True)


def time_all(names: list[str], rounds: int, calls: int) -> None:
    table = variants()
    samples: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(rounds):
        for name in names:
            call = table[name]
            start = time.thread_time_ns()
            for _ in range(calls):
                call()
            samples[name].append((time.thread_time_ns() - start) / calls / 1000)
    print(f"{'variant':<24} {'best us':>9} {'median us':>10}  ({rounds} rounds of {calls})")
    for name in names:
        best, median = min(samples[name]), statistics.median(samples[name])
        print(f"{name:<24} {best:>9.1f} {median:>10.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    one = sub.add_parser("count", help="run one variant COUNT times (under callgrind)")
    one.add_argument("variant", choices=sorted(variants()))
    one.add_argument("--count", type=int, default=2000)
    every = sub.add_parser("count-all", help="callgrind instructions per call of each variant")
    every.add_argument("variants", nargs="*")
    every.add_argument("--count", type=int, default=2000)
    timed = sub.add_parser("time", help="thread CPU per call, variants alternated")
    timed.add_argument("variants", nargs="*")
    timed.add_argument("--rounds", type=int, default=15)
    timed.add_argument("--calls", type=int, default=500)
    args = parser.parse_args()
    if args.command == "count":
        run_count(args.variant, args.count)
    elif args.command == "count-all":
        count_all(args.variants or sorted(variants()), args.count)
    else:
        time_all(args.variants or sorted(variants()), args.rounds, args.calls)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
