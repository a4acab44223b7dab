"""What every render says of its engine, whatever the engine: which one made it, how much of the
input's geometry it kept (`fidelity_score`, and `min_fidelity` below which a render is tried
once more, then refunded), how provider failures reach the API, and the preview engine's honesty
about sketches."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from dataclasses import dataclass, field

from PIL import Image

from tds.engines.base import ContentRefused, EngineUnavailable, Job, Kind, Output, Progress
from tests.support.accounts import Account
from tests.support.engines import ResizeEngine
from tests.support.http import assert_error
from tests.support.images import fixture_bytes, png_bytes
from tests.support.servers import LiveServer

MakeServer = Callable[..., LiveServer]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def body(**fields: object) -> dict[str, object]:
    return {"image_base64": b64(fixture_bytes("house.png")), "resolution": "1k", **fields}


@dataclass
class ScriptedEngine:
    """Answers its script in turn: True keeps the input's structure (resized), False answers
    another picture (a room instead of the house); an exception is raised. Records every job."""

    script: list[bool | Exception]
    name: str = "scripted"
    description: str = "Test engine: keeps or destroys structure as scripted."
    generative: bool = True
    kinds: frozenset[Kind] = frozenset({"render", "refine"})
    jobs: list[Job] = field(default_factory=list)

    def setup(self) -> None:
        pass

    def run(self, job: Job, progress: Progress) -> Output:
        self.jobs.append(job)
        step = self.script[min(len(self.jobs), len(self.script)) - 1]
        if isinstance(step, Exception):
            raise step
        if step:
            return Output(image=job.image.resize((job.width, job.height)))
        other = Image.open(io.BytesIO(fixture_bytes("room.png"))).convert("RGB")
        return Output(image=other.resize((job.width, job.height)))


def post(live: LiveServer, account: Account, **fields: object) -> dict[str, object]:
    with live.client(account) as client:
        response = client.post("/api/v1/renders", json=body(**fields))
    return {"status": response.status_code, "json": response.json()}


def stored_render(live: LiveServer, account: Account, render_id: str) -> dict[str, object]:
    with live.client(account) as client:
        render: dict[str, object] = client.get(f"/api/v1/renders/{render_id}").json()["render"]
    return render


def test_every_render_says_its_engine_and_fidelity_score(make_server: MakeServer) -> None:
    kept = make_server(ScriptedEngine([True]))
    account = kept.account(credits=100)
    answer = post(kept, account)
    render = answer["json"]["render"]  # type: ignore[index]
    assert answer["status"] == 200
    assert render["engine"] == "scripted"
    assert render["fidelity_score"] > 0.8  # a resized input keeps nearly every line
    assert render["min_fidelity"] is None

    lost = make_server(ScriptedEngine([False]))
    other = lost.account(credits=100)
    noisy = post(lost, other)["json"]["render"]  # type: ignore[index]
    # Chance overlaps of two edge-rich pictures score about a third; a kept input over 0.9.
    assert noisy["fidelity_score"] < 0.5
    lost.assert_books_balanced(other)


def test_below_min_fidelity_a_render_is_tried_once_more_then_refunded(
    make_server: MakeServer,
) -> None:
    engine = ScriptedEngine([False, False])
    live = make_server(engine)
    account = live.account(credits=100)
    answer = post(live, account, min_fidelity=0.6, geometry_fidelity=0.5, seed=41)
    error = answer["json"]["error"]  # type: ignore[index]
    assert answer["status"] == 502
    assert error["code"] == "geometry_drift"
    assert "min_fidelity 0.60" in error["message"]
    assert [job.seed for job in engine.jobs] == [41, 42]  # a new seed …
    assert [job.geometry_fidelity for job in engine.jobs] == [0.5, 0.75]  # … and more control
    render = stored_render(live, account, error["render_id"])
    assert render["error"]["code"] == "geometry_drift"  # type: ignore[index]
    assert live.assert_books_balanced(account).credits == 100


def test_a_second_try_that_keeps_the_geometry_is_the_render(make_server: MakeServer) -> None:
    engine = ScriptedEngine([False, True])
    live = make_server(engine)
    account = live.account(credits=100)
    answer = post(live, account, min_fidelity=0.6)
    render = answer["json"]["render"]  # type: ignore[index]
    assert answer["status"] == 200
    assert render["fidelity_score"] >= 0.6
    assert render["min_fidelity"] == 0.6
    assert len(engine.jobs) == 2
    assert live.assert_books_balanced(account).credits == 95  # charged once


def test_provider_failures_reach_the_api_with_their_own_codes(make_server: MakeServer) -> None:
    cases = [
        (EngineUnavailable("the provider is rate-limiting this server"), 503, "model_unavailable"),
        (ContentRefused("the prompt was flagged"), 400, "content_refused"),
    ]
    for failure, status, code in cases:
        live = make_server(ScriptedEngine([failure]))
        account = live.account(credits=100)
        with live.client(account) as client:
            response = client.post("/api/v1/renders", json=body())
        error = assert_error(response, status, code)
        assert str(failure) in error["message"]
        assert "refunded" in error["message"]
        render = stored_render(live, account, error["render_id"])
        assert render["status"] == "failed"
        assert render["error"]["code"] == code  # type: ignore[index]
        assert live.assert_books_balanced(account).credits == 100


def test_the_preview_engine_refuses_a_sketch_before_holding_anything(server: LiveServer) -> None:
    account = server.account(credits=100)
    inputs = server.settings.files_dir / "inputs"
    before = set(inputs.iterdir()) if inputs.exists() else set()
    with server.client(account) as client:
        drawn = client.post(
            "/api/v1/renders", json=body(image_base64=b64(fixture_bytes("house_line.png")))
        )
        declared = client.post("/api/v1/renders", json=body(input_type="sketch"))
        listed = client.get("/api/v1/renders").json()["data"]
    for response in (drawn, declared):
        error = assert_error(response, 400, "kind_unavailable")
        assert error["param"] == "input_type"
        assert "not generative" in error["message"]
        assert "stability" in error["message"]  # says what would serve it
    assert listed == []  # no render was made
    assert (set(inputs.iterdir()) if inputs.exists() else set()) == before  # nothing stored
    assert server.assert_books_balanced(account).credits == 100


def test_styles_say_per_kind_which_engine_serves_it_and_whether_it_generates(
    make_server: MakeServer, server: LiveServer
) -> None:
    account = server.account()
    with server.client(account) as client:
        preview = client.get("/api/v1/styles").json()
    render = next(kind for kind in preview["kinds"] if kind["id"] == "render")
    assert (render["engine"], render["generative"]) == ("preview", False)
    staging = next(kind for kind in preview["kinds"] if kind["id"] == "staging")
    assert (staging["engine"], staging["generative"]) == (None, None)
    assert preview["engines"][0]["generative"] is False

    live = make_server(ScriptedEngine([True]))
    with live.client(live.account()) as client:
        scripted = client.get("/api/v1/styles").json()
    assert {(k["id"], k["generative"]) for k in scripted["kinds"] if k["available"]} == {
        ("render", True),
        ("refine", True),
    }


def test_an_engine_of_ones_own_need_not_say_whether_it_generates(make_server: MakeServer) -> None:
    class Silent:  # as a TDS_ENGINE=module:Class written before the flag existed
        name = "silent"
        description = "Resizes."
        kinds = ResizeEngine.kinds
        setup = ResizeEngine.setup
        run = ResizeEngine.run

    live = make_server(Silent())
    with live.client(live.account()) as client:
        styles = client.get("/api/v1/styles").json()
        done = client.post("/api/v1/renders", json=body(image_base64=b64(png_bytes())))
    assert styles["engines"][0]["generative"] is None
    assert done.status_code == 200
