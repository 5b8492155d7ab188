"""The index package stays free of the web, database and settings layers."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

INDEX_DIR = Path(__file__).resolve().parents[2] / "app" / "index"
FORBIDDEN_ROOTS = {"fastapi", "starlette", "sqlalchemy", "alembic", "pydantic", "pydantic_settings"}
INDEX_PACKAGE = "app.index"


def _index_modules() -> list[Path]:
    return sorted(INDEX_DIR.rglob("*.py"))


def _package_of(module_path: Path) -> str:
    parts = module_path.relative_to(INDEX_DIR.parent.parent).with_suffix("").parts
    # A package's __init__ is its own package; any other module lives in its parent.
    return ".".join(parts[:-1])


def _imported_names(module_path: Path) -> list[str]:
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


def _violations(name: str) -> bool:
    root = name.split(".")[0]
    if root in FORBIDDEN_ROOTS:
        return True
    if root == "app":
        return not (name == INDEX_PACKAGE or name.startswith(INDEX_PACKAGE + "."))
    return False


def test_index_package_has_modules() -> None:
    assert (INDEX_DIR / "__init__.py").is_file()
    assert len(_index_modules()) >= 3


@pytest.mark.parametrize("module_path", _index_modules(), ids=lambda path: path.name)
def test_index_module_imports_nothing_from_web_db_or_rest_of_app(module_path: Path) -> None:
    bad = [name for name in _imported_names(module_path) if _violations(name)]
    assert bad == [], f"{module_path.name} imports {bad}"


def test_import_rule_catches_what_it_should() -> None:
    assert _violations("fastapi.routing")
    assert _violations("sqlalchemy")
    assert _violations("pydantic")
    assert _violations("app.services.visibility")
    assert _violations("app")
    assert not _violations("app.index._ordinals")
    assert not _violations("numpy")
    assert not _violations("pyroaring")


def test_importing_the_index_loads_no_web_or_database_module() -> None:
    code = (
        "import sys, app.index\n"
        f"roots = {sorted(FORBIDDEN_ROOTS)!r}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in roots))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code],
        cwd=INDEX_DIR.parent.parent,
        capture_output=True,
        text=True,
        check=True,
    )
    assert completed.stdout.strip() == "[]"
