"""/api/v1/usage: credits spent and renders, per project code or per member."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from tds.api.deps import ApiPrincipal, RuntimeDep
from tds.api.openapi import errors
from tds.kit.db import utcnow
from tds.usage import schemas, service

router = APIRouter(tags=["usage"])


@router.get(
    "/usage",
    summary="Credits spent and renders, per project or per member",
    description=(
        "What your account spent within [from, to): credits of the renders that finished "
        "(refunds are not spent) and how many, one row per project code (`group` null: renders "
        "sent without one) or per member. By default, from the start of this month (UTC) to "
        "now. The rows add up to `total`, which is what the ledger says was spent."
    ),
    response_model=schemas.Usage,
    responses=errors(400),
)
async def get_usage(
    principal: ApiPrincipal,
    rt: RuntimeDep,
    group_by: Annotated[str, Query(description="`project` or `member`.")] = "project",
    start: Annotated[
        str | None,
        Query(
            alias="from",
            description="ISO 8601 date or date-time (UTC unless it says); included. "
            "Default: the start of this month.",
        ),
    ] = None,
    end: Annotated[
        str | None,
        Query(alias="to", description="ISO 8601 date or date-time; excluded. Default: now."),
    ] = None,
) -> Response:
    grouping = service.check_group_by(group_by)
    span = service.window(start, end, now=utcnow())
    answer = await rt.db.run_read(service.report, principal.account_id, grouping, span)
    return Response(answer.model_dump_json(by_alias=True), media_type="application/json")
