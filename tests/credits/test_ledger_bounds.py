"""Every credit amount is bounded (issue 15, item 8): a grant of 2**63 - 1 once turned a SQLite
balance into a float and /me into a 500. The ledger refuses it, on SQLite and on PostgreSQL, and
the unit of work that asked leaves the balance and the books as they were."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tds.accounts import service as accounts
from tds.cli import admin
from tds.credits import ledger
from tds.exceptions import InvalidRequest
from tds.kit.db import Database, utcnow
from tests.support.databases import BACKENDS, migrated_database
from tests.support.db import reading, writing

HUGE = 9223372036854775807  # 2**63 - 1, the reproduction's value


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with migrated_database(request.param, tmp_path) as database:
        yield database


def new_account(db: Database, credits: int) -> str:
    with writing(db) as session:
        account, _ = accounts.ensure(session, "a@example.com", credits=credits)
        return account.id


def books(db: Database, account_id: str) -> ledger.Books:
    with reading(db) as session:
        return ledger.books(session, account_id)


def refused_grant(db: Database, account_id: str, amount: Any) -> InvalidRequest:
    """Grant in a unit of work of its own, which must fail (and so roll back)."""
    with pytest.raises(InvalidRequest) as refused, writing(db) as session:
        ledger.grant(session, account_id, amount, note="too much")
    return refused.value


def test_the_bound_fits_every_column_and_the_cli_agrees() -> None:
    assert 0 < ledger.MAX_CREDITS < 2**31 - 1  # PostgreSQL's INTEGER, the narrowest backend
    assert admin.MAX_CREDITS == ledger.MAX_CREDITS


@pytest.mark.parametrize("amount", [HUGE, ledger.MAX_CREDITS + 1])
def test_a_grant_past_the_maximum_changes_nothing(db: Database, amount: int) -> None:
    account = new_account(db, 100)
    before = books(db, account)
    error = refused_grant(db, account, amount)
    assert "maximum" in error.message or f"{ledger.MAX_CREDITS:,}" in error.message
    after = books(db, account)
    assert after == before
    assert after.balanced
    assert (after.credits, after.credits_held) == (100, 0)


def test_a_grant_that_would_overflow_with_held_credits_is_refused(db: Database) -> None:
    account = new_account(db, 100)
    with writing(db) as session:
        ledger.hold(session, account, 40, expires_at=utcnow() + timedelta(hours=1), render_id="r")
    before = books(db, account)
    # 60 available + 40 held: room for MAX - 100 more, not one credit beyond.
    error = refused_grant(db, account, ledger.MAX_CREDITS - 99)
    assert "40 held" in error.message
    assert books(db, account) == before
    with writing(db) as session:
        ledger.grant(session, account, ledger.MAX_CREDITS - 100)
    full = books(db, account)
    assert full.balanced
    assert full.credits + full.credits_held == ledger.MAX_CREDITS
    refused_grant(db, account, 1)
    assert books(db, account) == full


@pytest.mark.parametrize("amount", [0, -1, -HUGE, 1.5, 10.0, True, "5", None])
def test_amounts_that_are_not_positive_ints_are_refused(db: Database, amount: Any) -> None:
    account = new_account(db, 100)
    before = books(db, account)
    refused_grant(db, account, amount)
    if amount != 0:  # a hold of 0 is allowed: it moves nothing
        with pytest.raises(InvalidRequest), writing(db) as session:
            ledger.hold(
                session, account, amount, expires_at=utcnow() + timedelta(hours=1), render_id="r"
            )
    assert books(db, account) == before


def test_a_hold_past_the_maximum_is_refused_not_sent_to_the_database(db: Database) -> None:
    account = new_account(db, 100)
    before = books(db, account)
    with pytest.raises(InvalidRequest), writing(db) as session:
        ledger.hold(session, account, HUGE, expires_at=utcnow() + timedelta(hours=1), render_id="r")
    assert books(db, account) == before


def test_a_refused_grant_rolls_back_the_whole_unit_of_work(db: Database) -> None:
    account = new_account(db, 100)
    with pytest.raises(InvalidRequest), writing(db) as session:  # noqa: PT012 (a unit of work)
        ledger.grant(session, account, 5)  # accepted, then the next one fails
        ledger.grant(session, account, HUGE)
    after = books(db, account)
    assert after.balanced
    assert (after.credits, after.ledger_sum) == (100, 100)


def test_the_largest_grant_works_and_reads_stay_ints(db: Database) -> None:
    account = new_account(db, 0)
    with writing(db) as session:
        ledger.grant(session, account, ledger.MAX_CREDITS)
    with writing(db) as session:
        ledger.hold(session, account, 30, expires_at=utcnow() + timedelta(hours=1), render_id="r")
    with reading(db) as session:
        row = accounts.summary(session, account, account)  # what GET /api/v1/me reads
        balance = accounts.balance(session, account)
    assert type(row.credits) is int
    assert type(row.credits_held) is int
    assert type(balance) is int
    assert (row.credits, row.credits_held) == (ledger.MAX_CREDITS - 30, 30)
    final = books(db, account)
    assert final.balanced
    assert type(final.ledger_sum) is int
    refused_grant(db, account, 1)  # full: not one credit more
    assert books(db, account) == final


def test_a_new_account_with_too_many_credits_is_not_created(db: Database) -> None:
    with pytest.raises(InvalidRequest), writing(db) as session:
        accounts.ensure(session, "big@example.com", credits=ledger.MAX_CREDITS + 1)
    with reading(db) as session:
        assert accounts.find_by_email(session, "big@example.com") is None


def tds(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"TDS_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "tds", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_the_cli_refuses_a_huge_grant_before_writing(tmp_path: Path) -> None:
    created = tds(tmp_path, "admin", "create-key", "--email", "a@example.com", "--credits", "100")
    assert created.returncode == 0, created.stderr
    huge = tds(tmp_path, "admin", "grant", "--email", "a@example.com", "--credits", str(HUGE))
    assert huge.returncode == 2, huge.stderr
    assert "--credits" in huge.stderr
    assert "1000000000" in huge.stderr
    too_many = tds(
        tmp_path, "admin", "create-key", "--email", "b@example.com", "--credits", str(HUGE)
    )
    assert too_many.returncode == 2, too_many.stderr
    # Within the option's range but past the maximum with what is there: the ledger refuses it.
    over = tds(
        tmp_path,
        "admin",
        "grant",
        "--email",
        "a@example.com",
        "--credits",
        str(ledger.MAX_CREDITS),
    )
    assert over.returncode == 1, over.stderr
    assert over.stderr.startswith("error: Granting 1,000,000,000 credits")
    granted = tds(tmp_path, "admin", "grant", "--email", "a@example.com", "--credits", "1")
    assert granted.returncode == 0, granted.stderr
    assert "a@example.com: 101 credits" in granted.stdout
