"""Create accounts, change plans, grant credits."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session, aliased

from tds.accounts import email_tokens, mails, passwords
from tds.accounts.mails import Mail
from tds.catalogue import DEFAULT_PLAN, PLANS
from tds.credits import ledger
from tds.exceptions import InvalidRequest, NotFound
from tds.kit.db import HotRead, changed_rows, utcnow
from tds.kit.ids import new_id
from tds.models import Account, TeamMember, WebSession

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if not _EMAIL.fullmatch(email) or len(email) > 320:
        raise InvalidRequest(f"{email!r} is not an email address.", param="email")
    return email


def check_plan(plan: str) -> str:
    if plan not in PLANS:
        raise InvalidRequest(f"Unknown plan {plan!r}; choose one of {', '.join(PLANS)}.")
    return plan


def find_by_email(session: Session, email: str) -> Account | None:
    return session.scalar(select(Account).where(Account.email == normalise_email(email)))


def get_by_email(session: Session, email: str) -> Account:
    account = find_by_email(session, email)
    if account is None:
        raise NotFound(f"No account with the email {email}.")
    return account


def self_signed_up(account: Account) -> bool:
    """Whether the account signed itself up on the dashboard and has not confirmed its email
    address yet: anyone could have made such an account in someone else's name. Accounts made
    by an administrator are verified when made; ones from before verification existed count as
    verified since they were made."""
    return account.password_hash is not None and account.email_verified_at is None


def check_vouched(account: Account, *, existing: bool) -> None:
    """Refuse to act for an administrator on an unconfirmed self-signed-up account unless they
    vouch for it (`existing`): a key, credits or a plan given to it would go to whoever signed
    up with that address, possibly an attacker who did so before its real owner (account
    pre-hijacking)."""
    if existing or not self_signed_up(account):
        return
    raise InvalidRequest(
        f"{account.email} signed itself up on the dashboard with a password it chose, and has "
        "not confirmed its email address yet: anyone could have made this account in that name. "
        "Nothing was changed. Pass --existing if you know the account belongs to this person.",
        param="email",
    )


def _new_account(session: Session, email: str, plan: str, *, verified: bool) -> Account:
    account = Account(
        id=new_id("acc"),
        email=normalise_email(email),
        plan=check_plan(plan),
        credits=0,
        credits_held=0,
        email_verified_at=utcnow() if verified else None,
    )
    session.add(account)
    session.flush()
    # Every account is its own personal team, owned by itself (tds.models.team_member).
    session.add(TeamMember(team_id=account.id, member_id=account.id, role="owner"))
    session.flush()
    return account


def _welcome(session: Session, account: Account, credits: int | None = None) -> None:
    amount = PLANS[account.plan].monthly_credits if credits is None else credits
    if amount > 0:
        ledger.grant(session, account.id, amount, note="welcome credits")


def ensure(
    session: Session,
    email: str,
    *,
    plan: str | None = None,
    credits: int | None = None,
    existing: bool = False,
) -> tuple[Account, bool]:
    """The account for `email`, created if missing. Returns (account, created).

    A new account is verified (an operator made it) and gets `credits` if given, else its plan's
    monthly credits. An existing one gets `credits` added when given; an unconfirmed one that
    signed itself up is refused (`check_vouched`) unless `existing` says the caller knows it
    belongs to this person.
    """
    account = find_by_email(session, email)
    created = account is None
    if account is None:
        # Made by an operator, who knows whose address it is: verified at once.
        account = _new_account(session, email, plan or DEFAULT_PLAN, verified=True)
        _welcome(session, account, credits)
    else:
        check_vouched(account, existing=existing)
        if credits:
            ledger.grant(session, account.id, credits, note="granted by an administrator")
    if plan is not None:
        account.plan = check_plan(plan)
    session.flush()
    session.refresh(account)
    return account, created


def get_vouched(session: Session, email: str, *, existing: bool) -> Account:
    """The account for `email` (404 when there is none), refused like `ensure` when it signed
    itself up and the caller does not vouch for it."""
    account = get_by_email(session, email)
    check_vouched(account, existing=existing)
    return account


def check_sign_up(email: str, password: str) -> str:
    """The normalised email when a sign-up with these could go ahead; InvalidRequest for an
    address that is not one or a weak password (neither depends on who has an account)."""
    email = normalise_email(email)
    passwords.check_strength(password)
    return email


def sign_up(session: Session, email: str, password_hash: str, *, base: str) -> Mail:
    """A new, unverified account on the default plan that will log in with the password whose
    hash this is (hashed by the caller, outside the write transaction), and the mail with its
    confirmation link; its welcome credits come with the confirmation (`verify_email`).

    When the email already has an account nothing changes and the mail tells its owner someone
    tried (no link that could confirm an account someone else may have made): the caller
    answers both alike and sends either mail after the commit, so sign-up never tells whether
    an address has an account (the caller hashes either way, so both take about as long)."""
    existing = find_by_email(session, email)
    if existing is not None:
        return mails.already_signed_up(base, existing.email)
    account = _new_account(session, email, DEFAULT_PLAN, verified=False)
    account.password_hash = password_hash
    token = email_tokens.issue(session, account.id, "verify")
    return mails.verify(base, account.email, token, PLANS[account.plan].monthly_credits)


def resend_verification(session: Session, email: str, *, base: str) -> Mail | None:
    """A new confirmation link for a self-signed-up account still unconfirmed; None (nothing
    to send) for any other address. The caller answers both alike."""
    account = find_by_email(session, email)
    if account is None or not self_signed_up(account):
        return None
    token = email_tokens.issue(session, account.id, "verify")
    return mails.verify(base, account.email, token, PLANS[account.plan].monthly_credits)


def email_of_token(session: Session, token: str, purpose: email_tokens.Purpose) -> str:
    """The address a live link was sent to (for the page that asks to confirm); InvalidRequest
    saying why when the link is unknown, used or expired."""
    row = email_tokens.check(session, token, purpose)
    return session.get_one(Account, row.account_id).email


def _mark_verified(session: Session, account_id: str) -> bool:
    """Mark the address confirmed and grant the welcome credits, both exactly once: only the
    statement that finds it unconfirmed grants. Whether this call did it."""
    changed = changed_rows(
        session,
        update(Account)
        .where(Account.id == account_id, Account.email_verified_at.is_(None))
        .values(email_verified_at=utcnow()),
    )
    if changed != 1:
        return False
    account = session.get_one(Account, account_id)
    session.refresh(account)
    _welcome(session, account)
    return True


@dataclass(frozen=True)
class Verified:
    email: str
    now: bool  # False: the address had been confirmed already (another link, a reset)


def verify_email(session: Session, token: str) -> Verified:
    """Use up a confirmation link: the address is confirmed and the welcome credits granted,
    once, however many links are followed, however often. InvalidRequest (nothing changed) for
    an unknown, used or expired link."""
    account_id = email_tokens.use(session, token, "verify")
    now = _mark_verified(session, account_id)
    email_tokens.use_all(session, account_id, "verify")
    return Verified(session.get_one(Account, account_id).email, now)


def start_password_reset(session: Session, email: str, *, base: str) -> Mail | None:
    """The mail with a reset link for the account of `email`; None when there is none. The
    caller answers both alike (no account enumeration) and sends after the commit."""
    account = find_by_email(session, email)
    if account is None:
        return None
    token = email_tokens.issue(session, account.id, "reset")
    return mails.reset(base, account.email, token)


def end_sessions(session: Session, account_id: str, *, keep: str | None = None) -> int:
    """End the account's dashboard sessions, all of them or all but the one whose id (the
    cookie token's digest) is `keep`; how many ended."""
    statement = delete(WebSession).where(WebSession.account_id == account_id)
    if keep is not None:
        statement = statement.where(WebSession.id != keep)
    return changed_rows(session, statement)


