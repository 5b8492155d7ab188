"""What a module of ``app`` imports: named in its source, and loaded when it is imported."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from tests.support.servers import ROOT


def package_modules(package: str) -> list[str]:
    """``package`` and every module under its folder (nested ones too), by dotted name."""
    folder = ROOT.joinpath(*package.split("."))
    names = []
    for path in sorted(folder.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def module_file(module: str) -> Path:
    """The source file of ``module`` (a package's ``__init__.py``)."""
    path = ROOT.joinpath(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def _package_of(module_path: Path) -> str:
    parts = module_path.relative_to(ROOT).with_suffix("").parts
    # A package's __init__ is its own package; any other module lives in its parent.
    return ".".join(parts[:-1])


def imported_names(module_path: Path) -> list[str]:
    """Absolute names of every module imported anywhere in the file (nested too)."""
    tree = ast.parse(module_path.read_text(encoding="utf-8"), filename=str(module_path))
    package = _package_of(module_path)
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts)
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            names.append(target)
            # `from app import index` imports the submodule app.index.
            names.extend(f"{target}.{alias.name}" for alias in node.names)
    return names


def loaded_by_importing(module: str) -> set[str]:
    """Every module in ``sys.modules`` after a fresh interpreter imports ``module``."""
    code = (
        "import importlib, json, sys\n"
        f"importlib.import_module({module!r})\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded: list[str] = json.loads(completed.stdout)
    return set(loaded)


def within(name: str, packages: Iterable[str]) -> bool:
    """Whether module ``name`` is one of ``packages`` or inside one."""
    return any(name == package or name.startswith(package + ".") for package in packages)
