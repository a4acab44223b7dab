"""Request dependencies, as Annotated aliases: `rt: RuntimeDep`, `principal: ApiPrincipal`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.security import HTTPBearer

from tds.api.runtime import Runtime
from tds.api.text import NUL, NUL_MESSAGE
from tds.exceptions import InvalidApiKey, InvalidRequest
from tds.keys import service as keys
from tds.keys import tokens
from tds.keys.service import Principal


def runtime(request: Request) -> Runtime:
    """The running server's runtime. Hot paths call it with the request rather than take
    `RuntimeDep`: each dependency FastAPI solves costs a request about 10 µs."""
    rt: Runtime = request.app.state.runtime
    return rt


async def _runtime(request: Request) -> Runtime:
    return runtime(request)


RuntimeDep = Annotated[Runtime, Depends(_runtime)]


class ApiKey(HTTPBearer):
    """What every /api/v1 request passes: known query parameters, no NUL byte in the path or
    the query, then the caller, from a bearer API key only (never a cookie); 401 with one body
    otherwise, and 429 to an address past TDS_AUTH_FAILURE_RATE_LIMIT failed keys.

    One dependency that is also the OpenAPI security scheme: each dependency FastAPI solves
    costs the hot path a resolution of its own."""

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        scope = request.scope
        query: bytes = scope["query_string"]
        if query:
            check_query_params(request)
            if b"%00" in query or b"\x00" in query:
                check_no_nul(request)
        if NUL in scope["path"] or b"%00" in scope.get("raw_path", b""):
            check_no_nul(request)
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not tokens.is_well_formed(token):
            raise InvalidApiKey()  # junk never reaches the database
        rt = runtime(request)
        digest = tokens.digest(token, rt.key_secret)
        principal = rt.principals.get(digest)
        if principal is None:
            # Not a key this process knows: an address that keeps sending unknown (or revoked)
            # keys is refused before the database read each one costs. Known keys never get
            # here, so the hot path pays nothing for it.
            address = rt.client_addresses.key(scope)
            await rt.auth_failure_limiter.peek(address)
            principal = await rt.db.run_read(keys.lookup, digest)
            if principal is None:
                await rt.auth_failure_limiter.record(address)
                raise InvalidApiKey()
            if principal.needs_touch:
                await rt.db.run_write(keys.touch, digest)
            rt.principals.put(digest, principal)
        await rt.rate_limiter.acquire(digest)
        return principal


api_key = ApiKey(
    auto_error=False,
    scheme_name="ApiKey",
    description="Your API key: `Authorization: Bearer tds_live_…`.",
)

ApiPrincipal = Annotated[Principal, Depends(api_key)]


async def base_url(request: Request, rt: RuntimeDep) -> str:
    """Where links point: TDS_PUBLIC_URL, else the host the client used."""
    return (rt.settings.public_url or str(request.base_url)).rstrip("/")


BaseUrl = Annotated[str, Depends(base_url)]


_QUERY_NAMES: dict[int, frozenset[str]] = {}


def check_query_params(request: Request) -> None:
    """Refuse query parameters the endpoint does not take: a typo such as `?limt=5` would
    otherwise be ignored in silence."""
    route = request.scope.get("route")
    if route is None or not request.query_params:
        return
    names = _QUERY_NAMES.get(id(route))
    if names is None:
        names = _QUERY_NAMES[id(route)] = frozenset(_query_names(route.dependant))
    for name in request.query_params:
        if name not in names:
            accepted = ", ".join(sorted(names)) or "none"
            raise InvalidRequest(
                f"Unknown query parameter {name!r}; this endpoint takes: {accepted}.",
                param=name,
            )


def check_no_nul(request: Request) -> None:
    """Refuse a NUL byte in a path id or a query parameter (name or value): PostgreSQL cannot
    compare one with a text column. Called only when the raw path or query holds one."""
    for name, value in request.path_params.items():
        if NUL in str(value):
            raise InvalidRequest(f"{name}: {NUL_MESSAGE}.", param=name)
    for name, value in request.query_params.multi_items():
        if NUL in name or NUL in value:
            param = name.replace(NUL, "")
            raise InvalidRequest(f"{param}: {NUL_MESSAGE}.", param=param)
    if NUL in request.scope["path"]:
        raise InvalidRequest(f"The request path {NUL_MESSAGE}.")


def _query_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names
