"""Prometheus metrics at `GET /metrics`: the service's truth from the database, plus this
process's own HTTP and runtime figures.

Several API processes and any number of render workers share one database, so counters kept in
memory would each see a part of the work (and lose it on restart). Renders, the queue, engine
time and credits are therefore read from the database at scrape time by a few aggregate queries
(`DatabaseCollector`): every process answers the same, complete figures. Only what is genuinely
per process is counted in memory: HTTP requests by route template and status, their latency,
and the process's CPU, memory and garbage collector.

Engine time is a histogram built in SQL (one pass over finished renders, a CASE sum per
bucket), so percentiles can be taken across the whole fleet and over any window with
`histogram_quantile(…, rate(tds_engine_seconds_bucket[…]))`; a summary's quantiles could not be
aggregated or windowed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from sqlalchemy import ColumnElement, case, extract, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.types import Scope

from tds.catalogue import KINDS
from tds.kit.db import Database, utcnow
from tds.models import Hold, Render, RenderStatus
from tds.models.render import FINAL, IN_FLIGHT

log = logging.getLogger("tds.server")

# Seconds an engine takes: a preview render is under a second, a diffusion video minutes.
ENGINE_BUCKETS = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0)
# A blocking POST /renders may wait up to TDS_MAX_WAIT_SECONDS (120 s by default).
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
# No `_created` series beside the in-process counters: one timestamp per label set, of no use
# in queries, doubling what each scrape stores. (A process-wide switch of prometheus_client.)
disable_created_metrics()  # type: ignore[no-untyped-call]
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _seconds_between(dialect: str, start: Any, end: Any) -> ColumnElement[Any]:
    if dialect == "sqlite":  # timestamps are ISO text; julianday() reads them
        return (func.julianday(end) - func.julianday(start)) * 86400.0
    return extract("epoch", end - start)


class DatabaseCollector(Collector):
    """The renders, queue, engine time and credits of the whole service, read at scrape time."""

    def __init__(self, database: Callable[[], Database | None]) -> None:
        self._database = database

    def collect(self) -> Iterable[Metric]:
        db = self._database()
        if db is None:  # the app is not started (or already stopped)
            return []
        up = GaugeMetricFamily(
            "tds_database_up",
            "1 when this scrape read the database; 0 when it failed and the other "
            "database-backed tds_* series are missing.",
        )
        try:
            families = db.read(lambda session: list(self._families(session)))
        except SQLAlchemyError:
            log.warning("metrics: the database could not be read", exc_info=True)
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        return [up, *families]

    def _families(self, session: Session) -> Iterator[Metric]:
        yield from self._renders(session)
        yield self._engine_seconds(session)
        yield from self._credits(session)

    def _renders(self, session: Session) -> Iterator[Metric]:
        statuses = (*FINAL, *IN_FLIGHT)
        counts: dict[tuple[str, str], int] = {(k, s): 0 for k in KINDS for s in statuses}
        for kind, status, count in session.execute(
            select(Render.kind, Render.status, func.count()).group_by(Render.kind, Render.status)
        ):
            counts[(kind, status)] = int(count)

        finished = CounterMetricFamily(
            "tds_renders",
            "Renders that ended, by kind and final status (done, failed, canceled).",
            labels=["kind", "status"],
        )
        queued = GaugeMetricFamily(
            "tds_queue_depth", "Renders waiting for a worker now, by kind.", labels=["kind"]
        )
        processing = GaugeMetricFamily(
            "tds_renders_processing", "Renders on an engine now, by kind.", labels=["kind"]
        )
        for (kind, status), count in sorted(counts.items()):
            if status in FINAL:
                finished.add_metric([kind, status], count)
            elif status == RenderStatus.QUEUED:
                queued.add_metric([kind], count)
            elif status == RenderStatus.PROCESSING:
                processing.add_metric([kind], count)
        yield from (finished, queued, processing)

        failures = CounterMetricFamily(
            "tds_render_failures",
            "Failed renders by kind and error code (model_failed, timeout, interrupted).",
            labels=["kind", "code"],
        )
        for kind, code, count in session.execute(
            select(Render.kind, Render.error_code, func.count())
            .where(Render.status == RenderStatus.FAILED)
            .group_by(Render.kind, Render.error_code)
        ):
            failures.add_metric([kind, code or "unknown"], int(count))
        yield failures

        oldest = GaugeMetricFamily(
            "tds_queue_oldest_age_seconds",
            "Age of the oldest render still waiting for a worker, by kind (0 when none waits).",
            labels=["kind"],
        )
        ages: dict[str, float] = dict.fromkeys(KINDS, 0.0)
        now = utcnow()
        for kind, created_at in session.execute(
            select(Render.kind, func.min(Render.created_at))
            .where(Render.status == RenderStatus.QUEUED)
            .group_by(Render.kind)
        ):
            if created_at is not None:
                ages[kind] = max(0.0, (now - created_at).total_seconds())
        for kind, age in sorted(ages.items()):
            oldest.add_metric([kind], age)
        yield oldest

    def _engine_seconds(self, session: Session) -> Metric:
        dialect = session.get_bind().dialect.name
        durations = (
            select(
                Render.kind.label("kind"),
                _seconds_between(dialect, Render.started_at, Render.completed_at).label("seconds"),
            )
            .where(
                Render.status == RenderStatus.DONE,
                Render.started_at.is_not(None),
                Render.completed_at.is_not(None),
            )
            .subquery()
        )
        seconds = durations.c.seconds
        columns = [
            func.count(),
            func.coalesce(func.sum(seconds), 0.0),
            *(
                func.coalesce(func.sum(case((seconds <= bound, 1), else_=0)), 0)
                for bound in ENGINE_BUCKETS
            ),
        ]
        family = HistogramMetricFamily(
            "tds_engine_seconds",
            "Engine time of renders that succeeded (completed_at - started_at), by kind.",
            labels=["kind"],
        )
        query = select(durations.c.kind, *columns).group_by(durations.c.kind)
        rows = {row[0]: row[1:] for row in session.execute(query)}
        for kind in sorted(set(KINDS) | set(rows)):
            count, total, *cumulative = rows.get(kind, (0, 0.0, *(0 for _ in ENGINE_BUCKETS)))
            buckets = [
                (_le(bound), float(number))
                for bound, number in zip(ENGINE_BUCKETS, cumulative, strict=True)
            ]
            buckets.append(("+Inf", float(count)))
            family.add_metric([kind], buckets, float(total))
        return family

    def _credits(self, session: Session) -> Iterator[Metric]:
        sums = {"held": 0, "captured": 0, "released": 0}
        for state, amount in session.execute(
            select(Hold.state, func.coalesce(func.sum(Hold.amount), 0)).group_by(Hold.state)
        ):
            sums[state] = int(amount)
        yield CounterMetricFamily(
            "tds_credits_captured",
            "Credits spent on renders that succeeded (holds captured).",
            value=sums["captured"],
        )
        yield CounterMetricFamily(
            "tds_credits_refunded",
            "Credits held for renders and given back in full: failed, canceled, timed out or "
            "interrupted (holds released).",
            value=sums["released"],
        )
        yield GaugeMetricFamily(
            "tds_credits_held",
            "Credits set aside now by renders in flight (holds not yet resolved).",
            value=sums["held"],
        )


def _le(bound: float) -> str:
    """A bucket's `le` label as Prometheus's own clients write it: 1.0, 0.25, 600.0."""
    return repr(float(bound))


class Metrics:
    """One registry per app: the database collector, HTTP counters, process collectors."""

    def __init__(self, database: Callable[[], Database | None]) -> None:
        self.registry = CollectorRegistry()
        for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            self.registry.register(collector)
        self.registry.register(DatabaseCollector(database))
        self.requests = Counter(
            "tds_http_requests",
            "HTTP requests this process answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "tds_http_request_duration_seconds",
            "Time this process took to answer, by method and route template.",
            ["method", "route"],
            buckets=HTTP_BUCKETS,
            registry=self.registry,
        )

    def observe(self, scope: Scope, root: str, status: str, seconds: float) -> None:
        """Count one answer by method, route template (never the raw path) and status."""
        method = scope["method"] if scope["method"] in _METHODS else "other"
        route = _route_label(scope, root)
        self.requests.labels(method, route, status).inc()
        self.duration.labels(method, route).observe(seconds)

    def exposition(self, accept: str) -> tuple[bytes, str]:
        """The exposition in the format `accept` asks for (Prometheus text by default)."""
        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type


_PARAM = re.compile(r"{([^}:]+)(?::[^}]*)?}")


def _route_label(scope: Scope, root: str) -> str:
    """The matched route's full template, e.g. /api/v1/renders/{render_id}.

    The route object knows only its own template (a router's prefix is not part of it), so the
    prefix is what the request path has before the route's own part, with the parameters put
    back. Prefixes here are literal, so the label never holds what a client typed. `root` is
    the scope's root_path before routing: a mounted app (/static) shows as the root_path its
    Mount added.
    """
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if not isinstance(template, str):
        mounted: str = scope.get("root_path", root)
        if mounted != root and mounted.startswith(root) and "endpoint" in scope:
            return mounted[len(root) :] + "/{path}"
        return "unmatched"  # 404s: their paths are whatever a client sent, never a label
    params = scope.get("path_params", {})
    try:
        own = _PARAM.sub(lambda match: str(params[match.group(1)]), template)
    except KeyError:
        return template
    path: str = scope.get("path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    if own and path.endswith(own):
        return path[: len(path) - len(own)] + template
    return template


def install(app: FastAPI) -> Metrics:
    """`GET /metrics` on `app` (outside /api/v1: no API key, no rate limit, not in OpenAPI).

    `tds.api.edge` counts each request with `Metrics.observe`.
    """

    def database() -> Database | None:
        runtime = getattr(app.state, "runtime", None)
        return runtime.db if runtime is not None else None

    metrics = Metrics(database)

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics(request: Request) -> Response:
        # Aggregate queries: always off the event loop, whatever the database.
        body, content_type = await run_in_threadpool(
            metrics.exposition, request.headers.get("accept", "")
        )
        return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})

    return metrics
