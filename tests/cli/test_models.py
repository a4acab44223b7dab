"""`tds models list|pull|check` as an operator runs them.

`pull` runs as a real process against a loopback server posing as the Hugging Face Hub
(HF_ENDPOINT, tests/support/fake_hub.py), serving tiny models built in code under the recipes'
real repo ids beside files the engine never loads; the engine then loads what was pulled,
offline, through its real loading code.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tds.cli import model_files
from tds.cli.main import app
from tds.cli.models import settings_for
from tds.engines.diffusion import recipes
from tds.engines.diffusion.config import DiffusionConfig
from tests.support.fake_hub import FakeHub

try:
    import huggingface_hub  # noqa: F401

    from tests.engines import tiny_diffusion  # torch and diffusers build the tiny models
except ImportError as missing:  # CI installs the gpu extra: this must never pass silently
    pytest.fail(
        f"tds models tests need huggingface_hub, torch and diffusers ({missing}); "
        "install them with: pip install -e '.[gpu]'",
        pytrace=False,
    )

SDXL = "stabilityai/stable-diffusion-xl-base-1.0"
UNET = f"{SDXL}/unet/diffusion_pytorch_model.safetensors"
CONTROLNET = "diffusers/controlnet-canny-sdxl-1.0/diffusion_pytorch_model.safetensors"
DOCS = Path(__file__).parents[2] / "docs" / "engines.md"
# Files the real repos carry that the engine never reads: a pull must leave them on the hub.
NEVER = {
    SDXL: {
        "sd_xl_base_1.0.safetensors": b"single-file checkpoint" * 40,
        "sd_xl_offset_example-lora_1.0.safetensors": b"lora" * 30,
        "unet/diffusion_pytorch_model.fp16.safetensors": b"fp16 variant" * 30,
        "unet/openvino_model.bin": b"openvino" * 20,
        "text_encoder/flax_model.msgpack": b"flax" * 20,
        "text_encoder_2/model.onnx": b"onnx" * 20,
        "README.md": b"# SD-XL 1.0-base Model Card\n",
    },
    "madebyollin/sdxl-vae-fp16-fix": {
        "sdxl_vae.safetensors": b"single-file vae" * 30,
        "diffusion_pytorch_model.bin": b"pickle" * 30,
    },
    "diffusers/controlnet-canny-sdxl-1.0": {
        "diffusion_pytorch_model.fp16.safetensors": b"fp16 variant" * 30,
    },
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tiny_diffusion.Models:
    return tiny_diffusion.build(tmp_path_factory.mktemp("tiny-models"))


@pytest.fixture
def hub(tiny: tiny_diffusion.Models) -> Iterator[FakeHub]:
    """The recipes' repos: sdxl-canny, sdxl-tile, sdxl-lightning and wan-i2v."""
    with FakeHub() as fake:
        fake.add_folder(SDXL, tiny.sdxl, NEVER[SDXL])
        fake.add_folder(
            "madebyollin/sdxl-vae-fp16-fix",
            tiny.sdxl / "vae",
            NEVER["madebyollin/sdxl-vae-fp16-fix"],
        )
        fake.add_folder(
            "diffusers/controlnet-canny-sdxl-1.0",
            tiny.controlnet,
            NEVER["diffusers/controlnet-canny-sdxl-1.0"],
        )
        fake.add_folder("xinsir/controlnet-tile-sdxl-1.0", tiny.tile_controlnet)
        lightning = tiny.unet_file.read_bytes()
        fake.add(
            "ByteDance/SDXL-Lightning",
            {
                "sdxl_lightning_4step_unet.safetensors": lightning,
                "sdxl_lightning_8step_unet.safetensors": b"another step count" * 20,
            },
        )
        fake.add_folder("Wan-AI/Wan2.1-I2V-14B-480P-Diffusers", tiny.video)
        yield fake


