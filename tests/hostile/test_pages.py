"""Security review, issue 15, item 11: pages answer pages.

A browser that asks the dashboard for a page and meets an error (404, 400, 403, 405, 429, 500)
gets an HTML page in the dashboard's look with a plain link back that works under the pages'
CSP; /api/v1 answers its JSON error shape whatever the client accepts, and so do the Studio's
own fetch() calls, which ask for JSON.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import httpx
import pytest

from tds.accounts import service as accounts
from tds.models import ApiKey
from tds.web import sessions
from tests.support.db import reading, writing
from tests.support.engines import BrokenEngine
from tests.support.http import assert_error
from tests.support.servers import LiveServer

# What Chromium sends when it navigates.
BROWSER_ACCEPT = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "image/apng,*/*;q=0.8"
)
_emails = iter(range(10**6))


def _signed_in(live: LiveServer) -> httpx.Client:
    """A browser with a session of a new account (made as sign-up would make it)."""
    with writing(live.runtime.db) as session:
        account, _ = accounts.ensure(session, f"pages{next(_emails)}@example.com")
        token = sessions.renew(session, None, account.id)
    browser = httpx.Client(base_url=live.url, headers={"Accept": BROWSER_ACCEPT})
    browser.cookies.set("tds_session", token)
    return browser


@pytest.fixture
def browser(server: LiveServer) -> Iterator[httpx.Client]:
    with _signed_in(server) as client:
        yield client


@pytest.fixture
def anonymous(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers={"Accept": BROWSER_ACCEPT}) as client:
        yield client


def _token(page: httpx.Response) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


def assert_error_page(answer: httpx.Response, status: int, *words: str) -> str:
    """An HTML error page under the dashboard's CSP, with a plain link back; its target."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    csp = answer.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    html = answer.text
    assert re.search(r'<link rel="stylesheet" href="[^"]*/static/style.css">', html)  # its look
    for word in words:
        assert word in html, html
    # Nothing the CSP blocks: no inline script, no javascript: link, no inline handler.
    assert "<script" not in html
    assert "javascript:" not in html
    assert not re.search(r"\son[a-z]+=", html)
    back = re.search(r'<a class="button" href="([^"]+)" data-testid="back">', html)
    assert back, html
    assert back.group(1) in ("/", "/studio")
    assert re.search(r"req_[0-9a-f]+", html)  # the request id to quote
    return back.group(1)


def _assert_link_works(client: httpx.Client, target: str) -> None:
    followed = client.get(target, follow_redirects=True)
    assert followed.status_code == 200, followed.text
    assert followed.headers["content-type"].startswith("text/html")


def test_an_unknown_page_is_a_404_page(browser: httpx.Client, anonymous: httpx.Client) -> None:
    answer = browser.get("/studio/nope")
    back = assert_error_page(answer, 404, "Page not found", "no page at this address")
    assert back == "/studio"
    assert 'data-testid="balance"' in answer.text  # the signed-in header
    _assert_link_works(browser, back)

    stranger = anonymous.get("/no/such/page")
    assert assert_error_page(stranger, 404, "Page not found") == "/"
    _assert_link_works(anonymous, "/")


def test_a_missing_render_is_a_404_page(browser: httpx.Client) -> None:
    answer = browser.get("/renders/rnd_doesnotexist")
    assert_error_page(answer, 404, "Page not found", "rnd_doesnotexist")


def test_the_api_answers_json_whatever_the_client_accepts(
    server: LiveServer, browser: httpx.Client
) -> None:
    account = server.account(credits=10)
    for path in ("/api/v1/nope", "/api/v1/renders/rnd_doesnotexist", "/api"):
        with server.client(account, headers={"Accept": BROWSER_ACCEPT}) as client:
            assert_error(client.get(path), 404, "not_found")
    assert_error(browser.get("/api/v1/me"), 401, "invalid_api_key")  # the cookie counts for 0
    assert_error(browser.get("/api/v1/renders", params={"limit": "0"}), 401, "invalid_api_key")
    with server.client(account, headers={"Accept": BROWSER_ACCEPT}) as client:
        assert_error(client.get("/api/v1/renders", params={"limit": "0"}), 400, "invalid_request")
        assert_error(client.delete("/api/v1/me"), 405, "method_not_allowed")


def test_programs_on_dashboard_paths_still_get_json(browser: httpx.Client) -> None:
    for accept in ("application/json", "*/*", "application/json, text/html;q=0.5"):
        answer = browser.get("/studio/nope", headers={"Accept": accept})
        assert_error(answer, 404, "not_found")
    # The Studio's script asks for JSON: its errors stay JSON.
    poll = browser.get("/studio/renders/rnd_nope", headers={"Accept": "application/json"})
    assert_error(poll, 404, "not_found")


def test_a_bad_form_is_a_400_page(server: LiveServer, browser: httpx.Client) -> None:
    token = _token(browser.get("/settings/keys"))
    too_long = browser.post("/settings/keys", data={"name": "k" * 101, "csrf_token": token})
    assert_error_page(too_long, 400, "name", "100 characters")
    bad_query = browser.get("/account", params={"page": "0"})
    assert_error_page(bad_query, 400, "page")
    with reading(server.runtime.db) as session:
        assert session.query(ApiKey).filter(ApiKey.name == "k" * 101).count() == 0


def test_the_403_page_links_back_under_its_csp(
    server: LiveServer, browser: httpx.Client, anonymous: httpx.Client
) -> None:
    with reading(server.runtime.db) as session:
        keys_before = session.query(ApiKey).count()
    forged = browser.post("/settings/keys", data={"name": "x", "csrf_token": "forged"})
    back = assert_error_page(forged, 403, "Not allowed", "security token")
    assert back == "/studio"
    _assert_link_works(browser, back)
    cross_site = anonymous.post(
        "/login",
        data={"email": "a@example.com", "password": "x", "csrf_token": "x"},
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert assert_error_page(cross_site, 403, "nothing was changed") == "/"
    _assert_link_works(anonymous, "/")
    with reading(server.runtime.db) as session:
        assert session.query(ApiKey).count() == keys_before


def test_a_wrong_method_is_a_405_page(browser: httpx.Client) -> None:
    answer = browser.get("/logout")
    assert_error_page(answer, 405, "does not take a GET request")
    assert "POST" in answer.headers["allow"]


def test_too_many_log_ins_is_a_429_page(make_server: Callable[..., LiveServer]) -> None:
    live = make_server(login_rate_limit="1/minute")
    with httpx.Client(base_url=live.url, headers={"Accept": BROWSER_ACCEPT}) as client:
        statuses = []
        for _ in range(2):
            token = _token(client.get("/login"))
            answer = client.post(
                "/login", data={"email": "x@example.com", "password": "guess", "csrf_token": token}
            )
            statuses.append(answer.status_code)
    assert statuses == [401, 429]
    assert answer.headers["content-type"].startswith("text/html")
    assert "<script" not in answer.text
    assert "javascript:" not in answer.text


def test_a_crash_is_a_500_page(make_server: Callable[..., LiveServer]) -> None:
    live = make_server(BrokenEngine())  # its description raises: /developers crashes
    # A fresh connection each: uvicorn closes one after an unhandled error.
    answer = httpx.get(f"{live.url}/developers", headers={"Accept": BROWSER_ACCEPT})
    assert_error_page(answer, 500, "Something went wrong", "nothing was charged")
    assert "a bug in the engine" not in answer.text  # no internals shown
    as_json = httpx.get(f"{live.url}/developers", headers={"Accept": "application/json"})
    assert_error(as_json, 500, "internal_error")
