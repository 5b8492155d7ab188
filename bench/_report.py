"""The suite's output: rows (figure beside baseline, target, PASS/MISS), machine, JSON, plot."""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from bench._wrk import wrk_version
from tests.support.servers import ROOT

Status = Literal["PASS", "MISS", "SKIP", "INFO"]


@dataclass
class Row:
    """One figure of the suite, beside its baseline from the same run."""

    key: str
    what: str
    unit: str
    value: float | None = None
    baseline: float | None = None
    baseline_label: str = ""
    target: str = ""
    status: Status = "SKIP"
    ratio: float | None = None
    runs: list[float] = field(default_factory=list)
    baseline_runs: list[float] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def compare(self) -> None:
        """The ratio of the figure to its baseline (both measured in this run)."""
        if self.value is not None and self.baseline:
            self.ratio = self.value / self.baseline

    def judge(self, passed: bool) -> None:
        self.status = "PASS" if passed else "MISS"

    def skip(self, reason: str) -> None:
        self.status = "SKIP"
        self.notes.append(reason)


def _figure(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "req/s":
        return f"{value:,.0f} req/s"
    if unit == "B/pair":
        return f"{value:.1f} B/pair"
    if unit == "ns":
        return f"{value:,.0f} ns"
    if unit == "us":
        return f"{value:.2f} µs"
    if unit == "s":
        return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
    if unit == "ms":
        return f"{value:.2f} ms" if value < 100 else f"{value:,.0f} ms"
    return f"{value:g} {unit}"


def _ratio(ratio: float | None) -> str:
    if ratio is None:
        return "—"
    return ">100x" if ratio > 100 else f"{ratio:.2f}x"


def format_table(rows: list[Row]) -> str:
    header = ("#", "measurement", "withheld", "baseline", "ratio", "target", "result")
    cells = [
        (
            row.key,
            row.what,
            _figure(row.value, row.unit),
            f"{_figure(row.baseline, row.unit)} {row.baseline_label}".strip()
            if row.baseline is not None
            else row.baseline_label or "—",
            _ratio(row.ratio),
            row.target,
            row.status,
        )
        for row in rows
    ]
    widths = [max(len(str(line[i])) for line in [header, *cells]) for i in range(len(header))]
    right = {2, 3, 4}

    def line(values: tuple[str, ...]) -> str:
        return "  ".join(
            value.rjust(width) if i in right else value.ljust(width)
            for i, (value, width) in enumerate(zip(values, widths, strict=True))
        ).rstrip()

    out = [line(header), "  ".join("-" * w for w in widths)]
    out.extend(line(cell) for cell in cells)
    return "\n".join(out)


def format_details(rows: list[Row]) -> str:
    out: list[str] = []
    for row in rows:
        if not row.commands and not row.notes:
            continue
        out.append(f"[{row.key}] {row.what}")
        out.extend(f"    $ {command}" for command in row.commands)
        out.extend(f"    - {note}" for note in row.notes)
    return "\n".join(out)


# -- the machine ------------------------------------------------------------------------------


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git(*args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False, timeout=10
    )
    return done.stdout.strip()


def machine(postgres: str) -> dict[str, Any]:
    import sqlite3

    dirty = len(_git("status", "--porcelain", "--untracked-files=no").splitlines())
    return {
        "nproc": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "uvicorn": _version("uvicorn"),
        "granian": _version("granian"),
        "uvloop": _version("uvloop"),
        "httptools": _version("httptools"),
        "fastapi": _version("fastapi"),
        "numpy": _version("numpy"),
        "pyroaring": _version("pyroaring"),
        "wrk": wrk_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": postgres,
        "git": f"{_git('rev-parse', '--short', 'HEAD')}"
        + (f" + {dirty} modified tracked files" if dirty else ""),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def format_machine(info: dict[str, Any]) -> str:
    return (
        f"machine: {info['nproc']} CPUs ({info['cpu_model']}), Linux {info['kernel']}, "
        f"Python {info['python']}, uvicorn {info['uvicorn']} (uvloop {info['uvloop']}, "
        f"httptools {info['httptools']}), granian {info['granian']}, {info['wrk']}, "
        f"SQLite {info['sqlite']}, PostgreSQL {info['postgresql']}; code at {info['git']}; "
        f"load average at start {info['loadavg_at_start']}"
    )


# -- files ------------------------------------------------------------------------------------


def write_json(path: Path, info: dict[str, Any], rows: list[Row], meta: dict[str, Any]) -> None:
    document = {**meta, "machine": info, "rows": [asdict(row) for row in rows]}
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def write_plot(path: Path, rows: list[Row], title: str) -> str | None:
    """A PNG of throughput and latency; returns why not when matplotlib is missing."""
    try:  # optional: imported by name so that type checking does not need it installed
        importlib.import_module("matplotlib").use("Agg")
        plt = importlib.import_module("matplotlib.pyplot")
    except ImportError:
        return (
            "no plot: matplotlib is not installed (add `matplotlib` to the dev extras in "
            "pyproject.toml, or `.venv/bin/pip install matplotlib`)"
        )
    by_key = {row.key: row for row in rows}
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))

    servers = [
        (key, label) for key, label in (("1a", "uvicorn"), ("1b", "granian")) if key in by_key
    ]
    measured = [(key, label) for key, label in servers if by_key[key].value is not None]
    positions = range(len(measured))
    width = 0.38
    left.bar(
        [p - width / 2 for p in positions],
        [by_key[key].baseline or 0 for key, _ in measured],
        width,
        label="bare ASGI app",
        color="#9aa5b1",
    )
    left.bar(
        [p + width / 2 for p in positions],
        [by_key[key].value or 0 for key, _ in measured],
        width,
        label="withheld GET /visible",
        color="#1f6feb",
    )
    for p, (key, _) in zip(positions, measured, strict=True):
        ratio = by_key[key].ratio
        if ratio is not None:
            left.annotate(
                f"{ratio:.2f}x",
                (p + width / 2, by_key[key].value or 0),
                ha="center",
                va="bottom",
            )
    left.set_xticks(list(positions), [label for _, label in measured])
    left.set_ylabel("requests/s (median, wrk -t1 -c64, 1 core)")
    left.set_title("Throughput vs the bare ASGI app")
    left.legend(loc="upper left", fontsize=8)

    latency = [
        (key, label)
        for key, label in (("2a", "uvicorn"), ("2b", "granian"))
        if key in by_key and by_key[key].value is not None
    ]
    names: list[str] = []
    p50: list[float] = []
    p99: list[float] = []
    for key, label in latency:
        row = by_key[key]
        names += [f"bare\n{label}", f"withheld\n{label}"]
        p50 += [float(row.extra.get("baseline_p50_ms", 0)), float(row.extra.get("p50_ms", 0))]
        p99 += [row.baseline or 0.0, row.value or 0.0]
    spots = range(len(names))
    right.bar([p - width / 2 for p in spots], p50, width, label="p50", color="#9aa5b1")
    right.bar([p + width / 2 for p in spots], p99, width, label="p99", color="#d1242f")
    right.axhline(5.0, color="black", linestyle="--", linewidth=1, label="p99 target 5 ms")
    right.set_xticks(list(spots), names)
    right.set_ylabel("ms")
    right.set_title("GET /visible latency at 80% of each one's peak")
    right.legend(fontsize=8)
    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return None
