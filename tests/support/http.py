"""What tests check in the API's answers: the error shape, and a render reaching a status."""

from __future__ import annotations

import time
from typing import Any

import httpx


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
