"""Teams for tests: people joined to another account's team through the same services the
API uses, each with a key of their own for it."""

from __future__ import annotations

from dataclasses import dataclass

from tds.keys import service as keys
from tds.teams import service as teams
from tests.support.accounts import Account
from tests.support.db import writing
from tests.support.servers import LiveServer


@dataclass(frozen=True)
class Team:
    owner: Account
    admin: Account
    member: Account
    outsider: Account  # an account of its own, in no way part of the team

    def by_role(self, role: str) -> Account:
        return {"owner": self.owner, "admin": self.admin, "member": self.member}.get(
            role, self.outsider
        )


def join(
    server: LiveServer, team: Account, role: str = "member", cap: int | None = None
) -> Account:
    """A new person in `team` with `role` (and `cap`), holding a key for the team: `id` is the
    person's own account id, the key spends the team's credits."""
    person = server.account(credits=0)
    with writing(server.runtime.db) as session:
        _, token = teams.invite(session, team.id, team.id, person.email, role)
        teams.accept(session, token, person.id)
        if cap is not None:
            teams.update_member(
                session, team.id, team.id, person.id, monthly_cap=cap, change_cap=True
            )
        key, secret = keys.create(
            session, team.id, f"{role} key", server.runtime.key_secret, member_id=person.id
        )
    return Account(person.id, person.email, secret, key.id)  # the person; their key, the team's


def team(server: LiveServer, credits: int = 100) -> Team:
    owner = server.account(credits=credits)
    return Team(owner, join(server, owner, "admin"), join(server, owner), server.account())
