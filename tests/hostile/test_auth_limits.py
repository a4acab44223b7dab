"""Security review, issue 15, items 3, 4 and 6: limits on sign-up, log-in and failed API keys.

- 3: one address made 30 accounts with 50 free credits each in 2 s, and "already exists" told
  which emails have accounts. Sign-ups are limited per address, and a new and an existing email
  get the same answer (sign-up signs nobody in; both go to the log-in page). A sign-up has its
  credits, and can log in, only once its address is confirmed (issue 17).
- 4: ten wrong log-ins from other addresses locked the owner out (429 with the right password).
  Failures now count per (email, address): an address that never failed for an email is not
  refused for it. IPv6 addresses count by /64; X-Forwarded-For is believed only from
  TDS_TRUSTED_PROXIES.
- 6: forged (well-formed, unknown) keys each cost a database read and were never limited. An
  address past TDS_AUTH_FAILURE_RATE_LIMIT failures gets 429 before the read.

Every test runs on loopback, so one peer address: other client addresses arrive through a
trusted proxy's X-Forwarded-For (the test server trusts 127.0.0.1 where a test says so).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import event, func, select

from tds.catalogue import DEFAULT_PLAN, PLANS
from tds.keys import tokens
from tds.models import Account, LedgerEntry
from tests.support.db import reading
from tests.support.http import assert_error
from tests.support.servers import LiveServer
from tests.support.smtp import confirm_from_outbox

PASSWORD = "a long enough password"
FREE = PLANS[DEFAULT_PLAN].monthly_credits
MakeServer = Callable[..., LiveServer]


def _token(response: httpx.Response) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', response.text)
    assert match, response.text
    return match.group(1)


def _browser(live: LiveServer, address: str | None = None) -> httpx.Client:
    headers = {"Accept": "text/html"} | ({"X-Forwarded-For": address} if address else {})
    return httpx.Client(base_url=live.url, headers=headers)


def _sign_up(
    live: LiveServer, email: str, address: str | None = None, *, confirm: bool = False
) -> httpx.Response:
    """Sign up; with `confirm`, also follow the confirmation link the server kept (it has no
    TDS_SMTP_URL), without which the account can neither log in nor has its credits."""
    with _browser(live, address) as browser:
        token = _token(browser.get("/signup"))
        answer = browser.post(
            "/signup", data={"email": email, "password": PASSWORD, "csrf_token": token}
        )
    if confirm and answer.status_code == 303:
        confirm_from_outbox(live, email)
    return answer


def _log_in(
    live: LiveServer, email: str, password: str, address: str | None = None
) -> httpx.Response:
    with _browser(live, address) as browser:
        token = _token(browser.get("/login"))
        return browser.post(
            "/login", data={"email": email, "password": password, "csrf_token": token}
        )


def _sign_up_books(live: LiveServer) -> tuple[int, int]:
    """How many accounts exist, and how many credits were granted to them in all."""
    with reading(live.runtime.db) as session:
        accounts = session.scalar(select(func.count()).select_from(Account)) or 0
        granted = session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                LedgerEntry.kind == "grant"
            )
        )
    return accounts, int(granted or 0)


# -- 3: sign-up ---------------------------------------------------------------------------------


def test_thirty_sign_ups_from_one_address_stop_at_the_limit(make_server: MakeServer) -> None:
    live = make_server()  # the default TDS_SIGNUP_RATE_LIMIT, 5/hour
    answers = [_sign_up(live, f"farm{n}@example.com", confirm=True) for n in range(30)]
    assert [a.status_code for a in answers] == [303] * 5 + [429] * 25
    refused = answers[-1]
    assert "Too many sign-ups from this address (limit 5/hour)" in refused.text
    assert 600 < int(refused.headers["Retry-After"]) <= 720  # one interval: 12 minutes
    assert 'action="/signup"' in refused.text  # the form again, to try later
    assert _sign_up_books(live) == (5, 5 * FREE)
    for n in range(5):
        assert _log_in(live, f"farm{n}@example.com", PASSWORD).status_code == 303
    assert _log_in(live, "farm5@example.com", PASSWORD).status_code == 401  # never made


def test_x_forwarded_for_is_ignored_when_no_proxy_is_trusted(make_server: MakeServer) -> None:
    """Without TDS_TRUSTED_PROXIES a client cannot pick a fresh address for each request."""
    live = make_server(login_rate_limit="3/minute")
    statuses = [
        _sign_up(live, f"rotating{n}@example.com", f"198.51.100.{n}").status_code for n in range(8)
    ]
    assert statuses == [303] * 5 + [429] * 3
    confirm_from_outbox(live, "rotating0@example.com")
    logins = [
        _log_in(live, "rotating0@example.com", "guess", f"203.0.113.{n}").status_code
        for n in range(4)
    ]
    assert logins == [401, 401, 401, 429]
    assert _sign_up_books(live) == (5, FREE)  # the one confirmed has its credits


def test_sign_ups_are_limited_per_address_behind_a_trusted_proxy(
    make_server: MakeServer,
) -> None:
    live = make_server(trusted_proxies=["127.0.0.1"])
    first = [_sign_up(live, f"a{n}@example.com", "198.51.100.7").status_code for n in range(7)]
    assert first == [303] * 5 + [429] * 2
    # The client is the right-most hop that is not a trusted proxy: what it wrote left of
    # that is not believed.
    forged = [
        _sign_up(live, f"b{n}@example.com", f"10.9.9.{n}, 198.51.100.7").status_code
        for n in range(3)
    ]
    assert forged == [429] * 3
    assert _sign_up(live, "c@example.com", "198.51.100.8").status_code == 303
    assert _sign_up_books(live) == (6, 0)  # none confirmed: no credits yet


def test_new_and_existing_emails_get_the_same_answer(make_server: MakeServer) -> None:
    live = make_server()
    taken, fresh = "taken@example.com", "fresh@example.com"
    assert _sign_up(live, taken, confirm=True).status_code == 303
    with reading(live.runtime.db) as session:
        before = session.scalars(select(Account).where(Account.email == taken)).one()

    def answer(email: str) -> tuple[Any, ...]:
        """The sign-up's answer, then the page it leads to, with the email taken out."""
        with _browser(live) as browser:
            browser.cookies.set("tds_form", "one-form-token")  # the same token on both pages
            posted = browser.post(
                "/signup",
                data={"email": email, "password": PASSWORD, "csrf_token": "one-form-token"},
            )
            page = browser.get(posted.headers["location"])
        assert posted.status_code == 303, posted.text

        def masked(text: str) -> str:
            return text.replace(email, "EMAIL")

        return (
            posted.status_code,
            posted.headers["location"],
            masked(posted.headers.get("set-cookie", "")),
            posted.content,
            page.status_code,
            masked(page.text),
            masked(page.headers.get("set-cookie", "")),
        )

    existing, new = answer(taken), answer(fresh)
    assert existing == new
    assert new[1] == "/login"
    assert "tds_session" not in new[2]  # signs nobody in
    assert "If EMAIL was new, we sent it a link to confirm the address" in new[5]
    assert "already exists" not in new[5]
    with reading(live.runtime.db) as session:
        after = session.scalars(select(Account).where(Account.email == taken)).one()
        assert (after.password_hash, after.credits) == (before.password_hash, before.credits)
    assert _sign_up_books(live) == (2, FREE)  # the fresh one is not confirmed yet


