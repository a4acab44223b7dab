"""Request dependencies, as Annotated aliases: `rt: RuntimeDep`, `principal: ApiPrincipal`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tds.exceptions import InvalidApiKey
from tds.keys import service as keys
from tds.keys.service import Principal
from tds.server.runtime import Runtime

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="Your API key: `Authorization: Bearer tds_live_…`.",
)


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def api_principal(
    rt: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The caller, from a bearer API key only (never a cookie); 401 with one body otherwise."""
    if credentials is None:
        raise InvalidApiKey()
    with rt.db.read() as session:
        principal = keys.authenticate(session, credentials.credentials, rt.key_secret)
    if principal is None:
        raise InvalidApiKey()
    rt.rate_limiter.check(principal.key_id)
    if principal.needs_touch:
        with rt.db.write() as session:
            keys.touch(session, principal.key_id)
    return principal


ApiPrincipal = Annotated[Principal, Depends(api_principal)]


def base_url(request: Request, rt: RuntimeDep) -> str:
    """Where links point: TDS_PUBLIC_URL, else the host the client used."""
    return (rt.settings.public_url or str(request.base_url)).rstrip("/")


BaseUrl = Annotated[str, Depends(base_url)]
