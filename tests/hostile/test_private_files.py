"""The data dir is private: its folders 0700, its files (database, secret, images) 0600."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.support.databases import TEST_DATABASE
from tests.support.images import fixture_bytes
from tests.support.servers import LiveServer, interrupt, start_tds_serve

MakeServer = Callable[..., LiveServer]
BODY = {"scene_type": "exterior", "resolution": "1k", "source": "api"}


def upload_and_render(client: httpx.Client) -> None:
    image = {"file": ("view.png", fixture_bytes("house.png"))}
    uploaded = client.post("/api/v1/uploads", files=image)
    assert uploaded.status_code == 201, uploaded.text
    rendered = client.post("/api/v1/renders", json=BODY | {"image_url": uploaded.json()["url"]})
    assert rendered.status_code == 200, rendered.text
    assert rendered.json()["render"]["status"] == "done"


def assert_private(data_dir: Path, *, running: bool = True) -> None:
    folders = [data_dir]
    files: list[Path] = []
    for root, dirs, names in os.walk(data_dir):
        folders += [Path(root, name) for name in dirs]
        files += [Path(root, name) for name in names]
    loose = [
        f"{path.relative_to(data_dir.parent)} {stat.filemode(path.stat().st_mode)}"
        for path in folders + files
        if path.stat().st_mode & 0o077
    ]
    assert not loose, loose
    names = {path.relative_to(data_dir).parts[0] for path in files}
    assert "secret.key" in names
    for area in ("uploads", "inputs", "renders"):
        assert any(path.parent == data_dir / "files" / area for path in files), area
    if TEST_DATABASE == "sqlite":  # SQLite removes -wal and -shm when the last connection closes
        expected = {"tds.db", "tds.db-wal", "tds.db-shm"} if running else {"tds.db"}
        assert expected <= names, names


def test_an_in_process_server_keeps_its_data_dir_private(make_server: MakeServer) -> None:
    live = make_server()
    with live.client(live.account(credits=100)) as client:
        upload_and_render(client)
    assert_private(live.runtime.settings.data_dir)


def test_tds_serve_keeps_a_fresh_data_dir_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh"
    process, url = start_tds_serve(data_dir, "--demo")
    try:
        token = (data_dir / "demo-key.txt").read_text().strip()
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as client:
            upload_and_render(client)
        assert_private(data_dir)  # -wal and -shm exist while the server runs
    finally:
        interrupt(process)
    assert_private(data_dir, running=False)


def test_an_existing_data_dir_is_tightened_at_start_up(make_server: MakeServer) -> None:
    live = make_server()
    data_dir = live.runtime.settings.data_dir
    live.stop()
    loosened = [data_dir, data_dir / "files", data_dir / "files" / "uploads"]
    for path in loosened:
        path.chmod(0o755)
    for path in (data_dir / "secret.key", data_dir / "tds.db"):
        if path.exists():
            path.chmod(0o644)
    again = make_server(data_dir=data_dir)
    with again.client(again.account(credits=100)) as client:
        upload_and_render(client)
    assert_private(data_dir)
