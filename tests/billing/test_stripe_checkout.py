"""Buying credits through Stripe Checkout, against a loopback fake of Stripe's API: a pack is
granted exactly once, whatever Stripe (or anyone else) sends the webhook."""

from __future__ import annotations

import base64
import concurrent.futures
import json
import logging
import re
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from tds.accounts import passwords
from tds.billing import packs
from tds.keys import service as keys
from tds.models import Account as AccountRow
from tds.models import CreditPurchase, LedgerEntry, StripeEvent, WebSession
from tds.teams import service as teams
from tests.support import fake_stripe
from tests.support.accounts import Account
from tests.support.databases import database_settings
from tests.support.db import reading, writing
from tests.support.fake_stripe import FakeStripe
from tests.support.http import assert_error
from tests.support.images import png_bytes
from tests.support.servers import LiveServer, make_settings

WEBHOOK = "/api/v1/billing/stripe/webhook"
PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def stripe() -> Iterator[FakeStripe]:
    with FakeStripe() as fake:
        yield fake


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, stripe: FakeStripe) -> Iterator[LiveServer]:
    """A server that sells credits, its Stripe being the fake."""
    folder = tmp_path_factory.mktemp("tds-shop")
    with ExitStack() as stack:
        settings = database_settings(stack, folder)
        yield stack.enter_context(
            LiveServer(
                make_settings(
                    folder,
                    **settings,
                    stripe_secret_key=fake_stripe.KEY,
                    stripe_webhook_secret=fake_stripe.WEBHOOK_SECRET,
                    stripe_api_base=stripe.url,
                    login_rate_limit="1000/minute",
                )
            )
        )


def member_of(server: LiveServer, team: Account, role: str) -> Account:
    """A person in `team` with `role`, with a key for the team (spending its credits)."""
    person = server.account(credits=0)
    with writing(server.runtime.db) as session:
        _, token = teams.invite(session, team.id, team.id, person.email, role)
        teams.accept(session, token, person.id)
        key, secret = keys.create(
            session, team.id, f"{role} key", server.runtime.key_secret, member_id=person.id
        )
    return Account(person.id, person.email, secret, key.id)


def buy(server: LiveServer, account: Account, pack: str = "starter") -> dict[str, Any]:
    with server.client(account) as client:
        answer = client.post("/api/v1/billing/checkout", json={"pack": pack})
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def deliver(
    server: LiveServer,
    event: dict[str, Any],
    *,
    secret: str = fake_stripe.WEBHOOK_SECRET,
    timestamp: int | None = None,
    signature: str | None = None,
) -> httpx.Response:
    payload = json.dumps(event).encode()
    header = signature if signature is not None else fake_stripe.sign(payload, secret, timestamp)
    with httpx.Client(base_url=server.url) as client:
        return client.post(
            WEBHOOK,
            content=payload,
            headers={"Stripe-Signature": header, "Content-Type": "application/json"},
        )


def purchase_grants(server: LiveServer, account: Account) -> list[int]:
    with reading(server.runtime.db) as session:
        return list(
            session.scalars(
                select(LedgerEntry.amount).where(
                    LedgerEntry.account_id == account.id, LedgerEntry.source == "purchase"
                )
            )
        )


def test_checkout_creates_a_stripe_session_for_the_pack(
    shop: LiveServer, stripe: FakeStripe
) -> None:
    owner = shop.account(credits=0)
    started = buy(shop, owner, "studio")
    assert started["object"] == "checkout"
    assert started["url"] == f"{stripe.url}/c/pay/{started['id']}"
    assert started["pack"]["credits"] == 1000
    sent = next(
        c
        for c in stripe.calls
        if c.path == "/v1/checkout/sessions" and c.params.get("client_reference_id") == owner.id
    )
    assert sent.headers["authorization"] == f"Bearer {fake_stripe.KEY}"
    assert sent.headers["idempotency-key"].startswith("pur_")
    params = sent.params
    assert params["mode"] == "payment"
    item = params["line_items"][0]
    assert item["quantity"] == "1"
    assert item["price_data"]["unit_amount"] == "7900"
    assert item["price_data"]["currency"] == "usd"
    assert item["price_data"]["product_data"]["name"].startswith("Studio")
    assert params["success_url"] == f"{shop.url}/credits/success?session_id={{CHECKOUT_SESSION_ID}}"
    assert params["cancel_url"] == f"{shop.url}/credits/cancel"
    assert params["metadata"]["tds_account_id"] == owner.id
    assert params["metadata"]["tds_member_id"] == owner.id
    assert params["metadata"]["tds_pack_id"] == "studio"
    with reading(shop.runtime.db) as session:
        row = session.scalars(
            select(CreditPurchase).where(CreditPurchase.checkout_session_id == started["id"])
        ).one()
    assert (row.account_id, row.credits, row.amount, row.currency) == (owner.id, 1000, 7900, "usd")
    assert row.granted_at is None
    assert shop.books(owner).credits == 0  # nothing before Stripe says it is paid


