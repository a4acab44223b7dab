"""The diffusion engine's model files on this machine: where the Hugging Face cache is, which
files each configured model needs, and whether they are there and whole.

Stdlib only: `tds doctor` and `tds models check` answer without huggingface_hub or torch. The
cache layout read here is huggingface_hub's documented one: `models--{owner}--{name}/refs/{rev}`
holds a commit, `snapshots/{commit}/{path}` links to `blobs/{etag}`, and a blob is named by its
etag: the sha256 of the file for LFS files (weights), its git blob sha1 for the others. So a
file is checked offline against the hash the hub gave when it was downloaded.

Which files a model needs mirrors how the engine loads it (engines/diffusion/pipelines.py): a
pipeline repo (base, inpainting and video models) needs its `model_index.json` and each
component in it, less those a setting replaces; a model repo (VAE, ControlNets, a UNet) its
`config.json` and safetensors weights; a UNet given as `owner/repo/file.safetensors` that file.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tds.engines.diffusion.config import DiffusionConfig
from tds.engines.diffusion.recipes import Repo

Kind = Literal["pipeline", "model", "file"]
Depth = Literal["quick", "full"]
IMAGE_KINDS = frozenset({"render", "refine", "enhance", "staging"})
SHA256 = re.compile(r"[0-9a-f]{64}")
GIT_SHA1 = re.compile(r"[0-9a-f]{40}")
CHUNK = 8 * 1024 * 1024
# A safetensors header is JSON of a few hundred kB at most; more means this is no such file.
MAX_HEADER = 100 * 1024 * 1024


@dataclass(frozen=True)
class Cache:
    """The Hugging Face cache folder the engine reads, and what chose it."""

    path: Path
    chosen_by: str  # the variable that set it ("" for huggingface_hub's default)

    def repo_dir(self, repo_id: str) -> Path:
        return self.path / ("models--" + repo_id.replace("/", "--"))

    def snapshot(self, repo_id: str, revision: str = "main") -> Path | None:
        """The snapshot folder of a revision, or None when it was never downloaded."""
        folder = self.repo_dir(repo_id)
        commit = revision
        if not GIT_SHA1.fullmatch(revision):
            ref = folder / "refs" / revision
            if not ref.is_file():
                return None
            commit = ref.read_text().strip()
        snapshot = folder / "snapshots" / commit
        return snapshot if snapshot.is_dir() else None

    def listing(self, repo_id: str, snapshot: Path) -> dict[str, int]:
        """File sizes from the tree listing huggingface_hub caches with a snapshot (empty when
        there is none or its format is unknown): a truncated file shows without hashing."""
        tree = self.repo_dir(repo_id) / "trees" / f"{snapshot.name}.json"
        try:
            data = json.loads(tree.read_text())
            files = data["files"] if data.get("format_version") == 1 else {}
            return {path: int(info.get("lfs_size") or info["size"]) for path, info in files.items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return {}


def _expand(value: str, env: Mapping[str, str]) -> Path:
    """os.path.expandvars and expanduser, as huggingface_hub applies them, over `env`."""
    value = re.sub(r"\$(\w+)|\$\{(\w+)\}", lambda m: env.get(m[1] or m[2], m[0]), value)
    if value == "~" or value.startswith("~/"):
        value = env.get("HOME", os.path.expanduser("~")) + value[1:]
    return Path(value)


def hub_cache(
    config: DiffusionConfig | None = None, environ: Mapping[str, str] | None = None
) -> Cache:
    """TDS_DIFFUSION_CACHE_DIR (the engine passes it as cache_dir), else huggingface_hub's own
    rule: HF_HUB_CACHE (or its old name HUGGINGFACE_HUB_CACHE), else $HF_HOME/hub, HF_HOME
    defaulting to $XDG_CACHE_HOME/huggingface or ~/.cache/huggingface."""
    env = os.environ if environ is None else environ
    if config is not None and config.cache_dir:
        return Cache(_expand(config.cache_dir, env), "TDS_DIFFUSION_CACHE_DIR")
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if env.get(name):
            return Cache(_expand(env[name], env), name)
    if env.get("HF_HOME"):
        return Cache(_expand(env["HF_HOME"], env) / "hub", "HF_HOME")
    if env.get("XDG_CACHE_HOME"):
        return Cache(_expand(env["XDG_CACHE_HOME"], env) / "huggingface" / "hub", "XDG_CACHE_HOME")
    return Cache(_expand("~/.cache/huggingface/hub", env), "")


@dataclass(frozen=True)
class Wanted:
    """One model the configuration loads."""

    setting: str  # DiffusionConfig field
    value: str
    kind: Kind
    skip: frozenset[str] = frozenset()  # pipeline components a setting replaces
    config_only: frozenset[str] = frozenset()  # components whose config alone is read

    @property
    def variable(self) -> str:
        return DiffusionConfig.variables(self.setting)[0]


def wanted(config: DiffusionConfig) -> list[Wanted]:
    """The models `Pipelines.load(config)` loads, in its order."""
    found: list[Wanted] = []
    if config.kinds & IMAGE_KINDS:
        found.append(
            Wanted(
                "base_model",
                config.base_model,
                "pipeline",
                skip=frozenset({"vae"} if config.vae else set()),
                # a replacement UNet is built from the base's UNet config
                config_only=frozenset({"unet"} if config.unet else set()),
            )
        )
        found.append(Wanted("controlnet", config.controlnet, "model"))
        if config.vae:
            found.append(Wanted("vae", config.vae, "model"))
        if config.unet:
            kind: Kind = "file" if config.unet.endswith(".safetensors") else "model"
            found.append(Wanted("unet", config.unet, kind))
        if "enhance" in config.kinds and config.tile_controlnet:
            found.append(Wanted("tile_controlnet", config.tile_controlnet, "model"))
        if "staging" in config.kinds and config.inpaint_model:
            found.append(
                Wanted(
                    "inpaint_model",
                    config.inpaint_model,
                    "pipeline",
                    skip=frozenset({"controlnet"}),
                )
            )
    if "video" in config.kinds:
        found.append(Wanted("video_model", config.video_model, "pipeline"))
    return found


@dataclass
class Report:
    """What was found for one wanted model."""

    model: Wanted
    where: Path | None = None  # the snapshot or local folder (file, for a UNet file)
    repo: str = ""  # the hub repo, when it comes from the cache
    files: int = 0
    size: int = 0
    hashed: bool = False
    missing: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)  # "path: why"
    # snapshot paths whose files are corrupt (for `tds models pull --repair`)
    bad_paths: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.where is not None and not self.missing and not self.corrupt


def locate(model: Wanted, cache: Cache) -> tuple[Path | None, str, str]:
    """(folder or file, hub repo or "", the file inside the repo for a UNet file)."""
    local = Path(model.value).expanduser()
    if local.exists():
        return local, "", ""
    if model.kind == "file":
        repo, _, filename = model.value.rpartition("/")
        snapshot = cache.snapshot(repo)
        return snapshot, repo, filename
    return cache.snapshot(model.value), model.value, ""


def check(model: Wanted, cache: Cache, depth: Depth = "quick") -> Report:
    """Whether a model's files are all there and whole: sizes against the cached listing and
    safetensors headers (quick), and every hash against the hub's (full)."""
    where, repo, filename = locate(model, cache)
    report = Report(model, repo=repo)
    if where is None:
        report.missing.append("not downloaded")
        return report
    report.where = where
    if where.is_file():  # a local UNet weights file
        paths = [where.name]
        where = where.parent
    elif filename:
        paths = [filename]
    else:
        paths = _needed(where, model, report)
    sizes = cache.listing(repo, where) if repo else {}
    for rel in paths:
        _verify(where, rel, sizes.get(rel), depth, report)
    report.hashed = depth == "full"
    return report


