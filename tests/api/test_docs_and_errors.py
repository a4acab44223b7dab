"""The contract as published: OpenAPI with examples, and one error shape for everything."""

from __future__ import annotations

from typing import Any

from tests.support.engines import BrokenEngine
from tests.support.http import assert_error
from tests.support.servers import LiveServer


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref:
        resolved: dict[str, Any] = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
        return resolved
    return schema


def test_openapi_has_an_example_for_every_endpoint_and_no_422(server: LiveServer) -> None:
    with server.client() as client:
        spec = client.get("/openapi.json").json()
        assert client.get("/docs").status_code == 200
    operations = [(p, m, op) for p, ops in spec["paths"].items() for m, op in ops.items()]
    assert len(operations) >= 9
    for path, method, operation in operations:
        responses = operation["responses"]
        assert "422" not in responses, (method, path)
        if path.startswith("/files/"):
            continue
        success = next(responses[s] for s in ("200", "201") if s in responses)
        content = success["content"]["application/json"]
        schema = _resolve(spec, content.get("schema", {}))
        assert "example" in content or "examples" in schema, (method, path)
        if path.startswith("/api/v1"):
            assert "401" in responses, (method, path)
            error_schema = responses["401"]["content"]["application/json"]["schema"]
            assert error_schema["$ref"].endswith("/ErrorBody")
    create = spec["paths"]["/api/v1/renders"]["post"]
    request_schema = _resolve(spec, create["requestBody"]["content"]["application/json"]["schema"])
    assert request_schema["examples"][0]["lighting"] == "Golden Hour"
    upload_body = spec["paths"]["/api/v1/uploads"]["post"]["requestBody"]["content"]
    assert set(upload_body) == {"multipart/form-data", "application/json"}


def test_framework_errors_use_the_error_shape(server: LiveServer) -> None:
    account = server.account()
    with server.client(account) as client:
        assert_error(client.get("/api/v2/me"), 404, "not_found")
        assert_error(client.delete("/api/v1/me"), 405, "method_not_allowed")
        assert_error(client.put("/api/v1/renders"), 405, "method_not_allowed")
        assert_error(
            client.get("/api/v1/renders", params={"limit": "many"}), 400, "invalid_request"
        )
        assert_error(client.get("/api/v1/renders", params={"limit": 101}), 400, "invalid_request")


def test_healthz(server: LiveServer) -> None:
    with server.client() as client:
        health = client.get("/healthz").json()
    assert health["status"] == "ok"
    assert health["engine"] == "preview"


def test_unexpected_errors_are_500_in_the_error_shape(make_server) -> None:  # type: ignore[no-untyped-def]
    live = make_server(BrokenEngine())
    account = live.account()
    with live.client(account) as client:
        assert_error(client.get("/api/v1/styles"), 500, "internal_error")


def test_unknown_query_parameters_are_refused(server: LiveServer) -> None:
    account = server.account()
    with server.client(account) as client:
        error = assert_error(
            client.get("/api/v1/renders", params={"limt": 5}), 400, "invalid_request"
        )
        assert error["param"] == "limt"
        assert "limit" in error["message"]
        assert client.get("/api/v1/renders", params={"limit": 5}).status_code == 200
