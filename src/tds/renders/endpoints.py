"""/api/v1/renders: create (blocking, or async with Prefer), fetch, list, cancel."""

from __future__ import annotations

import asyncio
import functools
import time
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from tds.accounts import service as accounts
from tds.api.deps import ApiPrincipal, BaseUrl, RuntimeDep
from tds.api.errors import error_payload
from tds.api.openapi import errors
from tds.api.runtime import Runtime
from tds.exceptions import (
    ContentRefused,
    GeometryDrift,
    ModelFailed,
    ModelUnavailable,
    TdsError,
)
from tds.idempotency import service as idempotency
from tds.idempotency.service import Claim
from tds.keys.service import Principal
from tds.models import IdempotencyKey, Render, RenderStatus
from tds.models.render import IN_FLIGHT
from tds.renders import lifecycle, projects, schemas
from tds.renders.deps import SubmitterDep
from tds.renders.serialization import render_page, render_response, render_view

router = APIRouter(tags=["renders"])

JSON = "application/json"
FOLLOW_SECONDS = 0.01
# How a blocking POST answers a render that failed, by the render's error code (others: 502).
_FAILURES: dict[str, type[TdsError]] = {
    "model_unavailable": ModelUnavailable,
    "content_refused": ContentRefused,
    "geometry_drift": GeometryDrift,
}

PREFER_DESCRIPTION = (
    "`respond-async` answers 202 at once with the render queued; `wait=N` waits at most N "
    "seconds (capped by the server) before answering 202 with the render still in flight."
)


def parse_prefer(header: str | None, max_wait: float) -> tuple[float, list[str]]:
    """How long to wait (RFC 7240 Prefer) and which preferences were applied."""
    respond_async, wait = False, None
    for token in (header or "").split(","):
        name, _, value = token.strip().lower().partition("=")
        if name == "respond-async":
            respond_async = True
        elif name == "wait":
            try:
                wait = max(0.0, float(value))
            except ValueError:
                continue
    if wait is not None:
        return min(wait, max_wait), [f"wait={min(wait, max_wait):g}"]
    if respond_async:
        return 0.0, ["respond-async"]
    return max_wait, []


def _outcome(
    session: Session, account_id: str, render_id: str, base: str, rt: Runtime
) -> tuple[int, schemas.RenderResponse | dict[str, Any]]:
    """The status code and body (the render, or the error it failed with) that describe the
    render now."""
    answer = render_response(
        session, account_id, render_id, base=base, storage=rt.storage, dispatcher=rt.dispatcher
    )
    render = answer.render
    if render.status == RenderStatus.FAILED:
        code = render.error.code if render.error else ""
        message = render.error.message if render.error else ""
        failed = _FAILURES.get(code, ModelFailed)(
            message or "The model failed; your credits were refunded.", render_id=render.id
        )
        return failed.status, error_payload(failed)
    return (202 if render.status in IN_FLIGHT else 200), answer


async def _respond(
    rt: Runtime,
    base: str,
    principal: Principal,
    render_id: str,
    *,
    wait: float,
    applied: list[str],
    claim: Claim | None,
    replayed: bool = False,
) -> Response:
    status, answer = await _settled(rt, base, principal.account_id, render_id, wait)
    headers = {}
    if status == 202:
        headers["Location"] = f"{base}/api/v1/renders/{render_id}"
    elif claim:  # final: later replays answer exactly this
        payload = answer if isinstance(answer, dict) else answer.model_dump(mode="json")
        await rt.db.run_write(
            idempotency.save_response, principal.account_id, claim, status, payload
        )
    if applied:
        headers["Preference-Applied"] = ", ".join(applied)
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    if isinstance(answer, dict):
        return JSONResponse(answer, status_code=status, headers=headers)
    # Serialised by pydantic directly: the same JSON as json.dumps of its dump, at a fraction.
    return Response(answer.model_dump_json(), status_code=status, headers=headers, media_type=JSON)


async def _settled(
    rt: Runtime, base: str, account_id: str, render_id: str, wait: float
) -> tuple[int, schemas.RenderResponse | dict[str, Any]]:
    """The render's outcome once it is final, or as it stands when `wait` runs out."""
    deadline = time.monotonic() + wait
    while True:
        remaining = deadline - time.monotonic()
        finished = remaining > 0 and await rt.dispatcher.wait(render_id, remaining)
        status, answer = await rt.db.run_read(_outcome, account_id, render_id, base, rt)
        if status != 202 or not finished:
            return status, answer
        # Still in flight though the dispatcher had no such job: an Idempotency-Key twin of a
        # request that has committed the render but not queued it yet. Follow it again.
        await asyncio.sleep(FOLLOW_SECONDS)


