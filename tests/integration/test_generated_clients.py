"""Clients generated from the committed openapi/openapi.json work against the real service.

Python: openapi-python-client generates a package that drives a live uvicorn process through every
documented use case, with typed results. TypeScript: openapi-typescript generates types and the
compiler checks a consumer (tests/clients/consumer.ts) against them — above all that ids are
strings, since JavaScript numbers cannot hold ids above 2^53.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import hashlib
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import typing
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import ADMIN_TOKEN
from tests.servers import running

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "openapi" / "openapi.json"
CLIENTS = ROOT / "tests" / "clients"
NODE_MODULES = CLIENTS / "node_modules"
PACKAGE = "withheld_client"
# Above 2^53: a JavaScript number (or a float anywhere) would corrupt it.
ACCOUNT = "9223372036854775807"
OTHER = "12"


def _unavailable(reason: str) -> typing.NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} — under CI=true the generated-client tests must run, not skip")
    pytest.skip(reason)


def _run(command: list[str], cwd: Path, timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "NO_COLOR": "1",
        "FORCE_COLOR": "0",
        "npm_config_update_notifier": "false",
        "npm_config_fund": "false",
        "npm_config_audit": "false",
    }
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout_s, check=False
    )


def _output(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n{result.stdout}\n{result.stderr}".strip()


# --- Python ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def python_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The package openapi-python-client generates, imported as ``withheld_client``."""
    generator = Path(sys.executable).parent / "openapi-python-client"
    if not generator.is_file():
        _unavailable(f"{generator} is missing (openapi-python-client is a dev dependency)")
    workdir = tmp_path_factory.mktemp("python-client")
    config = workdir / "config.yaml"
    # No post hooks: they would run ruff on the output, which needs ruff on PATH and adds nothing.
    config.write_text("post_hooks: []\n")
    result = _run(
        [
            str(generator),
            "generate",
            "--path",
            str(DOCUMENT),
            "--output-path",
            str(workdir / PACKAGE),
            "--meta",
            "none",
            "--config",
            str(config),
            "--fail-on-warning",
        ],
        cwd=workdir,
    )
    assert result.returncode == 0, f"openapi-python-client failed:\n{_output(result)}"
    sys.path.insert(0, str(workdir))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(workdir))
        for name in [name for name in sys.modules if name.partition(".")[0] == PACKAGE]:
            del sys.modules[name]


@pytest.fixture(scope="module")
def models(python_client: ModuleType) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.models")


