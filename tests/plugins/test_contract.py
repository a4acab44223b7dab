"""plugins/contract/*.json against the real server.

The Ruby and C# plugin tests read these vectors (what a plugin sends, what it reads back, every
error it maps); this checks each one against what a real tds server sends now, so the plugins and
the API cannot drift apart unnoticed. A failure here means: regenerate the vector from the
server's answer and make the plugin tests pass against it.
"""

from __future__ import annotations

import inspect
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tds import exceptions
from tests.support.accounts import Account
from tests.support.servers import LiveServer

from .tools import CONTRACT

JSON = dict[str, Any]


def vector(name: str) -> JSON:
    data: JSON = json.loads((CONTRACT / f"{name}.json").read_text(encoding="utf-8"))
    return data


def json_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {dict: "object", list: "array", str: "string", type(None): "null"}[type(value)]


def shape_differences(expected: object, actual: object, path: str = "$") -> list[str]:
    """Where two JSON values differ in structure: object keys, and types where neither is null."""
    kinds = json_type(expected), json_type(actual)
    if "null" in kinds:
        return []
    if kinds[0] != kinds[1]:
        return [f"{path}: {kinds[0]} in the vector, {kinds[1]} from the server"]
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = [f"{path}.{key}: missing from the server" for key in expected.keys() - actual.keys()]
        out += [f"{path}.{key}: not in the vector" for key in actual.keys() - expected.keys()]
        for key in expected.keys() & actual.keys():
            out += shape_differences(expected[key], actual[key], f"{path}.{key}")
        return sorted(out)
    if isinstance(expected, list) and isinstance(actual, list) and expected and actual:
        return [
            difference
            for index, item in enumerate(actual)
            for difference in shape_differences(expected[0], item, f"{path}[{index}]")
        ]
    return []


def render_headers(account: Account, **extra: str) -> dict[str, str]:
    headers = dict(vector("render_request")["headers"])
    headers["Authorization"] = f"Bearer {account.key}"
    headers["Idempotency-Key"] = str(uuid.uuid4())
    return headers | extra


def test_every_vector_is_checked_here() -> None:
    names = {path.stem for path in CONTRACT.glob("*.json")}
    assert names == {
        "render_request",
        "render_done",
        "render_queued",
        "styles",
        "me",
        "error_400",
        "error_401",
        "error_402",
        "error_429",
        "error_kinds",
    }
    for name in names:
        assert vector(name)["description"]


def test_the_render_request_vector_is_accepted_and_answered_like_render_done(
    server: LiveServer,
) -> None:
    account = server.account(credits=100)
    request = vector("render_request")
    with server.client() as client:
        response = client.request(
            request["method"],
            request["path"],
            content=json.dumps(request["body"]),
            headers=render_headers(account),
        )
    assert response.status_code == vector("render_done")["status"] == 200, response.text
    body = response.json()
    assert body["render"]["status"] == "done"
    assert body["render"]["source"] == request["body"]["source"]
    for field in (
        "scene_type",
        "resolution",
        "architectural_style",
        "lighting",
        "prompt",
        "project",
    ):
        assert body["render"][field] == request["body"][field], field
    assert not shape_differences(vector("render_done")["body"], body)
    assert set(vector("render_done")["body"]["render"]) == set(body["render"])
    server.assert_books_balanced(account)


@pytest.mark.parametrize("source", ["sketchup", "rhino", "revit", "autocad"])
def test_every_host_source_is_accepted(server: LiveServer, source: str) -> None:
    account = server.account(credits=100)
    body = vector("render_request")["body"] | {"source": source}
    with server.client(account) as client:
        response = client.post("/api/v1/renders", json=body, headers={"Prefer": "wait=10"})
    assert response.status_code == 200, response.text
    assert response.json()["render"]["source"] == source


def test_the_queued_vector_matches_a_202(server: LiveServer) -> None:
    account = server.account(credits=100)
    expected = vector("render_queued")
    with server.client(account) as client:
        response = client.post(
            "/api/v1/renders",
            json=vector("render_request")["body"],
            headers={"Prefer": "respond-async"},
        )
    assert response.status_code == expected["status"] == 202, response.text
    assert response.headers["Location"] == response.json()["render"]["urls"]["get"]
    assert not shape_differences(expected["body"], response.json())
    assert set(expected["body"]["render"]) == set(response.json()["render"])


