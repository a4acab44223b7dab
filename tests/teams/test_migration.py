"""The migrations carry a database made by the schema before teams into personal teams: every
account owns its own team, balances, ledgers, holds and keys stay as they were, and the old
keys and accounts go on working."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import select

from tds.credits import ledger
from tds.keys import service as keys
from tds.kit import migrate
from tds.kit.db import Database, utcnow
from tds.models import Account, ApiKey, TeamMember, WebSession
from tests.support.databases import BACKENDS, database_url
from tests.support.db import reading, writing

# The schema before issue 17, and the same with its three placeholder revisions applied (they
# landed empty before their work did).
BEFORE_TEAMS = ("9d4b7e21c3a8", "d3e4f5061723")
MADE = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def _upgrade_to(url: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", "tds:migrations")
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, revision)


def _old_database(url: str) -> None:
    """Two accounts as the old schema held them: one made by an operator with a key, one that
    signed itself up with a password and a dashboard session; grants, a captured render and
    a hold still open."""
    engine = sa.create_engine(url)
    tables = sa.MetaData()
    tables.reflect(engine)
    t = tables.tables
    with engine.begin() as connection:
        connection.execute(
            t["accounts"].insert(),
            [
                {
                    "id": "acc_operator",
                    "email": "op@studio.example",
                    "plan": "pro",
                    "password_hash": None,
                    "credits": 85,
                    "credits_held": 10,
                    "created_at": MADE,
                },
                {
                    "id": "acc_signedup",
                    "email": "self@studio.example",
                    "plan": "free",
                    "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
                    "credits": 50,
                    "credits_held": 0,
                    "created_at": MADE,
                },
            ],
        )
        connection.execute(
            t["holds"].insert(),
            [
                {
                    "id": "hold_spent",
                    "account_id": "acc_operator",
                    "amount": 5,
                    "state": "captured",
                    "created_at": MADE,
                    "expires_at": MADE + timedelta(hours=1),
                    "resolved_at": MADE,
                },
                {
                    "id": "hold_open",
                    "account_id": "acc_operator",
                    "amount": 10,
                    "state": "held",
                    "created_at": MADE,
                    "expires_at": utcnow() + timedelta(days=1),
                    "resolved_at": None,
                },
            ],
        )
        entry = {"hold_id": None, "render_id": None, "note": "", "created_at": MADE}
        connection.execute(
            t["ledger_entries"].insert(),
            [
                entry | {"account_id": "acc_operator", "amount": 100, "kind": "grant"},
                entry
                | {"account_id": "acc_operator", "amount": -5, "kind": "hold"}
                | {"hold_id": "hold_spent", "render_id": "rnd_1"},
                entry
                | {"account_id": "acc_operator", "amount": 0, "kind": "capture"}
                | {"hold_id": "hold_spent", "render_id": "rnd_1"},
                entry
                | {"account_id": "acc_operator", "amount": -10, "kind": "hold"}
                | {"hold_id": "hold_open", "render_id": "rnd_2"},
                entry | {"account_id": "acc_signedup", "amount": 50, "kind": "grant"},
            ],
        )
        connection.execute(
            t["api_keys"].insert(),
            {
                "id": "key_old",
                "account_id": "acc_operator",
                "name": "SketchUp",
                "prefix": "tds_live_",
                "last4": "abcd",
                "digest": hashlib.sha256(b"old key").hexdigest(),
                "created_at": MADE,
                "last_used_at": None,
                "revoked_at": None,
            },
        )
        connection.execute(
            t["web_sessions"].insert(),
            {
                "id": "s" * 64,
                "account_id": "acc_signedup",
                "csrf_token": "c" * 43,
                "created_at": utcnow(),
                "last_seen_at": utcnow(),
                "expires_at": utcnow() + timedelta(days=1),
            },
        )
    engine.dispose()


@pytest.fixture(params=[(b, r) for b in BACKENDS for r in BEFORE_TEAMS], ids=str)
def migrated(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    backend, revision = request.param
    with database_url(backend, tmp_path) as url:
        _upgrade_to(url, revision)
        _old_database(url)
        migrate.upgrade(url)
        database = Database(url)
        try:
            yield database
        finally:
            database.dispose()


def test_accounts_become_personal_teams_with_books_intact(migrated: Database) -> None:
    with reading(migrated) as session:
        members = session.scalars(select(TeamMember).order_by(TeamMember.team_id)).all()
        assert [(m.team_id, m.member_id, m.role, m.monthly_cap) for m in members] == [
            ("acc_operator", "acc_operator", "owner", None),
            ("acc_signedup", "acc_signedup", "owner", None),
        ]
        operator = session.get_one(Account, "acc_operator")
        assert (operator.credits, operator.credits_held) == (85, 10)
        assert ledger.books(session, "acc_operator").balanced
        assert ledger.books(session, "acc_signedup").balanced
        assert session.get_one(Account, "acc_signedup").credits == 50
        # Made before verification existed: they count as verified, so nothing is taken away.
        assert session.get_one(Account, "acc_signedup").email_verified_at is not None
        assert session.get_one(ApiKey, "key_old").member_id == "acc_operator"
        assert session.get_one(WebSession, "s" * 64).team_id is None


def test_old_keys_and_holds_go_on_working(migrated: Database) -> None:
    with reading(migrated) as session:
        principal = keys.lookup(session, hashlib.sha256(b"old key").hexdigest())
    assert principal is not None
    assert (principal.account_id, principal.member_id, principal.role) == (
        "acc_operator",
        "acc_operator",
        "owner",
    )
    with writing(migrated) as session:
        assert ledger.release(session, "hold_open", "rnd_2", note="failed") is True
        new = ledger.hold(
            session,
            "acc_operator",
            20,
            expires_at=utcnow() + timedelta(hours=1),
            render_id="rnd_3",
            member_id="acc_operator",
        )
        assert ledger.capture(session, new, "rnd_3") is True
    with reading(migrated) as session:
        books = ledger.books(session, "acc_operator")
    assert books.balanced
    assert (books.credits, books.credits_held) == (75, 0)
