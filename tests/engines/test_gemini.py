"""The gemini engine against a loopback fake of Google's Gemini API (tests/support/fake_gemini.py),
through the engine itself and end to end through the tds API.

The fake answers as Google documents: images by aspect ratio and size, 429 with RetryInfo and
Retry-After, keys that are not valid, 5xx, blocked prompts and blocked outputs, slow answers,
malformed bodies. No test waits on a real clock for a 429: sleeping is injected.
"""

from __future__ import annotations

import base64
import io
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from tds.catalogue import COSTS
from tds.engines import registry
from tds.engines.base import (
    ContentRefused,
    EngineError,
    EngineUnavailable,
    Job,
    JobCanceled,
    Kind,
)
from tds.engines.common import prompts
from tds.engines.gemini import request
from tds.engines.gemini.config import DEFAULT_BASE_URL, DEFAULT_MODEL, GeminiSettings
from tds.engines.gemini.engine import GeminiEngine
from tests.engines.helpers import Clock, Recorder
from tests.support import fake_gemini
from tests.support.fake_gemini import API_KEY, FakeGemini
from tests.support.images import png_bytes
from tests.support.servers import LiveServer

MakeServer = Callable[..., LiveServer]


@pytest.fixture
def fake() -> Iterator[FakeGemini]:
    server = FakeGemini()
    yield server
    server.close()


def settings(fake: FakeGemini, **changes: Any) -> GeminiSettings:
    values: dict[str, Any] = {
        "api_key": API_KEY,
        "base_url": fake.url,
        "timeout_seconds": 60.0,
        "request_timeout_seconds": 10.0,
        "retries": 3,
    }
    return GeminiSettings(**(values | changes))


Engines = list[GeminiEngine]


@pytest.fixture
def engines() -> Iterator[Engines]:
    made: Engines = []
    yield made
    for engine in made:
        engine.close()


@pytest.fixture
def engine_for(engines: Engines) -> Callable[..., tuple[GeminiEngine, Clock]]:
    def make(fake: FakeGemini, **changes: Any) -> tuple[GeminiEngine, Clock]:
        clock = Clock()
        engine = GeminiEngine(settings(fake, **changes), sleep=clock.sleep, clock=clock)
        engine.setup()
        engines.append(engine)
        return engine, clock

    return make


EngineFor = Callable[..., tuple[GeminiEngine, Clock]]