async def _replay(
    rt: Runtime, base: str, principal: Principal, row: IdempotencyKey, wait: float, claim: Claim
) -> Response:
    if row.status_code is not None and row.response is not None:
        return JSONResponse(
            row.response, status_code=row.status_code, headers={"Idempotent-Replayed": "true"}
        )
    assert row.render_id is not None
    return await _respond(
        rt, base, principal, row.render_id, wait=wait, applied=[], claim=claim, replayed=True
    )


@router.post(
    "/renders",
    summary="Create a render (or refine, enhance, staging, video)",
    description=(
        "Blocks until the engine finishes and answers the render with the account's balance. "
        "The cost is held when the render is accepted, spent when it succeeds and refunded in "
        "full when it fails or is canceled. Send `Idempotency-Key` to retry safely: the same "
        "key and body replay the first answer and never charge twice."
    ),
    response_model=schemas.RenderResponse,
    responses={
        202: {"model": schemas.RenderResponse, "description": "Accepted, still in flight."},
        **errors(400, 402, 403, 404, 409, 413, 502, 503),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schemas.RenderCreate.model_json_schema()}},
        }
    },
)
async def create_render(
    request: Request,
    principal: ApiPrincipal,
    rt: RuntimeDep,
    submitter: SubmitterDep,
    base: BaseUrl,
    prefer: Annotated[str | None, Header(description=PREFER_DESCRIPTION)] = None,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Response:
    body = await _read_body(request)
    wait, applied = parse_prefer(prefer, rt.settings.max_wait_seconds)
    claim = Claim.of(
        idempotency_key, "POST", "/api/v1/renders", functools.partial(body.model_dump, mode="json")
    )
    outcome = await idempotency.guard(
        rt.db,
        principal.account_id,
        claim,
        functools.partial(submitter.submit, principal, body, base=base, claim=claim),
    )
    del body  # a blocking wait holds nothing of the request's image
    if isinstance(outcome, IdempotencyKey):
        assert claim is not None
        return await _replay(rt, base, principal, outcome, wait, claim)
    return await _respond(rt, base, principal, outcome, wait=wait, applied=applied, claim=claim)


async def _read_body(request: Request) -> schemas.RenderCreate:
    """The request body, parsed here rather than by FastAPI, which keeps the raw body and its
    JSON cached on the request for as long as the endpoint runs: a blocking render would hold
    its image (megabytes) for the whole wait."""
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
    try:
        return schemas.RenderCreate.model_validate_json(raw)
    except ValidationError as error:
        raise RequestValidationError(error.errors()) from None


def _envelope(
    session: Session, account_id: str, render: Render, base: str, rt: Runtime
) -> schemas.RenderResponse:
    return schemas.RenderResponse(
        render=render_view(render, base, rt.storage, rt.dispatcher),
        credits=accounts.balance(session, account_id),
    )


@router.get(
    "/renders/{render_id}",
    summary="Fetch a render you own",
    response_model=schemas.RenderResponse,
    responses=errors(404),
)
async def get_render(
    render_id: str, principal: ApiPrincipal, rt: RuntimeDep, base: BaseUrl
) -> Response:
    answer = await rt.db.run_read(
        render_response,
        principal.account_id,
        render_id,
        base=base,
        storage=rt.storage,
        dispatcher=rt.dispatcher,
    )
    # Serialised directly: clients poll this, and FastAPI would validate the model again.
    return Response(answer.model_dump_json(), media_type=JSON)


@router.get(
    "/renders",
    summary="List your renders, newest first",
    response_model=schemas.RenderList,
    responses=errors(400),
)
async def list_renders(
    principal: ApiPrincipal,
    rt: RuntimeDep,
    base: BaseUrl,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    starting_after: Annotated[
        str | None, Query(description="The id of the last render of the previous page.")
    ] = None,
    project: Annotated[
        str | None, Query(description="Only the renders billed to this project code.")
    ] = None,
) -> schemas.RenderList:
    return await rt.db.run_read(
        render_page,
        principal.account_id,
        limit=limit,
        starting_after=starting_after,
        project=None if project is None else projects.clean(project),
        base=base,
        storage=rt.storage,
        dispatcher=rt.dispatcher,
    )


@router.post(
    "/renders/{render_id}/cancel",
    summary="Cancel a render in flight (its credits are released)",
    response_model=schemas.RenderResponse,
    responses=errors(404, 409),
)
async def cancel_render(
    render_id: str, principal: ApiPrincipal, rt: RuntimeDep, base: BaseUrl
) -> schemas.RenderResponse:
    render = await rt.db.run_write(lifecycle.cancel, principal.account_id, render_id)
    rt.dispatcher.cancel(render_id)
    return await rt.db.run_read(_envelope, principal.account_id, render, base, rt)
