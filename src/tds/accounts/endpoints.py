from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from tds.accounts import service
from tds.accounts.schemas import Me, MonthlyCap, Plan, TeamRef
from tds.api.deps import ApiPrincipal, runtime
from tds.api.openapi import errors
from tds.catalogue import PLANS
from tds.credits import caps
from tds.kit.db import utcnow

router = APIRouter(tags=["account"])


@router.get(
    "/me", summary="Account, plan and credit balance", response_model=Me, responses=errors()
)
async def get_me(principal: ApiPrincipal, request: Request) -> Response:
    me = await runtime(request).db.run_read(_me, principal.account_id, principal.member_id)
    # Serialised directly: FastAPI would validate the model it was just given once more.
    return Response(me.model_dump_json(), media_type="application/json")


def _me(session: Session, team_id: str, member_id: str) -> Me:
    row = service.summary(session, team_id, member_id)
    period = caps.period_of(utcnow())
    cap = None
    if row.monthly_cap is not None:
        spent = row.cap_spent if row.cap_period == period else 0
        cap = MonthlyCap(
            limit=row.monthly_cap, spent=spent, left=max(0, row.monthly_cap - spent), period=period
        )
    return Me(
        id=row.id,
        email=row.email,
        plan=Plan.of(PLANS[row.plan]),
        credits=row.credits,
        credits_held=row.credits_held,
        created_at=row.created_at,
        team=TeamRef(id=row.team_id, name=row.team_name or row.team_email, role=row.role),
        monthly_cap=cap,
    )