def viewport(size: tuple[int, int] = (64, 48)) -> Image.Image:
    pixels = np.full((size[1], size[0], 3), 220, np.uint8)
    pixels[size[1] // 5 : size[1] * 4 // 5, size[0] // 5 : size[0] * 4 // 5] = 90
    return Image.fromarray(pixels, "RGB")


def job(kind: Kind = "render", size: tuple[int, int] = (96, 72), **fields: Any) -> Job:
    return Job(kind=kind, image=viewport(), width=size[0], height=size[1], seed=42, **fields)


# -- success: the request Google gets, the image we give back ----------------------------------


def test_a_render_is_one_request_and_an_image_of_the_job_size(
    fake: FakeGemini, engine_for: EngineFor
) -> None:
    engine, clock = engine_for(fake)
    recorder = Recorder()
    the_job = job(architectural_style="modern", lighting="night", prompt="brick and oak")
    output = engine.run(the_job, recorder)
    assert output.image.size == (96, 72)
    assert output.image.mode == "RGB"
    assert output.image.getpixel((48, 36)) == (180, 120, 60)
    assert output.video is None
    assert fake.calls == 1
    sent = fake.last
    assert sent.method == "POST"
    assert sent.path == f"/v1beta/models/{DEFAULT_MODEL}:generateContent"
    assert sent.headers["x-goog-api-key"] == API_KEY
    assert "authorization" not in sent.headers
    assert "key" not in sent.query  # never in the URL, where proxies log it
    assert sent.inline["mimeType"] == "image/png"
    assert sent.image().size == (64, 48)  # the input as it is, lossless
    assert np.array_equal(np.asarray(sent.image()), np.asarray(the_job.image))
    assert sent.text == prompts.instruction(the_job)
    assert sent.text.startswith("brick and oak.")
    assert "modern style" in sent.text
    assert "night light" in sent.text
    assert sent.generation_config["responseModalities"] == ["IMAGE"]
    assert sent.generation_config["seed"] == 42
    assert sent.image_config == {"aspectRatio": "4:3", "imageSize": "1K"}
    assert clock.slept == []
    assert recorder.reports == [(0, 4), (1, 4), (3, 4), (4, 4)]


@pytest.mark.parametrize(
    ("kind", "words"),
    [("refine", "Refine this render"), ("staging", "Furnish this empty room")],
)
def test_refine_and_staging_send_their_instruction(
    fake: FakeGemini, engine_for: EngineFor, kind: Kind, words: str
) -> None:
    engine, _ = engine_for(fake)
    the_job = job(kind, architectural_style="japanese")
    assert engine.run(the_job, Recorder()).image.size == (96, 72)
    assert fake.last.text == prompts.instruction(the_job)
    assert words in fake.last.text
    assert "japanese" in fake.last.text


@pytest.mark.parametrize(
    ("size", "ratio", "tier"),
    [
        ((1024, 768), "4:3", "1K"),
        ((1024, 1024), "1:1", "1K"),
        ((2048, 1152), "16:9", "2K"),
        ((1152, 2048), "9:16", "2K"),
        ((2048, 1366), "3:2", "2K"),
        ((2048, 878), "21:9", "2K"),
        ((2048, 1024), "16:9", "2K"),  # 2:1 is nearer 16:9 than 21:9
        ((3276, 4096), "4:5", "4K"),
        ((4096, 4096), "1:1", "4K"),
    ],
)
def test_the_nearest_ratio_and_size_tier_are_asked_for(
    size: tuple[int, int], ratio: str, tier: str
) -> None:
    assert request.aspect_ratio(*size) == ratio
    assert request.image_size(*size, "auto") == tier
    assert request.image_size(*size, "2K") == "2K"
    assert request.image_size(*size, "none") is None


def test_a_2k_render_asks_for_2k_and_is_resized_exactly(
    fake: FakeGemini, engine_for: EngineFor
) -> None:
    engine, _ = engine_for(fake)
    output = engine.run(job(size=(2048, 1366)), Recorder())
    assert output.image.size == (2048, 1366)  # Gemini answered 2496×1664 (3:2 at 2K)
    assert fake.last.image_config == {"aspectRatio": "3:2", "imageSize": "2K"}


def test_a_frame_between_gemini_ratios_is_resized_with_a_warning(
    fake: FakeGemini, engine_for: EngineFor
) -> None:
    engine, _ = engine_for(fake)
    output = engine.run(job(size=(96, 60)), Recorder())  # 16:10, between 3:2 and 16:9
    assert output.image.size == (96, 60)
    assert fake.last.image_config["aspectRatio"] == "3:2"
    assert output.warnings == [
        "Gemini answered 1248×832 px, the nearest aspect ratio it makes; it was resized to "
        "96×60, which stretches it by 7% one way."
    ]
    assert engine.run(job(size=(96, 72)), Recorder()).warnings == []


def test_image_size_none_sends_no_size_for_models_without_it(
    fake: FakeGemini, engine_for: EngineFor
) -> None:
    engine, _ = engine_for(fake, model="gemini-2.5-flash-image", image_size="none")
    assert engine.run(job(size=(96, 54)), Recorder()).image.size == (96, 54)
    assert fake.last.path == "/v1beta/models/gemini-2.5-flash-image:generateContent"
    assert fake.last.image_config == {"aspectRatio": "16:9"}


def test_an_input_too_large_as_png_goes_as_jpeg(
    fake: FakeGemini, engine_for: EngineFor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(request, "MAX_INLINE_PNG_BYTES", 100)
    engine, _ = engine_for(fake)
    assert engine.run(job(), Recorder()).image.size == (96, 72)
    assert fake.last.inline["mimeType"] == "image/jpeg"
    assert fake.last.image().size == (64, 48)


def test_the_final_image_is_taken_not_a_thought(fake: FakeGemini, engine_for: EngineFor) -> None:
    fake.answer(fake_gemini.image((10, 200, 30), thoughts=2))
    engine, _ = engine_for(fake)
    assert engine.run(job(), Recorder()).image.getpixel((10, 10)) == (10, 200, 30)


def test_the_sdk_reads_nothing_from_the_environment(
    fake: FakeGemini, engines: Engines, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Settings come from TDS_GEMINI_* only: the SDK's own variables change nothing."""
    monkeypatch.setenv("GOOGLE_API_KEY", "AIza-someone-elses-key")
    monkeypatch.setenv("GEMINI_API_KEY", "AIza-someone-elses-key")
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "somewhere")
    monkeypatch.setenv("GOOGLE_GENAI_API_VERSION", "v1")
    engine = GeminiEngine(settings(fake))
    engines.append(engine)
    engine.setup()
    assert engine.run(job(), Recorder()).image.size == (96, 72)
    assert fake.last.path.startswith("/v1beta/models/")
    assert fake.last.headers["x-goog-api-key"] == API_KEY


# -- 429: waited out within the deadline, then model_unavailable -------------------------------


def test_a_429_waits_its_retry_after_and_retries(fake: FakeGemini, engine_for: EngineFor) -> None:
    fake.answer(fake_gemini.rate_limited(retry_after="3"))
    engine, clock = engine_for(fake)
    assert engine.run(job(), Recorder()).image.size == (96, 72)
    assert fake.calls == 2
    assert clock.slept == [3.0]


def test_a_429_without_retry_after_waits_its_retry_info(
    fake: FakeGemini, engine_for: EngineFor
) -> None:
    fake.answer(fake_gemini.rate_limited(retry_after=None, retry_delay="7s"))
    engine, clock = engine_for(fake)
    assert engine.run(job(), Recorder()).image.size == (96, 72)
    assert clock.slept == [7.0]


def test_429s_past_the_retries_are_model_unavailable(
    fake: FakeGemini, engine_for: EngineFor
) -> None:
    fake.default = fake_gemini.rate_limited()
    engine, clock = engine_for(fake, retries=3)
    with pytest.raises(EngineUnavailable, match="rate-limiting") as raised:
        engine.run(job(), Recorder())
    assert raised.value.code == "model_unavailable"
    assert fake.calls == 4  # the first try and three retries
    assert clock.slept == [0.5, 1.0, 2.0]  # exponential, Retry-After being shorter


def test_a_429_asking_longer_than_the_deadline_is_not_waited(
    fake: FakeGemini, engine_for: EngineFor
) -> None:
    fake.default = fake_gemini.rate_limited(retry_after="15")
    engine, clock = engine_for(fake, timeout_seconds=10.0)
    with pytest.raises(EngineUnavailable, match="rate-limiting"):
        engine.run(job(), Recorder())
    assert fake.calls == 1
    assert clock.slept == []


def test_a_cancel_during_a_429_wait_stops_the_render(
    fake: FakeGemini, engine_for: EngineFor
) -> None:
    fake.default = fake_gemini.rate_limited()
    engine, _ = engine_for(fake)
    with pytest.raises(JobCanceled):
        engine.run(job(), Recorder(cancel_at=3))  # 0, 1, then the report after the wait
    assert fake.calls == 1


def test_a_cancel_before_sending_sends_nothing(fake: FakeGemini, engine_for: EngineFor) -> None:
    engine, _ = engine_for(fake)
    with pytest.raises(JobCanceled):
        engine.run(job(), Recorder(cancel_at=2))
    assert fake.calls == 0


# -- the key: refused keys are model_unavailable, the key never in a message -------------------


@pytest.mark.parametrize(
    "answer",
    [
        None,  # a wrong key: the fake answers Google's 400 API_KEY_INVALID
        fake_gemini.permission_denied(),
        fake_gemini.unauthenticated(),
    ],
    ids=["api-key-invalid", "403", "401"],
)
def test_a_refused_key_is_unavailable_logged_and_never_shown(
    fake: FakeGemini,
    engine_for: EngineFor,
    caplog: pytest.LogCaptureFixture,
    answer: fake_gemini.Answer | None,
) -> None:
    key = API_KEY if answer else "AIzaSyWRONG-key-that-must-stay-secret"
    if answer:
        fake.answer(answer)
    engine, clock = engine_for(fake, api_key=key)
    with (
        caplog.at_level(logging.ERROR, logger="tds.engines.gemini"),
        pytest.raises(EngineUnavailable) as raised,
    ):
        engine.run(job(), Recorder())
    assert raised.value.code == "model_unavailable"
    assert "key" in str(raised.value)
    assert key not in str(raised.value)
    assert fake.calls == 1  # not retried
    assert clock.slept == []
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors, "the provider's detail is logged for the operator"
    logged = " ".join(r.getMessage() for r in errors)
    assert "TDS_GEMINI_API_KEY" in logged
    assert (answer.body["error"]["message"] if answer else "API key not valid") in logged
    assert key not in logged


def test_a_key_echoed_by_the_provider_is_taken_out(
    fake: FakeGemini, engine_for: EngineFor, caplog: pytest.LogCaptureFixture
) -> None:
    fake.answer(fake_gemini.key_not_valid(f"API key {API_KEY} not valid."))
    engine, _ = engine_for(fake)
    with (
        caplog.at_level(logging.DEBUG, logger="tds.engines.gemini"),
        pytest.raises(EngineUnavailable) as raised,
    ):
        engine.run(job(), Recorder())
    assert API_KEY not in str(raised.value)
    assert all(API_KEY not in record.getMessage() for record in caplog.records)
    assert any("[key]" in record.getMessage() for record in caplog.records)


def test_setup_without_a_key_stops_the_server() -> None:
    engine = GeminiEngine(GeminiSettings(api_key="  "))
    with pytest.raises(RuntimeError, match="TDS_GEMINI_API_KEY"):
        engine.setup()


# -- refusals: content_refused with Google's reason ----------------------------------------------


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (fake_gemini.blocked("PROHIBITED_CONTENT"), "PROHIBITED_CONTENT"),
        (fake_gemini.blocked("SAFETY"), "SAFETY"),
        (fake_gemini.stopped("IMAGE_SAFETY"), "IMAGE_SAFETY"),
        (fake_gemini.stopped("IMAGE_PROHIBITED_CONTENT"), "IMAGE_PROHIBITED_CONTENT"),
    ],
)
def test_a_safety_block_is_content_refused_with_its_reason(
    fake: FakeGemini, engine_for: EngineFor, answer: fake_gemini.Answer, reason: str
) -> None:
    fake.answer(answer)
    engine, _ = engine_for(fake)
    with pytest.raises(ContentRefused, match=reason) as raised:
        engine.run(job(), Recorder())
    assert raised.value.code == "content_refused"
    assert fake.calls == 1


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (fake_gemini.stopped("STOP", text="I can only describe this image."), "describe this"),
        (fake_gemini.stopped("NO_IMAGE"), "NO_IMAGE"),
        (fake_gemini.Answer(body={"candidates": []}), "no candidate"),
    ],
)
def test_no_image_without_a_safety_reason_is_a_model_failure(
    fake: FakeGemini, engine_for: EngineFor, answer: fake_gemini.Answer, message: str
) -> None:
    fake.answer(answer)
    engine, _ = engine_for(fake)
    with pytest.raises(EngineError, match=message) as raised:
        engine.run(job(), Recorder())
    assert not isinstance(raised.value, ContentRefused)
    assert raised.value.code == "model_failed"


