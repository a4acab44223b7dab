from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import bindparam, select

from tds.accounts.schemas import Me, Plan
from tds.catalogue import PLANS
from tds.models import Account
from tds.server.deps import ApiPrincipal, RuntimeDep
from tds.server.openapi import errors
from tds.server.runtime import Runtime

router = APIRouter(tags=["account"])


_ME = select(
    Account.id,
    Account.email,
    Account.plan,
    Account.credits,
    Account.credits_held,
    Account.created_at,
).where(Account.id == bindparam("account_id"))


@router.get(
    "/me", summary="Account, plan and credit balance", response_model=Me, responses=errors()
)
async def get_me(principal: ApiPrincipal, rt: RuntimeDep) -> Response:
    me = await rt.db.run_read(_me, rt, principal.account_id)
    # Serialised directly: FastAPI would validate the model it was just given once more.
    return Response(me.model_dump_json(), media_type="application/json")


def _me(rt: Runtime, account_id: str) -> Me:
    with rt.db.read_engine.connect() as connection:
        account = connection.execute(_ME, {"account_id": account_id}).one()
    return Me(
        id=account.id,
        email=account.email,
        plan=Plan.of(PLANS[account.plan]),
        credits=account.credits,
        credits_held=account.credits_held,
        created_at=account.created_at,
    )
