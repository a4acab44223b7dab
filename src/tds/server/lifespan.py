"""Start and stop a server's runtime: storage, migrations, database, engines, dispatcher, and
the reaper that refunds renders past their lease."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from tds.api.runtime import Runtime
from tds.config import Settings
from tds.dispatch.base import Dispatcher
from tds.dispatch.local import LocalDispatcher
from tds.engines import registry
from tds.engines.base import Engine
from tds.engines.routing import EngineRouter
from tds.fetch.fetcher import ImageFetcher
from tds.idempotency import service as idempotency
from tds.images.intake import ImageCleaner
from tds.keys.cache import PrincipalCache
from tds.kit import migrate, secrets
from tds.kit.client_address import ClientAddresses
from tds.kit.db import Database, utcnow
from tds.kit.rate_limit import Limiter, RateLimiter, SharedRateLimiter
from tds.renders import lifecycle
from tds.renders.executor import RenderExecutor
from tds.storage import open_storage

log = logging.getLogger("tds.server")
DOCTOR_HINT = "The engines could not start: run `tds doctor` to see what this machine lacks."


class Reaper:
    """A thread that refunds renders past their lease and drops expired idempotency keys."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._forever, name="tds-reaper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def reap(self) -> list[str]:
        """One pass; the renders it ended."""
        rt = self._runtime
        now = utcnow()
        reaped = rt.db.write(lifecycle.reap, now)
        rt.db.write(idempotency.purge_expired, now)
        for render_id in reaped:
            rt.dispatcher.cancel(render_id)
        return reaped

    def _forever(self) -> None:
        while not self._stop.wait(self._runtime.settings.reaper_interval_seconds):
            try:
                self.reap()
            except Exception:  # a locked database must not kill the reaper for good
                log.exception("reaper run failed")


@asynccontextmanager
async def running(
    settings: Settings, *, engine: Engine | None = None, fetcher: ImageFetcher | None = None
) -> AsyncIterator[tuple[Runtime, Reaper]]:
    """The runtime for `settings`, started; stopped on exit. `engine` and `fetcher` replace
    the configured ones (tests, benchmarks)."""
    runtime = start(settings, engine=engine, fetcher=fetcher)
    reaper = Reaper(runtime)
    reaper.start()
    try:
        yield runtime, reaper
    finally:
        reaper.stop()
        await stop(runtime)


def start(
    settings: Settings, *, engine: Engine | None = None, fetcher: ImageFetcher | None = None
) -> Runtime:
    settings.prepare_data_dir()
    storage = open_storage(settings)  # first: a bucket that does not answer stops us here
    migrate.upgrade(settings.sqlalchemy_url)
    db = Database(settings.sqlalchemy_url)
    with _doctor_hint():
        engines = (
            EngineRouter.single(engine)
            if engine is not None
            else EngineRouter.build(settings.engine, settings.engine_for, registry.load)
        )
    dispatcher: Dispatcher
    if settings.broker_url:  # Celery workers load the engines and run the renders
        from tds.dispatch.distributed import CeleryDispatcher

        dispatcher = CeleryDispatcher(settings, db)
    else:
        with _doctor_hint():
            engines.setup()
        dispatcher = LocalDispatcher(
            RenderExecutor(db, storage, engines, settings),
            workers=settings.workers,
            max_queued=settings.max_queued,
        )
    runtime = Runtime(
        settings=settings,
        db=db,
        storage=storage,
        engines=engines,
        dispatcher=dispatcher,
        fetcher=fetcher
        or ImageFetcher(
            max_bytes=settings.max_upload_bytes, timeout=settings.fetch_timeout_seconds
        ),
        images=ImageCleaner(
            max_bytes=settings.max_upload_bytes,
            max_pixels=settings.max_image_pixels,
            concurrency=max(2, settings.workers),
        ),
        key_secret=secrets.load_or_create(settings.key_secret, settings.data_dir),
        rate_limiter=_limiter(settings, "api", settings.rate_limit, "requests for this key"),
        principals=PrincipalCache(settings.auth_cache_seconds),
        login_limiter=_limiter(
            settings, "login", settings.login_rate_limit, "log-in attempts from this address"
        ),
        login_failure_limiter=_limiter(
            settings,
            "login-failure",
            settings.login_rate_limit,
            "failed log-ins for this email from this address",
        ),
        auth_failure_limiter=_limiter(
            settings,
            "auth-failure",
            settings.auth_failure_rate_limit,
            "failed authentications from this address",
        ),
        signup_limiter=_limiter(
            settings, "signup", settings.signup_rate_limit, "sign-ups from this address"
        ),
        client_addresses=ClientAddresses(settings.trusted_proxies),
    )
    dispatcher.start()
    if isinstance(dispatcher, LocalDispatcher):  # Celery jobs outlive an API restart
        for job in db.write(lifecycle.recover):
            # renders interrupted by the last shutdown resume here
            dispatcher.enqueue(job.render_id, job.account_id, job.max_in_flight)
    return runtime


@contextmanager
def _doctor_hint() -> Iterator[None]:
    """An engine that cannot start stops the server; its error then says where to look."""
    try:
        yield
    except Exception as error:
        error.add_note(DOCTOR_HINT)
        raise


async def stop(runtime: Runtime) -> None:
    for limiter in runtime.limiters():
        if isinstance(limiter, SharedRateLimiter):
            await limiter.aclose()
    runtime.dispatcher.stop()
    await runtime.fetcher.aclose()
    runtime.storage.close()
    runtime.db.dispose()


def _limiter(settings: Settings, name: str, limit: str, what: str) -> Limiter:
    """Shared through Redis when API processes share a broker, else counted in this process.
    `what` is counted, in the words of a refusal ("sign-ups from this address")."""
    if settings.broker_url:
        return SharedRateLimiter(name, limit, settings.broker_url, settings.broker_prefix, what)
    return RateLimiter(limit, what)
