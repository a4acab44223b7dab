"""Request and response bodies of /api/v1/renders."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.config import JsonDict

from tds import catalogue
from tds.api.text import Text
from tds.catalogue import Kind, Resolution
from tds.engines.base import RenderOptions
from tds.models.render import RenderStatus
from tds.renders import projects

DEFAULTS = RenderOptions()

SEED_EXAMPLE: JsonDict = {
    "image_url": "https://example.com/my-viewport.png",
    "scene_type": "exterior",
    "resolution": "2k",
    "architectural_style": "Modern",
    "lighting": "Golden Hour",
    "prompt": "warm evening light, lush landscaping",
    "source": "api",
    "project": "2026-017 Harbour Lofts",
}


def _lookup(
    finder: Callable[[str], catalogue.Option | None],
    value: str | None,
    what: str,
    options: tuple[catalogue.Option, ...],
) -> str | None:
    if value is None:
        return None
    option = finder(value)
    if option is None:
        names = ", ".join(o.name for o in options)
        raise ValueError(f"unknown {what} {value!r}; choose one of: {names}")
    return option.id


class RenderCreate(BaseModel):
    """A render request: one source image and the options for the engine."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [SEED_EXAMPLE]})

    image_url: Text | None = Field(
        default=None,
        max_length=2048,
        description="An image already hosted (http/https, port 80/443), or a URL from /uploads.",
    )
    image_base64: Text | None = Field(
        default=None, description="A PNG, JPEG or WebP image, base64 or a data: URI."
    )
    render_id: Text | None = Field(
        default=None,
        max_length=32,
        description="A previous render to work from (refine, enhance, staging, video).",
    )
    kind: Kind = DEFAULTS.kind
    scene_type: Text = Field(default=DEFAULTS.scene_type, description="See GET /api/v1/styles.")
    resolution: Resolution = Field(
        default=DEFAULTS.resolution,
        description="Long edge 1024, 2048 or 4096 px; aspect ratio kept.",
    )
    architectural_style: Text | None = Field(
        default=DEFAULTS.architectural_style, description="See GET /api/v1/styles."
    )
    lighting: Text | None = Field(default=DEFAULTS.lighting, description="See GET /api/v1/styles.")
    prompt: Text = Field(default=DEFAULTS.prompt, max_length=2000)
    negative_prompt: Text = Field(default=DEFAULTS.negative_prompt, max_length=2000)
    source: Text = Field(
        default="api",
        pattern=r"^[a-z0-9_-]{1,32}$",
        description="Where the request comes from: api, web, sketchup, rhino, revit, autocad…",
    )
    project: Text | None = Field(
        default=None,
        description="A project code to bill the render to (1–100 printable characters, trimmed): "
        "GET /api/v1/usage?group_by=project adds up credits per project.",
        examples=["2026-017 Harbour Lofts"],
    )
    seed: int | None = Field(
        default=None, ge=0, le=2**31 - 1, description="Same seed and inputs → same output."
    )
    geometry_fidelity: float = Field(
        default=DEFAULTS.geometry_fidelity,
        ge=0,
        le=1,
        description="How strictly the output keeps the input's lines.",
    )
    strength: float | None = Field(  # null is the default too: earlier clients send it
        default=DEFAULTS.strength, ge=0, le=1, description="How far refine moves from its parent."
    )
    input_type: Text | None = Field(
        default=DEFAULTS.input_type, description="viewport, sketch or photo."
    )
    min_fidelity: float | None = Field(
        default=DEFAULTS.min_fidelity,
        ge=0,
        le=1,
        description="The lowest fidelity_score accepted: below it the render is tried once more, "
        "then fails geometry_drift and is refunded.",
    )

    @field_validator("scene_type")
    @classmethod
    def _scene_type(cls, value: str) -> str:
        found = _lookup(catalogue.find_scene_type, value, "scene_type", catalogue.SCENE_TYPES)
        assert found is not None
        return found

    @field_validator("architectural_style")
    @classmethod
    def _style(cls, value: str | None) -> str | None:
        return _lookup(catalogue.find_style, value, "architectural_style", catalogue.STYLES)

    @field_validator("lighting")
    @classmethod
    def _lighting(cls, value: str | None) -> str | None:
        return _lookup(catalogue.find_lighting, value, "lighting", catalogue.LIGHTING)

    @field_validator("project")
    @classmethod
    def _project(cls, value: str | None) -> str | None:
        if value is None:
            return None
        trimmed = value.strip()
        why = projects.problem(trimmed)
        if why is not None:
            raise ValueError(why)
        return trimmed

    @field_validator("input_type")
    @classmethod
    def _input_type(cls, value: str | None) -> str | None:
        return _lookup(catalogue.find_input_type, value, "input_type", catalogue.INPUT_TYPES)

    def options(self, seed: int) -> RenderOptions:
        """The render's options, with `seed` where the request left it to the server."""
        return RenderOptions(
            kind=self.kind,
            scene_type=self.scene_type,
            architectural_style=self.architectural_style,
            lighting=self.lighting,
            resolution=self.resolution,
            prompt=self.prompt,
            negative_prompt=self.negative_prompt,
            seed=seed if self.seed is None else self.seed,
            geometry_fidelity=self.geometry_fidelity,
            strength=DEFAULTS.strength if self.strength is None else self.strength,
            input_type=self.input_type,
            min_fidelity=self.min_fidelity,
        )

    @model_validator(mode="after")
    def _one_source(self) -> RenderCreate:
        given = [n for n in ("image_url", "image_base64", "render_id") if getattr(self, n)]
        if len(given) != 1:
            raise ValueError(
                "send exactly one of image_url, image_base64 or render_id"
                + (f" (got {', '.join(given)})" if given else "")
            )
        if self.kind == "render" and self.render_id:
            raise ValueError(
                "kind 'render' starts from an image: send image_url or image_base64; "
                "use render_id with refine, enhance, staging or video"
            )
        return self