def _operation(group: str, name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.api.{group}.{name}")


def _revision(response: typing.Any) -> int:
    return int(response.headers["x-withheld-revision"])


def test_python_client_models_declare_ids_as_str(models: ModuleType) -> None:
    namespace = vars(models)
    for model, field in [
        ("VisibilityRead", "account"),
        ("AccountVisibility", "account"),
        ("RuleRead", "account"),
        ("RuleRead", "id"),
        ("BulkItem", "account"),
        ("AccountWithholdings", "account"),
    ]:
        hints = typing.get_type_hints(getattr(models, model), localns=namespace)
        assert hints[field] is str, f"{model}.{field}: {hints[field]}"
    hints = typing.get_type_hints(models.BatchVisibilityRequest, localns=namespace)
    assert hints["accounts"] == list[str]
    hints = typing.get_type_hints(models.RuleRead, localns=namespace)
    assert hints["created_at"] is datetime.datetime


def test_python_client_drives_the_live_service(
    python_client: ModuleType, models: ModuleType, database_url: str
) -> None:
    get_visibility = _operation("visibility", "get_visibility")
    get_visibility_batch = _operation("visibility", "get_visibility_batch")
    withhold_account = _operation("withholdings", "withhold_account")
    lift_withholding = _operation("withholdings", "lift_withholding")
    list_withholdings = _operation("withholdings", "list_withholdings")
    withhold_in_bulk = _operation("withholdings", "withhold_in_bulk")

    env = {"WITHHELD_ADMIN_TOKENS": f"alice:{ADMIN_TOKEN}"}
    with contextlib.ExitStack() as stack:
        (server,) = stack.enter_context(running(database_url, env=env))
        reader = stack.enter_context(
            python_client.Client(base_url=server.url, raise_on_unexpected_status=True)
        )
        admin = stack.enter_context(
            python_client.AuthenticatedClient(
                base_url=server.url, token=ADMIN_TOKEN, raise_on_unexpected_status=True
            )
        )
        stranger = stack.enter_context(
            python_client.AuthenticatedClient(
                base_url=server.url,
                token="not-a-configured-token-0000",
                raise_on_unexpected_status=True,
            )
        )

        # Lookup: nothing withheld yet; the country comes back upper-case.
        answer = get_visibility.sync(client=reader, account=ACCOUNT, country="in")
        assert isinstance(answer, models.VisibilityRead)
        assert (answer.account, answer.country, answer.visible) == (ACCOUNT, "IN", True)
        assert type(answer.account) is str

        # Withhold in India: 201 with the new rule, then 200 (already active, terms updated).
        terms = models.RuleWrite(reason="MeitY order under IT Act s.69A", order_ref="MEITY/1")
        created = withhold_account.sync_detailed(ACCOUNT, "IN", client=admin, body=terms)
        assert created.status_code == 201
        rule = created.parsed
        assert isinstance(rule, models.RuleRead)
        assert (rule.account, rule.country, rule.order_ref) == (ACCOUNT, "IN", "MEITY/1")
        assert type(rule.id) is str
        assert rule.id.isdigit()
        assert isinstance(rule.created_at, datetime.datetime)
        assert rule.lifted_at is None
        again = withhold_account.sync_detailed(ACCOUNT, "IN", client=admin, body=terms)
        assert again.status_code == 200
        assert again.parsed.id == rule.id

        refused = withhold_account.sync_detailed(ACCOUNT, "DE", client=stranger, body=terms)
        assert refused.status_code == 401
        assert isinstance(refused.parsed, models.ErrorResponse)

        # Lookups after the write (min_revision: read your write on any process).
        revision = _revision(created)
        withheld = get_visibility.sync(
            client=reader, account=ACCOUNT, country="IN", min_revision=revision
        )
        assert withheld.visible is False
        assert get_visibility.sync(client=reader, account=ACCOUNT, country="US").visible is True

        # Batch: request order, duplicates kept, ids still strings.
        batch = get_visibility_batch.sync(
            client=reader,
            body=models.BatchVisibilityRequest(country="in", accounts=[ACCOUNT, OTHER, ACCOUNT]),
        )
        assert isinstance(batch, models.BatchVisibilityRead)
        assert batch.country == "IN"
        assert all(isinstance(result, models.AccountVisibility) for result in batch.results)
        assert [(r.account, r.visible) for r in batch.results] == [
            (ACCOUNT, False),
            (OTHER, True),
            (ACCOUNT, False),
        ]

        # Bulk: one new rule, one already active, one duplicate of an earlier item.
        bulk = withhold_in_bulk.sync_detailed(
            client=admin,
            body=models.BulkWithholdRequest(
                reason="order 42",
                items=[
                    models.BulkItem(account=OTHER, country="XX"),
                    models.BulkItem(account=ACCOUNT, country="in"),
                    models.BulkItem(account=OTHER, country="xx"),
                ],
            ),
        )
        assert bulk.status_code == 201
        counts = bulk.parsed
        assert isinstance(counts, models.BulkWithholdRead)
        assert (counts.created, counts.already_active, counts.duplicates) == (1, 1, 1)
        assert counts.revision == _revision(bulk)
        assert counts.revision > revision
        everywhere = get_visibility.sync(
            client=reader, account=OTHER, country="BR", min_revision=counts.revision
        )
        assert everywhere.visible is False

        # Lift: 204, visible again, kept in history; lifting again is a 404.
        lifted = lift_withholding.sync_detailed(
            ACCOUNT,
            "IN",
            client=admin,
            body=models.LiftRequest(reason=models.LiftReason.COURT_RULING, note="ruling 7"),
        )
        assert lifted.status_code == 204
        visible = get_visibility.sync(
            client=reader, account=ACCOUNT, country="IN", min_revision=_revision(lifted)
        )
        assert visible.visible is True
        # The lift details are optional: a client may send no body at all.
        missing = lift_withholding.sync_detailed(ACCOUNT, "IN", client=admin)
        assert missing.status_code == 404
        assert isinstance(missing.parsed, models.ErrorResponse)

        # List: the active view and the history.
        active = list_withholdings.sync(ACCOUNT, client=reader)
        assert isinstance(active, models.AccountWithholdings)
        assert (active.account, active.withheld_in_countries, active.rules) == (ACCOUNT, [], [])
        history = list_withholdings.sync(ACCOUNT, client=reader, include_lifted=True)
        assert [(r.id, r.country, r.lift_reason) for r in history.rules] == [
            (rule.id, "IN", "court_ruling")
        ]
        assert isinstance(history.rules[0].lifted_at, datetime.datetime)
        suspended = list_withholdings.sync(OTHER, client=reader)
        assert suspended.account == OTHER
        assert suspended.withheld_in_countries == ["XX"]
        assert all(type(r.id) is str for r in suspended.rules)


# --- TypeScript ------------------------------------------------------------------------------


def _lockfile_digest() -> str:
    return hashlib.sha256((CLIENTS / "package-lock.json").read_bytes()).hexdigest()


def _install_node_tools() -> None:
    """``npm ci`` into tests/clients/node_modules, once per change of package-lock.json."""
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        _unavailable("npm/node not found on PATH (the TypeScript check needs Node 18+)")
    stamp = NODE_MODULES / ".withheld-installed"
    wanted = _lockfile_digest()
    lock_path = Path(tempfile.gettempdir()) / (
        "withheld-npm-" + hashlib.sha256(str(CLIENTS).encode()).hexdigest()[:12] + ".lock"
    )
    with lock_path.open("a") as lock:
        # Two test runs at once must not both rewrite node_modules.
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.is_file() and stamp.read_text() == wanted:
            return
        command = [npm, "ci", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"]
        result = _run(command, cwd=CLIENTS, timeout_s=300)
        if result.returncode != 0:
            _unavailable(f"`npm ci` in {CLIENTS} failed (offline?):\n{_output(result)}")
        stamp.write_text(wanted)


def test_typescript_types_keep_ids_as_strings(tmp_path: Path) -> None:
    _install_node_tools()
    binaries = NODE_MODULES / ".bin"
    schema = tmp_path / "schema.d.ts"
    generated = _run(
        [str(binaries / "openapi-typescript"), str(DOCUMENT), "--output", str(schema)],
        cwd=tmp_path,
    )
    assert generated.returncode == 0, f"openapi-typescript failed:\n{_output(generated)}"
    assert "account: string;" in schema.read_text()

    shutil.copy(CLIENTS / "consumer.ts", tmp_path / "consumer.ts")
    checked = _run(
        [
            str(binaries / "tsc"),
            "--noEmit",
            "--strict",
            "--target",
            "es2022",
            "--module",
            "esnext",
            "--moduleResolution",
            "bundler",
            "--isolatedModules",
            "--pretty",
            "false",
            "consumer.ts",
        ],
        cwd=tmp_path,
    )
    assert checked.returncode == 0, f"tsc rejected consumer.ts:\n{_output(checked)}"
