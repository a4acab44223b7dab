"""create_app(): the FastAPI application with every router, error handler and the runtime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from tds import __version__
from tds.accounts.endpoints import router as accounts_router
from tds.api import errors, metrics, openapi
from tds.api.body_limit import BodyLimit
from tds.api.edge import Edge
from tds.api.runtime import Runtime
from tds.billing.endpoints import router as billing_router
from tds.config import Settings
from tds.engines.base import Engine
from tds.fetch.fetcher import ImageFetcher
from tds.files.endpoints import router as files_router
from tds.kit import request_id
from tds.renders.endpoints import router as renders_router
from tds.server.lifespan import running
from tds.styles.endpoints import router as styles_router
from tds.teams.endpoints import router as teams_router
from tds.uploads.endpoints import router as uploads_router
from tds.usage.endpoints import router as usage_router
from tds.web import routes as web
from tds.web.errors import error_page

DESCRIPTION = """\
One REST API from a CAD viewport to an architectural render.

Authenticate every `/api/v1` request with `Authorization: Bearer tds_live_…`. Errors are
`{"error": {"code", "message", "request_id"}}`: 400 bad request, 401 bad key,
402 out of credits, 403 plan limit, 404 not found, 409 conflict, 413 too large,
429 slow down, 502 model failed (credits refunded), 503 queue full. Credits are spent only
on success. Every answer carries an `X-Request-Id` header (yours, if you sent a sane one);
quote it to support.
"""

# JSON base64 inflates an image by 4/3; leave room for the other fields.
_BODY_OVERHEAD = 64 * 1024


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    fetcher: ImageFetcher | None = None,
) -> FastAPI:
    """The app. `engine` and `fetcher` replace the configured ones (tests, benchmarks)."""
    settings = settings or Settings()
    max_body = settings.max_upload_bytes * 4 // 3 + _BODY_OVERHEAD

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with running(settings, engine=engine, fetcher=fetcher) as (runtime, reaper):
            app.state.runtime = runtime
            app.state.reaper = reaper
            yield

    app = FastAPI(
        title="tds",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # Observability is Prometheus (GET /metrics) and request-id'd logs; FastAPI's native
        # OpenTelemetry hooks would cost every request a check for providers nobody set.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.add_middleware(BodyLimit, max_body_size=max_body)
    if settings.cors_origins:  # bearer keys only, so no credentials cross origins
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "Idempotency-Key",
                "Prefer",
                request_id.HEADER,
            ],
            expose_headers=[
                "Location",
                "Retry-After",
                "Idempotent-Replayed",
                "Preference-Applied",
                request_id.HEADER,
            ],
            max_age=600,
        )
    errors.install(app, pages=error_page)  # dashboard pages answer pages; /api/v1 JSON
    openapi.without_validation_422(app)
    # Outside everything else, Starlette's 500 handler included (which add_middleware cannot
    # reach): every answer has its id and security headers, and is counted with its final status.
    observed = metrics.install(app)
    build = app.build_middleware_stack
    app.build_middleware_stack = lambda: Edge(build(), observed)  # type: ignore[method-assign]

    # Included one level deep: every level of nested routers costs each request a match.
    for router in (accounts_router, styles_router, uploads_router, renders_router, teams_router):
        app.include_router(router, prefix="/api/v1")
    app.include_router(usage_router, prefix="/api/v1")
    app.include_router(billing_router, prefix="/api/v1")
    app.include_router(files_router)
    web.install(app)

    @app.get(
        "/healthz",
        tags=["health"],
        summary="Liveness and readiness",
        responses={
            200: {
                "content": {
                    "application/json": {
                        "example": {"status": "ok", "engine": "preview", "version": __version__}
                    }
                }
            }
        },
    )
    def healthz() -> dict[str, str]:
        runtime: Runtime = app.state.runtime
        runtime.db.read(lambda session: session.connection().exec_driver_sql("SELECT 1"))
        names = ",".join(engine.name for engine in runtime.engines.engines())
        return {"status": "ok", "engine": names, "version": __version__}

    return app
