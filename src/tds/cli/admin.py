"""`tds admin …`: accounts, credits, plans and keys, straight against the database.

The database stack is imported inside the commands: every `tds` command (`tds render`, `tds me`
…) loads this module, and it should start at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from tds.catalogue import PLANS

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

T = TypeVar("T")

app = typer.Typer(help="Manage accounts, credits, plans and API keys.", no_args_is_help=True)

Email = Annotated[str, typer.Option("--email", help="The account's email address.")]
# A dashboard sign-up whose owner has not yet followed the emailed confirmation link could have
# been made by anyone in a victim's name, waiting for an administrator to attach a key, a plan or
# credits to it. Accounts these commands make are verified at once (the operator knows whose
# address it is).
Existing = Annotated[
    bool,
    typer.Option(
        "--existing",
        help=(
            "Act on an account that signed itself up on the dashboard with its own password and "
            "has not confirmed its email address: anyone could have made it, so without this "
            "flag such an account is refused. Pass it only if you know the account belongs to "
            "this person."
        ),
    ),
]
PLAN_HELP = f"Plan: {', '.join(PLANS)}."
# tds.credits.ledger.MAX_CREDITS, written out so that `tds` starts without the database stack (a
# test checks they agree); the ledger refuses a grant past it anyway.
MAX_CREDITS = 10**9


def _write(function: Callable[[Session, bytes], T]) -> T:
    """`function(session, key secret)` in one unit of work on the configured database."""
    from tds.config import Settings
    from tds.exceptions import TdsError
    from tds.kit import migrate, secrets
    from tds.kit.db import Database

    settings = Settings()
    settings.prepare_data_dir()
    migrate.upgrade(settings.sqlalchemy_url)
    db = Database(settings.sqlalchemy_url)
    try:
        return db.write(function, secrets.load_or_create(settings.key_secret, settings.data_dir))
    except TdsError as error:
        typer.echo(f"error: {error.message}", err=True)
        raise typer.Exit(1) from None
    finally:
        db.dispose()


def issue_key(
    session: Session,
    secret: bytes,
    email: str,
    *,
    plan: str | None = None,
    credits: int | None = None,
    name: str = "API key",
    existing: bool = False,
) -> str:
    from tds.accounts import service as accounts
    from tds.keys import service as keys

    account, created = accounts.ensure(
        session, email, plan=plan, credits=credits, existing=existing
    )
    _key, token = keys.create(session, account.id, name, secret)
    verb = "created" if created else "found"
    typer.echo(
        f"{verb} account {account.email} ({account.plan}, {account.credits} credits); "
        f"new key {token[:9]}…{token[-4:]}",
        err=True,
    )
    return token


@app.command("create-key")
def create_key(
    email: Email,
    plan: Annotated[str | None, typer.Option(help=PLAN_HELP + " Default: free.")] = None,
    credits: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=MAX_CREDITS,
            help="Credits to grant (a new account otherwise gets its plan's).",
        ),
    ] = None,
    name: Annotated[str, typer.Option(help="A label for the key.")] = "API key",
    existing: Existing = False,
) -> None:
    """Create an API key (and the account if missing); print the key alone on stdout.

    The key is shown only this once: store it now. An account that signed itself up on the
    dashboard and not confirmed its email address is refused without --existing.

    Example: tds admin create-key --email a@example.com --credits 100
    """
    token = _write(
        lambda session, secret: issue_key(
            session, secret, email, plan=plan, credits=credits, name=name, existing=existing
        )
    )
    typer.echo(token)


@app.command()
def grant(
    email: Email,
    credits: Annotated[int, typer.Option(min=1, max=MAX_CREDITS, help="Credits to add.")],
    existing: Existing = False,
) -> None:
    """Add credits to an account (an unconfirmed sign-up needs --existing)."""
    from tds.accounts import service as accounts
    from tds.credits import ledger

    def add(session: Session, _secret: bytes) -> str:
        account = accounts.get_vouched(session, email, existing=existing)
        ledger.grant(session, account.id, credits, note="granted by an administrator")
        session.refresh(account)
        return f"{account.email}: {account.credits} credits"

    typer.echo(_write(add))


@app.command("set-plan")
def set_plan(
    email: Email, plan: Annotated[str, typer.Option(help=PLAN_HELP)], existing: Existing = False
) -> None:
    """Move an account to another plan (an unconfirmed sign-up needs --existing)."""
    from tds.accounts import service as accounts

    def move(session: Session, _secret: bytes) -> str:
        account = accounts.get_vouched(session, email, existing=existing)
        account.plan = accounts.check_plan(plan)
        return f"{account.email}: plan {account.plan}"

    typer.echo(_write(move))


@app.command("revoke-key")
def revoke_key(key_id: Annotated[str, typer.Argument(help="The key's id (key_…).")]) -> None:
    """Revoke an API key; it answers 401 from now on."""
    from tds.keys import service as keys

    key = _write(lambda session, _secret: keys.revoke(session, key_id))
    typer.echo(f"revoked {key.id} ({key.prefix}…{key.last4})")


@app.command()
def migrate() -> None:
    """Bring the database schema up to date, and do nothing else.

    `tds serve` and `tds worker` migrate at start-up too; run this once before starting several
    of them on a new database, so they do not race each other to create it.
    """
    from tds.config import Settings
    from tds.kit import migrate as migrations

    settings = Settings()
    settings.prepare_data_dir()
    migrations.upgrade(settings.sqlalchemy_url)
    typer.echo("database schema is up to date")