# -- failures that may have been billed: never retried --------------------------------------------


def test_a_500_is_model_failed_and_not_retried(fake: FakeGemini, engine_for: EngineFor) -> None:
    fake.default = fake_gemini.server_error()
    engine, clock = engine_for(fake)
    with pytest.raises(EngineError, match=r"HTTP 500 INTERNAL.*not retried") as raised:
        engine.run(job(), Recorder())
    assert type(raised.value) is EngineError
    assert fake.calls == 1
    assert clock.slept == []


def test_a_503_is_unavailable_and_not_retried(fake: FakeGemini, engine_for: EngineFor) -> None:
    fake.default = fake_gemini.unavailable()
    engine, _ = engine_for(fake)
    with pytest.raises(EngineUnavailable, match="overloaded"):
        engine.run(job(), Recorder())
    assert fake.calls == 1


def test_a_slow_answer_times_out_and_is_not_retried(
    fake: FakeGemini, engine_for: EngineFor
) -> None:
    fake.answer(fake_gemini.image(delay=1.2))
    engine, _ = engine_for(fake, request_timeout_seconds=0.3)
    with pytest.raises(EngineError, match=r"did not answer.*not retried"):
        engine.run(job(), Recorder())
    time.sleep(1.2)  # let the slow answer finish on the server: still one request
    assert fake.calls == 1


