"""The batch behind `tds render`: every input rendered and saved, --concurrency at a time.

Each input ends as one result, never an exception: a bad file fails alone, while an answer
every file would get (a bad option, the plan's limit) stops sending the rest.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import typer

from tds.cli.naming import Job
from tds.cli.output import err
from tds.cli.progress import ProgressBar
from tds.cli.results import Done, Failed, JobError, JobResult, Skipped, line
from tds.client import (
    Client,
    InvalidApiKey,
    InvalidRequest,
    KindUnavailable,
    ModelFailed,
    PlanLimit,
    Render,
    TdsError,
)

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
        "project",
    }
)


@dataclass(frozen=True)
class RenderOptions:
    """What every render of the batch asks for; None leaves it to the server's default."""

    kind: str
    scene_type: str | None = None
    architectural_style: str | None = None
    lighting: str | None = None
    resolution: str | None = None
    prompt: str | None = None
    negative_prompt: str | None = None
    seed: int | None = None
    input_type: str | None = None
    project: str | None = None


def _fatal(error: TdsError) -> bool:
    """An answer every other file of the batch would get too."""
    if isinstance(error, (InvalidApiKey, PlanLimit, KindUnavailable)):
        return True
    return type(error) is InvalidRequest and error.param in OPTION_PARAMS


def run_job(
    client: Client,
    job: Job,
    options: RenderOptions,
    out_dir: Path,
    on_progress: Callable[[Render], object],
) -> JobResult:
    """Render one input and save its output."""
    source = job.source
    render: Render | None = None
    try:
        render = client.render(
            source.image,
            image_url=source.image_url,
            render_id=source.render_id,
            on_progress=on_progress,
            kind=options.kind,
            scene_type=options.scene_type,
            architectural_style=options.architectural_style,
            lighting=options.lighting,
            resolution=options.resolution,
            prompt=options.prompt,
            negative_prompt=options.negative_prompt,
            seed=options.seed,
            input_type=options.input_type,
            project=options.project,
        )
        if render.status != "done":
            error = JobError(render.status, f"the render was {render.status}")
            return Failed(source.label, error, rendered=True, render_id=render.id)
        output = str(client.download(render, out_dir / f"{job.name}.jpg"))
        video = None
        if render.output_video_url:
            video = str(client.download(render, out_dir / f"{job.name}.mp4", video=True))
        return Done(
            source.label, render.id, render.credits_used, output, video, tuple(render.warnings)
        )
    except ModelFailed as error:
        failure = JobError(error.code, error.message)
        return Failed(source.label, failure, rendered=True, render_id=error.render_id)
    except TdsError as error:
        if render is None:
            return Failed(source.label, JobError(error.code, error.message), fatal=_fatal(error))
        # Rendered and charged, but the file did not arrive.
        message = (
            f"rendered as {render.id} but the download failed ({error.message}); "
            f"save it with `tds get {render.id} -o {out_dir}`"
        )
        return Failed(
            source.label,
            JobError(error.code, message),
            rendered=True,
            render_id=render.id,
            credits=render.credits_used,
        )
    except OSError as error:
        reason = f"{error.strerror or error}: {error.filename}" if error.filename else str(error)
        if render is None:
            return Failed(source.label, JobError("unreadable", reason))
        return Failed(
            source.label,
            JobError("unwritable", f"rendered as {render.id} but not saved ({reason})"),
            rendered=True,
            render_id=render.id,
            credits=render.credits_used,
        )


def run_batch(
    client: Client,
    jobs: list[Job],
    options: RenderOptions,
    out: Path,
    concurrency: int,
    show_bar: bool,
    skip_existing: bool,
    *,
    log: bool,
) -> tuple[JobResult, ...]:
    """Every job's result, in the order of `jobs`; a line on stderr as each one finishes."""
    results: list[JobResult | None] = [None] * len(jobs)
    stop = threading.Event()
    stop_reason: list[JobError] = []  # the fatal answer, written once before `stop` is set
    bar = ProgressBar(len(jobs)) if show_bar else None
    finished = 0
    lock = threading.Lock()

    def on_progress(index: int, render: Render) -> None:
        if bar is not None:
            bar.progress(index, render)

    def work(index: int) -> None:
        nonlocal finished
        job = jobs[index]
        existing = out / f"{job.name}.jpg"
        result: JobResult
        if stop.is_set():
            reason = stop_reason[0]
            result = Failed(job.source.label, JobError(reason.code, f"not sent: {reason.message}"))
        elif skip_existing and existing.exists():
            result = Skipped(job.source.label, str(existing))
        else:
            # A callback even without a bar: the client polls on the same schedule either way.
            result = run_job(client, job, options, out, lambda r: on_progress(index, r))
            if isinstance(result, Failed) and result.fatal and not stop.is_set():
                stop_reason.append(result.error)
                stop.set()
        with lock:
            results[index] = result
            finished += 1
            text = line(result, finished, len(jobs))
            if bar is not None:
                bar.done(index, text)
            elif log:
                err(text)

    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="tds-render")
    try:
        for future in [pool.submit(work, i) for i in range(len(jobs))]:
            future.result()
    except KeyboardInterrupt:
        pool.shutdown(wait=False, cancel_futures=True)
        if bar is not None:
            bar.close()
        err(
            "interrupted: nothing more is sent; the renders in flight finish and are saved "
            "first (Ctrl-C again leaves them to the server: see `tds list`)."
        )
        raise typer.Exit(130) from None
    pool.shutdown()
    if bar is not None:
        bar.close()
    return tuple(r for r in results if r is not None)
