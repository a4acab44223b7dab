"""The team page in Chromium at desktop and phone sizes: an owner gives a member a monthly cap
and invites a colleague; nothing on the page runs wider than the screen."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tds.accounts import passwords
from tds.models import Account, TeamMember
from tests.e2e.conftest import screenshot
from tests.support.db import reading, writing
from tests.support.servers import LiveServer
from tests.support.smtp import wait_in_outbox
from tests.support.teams import team

PASSWORD = "a long enough password"
SIZES = {"desktop": (1280, 860), "phone": (390, 844)}


@pytest.mark.parametrize("size", SIZES)
def test_an_owner_caps_a_member_and_invites_on_any_screen(
    browser: Browser, server: LiveServer, size: str
) -> None:
    studio = team(server)
    with writing(server.runtime.db) as session:
        session.get_one(Account, studio.owner.id).password_hash = passwords.hash_password(PASSWORD)
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(f"{server.url}/login")
        page.get_by_label("Email").fill(studio.owner.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{server.url}/studio")
        page.get_by_role("link", name="Team").click()
        page.wait_for_url(f"{server.url}/team")
        expect(page.get_by_test_id("team-credits")).to_contain_text("100 available")

        page.get_by_label(f"Monthly cap of {studio.member.email}").fill("40")
        page.locator(f'tr[data-member="{studio.member.email}"]').get_by_role(
            "button", name="Save"
        ).click()
        page.wait_for_url(f"{server.url}/team?done=saved")
        expect(page.get_by_test_id("team-notice")).to_contain_text("Saved")
        expect(page.get_by_label(f"Monthly cap of {studio.member.email}")).to_have_value("40")

        page.get_by_label("Email").fill(f"{size}-colleague@studio.example")
        page.get_by_role("button", name="Send invitation").click()
        page.wait_for_url(f"{server.url}/team?done=invited")
        overflow = page.evaluate(
            "document.scrollingElement.scrollWidth - document.documentElement.clientWidth"
        )
        wide = page.evaluate(
            """[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right
            > document.documentElement.clientWidth + 1).slice(0, 8).map(e => e.tagName + '.'
            + e.className + '#' + e.id + ' ' + Math.round(e.getBoundingClientRect().right))"""
        )
        assert overflow <= 0, f"the page is {overflow}px wider than a {width}px screen: {wide}"
        screenshot(page, f"team-{size}")
    finally:
        context.close()
    with reading(server.runtime.db) as session:
        assert session.get_one(TeamMember, (studio.owner.id, studio.member.id)).monthly_cap == 40


def test_an_invitation_link_is_accepted_in_the_browser(page: Page, server: LiveServer) -> None:
    studio = team(server)
    guest = server.account(credits=0)
    with writing(server.runtime.db) as session:
        session.get_one(Account, guest.id).password_hash = passwords.hash_password(PASSWORD)
    with server.client(studio.owner) as api:
        sent = api.post("/api/v1/team/invitations", json={"email": guest.email})
        assert sent.status_code == 201, sent.text
    token = wait_in_outbox(server.settings.data_dir, guest.email).token("/team/join")

    page.goto(f"{server.url}/team/join?token={token}")
    expect(page.get_by_test_id("invitation")).to_contain_text(guest.email)
    page.get_by_role("link", name=f"Log in as {guest.email}").click()
    page.get_by_label("Email").fill(guest.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{server.url}/team/join?token={token}")
    page.get_by_role("button", name="Join").click()  # a form post from a page with a token
    page.wait_for_url(f"{server.url}/team?done=joined")
    expect(page.get_by_test_id("team-credits")).to_contain_text("100 available")
    with reading(server.runtime.db) as session:
        assert session.get(TeamMember, (studio.owner.id, guest.id)) is not None
