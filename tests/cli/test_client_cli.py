"""`tds login|me|styles|render|get|list|cancel` against real servers on loopback."""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner, Result

from tds.cli import connection
from tds.cli.main import app
from tds.client import Client
from tds.models import Render as RenderRow
from tests.client.helpers import PeakEngine, closed_port, make_images
from tests.support.accounts import Account
from tests.support.db import reading
from tests.support.engines import GateEngine, ResizeEngine
from tests.support.servers import LiveServer

MakeServer = Callable[..., LiveServer]
runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_user_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.delenv("TDS_API_KEY", raising=False)
    monkeypatch.delenv("TDS_BASE_URL", raising=False)
    config = tmp_path / "home" / "config.json"
    monkeypatch.setenv("TDS_CONFIG", str(config))
    return config


@pytest.fixture
def live(make_server: MakeServer) -> LiveServer:
    return make_server(ResizeEngine())


def tds(*args: str, input: str | None = None) -> Result:
    return runner.invoke(app, list(args), input=input)


def with_key(live: LiveServer, account: Account) -> list[str]:
    return ["--api-key", account.key, "--base-url", live.url]


def render_count(live: LiveServer, account: Account) -> int:
    with reading(live.runtime.db) as session:
        return session.query(RenderRow).filter(RenderRow.account_id == account.id).count()


def parse(result: Result) -> Any:
    return json.loads(result.stdout)


def test_login_stores_a_private_config_that_later_commands_use(live: LiveServer) -> None:
    account = live.account(credits=30, plan="pro")
    config = Path(os.environ["TDS_CONFIG"])
    config.parent.mkdir()
    config.write_text("{ a config file broken by hand")  # login replaces it
    logged_in = tds("login", "--base-url", live.url, input=account.key + "\n")
    assert logged_in.exit_code == 0, logged_in.output
    assert f"as {account.email} (Pro plan, 30 credits)" in logged_in.stdout
    assert config.stat().st_mode & 0o777 == 0o600
    assert json.loads(config.read_text()) == {"api_key": account.key, "base_url": live.url}

    me = tds("me", "--json")  # no key, no URL: both from the config
    assert me.exit_code == 0, me.output
    assert (parse(me)["email"], parse(me)["credits"]) == (account.email, 30)
    text = tds("me")
    assert account.email in text.stdout
    assert "30 available, 0 held" in text.stdout

    refused = tds("login", "--api-key", "tds_live_" + "x" * 38, "--base-url", live.url)
    assert refused.exit_code == 1
    assert "invalid_api_key" in refused.stderr
    assert json.loads(config.read_text())["api_key"] == account.key  # unchanged

    again = tds("login", "--api-key", account.key, "--base-url", live.url, "--json")
    assert again.exit_code == 0, again.output
    assert parse(again)["account"]["email"] == account.email
    assert parse(again)["config"] == str(config)


def test_styles_get_list_and_cancel(make_server: MakeServer, tmp_path: Path) -> None:
    engine = GateEngine()
    live = make_server(engine)
    account = live.account(credits=50, plan="pro")
    key = with_key(live, account)

    styles = tds("styles", *key, "--json")
    assert styles.exit_code == 0, styles.output
    assert parse(styles)["costs"]["render"]["1k"] == 5
    text = tds("styles", *key)
    assert "Golden Hour" in text.stdout
    assert re.search(r"render +gate +not generative +5 +10 +20", text.stdout), text.stdout
    assert re.search(r"staging +- +- +8", text.stdout), text.stdout

    sdk = Client(account.key, base_url=live.url)
    queued = sdk.render(make_images(tmp_path / "in", 1)[0], resolution="1k", wait=False)
    assert engine.started.acquire(timeout=10)
    shown = tds("get", queued.id, *key)
    assert f"{queued.id}  processing" in shown.stdout
    canceled = tds("cancel", queued.id, *key, "--json")
    assert canceled.exit_code == 0, canceled.output
    assert (parse(canceled)["render"]["status"], parse(canceled)["credits"]) == ("canceled", 50)
    twice = tds("cancel", queued.id, *key)
    assert twice.exit_code == 1
    assert "render_finished" in twice.stderr
    no_output = tds("get", queued.id, *key, "-o", str(tmp_path / "x.jpg"))
    assert no_output.exit_code == 1
    assert "no output" in no_output.stderr

    engine.gate.set()
    done = sdk.render(make_images(tmp_path / "in", 1)[0], resolution="1k")
    got = tds("get", done.id, *key, "--json")
    assert parse(got)["render"]["id"] == done.id
    assert parse(got)["files"] == []
    to_file = tds("get", done.id, *key, "-o", str(tmp_path / "one.jpg"))
    assert to_file.exit_code == 0, to_file.output
    with Image.open(tmp_path / "one.jpg") as saved:
        assert saved.format == "JPEG"
    (tmp_path / "dir").mkdir()
    to_dir = tds("get", done.id, *key, "-o", str(tmp_path / "dir"), "--wait", "--json")
    assert parse(to_dir)["files"] == [str(tmp_path / "dir" / f"{done.id}.jpg")]

    listed = tds("list", *key, "--json", "--limit", "1")
    assert [r["id"] for r in parse(listed)["data"]] == [done.id]
    assert parse(listed)["has_more"] is True
    table = tds("list", *key)
    assert table.stdout.splitlines()[0].split() == [
        "ID",
        "STATUS",
        "KIND",
        "SIZE",
        "CREDITS",
        "CREATED",
        "PROJECT",
        "OUTPUT",
    ]
    assert f"{queued.id}  canceled" in table.stdout
    assert f"{done.id}  done" in table.stdout

    missing = tds("get", "rnd_nope", *key, "--json")
    assert missing.exit_code == 1
    assert parse(missing) == {
        "error": {
            "code": "not_found",
            "message": "No render with the id rnd_nope.",
            "status": 404,
            "param": "render_id",
        }
    }
    assert live.assert_books_balanced(account).credits == 45


