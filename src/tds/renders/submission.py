"""Accepting a render, whoever asks (the API, the dashboard): check, fetch, hold, dispatch."""

from __future__ import annotations

import secrets

from fastapi.concurrency import run_in_threadpool

from tds.catalogue import PLANS
from tds.dispatch.base import QueueFull, QueueUnavailable
from tds.exceptions import ImageUrlUnfetchable, ModelUnavailable
from tds.files.urls import own_key
from tds.idempotency import service as idempotency
from tds.images.intake import CleanImage, decode_base64
from tds.keys.service import Principal
from tds.kit.ids import new_id
from tds.models import Render
from tds.renders import schemas, service
from tds.server.runtime import Runtime
from tds.storage.base import staged

Claim = tuple[str, str]  # (Idempotency-Key, request fingerprint)


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


async def submit(
    rt: Runtime,
    principal: Principal,
    body: schemas.RenderCreate,
    *,
    base: str,
    claim: Claim | None = None,
) -> str:
    """Accept a render: refuse what cannot run before holding anything, then hold its cost,
    store its input and queue it once that is committed. Its id.

    With a `claim`, a concurrent request that claimed the same Idempotency-Key first makes this
    raise IntegrityError, having held and stored nothing.
    """
    service.check_allowed(principal, body, rt.engines.kinds)
    try:
        room = await rt.dispatcher.has_room()
    except QueueUnavailable:
        raise _queue_unreachable() from None
    if not room:
        raise _queue_full()
    image, parent = await _source(rt, base, principal, body)
    render_id = await run_in_threadpool(_create, rt, principal, body, image, parent, claim)
    max_in_flight = PLANS[principal.plan].max_in_flight
    try:
        await rt.dispatcher.submit(render_id, principal.account_id, max_in_flight, body.kind)
    except (QueueFull, QueueUnavailable) as error:
        await run_in_threadpool(_fail_unqueued, rt, render_id)
        raise (_queue_full() if isinstance(error, QueueFull) else _queue_unreachable()) from None
    return render_id


async def _source(
    rt: Runtime, base: str, principal: Principal, body: schemas.RenderCreate
) -> tuple[CleanImage | None, Render | None]:
    """The validated source image, or the parent render to work from."""
    settings = rt.settings
    if body.render_id:
        return None, await rt.db.run_read(_parent, rt, principal, body.render_id)
    if body.image_base64:
        data = await run_in_threadpool(
            decode_base64, body.image_base64, max_bytes=settings.max_upload_bytes
        )
    else:
        assert body.image_url is not None
        bases = [base, *([settings.public_url] if settings.public_url else [])]
        # Our own file (a /files/ URL, or the bucket's URL of one of our objects): read it
        # from storage, never over the network.
        key = own_key(body.image_url, bases) or rt.storage.key_for_url(body.image_url)
        if key is not None:
            try:
                data = await run_in_threadpool(rt.storage.get, key)
            except FileNotFoundError:
                raise ImageUrlUnfetchable() from None
        else:
            data = await rt.fetcher.fetch(body.image_url)
    return await rt.clean_image(data), None


def _parent(rt: Runtime, principal: Principal, render_id: str) -> Render:
    with rt.db.read() as session:
        return service.parent_for(session, principal.account_id, render_id)


def _create(
    rt: Runtime,
    principal: Principal,
    body: schemas.RenderCreate,
    image: CleanImage | None,
    parent: Render | None,
    claim: Claim | None,
) -> str:
    render_id = new_id("rnd")
    seed = body.seed if body.seed is not None else secrets.randbelow(2**31)
    with staged(rt.storage) as put, rt.db.write() as session:
        if claim:  # first: a concurrent twin fails here, before holding credits
            idempotency.claim(
                session, principal.account_id, *claim, ttl=rt.idempotency_ttl, render_id=render_id
            )
        service.create(
            session,
            put,
            rt.settings,
            render_id=render_id,
            principal=principal,
            body=body,
            image=image,
            parent=parent,
            seed=seed,
        )
    return render_id


def _fail_unqueued(rt: Runtime, render_id: str) -> None:
    with rt.db.write() as session:
        service.fail(
            session,
            render_id,
            "model_unavailable",
            "The render could not be queued; its credits were refunded.",
        )
