"""`tds models list|pull|check`: the diffusion engine's models on this machine.

`list` and `check` read the Hugging Face cache with the stdlib; `pull` downloads through
huggingface_hub (the gpu extra), imported inside the command so that `tds` starts at once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from tds.cli.model_files import Cache, Report
    from tds.engines.diffusion.config import DiffusionConfig
    from tds.engines.diffusion.recipes import Recipe, Repo

app = typer.Typer(
    help="The diffusion engine's models: the recipes tds knows, downloading them, checking them.",
    no_args_is_help=True,
)

INSTALL_HUB = (
    "tds models pull downloads with huggingface_hub, which comes with the gpu extra: "
    "pip install 'tds[gpu]'"
)


def _config() -> DiffusionConfig | None:
    """The diffusion engine's settings from the environment; None (with the reason on stderr)
    when one is malformed."""
    from tds.engines.diffusion.config import DiffusionConfig

    try:
        return DiffusionConfig.from_env()
    except ValueError as error:
        typer.echo(f"error: {error}", err=True)
        return None


def recipe_state(recipe: Recipe, cache: Cache) -> str:
    """ "yes" when every file of every repo is in the cache, "partly" when some are, else "no"."""
    from tds.cli import model_files

    states = set()
    for repo in recipe.repos:
        snapshot = cache.snapshot(repo.id, repo.revision)
        if snapshot is None:
            states.add("no")
            continue
        listed = model_files.snapshot_files_listed(cache, repo, snapshot)
        present = set(model_files.snapshot_files(snapshot, repo.files))
        if listed is None:  # no listing cached: judge by what is there
            states.add("yes" if present else "no")
        else:
            states.add("yes" if listed <= present else ("partly" if present else "no"))
    return states.pop() if len(states) == 1 else "partly"


@app.command("list")
def list_recipes() -> None:
    """The model recipes tds knows: what each serves, its size on disk, the GPU memory it needs,
    its licence and whether it is in this machine's cache."""
    from tds.cli.model_files import hub_cache, human
    from tds.cli.output import table
    from tds.engines.diffusion.recipes import APPROXIMATE, RECIPES

    cache = hub_cache(_config())
    rows = []
    for recipe in RECIPES:
        approximate = "~" if recipe.name in APPROXIMATE else ""
        kinds = ", ".join(sorted(recipe.kinds, key="render refine enhance staging video".find))
        rows.append(
            [
                recipe.name,
                kinds or "(faster)",
                approximate + human(recipe.size),
                recipe.vram,
                ", ".join(recipe.licences),
                recipe_state(recipe, cache),
            ]
        )
    typer.echo(table(["RECIPE", "ADDS", "DISK", "VRAM", "LICENCE", "PULLED"], rows))
    typer.echo("")
    for recipe in RECIPES:
        builds = f" (with {', '.join(recipe.needs)})" if recipe.needs else ""
        typer.echo(f"{recipe.name}{builds}: {recipe.title}.")
        typer.echo("    " + ", ".join(repo.id for repo in recipe.repos))
        if recipe.note:
            typer.echo(f"    {recipe.note}")
    typer.echo(
        "\nDISK: the weight files the engine loads (~: approximate). VRAM: estimated GPU memory "
        "at fp16/bf16, +: on top of what it builds on.\nLicences are the model cards' own: read "
        "them (and their use restrictions) before running a paid service.\n"
        f"Cache: {cache.path}. Pull one: tds models pull NAME"
    )


@app.command()
def pull(
    names: Annotated[
        list[str], typer.Argument(help="Recipes (see `tds models list`).", show_default=False)
    ],
    repair: Annotated[
        bool,
        typer.Option(
            help="First hash the recipe's files already in the cache and drop those that do "
            "not match the hub's checksums, so they are fetched again."
        ),
    ] = False,
) -> None:
    """Download recipes (and those they build on) into the Hugging Face cache the engine reads,
    then print the settings that serve them.

    Only the files the diffusion engine loads are fetched. Run it again after an interruption:
    files already complete are kept, and a transfer cut mid-file resumes from where it stopped.
    The cache is TDS_DIFFUSION_CACHE_DIR, else HF_HUB_CACHE, else $HF_HOME/hub.
    """
    from tds.cli.model_files import hub_cache, human
    from tds.engines.diffusion import recipes as catalogue

    try:
        chosen = catalogue.with_needs(names)
    except KeyError as error:
        typer.echo(f"error: {error.args[0]}", err=True)
        raise typer.Exit(2) from None
    try:
        import huggingface_hub
    except ImportError:
        typer.echo(f"error: {INSTALL_HUB}", err=True)
        raise typer.Exit(1) from None
    config = _config()
    if config is None:
        raise typer.Exit(1)
    cache = hub_cache(config)
    for recipe in chosen:
        typer.echo(f"{recipe.name}: {recipe.title} ({human(recipe.size)})", err=True)
        for repo in recipe.repos:
            if repair:
                _repair(cache, repo)
            try:
                huggingface_hub.snapshot_download(
                    repo.id,
                    revision=repo.revision,
                    allow_patterns=list(repo.files),
                    cache_dir=str(cache.path),
                )
            except (huggingface_hub.errors.HfHubHTTPError, OSError, ValueError) as error:
                typer.echo(f"error: {repo.id}: {_why(repo, error)}", err=True)
                typer.echo(
                    "Run the same command again to go on: files already downloaded are kept.",
                    err=True,
                )
                raise typer.Exit(1) from None
    _print_settings(chosen, cache)


