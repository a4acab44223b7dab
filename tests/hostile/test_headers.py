"""Security headers and CORS policy."""

from __future__ import annotations

from tests.support.servers import LiveServer


def test_pages_get_a_strict_csp_and_cannot_be_framed(server: LiveServer) -> None:
    with server.client() as client:
        page = client.get("/login")
        api = client.get("/api/v1/me")
        docs = client.get("/docs")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert page.headers["x-frame-options"] == "DENY"
    for answer in (page, api, docs):
        assert answer.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in api.headers
    assert "content-security-policy" not in docs.headers


def test_cors_is_off_by_default(server: LiveServer) -> None:
    with server.client() as client:
        answer = client.options(
            "/api/v1/me",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
    assert "access-control-allow-origin" not in answer.headers


def test_configured_origins_may_call_the_api(make_server) -> None:  # type: ignore[no-untyped-def]
    live = make_server(cors_origins=["https://studio.example"])
    account = live.account()
    with live.client() as client:
        preflight = client.options(
            "/api/v1/renders",
            headers={
                "Origin": "https://studio.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type,idempotency-key",
            },
        )
        other = client.options(
            "/api/v1/renders",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        me = client.get(
            "/api/v1/me", headers={**account.headers, "Origin": "https://studio.example"}
        )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://studio.example"
    assert "access-control-allow-credentials" not in preflight.headers
    assert "access-control-allow-origin" not in other.headers
    assert me.headers["access-control-allow-origin"] == "https://studio.example"
