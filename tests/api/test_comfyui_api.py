"""The comfyui engine through the API, against loopback fake ComfyUI servers
(tests/support/fake_comfyui.py): every kind charged once, the kinds served are the workflow
files present, a node's error and a server dying mid-render fail the render refunded, cancels
while queued and while running take the prompt back, two servers, and a broken workflow that
stops `tds serve` naming the file and the node."""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tds.engines.comfyui.config import ComfyUISettings
from tds.engines.comfyui.engine import ComfyUIEngine
from tests.support import fake_comfyui
from tests.support.accounts import Account
from tests.support.fake_comfyui import FakeComfyUI
from tests.support.http import assert_error, poll
from tests.support.images import png_bytes
from tests.support.servers import LiveServer, start_tds_serve

MakeServer = Callable[..., LiveServer]
ASYNC = {"Prefer": "respond-async"}
COSTS_1K = {"render": 5, "refine": 3, "enhance": 2, "staging": 8, "video": 25}


@pytest.fixture
def fake() -> Iterator[FakeComfyUI]:
    with FakeComfyUI() as server:
        yield server


@pytest.fixture
def engines() -> Iterator[list[ComfyUIEngine]]:
    made: list[ComfyUIEngine] = []
    yield made
    for engine in made:
        engine.close()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def live(
    make_server: MakeServer,
    engines: list[ComfyUIEngine],
    url: str,
    folder: str,
) -> LiveServer:
    engine = ComfyUIEngine(ComfyUISettings(url=url, workflows=folder, poll_seconds=0.05))
    engines.append(engine)
    return make_server(engine=engine)


def first_render(client: httpx.Client, **body: Any) -> httpx.Response:
    return client.post(
        "/api/v1/renders",
        json={"image_base64": b64(png_bytes()), "resolution": "1k", **body},
    )


def balance(client: httpx.Client) -> tuple[int, int]:
    me = client.get("/api/v1/me").json()
    return me["credits"], me["credits_held"]


def test_every_kind_renders_through_the_api_and_is_charged_once(
    make_server: MakeServer, engines: list[ComfyUIEngine], fake: FakeComfyUI, tmp_path: Path
) -> None:
    server = live(make_server, engines, fake.url, fake_comfyui.write_workflows(tmp_path / "wf"))
    account = server.account(credits=100, plan="studio")
    with server.client(account) as client:
        styles = client.get("/api/v1/styles").json()
        base = first_render(client, prompt="warm timber")
        assert base.status_code == 200, base.text
        render = base.json()["render"]
        assert (render["status"], render["engine"], render["credits_used"]) == (
            "done",
            "comfyui",
            5,
        )
        assert (render["width"], render["height"]) == (1024, 768)
        assert render["fidelity_score"] > 0.5  # the fake keeps every line: the score says so
        used = {"render": render["credits_used"]}
        for kind in ("refine", "enhance", "staging", "video"):
            answer = client.post(
                "/api/v1/renders",
                json={"render_id": render["id"], "kind": kind, "resolution": "1k"},
            )
            assert answer.status_code == 200, answer.text
            done = answer.json()["render"]
            assert done["status"] == "done", done
            used[kind] = done["credits_used"]
            picture = client.get(done["output_image_url"])
            with Image.open(io.BytesIO(picture.content)) as opened:
                assert opened.size == (1024, 768), kind
            if kind == "video":
                clip = client.get(done["output_video_url"])
                assert clip.headers["content-type"] == "video/mp4"
        assert balance(client) == (100 - sum(used.values()), 0)
    assert used == COSTS_1K
    kinds = {kind["id"]: kind for kind in styles["kinds"]}
    for kind in COSTS_1K:
        assert (kinds[kind]["engine"], kinds[kind]["generative"]) == ("comfyui", True), kind
    assert len(fake.prompts) == 5
    assert server.assert_books_balanced(account).credits == 100 - sum(COSTS_1K.values())


