"""`tds serve` with TDS_LOG_FORMAT=json: one JSON object a line, each with its request id."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from tests.support.servers import interrupt, start_tds_serve


def _serve_and_log(data_dir: Path) -> tuple[str, str]:
    """Serve with JSON logs, make three requests, stop; (the demo key, everything printed)."""
    process, url = start_tds_serve(
        data_dir, "--demo", env={"TDS_LOG_FORMAT": "json", "TDS_WORKERS": "1"}, capture=True
    )
    try:
        key = (data_dir / "demo-key.txt").read_text().strip()
        health = httpx.get(f"{url}/healthz", headers={"X-Request-Id": "log-health"})
        assert health.status_code == 200
        refused = httpx.post(  # refused before any connection: 10.0.0.1 is private
            f"{url}/api/v1/renders",
            headers={"Authorization": f"Bearer {key}", "X-Request-Id": "log-fetch"},
            json={"image_url": f"http://10.0.0.1/view.png?key={key}"},
        )
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"]["request_id"] == "log-fetch"
        assert httpx.get(f"{url}/healthz?key={key}").status_code == 200
    finally:
        output = interrupt(process)
    return key, output


def test_json_log_lines_carry_the_request_id_and_never_a_key(tmp_path: Path) -> None:
    key, output = _serve_and_log(tmp_path / "data")
    banner_end = output.index("/api/v1/me\n") + len("/api/v1/me\n")  # --demo prints the key
    log_lines = [line for line in output[banner_end:].splitlines() if line.strip()]
    entries: list[dict[str, Any]] = [json.loads(line) for line in log_lines]  # every line
    assert all({"time", "level", "logger", "message"} <= set(entry) for entry in entries)
    assert key not in output[banner_end:]
    assert key[9:-4] not in output[banner_end:]

    started = [entry for entry in entries if "Uvicorn running on" in entry["message"]]
    assert len(started) == 1
    assert "request_id" not in started[0]  # outside any request

    by_id: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        by_id.setdefault(entry.get("request_id", ""), []).append(entry)
    (health,) = by_id["log-health"]
    assert health["logger"] == "uvicorn.access"
    assert (health["method"], health["path"], health["status"]) == ("GET", "/healthz", 200)
    assert health["level"] == "info"

    fetch = {entry["logger"]: entry for entry in by_id["log-fetch"]}
    assert set(fetch) == {"tds.fetch", "uvicorn.access"}  # the service's own line, and access
    assert "refused" in fetch["tds.fetch"]["message"]
    assert fetch["uvicorn.access"]["status"] == 400

    (query,) = [entry for entry in entries if entry.get("path", "").startswith("/healthz?key=")]
    assert query["request_id"].startswith("req_")  # none was sent: one was made
    assert query["path"].startswith("/healthz?key=tds_live_…")  # redacted
