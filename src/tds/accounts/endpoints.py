from __future__ import annotations

from fastapi import APIRouter

from tds.accounts.schemas import Me, Plan
from tds.catalogue import PLANS
from tds.models import Account
from tds.server.deps import ApiPrincipal, RuntimeDep
from tds.server.openapi import errors

router = APIRouter(tags=["account"])


@router.get("/me", summary="Account, plan and credit balance", responses=errors())
def get_me(principal: ApiPrincipal, rt: RuntimeDep) -> Me:
    with rt.db.read() as session:
        account = session.get_one(Account, principal.account_id)
        return Me(
            id=account.id,
            email=account.email,
            plan=Plan.of(PLANS[account.plan]),
            credits=account.credits,
            credits_held=account.credits_held,
            created_at=account.created_at,
        )