def test_only_the_kinds_with_a_workflow_are_served(
    make_server: MakeServer, engines: list[ComfyUIEngine], fake: FakeComfyUI, tmp_path: Path
) -> None:
    folder = fake_comfyui.write_workflows(
        tmp_path / "wf", {"render": fake_comfyui.sdxl(), "refine": fake_comfyui.sdxl(strength=True)}
    )
    server = live(make_server, engines, fake.url, folder)
    account = server.account(credits=100, plan="studio")
    with server.client(account) as client:
        styles = client.get("/api/v1/styles").json()
        staging = first_render(client, kind="staging")
        assert balance(client) == (100, 0)
    served = {kind["id"]: kind["engine"] for kind in styles["kinds"]}
    assert served == {
        "render": "comfyui",
        "refine": "comfyui",
        "enhance": None,
        "staging": None,
        "video": None,
    }
    assert_error(staging, 400, "kind_unavailable")
    assert fake.requests == []
    server.assert_books_balanced(account)


def test_a_node_error_fails_the_render_with_its_message_refunded(
    make_server: MakeServer, engines: list[ComfyUIEngine], fake: FakeComfyUI, tmp_path: Path
) -> None:
    server = live(make_server, engines, fake.url, fake_comfyui.write_workflows(tmp_path / "wf"))
    account = server.account(credits=100)
    fake.fail("CUDA out of memory. Tried to allocate 2.00 GiB", "torch.OutOfMemoryError")
    with server.client(account) as client:
        answer = first_render(client)
        error = assert_error(answer, 502, "model_failed")
        assert 'node 10 (KSampler "tds:seed") failed: CUDA out of memory' in error["message"]
        render = client.get(f"/api/v1/renders/{error['render_id']}").json()["render"]
        assert balance(client) == (100, 0)
    assert render["status"] == "failed"
    assert render["error"]["code"] == "model_failed"
    assert "CUDA out of memory" in render["error"]["message"]
    assert render["credits_used"] == 0
    server.assert_books_balanced(account)


def test_cancel_while_queued_takes_the_prompt_out_of_comfyuis_queue(
    make_server: MakeServer, engines: list[ComfyUIEngine], fake: FakeComfyUI, tmp_path: Path
) -> None:
    server = live(make_server, engines, fake.url, fake_comfyui.write_workflows(tmp_path / "wf"))
    account = server.account(credits=100)
    fake.hold()
    with server.client(account) as client:
        render_id = submit_async(client)
        fake.wait_for(lambda: bool(fake.pending))
        prompt_id = fake.pending[0].prompt_id
        canceled = client.post(f"/api/v1/renders/{render_id}/cancel")
        assert canceled.status_code == 200, canceled.text
        assert canceled.json()["render"]["status"] == "canceled"
        fake.wait_for(lambda: bool(fake.calls("/queue", "POST")))
        assert balance(client) == (100, 0)
    assert [call.body for call in fake.calls("/queue", "POST")] == [{"delete": [prompt_id]}]
    assert not fake.pending
    assert not fake.calls("/interrupt")
    books = server.assert_books_balanced(account)
    assert (books.credits, books.credits_held) == (100, 0)


def test_cancel_while_running_interrupts_the_prompt(
    make_server: MakeServer, engines: list[ComfyUIEngine], fake: FakeComfyUI, tmp_path: Path
) -> None:
    server = live(make_server, engines, fake.url, fake_comfyui.write_workflows(tmp_path / "wf"))
    account = server.account(credits=100)
    fake.pause()
    with server.client(account) as client:
        render_id = submit_async(client)
        assert fake.paused.wait(30)
        assert fake.running is not None
        prompt_id = fake.running.prompt_id
        running = client.get(f"/api/v1/renders/{render_id}").json()["render"]
        assert running["status"] == "processing"
        assert client.post(f"/api/v1/renders/{render_id}/cancel").status_code == 200
        fake.wait_for(lambda: prompt_id in fake.history)
        assert balance(client) == (100, 0)
        assert client.get(f"/api/v1/renders/{render_id}").json()["render"]["status"] == "canceled"
    assert [call.body for call in fake.calls("/interrupt")] == [{"prompt_id": prompt_id}]
    assert fake.history[prompt_id]["status"]["status_str"] == "error"
    server.assert_books_balanced(account)


