"""Real processes: the server is SIGKILLed in the middle of a render and started again.

Nothing is lost: the interrupted render runs again and is charged exactly once, the queued one
behind it too, and the books balance.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tds.credits import ledger
from tds.kit.db import Database
from tds.models import Account
from tests.support.db import reading
from tests.support.http import poll
from tests.support.images import FIXTURES
from tests.support.servers import start_tds_serve


class ServerProcess:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.env = os.environ | {"TDS_DATA_DIR": str(data_dir), "TDS_WORKERS": "1"}
        self.process: subprocess.Popen[str] | None = None
        self.url = ""

    def tds(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "tds", *args], env=self.env, capture_output=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.decode().strip()

    def start(self) -> None:
        self.process, self.url = start_tds_serve(self.data_dir, env={"TDS_WORKERS": "1"})

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)


@pytest.fixture
def server_process(tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path / "data")
    yield process
    process.stop()


def test_sigkill_mid_render_then_restart_charges_each_render_once(
    server_process: ServerProcess,
) -> None:
    key = server_process.tds(
        "admin", "create-key", "--email", "kill@example.com", "--plan", "pro", "--credits", "200"
    )
    server_process.start()
    video = {  # a few seconds of work: long enough to be killed in the middle
        "image_base64": base64.b64encode((FIXTURES / "house.png").read_bytes()).decode(),
        "kind": "video",
        "resolution": "2k",
    }
    headers = {"Authorization": f"Bearer {key}", "Prefer": "respond-async"}
    with httpx.Client(base_url=server_process.url, headers=headers, timeout=30) as client:
        first = client.post("/api/v1/renders", json=video).json()["render"]["id"]
        second = client.post("/api/v1/renders", json=video).json()["render"]["id"]
        poll(client, first, ("processing",), seconds=30)
        assert client.get("/api/v1/me").json()["credits_held"] == 100
    server_process.kill()  # no shutdown hook runs: the database is as the crash left it

    server_process.start()
    with httpx.Client(base_url=server_process.url, headers=headers, timeout=30) as client:
        renders = [poll(client, rid, ("done", "failed"), seconds=30) for rid in (first, second)]
        me = client.get("/api/v1/me").json()
    assert [r["status"] for r in renders] == ["done", "done"]
    assert [r["credits_used"] for r in renders] == [50, 50]
    assert (me["credits"], me["credits_held"]) == (100, 0)
    db = Database(f"sqlite:///{server_process.data_dir / 'tds.db'}")
    try:
        with reading(db) as session:
            account = session.query(Account).filter_by(email="kill@example.com").one()
            books = ledger.books(session, account.id)
    finally:
        db.dispose()
    assert books.balanced, books