def test_a_batch_of_20_with_concurrency_4(make_server: MakeServer, tmp_path: Path) -> None:
    """As a pipeline runs it: a real process, its --json output parsed."""
    engine = PeakEngine(expect=4)
    live = make_server(engine, workers=8)
    account = live.account(credits=100, plan="studio")  # 16 at once: the CLI sets the pace
    images = make_images(tmp_path / "captures", 20)
    (tmp_path / "captures" / "notes.txt").write_text("not an image: folders take images only")
    out = tmp_path / "renders"
    env = os.environ | {"TDS_API_KEY": account.key, "TDS_BASE_URL": live.url}
    done = subprocess.run(
        [
            *(sys.executable, "-m", "tds", "render", str(tmp_path / "captures")),
            *("--resolution", "1k", "--style", "Modern", "--concurrency", "4"),
            *("-o", str(out), "--json"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no progress bar in --json mode
    report = json.loads(done.stdout)
    assert (report["done"], report["failed"], report["skipped"]) == (20, 0, 0)
    assert (report["credits_spent"], report["credits_left"]) == (100, 0)
    assert [r["input"] for r in report["results"]] == [str(p) for p in images]
    for image, result in zip(images, report["results"], strict=True):
        assert result["status"] == "done"
        assert result["credits"] == 5
        assert result["render_id"].startswith("rnd_")
        assert result["output"] == str(out / f"{image.stem}.render.jpg")
        with Image.open(result["output"]) as output:
            assert output.format == "JPEG"
            assert max(output.size) == 1024
    assert engine.peak == 4
    assert render_count(live, account) == 20
    assert live.assert_books_balanced(account).credits == 0


def test_failures_exit_1_with_a_table_of_reasons(live: LiveServer, tmp_path: Path) -> None:
    account = live.account(credits=10)  # two 1k renders
    folder = tmp_path / "captures"
    make_images(folder, 3)
    (folder / "broken.png").write_text("a text file with a .png name")
    args = ["render", str(folder), "--resolution", "1k", "-o", str(tmp_path / "out")]
    keyless = tds(*args)
    assert keyless.exit_code == 1  # no key anywhere: refused before anything was sent
    assert "invalid_api_key" in keyless.stderr

    result = tds(*args, *with_key(live, account))
    assert result.exit_code == 1, result.output
    table = result.stdout.splitlines()
    assert table[0].split() == ["FILE", "STATUS", "CREDITS", "OUTPUT", "/", "REASON"]
    rows = {line.split()[0]: line for line in table[1:5]}
    assert "failed  0        invalid_image:" in rows[str(folder / "broken.png")]
    reasons = [line.split()[1] for line in table[1:5]]
    assert sorted(reasons) == ["done", "done", "failed", "failed"]
    assert "insufficient_credits: This costs 5 credits" in result.stdout
    assert table[-1] == "2 done, 2 failed; 10 credits spent, 0 left."
    assert result.stderr.count("[") == 4  # one log line per file, without a terminal
    assert live.assert_books_balanced(account).credits == 0


def test_an_option_every_file_would_fail_stops_the_batch(live: LiveServer, tmp_path: Path) -> None:
    account = live.account(credits=100)
    make_images(tmp_path / "in", 4)
    result = tds(
        "render",
        str(tmp_path / "in"),
        "--style",
        "no such style",
        "--concurrency",
        "1",
        "--json",
        *with_key(live, account),
    )
    assert result.exit_code == 1
    report = parse(result)
    first, *rest = report["results"]
    assert first["error"]["code"] == "invalid_request"
    assert "architectural_style" in first["error"]["message"]
    assert all(r["error"]["message"].startswith("not sent: ") for r in rest)
    assert (report["failed"], report["credits_spent"]) == (4, 0)
    assert render_count(live, account) == 0


def test_names_globs_refine_by_id_skip_existing_and_progress(
    live: LiveServer, tmp_path: Path
) -> None:
    account = live.account(credits=100, plan="pro")
    key = with_key(live, account)
    a, b = make_images(tmp_path / "a", 1)[0], make_images(tmp_path / "b", 1)[0]
    nested = make_images(tmp_path / "a" / "nested", 1)[0]
    out = tmp_path / "out"

    first = tds(
        "render", str(a), str(b), str(a), "--resolution", "1k", "-o", str(out), "--json", *key
    )
    assert first.exit_code == 0, first.output
    outputs = [r["output"] for r in parse(first)["results"]]
    assert outputs == [str(out / "view01.render.jpg"), str(out / "view01-2.render.jpg")]

    flat = tds("render", str(tmp_path / "a"), "--skip-existing", "-o", str(out), "--json", *key)
    assert [r["status"] for r in parse(flat)["results"]] == ["skipped"]
    assert parse(flat)["credits_spent"] == 0
    deep = tds(
        "render", str(tmp_path / "a" / "*.png"), "--recursive", "--json", "-o", str(out), *key
    )
    assert [r["input"] for r in parse(deep)["results"]] == [str(a)]
    deep = tds("render", str(tmp_path / "a"), "--recursive", "--json", "-o", str(out), *key)
    assert [(r["input"], r["output"]) for r in parse(deep)["results"]] == [
        (str(nested), str(out / "nested" / "view01.render.jpg")),  # the tree is mirrored
        (str(a), str(out / "view01.render.jpg")),
    ]

    parent = parse(first)["results"][0]["render_id"]
    refined = tds(
        "render",
        parent,
        "--kind",
        "refine",
        "--prompt",
        "more trees",
        "--resolution",
        "1k",
        "--progress",
        "-o",
        str(out),
        *key,
    )
    assert refined.exit_code == 0, refined.output
    assert (out / f"{parent}.refine.jpg").is_file()
    assert f"{parent}.refine.jpg" in refined.stdout
    assert "[1/1] done" in refined.stderr  # printed above the bar
    assert refined.stdout.splitlines()[-1].startswith("1 done, 0 failed; 3 credits spent")
    assert Client(account.key, base_url=live.url).list_renders(limit=1)[0].parent_id == parent
    live.assert_books_balanced(account)


def test_usage_errors_exit_2_and_api_errors_exit_1(
    live: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = live.account(credits=10)
    key = with_key(live, account)
    missing = tds("render", str(tmp_path / "nope.png"), *key)
    assert missing.exit_code == 2
    assert "no such file or folder" in missing.output
    (tmp_path / "empty").mkdir()
    empty = tds("render", str(tmp_path / "empty"), *key)
    assert empty.exit_code == 2
    assert "no images" in empty.output
    kind = tds("render", str(tmp_path / "empty"), "--kind", "sculpture", *key)
    assert kind.exit_code == 2

    monkeypatch.setattr(connection, "Client", functools.partial(Client, backoff=0.001))
    down = tds("me", "--base-url", f"http://127.0.0.1:{closed_port()}", "--api-key", "k", "--json")
    assert down.exit_code == 1
    assert parse(down)["error"]["code"] == "connection_error"
    assert "Is the server running" in down.stderr


def test_help_explains_with_examples() -> None:
    top = tds("--help")
    for command in ("login", "me", "styles", "render", "get", "list", "cancel", "usage"):
        assert command in top.stdout
    for command in ("login", "render", "get", "list", "me", "styles", "cancel", "usage"):
        shown = tds(command, "--help")
        assert shown.exit_code == 0
        assert "Example" in shown.stdout, command
        assert "--json" in shown.stdout, command
