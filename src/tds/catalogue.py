"""The option lists, prices and plans: one source of truth for GET /api/v1/styles and validation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["render", "refine", "enhance", "staging", "video"]
KINDS: tuple[Kind, ...] = ("render", "refine", "enhance", "staging", "video")
Resolution = Literal["1k", "2k", "4k"]


@dataclass(frozen=True)
class Option:
    id: str  # stable slug sent to engines, e.g. "golden_hour"
    name: str  # what people see and send, e.g. "Golden Hour"
    description: str


def _options(*rows: tuple[str, str, str]) -> tuple[Option, ...]:
    return tuple(Option(*row) for row in rows)


SCENE_TYPES = _options(
    ("exterior", "Exterior", "Building exteriors and facades: sky, landscape, daylight."),
    ("interior", "Interior", "Rooms and halls: bounce light, no sky."),
    ("aerial", "Aerial", "Bird's-eye and drone views: atmospheric haze, wide context."),
    ("landscape", "Landscape", "Gardens, parks and public space: planting and ground cover."),
    ("masterplan", "Masterplan", "Urban plans and site models seen from above."),
)

STYLES = _options(
    ("modern", "Modern", "Clean lines, white render, glass and timber accents."),
    ("contemporary", "Contemporary", "Current practice: mixed materials, neutral warm palette."),
    ("minimalist", "Minimalist", "Reduced palette, soft contrast, quiet surfaces."),
    ("scandinavian", "Scandinavian", "Pale timber, white walls, soft northern light."),
    ("industrial", "Industrial", "Concrete, steel and brick; cool, contrasty grading."),
    ("brutalist", "Brutalist", "Raw concrete mass, heavy shadow, muted colour."),
    ("mediterranean", "Mediterranean", "Lime wash, terracotta, warm saturated light."),
    ("traditional", "Traditional", "Brick, stone and slate; rich warm tones."),
    ("japanese", "Japanese", "Dark timber, paper and stone; calm, low saturation."),
    ("tropical", "Tropical", "Lush greens, deep shade, humid warmth."),
    ("art_deco", "Art Deco", "Geometric ornament, gold and deep colour."),
    ("parametric", "Parametric", "Flowing forms, high-key white, crisp contrast."),
)

LIGHTING = _options(
    ("sunrise", "Sunrise", "Low warm-pink sun, long soft shadows."),
    ("morning", "Morning", "Fresh neutral light, gentle shadows."),
    ("midday", "Midday", "High neutral sun, short hard shadows, blue sky."),
    ("golden_hour", "Golden Hour", "Low warm sun before sunset, long shadows, glowing highlights."),
    ("overcast", "Overcast", "Soft diffuse light, desaturated, no hard shadows."),
    ("blue_hour", "Blue Hour", "Deep blue sky after sunset with warm interior glow."),
    ("night", "Night", "Dark blue ambience, lit windows and artificial light."),
)

INPUT_TYPES = _options(
    ("viewport", "Viewport", "A CAD or 3D viewport capture (flat shading, edges)."),
    ("sketch", "Sketch", "A hand sketch or line drawing."),
    ("photo", "Photo", "A photograph or finished render."),
)

RESOLUTIONS: dict[str, int] = {"1k": 1024, "2k": 2048, "4k": 4096}  # long edge in px

KIND_DESCRIPTIONS: dict[Kind, str] = {
    "render": "Turn a viewport, sketch or photo into a render.",
    "refine": "Adjust a previous render with a prompt (render_id).",
    "enhance": "Upscale and sharpen an image or a previous render.",
    "staging": "Furnish an empty interior.",
    "video": "A short camera-move film from a still.",
}

# Credits per kind and resolution; the developer page fixes render@2k = 10.
COSTS: dict[Kind, dict[str, int]] = {
    "render": {"1k": 5, "2k": 10, "4k": 20},
    "refine": {"1k": 3, "2k": 6, "4k": 12},
    "enhance": {"1k": 2, "2k": 4, "4k": 8},
    "staging": {"1k": 8, "2k": 15, "4k": 30},
    "video": {"1k": 25, "2k": 50, "4k": 100},
}


@dataclass(frozen=True)
class Plan:
    id: str
    name: str
    monthly_credits: int
    max_resolution: str
    kinds: frozenset[Kind]
    max_in_flight: int  # renders processed at once; more wait their turn in the queue


PLANS: dict[str, Plan] = {
    plan.id: plan
    for plan in (
        Plan("free", "Free", 50, "2k", frozenset(KINDS) - {"video"}, 1),
        Plan("pro", "Pro", 1000, "4k", frozenset(KINDS), 4),
        Plan("studio", "Studio", 5000, "4k", frozenset(KINDS), 16),
    )
}
DEFAULT_PLAN = "free"


def _index(options: tuple[Option, ...]) -> dict[str, Option]:
    index: dict[str, Option] = {}
    for option in options:
        for alias in (option.id, option.name, option.id.replace("_", " ")):
            index[alias.casefold()] = option
    return index


_SCENE_INDEX = _index(SCENE_TYPES)
_STYLE_INDEX = _index(STYLES)
_LIGHTING_INDEX = _index(LIGHTING)
_INPUT_INDEX = _index(INPUT_TYPES)


def _find(index: dict[str, Option], value: str) -> Option | None:
    return index.get(value.strip().casefold())


def find_scene_type(value: str) -> Option | None:
    return _find(_SCENE_INDEX, value)


def find_style(value: str) -> Option | None:
    return _find(_STYLE_INDEX, value)


def find_lighting(value: str) -> Option | None:
    return _find(_LIGHTING_INDEX, value)


def find_input_type(value: str) -> Option | None:
    return _find(_INPUT_INDEX, value)


def resolution_rank(resolution: str) -> int:
    return list(RESOLUTIONS).index(resolution)


def output_size(width: int, height: int, resolution: str) -> tuple[int, int]:
    """The output size for an input of width × height: long edge per resolution, aspect kept.

    Both sides are even, as H.264 in yuv420p requires, and at least 2 px.
    """
    long_edge = RESOLUTIONS[resolution]
    scale = long_edge / max(width, height)

    def even(side: float) -> int:
        return max(2, round(side / 2) * 2)

    return even(width * scale), even(height * scale)
