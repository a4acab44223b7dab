"""The openai engine against a loopback fake of OpenAI's Images API (tests/support/fake_openai.py):
the request it sends, sizes, every failure mode, settings; then end to end through the API."""

from __future__ import annotations

import base64
import io
import json
import logging
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

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
from tds.engines.openai import models
from tds.engines.openai.config import SERVED, OpenAISettings
from tds.engines.openai.engine import OpenAIEngine
from tests.engines.helpers import Clock, Recorder
from tests.support import fake_openai
from tests.support.fake_openai import KEY, FakeOpenAI, Reply
from tests.support.http import poll
from tests.support.images import png_bytes
from tests.support.servers import LiveServer

MakeServer = Callable[..., LiveServer]
COLOUR = (180, 120, 60)


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(colour=COLOUR) as server:
        yield server


def settings(fake: FakeOpenAI, **changes: Any) -> OpenAISettings:
    values: dict[str, Any] = {
        "api_key": KEY,
        "base_url": fake.url,
        "timeout_seconds": 60.0,
        "request_timeout_seconds": 10.0,
        "retries": 3,
    }
    return OpenAISettings(**(values | changes))


def engine_for(fake: FakeOpenAI, **changes: Any) -> tuple[OpenAIEngine, Clock]:
    clock = Clock()
    engine = OpenAIEngine(settings(fake, **changes), sleep=clock.sleep, clock=clock)
    engine.setup()
    return engine, clock