def test_a_paid_session_is_granted_once_and_a_replay_grants_nothing(
    shop: LiveServer, stripe: FakeStripe
) -> None:
    owner = shop.account(credits=5)
    started = buy(shop, owner)
    event = fake_stripe.event(stripe.pay(started["id"]))
    answer = deliver(shop, event)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"received": True, "outcome": "granted"}
    assert shop.books(owner).credits == 205
    # Stripe delivers at least once: the same event again, and again.
    for _ in range(2):
        again = deliver(shop, event)
        assert again.status_code == 200
        assert again.json()["outcome"] == "replayed"
    assert purchase_grants(shop, owner) == [200]
    assert shop.assert_books_balanced(owner).credits == 205
    with reading(shop.runtime.db) as session:
        entry = session.scalars(
            select(LedgerEntry).where(
                LedgerEntry.account_id == owner.id, LedgerEntry.source == "purchase"
            )
        ).one()
        recorded = session.get_one(StripeEvent, event["id"])
    assert entry.member_id == owner.id
    assert entry.kind == "grant"
    assert started["id"] in entry.note
    assert recorded.outcome == "granted"


def test_a_second_event_for_the_same_session_grants_nothing(
    shop: LiveServer, stripe: FakeStripe
) -> None:
    owner = shop.account(credits=0)
    started = buy(shop, owner)
    paid = stripe.pay(started["id"])
    assert deliver(shop, fake_stripe.event(paid)).json()["outcome"] == "granted"
    later = fake_stripe.event(paid, "checkout.session.async_payment_succeeded")
    answer = deliver(shop, later)
    assert answer.status_code == 200
    assert answer.json()["outcome"] == "already_granted"
    assert purchase_grants(shop, owner) == [200]
    shop.assert_books_balanced(owner)


def test_an_invalid_signature_is_400_and_grants_nothing(
    shop: LiveServer, stripe: FakeStripe
) -> None:
    owner = shop.account(credits=0)
    started = buy(shop, owner)
    event = fake_stripe.event(stripe.pay(started["id"]))
    wrong_secret = deliver(shop, event, secret="whsec_someone_elses_secret")
    error = assert_error(wrong_secret, 400, "invalid_request")
    assert "Stripe-Signature" in error["message"]
    assert_error(deliver(shop, event, signature=""), 400, "invalid_request")
    assert_error(deliver(shop, event, signature="t=1,v1=00"), 400, "invalid_request")
    # A signature made for another body does not cover this one.
    other = fake_stripe.sign(b'{"id": "evt_other"}')
    assert_error(deliver(shop, event, signature=other), 400, "invalid_request")
    # A stale signature (past the 300 s tolerance) is refused, however right its HMAC.
    stale = deliver(shop, event, timestamp=int(time.time()) - 3600)
    assert "tolerance" in assert_error(stale, 400, "invalid_request")["message"]
    assert purchase_grants(shop, owner) == []
    with reading(shop.runtime.db) as session:
        assert session.get(StripeEvent, event["id"]) is None
    # The genuine delivery still works afterwards.
    assert deliver(shop, event).json()["outcome"] == "granted"
    shop.assert_books_balanced(owner)


def test_an_unpaid_session_grants_nothing_until_it_is_paid(
    shop: LiveServer, stripe: FakeStripe
) -> None:
    owner = shop.account(credits=0)
    started = buy(shop, owner)
    # A payment method that settles later: complete, still unpaid.
    unpaid = deliver(shop, fake_stripe.event(stripe.complete_unpaid(started["id"])))
    assert unpaid.status_code == 200
    assert unpaid.json()["outcome"] == "not_paid"
    assert purchase_grants(shop, owner) == []
    # An event that says "paid" is not believed: Stripe's own session is asked.
    forged = stripe.session(started["id"]) | {"payment_status": "paid"}
    assert deliver(shop, fake_stripe.event(forged)).json()["outcome"] == "not_paid"
    assert purchase_grants(shop, owner) == []
    settled = fake_stripe.event(
        stripe.pay(started["id"]), "checkout.session.async_payment_succeeded"
    )
    assert deliver(shop, settled).json()["outcome"] == "granted"
    assert purchase_grants(shop, owner) == [200]
    shop.assert_books_balanced(owner)


