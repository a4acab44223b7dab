"""`tds doctor` on this machine (2 CPU cores, no GPU): what it can serve, what it cannot and
why, with its exit status; and the server's start-up error pointing at it."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import ClassVar

import pytest
from typer.testing import CliRunner, Result

from tds.cli.machine import inspect
from tds.cli.main import app
from tests.support.servers import free_port, start_tds_serve

try:
    from tests.engines import tiny_diffusion  # torch and diffusers build the tiny models
except ImportError as missing:  # CI installs the gpu extra: this must never pass silently
    pytest.fail(
        f"tds doctor tests need torch and diffusers ({missing}); "
        "install them with: pip install -e '.[gpu]'",
        pytrace=False,
    )

ROOT = Path(__file__).parents[2]
GPU = bool(inspect().gpus)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tiny_diffusion.Models:
    return tiny_diffusion.build(tmp_path_factory.mktemp("tiny-models"))


def clean(tmp_path: Path) -> dict[str, str]:
    """This process's environment without tds or Hugging Face settings, on fresh folders."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TDS_", "HF_"))}
    return env | {"TDS_DATA_DIR": str(tmp_path / "data"), "HF_HOME": str(tmp_path / "hf")}


@pytest.fixture
def doctor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunnerDoctor:
    for name in list(os.environ):
        if name.startswith(("TDS_", "HF_")):
            monkeypatch.delenv(name)
    for name, value in clean(tmp_path).items():
        monkeypatch.setenv(name, value)
    return CliRunnerDoctor(monkeypatch)


