"""`Secrecy.classified` is the only statement of the exclusion rule in the code.

Any other comparison with `Secrecy.NONE` (or its value "NONE") would be a second
statement of which documents are classified, free to drift from the first."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "interchange"
HOME = PACKAGE / "wire" / "model.py"  # where `Secrecy.classified` says it


def _is_none_level(node: ast.expr) -> bool:
    secrecy_none = (
        isinstance(node, ast.Attribute)
        and node.attr == "NONE"
        and isinstance(node.value, ast.Name)
        and node.value.id == "Secrecy"
    )
    return secrecy_none or (isinstance(node, ast.Constant) and node.value == "NONE")


def statements_of_the_rule(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Compare)
        and any(_is_none_level(side) for side in (node.left, *node.comparators))
    ]


def test_the_exclusion_rule_is_stated_once() -> None:
    found = [
        where
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != HOME
        for where in statements_of_the_rule(path)
    ]
    assert found == []
    assert statements_of_the_rule(HOME) != []  # the one statement is found where it is
