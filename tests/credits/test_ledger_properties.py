"""A Hypothesis state machine over the ledger: grants, holds, captures, releases, retries,
expiries and reaping in any order keep the books exact."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from tds.accounts import service as accounts
from tds.credits import ledger
from tds.exceptions import InsufficientCredits
from tds.kit import migrate
from tds.kit.db import Database, utcnow
from tests.support.db import reading, writing


class LedgerMachine(RuleBasedStateMachine):
    holds = Bundle("holds")

    def __init__(self) -> None:
        super().__init__()
        self.folder = tempfile.TemporaryDirectory()
        url = f"sqlite:///{Path(self.folder.name) / 'ledger.db'}"
        migrate.upgrade(url)
        self.db = Database(url)
        with writing(self.db) as session:
            self.account = accounts.ensure(session, "machine@example.com", credits=0)[0].id
        # The model: what the books must say.
        self.available = 0
        self.spent = 0
        self.granted = 0
        self.open: dict[str, int] = {}

    def teardown(self) -> None:
        self.db.dispose()
        self.folder.cleanup()

    @rule(amount=st.integers(min_value=1, max_value=50))
    def grant(self, amount: int) -> None:
        with writing(self.db) as session:
            ledger.grant(session, self.account, amount)
        self.available += amount
        self.granted += amount

    @rule(target=holds, amount=st.integers(min_value=0, max_value=40), stale=st.booleans())
    def hold(self, amount: int, stale: bool) -> str:
        expires = utcnow() + (timedelta(seconds=-1) if stale else timedelta(hours=1))
        try:
            with writing(self.db) as session:
                hold_id = ledger.hold(
                    session, self.account, amount, expires_at=expires, render_id="r"
                )
        except InsufficientCredits:
            assert amount > self.available
            return "refused"
        assert amount <= self.available
        self.available -= amount
        self.open[hold_id] = amount
        return hold_id

    @rule(hold_id=holds)
    def capture(self, hold_id: str) -> None:
        with writing(self.db) as session:
            captured = ledger.capture(session, hold_id, "r")
        assert captured == (hold_id in self.open)
        if captured:
            self.spent += self.open.pop(hold_id)

    @rule(hold_id=holds)
    def release(self, hold_id: str) -> None:
        with writing(self.db) as session:
            released = ledger.release(session, hold_id, "r")
        assert released == (hold_id in self.open)
        if released:
            self.available += self.open.pop(hold_id)

    @rule()
    def reap(self) -> None:
        """What the reaper does with expired holds: release each, exactly once."""
        with writing(self.db) as session:
            for hold_id in ledger.expired_holds(session, utcnow()):
                assert ledger.release(session, hold_id, "r", note="expired")
                self.available += self.open.pop(hold_id)

    @invariant()
    def books_match_the_model(self) -> None:
        with reading(self.db) as session:
            books = ledger.books(session, self.account)
        assert books.balanced, books
        assert books.credits == self.available
        assert books.credits_held == sum(self.open.values())
        assert self.available + sum(self.open.values()) + self.spent == self.granted


LedgerMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestLedgerMachine = LedgerMachine.TestCase
