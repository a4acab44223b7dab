"""tds servers under test: in-process on loopback (LiveServer), or `tds serve` as a process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from tds.accounts import service as accounts
from tds.api.runtime import Runtime
from tds.config import Settings
from tds.credits import ledger
from tds.keys import service as keys
from tds.server.app import create_app
from tds.server.http import uvicorn_config
from tests.support.accounts import Account
from tests.support.db import reading, writing


class LiveServer:
    """uvicorn serving create_app() on 127.0.0.1 in a background thread."""

    def __init__(self, settings: Settings, **app_options: Any) -> None:
        self.settings = settings
        self.app = create_app(settings, **app_options)
        # The asyncio loop, not uvloop: uvloop resolves names in libuv, out of sight of the
        # tests' network guard, which must see every lookup a server under test makes. The
        # rest is `tds serve`'s configuration (its HTTP limits and proxy trust).
        config = uvicorn_config(
            self.app,
            settings,
            host="127.0.0.1",
            port=0,
            log_level="warning",
            lifespan="on",
            loop="asyncio",
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
                output, _ = process.communicate()  # reads and closes its pipe
                raise AssertionError(f"tds serve exited: {output or ''}") from None
            time.sleep(0.1)
    process.kill()
    raise AssertionError("tds serve did not answer /healthz in 30 s")