def test_the_request_timeout_is_capped_by_the_deadline(
    fake: FakeGemini, engine_for: EngineFor
) -> None:
    fake.answer(fake_gemini.rate_limited(retry_after="9.7"), fake_gemini.image(delay=1.2))
    engine, clock = engine_for(fake, timeout_seconds=10.0, request_timeout_seconds=240.0)
    with pytest.raises(EngineError, match=r"did not answer within 0\.3 s"):
        engine.run(job(), Recorder())  # 0.3 s of the deadline were left for the retry
    assert clock.slept == [9.7]
    assert fake.last.headers["x-server-timeout"] == "1"


def test_an_unreachable_service_is_retried_then_unavailable(engine_for: EngineFor) -> None:
    closed = FakeGemini()
    closed.close()  # its port now refuses connections
    engine, clock = engine_for(closed, retries=2)
    with pytest.raises(EngineUnavailable, match="could not be reached"):
        engine.run(job(), Recorder())
    assert clock.slept == [0.5, 1.0]  # nothing was sent, so each retry is safe


def test_a_bad_request_is_model_failed_with_googles_message(
    fake: FakeGemini, engine_for: EngineFor
) -> None:
    fake.answer(fake_gemini.bad_request("Unable to process input image. Please retry."))
    engine, _ = engine_for(fake)
    with pytest.raises(EngineError, match="INVALID_ARGUMENT: Unable to process input image"):
        engine.run(job(), Recorder())
    assert fake.calls == 1


