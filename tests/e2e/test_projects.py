"""Project codes in the browser: the Studio's Project field is sent with the render and kept
for the next one, the gallery and the render page show it, and the Usage page's CSV download
adds up to what GET /api/v1/usage answers."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta

import httpx
from playwright.sync_api import Page, expect
from sqlalchemy import select

from tds.accounts import passwords
from tds.models import Account
from tests.e2e.conftest import screenshot
from tests.support.db import writing
from tests.support.images import FIXTURES
from tests.support.servers import LiveServer

PASSWORD = "a long enough password"
PROJECT = "2026-017 Harbour Lofts"


def _log_in(page: Page, server: LiveServer) -> str:
    """A new account with 50 credits and a password, logged in on the Studio; its API key.
    (Made as `tds admin` makes one: this test is about projects, not about signing up.)"""
    account = server.account(credits=50)
    with writing(server.runtime.db) as session:
        row = session.scalars(select(Account).where(Account.id == account.id)).one()
        row.password_hash = passwords.hash_password(PASSWORD)
    page.goto(f"{server.url}/login")
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{server.url}/studio")
    return account.key


def _render(page: Page, server: LiveServer, key: str) -> str | None:
    """Click Render; the project the server recorded on the render the Studio sent (Chromium
    does not show Playwright a multipart body with a file in it, so ask the API)."""
    details = page.locator("#details")
    before = details.get_attribute("href") if details.count() else None
    page.get_by_role("button", name="Render").click()
    if before:  # the panel still shows the last render until this one's answer comes
        expect(details).not_to_have_attribute("href", before, timeout=60_000)
    expect(page.locator("#result-title")).to_contain_text("Done", timeout=60_000)
    render_id = (page.locator("#details").get_attribute("href") or "").rsplit("/", 1)[-1]
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}) as api:
        render = api.get(f"/api/v1/renders/{render_id}").json()["render"]
    assert render["source"] == "web"
    project: str | None = render["project"]
    return project


def test_project_field_gallery_and_usage_csv(page: Page, server: LiveServer) -> None:
    key = _log_in(page, server)
    expect(page.get_by_label("Project")).to_have_value("")
    page.set_input_files("#file", str(FIXTURES / "house.png"))
    page.get_by_label("Resolution").select_option("1k")
    page.get_by_label("Project").fill(PROJECT)
    assert _render(page, server, key) == PROJECT
    expect(page.get_by_test_id("result-project")).to_have_text(f"Project: {PROJECT}")

    page.reload()  # remembered for the next render, in this browser
    expect(page.get_by_label("Project")).to_have_value(PROJECT)
    page.set_input_files("#file", str(FIXTURES / "room.png"))
    page.get_by_label("Resolution").select_option("1k")
    assert _render(page, server, key) == PROJECT  # sent again without typing it
    page.get_by_label("Project").fill("")
    page.set_input_files("#file", str(FIXTURES / "house.png"))
    page.get_by_label("Resolution").select_option("1k")
    assert _render(page, server, key) is None  # an empty field: no project
    expect(page.get_by_test_id("result-project")).to_be_hidden()
    page.reload()
    expect(page.get_by_label("Project")).to_have_value("")
    expect(page.get_by_test_id("balance")).to_have_text("35 credits")

    page.get_by_role("link", name="Gallery").click()
    expect(page.locator(".gallery .tile")).to_have_count(3)
    expect(page.get_by_test_id("card-project")).to_have_count(2)
    page.get_by_test_id("project-filter").select_option(PROJECT)
    page.get_by_role("button", name="Show").click()
    expect(page.locator(".gallery .tile")).to_have_count(2)
    expect(page.locator("h1")).to_have_text(f"Gallery · {PROJECT}")
    page.locator(".gallery .tile a").first.click()
    expect(page.get_by_test_id("render-project")).to_have_text(PROJECT)

    page.get_by_role("link", name="Usage").click()
    expect(page.get_by_test_id("total-credits")).to_have_text("15")
    expect(page.get_by_role("row", name=f"{PROJECT} 10 2")).to_be_visible()
    expect(page.get_by_role("row", name="(no project) 5 1")).to_be_visible()
    screenshot(page, "usage")
    with page.expect_download() as downloading:
        page.get_by_test_id("csv").click()
    download = downloading.value
    today = datetime.now(UTC).date()
    month = today.strftime("%Y-%m")
    following = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    assert download.suggested_filename.startswith(f"tds-usage-project-{month}-01-to-")
    with open(download.path(), encoding="utf-8", newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["project", "credits_spent", "renders"]

    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}) as api:
        answer = api.get(
            "/api/v1/usage", params={"from": f"{month}-01", "to": str(following)}
        ).json()
    assert {(r[0], int(r[1]), int(r[2])) for r in rows[1:]} == {
        (g["label"], g["credits_spent"], g["renders"]) for g in answer["data"]
    }
    assert sum(int(r[1]) for r in rows[1:]) == answer["total"]["credits_spent"] == 15
