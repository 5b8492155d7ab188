"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy import text

from app.api.deps import RuntimeDep
from app.api.responses import JsonResponse
from app.edge.metrics import CONTENT_TYPE
from app.process import in_thread
from app.schemas.health import Health, Readiness

router = APIRouter(tags=["operations"])

CONSISTENCY = (
    "Lookups answer from this process's memory. A write is visible to the next request on the "
    "process that made it, and to every other process within 1 s; pass a write's "
    "X-Withheld-Revision as min_revision to read your own writes anywhere."
)


@router.get(
    "/metrics",
    summary="Prometheus metrics, summed over every worker of this server",
    response_class=Response,
    responses={
        200: {
            "content": {"text/plain": {"schema": {"type": "string"}}},
            "description": "Prometheus text exposition format 0.0.4.",
        }
    },
)
async def get_metrics(runtime: RuntimeDep) -> Response:
    body = await in_thread(runtime.metrics.render)
    return Response(body, media_type=CONTENT_TYPE)


@router.get("/healthz", response_model=Health, summary="Liveness: the process is up")
async def get_health() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Readiness: index loaded and database answering",
    responses={
        503: {
            "model": Readiness,
            "description": "Loading, or database unavailable (lookups still answer from memory).",
        }
    },
)
async def get_readiness(runtime: RuntimeDep) -> JsonResponse:
    def ping() -> None:
        with runtime.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    database = "ok"
    try:
        await in_thread(ping)
    except Exception:  # any failure to answer is "unavailable"; the reason is in the logs
        database = "unavailable"
    replica = runtime.replica
    loaded = replica.loaded
    ready = loaded and database == "ok"
    payload = Readiness(
        status="ready" if ready else ("loading" if not loaded else "degraded"),
        index_loaded=loaded,
        database=database,
        revision=replica.revision,
        pairs=len(replica.index),
        consistency=CONSISTENCY,
    )
    return JsonResponse(payload.model_dump(), status_code=200 if ready else 503)
