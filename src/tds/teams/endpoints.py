"""/api/v1/team: the caller's team, its members, roles, caps and invitations."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from sqlalchemy.orm import Session

from tds.api.deps import ApiPrincipal, BaseUrl, RuntimeDep
from tds.api.openapi import errors
from tds.keys.service import Principal
from tds.models import Account
from tds.teams import mails, schemas, service

router = APIRouter(tags=["team"])


def _team(session: Session, principal: Principal) -> schemas.TeamOut:
    team = session.get_one(Account, principal.account_id)
    return schemas.TeamOut(
        id=team.id,
        name=service.name_of(team),
        role=principal.role,
        credits=team.credits,
        credits_held=team.credits_held,
        members=[
            schemas.MemberOut(
                id=m.id,
                email=m.email,
                role=m.role,
                monthly_cap=m.monthly_cap,
                cap_left=m.cap_left,
                joined_at=m.joined_at,
            )
            for m in service.members(session, team.id)
        ],
    )


@router.get("/team", summary="Your team, its shared credits and its members", responses=errors())
async def get_team(principal: ApiPrincipal, rt: RuntimeDep) -> schemas.TeamOut:
    return await rt.db.run_read(_team, principal)


@router.patch("/team", summary="Rename the team (owners)", responses=errors(400, 403))
async def rename_team(
    body: schemas.TeamUpdate, principal: ApiPrincipal, rt: RuntimeDep
) -> schemas.TeamOut:
    await rt.db.run_write(service.rename, principal.account_id, principal.member_id, body.name)
    return await rt.db.run_read(_team, principal)


@router.post(
    "/team/invitations",
    status_code=201,
    summary="Invite someone by email (owners and admins)",
    responses=errors(400, 403),
)
async def invite(
    body: schemas.InvitationCreate, principal: ApiPrincipal, rt: RuntimeDep, base: BaseUrl
) -> schemas.InvitationOut:
    invitation, token = await rt.db.run_write(
        service.invite, principal.account_id, principal.member_id, body.email, body.role
    )
    team, inviter = await rt.db.run_read(_names, principal)
    await asyncio.to_thread(
        mails.send_invitation, rt.settings, base, invitation, token, team, inviter
    )
    return schemas.InvitationOut(
        team_id=invitation.team_id,
        email=invitation.email,
        role=invitation.role,
        expires_at=invitation.expires_at,
    )


def _names(session: Session, principal: Principal) -> tuple[str, str]:
    team = session.get_one(Account, principal.account_id)
    return service.name_of(team), session.get_one(Account, principal.member_id).email


@router.patch(
    "/team/members/{member_id}",
    summary="Change a member's role or monthly cap (owners and admins)",
    responses=errors(400, 403, 404),
)
async def update_member(
    member_id: str, body: schemas.MemberUpdate, principal: ApiPrincipal, rt: RuntimeDep
) -> schemas.TeamOut:
    await rt.db.run_write(
        service.update_member,
        principal.account_id,
        principal.member_id,
        member_id,
        role=body.role,
        monthly_cap=body.monthly_cap,
        change_cap="monthly_cap" in body.model_fields_set,
    )
    return await rt.db.run_read(_team, principal)


@router.delete(
    "/team/members/{member_id}",
    summary="Remove a member, or leave the team (your own id); their keys are revoked",
    responses=errors(403, 404),
)
async def remove_member(
    member_id: str, principal: ApiPrincipal, rt: RuntimeDep
) -> schemas.MemberRemoved:
    revoked = await rt.db.run_write(
        service.remove_member, principal.account_id, principal.member_id, member_id
    )
    for key_id in revoked:
        rt.principals.forget(key_id)
    return schemas.MemberRemoved(id=member_id, keys_revoked=revoked)
