"""Server processes for the suite: the service or the bare app, under uvicorn or granian, pinned.

``tests.support.servers.ServerProcess`` serves only ``app.main:app``; the suite also needs the bare
app and the exact command line of every run for the report, so it has this small launcher instead.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import httpx

from tests.support.servers import ROOT, free_port, poll_readyz, server_command

ServerKind = Literal["uvicorn", "granian", "granian-rsgi"]
APP = "app.main:app"
BARE = "bench.bare_app:app"
# Under RSGI each has its own entry point.
_RSGI_TARGETS = {APP: "app.main:rsgi_app", BARE: "bench.bare_app:rsgi_app"}


def shown(command: list[str], env: dict[str, str] | None = None) -> str:
    """A command as one would type it (interpreter relative to the repository, env in front)."""
    words = [os.path.relpath(word, ROOT) if word == sys.executable else word for word in command]
    prefix = [f"{name}={shlex.quote(value)}" for name, value in (env or {}).items()]
    return " ".join([*prefix, *(shlex.quote(word) for word in words)])


class Server:
    """A started server process; ``started_at`` is ``time.perf_counter()`` just before spawn."""

    def __init__(
        self,
        target: str,
        *,
        kind: ServerKind = "uvicorn",
        cpu: int | None = None,
        env: dict[str, str] | None = None,
        log_dir: Path,
    ) -> None:
        self.target = target
        self.kind: ServerKind = kind
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(env or {})
        served = _RSGI_TARGETS.get(target, target) if kind == "granian-rsgi" else target
        self.command = server_command(served, port=self.port, kind=kind, cpu=cpu)
        label = "bare" if target == BARE else "app"
        self.log_path = log_dir / f"{kind}-{label}-{self.port}.log"
        self._log = self.log_path.open("ab")
        self.started_at = time.perf_counter()
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env={**os.environ, **self.env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def shown(self) -> str:
        return shown(self.command, {k: v for k, v in self.env.items() if "TOKEN" not in k})

    def wait_ready(self, timeout_s: float = 60.0, *, poll_s: float = 0.01) -> float:
        """Poll ``/readyz`` until 200; return seconds since spawn. Raises on exit or timeout."""
        deadline = self.started_at + timeout_s
        if poll_readyz(self.process, self.url, deadline=deadline, poll_s=poll_s, log=self.tail):
            return time.perf_counter() - self.started_at
        raise TimeoutError(
            f"{self.kind} {self.target} not ready after {timeout_s:.0f} s; its log: "
            f"{self.first_complaint()} … {self.tail(1)}"
        )

    def revision(self) -> int:
        """The changelog revision the service's index reflects (``X-Withheld-Revision``)."""
        response = httpx.get(f"{self.url}/readyz", timeout=30)
        return int(response.headers["x-withheld-revision"])

    def wait_for_revision(self, revision: int, timeout_s: float = 120) -> None:
        """Until the service reflects ``revision``; TimeoutError after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while self.revision() < revision:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.url} did not reach revision {revision}")
            time.sleep(0.05)

    def index_bytes(self) -> float:
        """The service's ``withheld_index_bytes`` gauge: the account index, its write delta
        included (it falls when the delta is compacted)."""
        for line in httpx.get(f"{self.url}/metrics", timeout=30).text.splitlines():
            if line.startswith("withheld_index_bytes{"):
                return float(line.rsplit(" ", 1)[1])
        raise RuntimeError("no withheld_index_bytes in /metrics")

    def first_complaint(self) -> str:
        """The first warning or error the server logged (why it is not ready, usually)."""
        self._log.flush()
        for line in self.log_path.read_text(errors="replace").splitlines():
            if any(word in line for word in ("WARNING", "ERROR", "Error", "Traceback")):
                return line.strip()
        return "(no warning or error)"

    def tail(self, lines: int = 15) -> str:
        self._log.flush()
        text = self.log_path.read_text(errors="replace").strip().splitlines()
        return "\n".join(text[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)
        self._log.close()


@contextmanager
def serving(
    target: str,
    *,
    kind: ServerKind = "uvicorn",
    cpu: int | None = None,
    env: dict[str, str] | None = None,
    log_dir: Path,
    ready_timeout_s: float = 120.0,
) -> Iterator[Server]:
    """A ready server, stopped on exit whatever happens."""
    server = Server(target, kind=kind, cpu=cpu, env=env, log_dir=log_dir)
    try:
        server.wait_ready(ready_timeout_s)
        yield server
    finally:
        server.stop()


# -- who used the server's core --------------------------------------------------------------


def _core_busy_ticks(cpu: int) -> int:
    """Non-idle clock ticks of one CPU since boot (user, nice, system, irq, softirq, steal)."""
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith(f"cpu{cpu} "):
            values = [int(v) for v in line.split()[1:]]
            return sum(values[:3]) + sum(values[5:8])
    return 0


def _group_ticks(pgid: int) -> int:
    """user + system ticks of every live process in a process group (a server and its workers)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total


class CoreMeter:
    """How the two cores were used during a run.

    ``server_share``: the server's own CPU time per second (its core is pinned). ``foreign``: the
    rest of the server core's busy time — other processes of a shared machine, and kernel work
    (softirqs) charged to no process. ``client_busy``: how busy the load generator's core was,
    whoever used it; with the server below ~95% the client side (wrk starved by other processes
    on its core) limited the run, not the server.
    """

    def __init__(self, cpu: int | None, server: Server, client_cpu: int | None = None) -> None:
        self.cpu = cpu
        self.client_cpu = client_cpu
        self.pgid = server.process.pid
        self._start = (0, 0, 0, 0.0)
        self.busy = self.server_share = self.foreign = self.client_busy = 0.0

    def __enter__(self) -> CoreMeter:
        if self.cpu is not None:
            self._start = (
                _core_busy_ticks(self.cpu),
                _group_ticks(self.pgid),
                _core_busy_ticks(self.client_cpu) if self.client_cpu is not None else 0,
                time.monotonic(),
            )
        return self

    def __exit__(self, *_: object) -> None:
        if self.cpu is None:
            return
        busy0, own0, client0, t0 = self._start
        elapsed_ticks = (time.monotonic() - t0) * os.sysconf("SC_CLK_TCK")
        if elapsed_ticks <= 0:
            return
        busy = _core_busy_ticks(self.cpu) - busy0
        own = _group_ticks(self.pgid) - own0
        self.busy = busy / elapsed_ticks
        self.server_share = own / elapsed_ticks
        self.foreign = max(0.0, busy - own) / elapsed_ticks
        if self.client_cpu is not None:
            self.client_busy = (_core_busy_ticks(self.client_cpu) - client0) / elapsed_ticks
