"""Mail on the dashboard, read from a real SMTP server on loopback: confirming an address at
sign-up (welcome credits only then, once), resetting a forgotten password, changing it, logging
out everywhere; and the outbox folder when no mail server is configured."""

from __future__ import annotations

import logging
import re
import stat
from contextlib import closing
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select, update

from tds.credits import ledger
from tds.kit.db import utcnow
from tds.models import Account, EmailToken, LedgerEntry, WebSession
from tests.support.db import reading, writing
from tests.support.servers import LiveServer
from tests.support.smtp import Mail, SmtpServer, follow_confirmation, outbox, wait_in_outbox

PASSWORD = "a long enough password"
NEW_PASSWORD = "another long password"
LIMITS = {"signup_rate_limit": "1000/hour", "login_rate_limit": "1000/minute"}


@pytest.fixture
def live(make_server, smtp: SmtpServer) -> LiveServer:  # type: ignore[no-untyped-def]
    server: LiveServer = make_server(smtp_url=smtp.url, mail_from="render@studio.example", **LIMITS)
    return server


def _browser(live: LiveServer) -> httpx.Client:
    return httpx.Client(base_url=live.url, headers={"Accept": "text/html"})


def _csrf(response: httpx.Response) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', response.text)
    assert match, response.text
    return match.group(1)


def _sign_up(live: LiveServer, email: str, password: str = PASSWORD) -> httpx.Response:
    with _browser(live) as client:
        form = client.get("/signup")
        return client.post(
            "/signup", data={"email": email, "password": password, "csrf_token": _csrf(form)}
        )


