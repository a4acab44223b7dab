from __future__ import annotations

import functools

from fastapi import APIRouter
from pydantic import BaseModel, Field

from tds import catalogue
from tds.accounts.schemas import Plan
from tds.api.deps import ApiPrincipal, RuntimeDep
from tds.api.openapi import errors
from tds.catalogue import KINDS, Kind

router = APIRouter(tags=["catalogue"])


class Option(BaseModel):
    id: str
    name: str
    description: str


class Resolution(BaseModel):
    id: str
    long_edge: int


class KindInfo(BaseModel):
    id: Kind
    description: str
    available: bool
    engine: str | None = Field(description="The engine that serves this kind on this server.")
    generative: bool | None = Field(
        description="Whether that engine is a generative model (false: an image pipeline that "
        "grades and relights, no AI); null when no engine serves the kind or it does not say."
    )
    costs: dict[str, int]


class EngineInfo(BaseModel):
    name: str
    description: str
    generative: bool | None = Field(
        description="Whether the engine is a generative model; null when it does not say."
    )
    kinds: list[Kind]


class Styles(BaseModel):
    scene_types: list[Option]
    architectural_styles: list[Option]
    lighting: list[Option]
    input_types: list[Option]
    resolutions: list[Resolution]
    kinds: list[KindInfo]
    costs: dict[Kind, dict[str, int]]
    engines: list[EngineInfo]
    plans: list[Plan]


def _options(options: tuple[catalogue.Option, ...]) -> list[Option]:
    return [Option(id=o.id, name=o.name, description=o.description) for o in options]


def build_styles(engines: tuple[EngineInfo, ...]) -> Styles:
    serving = {kind: engine for engine in engines for kind in engine.kinds}
    return Styles(
        scene_types=_options(catalogue.SCENE_TYPES),
        architectural_styles=_options(catalogue.STYLES),
        lighting=_options(catalogue.LIGHTING),
        input_types=_options(catalogue.INPUT_TYPES),
        resolutions=[Resolution(id=k, long_edge=v) for k, v in catalogue.RESOLUTIONS.items()],
        kinds=[
            KindInfo(
                id=kind,
                description=catalogue.KIND_DESCRIPTIONS[kind],
                available=kind in serving,
                engine=serving[kind].name if kind in serving else None,
                generative=serving[kind].generative if kind in serving else None,
                costs=catalogue.COSTS[kind],
            )
            for kind in KINDS
        ],
        costs=catalogue.COSTS,
        engines=list(engines),
        plans=[Plan.of(plan) for plan in catalogue.PLANS.values()],
    )


_EXAMPLE = build_styles(
    (
        EngineInfo(
            name="preview",
            description="CPU image pipeline, not a generative model.",
            generative=False,
            kinds=["render", "refine", "enhance", "video"],
        ),
    )
).model_dump(mode="json")


@router.get(
    "/styles",
    summary="Scene types, styles, lighting, resolutions, kinds and costs",
    description="Everything a client needs to build its option lists and show prices.",
    responses={200: {"content": {"application/json": {"example": _EXAMPLE}}}, **errors()},
)
async def get_styles(_principal: ApiPrincipal, rt: RuntimeDep) -> Styles:
    return _styles_for(
        tuple(
            # An engine of one's own (TDS_ENGINE=module:Class) may not say whether it generates.
            (e.name, e.description, getattr(e, "generative", None), tuple(rt.engines.kinds_of(e)))
            for e in rt.engines.engines()
        )
    )


@functools.cache  # the answer only changes with the engines, which are fixed at start-up
def _styles_for(engines: tuple[tuple[str, str, bool | None, tuple[Kind, ...]], ...]) -> Styles:
    return build_styles(
        tuple(
            EngineInfo(name=name, description=description, generative=generative, kinds=list(kinds))
            for name, description, generative, kinds in engines
        )
    )
