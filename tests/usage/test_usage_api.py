"""GET /api/v1/usage: credits spent and renders per project or per member, adding up to the
ledger; refunded renders spend nothing; the window is [from, to)."""

from __future__ import annotations

import base64
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tds.engines.base import EngineError, Job, Output, Progress
from tds.models import LedgerEntry
from tests.support.accounts import Account
from tests.support.db import reading
from tests.support.engines import ResizeEngine
from tests.support.http import assert_error
from tests.support.images import png_bytes
from tests.support.servers import LiveServer

MakeServer = Callable[..., LiveServer]


class FailsOnRequest(ResizeEngine):
    """Resizes, except a render whose prompt is "fail": that one fails and is refunded."""

    name = "fails-on-request"

    def run(self, job: Job, progress: Progress) -> Output:
        if job.prompt == "fail":
            raise EngineError("out of GPU memory")
        return super().run(job, progress)


def render(client: httpx.Client, **fields: Any) -> httpx.Response:
    body = {"image_base64": base64.b64encode(png_bytes()).decode(), "resolution": "1k"} | fields
    return client.post("/api/v1/renders", json=body)


def spent_by_ledger(
    live: LiveServer, account: Account, key: str, start: datetime, end: datetime
) -> dict[str | None, tuple[int, int]]:
    """What the ledger alone says was spent in [start, end): per group, the credits the
    captured holds had taken (their hold entries) and how many captures."""
    with reading(live.runtime.db) as session:
        entries = list(
            session.scalars(select(LedgerEntry).where(LedgerEntry.account_id == account.id))
        )
    taken = {e.hold_id: -e.amount for e in entries if e.kind == "hold"}
    totals: dict[str | None, list[int]] = defaultdict(lambda: [0, 0])
    for entry in entries:
        if entry.kind == "capture" and start <= entry.created_at < end:
            group = totals[getattr(entry, key)]
            group[0] += taken[entry.hold_id]
            group[1] += 1
    return {group: (credits, count) for group, (credits, count) in totals.items()}


def as_groups(answer: dict[str, Any]) -> dict[str | None, tuple[int, int]]:
    return {row["group"]: (row["credits_spent"], row["renders"]) for row in answer["data"]}


def test_usage_by_project_and_by_member_adds_up_to_the_ledger(make_server: MakeServer) -> None:
    live = make_server(engine=FailsOnRequest())
    account = live.account(credits=1000)
    with live.client(account) as client:
        for fields in (
            {"project": "Harbour Lofts"},
            {"project": "Harbour Lofts", "resolution": "2k"},
            {"project": "  Harbour Lofts  "},  # trimmed: the same project
            {"project": "Mill Street"},
            {"project": "Mill Street", "prompt": "fail"},  # refunded: not spent
            {"project": "Only failures", "prompt": "fail"},
            {},  # no project
        ):
            response = render(client, **fields)
            assert response.status_code in (200, 502), response.text
        start = datetime.now(UTC) - timedelta(hours=1)
        end = datetime.now(UTC) + timedelta(seconds=1)
        window = {"from": start.isoformat(), "to": end.isoformat()}

        by_project = client.get("/api/v1/usage", params={"group_by": "project"} | window)
        assert by_project.status_code == 200, by_project.text
        answer = by_project.json()
        assert answer["object"] == "usage"
        assert answer["group_by"] == "project"
        assert datetime.fromisoformat(answer["from"]) == start
        assert datetime.fromisoformat(answer["to"]) == end
        one_k, two_k = 5, 10  # GET /styles: a 1k render, a 2k render
        assert as_groups(answer) == {
            "Harbour Lofts": (one_k + two_k + one_k, 3),
            "Mill Street": (one_k, 1),
            None: (one_k, 1),
        }
        assert as_groups(answer) == spent_by_ledger(live, account, "project", start, end)
        assert answer["total"] == {"credits_spent": 30, "renders": 5}
        assert [row["label"] for row in answer["data"]] == [
            "Harbour Lofts",
            "(no project)",
            "Mill Street",
        ]
        assert all(row["object"] == "usage_group" for row in answer["data"])

        by_member = client.get("/api/v1/usage", params={"group_by": "member"} | window).json()
        assert as_groups(by_member) == {account.id: (30, 5)}
        assert as_groups(by_member) == spent_by_ledger(live, account, "member_id", start, end)
        assert by_member["data"][0]["label"] == account.email
        assert by_member["total"] == answer["total"]

        # The default window, this month to now, holds them too; the default grouping is project.
        default = client.get("/api/v1/usage").json()
        assert default["group_by"] == "project"
        assert default["total"] == answer["total"]
        first = datetime.fromisoformat(default["from"])
        assert (first.day, first.hour, first.minute, first.utcoffset()) == (1, 0, 0, timedelta(0))
    live.assert_books_balanced(account)