class CliRunnerDoctor:
    """`tds doctor` in this process, with some settings."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch

    def __call__(self, **settings: str) -> Result:
        for name, value in settings.items():
            self.monkeypatch.setenv(name, value)
        return CliRunner().invoke(app, ["doctor"])


def section(output: str, title: str) -> list[str]:
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    body = []
    for line in lines[start + 1 :]:
        if not line.startswith(" "):
            break
        body.append(line.strip())
    return body


def test_on_this_machine_the_preview_engine_serves_and_the_gpu_engine_is_explained(
    tmp_path: Path,
) -> None:
    env = clean(tmp_path)
    ran = subprocess.run(
        [sys.executable, "-m", "tds", "doctor"], env=env, capture_output=True, text=True
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    out = ran.stdout
    assert section(out, "Engines") == [
        "ok    preview serves render, refine, enhance, video "
        "(not staging: answered kind_unavailable)"
    ]
    assert out.rstrip().endswith(
        "Can serve render, refine, enhance, video (preview: render, refine, enhance, video)."
    )
    machine = "\n".join(section(out, "Machine"))
    assert f"Python {sys.version_info.major}.{sys.version_info.minor}" in machine.replace(
        "CPython ", ""
    )
    if not GPU:  # this machine: no GPU, the CPU build of torch
        assert "GPU: none found, no CUDA device and no NVIDIA driver" in machine
        assert "a CPU build, without CUDA" in machine
        hint = next(line for line in section(out, "Machine") if "to serve the diffusion" in line)
        assert "an NVIDIA GPU and its driver" in hint
        assert "install a CUDA build of torch 2.13" in hint
        assert "tds models pull sdxl-canny" in hint
    assert not (tmp_path / "data").exists()  # doctor changes nothing


def test_the_diffusion_engine_without_gpu_or_models_cannot_serve(doctor: CliRunnerDoctor) -> None:
    result = doctor(TDS_ENGINE="diffusion")
    assert result.exit_code == 1, result.output
    engines = section(result.output, "Engines (TDS_ENGINE=diffusion)")
    failed = [line for line in engines if line.startswith("FAIL")]
    missing = {
        "TDS_DIFFUSION_BASE_MODEL=stabilityai/stable-diffusion-xl-base-1.0": "sdxl-canny",
        "TDS_DIFFUSION_CONTROLNET=diffusers/controlnet-canny-sdxl-1.0": "sdxl-canny",
        "TDS_DIFFUSION_VAE=madebyollin/sdxl-vae-fp16-fix": "sdxl-canny",
        "TDS_DIFFUSION_TILE_CONTROLNET=xinsir/controlnet-tile-sdxl-1.0": "sdxl-tile",
        "TDS_DIFFUSION_VIDEO_MODEL=Wan-AI/Wan2.1-I2V-14B-480P-Diffusers": "wan-i2v",
    }
    for model, recipe in missing.items():
        line = next(line for line in failed if model in line)
        assert line.endswith(f"not in the cache; run: tds models pull {recipe}"), line
    gpu = [line for line in failed if "needs a CUDA GPU" in line]
    assert len(gpu) == (0 if GPU else 1)
    if not GPU:
        assert "install a CUDA build of torch" in gpu[0]
        assert any(
            line.startswith("FAIL  GPU: none found") for line in section(result.output, "Machine")
        )
    assert len(failed) == len(missing) + len(gpu)
    problems = len(failed) + (0 if GPU else 2)  # torch's CPU build and no GPU, in Machine
    assert result.output.rstrip().endswith(
        f"Cannot serve as configured: {problems} problems marked FAIL above."
    )


def test_the_diffusion_engine_with_its_models_on_the_cpu_can_serve(
    doctor: CliRunnerDoctor, tiny: tiny_diffusion.Models
) -> None:
    result = doctor(
        TDS_ENGINE="diffusion",
        TDS_DIFFUSION_DEVICE="cpu",
        TDS_DIFFUSION_BASE_MODEL=str(tiny.sdxl),
        TDS_DIFFUSION_VAE="",
        TDS_DIFFUSION_CONTROLNET=str(tiny.controlnet),
        TDS_DIFFUSION_TILE_CONTROLNET=str(tiny.tile_controlnet),
        TDS_DIFFUSION_VIDEO_MODEL=str(tiny.video),
    )
    engines = section(result.output, "Engines")
    assert "warn  diffusion runs on the CPU (TDS_DIFFUSION_DEVICE=cpu): minutes a render" in engines
    models = [line for line in engines if line.startswith("ok    diffusion model")]
    assert [line.split()[3].split("=")[0] for line in models] == [
        "TDS_DIFFUSION_BASE_MODEL",
        "TDS_DIFFUSION_CONTROLNET",
        "TDS_DIFFUSION_TILE_CONTROLNET",
        "TDS_DIFFUSION_VIDEO_MODEL",
    ]
    assert "ok    diffusion serves render, refine, enhance, staging, video" in engines
    if not GPU:  # the machine section still says no GPU, but the CPU device needs none
        assert result.exit_code == 0, result.output
        assert "Can serve render, refine, enhance, staging, video" in result.output

    # A model folder that lost its weights is named.
    (tiny.tile_controlnet / "diffusion_pytorch_model.safetensors").rename(tiny.root / "moved")
    try:
        broken = doctor()
    finally:
        (tiny.root / "moved").rename(tiny.tile_controlnet / "diffusion_pytorch_model.safetensors")
    assert broken.exit_code == 1
    line = next(x for x in section(broken.output, "Engines") if "TILE_CONTROLNET" in x)
    assert line == (
        f"FAIL  diffusion: TDS_DIFFUSION_TILE_CONTROLNET={tiny.tile_controlnet}: "
        "diffusion_pytorch_model.safetensors: missing; "
        "fix that folder or point the setting at another model"
    )


def test_a_broker_that_does_not_answer_fails(doctor: CliRunnerDoctor) -> None:
    port = free_port()  # nothing listens there
    result = doctor(TDS_BROKER_URL=f"redis://127.0.0.1:{port}/0")
    assert result.exit_code == 1, result.output
    (broker,) = section(result.output, "Broker")
    assert broker.startswith(f"FAIL  redis://127.0.0.1:{port}/0: ")
    assert "refused" in broker.lower()
    assert section(result.output, "Engines")[0].startswith("ok    preview serves")
    assert "Cannot serve as configured: 1 problem marked FAIL above." in result.output


def test_a_database_that_does_not_answer_fails_without_showing_its_password(
    doctor: CliRunnerDoctor,
) -> None:
    port = free_port()
    result = doctor(TDS_DATABASE_URL=f"postgresql+psycopg://tds:s3cret@127.0.0.1:{port}/tds")
    assert result.exit_code == 1, result.output
    (database,) = section(result.output, "Database")
    assert database.startswith(
        f"FAIL  postgresql+psycopg://tds:***@127.0.0.1:{port}/tds does not answer"
    )
    assert "s3cret" not in result.output


def test_an_engine_that_would_not_start_is_named_with_its_reason(doctor: CliRunnerDoctor) -> None:
    result = doctor(
        TDS_ENGINE="stability", TDS_STABILITY_API_KEY="", TDS_ENGINE_FOR='{"video": "nonesuch"}'
    )
    assert result.exit_code == 1, result.output
    engines = section(result.output, "Engines")
    stability = next(line for line in engines if line.startswith("FAIL  stability:"))
    assert "TDS_STABILITY_API_KEY" in stability
    assert any(line.startswith("FAIL  nonesuch: unknown engine 'nonesuch'") for line in engines)


class ComfyStandIn:
    """A comfyui engine as the doctor sees one: its servers (config.urls) and workflows."""

    name = "comfyui"
    generative = True
    description = "a stand-in"
    kinds = frozenset({"render"})

    def __init__(self) -> None:
        image = SimpleNamespace(node="1", input="image")
        self.config = SimpleNamespace(
            urls=os.environ["STAND_IN_URLS"].split(","), request_timeout_seconds=5.0
        )
        checkpoint = {"ckpt_name": "juggernaut.safetensors"}
        graph = {
            "1": {"class_type": "LoadImage", "inputs": {"image": "set-by-tds.png"}},
            "2": {"class_type": "CheckpointLoaderSimple", "inputs": checkpoint},
            "3": {
                "class_type": "SaveImage",
                "inputs": {"images": ["2", 0], "filename_prefix": "x"},
            },
            "4": {"class_type": "ControlNetApplySD3", "inputs": {"strength": 0.8}},
        }
        self.workflows = {
            "render": SimpleNamespace(name="render.json", graph=graph, targets={"image": (image,)})
        }

    def setup(self) -> None:
        raise AssertionError("the doctor does not start the engine")

    def run(self, job: object, progress: object) -> object:
        raise AssertionError("the doctor renders nothing")


class FakeComfyUI(ThreadingHTTPServer):
    """GET /prompt and GET /object_info, in ComfyUI's shapes."""

    NODES: ClassVar[dict[str, object]] = {
        "LoadImage": {"input": {"required": {"image": [["example.png"], {"image_upload": True}]}}},
        "CheckpointLoaderSimple": {
            "input": {"required": {"ckpt_name": ["COMBO", {"options": ["sdxl.safetensors"]}]}}
        },
        "SaveImage": {"input": {"required": {"images": ["IMAGE"], "filename_prefix": ["STRING"]}}},
    }

    def __init__(self) -> None:
        nodes = self.NODES

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                body = {"/prompt": {"exec_info": {"queue_remaining": 2}}, "/object_info": nodes}
                data = json.dumps(body[self.path]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, args=(0.02,), daemon=True).start()


