"""/api/v1/team and what teams change elsewhere: who may do what (owner, admin, member,
outsider), one shared pool seen from every member's key, caps in /me and in the 402, keys of
removed members, and other teams' objects answering 404."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from tests.support.http import assert_error
from tests.support.images import png_bytes
from tests.support.servers import LiveServer
from tests.support.teams import Team, join, team


def _render(client: httpx.Client, **fields: Any) -> httpx.Response:
    image = base64.b64encode(png_bytes()).decode()
    return client.post("/api/v1/renders", json={"image_base64": image, "resolution": "1k"} | fields)


@pytest.fixture
def studio(server: LiveServer) -> Team:
    return team(server)


def test_every_member_sees_the_team_and_one_shared_balance(
    server: LiveServer, studio: Team
) -> None:
    for role in ("owner", "admin", "member"):
        person = studio.by_role(role)
        with server.client(person) as client:
            me = client.get("/api/v1/me").json()
            mine = client.get("/api/v1/team").json()
        assert (me["id"], me["email"]) == (person.id, person.email)
        assert me["team"] == {"id": studio.owner.id, "name": studio.owner.email, "role": role}
        assert me["credits"] == 100
        assert me["monthly_cap"] is None
        assert mine["id"] == studio.owner.id
        assert mine["role"] == role
        assert sorted(m["email"] for m in mine["members"]) == sorted(
            a.email for a in (studio.owner, studio.admin, studio.member)
        )
    with server.client(studio.outsider) as client:
        theirs = client.get("/api/v1/team").json()
    assert theirs["id"] == studio.outsider.id
    assert [m["email"] for m in theirs["members"]] == [studio.outsider.email]
    # A render by the member spends the pool every member sees.
    with server.client(studio.member) as client:
        assert _render(client).status_code == 200
    with server.client(studio.owner) as client:
        assert client.get("/api/v1/me").json()["credits"] == 95


@pytest.mark.parametrize(
    ("role", "rename", "invite", "change", "remove"),
    [
        ("owner", 200, 201, 200, 200),
        ("admin", 403, 201, 200, 200),
        ("member", 403, 403, 403, 403),
        ("outsider", 200, 201, 404, 404),  # owner of their own team, where the member is not
    ],
)
def test_who_may_manage_the_team(
    server: LiveServer, role: str, rename: int, invite: int, change: int, remove: int
) -> None:
    studio = team(server)
    target = join(server, studio.owner)  # a member acted on
    actor = studio.by_role(role)
    with server.client(actor) as client:
        renamed = client.patch("/api/v1/team", json={"name": "Studio North"})
        invited = client.post("/api/v1/team/invitations", json={"email": "new@studio.example"})
        changed = client.patch(f"/api/v1/team/members/{target.id}", json={"monthly_cap": 40})
        removed = client.delete(f"/api/v1/team/members/{target.id}")
    for response, status in ((renamed, rename), (invited, invite), (changed, change)):
        assert response.status_code == status, (role, response.text)
        if status >= 400:
            assert_error(response, status, {403: "forbidden", 404: "not_found"}[status])
    assert removed.status_code == remove, (role, removed.text)
    if rename == 200:
        assert renamed.json()["name"] == "Studio North"
        assert renamed.json()["id"] == actor.id  # their own team, whoever they are
    if change == 200:
        capped = next(m for m in changed.json()["members"] if m["id"] == target.id)
        assert (capped["monthly_cap"], capped["cap_left"]) == (40, 40)
    if remove == 200:
        assert removed.json() == {
            "object": "member",
            "id": target.id,
            "removed": True,
            "keys_revoked": [target.key_id],
        }


def test_owners_alone_make_owners_and_the_team_account_stays_one(
    server: LiveServer, studio: Team
) -> None:
    with server.client(studio.admin) as client:
        promoted = client.patch(f"/api/v1/team/members/{studio.member.id}", json={"role": "owner"})
        assert_error(promoted, 403, "forbidden")
        demoted = client.patch(f"/api/v1/team/members/{studio.owner.id}", json={"role": "member"})
        assert_error(demoted, 403, "forbidden")
    with server.client(studio.owner) as client:
        itself = client.patch(f"/api/v1/team/members/{studio.owner.id}", json={"role": "admin"})
        assert_error(itself, 403, "forbidden")
        assert client.delete(f"/api/v1/team/members/{studio.owner.id}").status_code == 403
        made = client.patch(f"/api/v1/team/members/{studio.member.id}", json={"role": "owner"})
        assert made.status_code == 200
        bad = client.patch(f"/api/v1/team/members/{studio.admin.id}", json={"role": "boss"})
        assert_error(bad, 400, "invalid_request")
        negative = client.patch(f"/api/v1/team/members/{studio.admin.id}", json={"monthly_cap": -1})
        assert_error(negative, 400, "invalid_request")


def test_a_member_past_the_cap_gets_402_naming_the_teams_cap(
    server: LiveServer, studio: Team
) -> None:
    capped = join(server, studio.owner, cap=7)
    with server.client(capped) as client:
        assert _render(client).status_code == 200  # 5 of 7
        me = client.get("/api/v1/me").json()
        assert me["monthly_cap"]["limit"] == 7
        assert (me["monthly_cap"]["spent"], me["monthly_cap"]["left"]) == (5, 2)
        refused = _render(client)
        assert_error(refused, 402, "monthly_cap_reached")
        assert "monthly cap in this team" in refused.json()["error"]["message"]
        assert client.get("/api/v1/me").json()["credits"] == 95  # the pool is untouched
    with server.client(studio.owner) as client:  # the owner lifts the cap: it works again
        lifted = client.patch(f"/api/v1/team/members/{capped.id}", json={"monthly_cap": None})
        assert lifted.status_code == 200
    with server.client(capped) as client:
        assert _render(client).status_code == 200
        assert client.get("/api/v1/me").json()["monthly_cap"] is None
    server.assert_books_balanced(studio.owner)


def test_a_removed_members_key_stops_at_once_and_leaving_works(
    server: LiveServer, studio: Team
) -> None:
    with server.client(studio.member) as client:
        assert client.get("/api/v1/me").status_code == 200
    with server.client(studio.admin) as client:
        assert client.delete(f"/api/v1/team/members/{studio.member.id}").status_code == 200
    with server.client(studio.member) as client:
        assert_error(client.get("/api/v1/me"), 401, "invalid_api_key")
    with server.client(studio.admin) as client:  # the admin leaves on their own
        left = client.delete(f"/api/v1/team/members/{studio.admin.id}")
        assert left.json()["keys_revoked"] == [studio.admin.key_id]
        assert_error(client.get("/api/v1/me"), 401, "invalid_api_key")


def test_other_teams_renders_answer_404_and_the_teams_own_are_shared(
    server: LiveServer, studio: Team
) -> None:
    with server.client(studio.owner) as client:
        made = _render(client, project="P-1").json()["render"]
    with server.client(studio.member) as client:
        assert client.get(f"/api/v1/renders/{made['id']}").status_code == 200
        listed = client.get("/api/v1/renders").json()["data"]
        assert made["id"] in [r["id"] for r in listed]
    with server.client(studio.outsider) as client:
        assert_error(client.get(f"/api/v1/renders/{made['id']}"), 404, "not_found")
        assert made["id"] not in [r["id"] for r in client.get("/api/v1/renders").json()["data"]]
        usage = client.get("/api/v1/usage?group_by=project").json()
        assert usage["total"]["credits_spent"] == 0


def test_inviting_twice_or_an_existing_member_is_a_clear_400(
    server: LiveServer, studio: Team
) -> None:
    with server.client(studio.owner) as client:
        again = client.post("/api/v1/team/invitations", json={"email": studio.member.email})
        assert_error(again, 400, "invalid_request")
        owner = client.post(
            "/api/v1/team/invitations", json={"email": "x@studio.example", "role": "owner"}
        )
        assert_error(owner, 400, "invalid_request")
        bad = client.post("/api/v1/team/invitations", json={"email": "not an address"})
        assert_error(bad, 400, "invalid_request")
