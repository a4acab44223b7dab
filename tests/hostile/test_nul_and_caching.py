"""Security review, issue 15: a NUL byte anywhere is a 400, never a database error (PostgreSQL
cannot store or compare one); private answers say `Cache-Control: no-store`."""

from __future__ import annotations

import base64
import re
from typing import Any

import httpx
import pytest

from tests.support.http import assert_error
from tests.support.images import png_bytes
from tests.support.servers import LiveServer
from tests.support.smtp import confirm_from_outbox

PASSWORD = "a long enough password"
IMAGE = base64.b64encode(png_bytes()).decode()


def _token(response: httpx.Response) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', response.text)
    assert match, response.text
    return match.group(1)


def _browser(server: LiveServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Accept": "text/html"})


@pytest.mark.parametrize(
    ("method", "path", "param"),
    [
        ("GET", "/api/v1/renders/rnd_abc%00def", "render_id"),
        ("GET", "/api/v1/renders/%00", "render_id"),
        ("POST", "/api/v1/renders/rnd_abc%00/cancel", "render_id"),
        ("GET", "/api/v1/renders?starting_after=rnd_abc%00", "starting_after"),
        ("GET", "/api/v1/renders?limit=5&starting_after=%00", "starting_after"),
    ],
)
def test_a_nul_in_a_path_id_or_the_query_is_a_400(
    server: LiveServer, method: str, path: str, param: str
) -> None:
    account = server.account(credits=100)
    with server.client(account) as client:
        answer = client.request(method, path)
        error = assert_error(answer, 400, "invalid_request")
        assert error["param"] == param
        assert client.get("/api/v1/me").json()["credits"] == 100
    server.assert_books_balanced(account)


def test_a_nul_query_value_is_refused_even_when_httpx_encodes_it(server: LiveServer) -> None:
    account = server.account()
    with server.client(account) as client:
        answer = client.get("/api/v1/renders", params={"starting_after": "rnd_\x00"})
    assert assert_error(answer, 400, "invalid_request")["param"] == "starting_after"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"image_base64": IMAGE, "prompt": "warm light\x00"}, "prompt"),
        ({"image_base64": IMAGE, "negative_prompt": "\x00"}, "negative_prompt"),
        ({"kind": "refine", "render_id": "rnd_\x00abc"}, "render_id"),
        ({"image_url": "https://example.com/a\x00.png"}, "image_url"),
    ],
)
def test_a_nul_in_a_render_body_is_a_400_and_charges_nothing(
    server: LiveServer, body: dict[str, Any], param: str
) -> None:
    account = server.account(credits=100)
    with server.client(account) as client:
        answer = client.post("/api/v1/renders", json=body | {"resolution": "1k"})
        error = assert_error(answer, 400, "invalid_request")
        assert error["param"] == param
        assert "\\x00" in error["message"]
        assert client.get("/api/v1/me").json()["credits"] == 100
        assert client.get("/api/v1/renders").json()["data"] == []
    server.assert_books_balanced(account)


def test_a_nul_in_an_upload_body_is_a_400(server: LiveServer) -> None:
    account = server.account()
    with server.client(account) as client:
        answer = client.post("/api/v1/uploads", json={"image_base64": IMAGE[:40] + "\x00"})
    assert assert_error(answer, 400, "invalid_request")["param"] == "image_base64"


@pytest.mark.parametrize("form", ["/login", "/signup"])
def test_a_nul_in_the_email_of_a_dashboard_form_is_a_400_page(
    server: LiveServer, form: str
) -> None:
    with _browser(server) as browser:
        token = _token(browser.get(form))
        answer = browser.post(
            form,
            data={"email": "nul\x00@example.com", "password": PASSWORD, "csrf_token": token},
        )
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert "NUL" in answer.text
    assert "\x00" not in answer.text
    assert "set-cookie" not in answer.headers or "tds_session" not in answer.headers["set-cookie"]


def test_api_answers_are_not_stored(server: LiveServer) -> None:
    account = server.account(credits=100)
    with server.client(account) as client:
        me = client.get("/api/v1/me")
        created = client.post("/api/v1/renders", json={"image_base64": IMAGE, "resolution": "1k"})
        assert created.status_code == 200, created.text
        render = client.get(f"/api/v1/renders/{created.json()['render']['id']}")
        missing = client.get("/api/v1/renders/rnd_nothing_here")
    for answer in (me, created, render, missing):
        assert answer.headers["cache-control"] == "no-store", answer.headers
    assert render.status_code == 200
    server.assert_books_balanced(account)


def test_signed_in_pages_are_not_stored_and_files_keep_their_own_caching(
    server: LiveServer,
) -> None:
    account = server.account()
    with server.client(account) as client:
        uploaded = client.post("/api/v1/uploads", json={"image_base64": IMAGE})
        assert uploaded.status_code == 201, uploaded.text
        file = client.get(uploaded.json()["url"])
        style = client.get("/static/style.css")
    assert file.status_code == 200
    assert file.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert style.status_code == 200
    assert style.headers.get("cache-control") != "no-store"

    with _browser(server) as browser:
        token = _token(browser.get("/signup"))
        signed_up = browser.post(
            "/signup",
            data={"email": "cache-check@example.com", "password": PASSWORD, "csrf_token": token},
        )
        assert signed_up.status_code == 303, signed_up.text  # sign-up does not sign in
        confirm_from_outbox(server, "cache-check@example.com")
        token = _token(browser.get("/login"))
        logged_in = browser.post(
            "/login",
            data={"email": "cache-check@example.com", "password": PASSWORD, "csrf_token": token},
        )
        assert logged_in.status_code == 303, logged_in.text
        studio = browser.get("/studio")
    assert studio.status_code == 200
    assert studio.headers["content-type"].startswith("text/html")
    assert studio.headers["cache-control"] == "no-store"
