"""Settings: every knob is an environment variable prefixed ``WITHHELD_``, validated at start."""

from __future__ import annotations

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
        description="Run the heavy writes (a bulk, an order's decisions) in a child process, so "
        "that lookups do not wait for them; false: in a worker thread of this process.",
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

    @field_validator("database_url")
    @classmethod
    def _non_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()


def get_settings() -> Settings:
    return Settings()
