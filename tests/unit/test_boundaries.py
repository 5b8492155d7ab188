"""The boundaries between app's packages: the HTTP edge (``app.edge``) never touches the
database, replication (``app.replication``) knows no HTTP, and handlers (``app.api``) reach the
repositories only through the services.

Each rule walks its package's folder, so a module added there is held to it too; each is checked
twice: in the source (an import inside a function counts) and in what importing the module loads.
"""

from __future__ import annotations

import pytest

from tests.support.imports import (
    imported_names,
    loaded_by_importing,
    module_file,
    package_modules,
    within,
)

EDGE_MODULES = package_modules("app.edge")
REPLICATION_MODULES = package_modules("app.replication")
API_MODULES = package_modules("app.api")

DATABASE_LIBRARIES = {"sqlalchemy", "alembic", "psycopg"}
DATABASE_LAYERS = {"app.repositories", "app.services", "app.db"}
WEB_LIBRARIES = {"fastapi", "starlette"}
WEB_LAYERS = {"app.api"}


def _libraries(names: set[str], roots: set[str]) -> list[str]:
    return sorted(name for name in names if name.split(".")[0] in roots)


def _layers(names: set[str], packages: set[str]) -> list[str]:
    return sorted(name for name in names if within(name, packages))


def test_each_package_has_modules_to_check() -> None:
    assert "app.edge" in EDGE_MODULES
    assert "app.edge.fast_path" in EDGE_MODULES
    assert "app.replication.follower" in REPLICATION_MODULES
    assert "app.api.visibility" in API_MODULES
    assert all(module_file(module).is_file() for module in EDGE_MODULES + API_MODULES)


def test_the_rules_catch_what_they_should() -> None:
    assert _libraries({"sqlalchemy.orm", "psycopg", "numpy"}, DATABASE_LIBRARIES) == [
        "psycopg",
        "sqlalchemy.orm",
    ]
    assert _layers({"app.db", "app.dbx", "app.services.visibility"}, DATABASE_LAYERS) == [
        "app.db",
        "app.services.visibility",
    ]
    assert _layers({"app.api", "app.apis", "app.edge.layers"}, WEB_LAYERS) == ["app.api"]


@pytest.mark.parametrize("module", EDGE_MODULES)
def test_edge_module_imports_no_database_layer(module: str) -> None:
    named = set(imported_names(module_file(module)))

    assert _libraries(named, DATABASE_LIBRARIES) == []
    assert _layers(named, DATABASE_LAYERS) == []


@pytest.mark.parametrize("module", EDGE_MODULES)
def test_importing_an_edge_module_loads_no_database_layer(module: str) -> None:
    loaded = loaded_by_importing(module)

    assert _libraries(loaded, DATABASE_LIBRARIES) == []
    assert _layers(loaded, DATABASE_LAYERS) == []


@pytest.mark.parametrize("module", REPLICATION_MODULES)
def test_replication_module_imports_no_web_layer(module: str) -> None:
    named = set(imported_names(module_file(module)))

    assert _libraries(named, WEB_LIBRARIES) == []
    assert _layers(named, WEB_LAYERS) == []


@pytest.mark.parametrize("module", REPLICATION_MODULES)
def test_importing_a_replication_module_loads_no_web_layer(module: str) -> None:
    loaded = loaded_by_importing(module)

    assert _libraries(loaded, WEB_LIBRARIES) == []
    assert _layers(loaded, WEB_LAYERS) == []


@pytest.mark.parametrize("module", API_MODULES)
def test_api_module_reaches_repositories_only_through_services(module: str) -> None:
    named = set(imported_names(module_file(module)))

    assert _layers(named, {"app.repositories"}) == []
