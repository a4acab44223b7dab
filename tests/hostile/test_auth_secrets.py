"""Keys never reach the database or the logs in full; junk keys never reach the database."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
from sqlalchemy import event

from tds.keys import tokens
from tests.support.http import assert_error
from tests.support.servers import LiveServer


def test_bad_checksum_is_refused_without_a_database_query(server: LiveServer) -> None:
    account = server.account()
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *args: Any) -> None:
        # The shared server's reaper sweeps the database on its own schedule; not the request.
        if threading.current_thread().name != "tds-reaper":
            statements.append(statement)

    junk = account.key[:-1] + ("0" if account.key[-1] != "0" else "1")
    assert not tokens.is_well_formed(junk)
    engines = (server.runtime.db.engine, server.runtime.db.read_engine)
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        with server.client() as client:
            assert_error(
                client.get("/api/v1/me", headers={"Authorization": f"Bearer {junk}"}),
                401,
                "invalid_api_key",
            )
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)
    assert statements == []


def test_keys_do_not_appear_in_the_logs(
    server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    account = server.account()
    caplog.set_level(logging.DEBUG)
    secret_url = f"http://10.0.0.1/view.png?key={account.key}"  # refused before any connect
    with server.client(account) as client:
        client.get("/api/v1/me")
        client.post("/api/v1/renders", json={"image_url": secret_url})
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {account.key}x"})
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert account.key not in logged
    assert account.key[9:-4] not in logged  # not even the random middle
