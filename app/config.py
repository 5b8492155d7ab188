"""Settings: every knob is an environment variable prefixed ``WITHHELD_``, validated at start."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///data/withheld.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WITHHELD_", extra="ignore", frozen=True)

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy-style URL. postgres:// and postgresql:// are accepted as written.",
    )
    admin_tokens: str = Field(
        default="",
        repr=False,
        description="Comma-separated bearer tokens allowed to write, each `token` or `name:token`.",
    )
    max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    request_read_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="A request body that makes no progress for this long gets 408 and the "
        "connection is closed.",
    )
    poll_interval_s: float = Field(
        default=0.1, gt=0, le=1.0, description="Changelog poll period (the staleness bound)."
    )
    expiry_interval_s: float = Field(default=0.5, gt=0, le=1.0)
    min_revision_wait_s: float = Field(default=1.0, ge=0, le=10)
    db_timeout_s: float = Field(
        default=2.0, gt=0, description="Connect/lock timeout; an unreachable database fails fast."
    )
    snapshot_every_changes: int = Field(
        default=50_000,
        ge=1,
        description="Store an index snapshot once the newest one is this many changes behind.",
    )
    snapshot_check_s: float = Field(default=10.0, gt=0)
    migrate_on_start: bool = True
    log_format: Literal["text", "json"] = "text"
    log_level: str = "INFO"
    metrics_dir: Path | None = Field(
        default=None,
        description="Folder where the workers of one server pool their metrics; by default one "
        "per server process tree, under the temporary directory.",
    )
    write_process: bool = Field(
        default=True,
        description="Run the heavy writes (a bulk, an order's decisions, mass expiries, large "
        "snapshots on PostgreSQL) in a child process, so that lookups do not wait for them; "
        "false: in a worker thread of this process.",
    )
    write_process_cpus: str | None = Field(
        default=None,
        description="CPUs the write process may run on, as taskset lists them (`0`, `0,2-3`); "
        "by default those of its worker. On a host whose serving workers are pinned, a core of "
        "the writer's own keeps a heavy write's CPU time off the cores that answer lookups "
        "(Linux only).",
    )
    stall_trace_file: Path | None = Field(
        default=None,
        description="If set, every thread's stack is appended to this file whenever the event "
        "loop stalls longer than `stall_trace_ms` (what held it, for a profile of stalls).",
    )
    stall_trace_ms: float = Field(default=25.0, gt=0, le=60_000)
    server: str = Field(
        default="uvicorn",
        description="`withheld serve`'s HTTP server when --server is not given: uvicorn or "
        "granian.",
    )

    @property
    def write_process_cpu_set(self) -> frozenset[int] | None:
        return None if self.write_process_cpus is None else parse_cpu_list(self.write_process_cpus)

    @field_validator("write_process_cpus")
    @classmethod
    def _cpu_list(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parse_cpu_list(value)  # raises ValueError, naming what is wrong
        return value.strip()

    @field_validator("database_url")
    @classmethod
    def _non_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()


def parse_cpu_list(text: str) -> frozenset[int]:
    """The CPUs of a list as taskset and cpusets spell it: ``0``, ``0,2``, ``1-3``."""
    if not hasattr(os, "sched_setaffinity"):
        raise ValueError("CPU affinity is only available on Linux")
    cpus: set[int] = set()
    for part in text.split(","):
        first, dash, last = (piece.strip() for piece in part.partition("-"))
        if not (first.isdigit() and (not dash or last.isdigit())):
            raise ValueError(f"{part.strip()!r} is not a CPU number nor a range such as 0-3")
        low, high = int(first), int(last) if dash else int(first)
        if low > high:
            raise ValueError(f"{part.strip()!r}: the range runs backwards")
        cpus.update(range(low, high + 1))
    count = os.cpu_count() or 1
    if max(cpus) >= count:
        raise ValueError(f"CPU {max(cpus)} does not exist (this machine has {count})")
    return frozenset(cpus)


def get_settings() -> Settings:
    return Settings()
