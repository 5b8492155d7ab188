"""The application: ``uvicorn app.main:app``, or ``granian --interface rsgi app.main:rsgi_app``.

Request flow: ``FastPath`` (the hot path: well-formed ``GET``/``POST /visible`` answered
from memory) → ``RequestMetrics`` → ``RevisionHeader`` → ``BodyLimit`` → FastAPI (everything
else, and the OpenAPI document).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from app.api import (
    audit,
    changes,
    errors,
    hashtags,
    health,
    orders,
    posts,
    reports,
    visibility,
    withholdings,
)
from app.auth import TokenRegistry
from app.config import Settings, get_settings
from app.db import Database
from app.edge.fast_path import FastPath
from app.edge.layers import BodyLimit, RevisionHeader
from app.edge.metrics import LAG_PROBE_INTERVAL_S, Metrics, RequestMetrics, metrics_dir
from app.edge.rsgi import RsgiApp
from app.edge.stall_trace import StallTracer
from app.index import COMPILED_PROBE
from app.logs import configure_logging
from app.memory import limit_malloc_arenas
from app.migrate import require_head, upgrade_to_head
from app.process import in_thread, tune_for_serving
from app.replication.follower import ChangelogFollower
from app.replication.replica import Replica
from app.runtime import Runtime
from app.write_process import WriteProcess

log = logging.getLogger("withheld")

DESCRIPTION = """\
May this account's content be shown to a viewer in this country?

Per-country withholding rules (ISO 3166-1 alpha-2; `XX` = all countries, as in Twitter's
`withheld_in_countries`), answered from in-memory Roaring bitmaps. Writes need
`Authorization: Bearer <admin token>`. Every response carries `X-Withheld-Revision`.
"""


def _operation_id(route: APIRoute) -> str:
    return route.name


def _stall_tracer(settings: Settings) -> StallTracer | None:
    if settings.stall_trace_file is None:
        return None
    log.warning(
        "stall trace: stacks of every thread go to %s when the event loop stalls %.0f ms",
        settings.stall_trace_file,
        settings.stall_trace_ms,
    )
    return StallTracer(
        settings.stall_trace_file,
        threshold_s=settings.stall_trace_ms / 1000,
        interval_s=LAG_PROBE_INTERVAL_S,
    )


async def _build_routes_now(api: FastAPI) -> None:
    """Send ``api`` one request no route answers (its 404 goes nowhere).

    FastAPI prepares a router's routes (their dependencies, validators and serializers) on the
    first request that reaches that router, on the event loop: tens of milliseconds that every
    lookup in flight would wait out, the first time each router is used after a start. A request
    that no route matches is tried against every router, so all of them are prepared here,
    before the process says it is ready.
    """
    scope: dict[str, object] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/.withheld-start-up",
        "raw_path": b"/.withheld-start-up",
        "query_string": b"",
        "root_path": "",
        "headers": [],
        "client": None,
        "server": None,
    }

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        pass

    await api(scope, receive, send)


def _build_api(settings: Settings, replica: Replica, metrics: Metrics) -> FastAPI:
    @asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncIterator[None]:
        tokens = TokenRegistry.parse(settings.admin_tokens)
        db = Database.from_url(settings.database_url, timeout_s=settings.db_timeout_s)
        if settings.migrate_on_start:
            await in_thread(partial(upgrade_to_head, db.engine))
        else:
            await in_thread(partial(require_head, db.engine))
        writer = WriteProcess(
            db,
            enabled=settings.write_process,
            timeout_s=settings.db_timeout_s,
            cpus=settings.write_process_cpu_set,
        )
        follower = ChangelogFollower(
            db, replica, settings, writer=writer, on_db_error=metrics.stats.db_error
        )
        await follower.load()
        await _build_routes_now(api)
        tune_for_serving()
        follower.start()
        publisher = asyncio.create_task(metrics.publish_forever(), name="withheld-metrics")
        tracer = _stall_tracer(settings)
        lag_probe = asyncio.create_task(metrics.probe_loop_lag_forever(tracer), name="withheld-lag")
        api.state.runtime = Runtime(
            settings=settings,
            db=db,
            replica=replica,
            follower=follower,
            tokens=tokens,
            metrics=metrics,
            writer=writer,
        )
        log.info(
            "database: %s; %d active pairs at revision %d; lookups probe %s",
            db.describe(),
            len(replica.index),
            replica.revision,
            "compiled" if COMPILED_PROBE else "in Python (app/index/_probe.c not built)",
        )
        if tokens.configured:
            log.info("writes accepted from admin tokens: %s", ", ".join(tokens.names))
        else:
            log.warning(
                "no WITHHELD_ADMIN_TOKENS: writes are refused (401). "
                "`withheld serve` or `withheld token` makes one"
            )
        log.info("try: curl 'http://HOST:PORT/visible?account=12&country=IN' ; docs at /docs")
        try:
            yield
        finally:
            try:
                for task in (publisher, lag_probe):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                if tracer is not None:
                    tracer.close()
                await follower.stop()  # its expiry may be writing through the writer
                await writer.close()
                await replica.settle()
                with contextlib.suppress(OSError):
                    metrics.flush()
            finally:
                db.dispose()

    api = FastAPI(
        title="withheld",
        version="0.1.0",
        summary="Country-withheld content: visibility lookups and withholding rules.",
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
    )
    routers = [
        visibility.router,
        withholdings.router,
        posts.router,
        hashtags.router,
        orders.router,
        changes.router,
        audit.router,
        reports.router,
        health.router,
    ]
    for router in routers:
        api.include_router(router)
    errors.install(api, [route for router in routers for route in router.routes])
    return api


class WithheldApp(FastPath):
    """The ASGI application. ``api`` is the FastAPI app (routes, OpenAPI); ``replica`` the index.

    It *is* the fast path (a subclass, not a wrapper); servers run its ``asgi`` coroutine
    function (``app`` below), which answers lookups itself, for a call less per lookup.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        replica = Replica()
        self.metrics = Metrics(metrics_dir(settings.metrics_dir), replica.gauges)
        self.api = _build_api(settings, replica, self.metrics)
        inner = BodyLimit(
            self.api,
            max_bytes=settings.max_body_bytes,
            read_timeout_s=settings.request_read_timeout_s,
        )
        stamped = RevisionHeader(inner, revision=lambda: replica.revision)
        measured = RequestMetrics(stamped, self.metrics.stats)
        super().__init__(
            measured,
            replica,
            self.metrics.stats,
            max_body_bytes=settings.max_body_bytes,
            read_timeout_s=settings.request_read_timeout_s,
        )


def create_app(settings: Settings | None = None) -> WithheldApp:
    limit_malloc_arenas()  # before the first worker thread
    settings = settings or get_settings()
    configure_logging(log_format=settings.log_format, level=settings.log_level)
    return WithheldApp(settings)


service = create_app()
# What `uvicorn app.main:app` serves: the service's ASGI coroutine function (see WithheldApp).
app = service.asgi
# What `granian --interface rsgi app.main:rsgi_app` serves: the same service, natively in RSGI.
rsgi_app = RsgiApp(service)