def test_an_account_google_will_not_serve_is_unavailable(
    fake: FakeGemini, engine_for: EngineFor
) -> None:
    fake.answer(fake_gemini.failed_precondition())
    engine, _ = engine_for(fake)
    with pytest.raises(EngineUnavailable, match="FAILED_PRECONDITION"):
        engine.run(job(), Recorder())


def test_an_unknown_model_is_unavailable(fake: FakeGemini, engine_for: EngineFor) -> None:
    engine, _ = engine_for(fake, model="gemini-0-paint")
    with pytest.raises(EngineUnavailable, match=r"no model 'gemini-0-paint'.*NOT_FOUND"):
        engine.run(job(), Recorder())


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (fake_gemini.not_json(), "could not be read"),
        (fake_gemini.not_an_image(), "unusable image"),
        (
            fake_gemini.Answer(
                body={"candidates": [{"content": {"parts": [{"inlineData": {"data": "@@"}}]}}]}
            ),
            "could not be read",
        ),
    ],
)
def test_malformed_answers_are_model_failed(
    fake: FakeGemini, engine_for: EngineFor, answer: fake_gemini.Answer, message: str
) -> None:
    fake.answer(answer)
    engine, _ = engine_for(fake)
    with pytest.raises(EngineError, match=message) as raised:
        engine.run(job(), Recorder())
    assert raised.value.code == "model_failed"
    assert fake.calls == 1


def test_a_kind_it_does_not_serve_fails(fake: FakeGemini, engine_for: EngineFor) -> None:
    engine, _ = engine_for(fake, kinds=frozenset({"render"}))
    with pytest.raises(EngineError, match="does not do 'staging'"):
        engine.run(job("staging"), Recorder())
    assert fake.calls == 0


