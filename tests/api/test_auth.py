"""Bearer API keys: every way a key can be wrong answers one 401 body."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from tds.keys import service as keys
from tds.keys import tokens
from tds.keys.cache import PrincipalCache
from tds.keys.service import Principal
from tds.kit import redaction
from tds.kit.db import Base
from tds.models import ApiKey
from tests.support.db import reading, writing
from tests.support.http import assert_error
from tests.support.servers import LiveServer

ENDPOINTS = [
    ("GET", "/api/v1/me"),
    ("GET", "/api/v1/styles"),
    ("POST", "/api/v1/uploads"),
    ("POST", "/api/v1/renders"),
    ("GET", "/api/v1/renders"),
    ("GET", "/api/v1/renders/rnd_x"),
    ("POST", "/api/v1/renders/rnd_x/cancel"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_missing_key_is_401_with_www_authenticate_never_422(
    server: LiveServer, method: str, path: str
) -> None:
    with server.client() as client:
        response = client.request(method, path, json={})
    assert_error(response, 401, "invalid_api_key")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_every_bad_key_gets_the_same_body(server: LiveServer) -> None:
    account = server.account()
    good = account.key
    flipped = good[:-7] + ("A" if good[-7] != "A" else "B") + good[-6:]  # checksum now wrong
    unknown = tokens.generate()  # well formed, never issued
    bad_headers = [
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer sk_live_123"},
        {"Authorization": f"Bearer {flipped}"},
        {"Authorization": f"Bearer {unknown}"},
        {"Authorization": f"Bearer {good} extra"},
        {"Authorization": f"Bearer {good.replace('live', 'test')}"},
    ]
    bodies = set()
    with server.client() as client:
        for headers in bad_headers:
            # The request id is the one part that differs between answers: pin it.
            response = client.get("/api/v1/me", headers=headers | {"X-Request-Id": "same"})
            assert_error(response, 401, "invalid_api_key")
            bodies.add(response.text)
        assert client.get("/api/v1/me", headers=account.headers).status_code == 200
    assert len(bodies) == 1


def test_checksum_rejects_junk_offline() -> None:
    key = tokens.generate()
    assert tokens.is_well_formed(key)
    assert len(key) == 47
    assert key.startswith("tds_live_")
    assert not tokens.is_well_formed(key[:-1] + ("x" if key[-1] != "x" else "y"))
    assert not tokens.is_well_formed(key + "0")


def test_revoked_key_answers_401_once_the_auth_cache_expires(make_server) -> None:  # type: ignore[no-untyped-def]
    live = make_server(auth_cache_seconds=0.3)
    account = live.account()
    with live.client(account) as client:
        assert client.get("/api/v1/me").status_code == 200
        with writing(live.runtime.db) as session:  # as `tds admin revoke-key` does
            keys.revoke(session, account.key_id)
        time.sleep(0.4)
        assert_error(client.get("/api/v1/me"), 401, "invalid_api_key")


def test_principal_cache_forgets_a_key_at_once() -> None:
    cache = PrincipalCache(ttl=60)
    principal = Principal(
        account_id="acc_1", plan="free", key_id="key_1", member_id="acc_1", role="owner"
    )
    cache.put("digest", principal)
    assert cache.get("digest") == principal
    cache.forget("key_1")
    assert cache.get("digest") is None
    PrincipalCache(ttl=0).put("digest", principal)  # a zero TTL caches nothing


def test_only_a_keyed_digest_is_stored_and_last_use_is_recorded(server: LiveServer) -> None:
    account = server.account()
    with server.client(account) as client:
        assert client.get("/api/v1/me").status_code == 200
    with reading(server.runtime.db) as session:
        key = session.get_one(ApiKey, account.key_id)
        assert account.key not in (key.digest, key.prefix, key.last4)
        assert key.digest == tokens.digest(account.key, server.runtime.key_secret)
        assert key.last4 == account.key[-4:]
        assert key.last_used_at is not None
        for table in Base.metadata.sorted_tables:  # on every backend: no row holds the key
            assert account.key not in repr(session.execute(select(table)).all())
    sqlite_file = server.settings.data_dir / "tds.db"
    if server.settings.database_url is None:  # SQLite: not in free pages or the WAL either
        assert account.key.encode() not in sqlite_file.read_bytes()


def test_redact_hides_keys_in_text() -> None:
    key = tokens.generate()
    text = redaction.redact(f"Authorization: Bearer {key}")
    assert key not in text
    assert text.endswith(key[-4:])


def test_rate_limit_answers_429_with_retry_after(make_server) -> None:  # type: ignore[no-untyped-def]
    live = make_server(rate_limit="3/minute")
    account = live.account()
    with live.client(account) as client:
        statuses = [client.get("/api/v1/me").status_code for _ in range(3)]
        assert statuses == [200, 200, 200]
        response = client.get("/api/v1/me")
    assert_error(response, 429, "rate_limited")
    assert int(response.headers["Retry-After"]) >= 1
