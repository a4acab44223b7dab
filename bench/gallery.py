"""Contact sheets of what the preview engine does, for docs/preview-engine.md.

    python bench/gallery.py [--out docs] [--cell 240]

Writes docs/preview-gallery.png (rows: the test fixtures and a viewport drawn in code;
columns: the input and every lighting preset) and docs/preview-styles.png (a few styles on a
viewport and a photo). Each render is a real 1k render, reduced to a thumbnail.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.engines.viewports draws the viewport captures

from tests.engines.viewports import sketchup  # noqa: E402

from tds.catalogue import LIGHTING, STYLES, output_size  # noqa: E402
from tds.engines.base import Job  # noqa: E402
from tds.engines.preview.engine import PreviewEngine  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
BACKGROUND = (32, 32, 34)
HEADER = 30
MAX_BYTES = 2_000_000


def fixture(name: str) -> Callable[[], Image.Image]:
    def load() -> Image.Image:
        with Image.open(FIXTURES / name) as image:
            return image.convert("RGB")

    return load


# (label, image, scene type, input type)
ROWS: list[tuple[str, Callable[[], Image.Image], str, str | None]] = [
    ("house.png", fixture("house.png"), "exterior", None),
    ("building.png", fixture("building.png"), "exterior", None),
    ("room.png (interior)", fixture("room.png"), "interior", None),
    ("house_line.png (sketch)", fixture("house_line.png"), "exterior", "sketch"),
    ("viewport (drawn)", sketchup, "exterior", "viewport"),
]
STYLE_IDS = ["modern", "scandinavian", "industrial", "brutalist", "mediterranean", "japanese"]


def render(
    engine: PreviewEngine, image: Image.Image, scene: str, kind: str | None, **options: str
) -> Image.Image:
    width, height = output_size(*image.size, "1k")
    job = Job(
        kind="render",
        image=image,
        width=width,
        height=height,
        scene_type=scene,
        input_type=kind,
        **options,  # type: ignore[arg-type]
    )
    return engine.run(job, lambda done, total: None).image


def cell(image: Image.Image, size: int, label: str | None = None) -> np.ndarray:
    """The image fitted into a cell `size` wide and as tall as the image needs (at most
    `size`), centred, optionally labelled at the foot."""
    thumb = image.copy()
    thumb.thumbnail((size, size), Image.Resampling.LANCZOS)
    height = min(size, round(size * image.height / image.width))
    canvas = np.full((height, size, 3), BACKGROUND, np.uint8)
    x, y = (size - thumb.width) // 2, (height - thumb.height) // 2
    canvas[y : y + thumb.height, x : x + thumb.width] = np.asarray(thumb)
    if label:
        put(canvas, label, (6, height - 8), 0.42)
    return canvas


def put(canvas: np.ndarray, text: str, origin: tuple[int, int], scale: float) -> None:
    """White text with a dark outline: legible on any thumbnail."""
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(canvas, text, origin, font, scale, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(canvas, text, origin, font, scale, (255, 255, 255), 1, cv2.LINE_AA)


def header(labels: list[str], size: int) -> np.ndarray:
    strip = np.full((HEADER, size * len(labels), 3), BACKGROUND, np.uint8)
    for index, label in enumerate(labels):
        put(strip, label, (index * size + 8, HEADER - 10), 0.5)
    return strip


def save(sheet: np.ndarray, path: Path) -> None:
    """Full-colour PNG (a palette would band the skies): size it with --cell."""
    image = Image.fromarray(sheet)
    image.save(path, optimize=True)
    if path.stat().st_size > MAX_BYTES:
        print(f"warning: {path.name} is over {MAX_BYTES:,} B; use a smaller --cell")
    print(f"{path.relative_to(ROOT)}: {image.width}×{image.height}, {path.stat().st_size:,} B")


def lighting_sheet(engine: PreviewEngine, size: int) -> np.ndarray:
    rows = [header(["input", *(option.name for option in LIGHTING)], size)]
    for label, load, scene, kind in ROWS:
        image = load()
        cells = [cell(image, size, label)]
        cells += [
            cell(render(engine, image, scene, kind, lighting=option.id), size)
            for option in LIGHTING
        ]
        rows.append(np.hstack(cells))
    return np.vstack(rows)


def style_sheet(engine: PreviewEngine, size: int) -> np.ndarray:
    names = {option.id: option.name for option in STYLES}
    rows = [header(["input", *(names[style] for style in STYLE_IDS)], size)]
    for label, load, scene, kind in (ROWS[4], ROWS[0]):
        image = load()
        cells = [cell(image, size, label)]
        cells += [
            cell(
                render(engine, image, scene, kind, architectural_style=style, lighting="morning"),
                size,
            )
            for style in STYLE_IDS
        ]
        rows.append(np.hstack(cells))
    return np.vstack(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--cell", type=int, default=208, help="thumbnail width in px")
    args = parser.parse_args()
    engine = PreviewEngine()
    engine.setup()
    started = time.perf_counter()
    save(lighting_sheet(engine, args.cell), args.out / "preview-gallery.png")
    save(style_sheet(engine, args.cell), args.out / "preview-styles.png")
    print(f"{time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
