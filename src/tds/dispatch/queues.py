"""The Celery application both sides share, and which queue a render goes to."""

from __future__ import annotations

from celery import Celery

from tds.catalogue import KINDS
from tds.config import Settings

RENDER_TASK = "tds.render"
# Default queue per engine; `video` renders get their own queue whatever their engine, since
# they hold a worker for much longer than a still.
ENGINE_QUEUES = {"diffusion": "gpu"}
DEFAULT_QUEUE = "cpu"
VIDEO_QUEUE = "video"


def queue_for(settings: Settings, kind: str) -> str:
    if kind in settings.queue_for:
        return settings.queue_for[kind]
    if kind == "video":
        return VIDEO_QUEUE
    return ENGINE_QUEUES.get(settings.engine_for.get(kind, settings.engine), DEFAULT_QUEUE)


def all_queues(settings: Settings) -> list[str]:
    """Every queue these settings route some kind to (what `tds worker` takes by default)."""
    return sorted({queue_for(settings, kind) for kind in KINDS})


def make_celery(settings: Settings) -> Celery:
    assert settings.broker_url, "Celery needs TDS_BROKER_URL"
    app = Celery("tds", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        # A render is acknowledged only once it ran: a worker killed mid-render gives its job
        # back to the queue, and the job itself knows whether it may run again.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,  # a GPU worker never sits on jobs another could run
        task_ignore_result=True,  # outcomes live in the database
        task_default_queue=DEFAULT_QUEUE,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=2.0,
        broker_transport_options={
            "global_keyprefix": settings.broker_prefix,
            # An unacknowledged job comes back only after this long: beyond any render's
            # lease, by when the reaper has failed and refunded it.
            "visibility_timeout": int(settings.render_timeout_seconds * 2 + 60),
        },
        worker_send_task_events=False,
        worker_enable_remote_control=False,
    )
    return app
