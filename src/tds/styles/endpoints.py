from __future__ import annotations

import functools

from fastapi import APIRouter
from pydantic import BaseModel

from tds import catalogue
from tds.accounts.schemas import Plan
from tds.engines.base import KINDS, Kind
from tds.server.deps import ApiPrincipal, RuntimeDep
from tds.server.openapi import errors

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
    costs: dict[str, int]


class EngineInfo(BaseModel):
    name: str
    description: str
    kinds: list[Kind]


class Styles(BaseModel):
    scene_types: list[Option]
    architectural_styles: list[Option]
    lighting: list[Option]
    input_types: list[Option]
    resolutions: list[Resolution]
    kinds: list[KindInfo]
    costs: dict[Kind, dict[str, int]]
    engine: EngineInfo
    plans: list[Plan]


def _options(options: tuple[catalogue.Option, ...]) -> list[Option]:
    return [Option(id=o.id, name=o.name, description=o.description) for o in options]


def build_styles(engine_name: str, engine_description: str, served: frozenset[Kind]) -> Styles:
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
                available=kind in served,
                costs=catalogue.COSTS[kind],
            )
            for kind in KINDS
        ],
        costs=catalogue.COSTS,
        engine=EngineInfo(
            name=engine_name,
            description=engine_description,
            kinds=[kind for kind in KINDS if kind in served],
        ),
        plans=[Plan.of(plan) for plan in catalogue.PLANS.values()],
    )


_EXAMPLE = build_styles(
    "preview",
    "CPU image pipeline, not a generative model.",
    frozenset({"render", "refine", "enhance", "video"}),
).model_dump(mode="json")


@router.get(
    "/styles",
    summary="Scene types, styles, lighting, resolutions, kinds and costs",
    description="Everything a client needs to build its option lists and show prices.",
    responses={200: {"content": {"application/json": {"example": _EXAMPLE}}}, **errors()},
)
async def get_styles(_principal: ApiPrincipal, rt: RuntimeDep) -> Styles:
    return _styles_for(rt.engine.name, rt.engine.description, rt.engine.kinds)


@functools.cache
def _styles_for(name: str, description: str, served: frozenset[Kind]) -> Styles:
    return build_styles(name, description, served)