def environment(hub: FakeHub, home: Path, **more: str) -> dict[str, str]:
    """This process's environment without Hugging Face or tds settings, then the fake hub."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TDS_"))}
    return env | {"HF_ENDPOINT": hub.url, "HF_HOME": str(home)} | more


def tds(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tds", "models", *args], env=env, capture_output=True, text=True
    )


def printed(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """The NAME=value lines `pull` prints on stdout."""
    pairs = [line.split("=", 1) for line in result.stdout.splitlines() if "=" in line]
    return {name: value for name, value in pairs}


def snapshot(home: Path, repo: str) -> Path:
    folder = home / "hub" / ("models--" + repo.replace("/", "--"))
    commit = (folder / "refs" / "main").read_text()
    return folder / "snapshots" / commit


def test_pull_fetches_only_what_the_engine_loads_and_its_settings_load_offline(
    hub: FakeHub, tmp_path: Path
) -> None:
    home = tmp_path / "hf"
    env = environment(hub, home)
    pulled = tds(env, "pull", "sdxl-canny", "wan-i2v")
    assert pulled.returncode == 0, pulled.stderr
    settings = printed(pulled)
    assert settings == {
        "TDS_ENGINE": "diffusion",
        "TDS_DIFFUSION_KINDS": "render,refine,enhance,staging,video",
        "TDS_DIFFUSION_BASE_MODEL": SDXL,
        "TDS_DIFFUSION_VAE": "madebyollin/sdxl-vae-fp16-fix",
        "TDS_DIFFUSION_UNET": "",
        "TDS_DIFFUSION_CONTROLNET": "diffusers/controlnet-canny-sdxl-1.0",
        "TDS_DIFFUSION_TILE_CONTROLNET": "",
        "TDS_DIFFUSION_INPAINT_MODEL": "",
        "TDS_DIFFUSION_VIDEO_MODEL": "Wan-AI/Wan2.1-I2V-14B-480P-Diffusers",
        "TDS_DIFFUSION_SPEED": "standard",
        "HF_HOME": str(home),  # the server must read the same cache
    }
    assert "Fetching" in pulled.stderr  # huggingface_hub's progress bars

    # Into the cache HF_HOME names, and not one file the engine does not read.
    base = snapshot(home, SDXL)
    assert (base / "unet" / "diffusion_pytorch_model.safetensors").is_file()
    assert (base / "text_encoder_2" / "model.safetensors").is_file()
    assert not (base / "vae").exists()  # TDS_DIFFUSION_VAE replaces it
    for repo, files in NEVER.items():
        for name in files:
            assert not (snapshot(home, repo) / name).exists(), name
            assert not hub.downloads_of(f"{repo}/{name}"), name

    # What was pulled is what the engine loads, offline, as the server does at start-up.
    offline = env | settings | {"TDS_DIFFUSION_DEVICE": "cpu", "TDS_DIFFUSION_DTYPE": "float32"}
    checked = tds(
        offline | {"HF_HUB_OFFLINE": "1", "HF_ENDPOINT": "http://127.0.0.1:9"}, "check", "--load"
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count("\nok ") == 4, checked.stdout
    assert "checksums match" in checked.stdout
    assert "loaded       every pipeline" in checked.stdout


def safetensors_of(size: int) -> bytes:
    """A valid safetensors file holding one uint8 tensor of `size` random bytes."""
    header = json.dumps({"w": {"dtype": "U8", "shape": [size], "data_offsets": [0, size]}})
    raw = header.encode()
    return len(raw).to_bytes(8, "little") + raw + os.urandom(size)


def test_an_interrupted_download_resumes_where_it_stopped(hub: FakeHub, tmp_path: Path) -> None:
    # huggingface_hub writes what it received in 10 MiB chunks: a file bigger than that, cut
    # after more than one chunk, shows whether the retry asks for the rest or starts again.
    data = safetensors_of(24 * 1024 * 1024)
    hub.add("ByteDance/SDXL-Lightning", {"sdxl_lightning_4step_unet.safetensors": data})
    lightning = "ByteDance/SDXL-Lightning/sdxl_lightning_4step_unet.safetensors"
    cut = 15 * 1024 * 1024
    hub.cut_once[lightning] = cut  # the connection drops after 15 of its 24 MiB

    home = tmp_path / "hf"
    pulled = tds(environment(hub, home), "pull", "sdxl-lightning")

    assert pulled.returncode == 0, pulled.stderr
    assert "Trying to resume download" in pulled.stderr
    first, second = hub.downloads_of(lightning)
    assert first.range is None
    assert second.range is not None
    start = int(second.range.removeprefix("bytes=").removesuffix("-"))
    assert 0 < start <= cut  # the rest was asked for, not the whole file again
    cached = snapshot(home, "ByteDance/SDXL-Lightning") / "sdxl_lightning_4step_unet.safetensors"
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()


def test_a_failed_pull_keeps_its_files_and_the_next_fetches_only_the_rest(
    hub: FakeHub, tmp_path: Path
) -> None:
    env = environment(hub, tmp_path / "hf")
    hub.failing.add(CONTROLNET)
    failed = tds(env, "pull", "sdxl-canny")
    assert failed.returncode == 1
    assert "diffusers/controlnet-canny-sdxl-1.0" in failed.stderr
    assert "Run the same command again" in failed.stderr
    assert hub.downloads_of(UNET)  # the base was fetched before the ControlNet failed

    hub.failing.clear()
    seen = len(hub.fetched("cdn"))
    again = tds(env, "pull", "sdxl-canny")
    assert again.returncode == 0, again.stderr
    fetched_now = [hub.blob_path(r.path.rsplit("/", 1)[1]) for r in hub.fetched("cdn")[seen:]]
    assert fetched_now == [CONTROLNET]


def test_check_finds_a_corrupt_file_and_pull_repair_fetches_only_it(
    hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "hf"
    env = environment(hub, home)
    pulled = tds(env, "pull", "sdxl-canny")
    assert pulled.returncode == 0, pulled.stderr
    for name, value in {**printed(pulled), "HF_HOME": str(home)}.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    assert runner.invoke(app, ["models", "check"]).exit_code == 0

    # One flipped byte in the middle of the ControlNet's weights: same size, same header.
    weights = (
        snapshot(home, "diffusers/controlnet-canny-sdxl-1.0")
        / "diffusion_pytorch_model.safetensors"
    )
    blob = weights.resolve()
    raw = bytearray(blob.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    blob.chmod(0o644)
    blob.write_bytes(bytes(raw))

    found = runner.invoke(app, ["models", "check"])
    assert found.exit_code == 1, found.output
    line = next(x for x in found.output.splitlines() if "TDS_DIFFUSION_CONTROLNET" in x)
    assert line.startswith("CORRUPT")
    assert "diffusion_pytorch_model.safetensors: sha256" in line
    assert line.endswith("run: tds models pull sdxl-canny --repair")
    assert "ok           TDS_DIFFUSION_BASE_MODEL" in found.output  # the others are fine
    # Without hashing, a same-size change passes; a cut file does not.
    assert runner.invoke(app, ["models", "check", "--quick"]).exit_code == 0

    seen = len(hub.fetched("cdn"))
    repaired = tds(env, "pull", "sdxl-canny", "--repair")
    assert repaired.returncode == 0, repaired.stderr
    assert "fetching it again" in repaired.stderr
    fetched_now = [hub.blob_path(r.path.rsplit("/", 1)[1]) for r in hub.fetched("cdn")[seen:]]
    assert fetched_now == [CONTROLNET]
    assert runner.invoke(app, ["models", "check"]).exit_code == 0


def test_check_quick_finds_a_truncated_file(
    tiny: tiny_diffusion.Models, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A local folder (no hub hashes): the safetensors header still tells a cut file."""
    import shutil

    controlnet = tmp_path / "controlnet"
    shutil.copytree(tiny.controlnet, controlnet)
    weights = controlnet / "diffusion_pytorch_model.safetensors"
    monkeypatch.setenv("TDS_DIFFUSION_KINDS", "render")
    monkeypatch.setenv("TDS_DIFFUSION_BASE_MODEL", str(tiny.sdxl))
    monkeypatch.setenv("TDS_DIFFUSION_VAE", "")
    monkeypatch.setenv("TDS_DIFFUSION_CONTROLNET", str(controlnet))
    runner = CliRunner()
    assert runner.invoke(app, ["models", "check", "--quick"]).exit_code == 0

    weights.write_bytes(weights.read_bytes()[:-1000])
    result = runner.invoke(app, ["models", "check", "--quick"])
    assert result.exit_code == 1
    assert "truncated" in result.output
    assert "fix that folder or point the setting at another model" in result.output


