"""`tds login|me|styles|render|get|list|cancel`: the API from a shell, through tds.client only.

Nothing here imports server code, so these commands work against any tds server. Results go to
stdout (one JSON document with --json), progress and errors to stderr; a command exits 1 when
the API said no or anything in a batch failed, 2 on a usage error.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from tds.client import (
    DEFAULT_BASE_URL,
    Client,
    InvalidApiKey,
    InvalidRequest,
    KindUnavailable,
    ModelFailed,
    PlanLimit,
    Render,
    TdsConnectionError,
    TdsError,
    save_config,
)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
KINDS = ("render", "refine", "enhance", "staging", "video")
RESOLUTIONS = ("1k", "2k", "4k")
# Fields whose bad value fails every file of a batch alike: stop sending the rest.
OPTION_PARAMS = frozenset(
    {
        "kind",
        "scene_type",
        "architectural_style",
        "lighting",
        "resolution",
        "input_type",
        "seed",
        "geometry_fidelity",
        "strength",
        "prompt",
        "negative_prompt",
    }
)

ApiKey = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        help="API key. Default: $TDS_API_KEY, then the one `tds login` stored.",
        show_default=False,
    ),
]
BaseUrl = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        help="Server URL. Default: $TDS_BASE_URL, then the one `tds login` stored, then "
        "http://localhost:8000.",
        show_default=False,
    ),
]
Json = Annotated[
    bool, typer.Option("--json", help="Print one JSON document on stdout, for scripts.")
]


# -- output -------------------------------------------------------------------------------------


def _out(text: str = "") -> None:
    typer.echo(text)


def _err(text: str) -> None:
    typer.echo(text, err=True)


def _dump(document: Any) -> None:
    typer.echo(json.dumps(document, indent=2, ensure_ascii=False))


def _hint(error: TdsError, base_url: str | None) -> str:
    if isinstance(error, InvalidApiKey):
        return " Run `tds login`, set TDS_API_KEY or pass --api-key."
    if isinstance(error, TdsConnectionError):
        return f" Is the server running at {base_url}? Set it with --base-url or `tds login`."
    return ""


def _fail(error: TdsError, as_json: bool, base_url: str | None = None) -> NoReturn:
    if as_json:
        detail = {"code": error.code, "message": error.message, "status": error.status}
        if error.param:
            detail["param"] = error.param
        _dump({"error": detail})
    _err(f"error: {error.message} ({error.code}){_hint(error, base_url)}")
    raise typer.Exit(1)


def _connect(
    api_key: str | None, base_url: str | None, as_json: bool, *, repair: bool = False
) -> Client:
    try:
        try:
            return Client(api_key=api_key, base_url=base_url, source="cli")
        except TdsError as error:
            if not (repair and error.code == "invalid_config"):
                raise
            # `tds login` replaces an unreadable config file rather than tripping over it.
            return Client(api_key=api_key, base_url=base_url or DEFAULT_BASE_URL, source="cli")
    except ValueError as error:  # a malformed --base-url
        raise typer.BadParameter(str(error), param_hint="--base-url") from None
    except TdsError as error:
        _fail(error, as_json, base_url)


@contextlib.contextmanager
def _api(
    api_key: str | None, base_url: str | None, as_json: bool, *, repair: bool = False
) -> Iterator[Client]:
    """A client for the command; API errors end it with exit status 1."""
    client = _connect(api_key, base_url, as_json, repair=repair)
    try:
        yield client
    except TdsError as error:
        _fail(error, as_json, client.base_url)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = [headers, *rows]
    return "\n".join(
        "  ".join(cell.ljust(w) for w, cell in zip(widths, line, strict=True)).rstrip()
        for line in lines
    )


def _size(render: Render) -> str:
    return f"{render.resolution} {render.width}×{render.height}"


def _describe(render: Render) -> list[str]:
    lines = [
        f"{render.id}  {render.status}  {render.kind} {_size(render)}  "
        f"cost {render.cost}, spent {render.credits_used}"
    ]
    if render.output_image_url:
        lines.append(f"image  {render.output_image_url}")
    if render.output_video_url:
        lines.append(f"video  {render.output_video_url}")
    if render.error:
        lines.append(f"error  {render.error.code}: {render.error.message}")
    if render.status in ("queued", "processing"):
        done = f"{render.progress.fraction:.0%}" if render.progress else "0%"
        queue = f", position {render.queue_position} in the queue" if render.queue_position else ""
        lines.append(f"progress  {done}{queue}")
    for warning in render.warnings:
        lines.append(f"warning  {warning}")
    return lines


# -- login, me, styles --------------------------------------------------------------------------


def login(
    api_key: Annotated[
        str | None,
        typer.Option("--api-key", help="The key; asked for (hidden) when not given."),
    ] = None,
    base_url: BaseUrl = None,
    as_json: Json = False,
) -> None:
    """Check an API key and store it with the server URL in your user config (mode 600).

    Later commands, and Client() in Python, use the stored key and URL when neither
    --api-key/--base-url nor TDS_API_KEY/TDS_BASE_URL say otherwise. The file is
    $TDS_CONFIG, else ~/.config/tds/config.json.

    Examples:

      tds login --base-url http://localhost:8000       (asks for the key)

      echo "$KEY" | tds login --base-url https://render.example.com
    """
    if api_key is None:
        # Piped (`echo "$KEY" | tds login`): read it; typed: ask without echoing it.
        piped = not sys.stdin.isatty()
        api_key = (
            sys.stdin.readline() if piped else typer.prompt("API key", hide_input=True, err=True)
        )
    key = api_key.strip()
    if not key:
        raise typer.BadParameter("no API key given", param_hint="--api-key")
    with _api(key, base_url, as_json, repair=True) as client:
        account = client.me()
        path = save_config(key, client.base_url)
    if as_json:
        _dump({"base_url": client.base_url, "config": str(path), "account": account.raw})
        return
    _out(
        f"Logged in to {client.base_url} as {account.email} ({account.plan.name} plan, "
        f"{account.credits} credits). Saved to {path}."
    )


def me(api_key: ApiKey = None, base_url: BaseUrl = None, as_json: Json = False) -> None:
    """Your account: plan, credits available and credits held by renders in flight.

    Example: tds me --json | jq .credits
    """
    with _api(api_key, base_url, as_json) as client:
        account = client.me()
    if as_json:
        _dump(account.raw)
        return
    plan = account.plan
    _out(f"{account.email}  ({account.id})")
    _out(
        f"plan     {plan.name}: up to {plan.max_resolution}, {plan.max_in_flight} at once, "
        f"{plan.monthly_credits} credits a month; kinds {', '.join(plan.kinds)}"
    )
    _out(f"credits  {account.credits} available, {account.credits_held} held")
    _out(f"server   {client.base_url}")


def styles(api_key: ApiKey = None, base_url: BaseUrl = None, as_json: Json = False) -> None:
    """What a render can ask for on this server, and what each kind costs.

    Options are accepted by id or name in any case: "Golden Hour" = golden_hour.

    Example: tds styles --json | jq -r '.architectural_styles[].name'
    """
    with _api(api_key, base_url, as_json) as client:
        catalogue = client.styles()
    if as_json:
        _dump(catalogue.raw)
        return
    for engine in catalogue.engines:
        _out(f"engine  {engine.name}: {engine.description}")
    _out()
    resolutions = [r.id for r in catalogue.resolutions]
    rows = [
        [k.id, k.engine or "-", *(str(k.costs.get(r, "")) for r in resolutions)]
        for k in catalogue.kinds
    ]
    _out(_table(["KIND", "ENGINE", *(f"{r.upper()} CREDITS" for r in resolutions)], rows))
    for title, options in (
        ("scene types (--scene)", catalogue.scene_types),
        ("styles (--style)", catalogue.architectural_styles),
        ("lighting (--lighting)", catalogue.lighting),
        ("input types (--input-type)", catalogue.input_types),
    ):
        _out()
        _out(title)
        _out(
            _table(
                ["  ID", "NAME", "DESCRIPTION"],
                [[f"  {o.id}", o.name, o.description] for o in options],
            )
        )


# -- render -------------------------------------------------------------------------------------


@dataclass
class Job:
    label: str  # as shown: the path as given, the URL or the render id
    image: Path | None = None
    image_url: str | None = None
    render_id: str | None = None
    folder: str = ""  # where a recursive folder search found it, relative to that folder
    name: str = ""  # output path under OUT without suffix: "[<folder>/]<stem>.<kind>"


_RENDER_ID = re.compile(r"^rnd_[A-Za-z0-9]+$")


def _is_image(path: Path) -> bool:
    return (
        path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")
    )


def _expand(sources: Sequence[str], recursive: bool) -> list[Job]:
    """Files, folders (their images), globs, URLs and render ids → jobs, in order, once each."""
    jobs: list[Job] = []
    seen: set[str] = set()

    def add(job: Job, identity: str) -> None:
        if identity not in seen:
            seen.add(identity)
            jobs.append(job)

    for source in sources:
        path = Path(source).expanduser()
        if source.startswith(("http://", "https://")):
            add(Job(source, image_url=source), source)
        elif path.is_dir():
            found = sorted(path.rglob("*") if recursive else path.iterdir())
            for file in (f for f in found if _is_image(f)):
                folder = file.parent.relative_to(path).as_posix()
                job = Job(str(file), image=file, folder="" if folder == "." else folder)
                add(job, str(file.resolve()))
        elif path.is_file():
            add(Job(source, image=path), str(path.resolve()))
        elif _RENDER_ID.match(source):
            add(Job(source, render_id=source), source)
        elif glob.has_magic(source):
            matches = sorted(glob.glob(os.path.expanduser(source), recursive=recursive))
            for file in (Path(m) for m in matches if _is_image(Path(m))):
                add(Job(str(file), image=file), str(file.resolve()))
        else:
            raise typer.BadParameter(f"no such file or folder: {source}", param_hint="PATH")
    if not jobs:
        raise typer.BadParameter(
            f"no images (PNG, JPEG, WebP) in {', '.join(sources)}", param_hint="PATH"
        )
    return jobs


def _name(jobs: list[Job], kind: str) -> None:
    """Outputs named after inputs, `<stem>.<kind>`, in the sub-folders a recursive search
    found them in; a repeated name gets -2, -3, …"""
    taken: dict[str, int] = {}
    for job in jobs:
        if job.image is not None:
            stem = job.image.stem
        elif job.image_url is not None:
            stem = Path(job.image_url.split("?", 1)[0].rstrip("/")).stem or "image"
        else:
            stem = job.render_id or "render"
        if job.folder:
            stem = f"{job.folder}/{stem}"
        count = taken.get(stem.lower(), 0) + 1  # lower: Windows and macOS ignore case
        taken[stem.lower()] = count
        job.name = f"{stem if count == 1 else f'{stem}-{count}'}.{kind}"


class _Bar:
    """One progress bar for the batch on stderr: rich's where it is installed, else text.

    In-flight renders count by their progress, so the bar moves during long renders too.
    """

    def __init__(self, total: int, enabled: bool) -> None:
        self.total = total
        self.enabled = enabled
        self.finished = 0
        self.partial: dict[int, float] = {}
        self.lock = threading.Lock()
        self._rich: Any = None
        self._task: Any = None
        if not enabled:
            return
        try:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
        except ImportError:  # pragma: no cover - typer ships rich
            return
        self._rich = Progress(
            TextColumn("[bold]rendering"),
            BarColumn(),
            TextColumn("{task.fields[count]}"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        self._task = self._rich.add_task("render", total=total, count=f"0/{total}")
        self._rich.start()

    def _draw(self) -> None:
        completed = self.finished + sum(self.partial.values())
        if self._rich is not None:
            count = f"{self.finished}/{self.total}"
            self._rich.update(self._task, completed=completed, count=count)
        elif self.enabled:
            width = 30
            filled = int(width * completed / max(1, self.total))
            sys.stderr.write(
                f"\r[{'#' * filled}{' ' * (width - filled)}] {self.finished}/{self.total}"
            )
            sys.stderr.flush()

    def progress(self, index: int, fraction: float) -> None:
        with self.lock:
            self.partial[index] = min(fraction, 0.99)
            self._draw()

    def done(self, index: int, line: str) -> None:
        with self.lock:
            self.partial.pop(index, None)
            self.finished += 1
            if self._rich is not None:
                self._rich.console.print(line, markup=False, highlight=False)
            elif self.enabled:
                sys.stderr.write("\r" + line.ljust(50) + "\n")
            self._draw()

    def close(self) -> None:
        if self._rich is not None:
            self._rich.stop()
        elif self.enabled:
            sys.stderr.write("\n")


def _failure(code: str, message: str, **fields: Any) -> dict[str, Any]:
    return {"status": "failed", "error": {"code": code, "message": message}, **fields}


def _batch_fatal(error: TdsError) -> bool:
    """An answer every other file of the batch would get too."""
    if isinstance(error, (InvalidApiKey, PlanLimit, KindUnavailable)):
        return True
    return type(error) is InvalidRequest and error.param in OPTION_PARAMS


def _run_job(
    client: Client,
    job: Job,
    options: dict[str, Any],
    out_dir: Path,
    on_progress: Callable[[Render], object],
) -> dict[str, Any]:
    """Render one input and save its output; the result row, never an exception."""
    render: Render | None = None
    try:
        render = client.render(
            job.image,
            image_url=job.image_url,
            render_id=job.render_id,
            on_progress=on_progress,
            **options,
        )
        if render.status != "done":
            return _failure(render.status, f"the render was {render.status}", render_id=render.id)
        row: dict[str, Any] = {
            "status": "done",
            "render_id": render.id,
            "credits": render.credits_used,
        }
        row["output"] = str(client.download(render, out_dir / f"{job.name}.jpg"))
        if render.output_video_url:
            row["video"] = str(client.download(render, out_dir / f"{job.name}.mp4", video=True))
        if render.warnings:
            row["warnings"] = render.warnings
        return row
    except ModelFailed as error:
        return _failure(error.code, error.message, render_id=error.render_id)
    except TdsError as error:
        if render is not None:  # rendered and charged, but the file did not arrive
            return _failure(
                error.code,
                f"rendered as {render.id} but the download failed ({error.message}); "
                f"save it with `tds get {render.id} -o {out_dir}`",
                render_id=render.id,
                credits=render.credits_used,
            )
        return _failure(error.code, error.message, fatal=_batch_fatal(error))
    except OSError as error:
        reason = f"{error.strerror or error}: {error.filename}" if error.filename else str(error)
        if render is None:
            return _failure("unreadable", reason)
        return _failure(
            "unwritable",
            f"rendered as {render.id} but not saved ({reason})",
            render_id=render.id,
            credits=render.credits_used,
        )


def render(
    paths: Annotated[
        list[str],
        typer.Argument(
            help="Images, folders (their PNG, JPEG and WebP files), globs, image URLs, or "
            "render ids (rnd_…) for refine, enhance and video.",
            show_default=False,
        ),
    ],
    kind: Annotated[
        str, typer.Option(help="render, refine, enhance, staging or video.")
    ] = "render",
    scene: Annotated[str | None, typer.Option(help="Scene type (see `tds styles`).")] = None,
    style: Annotated[str | None, typer.Option(help="Architectural style, e.g. Modern.")] = None,
    lighting: Annotated[str | None, typer.Option(help="Lighting, e.g. 'Golden Hour'.")] = None,
    resolution: Annotated[
        str | None, typer.Option(help="1k, 2k or 4k (long edge). Default: 2k.")
    ] = None,
    prompt: Annotated[str | None, typer.Option(help="What to add or change.")] = None,
    negative_prompt: Annotated[str | None, typer.Option(help="What to avoid.")] = None,
    seed: Annotated[
        int | None, typer.Option(min=0, help="Same seed and inputs give the same output.")
    ] = None,
    input_type: Annotated[str | None, typer.Option(help="viewport, sketch or photo.")] = None,
    out: Annotated[
        Path, typer.Option("-o", "--out", help="Folder for the outputs (made if missing).")
    ] = Path("."),
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Renders in flight at once.")] = 4,
    recursive: Annotated[bool, typer.Option(help="Look into sub-folders too.")] = False,
    skip_existing: Annotated[
        bool, typer.Option(help="Skip inputs whose output file is already there (re-runs).")
    ] = False,
    progress: Annotated[
        bool | None,
        typer.Option(
            help="Progress bar on stderr. Default: when stderr is a terminal.", show_default=False
        ),
    ] = None,
    api_key: ApiKey = None,
    base_url: BaseUrl = None,
    as_json: Json = False,
) -> None:
    """Render images, folders or globs; save each output as OUT/<input name>.<kind>.jpg.

    Renders run --concurrency at a time. A retry after a network error or a server hiccup is
    never charged twice. At the end a table shows each file's status, credits and output or
    reason; the exit status is 1 when anything failed (re-run with --skip-existing to retry
    only those).

    Examples:

      tds render captures/ --style Modern --lighting "Golden Hour" -o renders/

      tds render 'shots/*.png' --resolution 4k --concurrency 8 --json > results.json

      tds render rnd_8fK2mQ7xLp3NcV9bR1sT --kind refine --prompt "more trees" -o renders/
    """
    if kind not in KINDS:
        raise typer.BadParameter(f"choose one of {', '.join(KINDS)}", param_hint="--kind")
    if resolution is not None and resolution.lower() not in RESOLUTIONS:
        raise typer.BadParameter(
            f"choose one of {', '.join(RESOLUTIONS)}", param_hint="--resolution"
        )
    jobs = _expand(paths, recursive)
    _name(jobs, kind)
    options: dict[str, Any] = {
        "kind": kind,
        "scene_type": scene,
        "architectural_style": style,
        "lighting": lighting,
        "resolution": resolution.lower() if resolution else None,
        "prompt": prompt,
        "negative_prompt": negative_prompt,
        "seed": seed,
        "input_type": input_type,
    }
    with _api(api_key, base_url, as_json) as client:
        client.me()  # a wrong key or URL stops here, before anything is read or sent
    out.mkdir(parents=True, exist_ok=True)
    show_bar = progress if progress is not None else (not as_json and sys.stderr.isatty())
    results = _run_batch(
        client, jobs, options, out, concurrency, show_bar, skip_existing, log=not as_json
    )
    _report(client, results, as_json)


def _run_batch(
    client: Client,
    jobs: list[Job],
    options: dict[str, Any],
    out: Path,
    concurrency: int,
    show_bar: bool,
    skip_existing: bool,
    *,
    log: bool,
) -> list[dict[str, Any]]:
    results: list[dict[str, Any] | None] = [None] * len(jobs)
    stop = threading.Event()
    stop_reason: dict[str, Any] = {}
    bar = _Bar(len(jobs), show_bar)
    finished = [0]
    lock = threading.Lock()

    def work(index: int) -> None:
        job = jobs[index]
        existing = out / f"{job.name}.jpg"
        if stop.is_set():
            reason = stop_reason["error"]
            row = _failure(reason["code"], f"not sent: {reason['message']}")
        elif skip_existing and existing.exists():
            row = {"status": "skipped", "output": str(existing)}
        else:
            row = _run_job(client, job, options, out, lambda r: bar.progress(index, _fraction(r)))
            if row.pop("fatal", False) and not stop.is_set():
                stop_reason["error"] = row["error"]
                stop.set()
        row = {"input": job.label, **row}
        row.setdefault("credits", 0)
        with lock:
            results[index] = row
            finished[0] += 1
            line = _line(row, finished[0], len(jobs))
            if show_bar:
                bar.done(index, line)
            elif log:
                _err(line)

    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="tds-render")
    try:
        for future in [pool.submit(work, i) for i in range(len(jobs))]:
            future.result()
    except KeyboardInterrupt:
        pool.shutdown(wait=False, cancel_futures=True)
        bar.close()
        _err(
            "interrupted: nothing more is sent; the renders in flight finish and are saved "
            "first (Ctrl-C again leaves them to the server: see `tds list`)."
        )
        raise typer.Exit(130) from None
    pool.shutdown()
    bar.close()
    return [r for r in results if r is not None]


def _fraction(render: Render) -> float:
    if render.finished:
        return 0.99
    return 0.05 + 0.9 * render.progress.fraction if render.progress else 0.0


def _line(row: dict[str, Any], count: int, total: int) -> str:
    head = f"[{count}/{total}] {row['status']:<7} {row['input']}"
    if row["status"] == "done":
        video = f" + {row['video']}" if row.get("video") else ""
        return f"{head} -> {row['output']}{video} ({row['credits']} credits)"
    if row["status"] == "skipped":
        return f"{head} ({row['output']} exists)"
    return f"{head}: {row['error']['code']}: {row['error']['message']}"


def _report(client: Client, results: list[dict[str, Any]], as_json: bool) -> None:
    counts = {s: sum(r["status"] == s for r in results) for s in ("done", "failed", "skipped")}
    spent = sum(r["credits"] for r in results)
    try:
        left: int | None = client.me().credits
    except TdsError:
        left = None
    if as_json:
        _dump({"results": results, **counts, "credits_spent": spent, "credits_left": left})
    else:
        rows = []
        for r in results:
            if r["status"] == "failed":
                detail = f"{r['error']['code']}: {r['error']['message']}"
            else:
                detail = r["output"] + (f" + {r['video']}" if r.get("video") else "")
            rows.append([r["input"], r["status"], str(r["credits"]), detail])
        _out(_table(["FILE", "STATUS", "CREDITS", "OUTPUT / REASON"], rows))
        _out()
        summary = f"{counts['done']} done, {counts['failed']} failed"
        if counts["skipped"]:
            summary += f", {counts['skipped']} skipped"
        summary += f"; {spent} credits spent"
        if left is not None:
            summary += f", {left} left"
        _out(summary + ".")
    if counts["failed"]:
        raise typer.Exit(1)


# -- get, list, cancel --------------------------------------------------------------------------


def get(
    render_id: Annotated[str, typer.Argument(help="The render's id (rnd_…).", show_default=False)],
    out: Annotated[
        str | None,
        typer.Option(
            "-o",
            "--out",
            help="Save the output: a file (.mp4 for a video's film), or a folder for "
            "<id>.jpg (and <id>.mp4).",
            show_default=False,
        ),
    ] = None,
    wait: Annotated[bool, typer.Option(help="Wait until the render has finished.")] = False,
    api_key: ApiKey = None,
    base_url: BaseUrl = None,
    as_json: Json = False,
) -> None:
    """Show one of your renders, and save its output with -o.

    Examples:

      tds get rnd_8fK2mQ7xLp3NcV9bR1sT

      tds get rnd_8fK2mQ7xLp3NcV9bR1sT --wait -o renders/
    """
    files: list[str] = []
    with _api(api_key, base_url, as_json) as client:
        current = client.wait(render_id) if wait else client.get_render(render_id)
        if out is not None:
            target = Path(out).expanduser()
            if target.is_dir() or out.endswith(("/", os.sep)):  # a folder, maybe still to make
                target.mkdir(parents=True, exist_ok=True)
                files.append(str(client.download(current, target / f"{current.id}.jpg")))
                if current.output_video_url:
                    video = target / f"{current.id}.mp4"
                    files.append(str(client.download(current, video, video=True)))
            else:
                is_video = target.suffix.lower() == ".mp4"
                files.append(str(client.download(current, target, video=is_video)))
    if as_json:
        _dump({"render": current.raw, "credits": current.balance, "files": files})
        return
    for line in _describe(current):
        _out(line)
    for file in files:
        _out(f"saved  {file}")


def list_(
    limit: Annotated[int, typer.Option(min=1, max=100, help="How many.")] = 10,
    starting_after: Annotated[
        str | None,
        typer.Option(
            help="The last id of the previous page, for the next one.", show_default=False
        ),
    ] = None,
    api_key: ApiKey = None,
    base_url: BaseUrl = None,
    as_json: Json = False,
) -> None:
    """List your renders, newest first.

    Example: tds list --limit 50 --json | jq -r '.data[] | select(.status=="done") | .id'
    """
    with _api(api_key, base_url, as_json) as client:
        page = client.list_renders(limit=limit, starting_after=starting_after)
    if as_json:
        _dump(page.raw)
        return
    rows = [
        [
            r.id,
            r.status,
            r.kind,
            _size(r),
            str(r.credits_used),
            r.created_at.strftime("%Y-%m-%d %H:%M") if r.created_at else "",
            r.output_image_url or (r.error.message if r.error else ""),
        ]
        for r in page
    ]
    _out(_table(["ID", "STATUS", "KIND", "SIZE", "CREDITS", "CREATED", "OUTPUT"], rows))
    if page.has_more and page.data:
        _out(f"\nmore: tds list --starting-after {page.data[-1].id}")


def cancel(
    render_id: Annotated[str, typer.Argument(help="The render's id (rnd_…).", show_default=False)],
    api_key: ApiKey = None,
    base_url: BaseUrl = None,
    as_json: Json = False,
) -> None:
    """Stop a render in flight; its credits are released in full.

    Example: tds cancel rnd_8fK2mQ7xLp3NcV9bR1sT
    """
    with _api(api_key, base_url, as_json) as client:
        current = client.cancel(render_id)
    if as_json:
        _dump({"render": current.raw, "credits": current.balance})
        return
    _out(f"canceled {current.id}; {current.cost} credits released, {current.balance} available")


def register(app: typer.Typer) -> None:
    """Add the commands to the `tds` app."""
    for name, command in (
        ("login", login),
        ("me", me),
        ("styles", styles),
        ("render", render),
        ("get", get),
        ("list", list_),
        ("cancel", cancel),
    ):
        app.command(name)(command)
