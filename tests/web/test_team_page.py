"""The team page over HTTP, as each role meets it (owner, admin, member, outsider), and an
invitation followed from the mail a real SMTP server on loopback received: sign up, confirm,
join, work in the team's credits, switch back, leave."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import httpx
import pytest
from sqlalchemy import select

from tds.accounts import passwords
from tds.models import Account, TeamMember
from tests.support.databases import database_settings
from tests.support.db import reading, writing
from tests.support.images import png_bytes
from tests.support.servers import LiveServer, make_settings
from tests.support.smtp import SmtpServer, follow_confirmation
from tests.support.teams import Team, join, team

PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def mailbox() -> Iterator[SmtpServer]:
    with SmtpServer() as box:
        yield box


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, mailbox: SmtpServer) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("tds-team")
    with ExitStack() as stack:
        settings = database_settings(stack, folder) | {
            "smtp_url": mailbox.url,
            "signup_rate_limit": "1000/hour",
            "login_rate_limit": "1000/minute",
        }
        yield stack.enter_context(LiveServer(make_settings(folder, **settings)))


def _csrf(response: httpx.Response) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', response.text)
    assert match, response.text
    return match.group(1)


def _browser(server: LiveServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Accept": "text/html"})


def _log_in(client: httpx.Client, email: str, next: str = "/studio") -> httpx.Response:
    form = client.get(f"/login?next={next}")
    return client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "csrf_token": _csrf(form), "next": next},
    )


def _with_password(server: LiveServer, email: str) -> None:
    hashed = passwords.hash_password(PASSWORD)
    with writing(server.runtime.db) as session:
        session.scalars(select(Account).where(Account.email == email)).one().password_hash = hashed


@contextmanager
def _signed_in(server: LiveServer, email: str) -> Iterator[httpx.Client]:
    _with_password(server, email)
    with _browser(server) as client:
        assert _log_in(client, email).status_code == 303
        yield client


def _post(client: httpx.Client, path: str, **data: str) -> httpx.Response:
    token = _csrf(client.get("/team"))
    return client.post(path, data={"csrf_token": token, **data})


def _member(server: LiveServer, team_id: str, person_id: str) -> TeamMember | None:
    with reading(server.runtime.db) as session:
        return session.get(TeamMember, (team_id, person_id))


@pytest.fixture
def studio(server: LiveServer) -> Team:
    return team(server)


@pytest.mark.parametrize("role", ["owner", "admin", "member", "outsider"])
def test_the_team_page_for_each_role(server: LiveServer, studio: Team, role: str) -> None:
    target = join(server, studio.owner)
    person = studio.by_role(role)
    with _signed_in(server, person.email) as client:
        shown = client.get("/team")
        assert shown.status_code == 200
        manages = role in ("owner", "admin")
        # The outsider sees their own team, which they own.
        assert ('action="/team/invitations"' in shown.text) is (role != "member")
        assert (f'action="/team/members/{target.id}"' in shown.text) is manages
        assert (target.email in shown.text) is (role != "outsider")
        capped = _post(client, f"/team/members/{target.id}", role="member", monthly_cap="25")
        renamed = _post(client, "/team/rename", name="Studio North")
        invited = _post(client, "/team/invitations", email=f"{role}-guest@studio.example")
    expected = {"owner": 303, "admin": 303, "member": 403, "outsider": 404}[role]
    assert capped.status_code == expected, capped.text
    if expected != 303:
        assert "alert" in capped.text  # the page again, saying why
    membership = _member(server, studio.owner.id, target.id)
    assert membership is not None
    assert membership.monthly_cap == (25 if manages else None)
    assert renamed.status_code == (303 if role in ("owner", "outsider") else 403)
    assert invited.status_code == (403 if role == "member" else 303)


def test_a_cap_that_is_not_a_number_is_refused_on_the_page(
    server: LiveServer, studio: Team
) -> None:
    with _signed_in(server, studio.owner.email) as client:
        refused = _post(client, f"/team/members/{studio.member.id}", monthly_cap="lots")
    assert refused.status_code == 400
    assert "whole number of credits" in refused.text


def test_an_invitation_mailed_signed_up_for_and_accepted(
    server: LiveServer, studio: Team, mailbox: SmtpServer
) -> None:
    guest = "guest-architect@studio.example"
    with _signed_in(server, studio.admin.email) as admin:
        sent = _post(admin, "/team/invitations", email=guest, role="member")
        assert (sent.status_code, sent.headers["location"]) == (303, "/team?done=invited")
    mail = mailbox.wait_for(guest)
    assert studio.admin.email in mail.subject
    token = mail.token("/team/join")
    link = f"/team/join?token={token}"

    with _browser(server) as client:
        invitation = client.get(link)  # logged out: who invited whom, and how to go on
        assert invitation.status_code == 200
        assert guest in invitation.text
        assert invitation.headers["cache-control"] == "no-store"
        assert "/login?next=/team/join%3Ftoken%3D" in invitation.text
        form = client.get("/signup")
        client.post(
            "/signup", data={"email": guest, "password": PASSWORD, "csrf_token": _csrf(form)}
        )
        assert follow_confirmation(client, mailbox.wait_for(guest, 2)).status_code == 303
        arrived = _log_in(client, guest, next=link)
        assert arrived.headers["location"] == link
        page = client.get(link)
        joined = client.post("/team/join", data={"csrf_token": _csrf(page), "token": token})
        assert (joined.status_code, joined.headers["location"]) == (303, "/team?done=joined")
        with reading(server.runtime.db) as session:
            person = session.scalars(select(Account).where(Account.email == guest)).one()
            pool = session.get_one(Account, studio.owner.id).credits
        assert _member(server, studio.owner.id, person.id) is not None
        here = client.get("/team")
        assert f"{pool} credits" in here.text  # the nav's balance is the team's
        assert 'data-testid="team-role">member' in here.text

        # A key made on the dashboard now spends the team's credits, as this person.
        made = client.post("/settings/keys", data={"csrf_token": _csrf(here), "name": "Rhino"})
        key = re.search(r'value="(tds_live_[^"]+)"', made.text)
        assert key
        with httpx.Client(base_url=server.url) as api:
            me = api.get("/api/v1/me", headers={"Authorization": f"Bearer {key.group(1)}"})
        assert (me.json()["id"], me.json()["team"]["id"]) == (person.id, studio.owner.id)

        # Back to one's own team, and the link is spent.
        own = _post(client, "/team/switch", team_id=person.id)
        assert own.status_code == 303
        assert "50 credits" in client.get("/team").text
        stranger = _post(client, "/team/switch", team_id=studio.outsider.id)
        assert stranger.status_code == 404
        again = client.get(link)
        assert again.status_code == 404
        assert "not valid any more" in again.text


def test_an_invitation_is_for_its_address_only(
    server: LiveServer, studio: Team, mailbox: SmtpServer
) -> None:
    with _signed_in(server, studio.owner.email) as owner:
        _post(owner, "/team/invitations", email="invited@studio.example")
    token = mailbox.wait_for("invited@studio.example").token("/team/join")
    with _signed_in(server, studio.outsider.email) as other:
        page = other.get(f"/team/join?token={token}")
        assert "Log out, then log in as invited@studio.example" in page.text
        refused = other.post("/team/join", data={"csrf_token": _csrf(page), "token": token})
    assert refused.status_code == 403
    assert _member(server, studio.owner.id, studio.outsider.id) is None


def test_leaving_a_team_goes_back_to_ones_own(server: LiveServer, studio: Team) -> None:
    with _signed_in(server, studio.member.email) as client:
        with reading(server.runtime.db) as session:
            assert session.get(TeamMember, (studio.owner.id, studio.member.id)) is not None
        _post(client, "/team/switch", team_id=studio.owner.id)
        assert "Leave this team" in client.get("/team").text
        left = _post(client, f"/team/members/{studio.member.id}/remove")
        assert left.headers["location"] == "/team?done=switched"
        back = client.get("/team")
        assert "Leave this team" not in back.text
        assert "personal team" in back.text
    assert _member(server, studio.owner.id, studio.member.id) is None


def test_keys_page_members_see_and_revoke_their_own_managers_every_key(
    server: LiveServer, studio: Team
) -> None:
    def works(key: str) -> bool:
        with httpx.Client(base_url=server.url) as api:
            answer = api.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})
        return answer.status_code == 200

    with _signed_in(server, studio.member.email) as member:
        listed = member.get("/settings/keys").text
        assert studio.member.key_id in listed
        assert studio.admin.key_id not in listed
        token = _csrf(member.get("/settings/keys"))
        refused = member.post(
            f"/settings/keys/{studio.admin.key_id}/revoke", data={"csrf_token": token}
        )
        assert refused.status_code == 404
    assert works(studio.admin.key)
    with _signed_in(server, studio.admin.email) as admin:
        listed = admin.get("/settings/keys").text
        assert studio.member.key_id in listed
        assert studio.member.email in listed  # "Made by"
        token = _csrf(admin.get("/settings/keys"))
        done = admin.post(
            f"/settings/keys/{studio.member.key_id}/revoke", data={"csrf_token": token}
        )
        assert done.status_code == 303
    assert not works(studio.member.key)
    assert works(studio.owner.key)


def test_the_credit_history_says_who_spent_what(server: LiveServer, studio: Team) -> None:
    with httpx.Client(base_url=server.url, headers=studio.member.headers) as api:
        image = base64.b64encode(png_bytes()).decode()
        made = api.post(
            "/api/v1/renders", json={"image_base64": image, "resolution": "1k", "project": "P-7"}
        )
        assert made.status_code == 200, made.text
    render_id = made.json()["render"]["id"]
    with _signed_in(server, studio.owner.email) as client:
        history = client.get("/account").text
    row = next(line for line in history.split("<tr>") if render_id in line and "Spent" in line)
    assert studio.member.email in row
    assert "P-7" in row