def _why(repo: Repo, error: Exception) -> str:
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if isinstance(error, GatedRepoError):
        return (
            f"{first}. Accept its conditions on https://huggingface.co/{repo.id} and log in "
            "(`hf auth login`, or HF_TOKEN)."
        )
    if isinstance(error, RepositoryNotFoundError):
        return f"{first}. Is HF_ENDPOINT right, and does this machine have a token for it?"
    return first


def _repair(cache: Cache, repo: Repo) -> None:
    from tds.cli import model_files

    snapshot = cache.snapshot(repo.id, repo.revision)
    if snapshot is None:
        return
    for rel in model_files.snapshot_files(snapshot, repo.files):
        path = snapshot / rel
        problem = model_files.file_problem(cache, repo.id, snapshot, rel, "full")
        if problem:
            typer.echo(f"  {repo.id}/{rel}: {problem}; fetching it again", err=True)
            model_files.remove_cached(path)


def cache_variable(cache: Cache, environ: Mapping[str, str]) -> tuple[str, str] | None:
    """The variable (and its value) the server must share to read this cache, if not the
    default one."""
    if not cache.chosen_by:
        return None
    if cache.chosen_by == "TDS_DIFFUSION_CACHE_DIR":
        return cache.chosen_by, environ.get(cache.chosen_by, str(cache.path))
    return cache.chosen_by, environ[cache.chosen_by]


def settings_for(recipes: list[Recipe]) -> dict[str, str]:
    """The environment (TDS_ENGINE and the TDS_DIFFUSION_* variables) that serves recipes."""
    from tds.engines.diffusion.config import DiffusionConfig
    from tds.engines.diffusion.recipes import combine

    values, kinds = combine(recipes)
    values["kinds"] = ",".join(kinds)
    env = {"TDS_ENGINE": "diffusion"}
    for name in DiffusionConfig.model_fields:
        if name in values:
            env[DiffusionConfig.variables(name)[0]] = values[name]
    return env


def _print_settings(pulled: list[Recipe], cache: Cache) -> None:
    from tds.engines.diffusion.recipes import RECIPES

    already = [r for r in RECIPES if r not in pulled and recipe_state(r, cache) == "yes"]
    env = settings_for([*pulled, *already])
    shared = cache_variable(cache, os.environ)
    if shared:
        env[shared[0]] = shared[1]
    used = ", ".join(r.name for r in pulled)
    also = f" with {', '.join(r.name for r in already)}, already here" if already else ""
    them = "them" if len(pulled) > 1 or already else "it"
    typer.echo(
        f"\n{used} in {cache.path}. To serve {them}{also}, set these where the server "
        "(and every `tds worker`) runs:\n",
        err=True,
    )
    for name, value in env.items():
        typer.echo(f"{name}={value}")
    typer.echo("\nThen check: tds models check && tds doctor", err=True)


@app.command()
def check(
    quick: Annotated[
        bool,
        typer.Option(help="Check sizes and headers only, without hashing every file."),
    ] = False,
    load: Annotated[
        bool,
        typer.Option(
            help="Then load every pipeline as the server does at start-up (needs the gpu "
            "extra; on a real GPU this takes minutes)."
        ),
    ] = False,
) -> None:
    """Every model the diffusion engine is configured with: present in the cache (or its local
    folder), every file whole (hashes against the hub's checksums), and with --load loadable.

    Exit status 1 when one is missing or corrupt.
    """
    from tds.cli.model_files import check as check_model
    from tds.cli.model_files import hub_cache, wanted

    config = _config()
    if config is None:
        raise typer.Exit(1)
    cache = hub_cache(config)
    kinds = ",".join(
        k for k in ("render", "refine", "enhance", "staging", "video") if k in config.kinds
    )
    typer.echo(f"Models of the diffusion engine (TDS_DIFFUSION_KINDS={kinds}), cache {cache.path}:")
    reports = [check_model(model, cache, "quick" if quick else "full") for model in wanted(config)]
    for report in reports:
        typer.echo(describe(report))
    failed = [r for r in reports if not r.ok]
    if not failed and load:
        failed_load = _load(config)
        if failed_load:
            typer.echo(f"LOAD FAILED  {failed_load}")
            raise typer.Exit(1)
        typer.echo("loaded       every pipeline, as the server will at start-up")
    if failed:
        raise typer.Exit(1)


def describe(report: Report) -> str:
    """One line for one model: ok, MISSING or CORRUPT, and what to do."""
    from tds.cli.model_files import human

    model = report.model
    named = f"{model.variable}={model.value}"
    if report.ok:
        verified = "checksums match" if report.hashed else "sizes and headers match"
        return f"ok           {named} ({report.files} files, {human(report.size)}, {verified})"
    state = "CORRUPT " if report.corrupt else "MISSING "
    problems = [
        *report.corrupt,
        *(f"{m}: missing" for m in report.missing if m != "not downloaded"),
    ]
    if "not downloaded" in report.missing:
        problems.insert(0, "not in the cache")
    return f"{state}     {named}: {'; '.join(problems)}; {fix(report)}"


def fix(report: Report) -> str:
    from tds.engines.diffusion.recipes import recipe_of

    if not report.repo:
        return "fix that folder or point the setting at another model"
    recipe = recipe_of(report.repo)
    repair = " --repair" if report.corrupt else ""
    if recipe is not None:
        return f"run: tds models pull {recipe.name}{repair}"
    if report.corrupt:
        return f"delete the files named and run: hf download {report.repo}"
    return f"run: hf download {report.repo}"


def _load(config: DiffusionConfig) -> str:
    """Load the pipelines as the server would; "" or why it failed."""
    from tds.engines.diffusion.engine import DiffusionEngine

    try:
        DiffusionEngine(config).setup()
    except Exception as error:  # a load failure of any kind is the answer here
        return f"{type(error).__name__}: {error}"
    return ""
