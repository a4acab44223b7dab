"""Project codes on renders: validated, stored, echoed, listed by, and on the ledger."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tds.models import Hold, LedgerEntry, Render
from tests.support.db import reading
from tests.support.http import assert_error
from tests.support.images import png_bytes
from tests.support.servers import LiveServer


def body(**fields: Any) -> dict[str, Any]:
    image = base64.b64encode(png_bytes()).decode()
    return {"image_base64": image, "resolution": "1k"} | fields


def create(client: httpx.Client, **fields: Any) -> httpx.Response:
    return client.post("/api/v1/renders", json=body(**fields))


def test_a_project_is_trimmed_stored_echoed_and_on_the_ledger(server: LiveServer) -> None:
    account = server.account(credits=100)
    with server.client(account) as client:
        response = create(client, project="  2026-017 Harbour Lofts · Ålesund  ")
        assert response.status_code == 200, response.text
        made = response.json()["render"]
        assert made["project"] == "2026-017 Harbour Lofts · Ålesund"
        fetched = client.get(f"/api/v1/renders/{made['id']}").json()["render"]
        assert fetched["project"] == made["project"]
        plain = create(client).json()["render"]
        assert plain["project"] is None
        assert create(client, project=None).json()["render"]["project"] is None
    with reading(server.runtime.db) as session:
        render = session.get_one(Render, made["id"])
        assert render.project == made["project"]
        hold = session.get_one(Hold, render.hold_id)
        assert (hold.project, hold.member_id, hold.api_key_id, hold.source) == (
            made["project"],
            account.id,
            account.key_id,
            "api",
        )
        entries = session.scalars(
            select(LedgerEntry).where(LedgerEntry.render_id == made["id"])
        ).all()
    assert sorted(e.kind for e in entries) == ["capture", "hold"]
    for entry in entries:
        assert (entry.project, entry.member_id, entry.api_key_id, entry.source) == (
            made["project"],
            account.id,
            account.key_id,
            "api",
        )
    server.assert_books_balanced(account)


@pytest.mark.parametrize(
    "project",
    ["", "   ", "x" * 101, "line\nbreak", "tab\there", "nul\x00", "bell\x07", "rtl\u202eoverride"],
)
def test_a_bad_project_is_400_and_charges_nothing(server: LiveServer, project: str) -> None:
    account = server.account(credits=100)
    with server.client(account) as client:
        error = assert_error(create(client, project=project), 400, "invalid_request")
        assert error["param"] == "project"
        assert "project" in error["message"]
        assert client.get("/api/v1/me").json()["credits"] == 100
    server.assert_books_balanced(account)


def test_a_project_must_be_a_string(server: LiveServer) -> None:
    account = server.account(credits=100)
    with server.client(account) as client:
        error = assert_error(create(client, project=17), 400, "invalid_request")
    assert error["param"] == "project"


def test_the_longest_project_is_accepted(server: LiveServer) -> None:
    account = server.account(credits=100)
    with server.client(account) as client:
        response = create(client, project="é" * 100)
        assert response.status_code == 200, response.text
        assert response.json()["render"]["project"] == "é" * 100


def test_renders_list_filters_by_project(server: LiveServer) -> None:
    account = server.account(credits=100)
    with server.client(account) as client:
        ids = [create(client, project=p).json()["render"]["id"] for p in ("A", "B", "A", "A")]
        page = client.get("/api/v1/renders", params={"project": "A", "limit": 2}).json()
        assert [r["id"] for r in page["data"]] == [ids[3], ids[2]]
        assert page["has_more"]
        rest = client.get(
            "/api/v1/renders", params={"project": " A ", "starting_after": ids[2]}
        ).json()
        assert [r["id"] for r in rest["data"]] == [ids[0]]
        assert not rest["has_more"]
        assert client.get("/api/v1/renders", params={"project": "C"}).json()["data"] == []
        every = client.get("/api/v1/renders").json()["data"]
        assert len(every) == 4
        error = assert_error(
            client.get("/api/v1/renders", params={"project": "a\x01"}), 400, "invalid_request"
        )
        assert error["param"] == "project"