def test_the_fake_rejects_what_google_would(fake: FakeGemini) -> None:
    """The fake is only as good as its checks: unknown fields, ratios and sizes are 400s."""
    url = f"{fake.url}/v1beta/models/{DEFAULT_MODEL}:generateContent"
    part = {"inline_data": {"mime_type": "image/png", "data": base64.b64encode(b"x").decode()}}
    good = {"contents": [{"parts": [part, {"text": "go"}]}]}
    headers = {"x-goog-api-key": API_KEY}
    assert httpx.post(url, json=good, headers=headers).status_code == 200
    for bad in (
        good | {"generationConfig": {"imageConfig": {"aspectRatio": "7:5"}}},
        good | {"generationConfig": {"imageConfig": {"imageSize": "8K"}}},
        good | {"generationConfig": {"size": "1024x1024"}},
        {"contents": []},
    ):
        answer = httpx.post(url, json=bad, headers=headers)
        assert answer.status_code == 400, bad
        assert answer.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert httpx.post(url, json=good).json()["error"]["status"] == "PERMISSION_DENIED"
    assert (
        httpx.post(url.replace("/v1beta/", "/v1/"), json=good, headers=headers).status_code == 404
    )


# -- settings, registry, docs ---------------------------------------------------------------------


def test_settings_from_an_explicit_environment() -> None:
    defaults = GeminiSettings.from_env({})
    assert defaults.api_key == ""
    assert defaults.base_url == DEFAULT_BASE_URL == "https://generativelanguage.googleapis.com"
    assert defaults.model == DEFAULT_MODEL == "gemini-3.1-flash-image"
    assert defaults.kinds == {"render", "refine", "staging"}
    assert defaults.image_size == "auto"
    assert (defaults.timeout_seconds, defaults.request_timeout_seconds) == (300.0, 240.0)
    assert defaults.retries == 4
    config = GeminiSettings.from_env(
        {
            "TDS_GEMINI_API_KEY": " AIza-key ",
            "TDS_GEMINI_BASE_URL": "http://127.0.0.1:9/",
            "TDS_GEMINI_MODEL": "gemini-3-pro-image",
            "TDS_GEMINI_KINDS": "render, staging",
            "TDS_GEMINI_IMAGE_SIZE": "2K",
            "TDS_GEMINI_TIMEOUT_SECONDS": "120",
            "TDS_GEMINI_REQUEST_TIMEOUT_SECONDS": "90",
            "TDS_GEMINI_RETRIES": "1",
            "GEMINI_API_KEY": "ignored",
        }
    )
    assert config.api_key == "AIza-key"
    assert config.base_url == "http://127.0.0.1:9"
    assert config.model == "gemini-3-pro-image"
    assert config.kinds == {"render", "staging"}
    assert config.image_size == "2K"
    assert (config.timeout_seconds, config.request_timeout_seconds, config.retries) == (
        120.0,
        90.0,
        1,
    )
    for bad, name in (
        ({"TDS_GEMINI_KINDS": "render,video"}, "TDS_GEMINI_KINDS"),
        ({"TDS_GEMINI_KINDS": "paint"}, "TDS_GEMINI_KINDS"),
        ({"TDS_GEMINI_IMAGE_SIZE": "8K"}, "TDS_GEMINI_IMAGE_SIZE"),
        ({"TDS_GEMINI_BASE_URL": "ftp://example.com"}, "TDS_GEMINI_BASE_URL"),
        ({"TDS_GEMINI_RETRIES": "-1"}, "TDS_GEMINI_RETRIES"),
        ({"TDS_GEMINI_RETRIES": "many"}, "TDS_GEMINI_RETRIES"),
        ({"TDS_GEMINI_TIMEOUT_SECONDS": "0"}, "TDS_GEMINI_TIMEOUT_SECONDS"),
    ):
        with pytest.raises(ValueError, match=name):
            GeminiSettings.from_env(bad)


def test_the_description_is_honest() -> None:
    engine = GeminiEngine(GeminiSettings(model="gemini-3-pro-image"))
    assert engine.name == "gemini"
    assert engine.generative is True
    assert "gemini-3-pro-image" in engine.description
    assert "Google" in engine.description
    assert "generative" in engine.description


def test_registry_loads_the_engine_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TDS_GEMINI_API_KEY", "AIza-k")
    monkeypatch.setenv("TDS_GEMINI_KINDS", "refine")
    engine = registry.load("gemini")
    assert isinstance(engine, GeminiEngine)
    assert engine.kinds == {"refine"}


