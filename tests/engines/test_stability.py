"""The stability engine against a loopback fake of Stability AI's Stable Image API
(tests/support/fake_stability.py), alone and end to end through the real API."""

from __future__ import annotations

import base64
import io
import logging
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tds.engines import registry
from tds.engines.base import ContentRefused, EngineError, EngineUnavailable, Job, JobCanceled
from tds.engines.common import hosted, prompts
from tds.engines.stability import frames, inputs
from tds.engines.stability.config import KINDS, StabilitySettings
from tds.engines.stability.engine import StabilityEngine
from tests.engines.helpers import Clock, Recorder
from tests.support import fake_stability
from tests.support.fake_stability import KEY, FakeStability, Outcome
from tests.support.images import png_bytes
from tests.support.servers import LiveServer

MakeServer = Callable[..., LiveServer]
RETRIES = 3
THROTTLED: Outcome = "rate_limited"


@pytest.fixture
def fake() -> Iterator[FakeStability]:
    server = FakeStability()
    yield server
    server.close()


def settings(fake: FakeStability, **changes: Any) -> StabilitySettings:
    values: dict[str, Any] = {
        "api_key": KEY,
        "base_url": fake.url,
        "timeout_seconds": 60.0,
        "request_timeout_seconds": 10.0,
        "retries": RETRIES,
    }
    return StabilitySettings(**(values | changes))


def engine_for(fake: FakeStability, **changes: Any) -> tuple[StabilityEngine, Clock]:
    clock = Clock()
    engine = StabilityEngine(settings(fake, **changes), sleep=clock.sleep, clock=clock)
    engine.setup()
    return engine, clock


def viewport(size: tuple[int, int] = (320, 240)) -> Image.Image:
    """Light background, a dark box in the middle: where it lands shows the geometry kept."""
    image = np.full((size[1], size[0], 3), 225, np.uint8)
    w, h = size
    image[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4] = 40
    return Image.fromarray(image, "RGB")


def job(
    kind: str = "render",
    size: tuple[int, int] = (1024, 768),
    image: Image.Image | None = None,
    **fields: Any,
) -> Job:
    fields.setdefault("seed", 42)
    return Job(kind=kind, image=image or viewport(), width=size[0], height=size[1], **fields)  # type: ignore[arg-type]


def only_call(fake: FakeStability) -> fake_stability.Request:
    calls = fake.calls()
    assert len(calls) == 1, [c.path for c in calls]
    return calls[0]


def grey(image: Image.Image, xy: tuple[int, int]) -> int:
    pixel = image.convert("L").getpixel(xy)
    assert isinstance(pixel, int)
    return pixel


# -- what each kind sends -------------------------------------------------------------------


def test_render_sends_a_structure_request_at_the_jobs_size(fake: FakeStability) -> None:
    engine, clock = engine_for(fake)
    recorder = Recorder()
    render = job(architectural_style="modern", lighting="night", prompt="warm timber")
    output = engine.run(render, recorder)
    sent = only_call(fake)
    assert sent.path == "/v2beta/stable-image/control/structure"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.headers["accept"] == "image/*"
    assert sent.headers["stability-client-id"] == "tds"
    assert sent.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert set(sent.fields) == {
        "prompt",
        "negative_prompt",
        "seed",
        "output_format",
        "control_strength",
    }
    assert sent.fields["prompt"] == prompts.instruction(render)
    assert sent.fields["prompt"].startswith("warm timber.")
    assert "modern style" in sent.fields["prompt"]
    assert sent.fields["negative_prompt"] == prompts.compose(render).negative
    assert (sent.fields["seed"], sent.fields["output_format"]) == ("42", "png")
    assert sent.fields["control_strength"] == "0.785"
    assert set(sent.files) == {"image"}
    picture = sent.image()
    assert (picture.format, picture.size) == ("JPEG", (1024, 768))  # control answers this size
    assert output.image.size == (1024, 768)
    assert output.warnings == []
    # The fake answers the picture it was sent: the box is still where it was.
    assert grey(output.image, (512, 384)) < 80
    assert grey(output.image, (40, 40)) > 180
    assert recorder.reports == [(0, 4), (1, 4), (3, 4), (4, 4)]
    assert clock.slept == []


