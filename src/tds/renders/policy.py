"""What a caller may ask for: the kinds this server's engines serve, the plan's kinds and
resolutions. Checked before any credit is held."""

from __future__ import annotations

from tds import catalogue
from tds.catalogue import PLANS, Kind
from tds.engines.base import Refusing, RenderOptions
from tds.engines.routing import EngineRouter
from tds.exceptions import KindUnavailable, PlanLimit
from tds.images.intake import CleanImage
from tds.keys.service import Principal
from tds.renders.schemas import RenderCreate


def check_allowed(principal: Principal, body: RenderCreate, engine_kinds: frozenset[Kind]) -> None:
    """Refuse what no engine serves or the plan does not include, before any credit is held."""
    if body.kind not in engine_kinds:
        served = ", ".join(sorted(engine_kinds))
        raise KindUnavailable(
            f"This server's engine does not offer kind {body.kind!r} (it serves: {served}). "
            "GET /api/v1/styles lists what is available.",
            param="kind",
        )
    plan = PLANS[principal.plan]
    if body.kind not in plan.kinds:
        raise PlanLimit(
            f"The {plan.name} plan does not include {body.kind}; upgrade to Pro or Studio.",
            param="kind",
        )
    if catalogue.resolution_rank(body.resolution) > catalogue.resolution_rank(plan.max_resolution):
        raise PlanLimit(
            f"The {plan.name} plan renders up to {plan.max_resolution}; choose "
            f"{plan.max_resolution} or lower, or upgrade for {body.resolution}.",
            param="resolution",
        )


def refusing_engine(engines: EngineRouter, kind: Kind) -> Refusing | None:
    """The kind's engine when it can refuse an input before anything is held (the preview
    engine and a sketch); None for the others, which then cost the request nothing here."""
    engine = engines.for_kind(kind)
    return engine if isinstance(engine, Refusing) else None


def check_engine_takes(engine: Refusing, options: RenderOptions, image: CleanImage) -> None:
    """Refuse an input the engine says it cannot serve (it looks at the pixels: a thread)."""
    if reason := engine.refusal(options, image.image):
        raise KindUnavailable(reason, param="input_type")