# -- 4: log-in ----------------------------------------------------------------------------------


def test_the_owner_logs_in_while_others_guess_from_other_addresses(
    make_server: MakeServer,
) -> None:
    live = make_server(trusted_proxies=["127.0.0.1"])  # TDS_LOGIN_RATE_LIMIT: 10/minute
    owner = "owner@studio.example"
    assert _sign_up(live, owner, "192.0.2.1", confirm=True).status_code == 303
    # The review's case: ten wrong log-ins for the owner's email, from ten other addresses.
    for n in range(10):
        assert _log_in(live, owner, "guess", f"198.51.100.{n}").status_code == 401
    # The owner, from an address that never failed for this email, gets in.
    assert _log_in(live, owner, PASSWORD, "192.0.2.44").status_code == 303
    # One guesser: ten failures, then refused (with the right password too)...
    guesses = [_log_in(live, owner, "guess", "203.0.113.66").status_code for _ in range(12)]
    assert guesses == [401] * 10 + [429] * 2
    assert _log_in(live, owner, PASSWORD, "203.0.113.66").status_code == 429
    # ... and the many go on, a failure more each: the owner still gets in.
    for n in range(10):
        assert _log_in(live, owner, "guess", f"198.51.100.{n}").status_code == 401
    assert _log_in(live, owner, PASSWORD, "192.0.2.1").status_code == 303


