"""Everything a running server holds: settings, database, storage, engine, workers, fetcher.

Built once in the app's lifespan; routes reach it through tds.server.deps.
"""

from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass, field
from datetime import timedelta

import anyio
import anyio.to_thread

from tds.config import Settings
from tds.dispatch.base import Dispatcher
from tds.dispatch.local import LocalDispatcher
from tds.engines import registry
from tds.engines.base import Engine
from tds.engines.routing import EngineRouter
from tds.fetch.fetcher import ImageFetcher
from tds.idempotency import service as idempotency
from tds.images.intake import CleanImage, clean_image
from tds.keys.cache import PrincipalCache
from tds.kit import migrate, secrets
from tds.kit.db import Database, utcnow
from tds.renders import service as renders
from tds.renders.worker import RenderExecutor
from tds.server.rate_limit import Limiter, RateLimiter, SharedRateLimiter
from tds.storage import Storage, open_storage

log = logging.getLogger("tds.server")


@dataclass
class Runtime:
    settings: Settings
    db: Database
    storage: Storage
    engines: EngineRouter
    dispatcher: Dispatcher
    fetcher: ImageFetcher
    key_secret: bytes
    rate_limiter: Limiter
    principals: PrincipalCache
    login_limiter: Limiter  # dashboard log-ins, per address and per email
    image_limiter: anyio.CapacityLimiter
    _stop: threading.Event = field(default_factory=threading.Event)
    _reaper: threading.Thread | None = None

    @classmethod
    def start(
        cls,
        settings: Settings,
        *,
        engine: Engine | None = None,
        fetcher: ImageFetcher | None = None,
    ) -> Runtime:
        settings.prepare_data_dir()
        storage = open_storage(settings)  # first: a bucket that does not answer stops us here
        migrate.upgrade(settings.sqlalchemy_url)
        db = Database(settings.sqlalchemy_url)
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
            engines.setup()
            dispatcher = LocalDispatcher(
                RenderExecutor(db, storage, engines, settings),
                workers=settings.workers,
                max_queued=settings.max_queued,
            )
        runtime = cls(
            settings=settings,
            db=db,
            storage=storage,
            engines=engines,
            dispatcher=dispatcher,
            fetcher=fetcher
            or ImageFetcher(
                max_bytes=settings.max_upload_bytes, timeout=settings.fetch_timeout_seconds
            ),
            key_secret=secrets.load_or_create(settings.key_secret, settings.data_dir),
            rate_limiter=_limiter(settings, "api", settings.rate_limit),
            principals=PrincipalCache(settings.auth_cache_seconds),
            login_limiter=_limiter(settings, "login", settings.login_rate_limit),
            image_limiter=anyio.CapacityLimiter(max(2, settings.workers)),
        )
        dispatcher.start()
        if isinstance(dispatcher, LocalDispatcher):  # Celery jobs outlive an API restart
            with db.write() as session:
                pending = renders.recover(session)
            for job in pending:  # renders interrupted by the last shutdown resume here
                dispatcher.enqueue(job.render_id, job.account_id, job.max_in_flight)
        runtime._reaper = threading.Thread(target=runtime._reap_forever, name="tds-reaper")
        runtime._reaper.daemon = True
        runtime._reaper.start()
        return runtime

    async def clean_image(self, data: bytes) -> CleanImage:
        """Validate and re-encode an incoming image, a few at a time: a 50-megapixel image
        holds several copies of itself in memory while it is decoded and re-encoded."""
        return await anyio.to_thread.run_sync(
            functools.partial(
                clean_image,
                data,
                max_bytes=self.settings.max_upload_bytes,
                max_pixels=self.settings.max_image_pixels,
            ),
            limiter=self.image_limiter,
        )

    @property
    def idempotency_ttl(self) -> timedelta:
        return timedelta(hours=self.settings.idempotency_ttl_hours)

    async def stop(self) -> None:
        self._stop.set()
        for limiter in {self.rate_limiter, self.login_limiter}:
            if isinstance(limiter, SharedRateLimiter):
                await limiter.aclose()
        self.dispatcher.stop()
        if self._reaper:
            self._reaper.join(5)
        await self.fetcher.aclose()
        self.storage.close()
        self.db.dispose()

    def reap(self) -> list[str]:
        """Refund renders past their lease and drop expired idempotency keys."""
        now = utcnow()
        with self.db.write() as session:
            reaped = renders.reap(session, now)
            idempotency.purge_expired(session, now)
        for render_id in reaped:
            self.dispatcher.cancel(render_id)
        return reaped

    def _reap_forever(self) -> None:
        while not self._stop.wait(self.settings.reaper_interval_seconds):
            try:
                self.reap()
            except Exception:  # a locked database must not kill the reaper for good
                log.exception("reaper run failed")


def _limiter(settings: Settings, name: str, limit: str) -> Limiter:
    """Shared through Redis when API processes share a broker, else counted in this process."""
    if settings.broker_url:
        return SharedRateLimiter(name, limit, settings.broker_url, settings.broker_prefix)
    return RateLimiter(limit)
