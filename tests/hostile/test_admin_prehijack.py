"""Security review, issue 15, item 1: account pre-hijacking.

Until its owner follows the emailed confirmation link, a dashboard sign-up may be an attacker's,
made as victim@… before the victim's studio asks the operator for a key. `tds admin
create-key/grant/set-plan` must then refuse that account (exit 1, nothing changed) unless the
operator passes --existing; once the address is confirmed, the account is its owner's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from tds.credits import ledger
from tds.models import Account, ApiKey, LedgerEntry
from tests.cli.test_admin import tds
from tests.support.db import reading
from tests.support.servers import LiveServer, make_settings
from tests.support.smtp import confirm_from_outbox

VICTIM = "victim@studio.example"
PASSWORD = "the attacker's own password"
REASONS = ("signed itself up", "not confirmed its email", "anyone could have made", "--existing")


def _sign_up(live: LiveServer, email: str) -> str:
    """Sign up on the dashboard as anyone can (the attacker); the new account's id."""
    with httpx.Client(base_url=live.url, headers={"Accept": "text/html"}) as browser:
        form = browser.get("/signup")
        match = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert match, form.text
        answer = browser.post(
            "/signup", data={"email": email, "password": PASSWORD, "csrf_token": match.group(1)}
        )
        assert answer.status_code == 303, answer.text
    with reading(live.runtime.db) as session:
        account_id: str = session.scalars(select(Account.id).where(Account.email == email)).one()
    return account_id


def _state(live: LiveServer, account_id: str) -> tuple[str, int, int, int, int]:
    """Plan, credits, credits held, ledger entries and API keys of the account."""
    with reading(live.runtime.db) as session:
        account = session.get_one(Account, account_id)
        entries = session.scalar(select(func.count()).where(LedgerEntry.account_id == account_id))
        keys = session.scalar(select(func.count()).where(ApiKey.account_id == account_id))
        return account.plan, account.credits, account.credits_held, entries or 0, keys or 0


def _books(live: LiveServer, account_id: str) -> ledger.Books:
    with reading(live.runtime.db) as session:
        return ledger.books(session, account_id)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    """A server on `tmp_path`, the data dir `tds admin` works on too."""
    with LiveServer(make_settings(tmp_path, signup="open")) as server:
        yield server


@pytest.mark.parametrize(
    "command",
    [
        ["create-key", "--email", VICTIM],
        ["create-key", "--email", VICTIM, "--credits", "500", "--plan", "studio"],
        ["create-key", "--email", "Victim@Studio.example", "--name", "SketchUp"],
        ["grant", "--email", VICTIM, "--credits", "500"],
        ["set-plan", "--email", VICTIM, "--plan", "studio"],
    ],
)
def test_admin_commands_refuse_a_self_signed_up_account(
    live: LiveServer, tmp_path: Path, command: list[str]
) -> None:
    account_id = _sign_up(live, VICTIM)
    before = _state(live, account_id)
    assert before == ("free", 0, 0, 0, 0)  # unconfirmed: no welcome credits yet, no key

    refused = tds(tmp_path, "admin", *command)

    assert refused.returncode == 1, refused
    assert refused.stdout == ""  # no key printed
    for reason in REASONS:
        assert reason in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr
    assert _state(live, account_id) == before  # no key, no credits, no plan change
    assert _books(live, account_id).balanced


def test_existing_lets_the_operator_vouch_for_the_account(live: LiveServer, tmp_path: Path) -> None:
    account_id = _sign_up(live, VICTIM)
    created = tds(
        tmp_path, "admin", "create-key", "--email", VICTIM, "--credits", "5", "--existing"
    )
    assert created.returncode == 0, created.stderr
    assert "found account" in created.stderr
    key = created.stdout.strip()
    granted = tds(tmp_path, "admin", "grant", "--email", VICTIM, "--credits", "7", "--existing")
    assert granted.returncode == 0, granted.stderr
    moved = tds(tmp_path, "admin", "set-plan", "--email", VICTIM, "--plan", "pro", "--existing")
    assert moved.returncode == 0, moved.stderr

    with httpx.Client(base_url=live.url) as client:
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"}).json()
    assert (me["id"], me["email"], me["credits"], me["plan"]["id"]) == (
        account_id,
        VICTIM,
        12,
        "pro",
    )
    assert _state(live, account_id) == ("pro", 12, 0, 2, 1)
    assert _books(live, account_id).balanced


def test_a_confirmed_sign_up_needs_no_flag(live: LiveServer, tmp_path: Path) -> None:
    account_id = _sign_up(live, VICTIM)
    confirm_from_outbox(live, VICTIM)  # its owner followed the link: the address is theirs
    granted = tds(tmp_path, "admin", "grant", "--email", VICTIM, "--credits", "7")
    assert granted.returncode == 0, granted.stderr
    assert _state(live, account_id) == ("free", 57, 0, 2, 0)  # welcome credits, then the grant
    assert _books(live, account_id).balanced


def test_accounts_the_operator_made_need_no_flag(live: LiveServer, tmp_path: Path) -> None:
    """An account created by `tds admin` has no password: nobody else can have made it."""
    created = tds(tmp_path, "admin", "create-key", "--email", "made@studio.example")
    assert created.returncode == 0, created.stderr
    for command in (
        ["create-key", "--email", "made@studio.example", "--credits", "5"],
        ["grant", "--email", "made@studio.example", "--credits", "5"],
        ["set-plan", "--email", "made@studio.example", "--plan", "pro"],
    ):
        again = tds(tmp_path, "admin", *command)
        assert again.returncode == 0, again.stderr
    with reading(live.runtime.db) as session:
        account_id = session.scalars(
            select(Account.id).where(Account.email == "made@studio.example")
        ).one()
    assert _state(live, account_id) == ("pro", 60, 0, 3, 2)
    assert _books(live, account_id).balanced


def test_serve_demo_refuses_a_self_signed_up_demo_account(live: LiveServer, tmp_path: Path) -> None:
    account_id = _sign_up(live, "demo@tds.local")
    before = _state(live, account_id)
    served = tds(tmp_path, "serve", "--demo", "--port", "1")  # exits before it would listen
    assert served.returncode == 2, served.stderr
    assert "Traceback" not in served.stderr
    assert "signed itself up" in served.stderr
    assert "without --demo" in served.stderr
    assert not (tmp_path / "demo-key.txt").exists()
    assert _state(live, account_id) == before