def test_an_ipv6_guesser_counts_as_its_64(make_server: MakeServer) -> None:
    live = make_server(trusted_proxies=["127.0.0.1"], login_rate_limit="3/minute")
    owner = "owner6@studio.example"
    assert _sign_up(live, owner, "192.0.2.1", confirm=True).status_code == 303
    rotating = [
        _log_in(live, owner, "guess", f"2001:db8:1:2::{n:x}").status_code for n in range(1, 6)
    ]
    assert rotating == [401, 401, 401, 429, 429]  # a fresh address each time, one /64
    assert _log_in(live, owner, PASSWORD, "[2001:db8:1:2:ffff::1]:443").status_code == 429
    assert _log_in(live, owner, PASSWORD, "2001:db8:1:3::1").status_code == 303  # next /64
    mapped = [_log_in(live, owner, "guess", "::ffff:203.0.113.9").status_code for _ in range(3)]
    assert mapped == [401, 401, 401]
    assert _log_in(live, owner, PASSWORD, "203.0.113.9").status_code == 429  # the same IPv4


def test_a_refused_log_in_looks_the_same_for_unknown_emails(make_server: MakeServer) -> None:
    live = make_server(trusted_proxies=["127.0.0.1"], login_rate_limit="2/minute")
    assert _sign_up(live, "known@studio.example", "192.0.2.1").status_code == 303
    pages = {}
    for email in ("known@studio.example", "nobody@studio.example"):
        address = "198.51.100.1" if email.startswith("known") else "198.51.100.2"
        statuses = [_log_in(live, email, "guess", address).status_code for _ in range(3)]
        assert statuses == [401, 401, 429]
        with _browser(live, address) as browser:
            browser.cookies.set("tds_form", "one-form-token")
            refused = browser.post(
                "/login",
                data={"email": email, "password": "guess", "csrf_token": "one-form-token"},
            )
        assert refused.status_code == 429
        pages[email] = re.sub(r"Retry after \d+ s", "", refused.text.replace(email, "EMAIL"))
    assert pages["known@studio.example"] == pages["nobody@studio.example"]


# -- 6: forged API keys --------------------------------------------------------------------------


@contextmanager
def _key_lookups(live: LiveServer) -> Iterator[list[str]]:
    """The statements that read api_keys while the block runs."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *args: Any) -> None:
        if "api_keys" in statement:
            statements.append(statement)

    engines = {live.runtime.db.engine, live.runtime.db.read_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


def _me(live: LiveServer, key: str, address: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"}
    if address:
        headers["X-Forwarded-For"] = address
    with live.client(headers=headers) as client:
        return client.get("/api/v1/me")


def test_forged_keys_get_429_after_the_limit_without_a_database_read(
    make_server: MakeServer,
) -> None:
    # TDS_AUTH_FAILURE_RATE_LIMIT: 30/minute; keys stay cached for the whole test.
    live = make_server(trusted_proxies=["127.0.0.1"], auth_cache_seconds=3600)
    account = live.account()
    assert _me(live, account.key, "203.0.113.66").status_code == 200  # cached from now on
    forged = [tokens.generate() for _ in range(40)]
    assert all(tokens.is_well_formed(key) for key in forged)
    with _key_lookups(live) as lookups:
        answers = [_me(live, key, "203.0.113.66") for key in forged]
    assert [a.status_code for a in answers] == [401] * 30 + [429] * 10
    assert len(lookups) == 30  # none for the ten refused
    refused = assert_error(answers[-1], 429, "rate_limited")
    assert (
        "Too many failed authentications from this address (limit 30/minute)"
        in (refused["message"])
    )
    assert 1 <= int(answers[-1].headers["Retry-After"]) <= 3
    # A key it already used keeps working there; other addresses are not affected.
    assert _me(live, account.key, "203.0.113.66").status_code == 200
    assert_error(_me(live, tokens.generate(), "198.51.100.1"), 401, "invalid_api_key")


def test_wrong_passwords_and_forged_keys_share_one_failure_limit(
    make_server: MakeServer,
) -> None:
    live = make_server(
        trusted_proxies=["127.0.0.1"],
        auth_failure_rate_limit="4/minute",
        login_rate_limit="100/minute",
    )
    assert _sign_up(live, "owner@studio.example", "192.0.2.1", confirm=True).status_code == 303
    for n in range(4):  # four wrong passwords, each for another email
        assert _log_in(live, f"user{n}@studio.example", "guess", "203.0.113.5").status_code == 401
    with _key_lookups(live) as lookups:
        assert_error(_me(live, tokens.generate(), "203.0.113.5"), 429, "rate_limited")
    assert lookups == []
    refused = _log_in(live, "owner@studio.example", PASSWORD, "203.0.113.5")
    assert refused.status_code == 429
    assert "Too many failed authentications from this address" in refused.text
    assert _log_in(live, "owner@studio.example", PASSWORD, "192.0.2.9").status_code == 303
