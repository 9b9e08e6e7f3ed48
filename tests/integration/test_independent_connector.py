"""The independent connector (examples/independent/), written only from docs/CONNECTOR.md.

1. Its hand-written Avro encoder and its Ed25519 signer reproduce tests/vectors byte for
   byte (and its strict decoder reads them back).
2. End to end against a real router started with the documented CLI: the connector
   sends as an enrolled agency, reads the recipients' inboxes (a province and its own
   central one), verifies the documents, answers 01 and 03 on the status topic, and
   the sender sees both statuses come back. The project's `conformance` check passes
   on what it submitted.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import uuid
from pathlib import Path
from types import ModuleType

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CONNECTOR = ROOT / "examples" / "independent" / "connector.py"
VECTORS = ROOT / "tests" / "vectors"
SENDER = "000.00.00.G05"  # central
RECIPIENTS = ("000.00.00.H01", SENDER)  # a province, and the sender's own inbox


def _load_connector() -> ModuleType:
    name = "independent_connector"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, CONNECTOR)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_vectors_byte_for_byte() -> None:
    con = _load_connector()
    vectors = json.loads((VECTORS / "vectors.json").read_text(encoding="utf-8"))
    key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(vectors["signer"]["seed_hex"]))
    assert len(vectors["documents"]) == 4
    for entry in vectors["documents"]:
        doc = con.document_from_vector(entry["document"])
        content = con.encode_document(doc)
        assert content.hex() == entry["document_hex"], entry["name"]
        signature = con.sign(key, content)
        assert signature.hex() == entry["signature_hex"], entry["name"]
        envelope = {
            "content": content,
            "signature": signature,
            "cert_id": vectors["signer"]["cert_id"],
            "trace": entry["envelope_trace"],
            "content_format": "AVRO",
        }
        assert con.encode_envelope(envelope).hex() == entry["envelope_hex"], entry["name"]
        # and the strict decoder reads the vector bytes back to the same fields
        back = con.decode_envelope(bytes.fromhex(entry["envelope_hex"]))
        assert back == envelope
        assert con.decode_document(back["content"]) == doc
    # the connector's own self-check (certificates, cert ids, verification at send time)
    assert con.selfcheck(VECTORS, out=lambda _line: None) == []


def _cli(*args: object, timeout: float = 60) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "interchange", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, f"interchange {args[:2]}: {proc.stdout}\n{proc.stderr}"
    return proc.stdout


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def test_end_to_end_through_the_router(bootstrap: str, tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:12]
    prefix = f"ind-{run}."
    keys = tmp_path / "keys"

    # the axis, as CONNECTOR.md section 8 describes it
    _cli("keys", "init", "--keys-dir", keys, "--preset", "tiny")
    enrolled = _cli("keys", "enroll", "--keys-dir", keys, "--agency", SENDER)
    found = re.search(r"^cert id\s+([0-9a-f]{64})\s*$", enrolled, re.MULTILINE)
    assert found, enrolled
    cert_id = found.group(1)
    cert, key = keys / "certs" / f"{cert_id}.pem", keys / "private" / f"{cert_id}.key"
    assert cert.exists()
    assert key.exists()
    directory = tmp_path / "directory.json"
    _cli("directory", "export", "--preset", "tiny", "--out", directory)
    _cli("topics", "create", "--bootstrap", bootstrap, "--topic-prefix", prefix)

    procs: list[subprocess.Popen[bytes]] = []
    logs: dict[str, Path] = {}

    def start(name: str, argv: list[object]) -> subprocess.Popen[bytes]:
        logs[name] = tmp_path / f"{name}.log"
        with logs[name].open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, *map(str, argv)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
            )
        procs.append(proc)
        return proc

    try:
        start(
            "router",
            [
                "-m",
                "interchange",
                "route",
                "--bootstrap",
                bootstrap,
                "--keys-dir",
                keys,
                "--preset",
                "tiny",
                "--topic-prefix",
                prefix,
                "--router-id",
                f"ind-{run}",
                "--group",
                f"ind-{run}-router",
            ],
        )
        inboxes = {
            agency: start(
                f"inbox-{agency}",
                [
                    CONNECTOR,
                    "inbox",
                    "--bootstrap",
                    bootstrap,
                    "--topic-prefix",
                    prefix,
                    "--as",
                    agency,
                    "--trust-dir",
                    keys,
                    "--ack",
                    "01,03",
                    "--max",
                    "1",
                    "--timeout",
                    "40",
                ],
            )
            for agency in RECIPIENTS
        }

        send = subprocess.run(
            [
                sys.executable,
                str(CONNECTOR),
                "send",
                "--bootstrap",
                bootstrap,
                "--topic-prefix",
                prefix,
                "--as",
                SENDER,
                "--cert",
                str(cert),
                "--key",
                str(key),
                "--to",
                ",".join(RECIPIENTS),
                "--directory",
                str(directory),
                "--subject",
                "Thử nghiệm kết nối độc lập",
                "--code-number",
                "1",
                "--code-notation",
                f"IND-{run}",
                "--timeout",
                "40",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        lines = send.stdout.splitlines()
        assert send.returncode == 0, f"{send.stdout}\n{send.stderr}\n" + "\n".join(
            p.read_text(errors="replace") for p in logs.values()
        )
        doc_id = lines[0]
        assert re.fullmatch(rf"{re.escape(SENDER)},\d{{4}}/\d{{2}}/\d{{2}},1/IND-{run}", doc_id)
        for agency in RECIPIENTS:  # the statuses came back to the sender, 01 before 03
            assert lines.index(f"status 01 {agency}") < lines.index(f"status 03 {agency}")
        assert lines[-1] == "delivered"

        for agency, proc in inboxes.items():  # delivered, verified, acknowledged
            assert proc.wait(timeout=30) == 0
            out = logs[f"inbox-{agency}"].read_text(encoding="utf-8")
            assert f"{doc_id} verified Thử nghiệm kết nối độc lập" in out, out
            assert f"producer:{SENDER} > router:ind-{run}" in out, out
            assert f"status 01 -> {SENDER}" in out, out
            assert f"status 03 -> {SENDER}" in out, out

        # what the connector submitted passes the axis' conformance check
        report = _cli(
            "conformance",
            "--topic",
            f"{prefix}submissions",
            "--bootstrap",
            bootstrap,
            "--topic-prefix",
            prefix,
            "--keys-dir",
            keys,
            "--sender",
            SENDER,
            "--idle",
            "1",
        )
        assert "1 passed, 0 failed" in report, report
    finally:
        for proc in procs:
            _stop(proc)
