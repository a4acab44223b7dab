"""What a running server holds: settings, database, storage, engines, dispatcher, fetcher.

Only the type: `tds.server.lifespan` builds one at start-up and routes reach it through
`tds.api.deps`. Routes hand domain code the parts it needs, never the whole runtime.
"""

from __future__ import annotations

from dataclasses import dataclass

from tds.config import Settings
from tds.dispatch.base import Dispatcher
from tds.engines.routing import EngineRouter
from tds.fetch.fetcher import ImageFetcher
from tds.images.intake import ImageCleaner
from tds.keys.cache import PrincipalCache
from tds.kit.client_address import ClientAddresses
from tds.kit.db import Database
from tds.kit.rate_limit import Limiter
from tds.storage import Storage


@dataclass
class Runtime:
    settings: Settings
    db: Database
    storage: Storage
    engines: EngineRouter
    dispatcher: Dispatcher
    fetcher: ImageFetcher
    images: ImageCleaner
    key_secret: bytes
    rate_limiter: Limiter
    principals: PrincipalCache
    login_limiter: Limiter  # dashboard log-in attempts, per client address
    login_failure_limiter: Limiter  # failed log-ins, per (email, client address)
    auth_failure_limiter: Limiter  # failed API keys and passwords, per client address
    signup_limiter: Limiter  # dashboard sign-ups, per client address
    client_addresses: ClientAddresses  # the key those per-address limits count by

    def limiters(self) -> list[Limiter]:
        return [
            self.rate_limiter,
            self.login_limiter,
            self.login_failure_limiter,
            self.auth_failure_limiter,
            self.signup_limiter,
        ]
