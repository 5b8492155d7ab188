"""The index package stays free of the web, database and settings layers."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.imports import imported_names, loaded_by_importing

INDEX_DIR = Path(__file__).resolve().parents[2] / "app" / "index"
FORBIDDEN_ROOTS = {"fastapi", "starlette", "sqlalchemy", "alembic", "pydantic", "pydantic_settings"}
INDEX_PACKAGE = "app.index"


def _index_modules() -> list[Path]:
    return sorted(INDEX_DIR.rglob("*.py"))


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
    bad = [name for name in imported_names(module_path) if _violations(name)]
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
    loaded = loaded_by_importing(INDEX_PACKAGE)

    assert sorted(m for m in loaded if m.split(".")[0] in FORBIDDEN_ROOTS) == []
