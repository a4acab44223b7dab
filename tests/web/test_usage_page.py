"""Project codes on the dashboard over HTTP: the Studio sends the Project field, the gallery
filters by it and the render page shows it; /usage and /usage.csv report the signed-in
user's team, and the CSV adds up to what GET /api/v1/usage answers for the same window."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tds.accounts import passwords
from tds.models import Account as AccountRow
from tests.support.accounts import Account
from tests.support.db import writing
from tests.support.engines import ResizeEngine
from tests.support.images import png_bytes
from tests.support.servers import LiveServer
from tests.support.teams import Team, team

PASSWORD = "a long enough password"


@pytest.fixture
def live(make_server: Any) -> LiveServer:
    server: LiveServer = make_server(ResizeEngine(), login_rate_limit="1000/minute")
    return server


def _csrf(response: httpx.Response) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', response.text)
    assert match, response.text
    return match.group(1)


@contextmanager
def signed_in(server: LiveServer, email: str) -> Iterator[httpx.Client]:
    hashed = passwords.hash_password(PASSWORD)
    with writing(server.runtime.db) as session:
        row = session.scalars(select(AccountRow).where(AccountRow.email == email)).one()
        row.password_hash = hashed
    with httpx.Client(base_url=server.url, headers={"Accept": "text/html"}) as client:
        form = client.get("/login")
        answer = client.post(
            "/login",
            data={"email": email, "password": PASSWORD, "csrf_token": _csrf(form), "next": "/"},
        )
        assert answer.status_code == 303, answer.text
        yield client


def api_render(server: LiveServer, key: Account, **fields: Any) -> dict[str, Any]:
    body = {"image_base64": base64.b64encode(png_bytes()).decode(), "resolution": "1k"} | fields
    with server.client(key) as http:
        answer = http.post("/api/v1/renders", json=body)
    assert answer.status_code == 200, answer.text
    render: dict[str, Any] = answer.json()["render"]
    return render


def api_usage(server: LiveServer, key: Account, **params: str) -> dict[str, Any]:
    with server.client(key) as http:
        answer = http.get("/api/v1/usage", params=params)
    assert answer.status_code == 200, answer.text
    usage: dict[str, Any] = answer.json()
    return usage


def studio_csrf(client: httpx.Client) -> str:
    """The CSRF token the Studio page hands its script."""
    found = re.search(r'id="studio-data"[^>]*>(.*?)</script>', client.get("/studio").text, re.S)
    assert found
    token: str = json.loads(found[1])["csrf"]
    return token


def studio_render(client: httpx.Client, **fields: str) -> dict[str, Any]:
    answer = client.post(
        "/studio/renders",
        data={"resolution": "1k", **fields},
        files={"file": ("view.png", png_bytes(), "image/png")},
        headers={"X-CSRF-Token": studio_csrf(client), "Origin": str(client.base_url).rstrip("/")},
    )
    assert answer.status_code == 202, answer.text
    render: dict[str, Any] = answer.json()["render"]
    return render


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_the_studio_sends_the_project_and_the_gallery_filters_by_it(live: LiveServer) -> None:
    account = live.account(credits=100, plan="pro")
    with signed_in(live, account.email) as client:
        studio = client.get("/studio")
        assert 'id="project" name="project"' in studio.text
        billed = studio_render(client, project="  2026-017 Harbour Lofts ")
        bare = studio_render(client, project="   ")  # an empty field: no project
        assert (billed["project"], billed["source"]) == ("2026-017 Harbour Lofts", "web")
        assert bare["project"] is None
        refused = client.post(
            "/studio/renders",
            data={"project": "x" * 101},
            files={"file": ("view.png", png_bytes(), "image/png")},
            headers={"X-CSRF-Token": studio_csrf(client), "Accept": "application/json"},
        )
        assert refused.status_code == 400
        assert refused.json()["error"]["param"] == "project"
        api_render(live, account, project="Mill Street")

        everything = client.get("/renders")
        assert everything.text.count('class="card tile"') == 3
        assert '<option value="2026-017 Harbour Lofts"' in everything.text
        assert '<option value="Mill Street"' in everything.text
        filtered = client.get("/renders", params={"project": "2026-017 Harbour Lofts"})
        assert filtered.status_code == 200
        assert filtered.text.count('class="card tile"') == 1
        assert f'href="/renders/{billed["id"]}"' in filtered.text
        assert 'data-testid="card-project"' in filtered.text
        assert client.get("/renders", params={"project": "Nobody"}).text.count("card tile") == 0
        assert client.get("/renders", params={"project": "a\nb"}).status_code == 400

        detail = client.get(f"/renders/{billed['id']}")
        assert re.search(r'data-testid="render-project"><a [^>]*>2026-017 Harbour Lofts</a>',
                         detail.text)  # fmt: skip
        assert 'data-testid="render-project">–' in client.get(f"/renders/{bare['id']}").text
    assert live.assert_books_balanced(account).credits == 100 - 10 - 5


def test_usage_page_and_csv_add_up_to_the_api_for_the_team(live: LiveServer) -> None:
    crew: Team = team(live, credits=500)
    api_render(live, crew.owner, project="Harbour Lofts")
    api_render(live, crew.owner, project="Harbour Lofts", resolution="2k")
    api_render(live, crew.member, project="Harbour Lofts")
    api_render(live, crew.member, project='=HYPERLINK("http://evil.example","x")')
    api_render(live, crew.admin, project="@SUM(1+1)")
    api_render(live, crew.admin)
    api_render(live, crew.outsider, project="Harbour Lofts")  # another team: never counted

    today = datetime.now(UTC).date()
    first, last = today.replace(day=1), today
    window = {"from": first.isoformat(), "to": (last + timedelta(days=1)).isoformat()}
    by_project = api_usage(live, crew.owner, group_by="project", **window)
    by_member = api_usage(live, crew.member, group_by="member", **window)
    assert by_project["total"] == {"credits_spent": 35, "renders": 6}

    with signed_in(live, crew.member.email) as client:
        shown = client.get("/usage", params={"group_by": "project", "from": first, "to": last})
        assert shown.status_code == 200
        assert re.search(r'data-testid="total-credits"><strong>35<', shown.text)
        assert re.search(r'data-testid="total-renders"><strong>6<', shown.text)
        link = re.search(r'href="(/usage\.csv\?[^"]+)"', shown.text)
        assert link
        download = client.get(link[1].replace("&amp;", "&"))
        assert download.status_code == 200
        assert download.headers["content-type"] == "text/csv; charset=utf-8"
        assert download.headers["content-disposition"] == (
            f'attachment; filename="tds-usage-project-{first}-to-{last}.csv"'
        )
        rows = rows_of(download.text)
        assert rows[0] == ["project", "credits_spent", "renders"]
        spent = {row[0]: (int(row[1]), int(row[2])) for row in rows[1:]}
        expected = {
            ("'" + g["label"] if g["label"][0] in "=+-@" else g["label"]): (
                g["credits_spent"],
                g["renders"],
            )
            for g in by_project["data"]
        }
        assert spent == expected
        assert spent['\'=HYPERLINK("http://evil.example","x")'] == (5, 1)
        assert spent["'@SUM(1+1)"] == (5, 1)
        assert spent["(no project)"] == (5, 1)
        assert spent["Harbour Lofts"] == (20, 3)
        assert sum(c for c, _ in spent.values()) == by_project["total"]["credits_spent"]
        assert sum(n for _, n in spent.values()) == by_project["total"]["renders"]

        members = client.get("/usage.csv", params={"group_by": "member", "from": first, "to": last})
        assert rows_of(members.text)[0] == ["member", "member_id", "credits_spent", "renders"]
        assert {(r[0], r[1], int(r[2]), int(r[3])) for r in rows_of(members.text)[1:]} == {
            (g["label"], g["group"], g["credits_spent"], g["renders"]) for g in by_member["data"]
        }
        assert {r[0] for r in rows_of(members.text)[1:]} == {
            crew.owner.email,
            crew.member.email,
            crew.admin.email,
        }

        month = client.get("/usage.csv", params={"month": today.strftime("%Y-%m")})
        assert rows_of(month.text)[1:] == rows[1:]  # the whole month holds today's renders
        assert 'filename="tds-usage-project-' in month.headers["content-disposition"]
        old = client.get("/usage", params={"month": "2020-02"})
        assert "Nothing spent in this period." in old.text
        assert rows_of(client.get("/usage.csv", params={"month": "2020-02"}).text) == [
            ["project", "credits_spent", "renders"]
        ]
        assert 'href="/usage?group_by=project&amp;month=2020-01"' in old.text

        for params in ({"month": "2026-13"}, {"group_by": "key"}, {"from": "yesterday"},
                       {"from": "2026-12-05", "to": "2026-12-04"}):  # fmt: skip
            page = client.get("/usage", params=params)
            assert page.status_code == 400, params
            assert 'class="alert"' in page.text
            assert client.get("/usage.csv", params=params).status_code == 400, params

    with signed_in(live, crew.outsider.email) as outsider:
        theirs = rows_of(outsider.get("/usage.csv", params={"from": first, "to": last}).text)
        assert theirs[1:] == [["Harbour Lofts", "5", "1"]]
    with httpx.Client(base_url=live.url, headers={"Accept": "text/html"}) as anonymous:
        assert anonymous.get("/usage").status_code == 303
        assert anonymous.get("/usage.csv").status_code in (303, 401)