def _log_in(client: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    form = client.get("/login")
    token = _csrf(form) if form.status_code == 200 else client.cookies.get("tds_form", "")
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def _account(live: LiveServer, email: str) -> Account:
    with reading(live.runtime.db) as session:
        return session.scalars(select(Account).where(Account.email == email)).one()


def _grants(live: LiveServer, account_id: str) -> int:
    with reading(live.runtime.db) as session:
        count = session.scalar(
            select(func.count()).where(
                LedgerEntry.account_id == account_id, LedgerEntry.kind == "grant"
            )
        )
        return count or 0


def _sessions(live: LiveServer, account_id: str) -> int:
    with reading(live.runtime.db) as session:
        count = session.scalar(select(func.count()).where(WebSession.account_id == account_id))
        return count or 0


def _forgot(client: httpx.Client, email: str) -> httpx.Response:
    form = client.get("/forgot-password")
    return client.post("/forgot-password", data={"email": email, "csrf_token": _csrf(form)})


def _reset(client: httpx.Client, mail: Mail, password: str = NEW_PASSWORD) -> httpx.Response:
    page = client.get(f"/reset-password?token={mail.token('/reset-password')}")
    assert page.status_code == 200, page.text
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    assert token
    return client.post(
        "/reset-password",
        data={"token": token.group(1), "password": password, "csrf_token": _csrf(page)},
    )


def _post_token(client: httpx.Client, path: str, token: str) -> httpx.Response:
    """POST a link's form straight away (with a double-submit token of the client's own)."""
    client.cookies.set("tds_form", "double-submit")
    return client.post(path, data={"token": token, "csrf_token": "double-submit"})


def _verified_and_logged_in(live: LiveServer, smtp: SmtpServer, email: str) -> httpx.Client:
    assert _sign_up(live, email).status_code == 303
    client = _browser(live)
    assert follow_confirmation(client, smtp.wait_for(email)).status_code == 303
    assert _log_in(client, email).status_code == 303
    return client


def test_sign_up_mails_a_link_and_the_credits_come_once_it_is_confirmed(
    live: LiveServer, smtp: SmtpServer
) -> None:
    email = "new-architect@studio.example"
    answer = _sign_up(live, email)
    assert (answer.status_code, answer.headers["location"]) == (303, "/login")
    mail = smtp.wait_for(email)
    assert mail.subject == "Confirm your email address for tds"
    assert mail.sender == "render@studio.example"
    assert f"{live.url}/verify-email?token=" in mail.text
    account = _account(live, email)
    assert (account.credits, account.email_verified_at, _grants(live, account.id)) == (0, None, 0)
    with reading(live.runtime.db) as session:  # hashed at rest: the token is nowhere
        assert session.get(EmailToken, mail.token("/verify-email")) is None

    with _browser(live) as client:
        refused = _log_in(client, email)
        assert refused.status_code == 403
        assert "not confirmed yet" in refused.text
        assert 'action="/verify-email/resend"' in refused.text
        assert "tds_session" not in client.cookies
        # Opening the link (as a mail scanner would) changes nothing: the page's button does.
        page = client.get(f"/verify-email?token={mail.token('/verify-email')}")
        assert page.status_code == 200
        assert email in page.text
        assert page.headers["cache-control"] == "no-store"
        assert page.headers["referrer-policy"] == "same-origin"
        assert _account(live, email).credits == 0
        confirmed = follow_confirmation(client, mail)
        assert (confirmed.status_code, confirmed.headers["location"]) == (303, "/login")
        assert "Your email address is confirmed" in client.get("/login").text
        assert _log_in(client, email).status_code == 303
        assert "50 credits" in client.get("/account").text

    account = _account(live, email)
    assert account.credits == 50
    assert account.email_verified_at is not None
    with _browser(live) as again:  # the same link twice: refused, nothing more granted
        replay = _post_token(again, "/verify-email", mail.token("/verify-email"))
    assert replay.status_code == 400
    assert "already used" in replay.text
    assert (_account(live, email).credits, _grants(live, account.id)) == (50, 1)


def test_a_second_confirmation_link_grants_nothing_more(live: LiveServer, smtp: SmtpServer) -> None:
    email = "twice@studio.example"
    _sign_up(live, email)
    first = smtp.wait_for(email)
    with _browser(live) as client:
        assert _log_in(client, email).status_code == 403
        form = client.get("/login")
        resent = client.post(
            "/verify-email/resend", data={"email": email, "csrf_token": _csrf(form)}
        )
        assert resent.status_code == 200
        assert "a new confirmation link is on its way" in resent.text
        second = smtp.wait_for(email, 2)
        assert second.token("/verify-email") != first.token("/verify-email")
        assert follow_confirmation(client, second).status_code == 303
        # The first link was used up with the confirmation: refused, nothing granted.
        page = client.get(f"/verify-email?token={first.token('/verify-email')}")
        assert page.status_code == 400
        assert "already used" in page.text
        assert _post_token(client, "/verify-email", first.token("/verify-email")).status_code == 400
    account = _account(live, email)
    assert (account.credits, _grants(live, account.id)) == (50, 1)
    with reading(live.runtime.db) as session:
        assert ledger.books(session, account.id).balanced


def test_bogus_and_expired_links_are_refused_clearly(live: LiveServer, smtp: SmtpServer) -> None:
    email = "slow@studio.example"
    _sign_up(live, email)
    mail = smtp.wait_for(email)
    with _browser(live) as client:
        bogus = client.get("/verify-email?token=not-a-token")
        assert bogus.status_code == 400
        assert "This link is not valid" in bogus.text
        missing = client.get("/reset-password")
        assert missing.status_code == 400
        wrong_kind = client.get(f"/reset-password?token={mail.token('/verify-email')}")
        assert wrong_kind.status_code == 400  # a confirmation link resets no password
        with writing(live.runtime.db) as session:
            session.execute(update(EmailToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        expired = client.get(f"/verify-email?token={mail.token('/verify-email')}")
        assert expired.status_code == 400
        assert "This link has expired" in expired.text
        posted = _post_token(client, "/verify-email", mail.token("/verify-email"))
        assert posted.status_code == 400
    assert _account(live, email).credits == 0


def test_password_reset_ends_every_session_and_works_once(
    live: LiveServer, smtp: SmtpServer
) -> None:
    email = "forgetful@studio.example"
    first = _verified_and_logged_in(live, smtp, email)
    with closing(first), _browser(live) as second:
        assert _log_in(second, email).status_code == 303
        account_id = _account(live, email).id
        assert _sessions(live, account_id) == 2
        asked = _forgot(second, email)
        assert asked.status_code == 200
        mail = smtp.wait_for(email, 2)
        assert mail.subject == "Reset your tds password"
        done = _reset(second, mail)
        assert (done.status_code, done.headers["location"]) == (303, "/login")
        assert _sessions(live, account_id) == 0
        assert first.get("/studio").status_code == 303  # to the log-in page
        assert "Your password is changed" in second.get("/login").text
        assert _log_in(second, email).status_code == 401  # the old one
        assert _log_in(second, email, NEW_PASSWORD).status_code == 303
        replay = second.get(f"/reset-password?token={mail.token('/reset-password')}")
        assert replay.status_code == 400
        assert "already used" in replay.text


def test_asking_for_a_reset_never_tells_whether_an_account_exists(
    live: LiveServer, smtp: SmtpServer
) -> None:
    known = "known@studio.example"
    _verified_and_logged_in(live, smtp, known).close()
    with _browser(live) as client:
        unknown_answer = _forgot(client, "nobody@studio.example")
        known_answer = _forgot(client, known)
    assert unknown_answer.status_code == known_answer.status_code == 200
    assert unknown_answer.text.replace("nobody@", "X@") == known_answer.text.replace("known@", "X@")
    smtp.wait_for(known, 2)  # the reset mail, after the confirmation
    assert smtp.mails_to("nobody@studio.example") == []


def test_a_reset_takes_back_an_account_someone_else_signed_up(
    live: LiveServer, smtp: SmtpServer
) -> None:
    victim = "victim@studio.example"
    _sign_up(live, victim, "the attacker's password")  # never confirmed: cannot log in
    smtp.wait_for(victim)
    again = _sign_up(live, victim, PASSWORD)  # the owner, later: the same answer
    assert (again.status_code, again.headers["location"]) == (303, "/login")
    note = smtp.wait_for(victim, 2)
    assert "already has an account" in note.text
    assert "/verify-email" not in note.text  # no link that would confirm the attacker's account
    with _browser(live) as owner:
        _forgot(owner, victim)
        assert _reset(owner, smtp.wait_for(victim, 3), PASSWORD).status_code == 303
        assert _log_in(owner, victim, "the attacker's password").status_code == 401
        assert _log_in(owner, victim, PASSWORD).status_code == 303
    account = _account(live, victim)
    assert account.email_verified_at is not None
    assert (account.credits, _grants(live, account.id)) == (50, 1)


def test_changing_the_password_ends_the_other_sessions_only(
    live: LiveServer, smtp: SmtpServer
) -> None:
    email = "careful@studio.example"
    this = _verified_and_logged_in(live, smtp, email)
    with closing(this), _browser(live) as other:
        assert _log_in(other, email).status_code == 303
        page = this.get("/account")
        wrong = this.post(
            "/account/password",
            data={
                "current_password": "not it at all",
                "new_password": NEW_PASSWORD,
                "csrf_token": _csrf(page),
            },
        )
        assert wrong.status_code == 400
        assert "The current password is wrong" in wrong.text
        forged = this.post(
            "/account/password",
            data={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        )
        assert forged.status_code == 403  # no CSRF token
        changed = this.post(
            "/account/password",
            data={
                "current_password": PASSWORD,
                "new_password": NEW_PASSWORD,
                "csrf_token": _csrf(page),
            },
        )
        assert changed.status_code == 303
        assert "Your password is changed" in this.get(changed.headers["location"]).text
        assert other.get("/studio").status_code == 303  # logged out
        assert _sessions(live, _account(live, email).id) == 1
    with _browser(live) as fresh:
        assert _log_in(fresh, email).status_code == 401
        assert _log_in(fresh, email, NEW_PASSWORD).status_code == 303


def test_log_out_everywhere_ends_every_session(live: LiveServer, smtp: SmtpServer) -> None:
    email = "everywhere@studio.example"
    this = _verified_and_logged_in(live, smtp, email)
    with closing(this), _browser(live) as other:
        assert _log_in(other, email).status_code == 303
        page = this.get("/account")
        assert "Log out everywhere" in page.text
        assert this.post("/account/sessions/end", data={}).status_code == 403  # no CSRF token
        ended = this.post("/account/sessions/end", data={"csrf_token": _csrf(page)})
        assert (ended.status_code, ended.headers["location"]) == (303, "/login")
        assert this.get("/studio").status_code == 303
        assert other.get("/studio").status_code == 303
    assert _sessions(live, _account(live, email).id) == 0


def test_without_a_mail_server_mail_goes_to_the_log_and_the_data_dir(
    make_server,  # type: ignore[no-untyped-def]
    caplog: pytest.LogCaptureFixture,
) -> None:
    live: LiveServer = make_server(**LIMITS)
    email = "offline@studio.example"
    with caplog.at_level(logging.INFO, logger="tds.mail"):
        with _browser(live) as client:
            form = client.get("/signup")
            client.post(
                "/signup", data={"email": email, "password": PASSWORD, "csrf_token": _csrf(form)}
            )
            login = client.get("/login")
        mail = wait_in_outbox(live.settings.data_dir, email)
    assert "This server has no mail server configured" in login.text
    assert str(live.settings.data_dir / "mail") in login.text
    assert mail.subject == "Confirm your email address for tds"
    assert mail.sender == "tds@localhost"
    [kept] = list((live.settings.data_dir / "mail").glob("*.eml"))
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert any(mail.token("/verify-email") in record.getMessage() for record in caplog.records)
    assert len(outbox(live.settings.data_dir)) == 1
    with _browser(live) as client:
        assert follow_confirmation(client, mail).status_code == 303
        assert _log_in(client, email).status_code == 303
