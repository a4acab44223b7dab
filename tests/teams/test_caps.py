"""Two members spending one team's credits at once, on SQLite and PostgreSQL: the pool never
goes below zero, no member passes their monthly cap, refunds give the cap back within its
month, and the books stay balanced."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from tds.accounts import service as accounts
from tds.credits import ledger
from tds.exceptions import InsufficientCredits, MonthlyCapReached, NotFound
from tds.kit.db import Database, utcnow
from tds.models import Hold, TeamMember
from tds.teams import service as teams
from tests.support.databases import BACKENDS, migrated_database
from tests.support.db import reading, writing

COST = 5


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with migrated_database(request.param, tmp_path) as database:
        yield database


def _team(db: Database, credits: int, caps: dict[str, int | None]) -> tuple[str, dict[str, str]]:
    """A team account with `credits` and one member per name in `caps`, with that cap."""
    with writing(db) as session:
        team, _ = accounts.ensure(session, "owner@studio.example", credits=credits)
        people = {}
        for name, cap in caps.items():
            person, _ = accounts.ensure(session, f"{name}@studio.example", credits=0)
            _, token = teams.invite(session, team.id, team.id, person.email)
            teams.accept(session, token, person.id)
            teams.update_member(
                session, team.id, team.id, person.id, monthly_cap=cap, change_cap=True
            )
            people[name] = person.id
        return team.id, people


def _hold(db: Database, team: str, member: str, amount: int = COST) -> str:
    with writing(db) as session:
        return ledger.hold(
            session,
            team,
            amount,
            expires_at=utcnow() + timedelta(hours=1),
            render_id="rnd",
            member_id=member,
        )


def _member(db: Database, team: str, member: str) -> TeamMember:
    with reading(db) as session:
        return session.get_one(TeamMember, (team, member))


def test_two_members_race_for_one_pool_and_a_cap(db: Database) -> None:
    team, people = _team(db, 100, {"ana": 30, "ben": None})
    # Ana wants 10 renders (her cap allows 6), Ben 20; the pool holds 20 in all.
    askers = ["ana"] * 10 + ["ben"] * 20

    def attempt(name: str) -> str:
        try:
            _hold(db, team, people[name])
        except MonthlyCapReached:
            return "cap"
        except InsufficientCredits:
            return "pool"
        return "held"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(zip(askers, pool.map(attempt, askers), strict=True))
    held = {name: sum(1 for n, o in outcomes if n == name and o == "held") for name in people}
    assert held["ana"] * COST <= 30
    assert sum(held.values()) == 100 // COST  # every credit spent, none twice
    assert not any(n == "ben" and o == "cap" for n, o in outcomes)
    assert _member(db, team, people["ana"]).cap_spent == held["ana"] * COST
    with reading(db) as session:
        books = ledger.books(session, team)
    assert books.balanced
    assert (books.credits, books.credits_held) == (0, 100)


def test_past_the_cap_the_refusal_names_the_teams_cap_and_changes_nothing(db: Database) -> None:
    team, people = _team(db, 100, {"ana": 12})
    _hold(db, team, people["ana"], 10)
    with pytest.raises(MonthlyCapReached) as refused:
        _hold(db, team, people["ana"], 5)
    assert refused.value.code == "monthly_cap_reached"
    assert "monthly cap in this team leaves 2" in refused.value.message
    assert refused.value.extra["cap_left"] == 2
    assert _member(db, team, people["ana"]).cap_spent == 10
    with reading(db) as session:
        assert ledger.books(session, team).credits == 90  # the refused hold took nothing


def test_a_refund_gives_the_cap_back_in_its_month_only(db: Database) -> None:
    team, people = _team(db, 100, {"ana": 20})
    this_month = _hold(db, team, people["ana"], 10)
    last_month = _hold(db, team, people["ana"], 10)
    with writing(db) as session:
        assert ledger.release(session, this_month, "rnd", note="failed") is True
    assert _member(db, team, people["ana"]).cap_spent == 10
    with writing(db) as session:  # held in a month now over: that month's count is gone anyway
        session.execute(
            update(Hold)
            .where(Hold.id == last_month)
            .values(created_at=utcnow() - timedelta(days=40))
        )
    with writing(db) as session:
        assert ledger.release(session, last_month, "rnd", note="failed") is True
    assert _member(db, team, people["ana"]).cap_spent == 10
    with reading(db) as session:
        books = ledger.books(session, team)
    assert books.balanced
    assert books.credits == 100


def test_a_new_month_starts_the_cap_from_zero(db: Database) -> None:
    team, people = _team(db, 100, {"ana": 10})
    _hold(db, team, people["ana"], 10)
    with writing(db) as session:
        session.execute(
            update(TeamMember)
            .where(TeamMember.member_id == people["ana"])
            .values(cap_period="2020-01")
        )
    _hold(db, team, people["ana"], 10)
    row = _member(db, team, people["ana"])
    assert (row.cap_spent, row.cap_period) == (10, f"{utcnow():%Y-%m}")


def test_someone_no_longer_in_the_team_cannot_hold_its_credits(db: Database) -> None:
    team, people = _team(db, 100, {"ana": None})
    with writing(db) as session:
        teams.remove_member(session, team, team, people["ana"])
    with pytest.raises(NotFound):
        _hold(db, team, people["ana"])
    with reading(db) as session:
        assert ledger.books(session, team).credits == 100