def viewport(size: tuple[int, int] = (64, 48)) -> Image.Image:
    image = Image.new("RGB", size, (220, 220, 220))
    image.paste((90, 90, 90), (size[0] // 5, size[1] // 5, 4 * size[0] // 5, 4 * size[1] // 5))
    return image


def job(
    kind: Kind = "render",
    size: tuple[int, int] = (1024, 768),
    image: Image.Image | None = None,
    **fields: Any,
) -> Job:
    return Job(
        kind=kind, image=image or viewport(), width=size[0], height=size[1], seed=7, **fields
    )


def sent_image(fake: FakeOpenAI) -> Image.Image:
    upload = fake.edits[-1].images[0]
    image = Image.open(io.BytesIO(upload.data))
    image.load()
    return image


# -- the request --------------------------------------------------------------------------------


def test_a_render_sends_the_documented_edit_and_returns_the_job_size(fake: FakeOpenAI) -> None:
    engine, clock = engine_for(fake)
    recorder = Recorder()
    render = job(architectural_style="modern", lighting="golden_hour", prompt="brick facade")
    output = engine.run(render, recorder)
    assert output.image.size == (1024, 768)
    assert output.image.getpixel((512, 384)) == COLOUR
    assert output.warnings == []
    [request] = fake.edits
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["content-type"].startswith("multipart/form-data")
    assert "openai-organization" not in request.headers
    assert request.fields == {
        "prompt": prompts.instruction(render),
        "model": "gpt-image-2.5-sunburst",
        "size": "1024x768",
        "quality": "high",
        "n": "1",
        "output_format": "png",
    }  # no input_fidelity: the 2.5 models refuse it
    assert "brick facade" in request.fields["prompt"]
    assert "golden hour" in request.fields["prompt"]
    [upload] = request.files["image[]"]  # the SDK's array field, one image
    assert upload.content_type == "image/png"
    assert sent_image(fake).size == (64, 48)  # small inputs go as they are
    assert recorder.reports[0] == (0, 4)
    assert recorder.reports[-1] == (4, 4)
    dones = [done for done, _ in recorder.reports]
    assert dones == sorted(dones)
    assert clock.slept == []


@pytest.mark.parametrize("kind", sorted(SERVED))
def test_every_kind_sends_its_instruction(fake: FakeOpenAI, kind: Kind) -> None:
    engine, _ = engine_for(fake)
    this = job(kind, architectural_style="japanese", prompt="warmer")
    assert engine.run(this, Recorder()).image.size == (1024, 768)
    assert fake.edits[-1].fields["prompt"] == prompts.instruction(this)


@pytest.mark.parametrize(
    ("model", "fidelity"),
    [
        ("gpt-image-1", "high"),
        ("gpt-image-1.5", "high"),
        ("gpt-image-2-2026-04-21", None),
        ("gpt-image-1-mini", None),
        ("gpt-image-2", None),
        ("gpt-image-2.5-flare-2026-09-08", None),
        ("gpt-image-2.6-sunburst", None),
    ],
)
def test_input_fidelity_goes_only_to_models_that_take_it(model: str, fidelity: str | None) -> None:
    # The fake answers 400 invalid_input_fidelity_model where the API would.
    with FakeOpenAI(serve_retired=True) as fake:
        engine, _ = engine_for(fake, model=model)
        assert engine.run(job(), Recorder()).image.size == (1024, 768)
        assert fake.edits[0].fields.get("input_fidelity") == fidelity
        assert fake.edits[0].fields["model"] == model


@pytest.mark.parametrize(
    ("model", "size", "asked"),
    [
        ("gpt-image-2.5-sunburst", (1024, 768), "1024x768"),
        ("gpt-image-2.5-sunburst", (1024, 576), "1088x608"),  # raised to the minimum pixels
        ("gpt-image-2.5-sunburst", (2048, 1152), "2048x1152"),
        ("gpt-image-2.5-sunburst", (4096, 2304), "2560x1440"),  # the largest stable size
        ("gpt-image-2.5-sunburst", (2048, 2048), "1920x1920"),
        ("gpt-image-2", (768, 1024), "768x1024"),
        ("gpt-image-1.5", (2048, 1366), "1536x1024"),
        ("gpt-image-1.5", (1366, 2048), "1024x1536"),
        ("gpt-image-1.5", (1024, 1024), "1024x1024"),
        ("gpt-image-2.6-flare", (2048, 1152), "1536x1024"),  # unknown: the standard sizes
    ],
)
def test_the_size_asked_is_the_closest_the_model_takes(
    fake: FakeOpenAI, model: str, size: tuple[int, int], asked: str
) -> None:
    engine, _ = engine_for(fake, model=model)
    output = engine.run(job(size=size, image=viewport((size[0] // 8, size[1] // 8))), Recorder())
    assert output.image.size == size
    assert fake.edits[0].fields["size"] == asked


def test_flexible_sizes_stay_within_openais_limits() -> None:
    flexible = models.lookup("gpt-image-2.5-flare")
    for width, height in [(1024, 256), (4096, 1024), (256, 4096), (1024, 682), (4096, 4096)]:
        for limit in (models.MIN_PIXELS, models.STABLE_PIXELS, models.MAX_PIXELS):
            asked = models.request_size(flexible, width, height, limit)
            assert models.allowed(*asked, limit), (width, height, limit, asked)
    assert models.request_size(flexible, 4096, 2304, models.MAX_PIXELS) == (3840, 2160)


def test_max_pixels_raises_the_size_asked(fake: FakeOpenAI) -> None:
    engine, _ = engine_for(fake, max_pixels=models.MAX_PIXELS)
    assert engine.run(job(size=(4096, 2304)), Recorder()).image.size == (4096, 2304)
    assert fake.edits[0].fields["size"] == "3840x2160"


def test_another_aspect_ratio_is_cropped_not_stretched(fake: FakeOpenAI) -> None:
    engine, _ = engine_for(fake, model="gpt-image-1.5")
    fake.queue(Reply(image=_two_tone((1536, 1024))))
    output = engine.run(job(size=(2048, 1152)), Recorder())
    assert output.image.size == (2048, 1152)
    assert fake.edits[0].fields["size"] == "1536x1024"
    assert output.warnings
    assert "cropped" in output.warnings[0]
    # Scaled by 4/3 to cover (2048×1365) and centre-cropped: the left half stays the left half.
    assert output.image.getpixel((1000, 576)) == (10, 10, 10)
    assert output.image.getpixel((1050, 576)) == (250, 250, 250)


def test_an_answer_of_another_size_is_brought_to_the_job_size(fake: FakeOpenAI) -> None:
    engine, _ = engine_for(fake)
    fake.queue(Reply(size=(512, 384)))
    output = engine.run(job(), Recorder())
    assert output.image.size == (1024, 768)
    assert output.warnings == []


def test_an_impossible_size_claimed_is_not_trusted(fake: FakeOpenAI) -> None:
    engine, _ = engine_for(fake)
    image = base64.b64encode(fake_openai.png((512, 384), COLOUR)).decode()
    body = {"created": 1, "data": [{"b64_json": image}], "size": "100000x1"}
    fake.queue(fake_openai.raw(json.dumps(body).encode()))
    output = engine.run(job(), Recorder())
    assert output.image.size == (1024, 768)
    assert output.warnings == []


def test_a_large_input_is_shrunk_to_cover_the_size_asked(fake: FakeOpenAI) -> None:
    engine, _ = engine_for(fake)
    engine.run(job(size=(1024, 768), image=viewport((4000, 3000))), Recorder())
    assert sent_image(fake).size == (1024, 768)


def _two_tone(size: tuple[int, int]) -> bytes:
    image = Image.new("RGB", size, (10, 10, 10))
    image.paste((250, 250, 250), (size[0] // 2, 0, size[0], size[1]))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def test_the_sdks_own_environment_is_not_used(
    fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-environment")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_ORG_ID", "org-environment")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj_environment")
    engine, _ = engine_for(fake)
    engine.run(job(), Recorder())
    headers = fake.edits[0].headers
    assert headers["authorization"] == f"Bearer {KEY}"
    assert "openai-organization" not in headers
    assert "openai-project" not in headers
    engine, _ = engine_for(fake, organization="org-studio", project="proj_studio")
    engine.run(job(), Recorder())
    headers = fake.edits[1].headers
    assert (headers["openai-organization"], headers["openai-project"]) == (
        "org-studio",
        "proj_studio",
    )


# -- rate limits: waited out within the deadline, then model_unavailable ------------------------


def test_a_429_is_waited_out_and_retried(fake: FakeOpenAI) -> None:
    engine, clock = engine_for(fake)
    fake.queue(fake_openai.rate_limited("2"))
    assert engine.run(job(), Recorder()).image.size == (1024, 768)
    assert len(fake.edits) == 2
    assert clock.slept == [2.0]


def test_retry_after_ms_wins_over_retry_after(fake: FakeOpenAI) -> None:
    engine, clock = engine_for(fake)
    fake.queue(fake_openai.rate_limited("9", retry_after_ms="1500"))
    engine.run(job(), Recorder())
    assert clock.slept == [1.5]


def test_without_retry_after_the_message_says_how_long(fake: FakeOpenAI) -> None:
    engine, clock = engine_for(fake)
    fake.queue(fake_openai.rate_limited(None))  # "Please try again in 12s."
    engine.run(job(), Recorder())
    assert clock.slept == [12.0]


def test_429s_past_the_retries_are_model_unavailable(fake: FakeOpenAI) -> None:
    engine, clock = engine_for(fake, retries=3)
    fake.default = fake_openai.rate_limited("1")
    with pytest.raises(EngineUnavailable, match="rate-limiting") as caught:
        engine.run(job(), Recorder())
    assert caught.value.code == "model_unavailable"
    assert len(fake.edits) == 4
    assert clock.slept == [1.0, 1.0, 2.0]


def test_429s_past_the_deadline_are_model_unavailable(fake: FakeOpenAI) -> None:
    engine, clock = engine_for(fake, timeout_seconds=10.0, retries=10)
    fake.default = fake_openai.rate_limited("6")
    with pytest.raises(EngineUnavailable, match="rate-limiting"):
        engine.run(job(), Recorder())
    assert clock.slept == [6.0]  # a second wait of 6 s would not fit in the 4 s left
    assert len(fake.edits) == 2


def test_out_of_quota_is_not_retried(fake: FakeOpenAI) -> None:
    engine, clock = engine_for(fake)
    fake.queue(fake_openai.out_of_quota())
    with pytest.raises(EngineUnavailable, match="quota"):
        engine.run(job(), Recorder())
    assert len(fake.edits) == 1
    assert clock.slept == []


def test_a_cancel_during_rate_limiting_stops_before_the_next_try(fake: FakeOpenAI) -> None:
    engine, _ = engine_for(fake)
    fake.default = fake_openai.rate_limited("1")
    with pytest.raises(JobCanceled):
        engine.run(job(), Recorder(cancel_at=3))  # (0, 4), (1, 4), then the retry's (1, 4)
    assert len(fake.edits) == 1


def test_a_cancel_before_sending_sends_nothing(fake: FakeOpenAI) -> None:
    engine, _ = engine_for(fake)
    with pytest.raises(JobCanceled):
        engine.run(job(), Recorder(cancel_at=1))
    with pytest.raises(JobCanceled):
        engine.run(job(), Recorder(cancel_at=2))
    assert fake.edits == []


# -- credentials, refusals, failures ---------------------------------------------------------------


def test_a_wrong_key_is_model_unavailable_and_never_in_the_message(
    fake: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "sk-wrong-key-42"
    engine, clock = engine_for(fake, api_key=wrong)
    with (
        caplog.at_level(logging.ERROR, logger="tds.engines.openai.engine"),
        pytest.raises(EngineUnavailable) as caught,
    ):
        engine.run(job(), Recorder())
    assert wrong not in str(caught.value)
    assert "credentials" in str(caught.value)
    assert len(fake.edits) == 1
    assert clock.slept == []
    [record] = [r for r in caplog.records if r.name == "tds.engines.openai.engine"]
    assert record.levelno == logging.ERROR
    logged = record.getMessage()
    assert "Incorrect API key provided" in logged  # the provider's detail, for the operator
    assert wrong not in logged  # which echoed the key: taken out


def test_a_403_is_model_unavailable(fake: FakeOpenAI, caplog: pytest.LogCaptureFixture) -> None:
    engine, _ = engine_for(fake)
    fake.queue(fake_openai.forbidden())
    with (
        caplog.at_level(logging.ERROR, logger="tds.engines.openai.engine"),
        pytest.raises(EngineUnavailable, match="HTTP 403"),
    ):
        engine.run(job(), Recorder())
    assert any("does not have access" in r.getMessage() for r in caplog.records)
    assert len(fake.edits) == 1


def test_a_retired_model_is_model_unavailable(fake: FakeOpenAI) -> None:
    engine, _ = engine_for(fake, model="gpt-image-1")
    with pytest.raises(EngineUnavailable, match=r"gpt-image-1 .*HTTP 404"):
        engine.run(job(), Recorder())
    assert fake.edits[0].fields["input_fidelity"] == "high"


def test_a_safety_refusal_is_content_refused_with_the_reason(fake: FakeOpenAI) -> None:
    engine, clock = engine_for(fake)
    fake.queue(fake_openai.refused())
    with pytest.raises(ContentRefused, match=r"rejected by the safety system.*violence") as caught:
        engine.run(job(), Recorder())
    assert caught.value.code == "content_refused"
    assert len(fake.edits) == 1
    assert clock.slept == []


def test_an_older_safety_refusal_is_content_refused_too(fake: FakeOpenAI) -> None:
    engine, _ = engine_for(fake)
    fake.queue(
        fake_openai.error(
            400,
            "Your request was rejected as a result of our safety system.",
            "invalid_request_error",
            "content_policy_violation",
        )
    )
    with pytest.raises(ContentRefused):
        engine.run(job(), Recorder())


def test_a_bad_request_is_model_failed_with_the_providers_message(fake: FakeOpenAI) -> None:
    engine, _ = engine_for(fake)
    fake.queue(fake_openai.bad_request("Invalid 'prompt': string too long.", "prompt"))
    with pytest.raises(EngineError, match=r"HTTP 400.*string too long") as caught:
        engine.run(job(), Recorder())
    assert type(caught.value) is EngineError
    assert caught.value.code == "model_failed"
    assert len(fake.edits) == 1


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_5xx_is_model_failed_and_never_retried(fake: FakeOpenAI, status: int) -> None:
    engine, clock = engine_for(fake)
    fake.queue(fake_openai.server_error(status))
    with pytest.raises(EngineError, match=f"HTTP {status}.*not retried") as caught:
        engine.run(job(), Recorder())
    assert type(caught.value) is EngineError
    assert len(fake.edits) == 1  # it may have run, and been paid for
    assert clock.slept == []


def test_a_read_timeout_is_model_failed_and_never_retried(fake: FakeOpenAI) -> None:
    engine, _ = engine_for(fake, request_timeout_seconds=0.2)
    fake.queue(fake_openai.slow(1.0))
    with pytest.raises(EngineError, match="not retried") as caught:
        engine.run(job(), Recorder())
    assert type(caught.value) is EngineError
    assert len(fake.edits) == 1  # recorded as it arrived: the only one


def test_an_unreachable_service_is_retried_then_model_unavailable(fake: FakeOpenAI) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    engine, clock = engine_for(fake, base_url=f"http://127.0.0.1:{port}/v1", retries=3)
    with pytest.raises(EngineUnavailable, match="could not be reached"):
        engine.run(job(), Recorder())
    assert len(clock.slept) == 3  # nothing was sent, so every retry is safe


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (fake_openai.raw(b"<html>Bad gateway</html>", "text/html"), "without an image"),
        (fake_openai.raw(b'{"created": 1, "data": ['), "unreadable"),
        (fake_openai.raw(b'{"created": 1}'), "without an image"),
        (fake_openai.raw(b'{"created": 1, "data": []}'), "without an image"),
        (fake_openai.raw(b'{"created": 1, "data": "x"}'), "without an image"),
        (fake_openai.raw(b'{"created": 1, "data": [{"b64_json": null}]}'), "without an image"),
        (fake_openai.raw(b'{"created": 1, "data": [{"b64_json": "%%%"}]}'), "malformed"),
        (Reply(image=b"<svg>not a raster image</svg>"), "unusable image"),
    ],
)
def test_malformed_answers_are_model_failed(fake: FakeOpenAI, reply: Reply, message: str) -> None:
    engine, _ = engine_for(fake)
    fake.queue(reply)
    with pytest.raises(EngineError, match=message) as caught:
        engine.run(job(), Recorder())
    assert type(caught.value) is EngineError
    assert len(fake.edits) == 1


def test_a_kind_it_does_not_serve_sends_nothing(fake: FakeOpenAI) -> None:
    engine, _ = engine_for(fake, kinds=frozenset({"render"}))
    with pytest.raises(EngineError, match="does not do 'refine'"):
        engine.run(job("refine"), Recorder())
    with pytest.raises(EngineError, match="does not do 'enhance'"):
        engine.run(job("enhance"), Recorder())
    assert fake.edits == []


# -- settings, setup, registry, docs ---------------------------------------------------------------


def test_settings_from_an_explicit_environment() -> None:
    defaults = OpenAISettings.from_env({})
    assert defaults.base_url == "https://api.openai.com/v1"
    assert defaults.model == "gpt-image-2.5-sunburst"
    assert defaults.kinds == {"render", "refine", "staging"}
    assert (defaults.quality, defaults.max_pixels) == ("high", 2560 * 1440)
    assert defaults.api_key == ""
    config = OpenAISettings.from_env(
        {
            "TDS_OPENAI_API_KEY": " sk-abc ",
            "TDS_OPENAI_BASE_URL": "http://127.0.0.1:8080/v1/",
            "TDS_OPENAI_MODEL": "gpt-image-1.5",
            "TDS_OPENAI_KINDS": "render, staging",
            "TDS_OPENAI_QUALITY": "medium",
            "TDS_OPENAI_ORGANIZATION": "org-1",
            "TDS_OPENAI_PROJECT": "proj_1",
            "TDS_OPENAI_MAX_PIXELS": "1048576",
            "TDS_OPENAI_TIMEOUT_SECONDS": "120",
            "TDS_OPENAI_REQUEST_TIMEOUT_SECONDS": "90",
            "TDS_OPENAI_RETRIES": "2",
            "OPENAI_API_KEY": "sk-ignored",
        }
    )
    assert config.api_key == "sk-abc"
    assert config.base_url == "http://127.0.0.1:8080/v1"
    assert (config.model, config.quality) == ("gpt-image-1.5", "medium")
    assert config.kinds == {"render", "staging"}
    assert (config.organization, config.project) == ("org-1", "proj_1")
    assert (config.max_pixels, config.timeout_seconds, config.request_timeout_seconds) == (
        1048576,
        120.0,
        90.0,
    )
    assert config.retries == 2
    assert OpenAIEngine(config).kinds == {"render", "staging"}
    assert OpenAISettings.from_env({"TDS_OPENAI_QUALITY": "max"}).quality == "max"
    for bad, variable in [
        ({"TDS_OPENAI_KINDS": "render,enhance"}, "TDS_OPENAI_KINDS"),
        ({"TDS_OPENAI_KINDS": "video"}, "TDS_OPENAI_KINDS"),
        ({"TDS_OPENAI_KINDS": "paint"}, "TDS_OPENAI_KINDS"),
        ({"TDS_OPENAI_QUALITY": "ultra"}, "TDS_OPENAI_QUALITY"),
        ({"TDS_OPENAI_MODEL": "gpt-image-2", "TDS_OPENAI_QUALITY": "xhigh"}, "TDS_OPENAI_QUALITY"),
        ({"TDS_OPENAI_MAX_PIXELS": "100"}, "TDS_OPENAI_MAX_PIXELS"),
        ({"TDS_OPENAI_MAX_PIXELS": "lots"}, "TDS_OPENAI_MAX_PIXELS"),
        ({"TDS_OPENAI_BASE_URL": "api.openai.com"}, "TDS_OPENAI_BASE_URL"),
        ({"TDS_OPENAI_RETRIES": "-1"}, "TDS_OPENAI_RETRIES"),
        ({"TDS_OPENAI_TIMEOUT_SECONDS": "0"}, "TDS_OPENAI_TIMEOUT_SECONDS"),
    ]:
        with pytest.raises(ValueError, match=variable):
            OpenAISettings.from_env(bad)


def test_setup_without_a_key_stops_with_a_clear_message(fake: FakeOpenAI) -> None:
    for key in ("", "   "):
        engine = OpenAIEngine(settings(fake, api_key=key))
        with pytest.raises(RuntimeError, match="set TDS_OPENAI_API_KEY"):
            engine.setup()
    assert fake.requests == []


def test_the_engine_describes_itself_honestly(fake: FakeOpenAI) -> None:
    engine = OpenAIEngine(settings(fake, model="gpt-image-2.5-flare"))
    assert engine.name == "openai"
    assert engine.generative is True
    assert "gpt-image-2.5-flare" in engine.description
    assert "OpenAI" in engine.description
    assert "generative" in engine.description


def test_registry_loads_the_engine_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TDS_OPENAI_API_KEY", "sk-t")
    monkeypatch.setenv("TDS_OPENAI_KINDS", "refine")
    engine = registry.load("openai")
    assert isinstance(engine, OpenAIEngine)
    assert engine.kinds == {"refine"}


def test_every_setting_is_documented() -> None:
    text = (Path(__file__).parents[2] / "docs" / "engines.md").read_text()
    section = text.split("\n## OpenAI", 1)[1].split("\n## ", 1)[0]
    read = {
        name for field in OpenAISettings.model_fields for name in OpenAISettings.variables(field)
    }
    assert read == {
        f"TDS_OPENAI_{name}"
        for name in (
            "API_KEY",
            "BASE_URL",
            "MODEL",
            "KINDS",
            "QUALITY",
            "ORGANIZATION",
            "PROJECT",
            "MAX_PIXELS",
            "TIMEOUT_SECONDS",
            "REQUEST_TIMEOUT_SECONDS",
            "RETRIES",
        )
    }
    for name in read:
        assert f"`{name}`" in section, name


# -- end to end through the API -----------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def serve(make_server: MakeServer, fake: FakeOpenAI) -> LiveServer:
    clock = Clock()
    engine = OpenAIEngine(settings(fake), sleep=clock.sleep, clock=clock)
    return make_server(engine=engine)


def test_every_kind_renders_end_to_end_and_is_charged_once(
    make_server: MakeServer, fake: FakeOpenAI
) -> None:
    live = serve(make_server, fake)
    account = live.account(credits=100)
    source = b64(png_bytes(320, 240))
    with live.client(account) as client:
        styles = client.get("/api/v1/styles").json()
        served = {kind["id"]: kind for kind in styles["kinds"] if kind["available"]}
        assert set(served) == {"render", "refine", "staging"}
        assert all(kind["engine"] == "openai" and kind["generative"] for kind in served.values())
        rendered = client.post(
            "/api/v1/renders",
            json={"image_base64": source, "resolution": "1k", "kind": "render"},
        )
        assert rendered.status_code == 200, rendered.text
        base = rendered.json()["render"]
        refined = client.post(
            "/api/v1/renders",
            json={
                "render_id": base["id"],
                "kind": "refine",
                "resolution": "1k",
                "prompt": "warmer light",
            },
        )
        assert refined.status_code == 200, refined.text
        staged = client.post(
            "/api/v1/renders",
            json={"image_base64": source, "resolution": "1k", "kind": "staging"},
        )
        assert staged.status_code == 200, staged.text
        renders = [base, refined.json()["render"], staged.json()["render"]]
        for render in renders:
            assert render["status"] == "done"
            assert (render["width"], render["height"]) == (1024, 768)
        me = client.get("/api/v1/me").json()
    assert [r["credits_used"] for r in renders] == [5, 3, 8]
    assert (me["credits"], me["credits_held"]) == (100 - 5 - 3 - 8, 0)
    assert len(fake.edits) == 3
    assert [e.fields["size"] for e in fake.edits] == ["1024x768"] * 3
    assert "warmer light" in fake.edits[1].fields["prompt"]
    assert "Furnish" in fake.edits[2].fields["prompt"]
    books = live.assert_books_balanced(account)
    assert books.credits == 100 - 16


@pytest.mark.parametrize(
    ("reply", "code", "status"),
    [
        (fake_openai.rate_limited("1"), "model_unavailable", 503),
        (fake_openai.refused(), "content_refused", 400),
        (fake_openai.server_error(500), "model_failed", 502),
    ],
)
def test_failed_renders_are_refunded_with_their_code(
    make_server: MakeServer, fake: FakeOpenAI, reply: Reply, code: str, status: int
) -> None:
    live = serve(make_server, fake)
    account = live.account(credits=50)
    fake.default = reply
    with live.client(account) as client:
        response = client.post(
            "/api/v1/renders", json={"image_base64": b64(png_bytes()), "resolution": "1k"}
        )
        # 502 model_failed until the API answers each engine failure with its own status.
        assert response.status_code in {502, status}, response.text
        error = response.json()["error"]
        render = poll(client, error["render_id"], ("failed",))
        me = client.get("/api/v1/me").json()
    assert render["error"]["code"] == code
    assert render["credits_used"] == 0
    assert render["output_image_url"] is None
    assert (me["credits"], me["credits_held"]) == (50, 0)
    books = live.assert_books_balanced(account)
    assert books.credits == 50
    assert len(fake.edits) == (4 if code == "model_unavailable" else 1)  # retries=3
