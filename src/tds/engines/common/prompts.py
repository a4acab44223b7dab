"""Prompts from a render's options, for every generative engine.

`compose` makes a diffusion prompt (short phrases a CLIP encoder knows, and a negative prompt)
for the diffusion engine's pipelines and the `{prompt}` placeholder of Replicate models.
`instruction` makes an editing instruction in sentences, for instruction-following image models
(GPT Image, Gemini, Kontext, Stability's prompts): what to make of the image, then what to keep.

In both the user's own words come first: what they typed is what they most want obeyed. Then the
scene, style and lighting, then the input type and what must not move: every line of the
building and the camera.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tds import catalogue
from tds.engines.base import Job, Kind

SCENES: dict[str, str] = {
    "exterior": "building exterior, facade, sky, landscaping",
    "interior": "interior of a room, soft bounce light",
    "aerial": "aerial drone view, wide context, light haze",
    "landscape": "landscape architecture, planting, paving",
    "masterplan": "aerial view of an urban masterplan, streets, greenery",
}

STYLES: dict[str, str] = {
    "modern": "modern architecture, white render, large glazing, timber accents",
    "contemporary": "contemporary architecture, mixed materials, warm neutral palette",
    "minimalist": "minimalist architecture, reduced palette, smooth surfaces",
    "scandinavian": "scandinavian design, pale timber, white walls",
    "industrial": "industrial style, exposed concrete, steel, brick",
    "brutalist": "brutalist architecture, raw board-formed concrete",
    "mediterranean": "mediterranean architecture, lime-washed walls, terracotta",
    "traditional": "traditional architecture, brick, stone, slate",
    "japanese": "japanese architecture, dark timber, paper screens, stone",
    "tropical": "tropical architecture, lush greenery, timber louvres",
    "art_deco": "art deco architecture, geometric ornament, brass",
    "parametric": "parametric architecture, flowing curved white forms",
}

LIGHTING: dict[str, str] = {
    "sunrise": "sunrise, low warm pink sunlight",
    "morning": "morning light, fresh neutral daylight",
    "midday": "midday sun, clear blue sky, crisp shadows",
    "golden_hour": "golden hour, warm low sun, long shadows",
    "overcast": "overcast sky, soft diffuse light",
    "blue_hour": "blue hour, deep blue sky, glowing windows",
    "night": "night, warm artificial lighting, lit windows",
}

QUALITY = "photorealistic, highly detailed, architectural photography"
NEGATIVE = (
    "blurry, lowres, distorted geometry, warped lines, deformed, cartoon, painting, "
    "text, watermark, oversaturated"
)
STAGING = "furnished {style}interior, sofa, rug, armchairs, coffee table, plants, lamps"
VIDEO = "slow smooth camera dolly, steady motion"
VIDEO_NEGATIVE = "static, flicker, jitter, warping, morphing"


@dataclass(frozen=True)
class Prompts:
    prompt: str
    negative: str


def _phrase(
    table: dict[str, str], value: str | None, find: Callable[[str], catalogue.Option | None]
) -> str:
    """The phrase of a catalogue id; an id the table lacks falls back to its description."""
    if not value:
        return ""
    key = value.strip().casefold().replace(" ", "_")
    if key in table:
        return table[key]
    option = find(value)
    if option is not None:
        return table.get(option.id, option.description.rstrip(".").lower())
    return value.strip()


def _join(*parts: str) -> str:
    return ", ".join(part.strip().strip(",") for part in parts if part and part.strip())


def compose(job: Job, kind: Kind | None = None) -> Prompts:
    """The positive and negative prompt for `job` (for `kind`, default the job's own)."""
    kind = kind or job.kind
    scene = _phrase(SCENES, job.scene_type, catalogue.find_scene_type)
    style = _phrase(STYLES, job.architectural_style, catalogue.find_style)
    light = _phrase(LIGHTING, job.lighting, catalogue.find_lighting)
    user = " ".join(job.prompt.split())
    negative = _join(job.negative_prompt, NEGATIVE)
    if kind == "staging":
        option = catalogue.find_style(job.architectural_style) if job.architectural_style else None
        style_word = (
            f"{(option.name if option else job.architectural_style or '').lower()} ".lstrip()
        )
        staged = STAGING.format(style=style_word)
        return Prompts(_join(user, staged, light, QUALITY), negative)
    if kind == "enhance":
        return Prompts(_join(user, scene, style, QUALITY, "fine texture detail"), negative)
    if kind == "video":
        return Prompts(
            _join(user, VIDEO, scene, style, light, "photorealistic"),
            _join(negative, VIDEO_NEGATIVE),
        )
    source = ""
    if job.input_type == "sketch":
        source = "realistic rendering of the sketch"
    return Prompts(_join(user, scene, style, light, source, QUALITY), negative)


INPUTS = {"sketch": "architectural sketch", "photo": "photograph", "viewport": "3D viewport"}


def instruction(job: Job, kind: Kind | None = None) -> str:
    """What an instruction-following editor is asked to do with the image."""
    kind = kind or job.kind
    user = " ".join(job.prompt.split()).rstrip(".")
    style = catalogue.find_style(job.architectural_style) if job.architectural_style else None
    light = catalogue.find_lighting(job.lighting) if job.lighting else None
    scene = catalogue.find_scene_type(job.scene_type)
    style_text = f" in a {style.name.lower()} style" if style else ""
    light_text = f", {light.name.lower()} light" if light else ""
    first = f"{user}. " if user else ""
    if kind == "staging":
        return (
            f"{first}Furnish this empty room{style_text}: sofa, rug, armchairs, table, plants "
            f"and lamps{light_text}. Keep the walls, windows, doors, floor, ceiling and camera "
            "exactly as they are. Photorealistic."
        )
    if kind == "refine":
        return (
            f"{first or 'Improve realism and detail. '}Refine this render{style_text}"
            f"{light_text}. Keep the composition, camera and building geometry unchanged. "
            "Photorealistic."
        )
    if kind == "enhance":
        return (
            f"{first}Upscale this architectural render, adding fine material and texture detail. "
            "Change nothing else: same composition, geometry, colours and light."
        )
    source = INPUTS.get(job.input_type or "", "3D viewport")
    subject = scene.name.lower() if scene else "architecture"
    negative = " ".join(job.negative_prompt.split()).rstrip(".")
    avoid = f" Avoid: {negative}." if negative else ""
    return (
        f"{first}Render this {source} as a photorealistic {subject} photograph{style_text}"
        f"{light_text}. Keep every wall, window, opening and roof line and the camera exactly "
        f"where they are; change materials, light and surroundings only.{avoid}"
    )
