"""`tds worker`: a Celery worker that runs renders for the API processes sharing its settings."""

from __future__ import annotations

from typing import Annotated

import typer


def worker(
    queues: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated queues to take jobs from (gpu, cpu, video, or those named in "
            "TDS_QUEUE_FOR); default: every queue the settings route a kind to."
        ),
    ] = None,
    concurrency: Annotated[
        int,
        typer.Option(
            min=1,
            help="Renders at once, each in its own process with its own engine. Keep 1 per GPU.",
        ),
    ] = 1,
    pool: Annotated[
        str, typer.Option(help="Celery pool: prefork (default; survives a crashed render) or solo.")
    ] = "prefork",
) -> None:
    """Run renders from the queue (needs TDS_BROKER_URL and the API's database and storage).

    Jobs are acknowledged only after they ran, so a killed worker's render runs again
    elsewhere (twice at most) or fails and is refunded; it is never charged twice.
    """
    from tds.config import Settings
    from tds.dispatch.queues import all_queues, make_celery
    from tds.kit import migrate
    from tds.renders.tasks import register

    settings = Settings()
    if not settings.broker_url:
        typer.echo("tds worker needs TDS_BROKER_URL (redis://host:6379/0).", err=True)
        raise typer.Exit(2)
    if pool not in ("prefork", "solo"):
        raise typer.BadParameter("choose prefork or solo", param_hint="--pool")
    settings.prepare_data_dir()
    migrate.upgrade(settings.sqlalchemy_url)
    names = [q.strip() for q in queues.split(",") if q.strip()] if queues else all_queues(settings)
    app = make_celery(settings)
    register(app, settings)
    app.worker_main(
        [
            "worker",
            f"--queues={','.join(names)}",
            f"--concurrency={concurrency}",
            f"--pool={pool}",
            f"--loglevel={settings.log_level.upper()}",
            f"--hostname=tds-{'-'.join(names)}@%h",
            # No worker-to-worker chatter: tds coordinates through the database.
            "--without-gossip",
            "--without-mingle",
        ]
    )