@pytest.mark.parametrize(
    ("input_type", "path"),
    [
        ("sketch", "/v2beta/stable-image/control/sketch"),
        ("photo", "/v2beta/stable-image/control/structure"),
        ("viewport", "/v2beta/stable-image/control/structure"),
        (None, "/v2beta/stable-image/control/structure"),
    ],
)
def test_sketches_go_to_the_sketch_endpoint(
    fake: FakeStability, input_type: str | None, path: str
) -> None:
    engine, _ = engine_for(fake)
    engine.run(job(input_type=input_type), Recorder())
    assert only_call(fake).path == path


@pytest.mark.parametrize(("fidelity", "strength"), [(0.0, "0.4"), (0.5, "0.675"), (1.0, "0.95")])
def test_geometry_fidelity_sets_the_control_strength(
    fake: FakeStability, fidelity: float, strength: str
) -> None:
    engine, _ = engine_for(fake)
    engine.run(job(geometry_fidelity=fidelity), Recorder())
    assert only_call(fake).fields["control_strength"] == strength


def test_refine_holds_the_parents_structure_harder(fake: FakeStability) -> None:
    engine, _ = engine_for(fake)
    refine = job("refine", prompt="warmer light", strength=0.5)
    engine.run(refine, Recorder())
    sent = only_call(fake)
    assert sent.path == "/v2beta/stable-image/control/structure"
    assert sent.fields["prompt"] == prompts.instruction(refine)
    assert sent.fields["prompt"].startswith("warmer light. Refine this render")
    assert float(sent.fields["control_strength"]) == 0.85
    for fidelity in (0.0, 0.5, 0.7, 1.0):
        for strength in (0.0, 0.5, 1.0):
            refined = inputs.refine_control(fidelity, strength)
            assert inputs.render_control(fidelity) <= refined <= 0.95
            assert refined >= 0.75


def test_staging_inpaints_the_floor_and_keeps_the_walls(fake: FakeStability) -> None:
    engine, _ = engine_for(fake)
    room = viewport((400, 300))
    staging = job("staging", size=(1024, 768), image=room, architectural_style="japanese")
    output = engine.run(staging, Recorder())
    sent = only_call(fake)
    assert sent.path == "/v2beta/stable-image/edit/inpaint"
    assert set(sent.fields) == {"prompt", "negative_prompt", "seed", "output_format"}
    assert sent.fields["prompt"].startswith("Furnish this empty room in a japanese style")
    assert set(sent.files) == {"image", "mask"}
    assert sent.files["mask"][1] == "image/png"
    picture, mask = sent.image(), sent.image("mask")
    assert picture.size == mask.size == (1024, 768)
    assert mask.mode == "L"
    assert grey(mask, (512, 740)) == 255  # the floor may change
    assert grey(mask, (512, 20)) == 0  # the ceiling band may not
    assert output.image.size == (1024, 768)  # the fake answered 4 MP


def test_enhance_sends_the_input_to_the_conservative_upscaler(fake: FakeStability) -> None:
    engine, _ = engine_for(fake)
    small = viewport((512, 384))
    enhance = job("enhance", size=(2048, 1536), image=small, geometry_fidelity=0.7)
    output = engine.run(enhance, Recorder())
    sent = only_call(fake)
    assert sent.path == "/v2beta/stable-image/upscale/conservative"
    assert set(sent.fields) == {"prompt", "negative_prompt", "seed", "output_format", "creativity"}
    assert sent.fields["prompt"].startswith("Upscale this architectural render")
    assert sent.fields["creativity"] == "0.29"
    assert sent.image().size == (512, 384)  # the input, not the size it should reach
    assert output.image.size == (2048, 1536)
    assert [inputs.creativity(f) for f in (0.0, 1.0)] == [0.5, 0.2]  # the endpoint's range


def test_enhance_of_a_large_input_sends_at_most_a_megapixel(fake: FakeStability) -> None:
    engine, _ = engine_for(fake)
    engine.run(job("enhance", size=(4096, 3072), image=viewport((2048, 1536))), Recorder())
    width, height = only_call(fake).image().size
    assert width * height <= 1_048_576
    assert abs(width / height - 4 / 3) < 0.01


