"""A real tds server on loopback per test session (and more where a test needs its own)."""

from __future__ import annotations

import io
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from PIL import Image

from tds.accounts import service as accounts
from tds.api.runtime import Runtime
from tds.config import Settings
from tds.credits import ledger
from tds.engines.base import Engine
from tds.fetch.fetcher import ImageFetcher
from tds.keys import service as keys
from tds.server.app import create_app
from tests.databases import database_url
from tests.support.db import reading, writing

FIXTURES = Path(__file__).parent / "fixtures"

# Servers under test enhance on the preview engine's fast path: Real-ESRGAN takes seconds an
# image on the CPU, and its own tests (tests/engines) exercise it.
os.environ.setdefault("TDS_PREVIEW_UPSCALER", "fast")

# The database behind the `server` and `make_server` servers: `make test` runs the suites that
# use them once on SQLite and once more with TDS_TEST_DATABASE=postgresql.
TEST_DATABASE = os.environ.get("TDS_TEST_DATABASE", "sqlite")
# How the shared `server` runs renders: "local" (in-process workers) or "celery" (a real
# `tds worker` process on Redis). With "celery", tests that bring their own in-process engine
# (make_server) are deselected: a worker process cannot see it.
TEST_DISPATCH = os.environ.get("TDS_TEST_DISPATCH", "local")


@dataclass
class Account:
    id: str
    email: str
    key: str
    key_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


class LiveServer:
    """uvicorn serving create_app() on 127.0.0.1 in a background thread."""

    def __init__(self, settings: Settings, **app_options: Any) -> None:
        self.settings = settings
        self.app = create_app(settings, **app_options)
        # The asyncio loop, not uvloop: uvloop resolves names in libuv, out of sight of the
        # tests' network guard, which must see every lookup a server under test makes.
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", loop="asyncio"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self._counter = 0

    def __enter__(self) -> LiveServer:
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("the test server failed to start")
            self.thread.join(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.app.state.runtime
        return runtime

    def client(self, account: Account | None = None, **options: Any) -> httpx.Client:
        headers = (account.headers if account else {}) | options.pop("headers", {})
        return httpx.Client(base_url=self.url, headers=headers, timeout=120, **options)

    def account(self, *, credits: int = 100, plan: str = "free") -> Account:
        """A new account with a key, made through the same services the CLI uses."""
        self._counter += 1
        email = f"user{self._counter}-{id(self)}@example.com"
        with writing(self.runtime.db) as session:
            account, _ = accounts.ensure(session, email, plan=plan, credits=0)
            if credits:
                ledger.grant(session, account.id, credits)
            key, token = keys.create(session, account.id, "test", self.runtime.key_secret)
        return Account(account.id, email, token, key.id)

    def stop(self) -> None:
        self.__exit__(None, None, None)

    def books(self, account: Account) -> ledger.Books:
        with reading(self.runtime.db) as session:
            return ledger.books(session, account.id)

    def assert_books_balanced(self, account: Account) -> ledger.Books:
        books = self.books(account)
        assert books.balanced, books
        return books


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"data_dir": data_dir, "workers": 2, "rate_limit": "100000/minute"}
    return Settings(**(values | overrides))


def test_database(stack: ExitStack, folder: Path) -> dict[str, Any]:
    """Settings for a fresh database of TEST_DATABASE's kind, dropped when `stack` closes."""
    if TEST_DATABASE == "sqlite":
        return {}  # the data dir's own SQLite file
    return {"database_url": stack.enter_context(database_url(TEST_DATABASE, folder))}


def celery_workers(stack: ExitStack, folder: Path, database: dict[str, Any]) -> dict[str, Any]:
    """Settings that send a server's renders to a real `tds worker` (preview engine, two
    processes) sharing its data dir and database; stopped when `stack` closes."""
    from tests.workers import REDIS_URL, forget_prefix, start_worker

    prefix = f"tds-test-{secrets.token_hex(4)}:"
    env = {
        "TDS_DATA_DIR": str(folder),
        "TDS_BROKER_URL": REDIS_URL,
        "TDS_BROKER_PREFIX": prefix,
        **({"TDS_DATABASE_URL": database["database_url"]} if database else {}),
    }
    stack.callback(forget_prefix, prefix)
    worker = start_worker(env, folder / "worker.log", "--concurrency", "2")
    stack.callback(worker.stop)
    return {"broker_url": REDIS_URL, "broker_prefix": prefix}


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The shared server, on the real preview engine (in-process, or on a Celery worker)."""
    folder = tmp_path_factory.mktemp("tds-data")
    with ExitStack() as stack:
        settings = test_database(stack, folder)
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
                database_for[data_dir] = test_database(databases, data_dir)
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


def png_bytes(
    width: int = 320, height: int = 240, color: tuple[int, int, int] = (200, 200, 200)
) -> bytes:
    """A small viewport-like image: a grey box with dark edges on a light background."""
    image = Image.new("RGB", (width, height), (235, 238, 240))
    box = (width // 4, height // 3, 3 * width // 4, height - 10)
    image.paste(color, box)
    for offset in range(2):
        x0, y0, x1, y1 = box
        image.paste((20, 20, 20), (x0 - offset, y0, x0 - offset + 1, y1))
        image.paste((20, 20, 20), (x1 + offset, y0, x1 + offset + 1, y1))
        image.paste((20, 20, 20), (x0, y0 - offset, x1, y0 - offset + 1))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def open_image(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {"error"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str)
    assert len(body["error"]["message"]) > 10
    return body["error"]  # type: ignore[no-any-return]


def poll(
    client: httpx.Client, render_id: str, until: tuple[str, ...], *, seconds: float = 10
) -> dict[str, Any]:
    """GET the render until its status is one of `until`, for at most about `seconds`."""
    for _ in range(int(seconds / 0.02)):
        render: dict[str, Any] = client.get(f"/api/v1/renders/{render_id}").json()["render"]
        if render["status"] in until:
            return render
        time.sleep(0.02)
    raise AssertionError(f"render {render_id} never reached {until}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def interrupt(process: subprocess.Popen[str]) -> str:
    """Stop a `tds serve` as Ctrl-C does (killed if it hangs); everything it printed."""
    process.send_signal(signal.SIGINT)
    try:
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    return output


def start_tds_serve(
    data_dir: Path, *args: str, env: dict[str, str] | None = None, capture: bool = False
) -> tuple[subprocess.Popen[str], str]:
    """`python -m tds serve` as a real process on a free port, once it answers /healthz."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tds", "serve", "--port", str(port), *args],
        env=os.environ | {"TDS_DATA_DIR": str(data_dir)} | (env or {}),
        stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
        stderr=subprocess.STDOUT if capture else subprocess.DEVNULL,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.get(f"{url}/healthz", timeout=1)
            return process, url
        except httpx.TransportError:
            if process.poll() is not None:
                output = process.stdout.read() if process.stdout else ""
                raise AssertionError(f"tds serve exited: {output}") from None
            time.sleep(0.1)
    process.kill()
    raise AssertionError("tds serve did not answer /healthz in 30 s")