def _component_files(root: Path, name: str, cls: str, config_only: bool) -> list[str]:
    """The files of one pipeline component, by its class in model_index.json."""
    if cls.endswith("Scheduler"):
        return [f"{name}/scheduler_config.json"]
    if "Tokenizer" in cls or "Processor" in cls or "FeatureExtractor" in cls:
        folder = root / name
        present = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
        return [f"{name}/{p}" for p in present] or [f"{name}/"]
    return _model_files(root, name, config_only)


def _model_files(root: Path, folder: str, config_only: bool = False) -> list[str]:
    prefix = f"{folder}/" if folder else ""
    files = [f"{prefix}config.json"]
    if config_only:
        return files
    base = root / folder if folder else root
    for stem in ("diffusion_pytorch_model", "model"):
        if (base / f"{stem}.safetensors").exists():
            return [*files, f"{prefix}{stem}.safetensors"]
        index = base / f"{stem}.safetensors.index.json"
        if index.exists():
            try:
                shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                return [*files, f"{prefix}{index.name}: unreadable"]
            return [*files, f"{prefix}{index.name}", *(f"{prefix}{s}" for s in shards)]
    for legacy in ("diffusion_pytorch_model.bin", "pytorch_model.bin"):
        if (base / legacy).exists():  # diffusers falls back to pickled weights
            return [*files, f"{prefix}{legacy}"]
    return [*files, f"{prefix}diffusion_pytorch_model.safetensors"]


