"""`tds doctor`: one report of what this machine can serve with the configured settings, and
what is missing where it cannot.

It reads the same TDS_* settings as `tds serve` and `tds worker`, changes nothing (no data dir
made, no migration, no model loaded) and exits 1 when the configured setup cannot serve: an
engine that would not start, a model missing or broken, a GPU the engine needs but does not
find, a database, storage or broker that does not answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import typer

if TYPE_CHECKING:
    from tds.cli.machine import Machine
    from tds.config import Settings
    from tds.engines.base import Engine, Kind
    from tds.engines.diffusion.config import DiffusionConfig

Status = Literal["ok", "warn", "FAIL", "--"]

CUDA_TORCH = (
    "install a CUDA build of torch 2.13 (on Linux x86-64 the PyPI wheel is one: "
    "pip install --force-reinstall torch==2.13.0; other CUDA versions: "
    "https://pytorch.org/get-started/locally/)"
)
GPU_EXTRA = "pip install 'tds[gpu]'"


@dataclass
class Section:
    title: str
    lines: list[tuple[Status, str]] = field(default_factory=list)

    def add(self, status: Status, text: str) -> None:
        self.lines.append((status, text))


@dataclass
class Checkup:
    sections: list[Section] = field(default_factory=list)
    serves: dict[str, list[Kind]] = field(default_factory=dict)  # engine → kinds it can serve

    def section(self, title: str) -> Section:
        self.sections.append(Section(title))
        return self.sections[-1]

    @property
    def failures(self) -> int:
        return sum(status == "FAIL" for s in self.sections for status, _ in s.lines)

    def text(self) -> str:
        out = ["tds doctor: what this machine can serve, and why not"]
        for section in self.sections:
            out += ["", section.title]
            for status, line in section.lines:
                first, *rest = line.splitlines()
                out.append(f"  {status:<5} {first}")
                out += [f"        {more}" for more in rest]
        out.append("")
        kinds = sorted({k for ks in self.serves.values() for k in ks}, key=_kind_order)
        if self.failures:
            out.append(
                f"Cannot serve as configured: {self.failures} problem"
                f"{'s' if self.failures > 1 else ''} marked FAIL above."
            )
        else:
            by = "; ".join(f"{name}: {', '.join(ks)}" for name, ks in self.serves.items())
            out.append(f"Can serve {', '.join(kinds)} ({by}).")
        return "\n".join(out)


def _kind_order(kind: str) -> int:
    return ("render", "refine", "enhance", "staging", "video").index(kind)


def doctor() -> None:
    """What this machine can serve with the configured TDS_* settings, and why not: Python
    and torch builds, the GPU and its free memory, each configured engine's kinds and missing
    pieces (models, keys, servers), the database, storage and broker.

    Changes nothing. Exit status 1 when the configured setup cannot serve.
    """
    checkup = run()
    typer.echo(checkup.text())
    raise typer.Exit(1 if checkup.failures else 0)


def run() -> Checkup:
    """Every check, in the order of the report."""
    from pydantic import ValidationError

    from tds.cli.machine import inspect
    from tds.config import Settings

    checkup = Checkup()
    machine = inspect()
    try:
        settings = Settings()
    except ValidationError as error:
        checkup.section("Settings").add("FAIL", f"the TDS_* settings do not parse: {error}")
        return checkup
    _machine(checkup.section("Machine"), machine, _wants_gpu(settings))
    _engines(checkup, settings, machine)
    _database(checkup.section("Database"), settings)
    _storage(checkup.section("Storage"), settings)
    _broker(checkup.section("Broker"), settings)
    return checkup


# -- the machine -----------------------------------------------------------------------------


def _wants_gpu(settings: Settings) -> bool:
    """Whether the configured engines need a CUDA GPU here: the diffusion engine does, unless
    TDS_DIFFUSION_DEVICE puts it on the CPU."""
    if "diffusion" not in {settings.engine, *settings.engine_for.values()}:
        return False
    from tds.engines.diffusion.config import DiffusionConfig

    try:
        return DiffusionConfig.from_env().device != "cpu"
    except ValueError:  # reported with the engine
        return True


def _gb(size: int) -> str:
    return f"{size / 10**9:.1f} GB"


def _machine(section: Section, machine: Machine, diffusion: bool) -> None:
    """`diffusion`: the configured engines need the GPU, so what it lacks is a failure."""
    from tds import __version__

    section.add("ok", f"tds {__version__} on Python {machine.python} ({machine.executable})")
    need: Status = "FAIL" if diffusion else "--"
    if machine.torch is None:
        section.add(need, f"torch: not installed (the diffusion engine needs it: {GPU_EXTRA})")
    elif machine.torch_error:
        section.add(need, f"torch {machine.torch} does not import: {machine.torch_error}")
    elif machine.torch_cuda is None:
        section.add(need, f"torch {machine.torch}: a CPU build, without CUDA")
    else:
        section.add("ok", f"torch {machine.torch}, built with CUDA {machine.torch_cuda}")
    for gpu in machine.gpus:
        section.add("ok", f"GPU {gpu.name}: {_gb(gpu.free)} free of {_gb(gpu.total)}")
    if not machine.gpus:
        if machine.nvidia_smi:
            seen = ", ".join(f"{g.name} ({_gb(g.free)} free)" for g in machine.nvidia_smi)
            why = machine.cuda_error or "torch cannot use it"
            section.add(need, f"GPU: the driver sees {seen}, but {why}")
        else:
            why = f" ({machine.cuda_error})" if machine.cuda_error else ""
            section.add(need, f"GPU: none found, no CUDA device and no NVIDIA driver{why}")
    installed = [f"{name} {v}" for name, v in machine.packages.items() if v]
    absent = [name for name, v in machine.packages.items() if v is None]
    if installed:
        section.add("--", ", ".join(installed))
    if absent and (diffusion or machine.gpus or machine.nvidia_smi):
        section.add(need, f"not installed: {', '.join(absent)} ({GPU_EXTRA})")
    if not diffusion and not machine.gpus:
        steps = []
        if not machine.nvidia_smi:
            steps.append("an NVIDIA GPU and its driver (12 GB for SDXL, 48 GB for Wan video)")
        if machine.torch is None or absent:
            steps.append(GPU_EXTRA)
        if machine.torch_cuda is None:
            steps.append(CUDA_TORCH)
        steps.append("tds models pull sdxl-canny, then TDS_ENGINE=diffusion (docs/engines.md)")
        section.add("--", "to serve the diffusion engine here: " + "; ".join(steps))


# -- engines ---------------------------------------------------------------------------------


def _engines(checkup: Checkup, settings: Settings, machine: Machine) -> None:
    from tds.engines import registry
    from tds.engines.base import KINDS

    title = f"Engines (TDS_ENGINE={settings.engine}"
    if settings.engine_for:
        title += ", TDS_ENGINE_FOR=" + ",".join(f"{k}:{v}" for k, v in settings.engine_for.items())
    section = checkup.section(title + ")")
    unknown = sorted(set(settings.engine_for) - set(KINDS))
    if unknown:
        section.add("FAIL", f"TDS_ENGINE_FOR names unknown kinds: {', '.join(unknown)}")
    assigned: dict[str, list[Kind]] = {}
    for kind in KINDS:
        assigned.setdefault(settings.engine_for.get(kind, settings.engine), []).append(kind)
    for name, kinds in assigned.items():
        try:
            engine = registry.load(name)
        except Exception as error:  # whatever stops the server at start-up is the finding
            section.add("FAIL", f"{name}: {_message(error)}")
            continue
        offered = [k for k in kinds if k in engine.kinds]
        problems = _engine_problems(section, name, engine, machine)
        if problems:
            for problem in problems:
                section.add("FAIL", f"{name}: {problem}")
            continue
        refused = [k for k in kinds if k not in engine.kinds]
        line = f"{name} serves {', '.join(offered) or 'nothing'}"
        if refused:
            line += f" (not {', '.join(refused)}: answered kind_unavailable)"
        section.add("ok" if offered else "warn", line)
        if offered:
            checkup.serves[name] = offered
    if settings.broker_url:
        section.add(
            "--",
            "with TDS_BROKER_URL the renders run in `tds worker` processes, which load the "
            "engines: run tds doctor where they run too",
        )


def _message(error: BaseException) -> str:
    return str(error).strip() or type(error).__name__


def _engine_problems(section: Section, name: str, engine: Engine, machine: Machine) -> list[str]:
    """What stops one engine here ([] when nothing does). The diffusion engine is checked
    without loading its weights; the others start as the server starts them (setup() checks
    keys, settings and, where an engine has them, its servers and workflows)."""
    from tds.engines.diffusion.engine import DiffusionEngine

    if isinstance(engine, DiffusionEngine):
        return _diffusion(section, engine.config, machine)
    if name == "comfyui" or getattr(engine, "name", "") == "comfyui":
        return _comfyui(section, engine)
    try:
        engine.setup()
    except Exception as error:
        return [_message(error)]
    return []


def _diffusion(section: Section, config: DiffusionConfig, machine: Machine) -> list[str]:
    from tds.cli.model_files import check, hub_cache, wanted
    from tds.cli.models import describe

    problems = []
    if machine.torch is None or machine.torch_error:
        problems.append(f"needs torch and diffusers: {GPU_EXTRA}")
    elif machine.packages.get("diffusers") is None:
        problems.append(f"needs diffusers: {GPU_EXTRA}")
    if config.device == "cpu":
        section.add(
            "warn", "diffusion runs on the CPU (TDS_DIFFUSION_DEVICE=cpu): minutes a render"
        )
    elif not machine.gpus:
        why = CUDA_TORCH if machine.torch and machine.torch_cuda is None else "no CUDA GPU visible"
        problems.append(f"needs a CUDA GPU (TDS_DIFFUSION_DEVICE={config.device}): {why}")
    elif config.device[5:].isdigit() and int(config.device[5:]) >= len(machine.gpus):
        problems.append(f"TDS_DIFFUSION_DEVICE={config.device}: only {len(machine.gpus)} GPU(s)")
    cache = hub_cache(config)
    reports = [check(model, cache, "quick") for model in wanted(config)]
    for report in reports:
        if report.ok:
            section.add("ok", "diffusion model " + describe(report).removeprefix("ok").strip())
        else:
            problems.append(describe(report).split(maxsplit=1)[1])
    need = _vram(config)
    if machine.gpus and need:
        best = max(machine.gpus, key=lambda gpu: gpu.free)
        section.add(
            "--", f"GPU memory the models need: {need}; {_gb(best.free)} free on {best.name}"
        )
    if not problems:
        section.add("--", "weights load when the server starts: `tds models check --load` tries it")
    return problems


def _vram(config: DiffusionConfig) -> str:
    """The recipes' estimates for the models configured (those that come from a recipe)."""
    from tds.cli.model_files import wanted
    from tds.engines.diffusion.recipes import RECIPES

    values = {(m.setting, m.value) for m in wanted(config)}
    used = [
        r for r in RECIPES if all((repo.setting, repo.setting_value) in values for repo in r.repos)
    ]
    return ", ".join(f"{r.name} {r.vram}" for r in used)