def test_check_names_each_missing_model_and_the_recipe_that_brings_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty"))
    result = CliRunner().invoke(app, ["models", "check"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    missing = {line.split()[1].split("=")[0]: line for line in lines if line.startswith("MISSING")}
    assert set(missing) == {
        "TDS_DIFFUSION_BASE_MODEL",
        "TDS_DIFFUSION_CONTROLNET",
        "TDS_DIFFUSION_VAE",
        "TDS_DIFFUSION_TILE_CONTROLNET",
        "TDS_DIFFUSION_VIDEO_MODEL",
    }
    assert missing["TDS_DIFFUSION_BASE_MODEL"].endswith("run: tds models pull sdxl-canny")
    assert missing["TDS_DIFFUSION_TILE_CONTROLNET"].endswith("run: tds models pull sdxl-tile")
    assert missing["TDS_DIFFUSION_VIDEO_MODEL"].endswith("run: tds models pull wan-i2v")


def test_list_shows_every_recipe_with_size_vram_licence_and_what_is_pulled(
    hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "hf"
    monkeypatch.setenv("HF_HOME", str(home))
    before = CliRunner().invoke(app, ["models", "list"])
    assert before.exit_code == 0, before.output
    rows = {line.split()[0]: line for line in before.output.splitlines()[1:7]}
    assert list(rows) == [r.name for r in recipes.RECIPES]
    assert rows["sdxl-canny"].split()[-9:-6] == ["18.9", "GB", "~12"]
    assert rows["wan-i2v"].split()[2:6] == ["~95.5", "GB", "~48", "GB"]
    assert "Apache-2.0" in rows["wan-i2v"]
    assert all(row.endswith("no") for row in rows.values())
    for recipe in recipes.RECIPES:
        for repo in recipe.repos:
            assert repo.id in before.output

    assert tds(environment(hub, home), "pull", "sdxl-tile").returncode == 0  # and sdxl-canny
    after = CliRunner().invoke(app, ["models", "list"])
    rows = {line.split()[0]: line for line in after.output.splitlines()[1:7]}
    pulled = {name for name, row in rows.items() if row.endswith("yes")}
    assert pulled == {"sdxl-canny", "sdxl-tile"}


def test_pull_prints_the_settings_of_everything_already_pulled_too(
    hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = environment(hub, tmp_path / "hf")
    assert tds(env, "pull", "sdxl-canny").returncode == 0
    second = tds(env, "pull", "sdxl-lightning")  # builds on sdxl-canny, already here
    assert second.returncode == 0, second.stderr
    settings = printed(second)
    assert settings["TDS_DIFFUSION_UNET"] == (
        "ByteDance/SDXL-Lightning/sdxl_lightning_4step_unet.safetensors"
    )
    assert settings["TDS_DIFFUSION_SPEED"] == "lightning"
    assert settings["TDS_DIFFUSION_BASE_MODEL"] == SDXL
    lightning = snapshot(tmp_path / "hf", "ByteDance/SDXL-Lightning")
    assert [p.name for p in lightning.iterdir()] == ["sdxl_lightning_4step_unet.safetensors"]

    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    checked = CliRunner().invoke(app, ["models", "check"])
    assert checked.exit_code == 0, checked.output
    assert "ok           TDS_DIFFUSION_UNET=ByteDance/SDXL-Lightning/" in checked.output


def test_pull_without_huggingface_hub_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # import fails
    result = CliRunner().invoke(app, ["models", "pull", "sdxl-canny"])
    assert result.exit_code == 1
    assert "pip install 'tds[gpu]'" in result.output


def test_pull_of_an_unknown_recipe_names_the_known_ones() -> None:
    result = CliRunner().invoke(app, ["models", "pull", "sdxl-turbo"])
    assert result.exit_code == 2
    assert "choose from sdxl-canny, sdxl-tile" in result.output


@pytest.mark.parametrize("name", [r.name for r in recipes.RECIPES])
def test_every_recipe_gives_settings_the_engine_accepts(name: str) -> None:
    chosen = recipes.with_needs([name])
    env = settings_for(chosen)
    config = DiffusionConfig.from_env(env)
    for recipe in chosen:
        for repo in recipe.repos:
            assert getattr(config, repo.setting) == repo.setting_value
    assert set(config.kinds) == set().union(*(r.kinds for r in chosen))
    # Every model the engine would load comes from the recipes: none left at a default.
    pulled = {repo.setting_value for recipe in chosen for repo in recipe.repos}
    assert {m.value for m in model_files.wanted(config)} <= pulled


def test_recipes_combine_into_one_engine() -> None:
    every = recipes.with_needs(["sdxl-tile", "sdxl-lightning", "sdxl-inpaint", "wan-i2v"])
    config = DiffusionConfig.from_env(settings_for(every))
    assert config.kinds == frozenset({"render", "refine", "enhance", "staging", "video"})
    assert (config.tile_controlnet, config.speed) == (
        "xinsir/controlnet-tile-sdxl-1.0",
        "lightning",
    )
    assert config.inpaint_model == "diffusers/stable-diffusion-xl-1.0-inpainting-0.1"
    # One base family at a time: the SD 1.5 recipe with SDXL add-ons keeps SD 1.5 alone.
    mixed = DiffusionConfig.from_env(settings_for(recipes.with_needs(["sd15-mlsd", "sdxl-tile"])))
    assert mixed.base_model == "stable-diffusion-v1-5/stable-diffusion-v1-5"
    assert mixed.tile_controlnet == "lllyasviel/control_v11f1e_sd15_tile"
    assert (mixed.vae, mixed.control) == ("", "lines")


def test_the_patterns_pick_the_engine_files_of_the_real_sdxl_repo() -> None:
    """The real repo's file names (as listed on the hub), beyond what the tiny model has."""
    listing = [
        "model_index.json", "scheduler/scheduler_config.json", "sd_xl_base_1.0.safetensors",
        "sd_xl_base_1.0_0.9vae.safetensors", "sd_xl_offset_example-lora_1.0.safetensors",
        "text_encoder/config.json", "text_encoder/flax_model.msgpack",
        "text_encoder/model.fp16.safetensors", "text_encoder/model.onnx",
        "text_encoder/model.safetensors", "text_encoder/openvino_model.bin",
        "text_encoder/openvino_model.xml", "text_encoder_2/config.json",
        "text_encoder_2/model.safetensors", "text_encoder_2/model.onnx_data",
        "tokenizer/merges.txt", "tokenizer/special_tokens_map.json",
        "tokenizer/tokenizer_config.json", "tokenizer/vocab.json", "tokenizer_2/vocab.json",
        "unet/config.json",
        "unet/diffusion_flax_model.msgpack", "unet/diffusion_pytorch_model.fp16.safetensors",
        "unet/diffusion_pytorch_model.safetensors", "unet/model.onnx", "unet/model.onnx_data",
        "unet/openvino_model.bin", "vae/config.json", "vae/diffusion_pytorch_model.safetensors",
        "vae_1_0/diffusion_pytorch_model.safetensors", "vae_decoder/model.onnx", "README.md",
    ]  # fmt: skip
    repo = recipes.get("sdxl-canny").repos[0]
    matches = model_files._matcher(repo.files)
    assert [f for f in listing if matches(f)] == [
        "model_index.json", "scheduler/scheduler_config.json", "text_encoder/config.json",
        "text_encoder/model.safetensors", "text_encoder_2/config.json",
        "text_encoder_2/model.safetensors", "tokenizer/merges.txt",
        "tokenizer/special_tokens_map.json", "tokenizer/tokenizer_config.json",
        "tokenizer/vocab.json", "tokenizer_2/vocab.json", "unet/config.json",
        "unet/diffusion_pytorch_model.safetensors",
    ]  # fmt: skip
    sharded = model_files._matcher(recipes.get("wan-i2v").repos[0].files)
    assert sharded("transformer/diffusion_pytorch_model-00003-of-00014.safetensors")
    assert sharded("transformer/diffusion_pytorch_model.safetensors.index.json")
    assert not sharded("transformer/diffusion_pytorch_model.fp16-00003-of-00014.safetensors")


@pytest.mark.parametrize(
    "variables",
    [
        {},
        {"HF_HOME": "{tmp}/home"},
        {"HF_HUB_CACHE": "{tmp}/hub-cache"},
        {"XDG_CACHE_HOME": "{tmp}/xdg"},
    ],
)
def test_the_cache_is_where_huggingface_hub_puts_it(
    variables: dict[str, str], tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_", "XDG_"))}
    env |= {"HOME": str(tmp_path)} | {k: v.format(tmp=tmp_path) for k, v in variables.items()}
    theirs = subprocess.run(
        [sys.executable, "-c", "import huggingface_hub.constants as c; print(c.HF_HUB_CACHE)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert model_files.hub_cache(environ=env).path == Path(theirs)


def test_the_gpu_guide_walks_through_the_recipes() -> None:
    text = DOCS.read_text()
    guide = text[text.index("## From nothing to a first render") :]
    for step in range(1, 8):
        assert f"\n{step}. " in guide, step
    for command in (
        "tds doctor",
        "tds models list",
        "tds models pull",
        "tds models check",
        "make run-gpu",
    ):
        assert command in guide, command
    assert "(comfyui.md)" in guide
    for recipe in recipes.RECIPES:
        assert f"`{recipe.name}`" in text, recipe.name