def _needed(root: Path, model: Wanted, report: Report) -> list[str]:
    if model.kind == "model":
        return _model_files(root, "")
    index_path = root / "model_index.json"
    try:
        index = json.loads(index_path.read_text())
    except FileNotFoundError:
        return ["model_index.json"]
    except (OSError, ValueError) as error:
        report.corrupt.append(f"model_index.json: {error}")
        return []
    files = ["model_index.json"]
    for name, entry in index.items():
        if name.startswith("_") or name in model.skip or not isinstance(entry, list):
            continue
        if len(entry) != 2 or None in entry:  # [null, null]: an optional part left out
            continue
        files += _component_files(root, name, str(entry[1]), name in model.config_only)
    return files


def _verify(root: Path, rel: str, listed: int | None, depth: Depth, report: Report) -> None:
    path = root / rel
    if rel.endswith((": unreadable", "/")) or not path.is_file():
        report.missing.append(rel.removesuffix(": unreadable").removesuffix("/") or rel)
        return
    report.files += 1
    report.size += path.stat().st_size
    problem = problem_of(path, listed, depth)
    if problem:
        report.corrupt.append(f"{rel}: {problem}")
        report.bad_paths.append(path)


def problem_of(path: Path, listed: int | None, depth: Depth) -> str:
    """Why a present file is not whole ("" when it is): its size against the hub's listing, a
    safetensors header against the file, and (full) its hash against the hub's etag."""
    size = path.stat().st_size
    if listed is not None and size != listed:
        return f"{size} bytes, the hub listed {listed}"
    if path.suffix == ".safetensors":
        problem = safetensors_problem(path, size)
        if problem:
            return problem
    return hash_problem(path) if depth == "full" else ""


def file_problem(cache: Cache, repo_id: str, snapshot: Path, rel: str, depth: Depth) -> str:
    """problem_of() for one file of a cached snapshot, with the size its listing gives."""
    return problem_of(snapshot / rel, cache.listing(repo_id, snapshot).get(rel), depth)


def safetensors_problem(path: Path, size: int) -> str:
    """Why a .safetensors file cannot be whole ("" when its header accounts for every byte):
    8 bytes of header length, the JSON header, then the tensors at the offsets it gives."""
    try:
        with path.open("rb") as file:
            head = file.read(8)
            length = int.from_bytes(head, "little") if len(head) == 8 else -1
            if not 0 < length <= MAX_HEADER or 8 + length > size:
                return "not a safetensors file (no header)"
            header = json.loads(file.read(length))
        end = max(
            (int(t["data_offsets"][1]) for k, t in header.items() if k != "__metadata__"),
            default=0,
        )
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError) as error:
        return f"unreadable safetensors header ({error})"
    expected = 8 + length + end
    if size != expected:
        return f"{size} bytes where its header says {expected}: truncated or padded"
    return ""


def hash_problem(path: Path) -> str:
    """Whether a cached file still hashes to its blob's name (the hub's etag)."""
    blob = path.resolve().name
    if SHA256.fullmatch(blob):
        digest = _digest(path, hashlib.sha256())
        return "" if digest == blob else f"sha256 {digest[:12]}… is not the hub's {blob[:12]}…"
    if GIT_SHA1.fullmatch(blob):
        sha1 = hashlib.sha1(f"blob {path.stat().st_size}\0".encode())
        digest = _digest(path, sha1)
        return "" if digest == blob else f"git sha1 {digest[:12]}… is not the hub's {blob[:12]}…"
    return ""  # a local folder or a copied file: no hash to compare with


def _digest(path: Path, hasher: hashlib._Hash) -> str:
    with path.open("rb") as file:
        while chunk := file.read(CHUNK):
            hasher.update(chunk)
    return hasher.hexdigest()


def _matcher(patterns: Iterable[str]) -> Callable[[str], bool]:
    """allow_patterns as huggingface_hub reads them: fnmatch, where `*` crosses folders."""
    compiled = [re.compile(fnmatch.translate(p)) for p in patterns]
    return lambda rel: any(p.match(rel) for p in compiled)


def snapshot_files(snapshot: Path, patterns: Iterable[str]) -> list[str]:
    """The files of a snapshot that match allow_patterns."""
    matches = _matcher(patterns)
    found = []
    for path in sorted(snapshot.rglob("*")):
        rel = path.relative_to(snapshot).as_posix()
        if (path.is_file() or path.is_symlink()) and matches(rel):
            found.append(rel)
    return found


def snapshot_files_listed(cache: Cache, repo: Repo, snapshot: Path) -> set[str] | None:
    """The files of the repo's cached listing that match its patterns: what a complete pull
    holds (None when no listing was cached)."""
    listing = cache.listing(repo.id, snapshot)
    if not listing:
        return None
    matches = _matcher(repo.files)
    return {rel for rel in listing if matches(rel)}


def remove_cached(path: Path) -> None:
    """Drop one file from the cache, its blob too, so that the next pull fetches it again."""
    blob = path.resolve()
    path.unlink(missing_ok=True)
    if blob != path and "blobs" in blob.parts:
        blob.unlink(missing_ok=True)


def human(size: int) -> str:
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"