def _comfyui(section: Section, engine: Engine) -> list[str]:
    """Each ComfyUI server answers (GET /prompt), and knows every node class and every file
    (checkpoint, LoRA, …) the workflows name (GET /object_info), as its /prompt would check.
    Made, the engine has already read and checked the workflow files themselves."""
    import httpx

    config: Any = getattr(engine, "config", None)
    urls: list[str] = list(getattr(config, "urls", []))
    flows: list[Any] = list(getattr(engine, "workflows", {}).values())
    timeout = min(10.0, float(getattr(config, "request_timeout_seconds", 10.0)))
    problems = []
    for url in urls:
        try:
            with httpx.Client(base_url=url, timeout=timeout, follow_redirects=False) as http:
                queue = http.get("/prompt")
                queue.raise_for_status()
                waiting = int(queue.json()["exec_info"]["queue_remaining"])
                info = http.get("/object_info")
                nodes = info.json() if info.status_code == 200 else None
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
            problems.append(f"ComfyUI at {url} does not answer GET /prompt: {_message(error)}")
            continue
        section.add("ok", f"ComfyUI at {url} answers, {waiting} prompts queued")
        if not isinstance(nodes, dict):
            section.add("warn", f"ComfyUI at {url}: no /object_info, workflows not checked on it")
            continue
        for flow in flows:
            found = workflow_problems(flow, nodes)
            problems += [f"{url}: {flow.name}: {problem}" for problem in found]
            if not found:
                section.add("ok", f"ComfyUI at {url} has every node and file {flow.name} uses")
    return problems


