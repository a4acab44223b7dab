"""Dashboard sign-in security over plain HTTP: passwords, sessions, CSRF, throttling."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pytest
from argon2 import PasswordHasher

from tds.accounts import passwords
from tds.models import Account, ApiKey, WebSession
from tests.support.databases import database_settings
from tests.support.db import reading, writing
from tests.support.http import assert_error
from tests.support.servers import LiveServer, make_settings
from tests.support.smtp import confirm_from_outbox

PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """This module's own server (SQLite or PostgreSQL, like the shared one): its tests sign up
    and log in from 127.0.0.1 more often than TDS_SIGNUP_RATE_LIMIT (5 an hour) allows one
    address. tests/hostile/test_auth_limits.py tests those limits."""
    folder = tmp_path_factory.mktemp("tds-web")
    with ExitStack() as stack:
        settings = database_settings(stack, folder)
        limits = {"signup_rate_limit": "1000/hour", "login_rate_limit": "1000/minute"}
        yield stack.enter_context(LiveServer(make_settings(folder, **settings, **limits)))


def _token(response: httpx.Response) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', response.text)
    assert match, response.text
    return match.group(1)


@pytest.fixture
def browser(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers={"Accept": "text/html"}) as client:
        yield client


def sign_up(
    server: LiveServer,
    client: httpx.Client,
    email: str,
    password: str = PASSWORD,
    *,
    then_log_in: bool = True,
) -> httpx.Response:
    """Sign up (which signs nobody in), then confirm the address from the mail the server kept
    (it has no TDS_SMTP_URL) and log in as the new account, unless told not to; the sign-up's
    answer."""
    token = _token(client.get("/signup"))
    answer = client.post(
        "/signup", data={"email": email, "password": password, "csrf_token": token}
    )
    if then_log_in:
        confirm_from_outbox(server, email)
        assert log_in(client, email, password).status_code == 303
    return answer


def log_in(client: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    form = client.get("/login")
    if form.status_code == 303:  # already signed in: the form is not shown, post it anyway
        client.cookies.set("tds_form", "double-submit-token")
        token = "double-submit-token"
    else:
        token = _token(form)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def test_sign_up_stores_an_argon2id_hash_and_free_credits(
    server: LiveServer, browser: httpx.Client
) -> None:
    answer = sign_up(server, browser, "new-architect@example.com", then_log_in=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login"
    assert "tds_session" not in browser.cookies  # sign-up signs nobody in
    with reading(server.runtime.db) as session:
        account = session.query(Account).filter_by(email="new-architect@example.com").one()
        assert account.password_hash is not None
        assert account.password_hash.startswith("$argon2id$")
        assert PASSWORD not in account.password_hash
        assert (account.plan, account.credits) == ("free", 0)  # not before the confirmation
        assert account.email_verified_at is None
    login = browser.get("/login")  # where the redirect goes: it names the email
    assert "If new-architect@example.com was new, we sent it a link" in login.text
    assert "50 credits arrive with the confirmation" in login.text
    assert 'value="new-architect@example.com"' in login.text
    assert "was new" not in browser.get("/login").text  # said once
    assert log_in(browser, "new-architect@example.com").status_code == 403  # not confirmed
    confirm_from_outbox(server, "new-architect@example.com")
    assert log_in(browser, "new-architect@example.com").status_code == 303
    with reading(server.runtime.db) as session:
        account = session.query(Account).filter_by(email="new-architect@example.com").one()
        assert account.credits == 50


def test_signing_up_again_changes_nothing_and_says_nothing(
    server: LiveServer, browser: httpx.Client
) -> None:
    sign_up(server, browser, "taken@example.com", then_log_in=False)
    with reading(server.runtime.db) as session:
        before = session.query(Account).filter_by(email="taken@example.com").one()
    with httpx.Client(base_url=server.url) as other:
        again = sign_up(
            server, other, "Taken@Example.com", "the intruder's password", then_log_in=False
        )
        assert again.status_code == 303  # not a 400 "already exists"
        assert again.headers["location"] == "/login"
        assert "tds_session" not in other.cookies
        assert log_in(other, "taken@example.com", "the intruder's password").status_code == 401
    with reading(server.runtime.db) as session:
        after = session.query(Account).filter_by(email="taken@example.com").one()
        assert (after.password_hash, after.credits) == (before.password_hash, before.credits)
    confirm_from_outbox(server, "taken@example.com")  # the first mail: its confirmation link
    assert log_in(browser, "taken@example.com").status_code == 303


def test_wrong_password_and_unknown_email_look_the_same(
    server: LiveServer, browser: httpx.Client
) -> None:
    sign_up(server, browser, "known@example.com")
    with httpx.Client(base_url=server.url) as other:
        wrong = log_in(other, "known@example.com", "not the password")
        unknown = log_in(other, "nobody-here@example.com", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong email or password." in wrong.text
    assert wrong.text.replace("known@", "X@") == unknown.text.replace("nobody-here@", "X@")


def test_log_in_rotates_the_session_and_log_out_revokes_it(
    server: LiveServer, browser: httpx.Client
) -> None:
    sign_up(server, browser, "rotate@example.com")  # and logs in
    first = browser.cookies["tds_session"]
    assert log_in(browser, "rotate@example.com").status_code == 303
    second = browser.cookies["tds_session"]
    assert first != second
    with httpx.Client(base_url=server.url, headers={"Accept": "text/html"}) as stale:
        stale.cookies.set("tds_session", first)
        assert stale.get("/studio").headers["location"] == "/login?next=/studio"
    page = browser.get("/studio")
    assert page.status_code == 200
    browser.post("/logout", data={"csrf_token": _token(page)})
    assert browser.get("/studio").status_code == 303
    with reading(server.runtime.db) as session:
        assert session.get(WebSession, second) is None  # ids are digests, never the token


def test_forms_need_their_csrf_token_and_the_same_origin(
    server: LiveServer, browser: httpx.Client
) -> None:
    sign_up(server, browser, "csrf@example.com")
    page = browser.get("/settings/keys")
    token = _token(page)
    with reading(server.runtime.db) as session:
        before = session.query(ApiKey).count()
    missing = browser.post("/settings/keys", data={"name": "x"})
    wrong = browser.post("/settings/keys", data={"name": "x", "csrf_token": "forged"})
    cross_site = browser.post(
        "/settings/keys",
        data={"name": "x", "csrf_token": token},
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    for answer in (missing, wrong, cross_site):
        assert answer.status_code == 403
        assert "nothing was changed" in answer.text or "security token" in answer.text
    anonymous = httpx.post(f"{server.url}/login", data={"email": "a@b.co", "password": "x"})
    assert anonymous.status_code == 403
    with reading(server.runtime.db) as session:
        assert session.query(ApiKey).count() == before
    assert (
        browser.post("/settings/keys", data={"name": "ok", "csrf_token": token}).status_code == 200
    )


def test_the_api_never_accepts_the_session_cookie(
    server: LiveServer, browser: httpx.Client
) -> None:
    sign_up(server, browser, "cookie@example.com")
    assert_error(browser.get("/api/v1/me"), 401, "invalid_api_key")
    studio_json = browser.get("/studio/renders/rnd_x", headers={"Accept": "application/json"})
    assert_error(studio_json, 404, "not_found")  # the dashboard's own endpoint does accept it


def test_log_in_attempts_are_throttled_per_address(make_server) -> None:  # type: ignore[no-untyped-def]
    live = make_server(login_rate_limit="3/minute")
    with httpx.Client(base_url=live.url) as client:
        statuses = [log_in(client, "target@example.com", "guess").status_code for _ in range(3)]
        refused = log_in(client, "someone-else@example.com", "guess")
    assert statuses == [401, 401, 401]
    assert refused.status_code == 429  # the address's attempts, whichever email
    assert "Too many log-in attempts from this address (limit 3/minute)" in refused.text
    assert int(refused.headers["Retry-After"]) >= 1


def test_outdated_hashes_are_upgraded_at_log_in(server: LiveServer, browser: httpx.Client) -> None:
    sign_up(server, browser, "rehash@example.com")
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    with writing(server.runtime.db) as session:
        session.query(Account).filter_by(email="rehash@example.com").one().password_hash = weak
    with httpx.Client(base_url=server.url) as other:
        assert log_in(other, "rehash@example.com").status_code == 303
    with reading(server.runtime.db) as session:
        upgraded = session.query(Account).filter_by(email="rehash@example.com").one()
        assert upgraded.password_hash != weak
        assert not passwords.needs_rehash(upgraded.password_hash or "")


def test_short_passwords_and_open_redirects_are_refused(
    server: LiveServer, browser: httpx.Client
) -> None:
    token = _token(browser.get("/signup"))
    short = browser.post(
        "/signup", data={"email": "short@example.com", "password": "short", "csrf_token": token}
    )
    assert short.status_code == 400
    assert "at least 10 characters" in short.text
    not_an_email = browser.post(
        "/signup", data={"email": "no-at-sign", "password": PASSWORD, "csrf_token": token}
    )
    assert not_an_email.status_code == 400
    assert "is not an email address" in not_an_email.text
    sign_up(server, browser, "redirect@example.com")
    with httpx.Client(base_url=server.url) as other:
        token = _token(other.get("/login"))
        answer = other.post(
            "/login",
            data={
                "email": "redirect@example.com",
                "password": PASSWORD,
                "csrf_token": token,
                "next": "//evil.example/",
            },
        )
    assert answer.headers["location"] == "/studio"


def test_closed_sign_up_says_who_makes_accounts(make_server) -> None:  # type: ignore[no-untyped-def]
    live = make_server(signup="closed")
    with httpx.Client(base_url=live.url, headers={"Accept": "text/html"}) as client:
        login = client.get("/login")
        token = _token(login)
        form = client.get("/signup")
        posted = client.post(
            "/signup",
            data={"email": "walk-in@example.com", "password": PASSWORD, "csrf_token": token},
        )
    assert login.status_code == 200
    assert 'href="/signup"' not in login.text  # neither the page's link nor the nav's
    assert "Accounts are made by the operator" in login.text
    for answer in (form, posted):
        assert answer.status_code == 403
        assert answer.headers["content-type"].startswith("text/html")
        assert "Sign-up is closed" in answer.text
        assert "tds admin create-key" in answer.text
        assert 'action="/signup"' not in answer.text
    with reading(live.runtime.db) as session:
        assert session.query(Account).filter_by(email="walk-in@example.com").count() == 0
