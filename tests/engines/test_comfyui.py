"""The comfyui engine: its workflow files and their start-up checks, and the engine against a
loopback fake ComfyUI (tests/support/fake_comfyui.py) speaking the documented HTTP and
websocket protocol: one server and two, a node's error, cancels while queued and while
running, the socket lost, a server that dies mid-render."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tds.engines import registry
from tds.engines.base import EngineError, EngineUnavailable, Job, JobCanceled
from tds.engines.comfyui import workflows
from tds.engines.comfyui.config import ComfyUISettings
from tds.engines.comfyui.engine import TOTAL, ComfyUIEngine, Overdue, bind_values
from tds.engines.comfyui.workflows import WorkflowError
from tests.engines.helpers import Recorder
from tests.support import fake_comfyui
from tests.support.fake_comfyui import FakeComfyUI
from tests.support.images import open_image, png_bytes
from tests.support.servers import free_port

ROOT = Path(__file__).parents[2]
EXAMPLES = ROOT / "examples" / "comfyui"


@pytest.fixture
def fake() -> Iterator[FakeComfyUI]:
    with FakeComfyUI() as server:
        yield server


@pytest.fixture
def folder(tmp_path: Path) -> str:
    return fake_comfyui.write_workflows(tmp_path / "workflows")


@pytest.fixture
def make_engine() -> Iterator[Callable[..., ComfyUIEngine]]:
    made: list[ComfyUIEngine] = []

    def make(url: str, workflows_folder: str, **changes: Any) -> ComfyUIEngine:
        values: dict[str, Any] = {
            "url": url,
            "workflows": workflows_folder,
            "poll_seconds": 0.05,
            "request_timeout_seconds": 10.0,
        }
        engine = ComfyUIEngine(ComfyUISettings(**(values | changes)))
        engine.setup()
        made.append(engine)
        return engine

    yield make
    for engine in made:
        engine.close()


def viewport(size: tuple[int, int] = (320, 240)) -> Image.Image:
    return open_image(png_bytes(*size)).convert("RGB")


def job(kind: str = "render", size: tuple[int, int] = (1024, 768), **fields: Any) -> Job:
    fields.setdefault("seed", 42)
    return Job(kind=kind, image=viewport(), width=size[0], height=size[1], **fields)  # type: ignore[arg-type]


def write(folder: Path, **graphs: dict[str, Any]) -> str:
    return fake_comfyui.write_workflows(folder, graphs)


def grey(image: Image.Image, xy: tuple[int, int]) -> int:
    pixel = image.convert("L").getpixel(xy)
    assert isinstance(pixel, int)
    return pixel


def submitted(fake: FakeComfyUI) -> list[dict[str, Any]]:
    return [call.body for call in fake.calls("/prompt", "POST")]


class Canceler:
    """A progress callback that raises JobCanceled once `cancel()` was called."""

    def __init__(self) -> None:
        self.canceled = threading.Event()
        self.reports: list[int] = []

    def cancel(self) -> None:
        self.canceled.set()

    def __call__(self, done: int, total: int) -> None:
        self.reports.append(done)
        if self.canceled.is_set():
            raise JobCanceled


class Background:
    """engine.run in a thread; `result()` joins it and answers the output or raises."""

    def __init__(self, engine: ComfyUIEngine, render: Job, progress: Callable[[int, int], None]):
        self.outcome: dict[str, Any] = {}

        def go() -> None:
            try:
                self.outcome["output"] = engine.run(render, progress)
            except BaseException as error:  # handed to the test
                self.outcome["error"] = error

        self.thread = threading.Thread(target=go, daemon=True)
        self.thread.start()

    def result(self) -> Any:
        self.thread.join(30)
        assert not self.thread.is_alive(), "the render never ended"
        if "error" in self.outcome:
            raise self.outcome["error"]
        return self.outcome["output"]


# -- the workflow files ------------------------------------------------------------------------


def test_the_kinds_served_are_the_workflow_files_present(tmp_path: Path) -> None:
    folder = write(tmp_path, render=fake_comfyui.sdxl(), staging=fake_comfyui.staging())
    (tmp_path / "README.md").write_text("notes of the studio's own")
    engine = ComfyUIEngine(ComfyUISettings(workflows=folder))
    assert engine.kinds == {"render", "staging"}
    assert (engine.name, engine.generative) == ("comfyui", True)
    assert "render.json, staging.json" in engine.description
    assert "127.0.0.1" not in engine.description  # server addresses stay in the log


def test_the_shipped_examples_load_with_their_bindings() -> None:
    loaded = workflows.load_folder(str(EXAMPLES))
    assert set(loaded) == {"render", "refine"}
    render, refine = loaded["render"], loaded["refine"]
    assert {name for name, targets in render.targets.items() if targets} == {
        "image",
        "prompt",
        "negative_prompt",
        "fidelity",
        "seed",
    }
    assert render.graph[render.output]["class_type"] == "SaveImage"
    assert {t.input for t in render.targets["fidelity"]} == {"strength"}
    assert render.graph["14"]["class_type"] == "ControlNetApplyAdvanced"
    assert {name for name, targets in refine.targets.items() if targets} == {
        "image",
        "instruction",
        "negative_prompt",
        "seed",
    }
    assert {t.input for t in refine.targets["instruction"]} == {"prompt"}


@pytest.mark.parametrize(
    ("class_type", "inputs", "title", "expected"),
    [
        ("CLIPTextEncode", {"text": "", "clip": ["1", 1]}, "tds:prompt", {"text"}),
        (
            "TextEncodeQwenImageEditPlus",
            {"prompt": "", "clip": ["1", 0]},
            "tds:instruction",
            {"prompt"},
        ),
        (
            "CLIPTextEncodeSDXL",
            {"text_g": "", "text_l": "", "width": 1024},
            "tds:prompt",
            {"text_g", "text_l"},
        ),
        (
            "CLIPTextEncodeFlux",
            {"clip_l": "", "t5xxl": "", "guidance": 3.5},
            "tds:prompt",
            {"clip_l", "t5xxl"},
        ),
        ("PrimitiveStringMultiline", {"value": ""}, "tds:negative_prompt", {"value"}),
        ("KSampler", {"seed": 1, "denoise": 1.0}, "tds:seed", {"seed"}),
        ("KSamplerAdvanced", {"noise_seed": 1}, "tds:seed", {"noise_seed"}),
        ("RandomNoise", {"noise_seed": 1}, "tds:seed", {"noise_seed"}),
        ("PrimitiveInt", {"value": 1}, "tds:seed", {"value"}),
        ("KSampler", {"seed": 1, "denoise": 1.0}, "tds:strength", {"denoise"}),
        ("ControlNetApplyAdvanced", {"strength": 1.0}, "tds:fidelity", {"strength"}),
        (
            "EmptyLatentImage",
            {"width": 1, "height": 1},
            "tds:width tds:height",
            {"width", "height"},
        ),
        ("LoadImageMask", {"image": "", "channel": "red"}, "tds:mask", {"image"}),
    ],
)
def test_each_binding_sets_the_documented_input(
    class_type: str, inputs: dict[str, Any], title: str, expected: set[str]
) -> None:
    graph = fake_comfyui.enhance() | {
        "90": {"class_type": class_type, "inputs": inputs, "_meta": {"title": title}}
    }
    workflow = workflows.parse(graph, Path("render.json"), "render")
    names = workflows.names_in(title)
    assert {t.input for name in names for t in workflow.targets[name] if t.node == "90"} == expected


def test_every_binding_gets_its_value_from_the_job() -> None:
    render = job("refine", prompt="warm timber", geometry_fidelity=0.9, strength=0.3, seed=7)
    values = bind_values(render)
    assert values["prompt"].startswith("warm timber")
    assert values["negative_prompt"].startswith("blurry")
    assert values["instruction"].startswith("warm timber. Refine this render")
    assert (values["seed"], values["width"], values["height"]) == (7, 1024, 768)
    assert (values["fidelity"], values["strength"]) == (0.9, 0.3)


def broken(tmp_path: Path, change: Callable[[dict[str, Any]], object]) -> str:
    graph = fake_comfyui.sdxl()
    change(graph)
    return write(tmp_path, render=graph)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda g: g["2"]["_meta"].update(title="Load Image"),
            r"render\.json: no node is titled tds:image \(the LoadImage node",
        ),
        (
            lambda g: g["12"]["_meta"].update(title="Save Image"),
            r"render\.json: no node is titled tds:output \(the SaveImage \(or video\) node",
        ),
        (
            lambda g: g["6"]["_meta"].update(title="tds:seed"),
            r'render\.json: node 6 \(CLIPTextEncode "tds:seed"\) is titled tds:seed but has no '
            r"`seed` or `noise_seed` or `value` input",
        ),
        (
            lambda g: g["10"]["inputs"].update(seed=["1", 0]),
            r'render\.json: node 10 \(KSampler "tds:seed"\): its `seed` \(set by tds:seed\) is '
            r"wired to node 1",
        ),
        (
            lambda g: g["6"]["_meta"].update(title="tds:promt"),
            r'render\.json: node 6 \(CLIPTextEncode "tds:promt"\): unknown binding tds:promt',
        ),
        (
            lambda g: g.update({"13": dict(g["12"])}),
            r"render\.json: node 12 .* and node 13 .* are both titled tds:output",
        ),
        (
            lambda g: g["10"]["_meta"].update(title="tds:seed tds:strength tds:fidelity"),
            r"tds:fidelity and tds:strength would both set its `denoise`|has no `strength`",
        ),
        (
            lambda g: g["3"].pop("class_type"),
            r"render\.json: node 3 has no class_type; is this ComfyUI's API format",
        ),
    ],
)
def test_a_broken_workflow_is_refused_at_start_up_naming_file_and_node(
    tmp_path: Path, change: Callable[[dict[str, Any]], object], message: str
) -> None:
    with pytest.raises(WorkflowError, match=message):
        ComfyUIEngine(ComfyUISettings(workflows=broken(tmp_path, change)))


def test_a_workflow_in_the_ui_format_is_refused_with_how_to_export(tmp_path: Path) -> None:
    (tmp_path / "render.json").write_text(json.dumps({"nodes": [], "links": [], "version": 0.4}))
    with pytest.raises(
        WorkflowError, match=r"render\.json: this is ComfyUI's UI format.*Export \(API\)"
    ):
        workflows.load_folder(str(tmp_path))


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"rendr.json": "{}"}, r"rendr\.json: 'rendr' is not a kind"),
        ({"render.json": "{not json"}, r"render\.json: is not JSON"),
        ({"README.md": "only notes"}, r"holds no workflow"),
    ],
)
def test_a_folder_tds_cannot_serve_from_is_refused(
    tmp_path: Path, files: dict[str, str], message: str
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(WorkflowError, match=message):
        workflows.load_folder(str(tmp_path))


def test_without_a_workflows_folder_the_engine_says_what_to_set() -> None:
    with pytest.raises(
        WorkflowError, match="set it to a folder of ComfyUI workflows in API format"
    ):
        ComfyUIEngine(ComfyUISettings())
    with pytest.raises(WorkflowError, match="is not a folder"):
        ComfyUIEngine(ComfyUISettings(workflows="/no/such/folder"))


def test_settings_from_the_environment(tmp_path: Path) -> None:
    settings = ComfyUISettings.from_env(
        {
            "TDS_COMFYUI_URL": " http://gpu-1.lan:8188/ , https://gpu-2.lan/comfy",
            "TDS_COMFYUI_WORKFLOWS": str(tmp_path),
            "TDS_COMFYUI_TIMEOUT_SECONDS": "120",
            "TDS_COMFYUI_POLL_SECONDS": "0.5",
        }
    )
    assert settings.urls == ["http://gpu-1.lan:8188", "https://gpu-2.lan/comfy"]
    assert (settings.timeout_seconds, settings.poll_seconds) == (120.0, 0.5)
    assert ComfyUISettings.from_env({}).urls == ["http://127.0.0.1:8188"]
    for bad, message in [
        ({"TDS_COMFYUI_URL": "gpu-1:8188"}, "is not an http"),
        ({"TDS_COMFYUI_URL": "http://a:1,http://a:1"}, "names one server twice"),
        ({"TDS_COMFYUI_URL": " , "}, "at least one ComfyUI server"),
        ({"TDS_COMFYUI_POLL_SECONDS": "0"}, "TDS_COMFYUI_POLL_SECONDS must be positive"),
        ({"TDS_COMFYUI_TIMEOUT_SECONDS": "soon"}, "TDS_COMFYUI_TIMEOUT_SECONDS must be a number"),
    ]:
        with pytest.raises(ValueError, match=message):
            ComfyUISettings.from_env(bad)


def test_every_setting_is_documented() -> None:
    text = (ROOT / "docs" / "comfyui.md").read_text()
    read = {name for f in ComfyUISettings.model_fields for name in ComfyUISettings.variables(f)}
    assert read == {
        f"TDS_COMFYUI_{name}"
        for name in (
            "URL",
            "WORKFLOWS",
            "TIMEOUT_SECONDS",
            "REQUEST_TIMEOUT_SECONDS",
            "POLL_SECONDS",
        )
    }
    for name in sorted(read):
        assert f"`{name}`" in text, name
    for name in workflows.NAMES:
        assert f"`tds:{name}`" in text, name


def test_registry_loads_the_engine_by_name(monkeypatch: pytest.MonkeyPatch, folder: str) -> None:
    monkeypatch.setenv("TDS_COMFYUI_WORKFLOWS", folder)
    engine = registry.load("comfyui")
    assert isinstance(engine, ComfyUIEngine)
    assert engine.kinds == {"render", "refine", "enhance", "staging", "video"}


# -- against the fake --------------------------------------------------------------------------


def test_a_render_uploads_submits_follows_the_socket_and_fetches(
    fake: FakeComfyUI, folder: str, make_engine: Callable[..., ComfyUIEngine]
) -> None:
    engine = make_engine(fake.url, folder)
    recorder = Recorder()
    render = job(prompt="warm timber", architectural_style="modern", geometry_fidelity=0.8)
    output = engine.run(render, recorder)
    assert [(c.method, c.path) for c in fake.requests] == [
        ("POST", "/upload/image"),
        ("POST", "/prompt"),
        ("GET", "/view"),  # the socket said it all: no /history needed
    ]
    upload = fake.calls("/upload/image")[0].body
    assert (upload["type"], upload["subfolder"], upload["overwrite"]) == ("input", "tds", "true")
    body = submitted(fake)[0]
    assert body["client_id"] == engine.client_id
    graph = body["prompt"]
    assert list(fake.history) == [body["prompt_id"]]
    assert graph["2"]["inputs"]["image"].startswith("tds/")  # the upload, by name
    assert graph["2"]["inputs"]["image"].endswith(".jpg")  # a JPEG of 95: see input_jpeg
    assert fake.calls("/view")[0].query["preview"] == "jpeg;95"  # and a JPEG back
    values = bind_values(render)
    assert graph["6"]["inputs"]["text"] == values["prompt"]
    assert graph["7"]["inputs"]["text"] == values["negative_prompt"]
    assert graph["8"]["inputs"]["strength"] == 0.8
    assert graph["10"]["inputs"]["seed"] == 42
    assert graph["10"]["inputs"]["denoise"] == 0.9  # not bound in render.json: the studio's
    assert (graph["3"]["inputs"]["width"], graph["3"]["inputs"]["height"]) == (1024, 768)
    assert graph["1"] == fake_comfyui.sdxl()["1"]  # everything else as the file has it
    assert output.image.size == (1024, 768)
    assert output.video is None
    # The fake renders the input it was sent: the box is where the viewport had it.
    assert grey(output.image, (512, 500)) < grey(output.image, (20, 20))
    recorder.check()
    assert recorder.reports[-1] == (TOTAL, TOTAL)
    assert len({done for done, _ in recorder.reports}) > 6  # the sampler's steps show


def test_every_kind_runs_its_own_workflow(
    fake: FakeComfyUI, folder: str, make_engine: Callable[..., ComfyUIEngine]
) -> None:
    engine = make_engine(fake.url, folder)
    for kind in ("render", "refine", "enhance", "staging", "video"):
        output = engine.run(job(kind, strength=0.35), Recorder())
        assert output.image.size == (1024, 768), kind
        assert (output.video is not None) == (kind == "video"), kind
    graphs = [body["prompt"] for body in submitted(fake)]
    assert graphs[1]["10"]["inputs"]["denoise"] == 0.35  # refine: tds:strength
    staging = graphs[3]
    assert staging["13"]["inputs"]["image"].endswith("-mask.png")  # tds:mask, uploaded
    assert staging["6"]["inputs"]["text"].startswith("Furnish this empty room")  # tds:instruction
    assert len(fake.calls("/upload/image")) == 6  # one image each, and staging's mask


def test_a_video_comes_back_as_h264_at_the_jobs_size(
    fake: FakeComfyUI, folder: str, make_engine: Callable[..., ComfyUIEngine]
) -> None:
    from tds.engines.common import media

    engine = make_engine(fake.url, folder)
    output = engine.run(job("video", size=(640, 480)), Recorder())
    assert output.video is not None
    frames, fps = media.decode_frames(output.video)
    assert (len(frames), fps) == (12, 12)
    assert frames[0].shape == (480, 640, 3)
    assert output.image.size == (640, 480)


def test_the_examples_run_and_their_output_is_brought_to_size(
    fake: FakeComfyUI, make_engine: Callable[..., ComfyUIEngine]
) -> None:
    engine = make_engine(fake.url, str(EXAMPLES))
    render = engine.run(job("render", size=(2048, 1536)), Recorder())
    refine = engine.run(job("refine", size=(2048, 1536)), Recorder())
    assert render.image.size == refine.image.size == (2048, 1536)
    sent = submitted(fake)[1]["prompt"]
    assert sent["111"]["inputs"]["prompt"].startswith("Improve realism and detail.")


def test_a_node_error_fails_the_render_with_the_nodes_message(
    fake: FakeComfyUI, folder: str, make_engine: Callable[..., ComfyUIEngine]
) -> None:
    engine = make_engine(fake.url, folder)
    fake.fail("CUDA out of memory. Tried to allocate 2.00 GiB", "torch.OutOfMemoryError")
    with pytest.raises(EngineError) as raised:
        engine.run(job(), Recorder())
    assert not isinstance(raised.value, EngineUnavailable)
    assert str(raised.value) == (
        'ComfyUI render.json: node 10 (KSampler "tds:seed") failed: CUDA out of memory. '
        "Tried to allocate 2.00 GiB (OutOfMemoryError)"
    )
    assert not fake.calls("/view")
    assert not fake.calls("/interrupt")  # it ended by itself: nothing to take back


def test_a_node_error_heard_only_in_history_says_the_same(
    fake: FakeComfyUI, folder: str, make_engine: Callable[..., ComfyUIEngine]
) -> None:
    fake.mute()  # no socket messages: /history tells
    engine = make_engine(fake.url, folder)
    fake.fail(
        "Error while deserializing header", "safetensors.SafetensorError", node="1", class_type=None
    )
    with pytest.raises(
        EngineError,
        match=r"node 1 \(CheckpointLoaderSimple\) failed: Error while deserializing header",
    ):
        engine.run(job(), Recorder())
    assert fake.calls("/history/{prompt_id}")


def test_a_workflow_comfyui_refuses_names_the_node_and_its_error(
    tmp_path: Path, fake: FakeComfyUI, make_engine: Callable[..., ComfyUIEngine]
) -> None:
    graph = fake_comfyui.sdxl()
    graph["1"]["inputs"]["ckpt_name"] = "not_installed.safetensors"
    engine = make_engine(fake.url, write(tmp_path, render=graph))
    with pytest.raises(EngineError) as raised:
        engine.run(job(), Recorder())
    assert str(raised.value).startswith(
        "ComfyUI refused render.json: node 1 (CheckpointLoaderSimple): Value not in list: "
        "ckpt_name: 'not_installed.safetensors' not in ["
    )
    assert fake.prompts == []


def test_a_workflow_queued_without_its_output_node_is_refused(
    tmp_path: Path, fake: FakeComfyUI, make_engine: Callable[..., ComfyUIEngine]
) -> None:
    """ComfyUI queues the outputs that passed validation: a preview may run while the output
    tds fetches was dropped; the render fails at once, and the prompt is taken back."""
    graph = fake_comfyui.sdxl()
    graph["10"]["inputs"]["steps"] = 0
    graph["20"] = {"class_type": "PreviewImage", "inputs": {"images": ["3", 0]}}
    engine = make_engine(fake.url, write(tmp_path, render=graph))
    fake.hold()
    with pytest.raises(EngineError) as raised:
        engine.run(job(), Recorder())
    assert str(raised.value) == (
        'ComfyUI refused render.json: node 10 (KSampler "tds:seed"): Value 0 smaller than min '
        "of 1: steps"
    )
    (prompt_id,) = [body["prompt_id"] for body in submitted(fake)]
    assert [c.body for c in fake.calls("/queue", "POST")] == [{"delete": [prompt_id]}]
    assert not fake.pending


def test_cancel_while_queued_takes_it_out_of_the_queue(
    fake: FakeComfyUI, folder: str, make_engine: Callable[..., ComfyUIEngine]
) -> None:
    engine = make_engine(fake.url, folder)
    fake.hold()
    canceler = Canceler()
    running = Background(engine, job(), canceler)
    fake.wait_for(lambda: bool(fake.pending))
    prompt_id = fake.pending[0].prompt_id
    canceler.cancel()
    with pytest.raises(JobCanceled):
        running.result()
    assert [c.body for c in fake.calls("/queue", "POST")] == [{"delete": [prompt_id]}]
    assert not fake.calls("/interrupt")
    assert not fake.pending
    fake.release()
    assert prompt_id not in fake.history


def test_cancel_while_running_interrupts_that_prompt(
    fake: FakeComfyUI, folder: str, make_engine: Callable[..., ComfyUIEngine]
) -> None:
    engine = make_engine(fake.url, folder)
    fake.pause()
    canceler = Canceler()
    running = Background(engine, job(), canceler)
    assert fake.paused.wait(30)
    prompt_id = fake.running.prompt_id if fake.running else ""
    canceler.cancel()
    with pytest.raises(JobCanceled):
        running.result()
    assert [c.body for c in fake.calls("/interrupt")] == [{"prompt_id": prompt_id}]
    assert not fake.calls("/queue", "POST")
    fake.wait_for(lambda: prompt_id in fake.history)
    messages = [kind for kind, _ in fake.history[prompt_id]["status"]["messages"]]
    assert messages[-1] == "execution_interrupted"


def test_the_deadline_takes_the_render_back(fake: FakeComfyUI, folder: str) -> None:
    now = [0.0]
    engine = ComfyUIEngine(
        ComfyUISettings(url=fake.url, workflows=folder, timeout_seconds=60, poll_seconds=0.05),
        clock=lambda: now[0],
    )
    try:
        fake.pause()
        running = Background(engine, job(), Recorder())
        assert fake.paused.wait(30)
        now[0] = 61.0
        with pytest.raises(Overdue, match="ComfyUI took longer than 60 s"):
            running.result()
        assert len(fake.calls("/interrupt")) == 1
    finally:
        engine.close()


def test_a_server_dying_mid_render_fails_it_as_unavailable(
    fake: FakeComfyUI, folder: str, make_engine: Callable[..., ComfyUIEngine]
) -> None:
    engine = make_engine(fake.url, folder)
    fake.pause()
    running = Background(engine, job(), Recorder())
    assert fake.paused.wait(30)
    fake.die()
    with pytest.raises(EngineUnavailable, match="ComfyUI stopped answering during the render"):
        running.result()


def test_a_lost_socket_falls_back_to_history(
    fake: FakeComfyUI, folder: str, make_engine: Callable[..., ComfyUIEngine]
) -> None:
    engine = make_engine(fake.url, folder)
    fake.pause()
    running = Background(engine, job(), Recorder())
    assert fake.paused.wait(30)
    fake.drop_sockets()
    fake.wait_for(lambda: bool(fake.calls("/history/{prompt_id}")))
    fake.resume()
    assert running.result().image.size == (1024, 768)


def test_history_alone_serves_a_server_whose_socket_says_nothing(
    fake: FakeComfyUI, folder: str, make_engine: Callable[..., ComfyUIEngine]
) -> None:
    fake.mute()
    engine = make_engine(fake.url, folder)
    assert engine.run(job(), Recorder()).image.size == (1024, 768)
    assert fake.calls("/history/{prompt_id}")


def test_a_server_that_forgets_the_render_fails_it(
    fake: FakeComfyUI, folder: str, make_engine: Callable[..., ComfyUIEngine]
) -> None:
    fake.mute()
    fake.hold()
    engine = make_engine(fake.url, folder)
    running = Background(engine, job(), Recorder())
    fake.wait_for(lambda: bool(fake.pending))
    with fake.lock:
        fake.pending.clear()  # as a restarted server would have
    with pytest.raises(EngineUnavailable, match="no longer knows the render"):
        running.result()


def test_a_server_that_picks_its_own_prompt_ids(
    folder: str, make_engine: Callable[..., ComfyUIEngine]
) -> None:
    with FakeComfyUI(own_ids=True) as fake:
        engine = make_engine(fake.url, folder)
        assert engine.run(job(), Recorder()).image.size == (1024, 768)
        (prompt_id,) = fake.history
        assert submitted(fake)[0]["prompt_id"] != prompt_id


def test_one_client_id_and_one_socket_per_process(
    fake: FakeComfyUI, folder: str, make_engine: Callable[..., ComfyUIEngine]
) -> None:
    engine = make_engine(fake.url, folder)
    for kind in ("render", "refine"):
        engine.run(job(kind), Recorder())
    assert {body["client_id"] for body in submitted(fake)} == {engine.client_id}
    assert list(fake.sockets) == [engine.client_id]


def test_no_server_answering_is_unavailable(
    folder: str, make_engine: Callable[..., ComfyUIEngine]
) -> None:
    engine = make_engine(f"http://127.0.0.1:{free_port()}", folder)
    with pytest.raises(EngineUnavailable, match="no ComfyUI server answered"):
        engine.run(job(), Recorder())


# -- two servers -------------------------------------------------------------------------------


@pytest.fixture
def second() -> Iterator[FakeComfyUI]:
    with FakeComfyUI() as server:
        yield server


def test_a_render_goes_to_the_server_with_the_shorter_queue(
    fake: FakeComfyUI, second: FakeComfyUI, folder: str, make_engine: Callable[..., ComfyUIEngine]
) -> None:
    fake.hold()
    busy = make_engine(fake.url, folder)  # another client keeps the first server busy
    waiting = Background(busy, job(), Recorder())
    fake.wait_for(lambda: fake.queue_remaining() == 1)
    engine = make_engine(f"{fake.url},{second.url}", folder)
    for _ in range(2):
        engine.run(job(), Recorder())
    assert len(second.prompts) == 2
    assert len(fake.prompts) == 1
    fake.release()
    waiting.result()


def test_renders_at_once_spread_over_both_servers(
    fake: FakeComfyUI, second: FakeComfyUI, folder: str, make_engine: Callable[..., ComfyUIEngine]
) -> None:
    engine = make_engine(f"{fake.url},{second.url}", folder)
    fake.hold()
    second.hold()
    first = Background(engine, job(), Recorder())
    fake.wait_for(lambda: fake.queue_remaining() + second.queue_remaining() >= 1)
    then = Background(engine, job(), Recorder())
    second.wait_for(lambda: fake.queue_remaining() + second.queue_remaining() >= 2)
    assert (fake.queue_remaining(), second.queue_remaining()) == (1, 1)
    fake.release()
    second.release()
    assert first.result().image.size == then.result().image.size == (1024, 768)


def test_a_dead_server_is_skipped(
    fake: FakeComfyUI, second: FakeComfyUI, folder: str, make_engine: Callable[..., ComfyUIEngine]
) -> None:
    fake.die()
    engine = make_engine(f"{fake.url},{second.url}", folder)
    for _ in range(3):
        assert engine.run(job(), Recorder()).image.size == (1024, 768)
    assert len(second.prompts) == 3
    second.die()
    with pytest.raises(EngineUnavailable, match="none of the 2 ComfyUI servers answered"):
        engine.run(job(), Recorder())


def test_a_server_dying_mid_render_names_which_one(
    fake: FakeComfyUI, second: FakeComfyUI, folder: str, make_engine: Callable[..., ComfyUIEngine]
) -> None:
    engine = make_engine(f"{fake.url},{second.url}", folder)
    fake.pause()
    second.pause()
    dying = Background(engine, job(), Recorder())
    fake.wait_for(lambda: fake.paused.is_set() or second.paused.is_set())
    number, server = (1, fake) if fake.paused.is_set() else (2, second)
    server.die()
    with pytest.raises(EngineUnavailable, match=f"ComfyUI server {number} of 2 stopped answering"):
        dying.result()