def workflow_problems(flow: Any, nodes: dict[str, Any]) -> list[str]:
    """What a server lacks for one workflow: node classes, and choices (model files) of the
    inputs tds does not set."""
    bound = {(t.node, t.input) for targets in flow.targets.values() for t in targets}
    problems = []
    for node, spec in flow.graph.items():
        cls = spec.get("class_type")
        known = nodes.get(cls)
        if not isinstance(known, dict):
            problems.append(f"node {node} ({cls}) is not installed on this server")
            continue
        wanted = {
            **known.get("input", {}).get("required", {}),
            **known.get("input", {}).get("optional", {}),
        }
        for key, value in spec.get("inputs", {}).items():
            choices = _choices(wanted.get(key))
            if (node, key) in bound or choices is None or not isinstance(value, str):
                continue
            if value not in choices:
                problems.append(f'node {node} ({cls}): {key} "{value}" is not on this server')
    return problems


def _choices(spec: Any) -> list[str] | None:
    """A combo input's choices in /object_info: [[choice, …], {…}], or ["COMBO", {"options"}]."""
    if not isinstance(spec, list) or not spec:
        return None
    if isinstance(spec[0], list):
        return [str(choice) for choice in spec[0]]
    if spec[0] == "COMBO" and len(spec) > 1 and isinstance(spec[1], dict):
        return [str(choice) for choice in spec[1].get("options", [])]
    return None