def test_every_setting_is_documented() -> None:
    text = (Path(__file__).parents[2] / "docs" / "engines.md").read_text()
    assert "## Gemini" in text
    section = text.split("## Gemini", 1)[1].split("\n## ", 1)[0]
    read = {
        name for field in GeminiSettings.model_fields for name in GeminiSettings.variables(field)
    }
    assert read == {
        f"TDS_GEMINI_{name}"
        for name in (
            "API_KEY",
            "BASE_URL",
            "MODEL",
            "KINDS",
            "IMAGE_SIZE",
            "TIMEOUT_SECONDS",
            "REQUEST_TIMEOUT_SECONDS",
            "RETRIES",
        )
    }
    for name in read:
        assert f"`{name}`" in section, name


# -- end to end through the API -------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
def live(
    make_server: MakeServer, fake: FakeGemini, engines: Engines
) -> Callable[..., tuple[LiveServer, Clock]]:
    def start(**changes: Any) -> tuple[LiveServer, Clock]:
        clock = Clock()
        engine = GeminiEngine(settings(fake, **changes), sleep=clock.sleep, clock=clock)
        engines.append(engine)
        return make_server(engine), clock

    return start


@pytest.mark.parametrize("kind", ["render", "refine", "staging"])
def test_every_kind_renders_end_to_end_and_is_charged_once(
    live: Callable[..., tuple[LiveServer, Clock]], fake: FakeGemini, kind: Kind
) -> None:
    server, _ = live()
    account = server.account(credits=100, plan="pro")
    with server.client(account) as client:
        response = client.post(
            "/api/v1/renders",
            json={"image_base64": b64(png_bytes()), "resolution": "1k", "kind": kind},
        )
        assert response.status_code == 200, response.text
        render = response.json()["render"]
        assert render["status"] == "done"
        assert (render["width"], render["height"]) == (1024, 768)
        cost = COSTS[kind]["1k"]
        assert render["credits_used"] == cost
        output = client.get(render["output_image_url"])
        assert output.status_code == 200
        with Image.open(io.BytesIO(output.content)) as picture:
            assert picture.size == (1024, 768)
        me = client.get("/api/v1/me").json()
    assert (me["credits"], me["credits_held"]) == (100 - cost, 0)
    assert fake.calls == 1
    assert fake.last.image_config == {"aspectRatio": "4:3", "imageSize": "1K"}
    assert fake.last.image().size == (320, 240)
    server.assert_books_balanced(account)


@pytest.mark.parametrize(
    ("answer", "code", "status"),
    [
        (fake_gemini.rate_limited(), "model_unavailable", 503),
        (fake_gemini.blocked("PROHIBITED_CONTENT"), "content_refused", 400),
        (fake_gemini.server_error(), "model_failed", 502),
    ],
    ids=["429-exhausted", "refused", "500"],
)
def test_failed_renders_are_refunded_with_the_right_code(
    live: Callable[..., tuple[LiveServer, Clock]],
    fake: FakeGemini,
    answer: fake_gemini.Answer,
    code: str,
    status: int,
) -> None:
    fake.default = answer
    server, clock = live(retries=2)
    account = server.account(credits=100)
    with server.client(account) as client:
        response = client.post(
            "/api/v1/renders", json={"image_base64": b64(png_bytes()), "resolution": "1k"}
        )
        # Until the API maps every engine failure, a blocking POST may answer 502 for all.
        assert response.status_code in (status, 502), response.text
        error = response.json()["error"]
        assert error["code"] in (code, "model_failed")
        render = client.get(f"/api/v1/renders/{error['render_id']}").json()["render"]
        me = client.get("/api/v1/me").json()
    assert render["status"] == "failed"
    assert render["error"]["code"] == code
    assert "refunded" in render["error"]["message"]
    assert render["credits_used"] == 0
    assert render["output_image_url"] is None
    assert (me["credits"], me["credits_held"]) == (100, 0)
    assert fake.calls == (3 if code == "model_unavailable" else 1)
    assert len(clock.slept) == (2 if code == "model_unavailable" else 0)
    server.assert_books_balanced(account)
