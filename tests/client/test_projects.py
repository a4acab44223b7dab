"""tds.client and project codes: `project` sent only when given, read back on the Render,
the renders list filtered by it, and usage() typed and equal to the API's own answer."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from tds.client import Client, InvalidRequest, Usage, UsageGroup
from tests.client.helpers import Scripted, StubServer
from tests.support.images import png_bytes
from tests.support.servers import LiveServer

RENDER_BODY = {"render": {"id": "rnd_stub", "status": "queued", "kind": "render"}, "credits": 9}


def test_project_is_sent_only_when_given() -> None:
    with StubServer(Scripted(200, RENDER_BODY), Scripted(200, RENDER_BODY)) as stub:
        client = Client("tds_live_x", base_url=stub.url)
        plain = client.render(png_bytes(), wait=False)
        billed = client.render(png_bytes(), wait=False, project="2026-017 Harbour Lofts")
    bodies = [json.loads(body) for _, _, _, body in stub.requests]
    assert "project" not in bodies[0]
    assert bodies[1]["project"] == "2026-017 Harbour Lofts"
    assert (plain.project, billed.project) == (None, None)  # the stub's answer has none


def test_render_list_and_usage_by_project(live: LiveServer) -> None:
    account = live.account(credits=200, plan="pro")
    client = Client(account.key, base_url=live.url)
    harbour = [
        client.render(png_bytes(), resolution="1k", project="2026-017 Harbour Lofts")
        for _ in range(2)
    ]
    mill = client.render(png_bytes(), resolution="2k", project="  Mill Street ")
    bare = client.render(png_bytes(), resolution="1k")
    refined = client.render(harbour[0], kind="refine", resolution="1k", project="Mill Street")

    assert [r.project for r in harbour] == ["2026-017 Harbour Lofts"] * 2
    assert mill.project == "Mill Street"  # trimmed by the server
    assert bare.project is None
    assert refined.project == "Mill Street"
    assert client.get_render(mill.id).project == "Mill Street"

    listed = client.list_renders(limit=10, project="Mill Street")
    assert [r.id for r in listed] == [refined.id, mill.id]
    assert [r.id for r in client.iter_renders(page_size=1, project="2026-017 Harbour Lofts")] == [
        harbour[1].id,
        harbour[0].id,
    ]

    report = client.usage()
    assert isinstance(report, Usage)
    assert report.group_by == "project"
    assert report.data == [
        UsageGroup("Mill Street", "Mill Street", 10 + 3, 2),
        UsageGroup("2026-017 Harbour Lofts", "2026-017 Harbour Lofts", 10, 2),
        UsageGroup(None, "(no project)", 5, 1),
    ]
    assert (report.total.credits_spent, report.total.renders) == (28, 5)
    assert report.start is not None
    assert (report.start.day, report.start.hour, report.start.tzinfo) == (1, 0, UTC)
    assert report.end is not None
    assert report.end.tzinfo is not None

    with live.client(account) as http:
        answer = http.get("/api/v1/usage", params={"group_by": "member"}).json()
    by_member = client.usage("member")
    assert by_member.raw == answer | {"to": by_member.raw["to"]}  # `to` defaults to now
    assert [(g.group, g.label, g.credits_spent) for g in by_member] == [
        (account.id, account.email, 28)
    ]
    assert live.assert_books_balanced(account).credits == 200 - 28


def test_usage_windows_from_dates_datetimes_and_strings(live: LiveServer) -> None:
    account = live.account(credits=50)
    client = Client(account.key, base_url=live.url)
    client.render(png_bytes(), resolution="1k", project="P")
    today = datetime.now(UTC).date()
    tomorrow = today + timedelta(days=1)

    by_dates = client.usage(start=today, end=tomorrow)
    assert (by_dates.start, by_dates.end) == (
        datetime(today.year, today.month, today.day, tzinfo=UTC),
        datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=UTC),
    )
    assert by_dates.total.credits_spent == 5
    naive = client.usage(start=datetime(today.year, today.month, today.day), end=tomorrow)
    assert naive.start == by_dates.start  # a naive date-time is UTC
    before = client.usage(start="2020-01-01", end=date(2020, 2, 1))
    assert (before.data, before.total.credits_spent, before.total.renders) == ([], 0, 0)

    with pytest.raises(InvalidRequest) as backwards:
        client.usage(start=tomorrow, end=today)
    assert backwards.value.param == "from"
    with pytest.raises(InvalidRequest) as grouping:
        client.usage("key")
    assert grouping.value.param == "group_by"
    with pytest.raises(InvalidRequest) as bad:
        client.render(png_bytes(), resolution="1k", project="line\nbreak")
    assert bad.value.param == "project"
    assert live.assert_books_balanced(account).credits == 45