def test_a_server_dying_mid_render_fails_it_refunded(
    make_server: MakeServer, engines: list[ComfyUIEngine], fake: FakeComfyUI, tmp_path: Path
) -> None:
    server = live(make_server, engines, fake.url, fake_comfyui.write_workflows(tmp_path / "wf"))
    account = server.account(credits=100)
    fake.pause()
    with server.client(account) as client:
        render_id = submit_async(client)
        assert fake.paused.wait(30)
        fake.die()
        render = poll(client, render_id, ("failed",), seconds=30)
        assert balance(client) == (100, 0)
    assert render["error"]["code"] == "model_unavailable"
    assert "ComfyUI stopped answering during the render" in render["error"]["message"]
    assert render["credits_used"] == 0
    server.assert_books_balanced(account)


def test_two_servers_share_the_renders_and_a_dead_one_is_skipped(
    make_server: MakeServer, engines: list[ComfyUIEngine], fake: FakeComfyUI, tmp_path: Path
) -> None:
    folder = fake_comfyui.write_workflows(tmp_path / "wf")
    with FakeComfyUI() as second:
        fake.hold()
        second.hold()
        server = live(make_server, engines, f"{fake.url},{second.url}", folder)
        account = server.account(credits=100, plan="pro")  # two renders at once
        with server.client(account) as client:
            first = submit_async(client)
            until(lambda: fake.queue_remaining() + second.queue_remaining() == 1)
            then = submit_async(client)
            until(lambda: fake.queue_remaining() + second.queue_remaining() == 2)
            assert (fake.queue_remaining(), second.queue_remaining()) == (1, 1)
            fake.release()
            second.release()
            for render_id in (first, then):
                assert poll(client, render_id, ("done",), seconds=30)["credits_used"] == 5
            fake.die()
            answer = first_render(client)
            assert answer.status_code == 200, answer.text
            assert balance(client) == (85, 0)
        assert (len(fake.prompts), len(second.prompts)) == (1, 2)
        server.assert_books_balanced(account)


def until(predicate: Callable[[], bool]) -> None:
    """Wait for a state of two fakes (each fake's wait_for watches only its own)."""
    for _ in range(3000):
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError("never reached")


def submit_async(client: httpx.Client) -> str:
    answer = client.post(
        "/api/v1/renders",
        json={"image_base64": b64(png_bytes()), "resolution": "1k"},
        headers=ASYNC,
    )
    assert answer.status_code == 202, answer.text
    render_id: str = answer.json()["render"]["id"]
    return render_id


def test_an_operator_sets_it_up_with_three_variables(
    make_server: MakeServer, fake: FakeComfyUI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TDS_ENGINE=comfyui, the server's URL and the shipped examples as the workflows."""
    examples = Path(__file__).parents[2] / "examples" / "comfyui"
    monkeypatch.setenv("TDS_ENGINE", "comfyui")
    monkeypatch.setenv("TDS_COMFYUI_URL", fake.url)
    monkeypatch.setenv("TDS_COMFYUI_WORKFLOWS", str(examples))
    server = make_server()
    account: Account = server.account(credits=100)
    with server.client(account) as client:
        styles = client.get("/api/v1/styles").json()
        answer = client.post(
            "/api/v1/renders",
            json={"image_base64": b64(png_bytes()), "resolution": "2k", "prompt": "dusk"},
        )
        assert answer.status_code == 200, answer.text
        render = answer.json()["render"]
        refined = client.post("/api/v1/renders", json={"render_id": render["id"], "kind": "refine"})
        assert refined.status_code == 200, refined.text
    served = {kind["id"] for kind in styles["kinds"] if kind["engine"] == "comfyui"}
    assert served == {"render", "refine"}
    assert (render["width"], render["height"], render["credits_used"]) == (2048, 1536, 10)
    assert answer.json()["credits"] == 90
    assert refined.json()["credits"] == 84
    server.assert_books_balanced(account)


def test_a_broken_workflow_stops_tds_serve_naming_the_file_and_node(tmp_path: Path) -> None:
    graph = fake_comfyui.sdxl()
    graph["6"]["_meta"]["title"] = "tds:seed"  # a text encoder has no seed
    folder = fake_comfyui.write_workflows(tmp_path / "wf", {"render": graph})
    env = {"TDS_ENGINE": "comfyui", "TDS_COMFYUI_WORKFLOWS": folder}
    with pytest.raises(AssertionError, match=r'render\.json: node 6 \(CLIPTextEncode "tds:seed"\)'):
        start_tds_serve(tmp_path / "data", env=env, capture=True)
