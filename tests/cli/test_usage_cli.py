"""Project codes from the shell: `tds render --project`, `tds list --project`, and `tds usage`
as a table, JSON and CSV, each adding up to what GET /api/v1/usage answers."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from tds.cli.main import app
from tds.cli.usage_commands import month_window, safe_cell
from tds.client import Client
from tests.client.helpers import make_images
from tests.support.accounts import Account
from tests.support.engines import ResizeEngine
from tests.support.images import png_bytes
from tests.support.servers import LiveServer

MakeServer = Callable[..., LiveServer]
runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_user_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TDS_API_KEY", raising=False)
    monkeypatch.delenv("TDS_BASE_URL", raising=False)
    monkeypatch.setenv("TDS_CONFIG", str(tmp_path / "home" / "config.json"))


@pytest.fixture
def live(make_server: MakeServer) -> LiveServer:
    return make_server(ResizeEngine())


def tds(*args: str) -> Result:
    return runner.invoke(app, list(args))


def with_key(live: LiveServer, account: Account) -> list[str]:
    return ["--api-key", account.key, "--base-url", live.url]


def api_usage(live: LiveServer, account: Account, **params: str) -> Any:
    with live.client(account) as http:
        return http.get("/api/v1/usage", params=params).json()


def test_render_and_list_with_a_project(live: LiveServer, tmp_path: Path) -> None:
    account = live.account(credits=100, plan="pro")
    key = with_key(live, account)
    images = [str(p) for p in make_images(tmp_path / "in", 2)]
    done = tds(
        "render", *images, "--project", "2026-017 Harbour Lofts", "--resolution", "1k",
        "-o", str(tmp_path / "out"), "--json", *key,
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    ids = {r["render_id"] for r in json.loads(done.stdout)["results"]}
    sdk = Client(account.key, base_url=live.url)
    assert {sdk.get_render(i).project for i in ids} == {"2026-017 Harbour Lofts"}
    other = sdk.render(png_bytes(), resolution="1k")

    listed = tds("list", "--project", "2026-017 Harbour Lofts", "--json", *key)
    assert listed.exit_code == 0, listed.output
    assert {r["id"] for r in json.loads(listed.stdout)["data"]} == ids
    shown = tds("list", "--project", "2026-017 Harbour Lofts", "--limit", "1", *key)
    assert "2026-017 Harbour Lofts" in shown.stdout.splitlines()[1]
    assert "more: tds list --starting-after rnd_" in shown.stdout
    assert "--project '2026-017 Harbour Lofts'" in shown.stdout
    one = tds("get", next(iter(ids)), *key)
    assert "project  2026-017 Harbour Lofts" in one.stdout
    assert "project" not in tds("get", other.id, *key).stdout

    bad = tds("render", images[0], "--project", "   ", "-o", str(tmp_path / "x"), *key)
    assert bad.exit_code == 1
    assert "project" in bad.stdout
    assert live.assert_books_balanced(account).credits == 100 - 15


def test_usage_table_json_and_csv_add_up_to_the_api(live: LiveServer) -> None:
    account = live.account(credits=300, plan="pro")
    key = with_key(live, account)
    sdk = Client(account.key, base_url=live.url)
    for project, resolution in (
        ('=HYPERLINK("http://evil")', "1k"),
        ("Mill Street", "2k"),
        ("Mill Street", "1k"),
        ("-2 discount", "1k"),
        (None, "1k"),
    ):
        sdk.render(png_bytes(), resolution=resolution, project=project)

    as_json = tds("usage", "--json", *key)
    assert as_json.exit_code == 0, as_json.output
    document = json.loads(as_json.stdout)
    api = api_usage(live, account, **{"from": document["from"], "to": document["to"]})
    assert document == api
    assert document["total"] == {"credits_spent": 30, "renders": 5}

    text = tds("usage", *key)
    assert text.exit_code == 0, text.output
    lines = text.stdout.splitlines()
    assert lines[0].startswith("Usage by project, ")
    assert lines[2].split() == ["PROJECT", "CREDITS", "RENDERS"]
    assert lines[3].split() == ["Mill", "Street", "15", "2"]
    assert lines[-1].split() == ["TOTAL", "30", "5"]
    assert any(line.split()[:2] == ["(no", "project)"] for line in lines)

    as_csv = tds("usage", "--csv", *key)
    assert as_csv.exit_code == 0, as_csv.output
    rows = list(csv.reader(io.StringIO(as_csv.stdout)))
    assert rows[0] == ["project", "credits_spent", "renders"]
    by_label = {row[0]: (int(row[1]), int(row[2])) for row in rows[1:]}
    assert by_label == {
        '\'=HYPERLINK("http://evil")': (5, 1),  # quoted: a sheet shows it, never runs it
        "Mill Street": (15, 2),
        "'-2 discount": (5, 1),
        "(no project)": (5, 1),
    }
    assert sum(c for c, _ in by_label.values()) == api["total"]["credits_spent"]
    assert sum(n for _, n in by_label.values()) == api["total"]["renders"]

    members = tds("usage", "--group-by", "member", "--csv", *key)
    assert list(csv.reader(io.StringIO(members.stdout))) == [
        ["member", "member_id", "credits_spent", "renders"],
        [account.email, account.id, "30", "5"],
    ]
    assert live.assert_books_balanced(account).credits == 270


def test_usage_windows_and_usage_errors(live: LiveServer) -> None:
    account = live.account(credits=20)
    key = with_key(live, account)
    Client(account.key, base_url=live.url).render(png_bytes(), resolution="1k", project="P")

    old = tds("usage", "--month", "2020-02", "--json", *key)
    assert old.exit_code == 0, old.output
    document = json.loads(old.stdout)
    assert (document["from"], document["to"]) == ("2020-02-01T00:00:00Z", "2020-03-01T00:00:00Z")
    assert document["data"] == []
    ranged = tds("usage", "--from", "2020-01-01", "--to", "2100-01-01", "--json", *key)
    assert json.loads(ranged.stdout)["total"] == {"credits_spent": 5, "renders": 1}

    backwards = tds("usage", "--from", "2026-12-02", "--to", "2026-12-01", "--json", *key)
    assert backwards.exit_code == 1
    assert json.loads(backwards.stdout)["error"]["param"] == "from"
    for args in (
        ["--group-by", "key"],
        ["--month", "2026-13"],
        ["--month", "2026-12", "--from", "2026-12-01"],
        ["--csv", "--json"],
    ):
        refused = tds("usage", *args, *key)
        assert refused.exit_code == 2, args

    assert month_window("2026-12") == ("2026-12-01", "2027-01-01")
    assert month_window("2027-02") == ("2027-02-01", "2027-03-01")
    assert [safe_cell(v) for v in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "a=b", "")] == [
        "'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", "a=b", "",
    ]  # fmt: skip

    shown = tds("usage", "--help")
    assert shown.exit_code == 0
    for option in ("--group-by", "--from", "--to", "--month", "--csv", "--json"):
        assert option in shown.stdout, option