# -- database, storage, broker ---------------------------------------------------------------


def _database(section: Section, settings: Settings) -> None:
    from sqlalchemy.engine import make_url

    url = settings.sqlalchemy_url
    shown = make_url(url).render_as_string(hide_password=True)
    if url.startswith("sqlite"):
        _sqlite(section, settings, shown)
        return
    answer = _attempt(lambda: _select_one(url))
    if answer:
        section.add("FAIL", f"{shown} does not answer: {answer}")
    else:
        section.add("ok", f"{shown} answers")


def _select_one(url: str) -> None:
    import sqlalchemy

    options = {"connect_timeout": 5} if url.startswith("postgresql") else {}
    engine = sqlalchemy.create_engine(url, connect_args=options)
    try:
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text("SELECT 1"))
    finally:
        engine.dispose()


def _sqlite(section: Section, settings: Settings, shown: str) -> None:
    """Read-only: a missing file is made at start-up, when its folder can be written."""
    import os
    import sqlite3

    path = settings.sqlalchemy_url.removeprefix("sqlite:///")
    if os.path.exists(path):

        def read() -> None:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
                db.execute("SELECT count(*) FROM sqlite_master").fetchone()

        answer = _attempt(read)
        section.add("FAIL" if answer else "ok", f"{shown}{': ' + answer if answer else ''}")
        return
    folder = _first_existing(os.path.dirname(path))
    if os.access(folder, os.W_OK):
        section.add("ok", f"{shown} (made at first start)")
    else:
        section.add("FAIL", f"{shown}: cannot be made, {folder} is not writable")


def _first_existing(path: str) -> str:
    import os

    while path and not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path or "."


def _storage(section: Section, settings: Settings) -> None:
    import os

    if settings.storage == "local":
        folder = str(settings.files_dir)
        target = folder if os.path.exists(folder) else _first_existing(folder)
        if os.access(target, os.W_OK):
            section.add("ok", f"local folder {folder}")
        else:
            section.add("FAIL", f"local folder {folder}: {target} is not writable")
        return
    from tds.storage import open_storage

    def opened() -> None:
        open_storage(settings).close()

    answer = _attempt(opened)
    bucket = f"s3 bucket {settings.s3_bucket} at {settings.s3_endpoint_url or 'AWS'}"
    section.add("FAIL" if answer else "ok", f"{bucket}{': ' + answer if answer else ' answers'}")


def _broker(section: Section, settings: Settings) -> None:
    if not settings.broker_url:
        section.add("--", "none (TDS_BROKER_URL unset): renders run in the server's own workers")
        return
    from urllib.parse import urlsplit

    from tds.dispatch.signals import connect

    where = urlsplit(settings.broker_url)
    shown = f"{where.scheme}://{where.hostname}:{where.port or 6379}{where.path}"  # no password

    def ping() -> None:
        client = connect(settings.broker_url or "")
        try:
            client.ping()
        finally:
            client.close()

    answer = _attempt(ping)
    section.add("FAIL" if answer else "ok", f"{shown}{': ' + answer if answer else ' answers'}")


def _attempt(action: Callable[[], None]) -> str:
    """ "" when `action` succeeds, else why not in one line."""
    try:
        action()
    except Exception as error:  # any failure to answer is the finding
        return _message(error).splitlines()[0]
    return ""