def test_the_styles_vector_matches(server: LiveServer) -> None:
    account = server.account()
    with server.client(account) as client:
        real = client.get("/api/v1/styles").json()
    expected = vector("styles")["body"]
    assert not shape_differences(expected, real)
    # The plugins' tests quote these figures: they must be the server's.
    assert expected["costs"] == real["costs"]
    assert expected["resolutions"] == real["resolutions"]
    for field in ("scene_types", "architectural_styles", "lighting"):
        assert [o["id"] for o in expected[field]] == [o["id"] for o in real[field]], field


def test_the_me_vector_matches(server: LiveServer) -> None:
    account = server.account(credits=100, plan="pro")
    with server.client(account) as client:
        real = client.get("/api/v1/me").json()
    assert not shape_differences(vector("me")["body"], real)
    assert set(vector("me")["body"]) == set(real)


def error_401(server: LiveServer, _make: Callable[..., LiveServer]) -> Any:
    with server.client() as client:
        return client.get("/api/v1/me", headers={"Authorization": "Bearer tds_live_not_a_real_key"})


def error_402(server: LiveServer, _make: Callable[..., LiveServer]) -> Any:
    account = server.account(credits=0)
    with server.client(account) as client:
        return client.post("/api/v1/renders", json=vector("render_request")["body"])


def error_400(server: LiveServer, _make: Callable[..., LiveServer]) -> Any:
    account = server.account(credits=100)
    body = vector("render_request")["body"] | {"resolution": "9k"}
    with server.client(account) as client:
        return client.post("/api/v1/renders", json=body)


def error_429(_server: LiveServer, make: Callable[..., LiveServer]) -> Any:
    limited = make(rate_limit="1/minute")
    account = limited.account()
    with limited.client(account) as client:
        assert client.get("/api/v1/me").status_code == 200
        return client.get("/api/v1/me")


CASES = {
    "error_400": error_400,
    "error_401": error_401,
    "error_402": error_402,
    "error_429": error_429,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_error_vector_is_the_real_error(
    name: str, server: LiveServer, make_server: Callable[..., LiveServer]
) -> None:
    expected = vector(name)
    response = CASES[name](server, make_server)
    assert response.status_code == expected["status"], response.text
    real = response.json()
    assert real["error"]["code"] == expected["body"]["error"]["code"]
    assert set(real["error"]) == set(expected["body"]["error"])
    assert not shape_differences(expected["body"], real)
    for header, value in expected["headers"].items():
        assert header in response.headers, header
        if header == "Retry-After":
            assert response.headers[header].isdigit()
        else:
            assert response.headers[header] == value


def test_error_kinds_cover_every_api_error_code() -> None:
    """error_kinds.json maps every code the server can send, at its status."""
    table = vector("error_kinds")
    rows = {(row["status"], row["code"]) for row in table["by_code"]}
    errors = {
        (cls.status, cls.code)
        for _, cls in inspect.getmembers(exceptions, inspect.isclass)
        if issubclass(cls, exceptions.TdsError)
    }
    assert rows == errors | {(405, "method_not_allowed")}  # the router's own, as in docs/api.md
    kinds = {row["kind"] for row in table["by_code"] + table["by_status"]}
    assert kinds <= {
        "bad_request",
        "invalid_key",
        "no_credits",
        "plan_limit",
        "not_found",
        "too_large",
        "rate_limited",
        "server",
        "render_failed",
        "unavailable",
    }


def test_the_shape_check_notices_drift() -> None:
    done = vector("render_done")["body"]
    renamed = json.loads(json.dumps(done))
    renamed["render"]["output_url"] = renamed["render"].pop("output_image_url")
    retyped = json.loads(json.dumps(done))
    retyped["credits"] = "95"
    assert shape_differences(done, renamed) == [
        "$.render.output_image_url: missing from the server",
        "$.render.output_url: not in the vector",
    ]
    expected = "$.credits: number in the vector, string from the server"
    assert shape_differences(done, retyped) == [expected]
