from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from tds.accounts import service
from tds.accounts.schemas import Me, Plan
from tds.api.deps import ApiPrincipal, runtime
from tds.api.openapi import errors
from tds.catalogue import PLANS

router = APIRouter(tags=["account"])


@router.get(
    "/me", summary="Account, plan and credit balance", response_model=Me, responses=errors()
)
async def get_me(principal: ApiPrincipal, request: Request) -> Response:
    me = await runtime(request).db.run_read(_me, principal.account_id)
    # Serialised directly: FastAPI would validate the model it was just given once more.
    return Response(me.model_dump_json(), media_type="application/json")


def _me(session: Session, account_id: str) -> Me:
    account = service.summary(session, account_id)
    return Me(
        id=account.id,
        email=account.email,
        plan=Plan.of(PLANS[account.plan]),
        credits=account.credits,
        credits_held=account.credits_held,
        created_at=account.created_at,
    )
