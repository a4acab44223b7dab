"""What `tds render PATH…` renders: the inputs its arguments name, and each one's output name."""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import typer

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
_RENDER_ID = re.compile(r"^rnd_[A-Za-z0-9]+$")


@dataclass(frozen=True)
class Source:
    """One input: an image file, an image URL or a finished render (refine, enhance, video)."""

    label: str  # as shown: the path as given, the URL or the render id
    image: Path | None = None
    image_url: str | None = None
    render_id: str | None = None
    folder: str = ""  # where a recursive folder search found it, relative to that folder


@dataclass(frozen=True)
class Job:
    source: Source
    name: str  # output path under OUT without suffix: "[<folder>/]<stem>.<kind>"


def _is_image(path: Path) -> bool:
    return (
        path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")
    )


def expand(arguments: Sequence[str], recursive: bool) -> list[Source]:
    """Files, folders (their images), globs, URLs and render ids → inputs, in order, once each."""
    found: list[Source] = []
    seen: set[str] = set()

    def add(source: Source, identity: str) -> None:
        if identity not in seen:
            seen.add(identity)
            found.append(source)

    for argument in arguments:
        path = Path(argument).expanduser()
        if argument.startswith(("http://", "https://")):
            add(Source(argument, image_url=argument), argument)
        elif path.is_dir():
            listed = sorted(path.rglob("*") if recursive else path.iterdir())
            for file in (f for f in listed if _is_image(f)):
                folder = file.parent.relative_to(path).as_posix()
                source = Source(str(file), image=file, folder="" if folder == "." else folder)
                add(source, str(file.resolve()))
        elif path.is_file():
            add(Source(argument, image=path), str(path.resolve()))
        elif _RENDER_ID.match(argument):
            add(Source(argument, render_id=argument), argument)
        elif glob.has_magic(argument):
            matches = sorted(glob.glob(os.path.expanduser(argument), recursive=recursive))
            for file in (Path(m) for m in matches if _is_image(Path(m))):
                add(Source(str(file), image=file), str(file.resolve()))
        else:
            raise typer.BadParameter(f"no such file or folder: {argument}", param_hint="PATH")
    if not found:
        raise typer.BadParameter(
            f"no images (PNG, JPEG, WebP) in {', '.join(arguments)}", param_hint="PATH"
        )
    return found


def _stem(source: Source) -> str:
    if source.image is not None:
        return source.image.stem
    if source.image_url is not None:
        return Path(source.image_url.split("?", 1)[0].rstrip("/")).stem or "image"
    return source.render_id or "render"


def name_outputs(sources: Sequence[Source], kind: str) -> list[Job]:
    """Outputs named after inputs, `<stem>.<kind>`, in the sub-folders a recursive search
    found them in; a repeated name gets -2, -3, …"""
    jobs: list[Job] = []
    taken: dict[str, int] = {}
    for source in sources:
        stem = f"{source.folder}/{_stem(source)}" if source.folder else _stem(source)
        count = taken.get(stem.lower(), 0) + 1  # lower: Windows and macOS ignore case
        taken[stem.lower()] = count
        jobs.append(Job(source, f"{stem if count == 1 else f'{stem}-{count}'}.{kind}"))
    return jobs