def test_sessions_tds_did_not_create_and_other_events_are_ignored(shop: LiveServer) -> None:
    stranger = {"id": "cs_test_not_ours", "object": "checkout.session", "payment_status": "paid"}
    answer = deliver(shop, fake_stripe.event(stranger))
    assert answer.status_code == 200
    assert answer.json()["outcome"] == "unknown_session"
    other = fake_stripe.event(
        {"id": "pi_123", "object": "payment_intent"}, "payment_intent.created"
    )
    assert deliver(shop, other).json()["outcome"] == "ignored"


def test_duplicate_deliveries_racing_grant_once(shop: LiveServer, stripe: FakeStripe) -> None:
    owner = shop.account(credits=0)
    started = buy(shop, owner)
    paid = stripe.pay(started["id"])
    events = [fake_stripe.event(paid)] * 3 + [
        fake_stripe.event(paid, "checkout.session.async_payment_succeeded") for _ in range(3)
    ]
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda e: deliver(shop, e), events))
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    outcomes = sorted(a.json()["outcome"] for a in answers)
    assert outcomes.count("granted") == 1, outcomes
    assert purchase_grants(shop, owner) == [200]
    shop.assert_books_balanced(owner)


def test_members_cannot_buy_but_admins_can(shop: LiveServer, stripe: FakeStripe) -> None:
    owner = shop.account(credits=0)
    admin = member_of(shop, owner, "admin")
    member = member_of(shop, owner, "member")
    before = len(stripe.calls)
    with shop.client(member) as client:
        refused = client.post("/api/v1/billing/checkout", json={"pack": "starter"})
    assert_error(refused, 403, "forbidden")
    assert len(stripe.calls) == before  # Stripe was never asked
    started = buy(shop, admin)
    assert deliver(shop, fake_stripe.event(stripe.pay(started["id"]))).json()["outcome"] == (
        "granted"
    )
    books = shop.assert_books_balanced(owner)  # the team's credits
    assert books.credits == 200
    with reading(shop.runtime.db) as session:
        row = session.scalars(
            select(CreditPurchase).where(CreditPurchase.checkout_session_id == started["id"])
        ).one()
        buyer = session.scalar(
            select(LedgerEntry.member_id).where(
                LedgerEntry.account_id == owner.id, LedgerEntry.source == "purchase"
            )
        )
    assert (row.account_id, row.member_id, buyer) == (owner.id, admin.id, admin.id)


def test_unknown_pack_and_packs_list(shop: LiveServer) -> None:
    owner = shop.account(credits=0)
    with shop.client(owner) as client:
        error = assert_error(
            client.post("/api/v1/billing/checkout", json={"pack": "nope"}), 400, "invalid_request"
        )
        listed = client.get("/api/v1/billing/packs").json()
    assert error["param"] == "pack"
    assert listed["selling"] is True
    assert [p["id"] for p in listed["data"]] == ["starter", "studio", "practice"]


def test_a_stripe_refusal_is_502_and_records_nothing(make_server: Any, stripe: FakeStripe) -> None:
    wrong_key = make_server(
        stripe_secret_key="sk_test_wrong000000000000",
        stripe_webhook_secret=fake_stripe.WEBHOOK_SECRET,
        stripe_api_base=stripe.url,
    )
    owner = wrong_key.account(credits=0)
    with wrong_key.client(owner) as client:
        error = assert_error(
            client.post("/api/v1/billing/checkout", json={"pack": "starter"}),
            502,
            "payment_provider_failed",
        )
    assert "sk_test_wrong" not in error["message"]
    with reading(wrong_key.runtime.db) as session:
        assert session.scalar(select(func.count()).select_from(CreditPurchase)) == 0


# --- without Stripe settings: credits come from the administrator ---


