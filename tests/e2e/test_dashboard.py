"""An architect in the browser: sign up, render in the Studio, make and revoke an API key."""

from __future__ import annotations

import itertools

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.conftest import screenshot, sign_up
from tests.support.images import FIXTURES
from tests.support.servers import LiveServer

_emails = (f"architect{n}@example.com" for n in itertools.count())


def test_sign_up_then_render_in_the_studio(page: Page, server: LiveServer) -> None:
    sign_up(page, server, next(_emails))
    balance = page.get_by_test_id("balance")
    expect(balance).to_have_text("50 credits")
    # The page says plainly that the preview engine is not generative AI.
    expect(page.get_by_test_id("engine-note")).to_contain_text("not generative AI")

    page.set_input_files("#file", str(FIXTURES / "house.png"))
    page.get_by_label("Resolution").select_option("1k")
    page.get_by_label("Lighting").select_option("Golden Hour")
    expect(page.locator("#cost")).to_have_text("5")
    page.get_by_role("button", name="Render").click()

    expect(page.locator("#result-title")).to_contain_text("Done", timeout=60_000)
    expect(page.locator("#result-title")).to_contain_text("by preview · geometry kept 0.")
    expect(balance).to_have_text("45 credits")
    expect(page.locator("#after")).to_be_visible()
    assert page.locator("#after").evaluate("img => img.naturalWidth") == 1024
    screenshot(page, "studio")

    page.get_by_role("link", name="Gallery").click()
    expect(page.locator(".gallery .tile")).to_have_count(1)
    screenshot(page, "gallery")
    page.locator(".gallery .tile a").first.click()
    expect(page.locator(".status")).to_have_text("done")
    screenshot(page, "render")

    page.get_by_role("link", name="Account").click()
    expect(page.get_by_test_id("credits")).to_have_text("45 credits")
    expect(page.get_by_role("cell", name="Spent on a render")).to_be_visible()
    screenshot(page, "account")


def test_api_key_is_shown_once_works_and_revokes(page: Page, server: LiveServer) -> None:
    sign_up(page, server, next(_emails))
    page.get_by_role("link", name="API keys").click()
    page.get_by_label("Name").fill("SketchUp on my laptop")
    page.get_by_role("button", name="Create key").click()
    key = page.get_by_test_id("new-key").input_value()
    assert key.startswith("tds_live_")
    screenshot(page, "api-key-created")

    with httpx.Client(base_url=server.url) as client:
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})
        assert me.status_code == 200
        assert me.json()["credits"] == 50

        page.goto(f"{server.url}/settings/keys")
        assert key not in page.content()  # shown once, never again
        expect(page.get_by_role("cell", name=f"tds_live_…{key[-4:]}")).to_be_visible()
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Revoke").click()
        expect(page.get_by_text("revoked")).to_be_visible()
        screenshot(page, "api-keys")
        after = client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})
        assert after.status_code == 401


def test_log_out_sends_pages_to_log_in(page: Page, server: LiveServer) -> None:
    sign_up(page, server, next(_emails))
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{server.url}/login")
    screenshot(page, "login")
    for path in ("/studio", "/renders", "/settings/keys", "/account"):
        page.goto(f"{server.url}{path}")
        page.wait_for_url(f"{server.url}/login?next={path}")
    page.goto(f"{server.url}/developers")
    expect(page.get_by_role("heading", name="Render from any tool")).to_be_visible()
    expect(page.locator("pre").first).to_contain_text("Authorization: Bearer")
    assert server.url in page.content()  # curl examples name this server
    expect(page.get_by_test_id("engines")).to_contain_text("preview")
    expect(page.get_by_test_id("engines")).to_contain_text("not generative AI")
    screenshot(page, "developers")
