"""The import rule (docs/architecture.md): ``hub``, ``grading`` and ``extensions`` import
``cartable.core`` and never each other, except ``extensions`` using grading's typed exchange
client; ``cartable.core`` imports none of them. ``cartable/cli.py`` puts the parts together and may
import them all."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
# folder in the checkout -> package it is installed as (pyproject.toml's package-dir)
PARTS = {"hub": "cartable.hub", "grading": "cartable.grading", "extensions": "cartable.extensions",
         "cartable/core": "cartable.core"}
GUARDED = ("cartable.hub", "cartable.grading", "cartable.extensions")
ALLOWED = {"cartable.extensions": ("cartable.grading.exchange.client", "cartable.grading.operations")}


def imports_of(path: Path, package: str):
    """(line, module) of every import in ``path``, relative ones made absolute."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    here = package.split(".")
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            # ``from cartable.grading import cli`` may import the module cartable.grading.cli
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}" if module.startswith("cartable") else module


def module_package(root: Path, folder: str, path: Path) -> str:
    """The package a module belongs to (for a package's ``__init__``, the package itself)."""
    parts = list(path.relative_to(root / folder).parts[:-1])
    return ".".join([PARTS[folder], *parts])


def violations(root: Path = ROOT) -> list[str]:
    found = []
    for folder, part in PARTS.items():
        for path in sorted((root / folder).rglob("*.py")):
            if "node_modules" in path.parts:
                continue
            for line, module in imports_of(path, module_package(root, folder, path)):
                for other in GUARDED:
                    if other == part or not (module == other or module.startswith(other + ".")):
                        continue
                    if any(module == ok or module.startswith(ok + ".") for ok in ALLOWED.get(part, ())):
                        continue
                    found.append(f"{path.relative_to(root)}:{line}: {part} imports {module}")
    return sorted(found)


def test_parts_import_the_core_and_never_each_other():
    found = violations()
    assert not found, ("hub, grading and extensions may import cartable.core (and extensions the exchange "
                       "client), never each other:\n" + "\n".join(found))


def test_the_rule_sees_a_violation(tmp_path):
    """The check reads relative and absolute imports (a check that finds nothing proves nothing)."""
    pkg = tmp_path / "hub" / "sub"
    pkg.mkdir(parents=True)
    (pkg / "bad.py").write_text("import os\nfrom cartable.core import config\nfrom cartable.grading import cli\n"
                                "def f():\n    from ...grading.courses import x\n")
    (tmp_path / "extensions").mkdir()
    (tmp_path / "extensions" / "ok.py").write_text("from cartable.grading.exchange.client import Client\n"
                                                   "from cartable.grading.exchange import store\n")
    for folder in ("grading", "cartable/core"):
        (tmp_path / folder).mkdir(parents=True)
    assert violations(tmp_path) == [
        "extensions/ok.py:2: cartable.extensions imports cartable.grading.exchange.store",
        "hub/sub/bad.py:3: cartable.hub imports cartable.grading.cli",
        "hub/sub/bad.py:5: cartable.hub imports cartable.grading.courses.x"]