def test_without_stripe_nothing_is_sold(server: LiveServer) -> None:
    owner = server.account(credits=0)
    with server.client(owner) as client:
        listed = client.get("/api/v1/billing/packs").json()
        refused = client.post("/api/v1/billing/checkout", json={"pack": "starter"})
    assert listed == {"object": "list", "selling": False, "data": []}
    assert "ask your administrator" in assert_error(refused, 404, "not_found")["message"]
    payload = b'{"id": "evt_1", "type": "checkout.session.completed"}'
    with httpx.Client(base_url=server.url) as client:
        webhook = client.post(WEBHOOK, content=payload, headers={"Stripe-Signature": "t=1,v1=0"})
    assert_error(webhook, 404, "not_found")


def _render(server: LiveServer, account: Account) -> dict[str, Any]:
    with server.client(account) as client:
        answer = client.post(
            "/api/v1/renders",
            json={"image_base64": base64.b64encode(png_bytes()).decode(), "resolution": "2k"},
        )
    return assert_error(answer, 402, "insufficient_credits")


def test_402_says_buy_credits_where_stripe_is_configured(shop: LiveServer) -> None:
    poor = shop.account(credits=1)
    error = _render(shop, poor)
    assert f"Buy credits at {shop.url}/credits" in error["message"]
    assert "administrator" not in error["message"]
    assert error["credits"] == 1
    assert error["cost"] == 10
    shop.assert_books_balanced(poor)


def test_402_says_ask_your_administrator_without_stripe(server: LiveServer) -> None:
    poor = server.account(credits=1)
    error = _render(server, poor)
    assert "Ask your administrator for credits" in error["message"]
    assert "Buy" not in error["message"]
    assert error["message"].startswith("This costs 10 credits and the account has 1 available.")
    assert (error["credits"], error["cost"]) == (1, 10)
    server.assert_books_balanced(poor)


# --- the dashboard ---


def _token(response: httpx.Response) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', response.text)
    assert match, response.text
    return match.group(1)


@contextmanager
def browser_for(server: LiveServer, account: Account) -> Iterator[httpx.Client]:
    """A signed-in browser for `account` (given a password here), in the team its last
    accepted invitation chose."""
    with writing(server.runtime.db) as session:
        row = session.get_one(AccountRow, account.id)
        row.password_hash = passwords.hash_password(PASSWORD)
    with httpx.Client(base_url=server.url, headers={"Accept": "text/html"}) as client:
        form = client.get("/login")
        answer = client.post(
            "/login",
            data={"email": account.email, "password": PASSWORD, "csrf_token": _token(form)},
        )
        assert answer.status_code == 303, answer.text
        yield client


def test_dashboard_buy_redirects_to_stripe_and_success_grants(
    shop: LiveServer, stripe: FakeStripe
) -> None:
    owner = shop.account(credits=0)
    with browser_for(shop, owner) as browser:
        page = browser.get("/credits")
        assert page.status_code == 200
        assert 'data-testid="pack-starter"' in page.text
        assert "Buy" in page.text
        assert "ask your administrator" not in page.text
        refused = browser.post("/credits/checkout", data={"pack": "starter"})
        assert refused.status_code == 403  # no CSRF token
        answer = browser.post(
            "/credits/checkout", data={"pack": "starter", "csrf_token": _token(page)}
        )
        assert answer.status_code == 303
        location = answer.headers["location"]
        session_id = location.rsplit("/", 1)[1]
        assert location == f"{stripe.url}/c/pay/{session_id}"
        stripe.pay(session_id)
        # Stripe sends the buyer back; the page fulfils at once (and the webhook finds it done).
        back = browser.get(f"/credits/success?session_id={session_id}")
        assert back.status_code == 200
        assert "the credits are in the team" in back.text
        assert "200 credits" in back.text
        event = fake_stripe.event(stripe.session(session_id))
        assert deliver(shop, event).json()["outcome"] == "already_granted"
        assert (
            "the credits are in the team"
            in browser.get(f"/credits/success?session_id={session_id}").text
        )
        assert "canceled" in browser.get("/credits/cancel").text
        assert "added" in browser.get("/credits").text
    assert purchase_grants(shop, owner) == [200]
    shop.assert_books_balanced(owner)


def test_dashboard_success_page_does_not_grant_another_teams_session(
    shop: LiveServer, stripe: FakeStripe
) -> None:
    owner = shop.account(credits=0)
    started = buy(shop, owner)
    stripe.pay(started["id"])
    someone = shop.account(credits=0)
    with browser_for(shop, someone) as browser:
        page = browser.get(f"/credits/success?session_id={started['id']}")
    assert "not confirmed" in page.text
    assert purchase_grants(shop, owner) == purchase_grants(shop, someone) == []


