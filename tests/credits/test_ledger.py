"""The ledger on its own, on SQLite and on PostgreSQL: holds resolve exactly once, the balance
never goes negative, whatever the concurrency."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tds.accounts import service as accounts
from tds.credits import ledger
from tds.exceptions import InsufficientCredits
from tds.kit.db import Database, utcnow
from tests.support.databases import BACKENDS, migrated_database
from tests.support.db import reading, writing


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with migrated_database(request.param, tmp_path) as database:
        yield database


def new_account(db: Database, credits: int) -> str:
    with writing(db) as session:
        account, _ = accounts.ensure(session, f"a{credits}@example.com", credits=credits)
        return account.id


def hold(db: Database, account_id: str, amount: int) -> str:
    with writing(db) as session:
        return ledger.hold(
            session, account_id, amount, expires_at=utcnow() + timedelta(hours=1), render_id="r"
        )


def books(db: Database, account_id: str) -> ledger.Books:
    with reading(db) as session:
        return ledger.books(session, account_id)


def test_hold_capture_release_happen_once(db: Database) -> None:
    account = new_account(db, 50)
    first, second = hold(db, account, 10), hold(db, account, 20)
    assert books(db, account) == ledger.Books(20, 30, 20, 30, 0)
    with writing(db) as session:
        assert ledger.capture(session, first, "r") is True
        assert ledger.capture(session, first, "r") is False  # a retried capture
        assert ledger.release(session, first, "r") is False  # capture then release: no refund
        assert ledger.release(session, second, "r") is True
        assert ledger.release(session, second, "r") is False
        assert ledger.capture(session, second, "r") is False  # release then capture: no charge
    final = books(db, account)
    assert final.balanced
    assert (final.credits, final.credits_held) == (40, 0)


def test_hold_beyond_the_balance_is_refused(db: Database) -> None:
    account = new_account(db, 9)
    with pytest.raises(InsufficientCredits):
        hold(db, account, 10)
    assert books(db, account) == ledger.Books(9, 0, 9, 0, 0)


def test_concurrent_holds_never_overdraw(db: Database) -> None:
    account = new_account(db, 100)

    def attempt(_: int) -> bool:
        try:
            hold(db, account, 7)
        except InsufficientCredits:
            return False
        return True

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(attempt, range(40)))
    assert outcomes.count(True) == 100 // 7
    final = books(db, account)
    assert final.balanced
    assert final.credits == 100 % 7


def test_concurrent_resolution_of_one_hold_pays_out_once(db: Database) -> None:
    account = new_account(db, 100)
    hold_id = hold(db, account, 30)

    def resolve(number: int) -> bool:
        with writing(db) as session:
            if number % 2:
                return ledger.capture(session, hold_id, "r")
            return ledger.release(session, hold_id, "r")

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(resolve, range(16)))
    assert outcomes.count(True) == 1
    final = books(db, account)
    assert final.balanced
    assert final.credits in (70, 100)


def test_ledger_is_append_only(db: Database) -> None:
    account = new_account(db, 10)
    for statement in ("UPDATE ledger_entries SET amount = 1000", "DELETE FROM ledger_entries"):
        with pytest.raises(DBAPIError, match="append-only"), writing(db) as session:
            session.execute(text(statement))
    assert books(db, account).ledger_sum == 10


def test_expired_holds_are_listed_for_the_reaper(db: Database) -> None:
    account = new_account(db, 10)
    with writing(db) as session:
        stale = ledger.hold(
            session, account, 5, expires_at=utcnow() - timedelta(seconds=1), render_id="r"
        )
    hold(db, account, 5)
    with reading(db) as session:
        assert ledger.expired_holds(session, utcnow()) == [stale]


def test_books_catch_a_hold_resolved_twice(db: Database) -> None:
    """The invariant checker itself can fail: forge a second resolution entry."""
    account = new_account(db, 10)
    hold_id = hold(db, account, 5)
    with writing(db) as session:
        ledger.capture(session, hold_id, "r")
        session.execute(
            text(
                "INSERT INTO ledger_entries (account_id, amount, kind, hold_id, note, created_at)"
                " VALUES (:a, 0, 'release', :h, '', '2026-01-01')"
            ),
            {"a": account, "h": hold_id},
        )
    assert not books(db, account).balanced
    assert books(db, account).misresolved_holds == 1
