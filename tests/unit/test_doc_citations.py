"""The product's docs stand alone: every document it cites is one of its own files.

Code comments, docs and tests cite docs by file name (`docs/ROUTER.md`, `RULES.md`);
a cited name that is not in the repository is a fact a user cannot look up.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("README.md", "docs", "interchange", "schemas", "examples", "tests", "benchmarks")
SUFFIXES = {".md", ".py", ".avsc", ".json", ".yml", ".yaml", ".toml", ".html", ".txt"}
CITED = re.compile(r"\b[A-Z][A-Z_]*\.md\b")
SHARED = re.compile(r"(\.\./|/)" + "shared" + "/")  # a folder outside the repository


def product_files() -> list[Path]:
    files: list[Path] = []
    for name in SOURCES:
        path = ROOT / name
        if path.is_file():
            files.append(path)
        else:
            files += [p for p in sorted(path.rglob("*")) if p.suffix in SUFFIXES and p.is_file()]
    return files


def test_every_cited_document_is_in_the_repository() -> None:
    own = {p.name for p in (ROOT / "docs").glob("*.md")} | {"README.md"}
    missing: list[str] = []
    files = product_files()
    assert len(files) > 50
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            missing += [
                f"{path.relative_to(ROOT)}:{number}: {name}"
                for name in CITED.findall(line)
                if name not in own
            ]
            if SHARED.search(line):
                missing.append(f"{path.relative_to(ROOT)}:{number}: a shared/ path")
    assert missing == []
