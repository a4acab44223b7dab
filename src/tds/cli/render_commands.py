"""`tds render|get|list|cancel`: renders from a shell.

Results go to stdout (one JSON document with --json), progress and errors to stderr; a command
exits 1 when the API said no or anything in a batch failed, 2 on a usage error.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from tds.cli.batch import RenderOptions, run_batch
from tds.cli.connection import ApiKey, BaseUrl, api
from tds.cli.naming import expand, name_outputs
from tds.cli.output import Json, dump, out, table
from tds.cli.results import BatchResult, Done, Failed, Skipped
from tds.client import Client, Render, TdsError

KINDS = ("render", "refine", "enhance", "staging", "video")
RESOLUTIONS = ("1k", "2k", "4k")


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
    project: Annotated[
        str | None,
        typer.Option(
            help="Project code to bill every render of the batch to (see `tds usage`).",
            show_default=False,
        ),
    ] = None,
    out_dir: Annotated[
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

      tds render captures/ --project "2026-017 Harbour Lofts" -o renders/
    """
    if kind not in KINDS:
        raise typer.BadParameter(f"choose one of {', '.join(KINDS)}", param_hint="--kind")
    if resolution is not None and resolution.lower() not in RESOLUTIONS:
        raise typer.BadParameter(
            f"choose one of {', '.join(RESOLUTIONS)}", param_hint="--resolution"
        )
    jobs = name_outputs(expand(paths, recursive), kind)
    options = RenderOptions(
        kind=kind,
        scene_type=scene,
        architectural_style=style,
        lighting=lighting,
        resolution=resolution.lower() if resolution else None,
        prompt=prompt,
        negative_prompt=negative_prompt,
        seed=seed,
        input_type=input_type,
        project=project,
    )
    with api(api_key, base_url, as_json) as client:
        client.me()  # a wrong key or URL stops here, before anything is read or sent
    out_dir.mkdir(parents=True, exist_ok=True)
    show_bar = progress if progress is not None else (not as_json and sys.stderr.isatty())
    results = run_batch(
        client, jobs, options, out_dir, concurrency, show_bar, skip_existing, log=not as_json
    )
    _report(BatchResult(results, _credits_left(client)), as_json)


def _credits_left(client: Client) -> int | None:
    # The batch is over and saved: a balance that cannot be read only leaves it off the summary.
    try:
        return client.me().credits
    except TdsError:
        return None


def _report(batch: BatchResult, as_json: bool) -> None:
    """The table of results and a summary, or the JSON document; exit 1 if any failed."""
    if as_json:
        dump(batch.to_json())
    else:
        rows = []
        for r in batch.results:
            match r:
                case Failed():
                    detail = f"{r.error.code}: {r.error.message}"
                case Done():
                    detail = r.output + (f" + {r.video}" if r.video else "")
                case Skipped():
                    detail = r.output
            rows.append([r.input, r.status, str(r.credits), detail])
        out(table(["FILE", "STATUS", "CREDITS", "OUTPUT / REASON"], rows))
        out()
        summary = f"{batch.count('done')} done, {batch.count('failed')} failed"
        if batch.count("skipped"):
            summary += f", {batch.count('skipped')} skipped"
        summary += f"; {batch.credits_spent} credits spent"
        if batch.credits_left is not None:
            summary += f", {batch.credits_left} left"
        out(summary + ".")
    if batch.count("failed"):
        raise typer.Exit(1)


def _size(render: Render) -> str:
    return f"{render.resolution} {render.width}×{render.height}"


def _describe(render: Render) -> list[str]:
    lines = [
        f"{render.id}  {render.status}  {render.kind} {_size(render)}  "
        f"cost {render.cost}, spent {render.credits_used}"
    ]
    if render.project:
        lines.append(f"project  {render.project}")
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


def get(
    render_id: Annotated[str, typer.Argument(help="The render's id (rnd_…).", show_default=False)],
    out_path: Annotated[
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
    with api(api_key, base_url, as_json) as client:
        current = client.wait(render_id) if wait else client.get_render(render_id)
        if out_path is not None:
            target = Path(out_path).expanduser()
            # A folder, maybe still to make, when it exists or the path ends in a separator.
            if target.is_dir() or out_path.endswith(("/", os.sep)):
                target.mkdir(parents=True, exist_ok=True)
                files.append(str(client.download(current, target / f"{current.id}.jpg")))
                if current.output_video_url:
                    video = target / f"{current.id}.mp4"
                    files.append(str(client.download(current, video, video=True)))
            else:
                is_video = target.suffix.lower() == ".mp4"
                files.append(str(client.download(current, target, video=is_video)))
    if as_json:
        dump({"render": current.raw, "credits": current.balance, "files": files})
        return
    for line in _describe(current):
        out(line)
    for file in files:
        out(f"saved  {file}")


def list_(
    limit: Annotated[int, typer.Option(min=1, max=100, help="How many.")] = 10,
    starting_after: Annotated[
        str | None,
        typer.Option(
            help="The last id of the previous page, for the next one.", show_default=False
        ),
    ] = None,
    project: Annotated[
        str | None,
        typer.Option(help="Only the renders billed to this project code.", show_default=False),
    ] = None,
    api_key: ApiKey = None,
    base_url: BaseUrl = None,
    as_json: Json = False,
) -> None:
    """List your renders, newest first.

    Examples:

      tds list --limit 50 --json | jq -r '.data[] | select(.status=="done") | .id'

      tds list --project "2026-017 Harbour Lofts"
    """
    with api(api_key, base_url, as_json) as client:
        page = client.list_renders(limit=limit, starting_after=starting_after, project=project)
    if as_json:
        dump(page.raw)
        return
    rows = [
        [
            r.id,
            r.status,
            r.kind,
            _size(r),
            str(r.credits_used),
            r.created_at.strftime("%Y-%m-%d %H:%M") if r.created_at else "",
            r.project or "",
            r.output_image_url or (r.error.message if r.error else ""),
        ]
        for r in page
    ]
    headers = ["ID", "STATUS", "KIND", "SIZE", "CREDITS", "CREATED", "PROJECT", "OUTPUT"]
    out(table(headers, rows))
    if page.has_more and page.data:
        more = f"tds list --starting-after {page.data[-1].id}"
        if project is not None:
            more += f" --project {shlex.quote(project)}"
        out(f"\nmore: {more}")


def cancel(
    render_id: Annotated[str, typer.Argument(help="The render's id (rnd_…).", show_default=False)],
    api_key: ApiKey = None,
    base_url: BaseUrl = None,
    as_json: Json = False,
) -> None:
    """Stop a render in flight; its credits are released in full.

    Example: tds cancel rnd_8fK2mQ7xLp3NcV9bR1sT
    """
    with api(api_key, base_url, as_json) as client:
        current = client.cancel(render_id)
    if as_json:
        dump({"render": current.raw, "credits": current.balance})
        return
    out(f"canceled {current.id}; {current.cost} credits released, {current.balance} available")


def register(app: typer.Typer) -> None:
    """Add render, get, list and cancel to the `tds` app."""
    app.command("render")(render)
    app.command("get")(get)
    app.command("list")(list_)
    app.command("cancel")(cancel)