def reset_password(session: Session, token: str, password_hash: str) -> str:
    """Use up a reset link: the account's new password is the one hashed here, every session of
    it ends, every other reset link of it stops working. Following the link proves the address,
    so an unconfirmed account is confirmed too (with its welcome credits): how the owner of an
    address takes back an account someone else signed up in its name. The account's email;
    InvalidRequest (nothing changed) for an unknown, used or expired link."""
    account_id = email_tokens.use(session, token, "reset")
    account = session.get_one(Account, account_id)
    account.password_hash = password_hash
    session.flush()
    _mark_verified(session, account_id)
    email_tokens.use_all(session, account_id, "reset")
    end_sessions(session, account_id)
    return account.email


def _person_of(session: Session, session_id: str) -> Account:
    """The person signed in with the dashboard session whose id this is."""
    row = session.get(WebSession, session_id)
    if row is None:
        raise InvalidRequest("This session has ended; log in again.")
    return session.get_one(Account, row.account_id)


def password_hash_of(session: Session, session_id: str) -> str | None:
    """The password hash of the person signed in with this dashboard session."""
    return _person_of(session, session_id).password_hash


def change_password(session: Session, session_id: str, old_hash: str | None, new_hash: str) -> None:
    """Replace the password of the person signed in with this session, whose hash the caller
    checked (`old_hash`, read before it verified the current password outside this
    transaction), with `new_hash`; end every other session of theirs and every outstanding
    reset link. InvalidRequest, nothing changed, when the password changed meanwhile."""
    person = _person_of(session, session_id)
    changed = changed_rows(
        session,
        update(Account)
        .where(Account.id == person.id, Account.password_hash == old_hash)
        .values(password_hash=new_hash),
    )
    if changed != 1:
        raise InvalidRequest(
            "The password was changed elsewhere meanwhile; nothing was changed. Try again.",
            param="current_password",
        )
    email_tokens.use_all(session, person.id, "reset")
    end_sessions(session, person.id, keep=session_id)


