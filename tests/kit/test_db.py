"""The database helper: one way in (a function that takes the session), reads that see what was
committed and keep nothing, and HotRead answering exactly what SQLAlchemy's own execute does."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import bindparam, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from tds.accounts import service as accounts
from tds.exceptions import NotFound
from tds.kit.db import Database, HotRead
from tds.models import Account, Render
from tests.support.databases import BACKENDS, migrated_database
from tests.support.renders import insert_render


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with migrated_database(request.param, tmp_path) as database:
        yield database


def new_account(session: Session, email: str, credits: int) -> str:
    return accounts.ensure(session, email, plan="pro", credits=credits)[0].id


def credits_of(session: Session, account_id: str) -> int:
    return session.get_one(Account, account_id).credits


def test_a_write_commits_once_and_a_failed_one_leaves_nothing(db: Database) -> None:
    account_id = db.write(new_account, "a@example.com", 7)

    def grant_then_fail(session: Session) -> None:
        session.get_one(Account, account_id).credits = 1000
        session.flush()
        raise NotFound("gone")

    with pytest.raises(NotFound):
        db.write(grant_then_fail)
    assert db.read(credits_of, account_id) == 7
    assert asyncio.run(db.run_read(credits_of, account_id)) == 7


def test_reads_see_each_new_commit_and_keep_no_object_between_them(db: Database) -> None:
    account_id = db.write(new_account, "b@example.com", 1)
    first = db.read(lambda session: session.get_one(Account, account_id))
    db.write(lambda session: setattr(session.get_one(Account, account_id), "credits", 2))
    assert db.read(credits_of, account_id) == 2  # not the identity map's stale 1
    assert first.credits == 1  # what a read returned stays readable, detached


def test_a_read_that_fails_does_not_break_the_next(db: Database) -> None:
    account_id = db.write(new_account, "c@example.com", 3)
    with pytest.raises(DBAPIError, match=r"no_such_table|does not exist"):
        db.read(lambda session: session.connection().exec_driver_sql("SELECT * FROM no_such_table"))
    assert db.read(credits_of, account_id) == 3


HOT = HotRead(
    select(Account.__table__, Account.credits.label("spare")).where(
        Account.id == bindparam("account_id")
    )
)
RENDER = HotRead(select(Render.__table__).where(Render.id == bindparam("render_id")))


def test_hot_read_answers_what_sqlalchemy_does(db: Database) -> None:
    account_id = db.write(new_account, "d@example.com", 5)

    def both(session: Session) -> tuple[object, object]:
        plain = session.connection().execute(HOT.statement, {"account_id": account_id}).first()
        return HOT.first(session, account_id=account_id), plain

    hot, plain = db.read(both)
    assert hot is not None
    assert plain is not None
    assert tuple(hot) == tuple(plain)
    assert hot.created_at.tzinfo is not None  # UtcDateTime's processor ran
    assert hot.spare == hot.credits == 5
    assert db.read(lambda session: HOT.first(session, account_id="acc_nobody")) is None


def test_hot_read_converts_every_column_type_of_a_render(db: Database) -> None:
    """JSON, floats, nullable datetimes and text: the processors that SQLite needs."""
    render_id = db.write(insert_render, db.write(new_account, "e@example.com", 50))

    def both(session: Session) -> tuple[object, object]:
        plain = session.connection().execute(RENDER.statement, {"render_id": render_id}).first()
        return RENDER.first(session, render_id=render_id), plain

    hot, plain = db.read(both)
    assert tuple(hot) == tuple(plain)  # type: ignore[arg-type]
    assert hot.warnings == ["a warning"]  # type: ignore[attr-defined]
    assert hot.geometry_fidelity == 0.7  # type: ignore[attr-defined]
    assert hot.completed_at is None  # type: ignore[attr-defined]