def test_comfyui_servers_are_asked_for_every_node_and_file_the_workflows_use(
    doctor: CliRunnerDoctor,
) -> None:
    comfy = FakeComfyUI()
    down = f"http://127.0.0.1:{free_port()}"
    try:
        result = doctor(
            TDS_ENGINE="tests.cli.test_doctor:ComfyStandIn", STAND_IN_URLS=f"{comfy.url},{down}"
        )
    finally:
        comfy.shutdown()
        comfy.server_close()
    assert result.exit_code == 1, result.output
    engines = section(result.output, "Engines")
    assert f"ok    ComfyUI at {comfy.url} answers, 2 prompts queued" in engines
    failed = [line for line in engines if line.startswith("FAIL")]
    name = "tests.cli.test_doctor:ComfyStandIn"
    assert failed[:2] == [
        f"FAIL  {name}: {comfy.url}: render.json: node 2 (CheckpointLoaderSimple): ckpt_name "
        '"juggernaut.safetensors" is not on this server',
        f"FAIL  {name}: {comfy.url}: render.json: node 4 (ControlNetApplySD3) is not installed "
        "on this server",
    ]  # the LoadImage's image is tds's to set: not checked
    assert failed[2].startswith(f"FAIL  {name}: ComfyUI at {down} does not answer GET /prompt")
    assert len(failed) == 3


@pytest.mark.parametrize("engine", ["diffusion", "nonesuch"])
def test_the_server_start_up_error_says_to_run_tds_doctor(engine: str, tmp_path: Path) -> None:
    env = {"TDS_ENGINE": engine, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1"}
    with pytest.raises(AssertionError, match=r"run `tds doctor`") as failed:
        start_tds_serve(tmp_path / "data", env=env, capture=True)
    reason = "TDS_DIFFUSION_BASE_MODEL" if engine == "diffusion" else "unknown engine"
    assert reason in str(failed.value)


def test_make_run_gpu_asks_the_doctor_before_it_serves(tmp_path: Path) -> None:
    """The Makefile's own recipe, with a stand-in `tds` that records how it was called."""
    venv, bin_dir, log = tmp_path / "venv", tmp_path / "bin", tmp_path / "calls"
    venv.mkdir()
    bin_dir.mkdir()
    for done in (".installed-run", ".installed-gpu"):  # up to date: nothing to install
        (venv / done).touch()
    fake = bin_dir / "tds"
    fake.write_text(
        "#!/bin/sh\n"
        f'echo "$TDS_ENGINE $*" >> {log}\n'
        'if [ "$1" = doctor ]; then exit "$DOCTOR_EXIT"; fi\n'
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)

    def make(doctor_exit: int, **env: str) -> int:
        log.unlink(missing_ok=True)
        base = {k: v for k, v in os.environ.items() if not k.startswith(("TDS_", "MAKE"))}
        return subprocess.run(
            ["make", "--no-print-directory", "run-gpu", f"VENV={venv}", f"BIN={bin_dir}"],
            cwd=ROOT,
            env=base | {"DOCTOR_EXIT": str(doctor_exit)} | env,
            capture_output=True,
            text=True,
        ).returncode

    assert make(doctor_exit=1) != 0
    assert log.read_text().splitlines() == ["diffusion doctor"]  # it never served
    assert make(doctor_exit=0) == 0
    assert log.read_text().splitlines() == [
        "diffusion doctor",
        "diffusion serve --demo --host 127.0.0.1 --port 8000",
    ]
    assert make(doctor_exit=0, TDS_ENGINE="comfyui") == 0
    assert log.read_text().splitlines()[0] == "comfyui doctor"
