"""Headless Chromium (Debian's package, never a downloaded browser) driven by Playwright."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.support.servers import LiveServer
from tests.support.smtp import wait_in_outbox

SCREENSHOTS = Path(__file__).parents[2] / "docs" / "screenshots"
CHROMIUM_FLAGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # nothing may leave this machine
    "--disable-component-update",
    "--disable-sync",
]


# Package scope: Playwright's sync API keeps an event loop running in the main thread while it
# lives, and later tests that call asyncio.run() must not find it.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.fail("Chromium is missing: run scripts/install-test-browser (make test does).")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def sign_up(page: Page, server: LiveServer, email: str) -> None:
    """Sign up, follow the confirmation link the server kept in its outbox (no TDS_SMTP_URL),
    then log in on the page that leads to (sign-up signs nobody in by itself)."""
    page.goto(f"{server.url}/signup")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url(f"{server.url}/login")
    expect(page.get_by_test_id("signed-up")).to_contain_text(f"If {email} was new")
    mail = wait_in_outbox(server.settings.data_dir, email)
    page.goto(f"{server.url}/verify-email?token={mail.token('/verify-email')}")
    page.get_by_role("button", name="Confirm my address").click()
    page.wait_for_url(f"{server.url}/login")
    expect(page.get_by_test_id("notice")).to_contain_text("confirmed")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{server.url}/studio")


def screenshot(page: Page, name: str) -> None:
    """Into docs/screenshots when TDS_SCREENSHOTS is set (to refresh the docs), else a temp dir,
    so a test run leaves the checkout as it found it."""
    folder = (
        SCREENSHOTS
        if os.environ.get("TDS_SCREENSHOTS")
        else Path(tempfile.gettempdir()) / "tds-screenshots"
    )
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
