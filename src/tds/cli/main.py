"""`tds`: run the server and administer it."""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING, Annotated

import typer

from tds import __version__
from tds.cli import account_commands, admin, models, render_commands, usage_commands
from tds.cli.doctor import doctor
from tds.cli.worker import worker

if TYPE_CHECKING:
    from tds.config import Settings

app = typer.Typer(
    help="tds: an AI rendering service for architects. Docs at /docs on a running server.",
    no_args_is_help=True,
)
app.add_typer(admin.app, name="admin")
app.add_typer(models.app, name="models")
account_commands.register(app)
render_commands.register(app)
usage_commands.register(app)
app.command()(worker)
app.command()(doctor)

DEMO_EMAIL = "demo@tds.local"


def _demo_key(settings: Settings) -> str:
    """The demo account's key, kept in the data dir so it survives restarts."""
    from tds.exceptions import InvalidRequest
    from tds.keys import service as keys
    from tds.kit import migrate, secrets
    from tds.kit.db import Database

    path = settings.data_dir / "demo-key.txt"
    settings.prepare_data_dir()
    migrate.upgrade(settings.sqlalchemy_url)
    db = Database(settings.sqlalchemy_url)
    secret = secrets.load_or_create(settings.key_secret, settings.data_dir)
    try:
        if path.exists():
            token = path.read_text().strip()
            if db.read(keys.authenticate, token, secret):
                return token
        try:
            token = db.write(
                admin.issue_key, secret, DEMO_EMAIL, plan="pro", credits=200, name="demo"
            )
        except InvalidRequest as exc:
            # Someone signed up as the demo account on the dashboard (accounts.check_vouched).
            typer.echo(
                f"Error: {DEMO_EMAIL} signed itself up on the dashboard with a password of its "
                "own, so tds will not give it the demo key and credits. Serve without --demo, "
                "or with another TDS_DATA_DIR.",
                err=True,
            )
            raise typer.Exit(2) from exc
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(token + "\n")
        return token
    finally:
        db.dispose()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    demo: Annotated[
        bool, typer.Option(help=f"Ensure a demo account ({DEMO_EMAIL}) and print its API key.")
    ] = False,
) -> None:
    """Migrate the database and serve the API with its in-process render workers.

    Settings come from TDS_* environment variables (TDS_DATA_DIR, TDS_DATABASE_URL, …).
    """
    import uvicorn

    from tds.config import Settings
    from tds.kit.logs import log_config
    from tds.server.app import create_app
    from tds.server.http import uvicorn_config

    settings = Settings()
    if demo:
        token = _demo_key(settings)
        url = f"http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}"
        typer.echo(
            f"\n  tds {__version__} on {url}  (API docs: {url}/docs)\n"
            f"  demo account {DEMO_EMAIL}, API key:\n\n  {token}\n\n"
            f"  try: curl -H 'Authorization: Bearer {token}' {url}/api/v1/me\n"
        )
    # The HTTP limits (TDS_HTTP_*) and proxy trust (TDS_TRUSTED_PROXIES) live in
    # uvicorn_config, which tests and the benchmark serve with too.
    config = uvicorn_config(
        create_app(settings),
        settings,
        host=host,
        port=port,
        log_level=settings.log_level,
        log_config=log_config(settings.log_level, settings.log_format),
    )
    server = uvicorn.Server(config)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:  # as uvicorn.run: it could not start (port taken, start-up failed)
        raise typer.Exit(3)


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)
