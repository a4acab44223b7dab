"""/api/v1/renders: create (blocking, or async with Prefer), fetch, list, cancel."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from tds.idempotency import service as idempotency
from tds.keys.service import Principal
from tds.models import IdempotencyKey, Render
from tds.renders import schemas, service, submission
from tds.renders.submission import Claim
from tds.renders.views import render_response, render_view, render_views
from tds.server.deps import ApiPrincipal, BaseUrl, RuntimeDep
from tds.server.errors import error_body
from tds.server.openapi import errors
from tds.server.runtime import Runtime

router = APIRouter(tags=["renders"])

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


def _find_claim(rt: Runtime, principal: Principal, claim: Claim) -> IdempotencyKey | None:
    with rt.db.read() as session:
        return idempotency.find(session, principal.account_id, *claim)


def _outcome(rt: Runtime, base: str, account_id: str, render_id: str) -> tuple[int, dict[str, Any]]:
    """The status code and body that describe the render now."""
    with rt.db.reader() as connection:
        answer = render_response(connection, rt, base, account_id, render_id)
    render = answer.render
    if render.status == "failed":
        message = render.error.message if render.error else ""
        return 502, error_body(
            "model_failed",
            message or "The model failed; your credits were refunded.",
            render_id=render.id,
        )
    return (202 if render.status in ("queued", "processing") else 200), answer.model_dump(
        mode="json"
    )


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
) -> JSONResponse:
    if wait > 0:
        await rt.dispatcher.wait(render_id, wait)
    status, payload = await rt.db.run_read(_outcome, rt, base, principal.account_id, render_id)
    headers = {}
    if status == 202:
        headers["Location"] = f"{base}/api/v1/renders/{render_id}"
    elif claim:  # final: later replays answer exactly this
        await run_in_threadpool(_save_outcome, rt, principal, claim, status, payload)
    if applied:
        headers["Preference-Applied"] = ", ".join(applied)
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(payload, status_code=status, headers=headers)


def _save_outcome(
    rt: Runtime, principal: Principal, claim: Claim, status: int, payload: dict[str, Any]
) -> None:
    with rt.db.write() as session:
        idempotency.save_response(session, principal.account_id, claim[0], status, payload)


async def _replay(
    rt: Runtime, base: str, principal: Principal, row: IdempotencyKey, wait: float, claim: Claim
) -> JSONResponse:
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
    base: BaseUrl,
    prefer: Annotated[str | None, Header(description=PREFER_DESCRIPTION)] = None,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> JSONResponse:
    body = await _read_body(request)
    wait, applied = parse_prefer(prefer, rt.settings.max_wait_seconds)
    claim = None
    if idempotency_key is not None:
        fp = idempotency.fingerprint("POST", "/api/v1/renders", body.model_dump(mode="json"))
        claim = (idempotency.validate_key(idempotency_key), fp)
        if row := await rt.db.run_read(_find_claim, rt, principal, claim):
            return await _replay(rt, base, principal, row, wait, claim)

    try:
        render_id = await submission.submit(rt, principal, body, base=base, claim=claim)
    except IntegrityError:
        # A concurrent request with the same key claimed it first: follow that render.
        if claim and (row := await rt.db.run_read(_find_claim, rt, principal, claim)):
            return await _replay(rt, base, principal, row, wait, claim)
        raise
    del body  # a blocking wait holds nothing of the request's image
    return await _respond(rt, base, principal, render_id, wait=wait, applied=applied, claim=claim)


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
    rt: Runtime, base: str, principal: Principal, render: Render
) -> schemas.RenderResponse:
    with rt.db.read() as session:
        credits = service.balance(session, principal.account_id)
    return schemas.RenderResponse(render=render_view(render, base, rt), credits=credits)


@router.get(
    "/renders/{render_id}",
    summary="Fetch a render you own",
    response_model=schemas.RenderResponse,
    responses=errors(404),
)
async def get_render(
    render_id: str, principal: ApiPrincipal, rt: RuntimeDep, base: BaseUrl
) -> Response:
    return await rt.db.run_read(_fetch, rt, base, principal.account_id, render_id)


def _fetch(rt: Runtime, base: str, account_id: str, render_id: str) -> Response:
    with rt.db.reader() as connection:
        answer = render_response(connection, rt, base, account_id, render_id)
    # Serialised directly: clients poll this, and FastAPI would validate the model again.
    return Response(answer.model_dump_json(), media_type="application/json")


@router.get(
    "/renders",
    summary="List your renders, newest first",
    response_model=schemas.RenderList,
    responses=errors(400),
)
def list_renders(
    principal: ApiPrincipal,
    rt: RuntimeDep,
    base: BaseUrl,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    starting_after: Annotated[
        str | None, Query(description="The id of the last render of the previous page.")
    ] = None,
) -> schemas.RenderList:
    with rt.db.read() as session:
        rows, has_more = service.list_owned(
            session, principal.account_id, limit=limit, starting_after=starting_after
        )
    return schemas.RenderList(data=render_views(rows, base, rt), has_more=has_more)


@router.post(
    "/renders/{render_id}/cancel",
    summary="Cancel a render in flight (its credits are released)",
    response_model=schemas.RenderResponse,
    responses=errors(404, 409),
)
def cancel_render(
    render_id: str, principal: ApiPrincipal, rt: RuntimeDep, base: BaseUrl
) -> schemas.RenderResponse:
    with rt.db.write() as session:
        render = service.cancel(session, principal.account_id, render_id)
    rt.dispatcher.cancel(render_id)
    return _envelope(rt, base, principal, render)
