"""Liveness and readiness."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Health(BaseModel):
    status: str = Field(examples=["ok"])


class Readiness(BaseModel):
    status: str = Field(description="ready | degraded | loading", examples=["ready"])
    index_loaded: bool
    database: str = Field(description="ok | unavailable", examples=["ok"])
    revision: int = Field(description="Changelog revision this process reflects.")
    pairs: int = Field(description="Active (account, country) pairs in memory.")
    consistency: str
