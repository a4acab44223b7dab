"""The remote engine against a local fake of Replicate's predictions API.

The fake (two loopback servers: the API, and a file host for outputs, as Replicate serves
them from another origin) implements the documented endpoints (create for official models,
versions and deployments, with Prefer: wait; get; cancel; files) and the failure modes:
slow predictions, 5xx and 429 answers, a create that times out, failed predictions and
malformed outputs.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tds.engines import registry
from tds.engines.base import EngineError, Job, JobCanceled, Kind
from tds.engines.common import prompts
from tds.engines.common.media import decode_frames, encode_frames
from tds.engines.remote import inputs
from tds.engines.remote.config import DEFAULT_MODELS, RemoteConfig
from tds.engines.remote.engine import RemoteEngine, pick_output
from tests.engines.helpers import Clock, Recorder

TOKEN = "r8_test_token"


def png(size: tuple[int, int], colour: tuple[int, int, int] = (180, 120, 60)) -> bytes:
    import io

    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def clip(size: tuple[int, int], count: int = 6) -> bytes:
    frames = [np.full((size[1], size[0], 3), 20 * index, np.uint8) for index in range(count)]
    return encode_frames(frames, 12, size)


@dataclass
class Scenario:
    polls: int = 0  # GETs that still answer "processing"
    final: str = "succeeded"
    output: Any = "{cdn}/out/house.png"
    error: str = ""
    poll_errors: int = 0  # first GETs answered 503
    create_errors: list[int] = field(default_factory=list)  # statuses before a good create
    create_delay: float = 0.0
    logs: str = ""


SCENARIOS: dict[str, Scenario] = {
    "ok": Scenario(),
    "slow": Scenario(polls=3, logs="step\n 50%|█████     | 5/10\n"),
    "flaky": Scenario(polls=1, poll_errors=2),
    "create-500": Scenario(create_errors=[500]),
    "create-429": Scenario(create_errors=[429]),
    "create-slow": Scenario(create_delay=1.5),
    "failed": Scenario(polls=1, final="failed", error="CUDA error: out of memory", output=None),
    "no-url": Scenario(output={"seed": 4}),
    "not-image": Scenario(output="{cdn}/out/page.png"),
    "missing": Scenario(output="{cdn}/out/gone.png"),
    "hang": Scenario(polls=10**9),
    "video": Scenario(polls=1, output=["{cdn}/out/clip.mp4"]),
    "square": Scenario(output="{cdn}/out/square.png"),
    "list": Scenario(output=["{cdn}/out/log.txt", "{cdn}/out/house.png"]),
}


class Fake:
    """Replicate's API on one loopback server, its file host on another."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.predictions: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.cdn_requests: list[tuple[str, dict[str, str]]] = []
        self.create_attempts: dict[str, int] = {}
        self.files: dict[str, bytes] = {}
        self.outputs = {
            "house.png": png((80, 60)),
            "square.png": png((64, 64)),
            "page.png": b"<html>not an image</html>",
            "log.txt": b"done",
            "clip.mp4": clip((64, 48)),
        }
        self.api = self._serve(self._api_handler())
        self.cdn = self._serve(self._cdn_handler())
        self.api_url = f"http://127.0.0.1:{self.api.server_address[1]}/v1"
        self.cdn_url = f"http://127.0.0.1:{self.cdn.server_address[1]}"

    def _serve(self, handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
        return server

    def close(self) -> None:
        for server in (self.api, self.cdn):
            server.shutdown()
            server.server_close()

    # -- what tests look at --------------------------------------------------------------

    def calls(self, method: str, pattern: str) -> list[tuple[str, str, dict[str, str], bytes]]:
        return [r for r in self.requests if r[0] == method and re.fullmatch(pattern, r[1])]

    @property
    def creates(self) -> int:
        return len(self.calls("POST", r"/v1/(models/.+|deployments/.+|)predictions"))

    @property
    def cancels(self) -> int:
        return len(self.calls("POST", r"/v1/predictions/[^/]+/cancel"))

    @property
    def gets(self) -> int:
        return len(self.calls("GET", r"/v1/predictions/[^/]+"))

    # -- the API ---------------------------------------------------------------------------

    def _prediction(self, scenario_name: str, model_input: Any) -> dict[str, Any]:
        with self.lock:
            number = len(self.predictions) + 1
            prediction_id = f"p{number:04d}"
            prediction = {
                "id": prediction_id,
                "model": scenario_name,
                "input": model_input,
                "status": "starting",
                "output": None,
                "error": None,
                "logs": "",
                "urls": {
                    "get": f"{self.api_url}/predictions/{prediction_id}",
                    "cancel": f"{self.api_url}/predictions/{prediction_id}/cancel",
                },
                "_scenario": SCENARIOS[scenario_name],
                "_polls": 0,
                "_gets": 0,
            }
            self.predictions[prediction_id] = prediction
            return prediction

    def _advance(self, prediction: dict[str, Any]) -> None:
        scenario: Scenario = prediction["_scenario"]
        if prediction["status"] in ("succeeded", "failed", "canceled"):
            return
        if prediction["_polls"] < scenario.polls:
            prediction["status"] = "processing"
            prediction["logs"] = scenario.logs
            prediction["_polls"] += 1
            return
        prediction["status"] = scenario.final
        prediction["error"] = scenario.error or None
        output = scenario.output
        prediction["output"] = json.loads(json.dumps(output).replace("{cdn}", self.cdn_url))

    def public(self, prediction: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in prediction.items() if not key.startswith("_")}

    def _api_handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def _record(self) -> bytes:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with fake.lock:
                    fake.requests.append((self.command, self.path, dict(self.headers), body))
                return body

            def _authorised(self) -> bool:
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self._send(401, {"title": "Unauthenticated", "detail": "bad token"})
                    return False
                return True

            def do_POST(self) -> None:
                body = self._record()
                if not self._authorised():
                    return
                path = self.path
                if path == "/v1/files":
                    assert self.headers["Content-Type"].startswith("multipart/form-data")
                    file_id = f"f{len(fake.files) + 1}"
                    fake.files[file_id] = body
                    url = f"{fake.api_url}/files/{file_id}"
                    self._send(201, {"id": file_id, "urls": {"get": url}})
                    return
                match = re.fullmatch(r"/v1/predictions/([^/]+)/cancel", path)
                if match:
                    prediction = fake.predictions.get(match.group(1))
                    if prediction is None:
                        self._send(404, {"detail": "Not found."})
                        return
                    if prediction["status"] not in ("succeeded", "failed"):
                        prediction["status"] = "canceled"
                    self._send(200, fake.public(prediction))
                    return
                payload = json.loads(body)
                name = None
                if (m := re.fullmatch(r"/v1/models/test/([^/]+)/predictions", path)) or (
                    m := re.fullmatch(r"/v1/deployments/test/([^/]+)/predictions", path)
                ):
                    name = m.group(1)
                elif path == "/v1/predictions":
                    name = payload["version"].removeprefix("v-")
                if name not in SCENARIOS:
                    self._send(404, {"detail": "The requested resource could not be found."})
                    return
                scenario = SCENARIOS[name]
                attempt = fake.create_attempts.get(name, 0)
                fake.create_attempts[name] = attempt + 1
                if scenario.create_delay:
                    time.sleep(scenario.create_delay)
                if attempt < len(scenario.create_errors):
                    status = scenario.create_errors[attempt]
                    if status == 429:
                        self._send(
                            429,
                            {"detail": "Request was throttled. Your rate limit resets in ~0s."},
                            {"Retry-After": "0.01"},
                        )
                        return
                    # A 5xx after the prediction was made: the ambiguous case.
                    fake._prediction(name, payload["input"])
                    self._send(status, {"detail": "Internal server error"})
                    return
                prediction = fake._prediction(name, payload["input"])
                if self.headers.get("Prefer", "").startswith("wait"):
                    fake._advance(prediction)  # sync mode: a quick model finishes in the wait
                self._send(201, fake.public(prediction))

            def do_GET(self) -> None:
                self._record()
                if not self._authorised():
                    return
                match = re.fullmatch(r"/v1/predictions/([^/]+)", self.path)
                prediction = fake.predictions.get(match.group(1)) if match else None
                if prediction is None:
                    self._send(404, {"detail": "Not found."})
                    return
                prediction["_gets"] += 1
                if prediction["_gets"] <= prediction["_scenario"].poll_errors:
                    self._send(503, {"detail": "Service Unavailable"})
                    return
                fake._advance(prediction)
                self._send(200, fake.public(prediction))

        return Handler

    def _cdn_handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                with fake.lock:
                    fake.cdn_requests.append((self.path, dict(self.headers)))
                data = fake.outputs.get(self.path.removeprefix("/out/"))
                if data is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


@pytest.fixture
def fake() -> Iterator[Fake]:
    server = Fake()
    yield server
    server.close()


def config(fake: Fake, scenario: str = "ok", **changes: Any) -> RemoteConfig:
    settings: dict[str, Any] = {
        "token": TOKEN,
        "base_url": fake.api_url,
        **every_model(f"test/{scenario}"),
        "poll_seconds": 0.5,
        "poll_max_seconds": 2.0,
        "timeout_seconds": 60.0,
        "request_timeout_seconds": 5.0,
        "retries": 3,
    }
    return RemoteConfig(**(settings | changes))


def every_model(model: str) -> dict[str, str]:
    """The same model for every kind: TDS_REMOTE_<KIND>_MODEL as settings fields."""
    return {f"{kind}_model": model for kind in DEFAULT_MODELS}


def engine_for(fake: Fake, scenario: str = "ok", **changes: Any) -> tuple[RemoteEngine, Clock]:
    clock = Clock()
    engine = RemoteEngine(config(fake, scenario, **changes), sleep=clock.sleep, clock=clock)
    engine.setup()
    return engine, clock


def viewport() -> Image.Image:
    image = np.full((48, 64, 3), 220, np.uint8)
    image[10:40, 12:52] = 90
    return Image.fromarray(image, "RGB")


def job(kind: Kind = "render", size: tuple[int, int] = (96, 72), **fields: Any) -> Job:
    return Job(kind=kind, image=viewport(), width=size[0], height=size[1], seed=42, **fields)


def created_input(fake: Fake) -> dict[str, Any]:
    body = fake.calls("POST", r"/v1/(models/.+|deployments/.+|)predictions")[-1][3]
    model_input: dict[str, Any] = json.loads(body)["input"]
    return model_input


# -- success paths ----------------------------------------------------------------------------


def test_sync_prediction_returns_an_image_at_the_job_size(fake: Fake) -> None:
    engine, _ = engine_for(fake)
    recorder = Recorder()
    output = engine.run(job(architectural_style="modern", lighting="night"), recorder)
    assert output.image.size == (96, 72)
    assert output.image.getpixel((48, 36)) == (180, 120, 60)
    assert output.warnings == []
    assert (fake.creates, fake.gets, fake.cancels) == (1, 0, 0)
    _, path, headers, _ = fake.calls("POST", r"/v1/models/.+")[0]
    assert path == "/v1/models/test/ok/predictions"
    assert headers["Prefer"] == "wait=10"
    assert headers["Cancel-After"] == "60s"
    sent = created_input(fake)
    assert sent["seed"] == 42  # a lone placeholder keeps its type
    assert sent["control_image"].startswith("data:image/jpeg;base64,")
    assert "night" in sent["prompt"]
    assert "modern" in sent["prompt"]
    # The token went to the API only, never to the file host.
    assert fake.cdn_requests
    assert all("Authorization" not in h for _, h in fake.cdn_requests)
    dones = [done for done, _ in recorder.reports]
    assert dones == sorted(dones)
    assert recorder.reports[-1] == (100, 100)


def test_slow_prediction_is_polled_with_backoff_and_reports_progress(fake: Fake) -> None:
    engine, clock = engine_for(fake, "slow")
    recorder = Recorder()
    output = engine.run(job("refine", strength=0.4, prompt="warmer"), recorder)
    assert output.image.size == (96, 72)
    # The create's wait saw the first "processing"; three polls follow, each wait ×1.5.
    assert (fake.creates, fake.gets) == (1, 3)
    assert clock.slept == [0.5, 0.75, 1.125]
    assert (5 + round(85 * 0.5), 100) in recorder.reports  # 50 % from the model's log
    assert created_input(fake)["prompt"].startswith("warmer")  # the refine instruction


def test_transient_poll_failures_are_retried_without_a_second_prediction(fake: Fake) -> None:
    engine, _ = engine_for(fake, "flaky")
    assert engine.run(job(), Recorder()).image.size == (96, 72)
    assert fake.creates == 1
    assert fake.gets == 3  # two 503s, then succeeded


def test_throttled_create_is_retried_once_it_is_allowed(fake: Fake) -> None:
    engine, clock = engine_for(fake, "create-429")
    assert engine.run(job(), Recorder()).image.size == (96, 72)
    assert fake.create_attempts["create-429"] == 2
    assert len(fake.predictions) == 1  # the 429 created nothing; the retry made one
    assert clock.slept
    assert clock.slept[0] >= 0.01


@pytest.mark.parametrize(
    ("model", "path"),
    [
        ("test/ok:v-ok", "/v1/predictions"),
        ("deployments/test/ok", "/v1/deployments/test/ok/predictions"),
    ],
)
def test_versions_and_deployments_use_their_endpoints(fake: Fake, model: str, path: str) -> None:
    engine, _ = engine_for(fake, **every_model(model))
    assert engine.run(job(), Recorder()).image.size == (96, 72)
    posted = fake.calls("POST", re.escape(path))
    assert len(posted) == 1
    if ":" in model:
        assert json.loads(posted[0][3])["version"] == "v-ok"


def test_video_is_reencoded_at_the_job_size(fake: Fake) -> None:
    engine, _ = engine_for(fake, "video")
    output = engine.run(job("video", (80, 60)), Recorder())
    assert output.video is not None
    frames, fps = decode_frames(output.video)
    assert len(frames) == 6
    assert fps == 12
    assert frames[0].shape == (60, 80, 3)
    assert output.image.size == (80, 60)


def test_another_aspect_ratio_is_cropped_not_stretched(fake: Fake) -> None:
    engine, _ = engine_for(fake, "square")
    output = engine.run(job(size=(96, 48)), Recorder())
    assert output.image.size == (96, 48)
    assert output.warnings
    assert "cropped" in output.warnings[0]


def test_the_image_is_picked_from_a_list_of_outputs(fake: Fake) -> None:
    engine, _ = engine_for(fake, "list")
    assert engine.run(job(), Recorder()).image.size == (96, 72)
    assert pick_output({"video": "https://x/a.mp4", "still": "https://x/a.png"}, "video") == (
        "https://x/a.mp4"
    )


def test_large_inputs_go_through_the_files_api(fake: Fake) -> None:
    engine, _ = engine_for(fake, data_uri_max_bytes=100)
    assert engine.run(job(), Recorder()).image.size == (96, 72)
    assert len(fake.files) == 1
    assert next(iter(fake.files.values())).count(b"\xff\xd8") >= 1  # the JPEG went up
    assert created_input(fake)["control_image"] == f"{fake.api_url}/files/f1"


# -- failures: refunded (EngineError), never charged twice ------------------------------------


def test_a_5xx_on_create_is_not_retried(fake: Fake) -> None:
    engine, _ = engine_for(fake, "create-500")
    with pytest.raises(EngineError, match="not retried"):
        engine.run(job(), Recorder())
    assert fake.creates == 1


def test_a_create_that_times_out_is_not_retried(fake: Fake) -> None:
    engine, _ = engine_for(fake, "create-slow", request_timeout_seconds=0.3, wait_seconds=0)
    with pytest.raises(EngineError, match="cannot run twice"):
        engine.run(job(), Recorder())
    time.sleep(1.4)  # let the slow create finish on the server: still only one
    assert fake.creates == 1
    assert len(fake.predictions) == 1


def test_an_unreachable_service_is_retried_then_fails(fake: Fake) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    engine, clock = engine_for(fake, base_url=f"http://127.0.0.1:{port}/v1")
    with pytest.raises(EngineError, match="could not be reached"):
        engine.run(job(), Recorder())
    assert len(clock.slept) == 3  # every retry, then give up


def test_a_failed_prediction_is_an_engine_error_with_its_reason(fake: Fake) -> None:
    engine, _ = engine_for(fake, "failed")
    with pytest.raises(EngineError, match="CUDA error: out of memory"):
        engine.run(job(), Recorder())
    assert (fake.creates, fake.cancels) == (1, 0)


@pytest.mark.parametrize(
    ("scenario", "message"),
    [
        ("no-url", "no file"),
        ("not-image", "not an image"),
        ("missing", "HTTP 404"),
    ],
)
def test_malformed_outputs_are_engine_errors(fake: Fake, scenario: str, message: str) -> None:
    engine, _ = engine_for(fake, scenario)
    with pytest.raises(EngineError, match=message):
        engine.run(job(), Recorder())
    assert fake.creates == 1


def test_a_video_job_given_an_image_fails(fake: Fake) -> None:
    engine, _ = engine_for(fake, "ok")
    with pytest.raises(EngineError, match="not a video"):
        engine.run(job("video"), Recorder())


def test_cancel_cancels_the_prediction(fake: Fake) -> None:
    engine, _ = engine_for(fake, "hang")
    recorder = Recorder(cancel_at=5)
    with pytest.raises(JobCanceled):
        engine.run(job(), recorder)
    assert (fake.creates, fake.cancels) == (1, 1)
    assert next(iter(fake.predictions.values()))["status"] == "canceled"


def test_cancel_before_create_creates_nothing(fake: Fake) -> None:
    engine, _ = engine_for(fake, "ok")
    with pytest.raises(JobCanceled):
        engine.run(job(), Recorder(cancel_at=2))
    assert fake.creates == 0


def test_deadline_cancels_and_fails(fake: Fake) -> None:
    engine, clock = engine_for(fake, "hang", timeout_seconds=30.0)
    with pytest.raises(EngineError, match="longer than 30 s"):
        engine.run(job(), Recorder())
    assert (fake.creates, fake.cancels) == (1, 1)
    assert 25 <= sum(clock.slept) <= 30


def test_a_bad_token_is_refused_without_retry(fake: Fake) -> None:
    engine, _ = engine_for(fake, token="wrong")
    with pytest.raises(EngineError, match=r"refused the job.*401"):
        engine.run(job(), Recorder())
    assert fake.creates == 1


# -- settings, inputs, registry ------------------------------------------------------------------


def test_settings_from_the_environment() -> None:
    config = RemoteConfig.from_env({"REPLICATE_API_TOKEN": "abc"})
    assert config.token == "abc"
    assert config.models == DEFAULT_MODELS
    assert config.served == {"render", "refine", "enhance", "staging", "video"}
    config = RemoteConfig.from_env(
        {
            "TDS_REMOTE_API_TOKEN": "xyz",
            "TDS_REMOTE_VIDEO_MODEL": "",
            "TDS_REMOTE_ENHANCE_MODEL": "nightmareai/real-esrgan:f121d640",
            "TDS_REMOTE_ENHANCE_INPUT": '{"image": "{image}", "scale": "{scale}"}',
            "TDS_REMOTE_TIMEOUT_SECONDS": "120",
        }
    )
    assert config.token == "xyz"
    assert "video" not in config.served  # no model, no kind: honest
    assert config.inputs["enhance"] == {"image": "{image}", "scale": "{scale}"}
    assert config.timeout_seconds == 120.0
    for bad in (
        {"TDS_REMOTE_RENDER_INPUT": '{"image": "{picture}"}'},
        {"TDS_REMOTE_RENDER_INPUT": "[1, 2]"},
        {"TDS_REMOTE_RENDER_MODEL": "just-a-name"},
        {"TDS_REMOTE_WAIT_SECONDS": "90"},
        {"TDS_REMOTE_KINDS": "render,paint"},
    ):
        with pytest.raises(ValueError, match="TDS_REPLICATE_"):
            RemoteConfig.from_env(bad)


def test_setup_without_a_token_fails_clearly() -> None:
    engine = RemoteEngine(RemoteConfig(token=""))
    with pytest.raises(RuntimeError, match="TDS_REPLICATE_API_TOKEN"):
        engine.setup()


def test_registry_loads_the_engine_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TDS_REMOTE_API_TOKEN", "t")
    monkeypatch.setenv("TDS_REMOTE_KINDS", "render,video")
    for name in ("replicate", "remote"):  # its provider's name, and its first one
        engine = registry.load(name)
        assert engine.name == "replicate"
        assert engine.kinds == {"render", "video"}
    monkeypatch.setenv("TDS_REPLICATE_KINDS", "render")  # the new name wins over the old
    assert registry.load("replicate").kinds == {"render"}


def test_template_placeholders() -> None:
    uploads: list[bytes] = []

    def upload(data: bytes, content_type: str) -> str:
        uploads.append(data)
        return "https://files.example/1"

    enhance = Job(kind="enhance", image=viewport(), width=256, height=192, seed=5)
    built = inputs.build(
        {
            "image": "{image}",
            "factor": "{upscale_factor}",
            "scale": "{scale}",
            "ratio": "{aspect_ratio}",
            "size": "{width}x{height}",
            "nested": [{"seed": "{seed}"}],
            "fixed": 3,
        },
        enhance,
        10**6,
        upload,
    )
    assert built["image"].startswith("data:image/jpeg;base64,")
    assert (built["factor"], built["scale"], built["ratio"]) == ("4x", 4, "4:3")
    assert built["size"] == "256x192"
    assert built["nested"] == [{"seed": 5}]
    assert built["fixed"] == 3
    assert inputs.build({"edges": "{edges}"}, enhance, 10, upload) == {
        "edges": "https://files.example/1"
    }
    assert len(uploads) == 1
    staging = Job(
        kind="staging", image=viewport(), width=64, height=48, architectural_style="japanese"
    )
    assert "japanese" in prompts.instruction(staging)
    assert "Keep the walls" in prompts.instruction(staging)
    assert inputs.aspect_ratio(1920, 1080) == "16:9"


def test_fake_server_answers_unknown_models_with_404(fake: Fake) -> None:
    engine, _ = engine_for(fake, **every_model("test/nothing"))
    with pytest.raises(EngineError, match="404"):
        engine.run(job(), Recorder())


def test_every_setting_is_documented() -> None:
    from pathlib import Path

    text = (Path(__file__).parents[2] / "docs" / "engines.md").read_text()
    names = ["API_TOKEN", "BASE_URL", "KINDS"]
    names += [f"{kind.upper()}_{part}" for kind in DEFAULT_MODELS for part in ("MODEL", "INPUT")]
    names += [
        "WAIT_SECONDS",
        "POLL_SECONDS",
        "POLL_MAX_SECONDS",
        "TIMEOUT_SECONDS",
        "REQUEST_TIMEOUT_SECONDS",
        "RETRIES",
        "MAX_OUTPUT_BYTES",
        "DATA_URI_MAX_BYTES",
    ]
    for name in names:
        assert f"`TDS_REPLICATE_{name}`" in text, name
    read = {name for field in RemoteConfig.model_fields for name in RemoteConfig.variables(field)}
    assert read == {
        f"TDS_{prefix}_{name}" for name in names for prefix in ("REPLICATE", "REMOTE")
    } | {"REPLICATE_API_TOKEN"}
    assert "`TDS_REMOTE_`" in text  # the earlier names are said to work too
    for placeholder in inputs.PLACEHOLDERS:
        assert f"`{{{placeholder}}}`" in text, placeholder