def test_the_fast_upscaler_when_the_model_says_so(fake: FakeStability) -> None:
    engine, _ = engine_for(fake, model="fast")
    output = engine.run(job("enhance", size=(4096, 3072), image=viewport((2048, 1536))), Recorder())
    sent = only_call(fake)
    assert sent.path == "/v2beta/stable-image/upscale/fast"
    assert set(sent.fields) == {"output_format"}  # no prompt, seed or creativity there
    width, height = sent.image().size
    assert max(width, height) <= 1536
    assert width * height <= 1_048_576
    assert output.image.size == (4096, 3072)
    assert "Fast Upscaler" in engine.description


def test_a_4k_render_is_sent_within_the_pixel_limit(fake: FakeStability) -> None:
    engine, _ = engine_for(fake)
    output = engine.run(job(size=(4096, 3072)), Recorder())
    width, height = only_call(fake).image().size
    assert width * height <= 9_437_184
    assert abs(width / height - 4 / 3) < 0.01
    assert output.image.size == (4096, 3072)


@pytest.mark.parametrize("size", [(2048, 512), (512, 2048)])
def test_an_aspect_ratio_beyond_2_5_is_padded_and_cropped_back(
    fake: FakeStability, size: tuple[int, int]
) -> None:
    """Stability takes 1:2.5 to 2.5:1 only: the picture is padded, never stretched."""
    wide = size[0] > size[1]
    halves = np.zeros((size[1] // 4, size[0] // 4, 3), np.uint8)
    if wide:
        halves[: halves.shape[0] // 2] = (220, 30, 30)
        halves[halves.shape[0] // 2 :] = (30, 30, 220)
    else:
        halves[:, : halves.shape[1] // 2] = (220, 30, 30)
        halves[:, halves.shape[1] // 2 :] = (30, 30, 220)
    engine, _ = engine_for(fake)
    output = engine.run(job(size=size, image=Image.fromarray(halves, "RGB")), Recorder())
    width, height = only_call(fake).image().size
    assert max(width, height) / min(width, height) <= 2.5
    assert output.image.size == size
    first = output.image.getpixel((2, 2))
    last = output.image.getpixel((size[0] - 3, size[1] - 3))
    assert isinstance(first, tuple)
    assert isinstance(last, tuple)
    assert first[0] > 150
    assert first[2] < 100
    assert last[2] > 150
    assert last[0] < 100


def test_frames_pad_only_where_the_endpoint_needs_it() -> None:
    padded = frames.frame(3000, 1000, frames.CONTROL)
    assert padded.canvas == (3000, 1200)
    assert padded.box == (0, 100, 3000, 1100)
    assert padded.sent == (3000, 1200)
    assert frames.frame(3000, 1000, frames.INPAINT).canvas == (3000, 1000)
    tiny = frames.frame(1024, 200, frames.INPAINT)
    assert min(tiny.sent) >= 64


def test_a_large_picture_is_compressed_to_fit_the_request_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    noise = Image.fromarray(np.random.default_rng(1).integers(0, 255, (256, 256, 3), np.uint8))
    best = len(frames.encode(noise))
    monkeypatch.setattr(frames, "MAX_IMAGE_BYTES", best - 1)
    assert len(frames.encode(noise)) < best
    monkeypatch.setattr(frames, "MAX_IMAGE_BYTES", 100)
    with pytest.raises(EngineError, match="10 MiB"):
        frames.encode(noise)


def test_seeds_stay_in_stabilitys_range(fake: FakeStability) -> None:
    engine, _ = engine_for(fake)
    engine.run(job(seed=2**31 - 1), Recorder())
    assert only_call(fake).fields["seed"] == str(2**31 - 1)
    assert int(inputs.build(job(seed=4_294_967_295), engine.config).fields["seed"]) == 0


# -- 429: waited out within the deadline, then model_unavailable ----------------------------


def test_a_429_is_waited_out_with_its_retry_after(fake: FakeStability) -> None:
    fake.script("rate_limited")
    engine, clock = engine_for(fake)
    recorder = Recorder()
    assert engine.run(job(), recorder).image.size == (1024, 768)
    assert len(fake.calls()) == 2
    assert clock.slept == [2.0]  # the fake's Retry-After: 2
    assert recorder.reports == [(0, 4), (1, 4), (1, 4), (3, 4), (4, 4)]


def test_429s_past_the_retries_are_model_unavailable(fake: FakeStability) -> None:
    fake.script(*(THROTTLED,) * (RETRIES + 1))
    engine, clock = engine_for(fake)
    with pytest.raises(EngineUnavailable, match="rate-limiting") as raised:
        engine.run(job(), Recorder())
    assert raised.value.code == "model_unavailable"
    assert len(fake.calls()) == RETRIES + 1
    assert clock.slept == [2.0, 2.0, 2.0]


def test_a_429_without_retry_after_waits_what_its_body_says_within_the_deadline(
    fake: FakeStability,
) -> None:
    fake.retry_after = None  # "…have been timed out for 60 seconds." in the body
    fake.script(*(THROTTLED,) * 10)
    engine, clock = engine_for(fake, timeout_seconds=60.0, retries=10)
    with pytest.raises(EngineUnavailable, match="rate-limiting"):
        engine.run(job(), Recorder())
    assert clock.slept == [hosted.MAX_BACKOFF_SECONDS] * 2  # a third wait would pass 60 s
    assert len(fake.calls()) == 3


def test_a_cancel_during_429_waits_stops_the_retries(fake: FakeStability) -> None:
    fake.script("rate_limited", "rate_limited")
    engine, _ = engine_for(fake)
    with pytest.raises(JobCanceled):
        engine.run(job(), Recorder(cancel_at=3))  # 0/4, 1/4 (sent), 1/4 before the retry
    assert len(fake.calls()) == 1


def test_a_cancel_before_sending_sends_nothing(fake: FakeStability) -> None:
    engine, _ = engine_for(fake)
    with pytest.raises(JobCanceled):
        engine.run(job(), Recorder(cancel_at=2))
    assert fake.calls() == []


def test_an_unreachable_service_is_retried_then_unavailable(fake: FakeStability) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    engine, clock = engine_for(fake, base_url=f"http://127.0.0.1:{port}")
    with pytest.raises(EngineUnavailable, match="could not be reached"):
        engine.run(job(), Recorder())
    assert len(clock.slept) == RETRIES


# -- what may have been charged is never sent twice -----------------------------------------


def test_a_500_is_model_failed_and_not_retried(fake: FakeStability) -> None:
    fake.script("server_error")
    engine, clock = engine_for(fake)
    with pytest.raises(EngineError, match=r"internal_error.*not retried") as raised:
        engine.run(job(), Recorder())
    assert raised.value.code == "model_failed"
    assert len(fake.calls()) == 1
    assert clock.slept == []


def test_a_slow_answer_times_out_and_is_not_retried(fake: FakeStability) -> None:
    fake.stall()
    engine, _ = engine_for(fake, request_timeout_seconds=0.2)
    with pytest.raises(EngineError, match="did not answer in time") as raised:
        engine.run(job(), Recorder())
    assert raised.value.code == "model_failed"
    fake.release()
    assert fake.answered.acquire(timeout=30)  # the provider finished the one it was sent
    assert len(fake.calls()) == 1


def test_an_answer_that_is_no_image_is_model_failed(fake: FakeStability) -> None:
    fake.script("not_image")
    engine, _ = engine_for(fake)
    with pytest.raises(EngineError, match="unusable image") as raised:
        engine.run(job(), Recorder())
    assert raised.value.code == "model_failed"


def test_a_bad_request_is_model_failed_with_the_providers_message(fake: FakeStability) -> None:
    fake.script("bad_request")
    engine, _ = engine_for(fake)
    with pytest.raises(EngineError, match="zorblax") as raised:
        engine.run(job(), Recorder())
    assert type(raised.value) is EngineError
    assert len(fake.calls()) == 1


def test_a_request_over_10_mib_is_model_failed(
    fake: FakeStability, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fake_stability, "MAX_BODY", 1000)
    engine, _ = engine_for(fake)
    with pytest.raises(EngineError, match=r"larger than Stability AI accepts.*payload_too_large"):
        engine.run(job(), Recorder())


# -- refusals and the key -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "message"),
    [
        ("moderation", "flagged by our content moderation system"),
        ("public_figure", "likeness of a public figure"),
        ("filtered", "filtered the output"),
    ],
)
def test_moderation_is_content_refused_with_the_providers_reason(
    fake: FakeStability, outcome: Outcome, message: str
) -> None:
    fake.script(outcome)
    engine, _ = engine_for(fake)
    with pytest.raises(ContentRefused, match=message) as raised:
        engine.run(job(), Recorder())
    assert raised.value.code == "content_refused"
    assert len(fake.calls()) == 1


def test_a_wrong_key_is_unavailable_and_never_shown(
    fake: FakeStability, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "sk-wrong-but-secret-4242"
    engine, _ = engine_for(fake, api_key=wrong)
    with (
        caplog.at_level(logging.ERROR, logger="tds.engines.stability"),
        pytest.raises(EngineUnavailable) as raised,
    ):
        engine.run(job(), Recorder())
    assert raised.value.code == "model_unavailable"
    assert "API key" in str(raised.value)
    assert wrong not in str(raised.value)
    assert len(fake.calls()) == 1  # not retried
    logged = [r for r in caplog.records if r.name == "tds.engines.stability.client"]
    assert logged
    assert logged[0].levelno == logging.ERROR
    assert "unauthorized" in logged[0].getMessage()
    assert wrong not in caplog.text


def test_a_key_without_permission_is_unavailable(fake: FakeStability) -> None:
    fake.script("permission")
    engine, _ = engine_for(fake)
    with pytest.raises(EngineUnavailable, match="API key"):
        engine.run(job(), Recorder())


@pytest.mark.parametrize(
    "outcome",
    ["rate_limited", "server_error", "moderation", "permission", "bad_request", "filtered"],
)
def test_no_message_contains_the_key(fake: FakeStability, outcome: Outcome) -> None:
    fake.script(*([outcome] * (RETRIES + 1)))
    engine, _ = engine_for(fake)
    with pytest.raises(EngineError) as raised:
        engine.run(job(), Recorder())
    assert KEY not in str(raised.value)


def test_setup_without_a_key_stops_the_server() -> None:
    engine = StabilityEngine(StabilitySettings(api_key=" "))
    with pytest.raises(RuntimeError, match="TDS_STABILITY_API_KEY"):
        engine.setup()


# -- settings, registry, docs ---------------------------------------------------------------


def test_settings_from_an_explicit_environment() -> None:
    defaults = StabilitySettings.from_env({"TDS_STABILITY_API_KEY": "sk-1"})
    assert defaults.api_key == "sk-1"
    assert defaults.base_url == "https://api.stability.ai"
    assert defaults.model == "conservative"
    assert defaults.kinds == KINDS == {"render", "refine", "staging", "enhance"}
    assert defaults.output_format == "png"
    assert (defaults.timeout_seconds, defaults.request_timeout_seconds, defaults.retries) == (
        300.0,
        240.0,
        4,
    )
    chosen = StabilitySettings.from_env(
        {
            "TDS_STABILITY_API_KEY": "sk-2",
            "TDS_STABILITY_BASE_URL": "http://127.0.0.1:9",
            "TDS_STABILITY_MODEL": "fast",
            "TDS_STABILITY_KINDS": "render, enhance",
            "TDS_STABILITY_OUTPUT_FORMAT": "webp",
            "TDS_STABILITY_TIMEOUT_SECONDS": "120",
            "TDS_STABILITY_REQUEST_TIMEOUT_SECONDS": "90",
            "TDS_STABILITY_RETRIES": "2",
        }
    )
    assert (chosen.base_url, chosen.model, chosen.output_format) == (
        "http://127.0.0.1:9",
        "fast",
        "webp",
    )
    assert chosen.kinds == {"render", "enhance"}
    assert (chosen.timeout_seconds, chosen.request_timeout_seconds, chosen.retries) == (
        120.0,
        90.0,
        2,
    )
    for bad in (
        {"TDS_STABILITY_KINDS": "render,video"},
        {"TDS_STABILITY_KINDS": "paint"},
        {"TDS_STABILITY_MODEL": "ultra"},
        {"TDS_STABILITY_OUTPUT_FORMAT": "gif"},
        {"TDS_STABILITY_TIMEOUT_SECONDS": "soon"},
        {"TDS_STABILITY_RETRIES": "-1"},
        {"TDS_STABILITY_BASE_URL": "api.stability.ai"},
    ):
        with pytest.raises(ValueError, match="TDS_STABILITY_"):
            StabilitySettings.from_env(bad)


def test_kinds_are_what_was_configured(fake: FakeStability) -> None:
    engine, _ = engine_for(fake, kinds=frozenset({"render"}))
    assert engine.kinds == {"render"}
    with pytest.raises(EngineError, match="does not do 'staging'"):
        engine.run(job("staging"), Recorder())
    assert fake.calls() == []


def test_registry_loads_the_engine_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TDS_STABILITY_API_KEY", "sk-registry")
    monkeypatch.setenv("TDS_STABILITY_KINDS", "render,staging")
    engine = registry.load("stability")
    assert isinstance(engine, StabilityEngine)
    assert (engine.name, engine.generative) == ("stability", True)
    assert engine.kinds == {"render", "staging"}
    assert "Stability AI" in engine.description


def test_every_setting_is_documented() -> None:
    text = (Path(__file__).parents[2] / "docs" / "engines.md").read_text()
    assert "\n## Stability AI\n" in text
    section = text.split("\n## Stability AI\n", 1)[1].split("\n## ", 1)[0]
    read = {name for f in StabilitySettings.model_fields for name in StabilitySettings.variables(f)}
    assert read == {
        f"TDS_STABILITY_{name}"
        for name in (
            "API_KEY",
            "BASE_URL",
            "MODEL",
            "KINDS",
            "OUTPUT_FORMAT",
            "TIMEOUT_SECONDS",
            "REQUEST_TIMEOUT_SECONDS",
            "RETRIES",
        )
    }
    for name in sorted(read):
        assert f"`{name}`" in section, name


# -- end to end through the API -------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def live(make_server: MakeServer, fake: FakeStability) -> tuple[LiveServer, Clock]:
    clock = Clock()
    engine = StabilityEngine(settings(fake), sleep=clock.sleep, clock=clock)
    return make_server(engine=engine), clock


def test_every_kind_renders_end_to_end_and_is_charged_once(
    make_server: MakeServer, fake: FakeStability
) -> None:
    server, _ = live(make_server, fake)
    account = server.account(credits=100)
    with server.client(account) as client:
        styles = client.get("/api/v1/styles")
        assert styles.status_code == 200, styles.text
        base = client.post(
            "/api/v1/renders",
            json={"image_base64": b64(png_bytes()), "resolution": "1k", "kind": "render"},
        )
        assert base.status_code == 200, base.text
        render = base.json()["render"]
        assert (render["status"], render["credits_used"]) == ("done", 5)
        assert (render["width"], render["height"]) == (1024, 768)
        used = {"render": 5}
        for kind in ("refine", "staging", "enhance"):
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
                assert opened.size == (1024, 768)
        me = client.get("/api/v1/me").json()
    assert used == {"render": 5, "refine": 3, "staging": 8, "enhance": 2}
    assert (me["credits"], me["credits_held"]) == (100 - sum(used.values()), 0)
    assert [call.path.rsplit("/", 2)[-2:] for call in fake.calls()] == [
        ["control", "structure"],
        ["control", "structure"],
        ["edit", "inpaint"],
        ["upscale", "conservative"],
    ]
    books = server.assert_books_balanced(account)
    assert books.credits == 100 - sum(used.values())


@pytest.mark.parametrize(
    ("outcomes", "code", "status"),
    [
        (["rate_limited"] * (RETRIES + 1), "model_unavailable", 503),
        (["moderation"], "content_refused", 400),
        (["filtered"], "content_refused", 400),
        (["server_error"], "model_failed", 502),
    ],
)
def test_failures_end_failed_with_their_code_and_the_credits_back(
    make_server: MakeServer,
    fake: FakeStability,
    outcomes: list[Outcome],
    code: str,
    status: int,
) -> None:
    server, _ = live(make_server, fake)
    account = server.account(credits=100)
    fake.script(*outcomes)
    with server.client(account) as client:
        answer = client.post(
            "/api/v1/renders",
            json={"image_base64": b64(png_bytes()), "resolution": "1k", "kind": "render"},
        )
        # Until every server maps engine failures, a blocking POST may answer 502 for all.
        assert answer.status_code in (502, status), answer.text
        error = answer.json()["error"]
        assert error["code"] in ("model_failed", code)
        assert KEY not in answer.text
        render = client.get(f"/api/v1/renders/{error['render_id']}").json()["render"]
        me = client.get("/api/v1/me").json()
    assert render["status"] == "failed"
    assert render["error"]["code"] == code
    assert render["credits_used"] == 0
    assert (me["credits"], me["credits_held"]) == (100, 0)
    assert len(fake.calls()) == len(outcomes)
    books = server.assert_books_balanced(account)
    assert books.credits == 100
