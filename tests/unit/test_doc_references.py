"""Names the docs cite in code spans exist in the code they name.

Two shapes are checked: `module.name` / `Class.name` (a module or class of the package,
then an attribute), and a file then a name, `interchange/routing/decision.py` `parse` or
`interchange/routing/router.py` `Router._commit`. A renamed or deleted function leaves
such a reference behind; this test finds it.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path
from types import ModuleType

import interchange

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted([*(ROOT / "docs").glob("*.md"), ROOT / "README.md"])
DOTTED = re.compile(r"`([A-Za-z_]\w*)\.([A-Za-z_]\w*)(?:\(\))?`")
FILE_THEN_NAME = re.compile(r"`(interchange/[\w/]+)\.py` `([A-Za-z_][\w.]*)(?:\(\))?`")
FILE_SUFFIXES = {
    *("py", "json", "html", "md", "pem", "avsc", "txt", "log", "yml", "toml", "svg"),
    *("p7s", "tsr"),  # the archive's manifest signature and time-stamp files
}


def package() -> dict[str, ModuleType]:
    modules = {}
    for info in pkgutil.walk_packages(interchange.__path__, "interchange."):
        if not info.name.endswith("__main__"):
            modules[info.name] = importlib.import_module(info.name)
    return modules


def has(owner: object, attr: str) -> bool:
    """An attribute, or an instance attribute the class's source assigns or declares."""
    if hasattr(owner, attr):
        return True
    if not inspect.isclass(owner):
        return False
    source = inspect.getsource(owner)
    return re.search(rf"\bself\.{attr}\b|^\s+{attr}\s*:", source, re.MULTILINE) is not None


def resolve(owner: object, dotted: str) -> bool:
    for part in dotted.split("."):
        if not has(owner, part):
            return False
        owner = getattr(owner, part, None)
        if owner is None:  # an instance attribute: nothing further to check
            return True
    return True


def test_cited_names_exist() -> None:
    modules = package()
    by_short: dict[str, list[object]] = {}
    for name, module in modules.items():
        if not hasattr(module, "__path__"):  # `delivery.central` is a topic, not a package
            by_short.setdefault(name.rsplit(".", 1)[-1], []).append(module)
        for cls_name, obj in vars(module).items():
            if inspect.isclass(obj) and obj.__module__ == name:
                by_short.setdefault(cls_name, []).append(obj)
    stale: list[str] = []
    checked = 0
    for doc in DOCS:
        for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
            where = f"{doc.name}:{number}"
            for owner, attr in DOTTED.findall(line):
                if attr in FILE_SUFFIXES or owner not in by_short:
                    continue
                checked += 1
                if not any(has(candidate, attr) for candidate in by_short[owner]):
                    stale.append(f"{where}: {owner}.{attr}")
            for path, name in FILE_THEN_NAME.findall(line):
                cited = modules.get(path.replace("/", "."))
                checked += 1
                if cited is None or not resolve(cited, name):
                    stale.append(f"{where}: {path}.py {name}")
    assert checked > 20
    assert stale == []
