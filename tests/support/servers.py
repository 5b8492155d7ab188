"""Real server processes for tests and benchmarks: uvicorn on 127.0.0.1, on a free port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def poll_readyz(
    process: subprocess.Popen[bytes],
    url: str,
    *,
    deadline: float,
    poll_s: float,
    log: Callable[[], str],
) -> bool:
    """Poll ``url/readyz`` until it answers 200 (True) or ``time.perf_counter()`` passes
    ``deadline`` (False). RuntimeError, with ``log()``, if the process exits first."""
    with httpx.Client(timeout=1.0) as http:
        while time.perf_counter() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode}:\n{log()}")
            try:
                if http.get(f"{url}/readyz").status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(poll_s)
    return False


# How each kind of server is started: its module, and granian's interface.
SERVER_KINDS = {
    "uvicorn": ("uvicorn", []),
    "granian": ("granian", ["--interface", "asgi"]),
    "granian-rsgi": ("granian", ["--interface", "rsgi"]),
}
# What each kind serves of the service: RSGI has its own entry point.
SERVICE_TARGETS = {"granian-rsgi": "app.main:rsgi_app"}


def server_command(
    target: str, *, port: int, workers: int = 1, kind: str = "uvicorn", cpu: int | None = None
) -> list[str]:
    """uvicorn or granian (ASGI, or ``granian-rsgi``) serving ``target`` on 127.0.0.1, no access
    log, warnings only; pinned to ``cpu`` when given (uvicorn picks uvloop/httptools when
    installed)."""
    module, interface = SERVER_KINDS[kind]
    command = [
        sys.executable,
        "-m",
        module,
        *interface,
        target,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    return command if cpu is None else ["taskset", "-c", str(cpu), *command]


class ServerProcess:
    def __init__(
        self,
        database_url: str,
        *,
        workers: int = 1,
        env: dict[str, str] | None = None,
        cpu: int | None = None,
        server: str = "uvicorn",
        log_path: Path | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environment = {
            **os.environ,
            "WITHHELD_DATABASE_URL": database_url,
            "WITHHELD_LOG_LEVEL": "INFO",
            **(env or {}),
        }
        target = SERVICE_TARGETS.get(server, "app.main:app")
        command = server_command(target, port=self.port, workers=workers, kind=server, cpu=cpu)
        if log_path is None:
            handle, name = tempfile.mkstemp(prefix="withheld-server-", suffix=".log")
            os.close(handle)
            log_path = Path(name)
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=environment,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout_s: float = 30.0) -> None:
        deadline = time.perf_counter() + timeout_s
        if not poll_readyz(self.process, self.url, deadline=deadline, poll_s=0.05, log=self.output):
            raise TimeoutError(f"server on {self.url} not ready after {timeout_s} s")

    def output(self) -> str:
        """What the server printed so far (its log file)."""
        return self.log_path.read_text(errors="replace")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (uvicorn's workers included)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
        self.process.wait(timeout=15)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()


@contextmanager
def running(
    database_url: str,
    *,
    count: int = 1,
    workers: Sequence[int] | None = None,
    env: dict[str, str] | None = None,
    kinds: Sequence[str] | None = None,
) -> Iterator[list[ServerProcess]]:
    """Start ``count`` servers (``workers[i]`` workers each, under ``kinds[i]``: uvicorn by
    default, or granian); wait until all are ready."""
    per_server = list(workers or [1] * (len(kinds) if kinds else count))
    servers = [
        ServerProcess(database_url, workers=n, env=env, server=kind)
        for n, kind in zip(per_server, kinds or ["uvicorn"] * len(per_server), strict=True)
    ]
    try:
        for server in servers:
            server.wait_ready()
        yield servers
    finally:
        for server in servers:
            server.stop()


# -- withheld serve ----------------------------------------------------------------------------


def cli_env(**values: str) -> dict[str, str]:
    """This process's environment without any WITHHELD_ variable, plus ``values``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("WITHHELD_")}
    return {**env, **values}


@contextmanager
def cli_serving(
    *options: str, env: dict[str, str], cwd: Path
) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    """``withheld serve`` on 127.0.0.1 and a free port, its output in ``cwd/serve.log``;
    stopped with SIGTERM after (unless the test stopped it)."""
    port = free_port()
    log = cwd / "serve.log"
    command = [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--port", str(port), *options],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process, f"http://127.0.0.1:{port}", log
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def wait_cli_ready(process: subprocess.Popen[bytes], base: str, log: Path) -> None:
    """Wait (up to 30 s) until the ``cli_serving`` server at ``base`` is ready."""

    def output() -> str:
        return log.read_text(errors="replace")

    if not poll_readyz(process, base, deadline=time.perf_counter() + 30, poll_s=0.1, log=output):
        raise TimeoutError(output())
