"""The pure core and the report never import Kafka (docs/ARCHITECTURE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "interchange"
PURE = sorted([*PACKAGE.glob("core/*.py"), *PACKAGE.glob("report/*.py")])
FORBIDDEN = ("kafka", "confluent_kafka", "interchange.pipeline", "interchange.cli")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_there_are_pure_modules_to_check() -> None:
    assert any(p.name == "model.py" for p in PURE)


@pytest.mark.parametrize("path", PURE, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_pure_module_imports_no_kafka(path: Path) -> None:
    bad = {
        m for m in imported_modules(path) if m.split(".")[0] in FORBIDDEN or m.startswith(FORBIDDEN)
    }
    assert not bad, f"{path} imports {sorted(bad)}"
