"""wrk: generated Lua scripts, pinned runs, and the figures its ``done()`` hook prints.

Each script rotates through a fixed list of request paths (pre-formatted once in ``init``), and
prints one machine-readable line at the end, so nothing depends on wrk's human output format.
With ``mean_delay_ms`` it also paces every connection (see ``paced_script``).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench._servers import shown

INSTALL_HINT = (
    "wrk not found on PATH: install it with `apt-get install wrk` (Debian/Ubuntu; "
    "`brew install wrk` on macOS), then rerun"
)

_ROTATE = """\
local paths = {{
{paths}
}}
local requests_ = {{}}
local i = 0

function init(args)
  for k, path in ipairs(paths) do
    requests_[k] = wrk.format("GET", path)
  end
  -- threads start at different places in the list
  i = math.random(#requests_) - 1
end

function request()
  i = i % #requests_ + 1
  return requests_[i]
end
"""

_PACE = """\
local mean_delay_ms = {mean_delay_ms:.4f}

-- Think time between a response and the next request on the same connection: exponential
-- (Poisson-like arrivals), randomly rounded to whole ms (wrk's timer resolution) so that the
-- mean stays exact.
function delay()
  local gap = -math.log(1 - math.random()) * mean_delay_ms
  return math.floor(gap + math.random())
end
"""

_DONE = """\
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK_RESULT requests=%d duration_us=%d connect=%d read=%d write=%d status=%d timeout=%d " ..
    "p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f mean_us=%.1f max_us=%.1f\\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.mean, latency.max))
end
"""


def require_wrk() -> str | None:
    """The wrk binary, or None (callers print ``INSTALL_HINT``)."""
    return shutil.which("wrk")


def wrk_version() -> str:
    binary = require_wrk()
    if binary is None:
        return "not installed"
    done = subprocess.run([binary, "-v"], capture_output=True, text=True, check=False)
    first = (done.stdout or done.stderr).strip().splitlines()
    return first[0].split(" Copyright")[0] if first else "unknown"


def rotating_script(
    path: Path, paths: Sequence[str], *, mean_delay_ms: float | None = None
) -> Path:
    """Write a Lua script cycling through ``paths``; paced when ``mean_delay_ms`` is given."""
    quoted = ",\n".join(f'  "{p}"' for p in paths)
    parts = [_ROTATE.format(paths=quoted)]
    if mean_delay_ms is not None:
        parts.append(_PACE.format(mean_delay_ms=mean_delay_ms))
    parts.append(_DONE)
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


@dataclass(frozen=True)
class WrkResult:
    requests: int
    duration_s: float
    errors: int
    non_2xx: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    p999_ms: float
    mean_ms: float
    max_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0


def wrk_command(
    url: str, script: Path, *, duration_s: int, connections: int, threads: int, cpu: int | None
) -> list[str]:
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration_s}s",
        "-s",
        str(script),
        url,
    ]
    return ["taskset", "-c", str(cpu), *command] if cpu is not None else command


def run_wrk(
    url: str,
    script: Path,
    *,
    duration_s: int = 5,
    connections: int = 64,
    threads: int = 1,
    cpu: int | None = 0,
) -> WrkResult:
    command = wrk_command(
        url, script, duration_s=duration_s, connections=connections, threads=threads, cpu=cpu
    )
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=duration_s + 30, check=False
    )
    result = parse_result(done.stdout)
    if done.returncode or result is None:
        raise RuntimeError(f"{shown(command)} failed ({done.returncode}): {done.stderr.strip()}")
    return result


def parse_result(output: str) -> WrkResult | None:
    """The figures of the ``WRK_RESULT`` line our scripts' ``done()`` prints, if any."""
    line = next((row for row in output.splitlines() if row.startswith("WRK_RESULT ")), None)
    if line is None:
        return None
    fields = dict(part.split("=", 1) for part in line.split()[1:])
    errors = sum(int(fields[k]) for k in ("connect", "read", "write", "timeout"))
    return WrkResult(
        requests=int(fields["requests"]),
        duration_s=int(fields["duration_us"]) / 1e6,
        errors=errors,
        non_2xx=int(fields["status"]),
        p50_ms=float(fields["p50_us"]) / 1e3,
        p90_ms=float(fields["p90_us"]) / 1e3,
        p99_ms=float(fields["p99_us"]) / 1e3,
        p999_ms=float(fields["p999_us"]) / 1e3,
        mean_ms=float(fields["mean_us"]) / 1e3,
        max_ms=float(fields["max_us"]) / 1e3,
    )
