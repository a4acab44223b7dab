"""Accepting a render, whoever asks (the API, the dashboard): check, fetch, hold, dispatch."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import anyio.to_thread
from sqlalchemy.orm import Session

from tds.catalogue import PLANS
from tds.config import Settings
from tds.dispatch.base import Dispatcher, QueueFull, QueueUnavailable
from tds.engines.routing import EngineRouter
from tds.exceptions import (
    ImageUrlUnfetchable,
    InsufficientCredits,
    ModelUnavailable,
    MonthlyCapReached,
)
from tds.fetch.fetcher import ImageFetcher
from tds.idempotency import service as idempotency
from tds.idempotency.service import Claim
from tds.images.intake import CleanImage, ImageCleaner
from tds.keys.service import Principal
from tds.kit.db import Database
from tds.kit.ids import new_id
from tds.models import Render
from tds.renders import lifecycle, policy, queries, schemas
from tds.storage.base import Put, Storage, staged_write
from tds.storage.urls import own_key


def _queue_full() -> ModelUnavailable:
    return ModelUnavailable(
        "The render queue is full; nothing was charged. Retry in a minute.",
        headers={"Retry-After": "60"},
    )


def _queue_unreachable() -> ModelUnavailable:
    return ModelUnavailable(
        "The render queue cannot be reached; nothing was charged. Retry in a minute.",
        headers={"Retry-After": "60"},
    )


def where_credits_come_from(
    short: InsufficientCredits, settings: Settings, base: str
) -> InsufficientCredits:
    """The ledger's 402, saying where more credits come from here: the dashboard's credits
    page where this server sells them (Stripe is configured), else the administrator. Same
    code and fields; the ledger's own advice (its last sentence) gives way to this one."""
    said = short.message.strip()
    first, dot, _ = said.partition(". ")
    shortfall = f"{first}." if dot else said
    dashboard = (settings.public_url or base).rstrip("/")
    if settings.stripe_configured:
        advice = f"Buy credits at {dashboard}/credits, or choose a lower resolution."
    else:
        advice = "Ask your administrator for credits, or choose a lower resolution."
    return InsufficientCredits(f"{shortfall} {advice}", headers=short.headers, **short.extra)


@dataclass(frozen=True)
class Submitter:
    """What accepting a render needs, and nothing more."""

    db: Database
    storage: Storage
    dispatcher: Dispatcher
    fetcher: ImageFetcher
    images: ImageCleaner
    engines: EngineRouter
    settings: Settings

    async def submit(
        self,
        principal: Principal,
        body: schemas.RenderCreate,
        *,
        base: str,
        claim: Claim | None = None,
    ) -> str:
        """Accept a render: refuse what cannot run before holding anything, then hold its
        cost, store its input and queue it once that is committed. Its id.

        With a `claim`, a concurrent request that claimed the same Idempotency-Key first makes
        this raise ClaimTaken, having held and stored nothing.
        """
        policy.check_allowed(principal, body, self.engines.kinds)
        try:
            room = await self.dispatcher.has_room()
        except QueueUnavailable:
            raise _queue_unreachable() from None
        if not room:
            raise _queue_full()
        image, parent = await self._source(principal, body, base)
        options = body.options(seed=secrets.randbelow(2**31))
        refuser = policy.refusing_engine(self.engines, options.kind)
        if image is not None and refuser is not None:
            await anyio.to_thread.run_sync(policy.check_engine_takes, refuser, options, image)
        render_id = new_id("rnd")
        create = functools.partial(
            lifecycle.create,
            render_id=render_id,
            principal=principal,
            options=options,
            source=body.source,
            project=body.project,
            image=image,
            parent=parent,
            hold_for=timedelta(seconds=self.settings.queue_timeout_seconds),
        )
        try:
            await anyio.to_thread.run_sync(
                staged_write,
                self.db,
                self.storage,
                self._claim_and_create,
                claim,
                principal.account_id,
                render_id,
                create,
            )
        except MonthlyCapReached:
            raise  # about the member's cap, which the team sets: no credits to buy
        except InsufficientCredits as short:
            raise where_credits_come_from(short, self.settings, base) from None
        max_in_flight = PLANS[principal.plan].max_in_flight
        try:
            await self.dispatcher.submit(render_id, principal.account_id, max_in_flight, body.kind)
        except (QueueFull, QueueUnavailable) as error:
            await self.db.run_write(
                lifecycle.fail,
                render_id,
                "model_unavailable",
                "The render could not be queued; its credits were refunded.",
            )
            raise (
                _queue_full() if isinstance(error, QueueFull) else _queue_unreachable()
            ) from None
        return render_id

    async def _source(
        self, principal: Principal, body: schemas.RenderCreate, base: str
    ) -> tuple[CleanImage | None, Render | None]:
        """The validated source image, or the parent render to work from."""
        settings = self.settings
        if body.render_id:
            parent = await self.db.run_read(
                queries.parent_for, principal.account_id, body.render_id
            )
            return None, parent
        if body.image_base64:
            return await self.images.clean_base64(body.image_base64), None
        assert body.image_url is not None
        bases = [base, *([settings.public_url] if settings.public_url else [])]
        # Our own file (a /files/ URL, or the bucket's URL of one of our objects): read it from
        # storage, never over the network.
        key = own_key(body.image_url, bases) or self.storage.key_for_url(body.image_url)
        if key is not None:
            try:
                data = await anyio.to_thread.run_sync(self.storage.get, key)
            except FileNotFoundError:
                raise ImageUrlUnfetchable() from None
        else:
            data = await self.fetcher.fetch(body.image_url)
        return await self.images.clean(data), None

    def _claim_and_create(
        self,
        session: Session,
        put: Put,
        claim: Claim | None,
        account_id: str,
        render_id: str,
        create: Callable[[Session, Put], None],
    ) -> None:
        """Take the claim, then hold and insert (`create`), in one unit of work."""
        if claim:  # first: a concurrent twin fails here, before holding credits
            idempotency.take(
                session, account_id, claim, ttl=self.settings.idempotency_ttl, render_id=render_id
            )
        create(session, put)