def end_every_session(session: Session, session_id: str) -> int:
    """ "Log out everywhere": end every session of the person signed in with this one, itself
    included; how many ended."""
    return end_sessions(session, _person_of(session, session_id).id)


def check_password(session: Session, email: str, password: str) -> Account | None:
    """The account when the email and password match, else None (in the same time either way)."""
    try:
        account = find_by_email(session, email)
    except InvalidRequest:
        account = None
    if not passwords.verify(account.password_hash if account else None, password):
        return None
    assert account is not None
    assert account.password_hash is not None
    if passwords.needs_rehash(account.password_hash):
        account.password_hash = passwords.hash_password(password)
    return account


def emails_of(session: Session, account_ids: set[str]) -> dict[str, str]:
    rows = session.execute(select(Account.id, Account.email).where(Account.id.in_(account_ids)))
    return {row.id: row.email for row in rows}


def balance(session: Session, account_id: str) -> int:
    return session.get_one(Account, account_id).credits


_TEAM = aliased(Account)
_SUMMARY = HotRead(
    select(
        Account.id,
        Account.email,
        Account.created_at,
        _TEAM.id.label("team_id"),
        _TEAM.team_name,
        _TEAM.email.label("team_email"),
        _TEAM.plan,
        _TEAM.credits,
        _TEAM.credits_held,
        TeamMember.role,
        TeamMember.monthly_cap,
        TeamMember.cap_period,
        TeamMember.cap_spent,
    )
    .join(TeamMember, TeamMember.member_id == Account.id)
    .join(_TEAM, _TEAM.id == TeamMember.team_id)
    .where(Account.id == bindparam("member_id"), TeamMember.team_id == bindparam("team_id"))
)


def summary(session: Session, team_id: str, member_id: str) -> Any:
    """What /me shows, the member with their team's plan and credits and their cap there: one
    keyed read, on the hot path (no ORM object is built)."""
    row = _SUMMARY.first(session, team_id=team_id, member_id=member_id)
    if row is None:
        raise NotFound(f"No member {member_id} in the team {team_id}.")
    return row
