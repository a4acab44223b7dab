"""A real tds server on loopback per test session (and more where a test needs its own).

The helpers behind these fixtures live in tests/support."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tds.engines.base import Engine
from tds.fetch.fetcher import ImageFetcher
from tests.support.databases import database_settings
from tests.support.servers import LiveServer, make_settings
from tests.support.smtp import SmtpServer
from tests.support.workers import TEST_DISPATCH, celery_workers

# Servers under test enhance on the preview engine's fast path: Real-ESRGAN takes seconds an
# image on the CPU, and its own tests (tests/engines) exercise it.
os.environ.setdefault("TDS_PREVIEW_UPSCALER", "fast")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The shared server, on the real preview engine (in-process, or on a Celery worker)."""
    folder = tmp_path_factory.mktemp("tds-data")
    with ExitStack() as stack:
        settings = database_settings(stack, folder)
        if TEST_DISPATCH == "celery":
            settings |= celery_workers(stack, folder, settings)
        live = stack.enter_context(LiveServer(make_settings(folder, **settings)))
        yield live


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if TEST_DISPATCH != "celery":
        return
    kept: list[pytest.Item] = []
    own_engine: list[pytest.Item] = []
    for item in items:
        uses_own = "make_server" in getattr(item, "fixturenames", ())
        (own_engine if uses_own else kept).append(item)
    if own_engine:
        config.hook.pytest_deselected(items=own_engine)
        items[:] = kept


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """Start a server of the test's own, e.g. with another engine or settings."""
    started: list[LiveServer] = []
    databases = ExitStack()
    database_for: dict[Path, dict[str, Any]] = {}  # a restarted server finds its database again

    def start(
        engine: Engine | None = None,
        *,
        fetcher: ImageFetcher | None = None,
        data_dir: Path | None = None,
        **overrides: Any,
    ) -> LiveServer:
        data_dir = data_dir or tmp_path / f"data{len(started)}"
        if "database_url" not in overrides:
            if data_dir not in database_for:
                database_for[data_dir] = database_settings(databases, data_dir)
            overrides |= database_for[data_dir]
        settings = make_settings(data_dir, **overrides)
        live = LiveServer(settings, engine=engine, fetcher=fetcher).__enter__()
        started.append(live)
        return live

    with databases:
        yield start
        for live in started:
            if live.thread.is_alive():
                live.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server on loopback that keeps every mail it receives."""
    with SmtpServer() as server:
        yield server