def test_usage_is_the_callers_own(server: LiveServer) -> None:
    spender, other = server.account(credits=100), server.account(credits=100)
    with server.client(spender) as client:
        assert render(client, project="Secret tower").status_code == 200
    with server.client(other) as client:
        answer = client.get("/api/v1/usage").json()
    assert answer["data"] == []
    assert answer["total"] == {"credits_spent": 0, "renders": 0}
    server.assert_books_balanced(spender)


def test_the_window_includes_from_and_excludes_to(server: LiveServer) -> None:
    account = server.account(credits=100)
    with server.client(account) as client:
        assert render(client, project="Edge").status_code == 200
        with reading(server.runtime.db) as session:
            captured = session.scalars(
                select(LedgerEntry.created_at).where(
                    LedgerEntry.account_id == account.id, LedgerEntry.kind == "capture"
                )
            ).one()
        tick = timedelta(microseconds=1)

        def total(start: datetime, end: datetime) -> int:
            params = {"from": start.isoformat(), "to": end.isoformat()}
            response = client.get("/api/v1/usage", params=params)
            assert response.status_code == 200, response.text
            spent: int = response.json()["total"]["credits_spent"]
            return spent

        assert total(captured, captured + tick) == 5  # from is included
        assert total(captured - tick, captured) == 0  # to is excluded
        assert total(captured + tick, captured + 2 * tick) == 0
        # Dates are midnight UTC: today's spending is in [today, tomorrow), not in [.., today).
        today = captured.date()
        day = timedelta(days=1)
        by_date = client.get(
            "/api/v1/usage", params={"from": str(today), "to": str(today + day)}
        ).json()
        assert by_date["total"]["credits_spent"] == 5
        assert datetime.fromisoformat(by_date["from"]) == datetime(
            today.year, today.month, today.day, tzinfo=UTC
        )
        before = client.get(
            "/api/v1/usage", params={"from": str(today - day), "to": str(today)}
        ).json()
        assert before["total"]["credits_spent"] == 0
        # A date-time without an offset is UTC; one with an offset is converted.
        naive = captured.replace(tzinfo=None).isoformat()
        assert total(datetime.fromisoformat(naive).replace(tzinfo=UTC), captured + tick) == 5
        shifted = captured.astimezone(datetime.now().astimezone().tzinfo)
        assert total(shifted, captured + tick) == 5
    server.assert_books_balanced(account)


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"group_by": "key"}, "group_by"),
        ({"group_by": ""}, "group_by"),
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-13-01"}, "to"),
        ({"from": "2026-12-02", "to": "2026-12-01"}, "from"),
        ({"from": "2026-12-01", "to": "2026-12-01"}, "from"),  # an empty window
        ({"from": "2026-12-01T00:00:00+01:00", "to": "2026-11-30T23:00:00Z"}, "from"),
        ({"groupby": "project"}, "groupby"),
    ],
)
def test_bad_parameters_are_400_with_the_param(
    server: LiveServer, params: dict[str, str], param: str
) -> None:
    account = server.account(credits=0)
    with server.client(account) as client:
        error = assert_error(client.get("/api/v1/usage", params=params), 400, "invalid_request")
    assert error["param"] == param
    assert param in error["message"]


def test_usage_needs_a_key(server: LiveServer) -> None:
    with server.client() as client:
        assert_error(client.get("/api/v1/usage"), 401, "invalid_api_key")
