"""`tds admin` as a person runs it: a real process against a real data dir."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import sqlalchemy

from tds.keys import tokens
from tests.support.databases import database_url
from tests.support.db import reading
from tests.support.servers import LiveServer, make_settings


def tds(
    data_dir: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"TDS_DATA_DIR": str(data_dir)} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "tds", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_create_key_prints_the_key_alone_and_it_works(tmp_path: Path) -> None:
    tmp_path = tmp_path / "not-yet-there"  # as on a fresh clone: the data dir is made
    created = tds(tmp_path, "admin", "create-key", "--email", "a@example.com", "--credits", "100")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert created.stdout == key + "\n"
    assert tokens.is_well_formed(key)
    assert "100 credits" in created.stderr

    granted = tds(tmp_path, "admin", "grant", "--email", "a@example.com", "--credits", "5")
    assert granted.returncode == 0, granted.stderr
    assert "105 credits" in granted.stdout
    plan = tds(tmp_path, "admin", "set-plan", "--email", "A@example.com", "--plan", "studio")
    assert plan.returncode == 0, plan.stderr

    settings = make_settings(tmp_path, auth_cache_seconds=0)  # see revocation at once
    with LiveServer(settings) as live, httpx.Client(base_url=live.url) as client:
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"}).json()
        assert (me["email"], me["credits"], me["plan"]["id"]) == ("a@example.com", 105, "studio")
        with reading(live.runtime.db) as session:
            from tds.models import ApiKey

            key_id = session.query(ApiKey).one().id
        revoked = tds(tmp_path, "admin", "revoke-key", key_id)
        assert revoked.returncode == 0, revoked.stderr
        answer = client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})
        assert answer.status_code == 401


def test_new_account_without_credits_gets_its_plans_credits(tmp_path: Path) -> None:
    created = tds(tmp_path, "admin", "create-key", "--email", "b@example.com", "--plan", "pro")
    assert created.returncode == 0, created.stderr
    assert "pro, 1000 credits" in created.stderr


def test_errors_are_clear_and_exit_non_zero(tmp_path: Path) -> None:
    unknown = tds(tmp_path, "admin", "grant", "--email", "nobody@example.com", "--credits", "5")
    assert unknown.returncode == 1
    assert "No account with the email" in unknown.stderr
    bad_plan = tds(tmp_path, "admin", "create-key", "--email", "c@example.com", "--plan", "gold")
    assert bad_plan.returncode == 1
    assert "Unknown plan" in bad_plan.stderr
    bad_key = tds(tmp_path, "admin", "revoke-key", "key_nope")
    assert bad_key.returncode == 1


def test_help_lists_the_commands(tmp_path: Path) -> None:
    top = tds(tmp_path, "--help")
    assert top.returncode == 0
    assert "serve" in top.stdout
    assert "admin" in top.stdout
    admin = tds(tmp_path, "admin", "--help")
    for command in ("create-key", "grant", "set-plan", "revoke-key"):
        assert command in admin.stdout
    for command in ("create-key", "grant", "set-plan"):  # the pre-hijacking guard is explained
        help_text = tds(tmp_path, "admin", command, "--help", env={"COLUMNS": "200"}).stdout
        assert "--existing" in help_text
        assert "has not confirmed its email" in help_text


def test_migrate_creates_the_schema_on_postgresql_and_is_idempotent(tmp_path: Path) -> None:
    with database_url("postgresql", tmp_path) as url:
        env = os.environ | {"TDS_DATA_DIR": str(tmp_path), "TDS_DATABASE_URL": url}
        for _ in range(2):  # the second run finds nothing left to do
            done = subprocess.run(
                [sys.executable, "-m", "tds", "admin", "migrate"],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 0, done.stderr
            assert "up to date" in done.stdout
        engine = sqlalchemy.create_engine(url)
        try:
            tables = set(sqlalchemy.inspect(engine).get_table_names())
        finally:
            engine.dispose()
    assert {"accounts", "api_keys", "ledger_entries", "holds", "renders"} <= tables