def test_dashboard_members_see_no_buy_button_and_cannot_buy(
    shop: LiveServer, stripe: FakeStripe
) -> None:
    owner = shop.account(credits=0)
    member = member_of(shop, owner, "member")
    with browser_for(shop, member) as browser:
        with writing(shop.runtime.db) as session:  # working in the team, as after joining it
            session.execute(
                update(WebSession)
                .where(WebSession.account_id == member.id)
                .values(team_id=owner.id)
            )
        page = browser.get("/credits")
        assert 'data-testid="ask-owner"' in page.text
        assert '<button type="submit">Buy</button>' not in page.text
        before = len(stripe.calls)
        answer = browser.post(
            "/credits/checkout", data={"pack": "starter", "csrf_token": _token(page)}
        )
        assert answer.status_code == 403
        assert len(stripe.calls) == before


def test_dashboard_without_stripe_says_ask_your_administrator(server: LiveServer) -> None:
    owner = server.account(credits=0)
    with browser_for(server, owner) as browser:
        page = browser.get("/credits")
        assert page.status_code == 200
        assert "ask your administrator" in page.text
        assert '<button type="submit">Buy</button>' not in page.text
        assert 'href="/credits"' in page.text  # the nav link


# --- packs as data ---


def test_packs_come_from_the_file_named_by_the_setting(tmp_path: Path) -> None:
    assert [p.id for p in packs.load()] == ["starter", "studio", "practice"]
    mine = tmp_path / "packs.toml"
    mine.write_text(
        '[[pack]]\nid = "big"\nname = "Big"\ncredits = 100000\nprice = 500000\ncurrency = "EUR"\n'
    )
    (big,) = packs.load(mine)
    assert (big.id, big.credits, big.price, big.currency) == ("big", 100000, 500000, "eur")
    assert big.price_label == "5,000.00 EUR"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[[pack]\n", "credit packs file"),
        ('[[pack]]\nid = "a"\nname = "A"\ncredits = 0\nprice = 1\ncurrency = "usd"\n', "credits"),
        ('[[pack]]\nid = "a"\nname = "A"\ncredits = 5\nprice = 1.5\ncurrency = "usd"\n', "price"),
        (
            '[[pack]]\nid = "a"\nname = "A"\ncredits = 5\nprice = 1\ncurrency = "dollars"\n',
            "currency",
        ),
        (
            '[[pack]]\nid = "a"\nname = "A"\ncredits = 5\nprice = 1\ncurrency = "usd"\nextra = 1\n',
            "unknown",
        ),
        (
            '[[pack]]\nid = "a"\nname = "A"\ncredits = 5\nprice = 1\ncurrency = "usd"\n' * 2,
            "unique",
        ),
    ],
)
def test_a_broken_packs_file_is_refused(tmp_path: Path, text: str, problem: str) -> None:
    broken = tmp_path / "packs.toml"
    broken.write_text(text)
    with pytest.raises(ValueError, match=problem):
        packs.load(broken)


def test_a_broken_packs_file_sells_nothing(
    make_server: Any, stripe: FakeStripe, tmp_path: Path
) -> None:
    broken = tmp_path / "packs.toml"
    broken.write_text('[[pack]]\nid = "a"\n')
    live = make_server(
        stripe_secret_key=fake_stripe.KEY,
        stripe_webhook_secret=fake_stripe.WEBHOOK_SECRET,
        stripe_api_base=stripe.url,
        credit_packs_file=broken,
    )
    owner = live.account(credits=0)
    with live.client(owner) as client:
        assert_error(
            client.post("/api/v1/billing/checkout", json={"pack": "a"}), 500, "internal_error"
        )


def test_stripe_secrets_stay_out_of_settings_text_and_logs(
    shop: LiveServer, stripe: FakeStripe, caplog: pytest.LogCaptureFixture
) -> None:
    settings = shop.settings
    for text in (repr(settings), str(settings), str(settings.model_dump())):
        assert fake_stripe.KEY not in text
        assert fake_stripe.WEBHOOK_SECRET not in text
    owner = shop.account(credits=0)
    with caplog.at_level(logging.DEBUG):
        started = buy(shop, owner)
        deliver(shop, fake_stripe.event(stripe.pay(started["id"])))
        deliver(shop, fake_stripe.event(stripe.session(started["id"])), secret="whsec_wrong")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert fake_stripe.KEY not in logged
    assert fake_stripe.WEBHOOK_SECRET not in logged
