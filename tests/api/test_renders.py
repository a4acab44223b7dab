"""POST/GET /api/v1/renders end to end on a real server."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tds.models import Render
from tests.support.accounts import Account
from tests.support.db import reading
from tests.support.engines import CrashingEngine, FailingEngine, GateEngine, ResizeEngine
from tests.support.http import assert_error, poll
from tests.support.images import fixture_bytes, open_image, png_bytes
from tests.support.servers import LiveServer

SEED_BODY = {
    "image_url": "https://example.com/my-viewport.png",
    "scene_type": "exterior",
    "resolution": "2k",
    "architectural_style": "Modern",
    "lighting": "Golden Hour",
    "prompt": "warm evening light, lush landscaping",
    "source": "api",
}

MakeServer = Callable[..., LiveServer]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def upload(client: httpx.Client, data: bytes) -> str:
    response = client.post("/api/v1/uploads", files={"file": ("view.png", data)})
    assert response.status_code == 201, response.text
    url: str = response.json()["url"]
    return url


def render_count(live: LiveServer, account: Account) -> int:
    with reading(live.runtime.db) as session:
        return session.query(Render).filter(Render.account_id == account.id).count()


def test_seed_body_with_an_uploaded_image(server: LiveServer) -> None:
    """The developer page's example, with image_url set to an upload's URL."""
    account = server.account(credits=100)
    with server.client(account) as client:
        body = SEED_BODY | {"image_url": upload(client, fixture_bytes("house.png"))}
        response = client.post("/api/v1/renders", json=body)
        assert response.status_code == 200, response.text
        answer = response.json()
        render = answer["render"]
        assert render["status"] == "done"
        assert render["credits_used"] == 10
        assert answer["credits"] == 90
        assert render["architectural_style"] == "Modern"
        assert render["lighting"] == "Golden Hour"
        output = client.get(render["output_image_url"])
        assert output.headers["content-type"] == "image/jpeg"
        assert max(open_image(output.content).size) == 2048
        assert client.get("/api/v1/me").json()["credits"] == 90
        fetched = client.get(f"/api/v1/renders/{render['id']}").json()
        assert fetched["render"]["status"] == "done"
        assert fetched["render"]["output_image_url"] == render["output_image_url"]
    server.assert_books_balanced(account)


def test_base64_source_keeps_aspect_ratio(server: LiveServer) -> None:
    account = server.account(credits=100)
    with server.client(account) as client:
        response = client.post(
            "/api/v1/renders",
            json={"image_base64": b64(fixture_bytes("building.png")), "resolution": "1k"},
        )
    assert response.status_code == 200, response.text
    render = response.json()["render"]
    assert (render["width"], render["height"]) == (682, 1024)
    assert render["credits_used"] == 5


def test_image_url_is_fetched_from_a_test_origin(make_server: MakeServer) -> None:
    import http.server

    from tds.fetch.fetcher import ImageFetcher

    data = png_bytes(200, 100)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    origin = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=origin.serve_forever, daemon=True).start()
    port = origin.server_address[1]

    async def resolve(host: str, _port: int) -> list[str]:
        assert host == "images.test"
        return ["127.0.0.1"]

    fetcher = ImageFetcher(
        max_bytes=1_000_000,
        resolver=resolve,
        policy=lambda ip: str(ip) == "127.0.0.1",  # this test's origin only
        allowed_ports={port},
    )
    live = make_server(ResizeEngine(), fetcher=fetcher)
    account = live.account()
    try:
        with live.client(account) as client:
            response = client.post(
                "/api/v1/renders",
                json={"image_url": f"http://images.test:{port}/view.png", "resolution": "1k"},
            )
    finally:
        origin.shutdown()
        origin.server_close()
    assert response.status_code == 200, response.text
    assert (response.json()["render"]["width"], response.json()["render"]["height"]) == (1024, 512)


def test_loopback_image_url_is_refused_like_any_unfetchable_url(server: LiveServer) -> None:
    account = server.account()
    with server.client(account) as client:
        answers = [  # one pinned request id, the one part that may differ between answers
            client.post("/api/v1/renders", json={"image_url": url}, headers={"X-Request-Id": "r"})
            for url in (
                "http://127.0.0.1:9/x.png",
                "http://169.254.169.254/latest/meta-data/",
                "file:///etc/passwd",
                f"{server.url}/files/uploads/{'a' * 32}.png",  # ours, but no such file
            )
        ]
    for answer in answers:
        assert_error(answer, 400, "image_url_unfetchable")
    assert len({answer.text for answer in answers}) == 1
    assert server.books(account).credits == 100
    assert render_count(server, account) == 0


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({}, None),
        ({"image_base64": "AAAA", "image_url": "https://a.test/x.png"}, None),
        ({"render_id": "rnd_x"}, None),  # kind render needs an image
        ({"image_base64": "AAAA", "architectural_style": "Gothic Revival"}, "architectural_style"),
        ({"image_base64": "AAAA", "lighting": "disco"}, "lighting"),
        ({"image_base64": "AAAA", "scene_type": "underwater"}, "scene_type"),
        ({"image_base64": "AAAA", "resolution": "8k"}, "resolution"),
        ({"image_base64": "AAAA", "kind": "paint"}, "kind"),
        ({"image_base64": "AAAA", "seed": -1}, "seed"),
        ({"image_base64": "AAAA", "geometry_fidelity": 2}, "geometry_fidelity"),
        ({"image_base64": "AAAA", "prompt": "x" * 2001}, "prompt"),
        ({"image_base64": "AAAA", "colour": "red"}, "colour"),
        ({"image_base64": "AAAA", "source": "Not A Slug!"}, "source"),
    ],
)
def test_validation_errors_are_400_with_a_param(
    server: LiveServer, body: dict[str, Any], param: str | None
) -> None:
    account = server.account()
    with server.client(account) as client:
        error = assert_error(client.post("/api/v1/renders", json=body), 400, "invalid_request")
    if param:
        assert error["param"] == param
        assert param in error["message"]
    assert server.books(account).credits == 100


def test_malformed_bodies_are_400(server: LiveServer) -> None:
    account = server.account()
    with server.client(account) as client:
        for content in (b"{not json", b"[]", b'"text"', b"\xff\xfe"):
            response = client.post(
                "/api/v1/renders", content=content, headers={"content-type": "application/json"}
            )
            assert_error(response, 400, "invalid_request")
        assert_error(
            client.post("/api/v1/renders", json={"image_base64": "%%%"}), 400, "invalid_image"
        )


def test_plan_limits_are_403_before_any_credit_is_held(server: LiveServer) -> None:
    account = server.account(plan="free")
    source = b64(png_bytes())
    with server.client(account) as client:
        four_k = client.post("/api/v1/renders", json={"image_base64": source, "resolution": "4k"})
        video = client.post(
            "/api/v1/renders", json={"image_base64": source, "kind": "video", "resolution": "1k"}
        )
    assert assert_error(four_k, 403, "plan_limit")["param"] == "resolution"
    assert assert_error(video, 403, "plan_limit")["param"] == "kind"
    assert server.books(account).credits == 100
    assert render_count(server, account) == 0


def test_staging_is_unavailable_on_the_preview_engine(server: LiveServer) -> None:
    account = server.account(plan="studio")
    with server.client(account) as client:
        response = client.post(
            "/api/v1/renders", json={"image_base64": b64(png_bytes()), "kind": "staging"}
        )
    assert_error(response, 400, "kind_unavailable")
    assert server.books(account).credits == 100


def test_insufficient_credits_is_402_and_creates_nothing(server: LiveServer) -> None:
    account = server.account(credits=9)
    files_before = set(server.settings.files_dir.rglob("*"))
    with server.client(account) as client:
        response = client.post("/api/v1/renders", json={"image_base64": b64(png_bytes())})
    error = assert_error(response, 402, "insufficient_credits")
    assert "10" in error["message"]
    assert render_count(server, account) == 0
    assert set(server.settings.files_dir.rglob("*")) == files_before
    books = server.assert_books_balanced(account)
    assert books.credits == 9


@pytest.mark.parametrize("engine", [FailingEngine, CrashingEngine])
def test_engine_failure_is_502_and_refunds_in_full(
    make_server: MakeServer, engine: type[ResizeEngine]
) -> None:
    live = make_server(engine())
    account = live.account(credits=100)
    with live.client(account) as client:
        response = client.post("/api/v1/renders", json={"image_base64": b64(png_bytes())})
        error = assert_error(response, 502, "model_failed")
        assert "refunded" in error["message"]
        render = client.get(f"/api/v1/renders/{error['render_id']}").json()["render"]
        me = client.get("/api/v1/me").json()
    assert render["status"] == "failed"
    assert render["error"]["code"] == "model_failed"
    assert render["credits_used"] == 0
    assert render["output_image_url"] is None
    assert (me["credits"], me["credits_held"]) == (100, 0)
    live.assert_books_balanced(account)


def test_another_accounts_render_is_404(server: LiveServer) -> None:
    owner, other = server.account(), server.account()
    with server.client(owner) as client:
        render_id = client.post(
            "/api/v1/renders", json={"image_base64": b64(png_bytes()), "resolution": "1k"}
        ).json()["render"]["id"]
    with server.client(other) as client:
        assert_error(client.get(f"/api/v1/renders/{render_id}"), 404, "not_found")
        assert_error(client.post(f"/api/v1/renders/{render_id}/cancel"), 404, "not_found")
        refine = client.post("/api/v1/renders", json={"render_id": render_id, "kind": "refine"})
        assert_error(refine, 404, "not_found")
        assert_error(client.get("/api/v1/renders/rnd_doesnotexist"), 404, "not_found")
        assert client.get("/api/v1/renders").json()["data"] == []


def test_list_is_newest_first_with_cursor_pagination(make_server: MakeServer) -> None:
    live = make_server(ResizeEngine())
    account = live.account(credits=100)
    source = b64(png_bytes(64, 64))
    with live.client(account) as client:
        ids = [
            client.post(
                "/api/v1/renders", json={"image_base64": source, "resolution": "1k"}
            ).json()["render"]["id"]
            for _ in range(5)
        ]
        first = client.get("/api/v1/renders", params={"limit": 2}).json()
        second = client.get(
            "/api/v1/renders", params={"limit": 2, "starting_after": first["data"][-1]["id"]}
        ).json()
        third = client.get(
            "/api/v1/renders", params={"limit": 2, "starting_after": second["data"][-1]["id"]}
        ).json()
        bad = client.get("/api/v1/renders", params={"starting_after": "rnd_nope"})
    listed = [r["id"] for page in (first, second, third) for r in page["data"]]
    assert listed == ids[::-1]
    assert (first["has_more"], second["has_more"], third["has_more"]) == (True, True, False)
    assert_error(bad, 400, "invalid_request")


def test_refine_enhance_and_video_work_from_a_render(server: LiveServer) -> None:
    account = server.account(credits=200, plan="pro")
    with server.client(account) as client:
        base = client.post(
            "/api/v1/renders",
            json={"image_base64": b64(fixture_bytes("house.png")), "resolution": "1k"},
        ).json()["render"]
        refined = client.post(
            "/api/v1/renders",
            json={"render_id": base["id"], "kind": "refine", "prompt": "warmer, zorblax"},
        )
        assert refined.status_code == 200, refined.text
        refined_render = refined.json()["render"]
        assert refined_render["parent_id"] == base["id"]
        assert any("zorblax" in warning for warning in refined_render["warnings"])
        enhanced = client.post(
            "/api/v1/renders",
            json={"render_id": base["id"], "kind": "enhance", "resolution": "2k"},
        ).json()["render"]
        assert (enhanced["width"], enhanced["height"]) == (2048, 2048)
        video = client.post(
            "/api/v1/renders",
            json={"render_id": base["id"], "kind": "video", "resolution": "1k"},
        ).json()["render"]
        assert video["status"] == "done"
        clip = client.get(video["output_video_url"])
        assert clip.headers["content-type"] == "video/mp4"
        assert len(clip.content) > 1000
        assert open_image(client.get(video["output_image_url"]).content).size == (1024, 1024)
    live_credits = server.books(account).credits
    assert live_credits == 200 - 5 - 6 - 4 - 25


def test_prefer_respond_async_then_poll(make_server: MakeServer) -> None:
    engine = GateEngine()
    live = make_server(engine)
    account = live.account(credits=100)
    with live.client(account) as client:
        response = client.post(
            "/api/v1/renders",
            json={"image_base64": b64(png_bytes())},
            headers={"Prefer": "respond-async"},
        )
        assert response.status_code == 202, response.text
        assert response.headers["Preference-Applied"] == "respond-async"
        render = response.json()["render"]
        assert render["status"] in ("queued", "processing")
        assert response.headers["Location"].endswith(f"/api/v1/renders/{render['id']}")
        me = client.get("/api/v1/me").json()
        assert (me["credits"], me["credits_held"]) == (90, 10)
        engine.started.acquire(timeout=10)
        in_flight = poll(client, render["id"], ("processing",))
        assert in_flight["progress"] is not None
        engine.gate.set()
        done = poll(client, render["id"], ("done",))
        assert done["credits_used"] == 10
        me = client.get("/api/v1/me").json()
        assert (me["credits"], me["credits_held"]) == (90, 0)


def test_wait_limit_answers_202_then_the_render_finishes(make_server: MakeServer) -> None:
    engine = GateEngine()
    live = make_server(engine, max_wait_seconds=0.3)
    account = live.account(credits=100)
    with live.client(account) as client:
        response = client.post("/api/v1/renders", json={"image_base64": b64(png_bytes())})
        assert response.status_code == 202
        waited = client.post(
            "/api/v1/renders",
            json={"image_base64": b64(png_bytes())},
            headers={"Prefer": "wait=0.1"},
        )
        assert waited.status_code == 202
        assert waited.headers["Preference-Applied"] == "wait=0.1"
        engine.gate.set()
        for answer in (response, waited):
            assert poll(client, answer.json()["render"]["id"], ("done",))["credits_used"] == 10
    live.assert_books_balanced(account)


def test_cancel_releases_the_hold_and_wakes_the_waiter(make_server: MakeServer) -> None:
    engine = GateEngine()
    live = make_server(engine)
    account = live.account(credits=100)
    results: dict[str, httpx.Response] = {}
    with live.client(account) as client:

        def blocking() -> None:
            with live.client(account) as own:
                results["blocking"] = own.post(
                    "/api/v1/renders", json={"image_base64": b64(png_bytes())}
                )

        waiter = threading.Thread(target=blocking)
        waiter.start()
        assert engine.started.acquire(timeout=10)
        render_id = client.get("/api/v1/renders").json()["data"][0]["id"]
        canceled = client.post(f"/api/v1/renders/{render_id}/cancel")
        assert canceled.status_code == 200, canceled.text
        assert canceled.json()["render"]["status"] == "canceled"
        assert canceled.json()["credits"] == 100
        waiter.join(10)
        assert results["blocking"].status_code == 200
        assert results["blocking"].json()["render"]["status"] == "canceled"
        assert_error(client.post(f"/api/v1/renders/{render_id}/cancel"), 409, "render_finished")
        engine.gate.set()
    books = live.assert_books_balanced(account)
    assert (books.credits, books.credits_held) == (100, 0)


def test_queue_is_fair_and_reports_positions(make_server: MakeServer) -> None:
    engine = GateEngine()
    live = make_server(engine, workers=1)
    busy, other = live.account(credits=100), live.account(credits=100)
    prefer = {"Prefer": "respond-async"}
    body = {"image_base64": b64(png_bytes(64, 64)), "resolution": "1k"}
    with live.client(busy) as client:
        busy_ids = [
            client.post("/api/v1/renders", json=body, headers=prefer).json()["render"]["id"]
            for _ in range(3)
        ]
        assert engine.started.acquire(timeout=10)
        positions = [
            client.get(f"/api/v1/renders/{rid}").json()["render"]["queue_position"]
            for rid in busy_ids
        ]
    assert positions == [None, 1, 2]
    with live.client(other) as client:
        other_id = client.post("/api/v1/renders", json=body, headers=prefer).json()["render"]["id"]
        # Round-robin: the other account's first render goes before busy's third.
        assert client.get(f"/api/v1/renders/{other_id}").json()["render"]["queue_position"] == 2
    engine.gate.set()
    with live.client(busy) as client:
        for rid in busy_ids:
            poll(client, rid, ("done",))


def test_idempotent_replay_charges_once(server: LiveServer) -> None:
    account = server.account(credits=100)
    body = {"image_base64": b64(png_bytes()), "resolution": "1k", "seed": 7}
    key = {"Idempotency-Key": "retry-after-network-drop"}
    with server.client(account) as client:
        first = client.post("/api/v1/renders", json=body, headers=key)
        again = client.post("/api/v1/renders", json=body, headers=key)
        changed = client.post("/api/v1/renders", json=body | {"seed": 8}, headers=key)
        too_long = client.post("/api/v1/renders", json=body, headers={"Idempotency-Key": "k" * 256})
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert_error(changed, 409, "idempotency_conflict")
    assert_error(too_long, 400, "invalid_request")
    assert render_count(server, account) == 1
    assert server.assert_books_balanced(account).credits == 95


def test_concurrent_requests_with_one_key_make_one_render(make_server: MakeServer) -> None:
    engine = GateEngine()
    live = make_server(engine)
    account = live.account(credits=100)
    body = {"image_base64": b64(png_bytes()), "resolution": "1k"}
    answers: list[httpx.Response] = []

    def send() -> None:
        with live.client(account) as client:
            answers.append(
                client.post("/api/v1/renders", json=body, headers={"Idempotency-Key": "twin"})
            )

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    assert engine.started.acquire(timeout=10)
    time.sleep(0.3)  # let every twin reach the server and wait on the one render
    engine.gate.set()
    for thread in threads:
        thread.join(30)
    assert [a.status_code for a in answers] == [200] * 4
    assert len({a.json()["render"]["id"] for a in answers}) == 1
    assert render_count(live, account) == 1
    assert len(list((live.settings.files_dir / "inputs").iterdir())) == 1  # twins stored nothing
    assert live.assert_books_balanced(account).credits == 95


def test_failed_render_replays_its_502(make_server: MakeServer) -> None:
    live = make_server(FailingEngine())
    account = live.account(credits=100)
    key = {"Idempotency-Key": "will-fail"}
    body = {"image_base64": b64(png_bytes())}
    with live.client(account) as client:
        first = client.post("/api/v1/renders", json=body, headers=key)
        again = client.post("/api/v1/renders", json=body, headers=key)
    assert first.status_code == again.status_code == 502
    assert again.json() == first.json()
    assert render_count(live, account) == 1
    assert live.assert_books_balanced(account).credits == 100


def test_full_queue_is_503_and_holds_nothing(make_server: MakeServer) -> None:
    engine = GateEngine()
    live = make_server(engine, workers=1, max_queued=1)
    account = live.account(credits=100, plan="pro")
    prefer = {"Prefer": "respond-async"}
    body = {"image_base64": b64(png_bytes(64, 64)), "resolution": "1k"}
    with live.client(account) as client:
        running = client.post("/api/v1/renders", json=body, headers=prefer)
        assert engine.started.acquire(timeout=10)
        waiting = client.post("/api/v1/renders", json=body, headers=prefer)
        refused = client.post("/api/v1/renders", json=body, headers=prefer)
        assert (running.status_code, waiting.status_code) == (202, 202)
        assert_error(refused, 503, "model_unavailable")
        assert int(refused.headers["Retry-After"]) > 0
        assert client.get("/api/v1/me").json()["credits_held"] == 10
        engine.gate.set()
        for answer in (running, waiting):
            poll(client, answer.json()["render"]["id"], ("done",))
    assert render_count(live, account) == 2
    assert live.assert_books_balanced(account).credits == 90
