"""`tds serve --demo`, the README's run command: serves, prints a key that survives restarts."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests.support.servers import interrupt, start_tds_serve


def _serve_once(data_dir: Path) -> str:
    """Start the demo server, check /me with the printed key, stop it; the key."""
    process, url = start_tds_serve(data_dir, "--demo", capture=True)
    try:
        stored = (data_dir / "demo-key.txt").read_text().strip()
        me = httpx.get(f"{url}/api/v1/me", headers={"Authorization": f"Bearer {stored}"})
        assert me.status_code == 200, me.text
        assert me.json()["email"] == "demo@tds.local"
    finally:
        output = interrupt(process)
    keys = re.findall(r"tds_live_[0-9A-Za-z]{38}", output)
    assert keys == [stored, stored], output  # the key alone, and in the curl example
    assert f"localhost:{url.rsplit(':', 1)[1]}" in output
    return keys[0]


def test_demo_key_is_printed_works_and_survives_a_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh"
    first = _serve_once(data_dir)
    second = _serve_once(data_dir)
    assert first == second
    assert (data_dir / "demo-key.txt").stat().st_mode & 0o777 == 0o600
