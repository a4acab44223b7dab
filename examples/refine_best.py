"""Try one viewport in three lights, keep the most detailed, and refine it with a prompt.

    export TDS_API_KEY=tds_live_…        # or run `tds login` once
    python examples/refine_best.py viewport.png --prompt "more trees, people on the terrace"

The three renders run at once (`wait=False`, then `client.wait`). "Best" here is the one with
the most edge detail, measured with Pillow; put your own judgement in `score`.
"""

from __future__ import annotations

import argparse
import io
import urllib.request
from pathlib import Path

from PIL import Image, ImageFilter, ImageStat

from tds.client import Client, Render

LIGHTS = ("Golden Hour", "Overcast", "Blue Hour")


def score(render: Render) -> float:
    """Mean edge strength of the output: crisper, more detailed renders score higher."""
    assert render.output_image_url
    with urllib.request.urlopen(render.output_image_url) as answer:  # file URLs need no key
        image = Image.open(io.BytesIO(answer.read())).convert("L")
    return float(ImageStat.Stat(image.filter(ImageFilter.FIND_EDGES)).mean[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("viewport", type=Path)
    parser.add_argument("--prompt", default="lush planting, people on the terrace")
    parser.add_argument("--style", default="Modern")
    parser.add_argument("--out", type=Path, default=Path("."))
    args = parser.parse_args()

    client = Client()
    queued = [
        client.render(
            args.viewport, architectural_style=args.style, lighting=light, seed=42, wait=False
        )
        for light in LIGHTS
    ]
    candidates = [client.wait(render) for render in queued]  # ModelFailed if one failed
    scores = {render.id: score(render) for render in candidates}
    for light, render in zip(LIGHTS, candidates, strict=True):
        print(f"{light:<12} {render.id}  score {scores[render.id]:.1f}")

    best = max(candidates, key=lambda render: scores[render.id])
    refined = client.render(best, kind="refine", prompt=args.prompt, strength=0.5)
    path = client.download(refined, args.out / f"{args.viewport.stem}.refined.jpg")
    spent = sum(r.credits_used for r in candidates) + refined.credits_used
    print(f"refined {best.id} as {refined.id} -> {path} ({spent} credits in all)")


if __name__ == "__main__":
    main()
