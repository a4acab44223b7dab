"""Error pages in a real browser (issue 15, item 11): the 403 and 404 pages' links work under
the dashboard's CSP, and the browser reports no violation on the way."""

from __future__ import annotations

import itertools

from playwright.sync_api import ConsoleMessage, Page, expect

from tds.accounts import service as accounts
from tds.web import sessions
from tests.e2e.conftest import screenshot
from tests.support.db import writing
from tests.support.servers import LiveServer

_emails = (f"lost{n}@example.com" for n in itertools.count())


def _signed_in(page: Page, server: LiveServer) -> list[str]:
    """Sign the page's browser in (a session made as log-in makes one); the console's errors
    and warnings, as they come."""
    with writing(server.runtime.db) as session:
        account, _ = accounts.ensure(session, next(_emails))
        token = sessions.renew(session, None, account.id)
    page.context.add_cookies([{"name": "tds_session", "value": token, "url": server.url}])
    problems: list[str] = []

    def record(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            problems.append(message.text)

    page.on("console", record)
    return problems


def test_the_403_page_goes_back_without_a_csp_violation(page: Page, server: LiveServer) -> None:
    problems = _signed_in(page, server)
    page.goto(f"{server.url}/settings/keys")
    page.get_by_label("Name").fill("a key from a stale tab")
    # As a tab left open past its session's token would send it.
    page.locator('form[action="/settings/keys"] input[name="csrf_token"]').evaluate(
        "input => { input.value = 'out-of-date'; }"
    )
    with page.expect_response(f"{server.url}/settings/keys") as posted:
        page.get_by_role("button", name="Create key").click()
    assert posted.value.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("security token")
    screenshot(page, "error-403")

    page.get_by_role("link", name="Back to the Studio").click()
    page.wait_for_url(f"{server.url}/studio")
    expect(page.get_by_role("button", name="Render")).to_be_visible()
    assert not [text for text in problems if "Content Security Policy" in text], problems


def test_the_404_page_is_a_page_with_a_way_back(page: Page, server: LiveServer) -> None:
    problems = _signed_in(page, server)
    answer = page.goto(f"{server.url}/studio/nope")
    assert answer is not None
    assert answer.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.get_by_test_id("balance")).to_be_visible()  # the dashboard's own header
    page.get_by_role("link", name="Back to the Studio").click()
    page.wait_for_url(f"{server.url}/studio")
    assert not [text for text in problems if "Content Security Policy" in text], problems
