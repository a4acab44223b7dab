"""The team page: members, roles, monthly caps, invitations, and switching between teams.

Every form acts in the team the signed-in person works in (WebUser.account_id) as that person
(WebUser.member_id); tds.teams.service decides who may do what, and a refusal comes back as
the page with the reason, not as a bare error.
"""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from tds.api.deps import BaseUrl, RuntimeDep
from tds.api.runtime import Runtime
from tds.exceptions import Forbidden, InvalidRequest, NotFound, TdsError
from tds.models import Account
from tds.teams import mails
from tds.teams import service as teams
from tds.web import sessions
from tds.web.deps import CheckedUser, OptionalUser, User, WebUser
from tds.web.security import private, session_cookie_name
from tds.web.templating import page

router = APIRouter()

# What a form can be refused for; anything else is a fault and gets the usual error page.
REFUSALS = (InvalidRequest, Forbidden, NotFound)

Token = Annotated[str, Form(max_length=200)]


def _view(session: Session, user: WebUser) -> dict[str, Any]:
    return {
        "members": teams.members(session, user.account_id),
        "teams": teams.teams_of(session, user.member_id),
        "own_team": user.account_id == user.member_id,
    }


def _team_page(
    request: Request, rt: Runtime, user: WebUser, *, status_code: int = 200, **context: Any
) -> Response:
    return page(
        request,
        "team.html",
        user,
        status_code=status_code,
        roles=teams.INVITED_ROLES,
        **rt.db.read(_view, user),
        **context,
    )


def _refused(request: Request, rt: Runtime, user: WebUser, error: TdsError) -> Response:
    # The user may have lost the role the form needed meanwhile: show the page as it is now.
    return _team_page(request, rt, user, status_code=error.status, error=error.message)


def _back(notice: str = "") -> Response:
    return RedirectResponse(f"/team?done={notice}" if notice else "/team", status_code=303)


NOTICES = {
    "invited": "Invitation sent.",
    "saved": "Saved.",
    "removed": "Member removed; their keys for the team are revoked.",
    "renamed": "Team renamed.",
    "joined": "Welcome to the team: you now render with its credits.",
    "switched": "You are now working in this team.",
}


@router.get("/team")
def team_page(request: Request, rt: RuntimeDep, user: User, done: str = "") -> Response:
    return _team_page(request, rt, user, notice=NOTICES.get(done))


@router.post("/team/switch")
def switch(
    request: Request, rt: RuntimeDep, user: CheckedUser, team_id: Annotated[str, Form()] = ""
) -> Response:
    session_id = sessions.digest(request.cookies.get(session_cookie_name(request), ""))
    try:
        rt.db.write(sessions.switch_team, session_id, team_id)
    except REFUSALS as error:
        return _refused(request, rt, user, error)
    return _back("switched")


@router.post("/team/rename")
def rename(
    request: Request,
    rt: RuntimeDep,
    user: CheckedUser,
    name: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    try:
        rt.db.write(teams.rename, user.account_id, user.member_id, name)
    except REFUSALS as error:
        return _refused(request, rt, user, error)
    return _back("renamed")


@router.post("/team/invitations")
async def invite(
    request: Request,
    rt: RuntimeDep,
    user: CheckedUser,
    base: BaseUrl,
    email: Annotated[str, Form(max_length=320)] = "",
    role: Annotated[str, Form(max_length=20)] = "member",
) -> Response:
    try:
        invitation, token = await rt.db.run_write(
            teams.invite, user.account_id, user.member_id, email, role
        )
    except REFUSALS as error:
        return _refused(request, rt, user, error)
    await anyio.to_thread.run_sync(
        mails.send_invitation, rt.settings, base, invitation, token, user.team_name, user.email
    )
    return _back("invited")


@router.post("/team/members/{member_id}")
def update_member(
    request: Request,
    rt: RuntimeDep,
    user: CheckedUser,
    member_id: str,
    role: Annotated[str, Form(max_length=20)] = "",
    monthly_cap: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """One form per member: its role and its cap (empty: no cap)."""
    try:
        rt.db.write(
            teams.update_member,
            user.account_id,
            user.member_id,
            member_id,
            role=role or None,
            monthly_cap=_cap(monthly_cap),
            change_cap=True,
        )
    except REFUSALS as error:
        return _refused(request, rt, user, error)
    return _back("saved")


def _cap(text: str) -> int | None:
    text = text.strip().replace(",", "")
    if not text:
        return None
    if not (text.isascii() and text.isdigit()):
        raise InvalidRequest(
            "A monthly cap is a whole number of credits; leave it empty for no cap.",
            param="monthly_cap",
        )
    return int(text)


@router.post("/team/members/{member_id}/remove")
def remove_member(request: Request, rt: RuntimeDep, user: CheckedUser, member_id: str) -> Response:
    try:
        revoked = rt.db.write(teams.remove_member, user.account_id, user.member_id, member_id)
    except REFUSALS as error:
        return _refused(request, rt, user, error)
    for key_id in revoked:
        rt.principals.forget(key_id)
    if member_id == user.member_id:  # left the team: back to one's own
        return RedirectResponse("/team?done=switched", status_code=303)
    return _back("removed")


# Accepting an invitation: the emailed link opens a page; accepting is a form post, so the
# link alone (a mail scanner following it, a prefetch) changes nothing.


def _invitation(session: Session, token: str) -> dict[str, Any]:
    invitation, team = teams.open_invitation(session, token)
    inviter = session.get(Account, invitation.invited_by)
    return {
        "team": team,
        "invited_email": invitation.email,
        "invited_role": invitation.role,
        "inviter": inviter.email if inviter else "",
    }


@router.get("/team/join")
def join_page(request: Request, rt: RuntimeDep, user: OptionalUser, token: str = "") -> Response:
    try:
        context = rt.db.read(_invitation, token[:200])
    except REFUSALS as error:
        return page(request, "join.html", user, status_code=error.status, error=error.message)
    return private(page(request, "join.html", user, token=token, **context))


def _accept(session: Session, token: str, person_id: str, session_id: str) -> None:
    """Join and work in the team at once, in one transaction."""
    sessions.switch_team(session, session_id, teams.accept(session, token, person_id))


@router.post("/team/join")
def join(request: Request, rt: RuntimeDep, user: CheckedUser, token: Token = "") -> Response:
    session_id = sessions.digest(request.cookies.get(session_cookie_name(request), ""))
    try:
        rt.db.write(_accept, token, user.member_id, session_id)
    except REFUSALS as error:
        return page(request, "join.html", user, status_code=error.status, error=error.message)
    return RedirectResponse("/team?done=joined", status_code=303)