class Progress(BaseModel):
    value: int
    max: int


class RenderError(BaseModel):
    code: str
    message: str


class RenderUrls(BaseModel):
    get: str
    cancel: str


RENDER_EXAMPLE: JsonDict = {
    "object": "render",
    "id": "rnd_8fK2mQ7xLp3NcV9bR1sT",
    "kind": "render",
    "status": "done",
    "source": "api",
    "project": "2026-017 Harbour Lofts",
    "parent_id": None,
    "scene_type": "exterior",
    "architectural_style": "Modern",
    "lighting": "Golden Hour",
    "resolution": "2k",
    "prompt": "warm evening light, lush landscaping",
    "negative_prompt": "",
    "seed": 1234,
    "geometry_fidelity": 0.7,
    "strength": 0.5,
    "input_type": None,
    "min_fidelity": None,
    "width": 2048,
    "height": 1152,
    "input_image_url": "https://tds.example.com/files/inputs/Q1w…e.png",
    "output_image_url": "https://tds.example.com/files/renders/Zx9…a.jpg",
    "output_video_url": None,
    "cost": 10,
    "credits_used": 10,
    "progress": {"value": 1, "max": 1},
    "queue_position": None,
    "error": None,
    "warnings": [],
    "engine": "stability",
    "fidelity_score": 0.82,
    "created_at": "2026-11-28T12:00:00Z",
    "started_at": "2026-11-28T12:00:00Z",
    "completed_at": "2026-11-28T12:00:01Z",
    "urls": {
        "get": "https://tds.example.com/api/v1/renders/rnd_8fK2mQ7xLp3NcV9bR1sT",
        "cancel": "https://tds.example.com/api/v1/renders/rnd_8fK2mQ7xLp3NcV9bR1sT/cancel",
    },
}


class Render(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [RENDER_EXAMPLE]})

    object: Literal["render"] = "render"
    id: str
    kind: Kind
    status: RenderStatus
    source: str
    project: str | None = Field(description="The project code the render is billed to.")
    parent_id: str | None
    scene_type: str
    architectural_style: str | None
    lighting: str | None
    resolution: str
    prompt: str
    negative_prompt: str
    seed: int
    geometry_fidelity: float
    strength: float
    input_type: str | None
    min_fidelity: float | None
    width: int
    height: int
    input_image_url: str
    output_image_url: str | None
    output_video_url: str | None
    cost: int = Field(description="The price of this render; held while it is in flight.")
    credits_used: int = Field(description="Credits actually spent: the cost once done, else 0.")
    progress: Progress | None
    queue_position: int | None
    error: RenderError | None
    warnings: list[str]
    engine: str | None = Field(description="The engine that made the render, once it is done.")
    fidelity_score: float | None = Field(
        description="0–1, once done: how much of the input's lines the output kept (edge F1, "
        "the same measure for every engine); none for an input without lines."
    )
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    urls: RenderUrls


class RenderResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"render": RENDER_EXAMPLE, "credits": 90}]}
    )

    render: Render
    credits: int = Field(description="The account's available credits after this call.")


class RenderList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"object": "list", "data": [RENDER_EXAMPLE], "has_more": False}]
        }
    )

    object: Literal["list"] = "list"
    data: list[Render]
    has_more: bool
