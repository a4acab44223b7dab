"""The Studio page and the session-authenticated render calls its script makes.

The same submission path as POST /api/v1/renders; only authentication differs (a signed-in
browser with a CSRF token instead of a bearer key), and the source is recorded as "web".
"""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from tds import catalogue
from tds.accounts.schemas import Plan
from tds.api.deps import BaseUrl, RuntimeDep
from tds.api.runtime import Runtime
from tds.catalogue import KINDS
from tds.exceptions import InvalidRequest
from tds.renders.deps import SubmitterDep
from tds.renders.schemas import RenderCreate
from tds.renders.serialization import render_response
from tds.web.deps import CheckedUser, User
from tds.web.templating import page

router = APIRouter()


@router.get("/studio")
def studio(request: Request, rt: RuntimeDep, user: User) -> Response:
    served = rt.engines.kinds
    plan = catalogue.PLANS[user.plan]
    return page(
        request,
        "studio.html",
        user,
        kinds=[{"id": kind, "available": kind in served and kind in plan.kinds} for kind in KINDS],
        served=served,
        scene_types=catalogue.SCENE_TYPES,
        styles=catalogue.STYLES,
        lighting=catalogue.LIGHTING,
        resolutions=list(catalogue.RESOLUTIONS),
        studio_data={
            "csrf": user.csrf_token,
            # The project field is remembered per team in the browser (localStorage).
            "account": user.account_id,
            "costs": catalogue.COSTS,
            "plan": Plan.of(plan).model_dump(),
            "engines": _engines(rt),
        },
    )


def _engines(rt: Runtime) -> dict[str, dict[str, object]]:
    """Per kind, the engine that serves it and whether it is generative: the page says so."""
    engines: dict[str, dict[str, object]] = {}
    for kind in KINDS:
        engine = rt.engines.for_kind(kind)
        if engine is not None:
            engines[kind] = {
                "name": engine.name,
                "generative": getattr(engine, "generative", None),
                "description": engine.description,
            }
    return engines


@router.post("/studio/renders")
async def create(
    rt: RuntimeDep,
    submitter: SubmitterDep,
    base: BaseUrl,
    user: CheckedUser,
    file: Annotated[UploadFile | None, File()] = None,
    render_id: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "render",
    scene_type: Annotated[str, Form()] = "exterior",
    architectural_style: Annotated[str, Form()] = "",
    lighting: Annotated[str, Form()] = "",
    resolution: Annotated[str, Form()] = "2k",
    geometry_fidelity: Annotated[float, Form()] = 0.7,
    prompt: Annotated[str, Form()] = "",
    project: Annotated[str, Form()] = "",
) -> JSONResponse:
    fields: dict[str, object] = {
        "kind": kind,
        "scene_type": scene_type,
        "architectural_style": architectural_style or None,
        "lighting": lighting or None,
        "resolution": resolution,
        "geometry_fidelity": geometry_fidelity,
        "prompt": prompt,
        "source": "web",
    }
    if project.strip():  # an empty field is no project, not an empty code
        fields["project"] = project
    if render_id:
        fields["render_id"] = render_id
    elif file is not None:
        data = await file.read(rt.settings.max_upload_bytes + 1)
        fields["image_base64"] = base64.b64encode(data).decode()
    else:
        raise InvalidRequest("Choose an image first.", param="file")
    try:
        body = RenderCreate.model_validate(fields)
    except ValidationError as error:
        raise RequestValidationError(error.errors()) from None
    new_id = await submitter.submit(user.principal, body, base=base)
    return JSONResponse(await _describe(rt, base, user.account_id, new_id), status_code=202)


@router.get("/studio/renders/{render_id}")
async def poll(render_id: str, rt: RuntimeDep, base: BaseUrl, user: User) -> JSONResponse:
    return JSONResponse(await _describe(rt, base, user.account_id, render_id))


async def _describe(rt: Runtime, base: str, account_id: str, render_id: str) -> dict[str, object]:
    answer = await rt.db.run_read(
        render_response,
        account_id,
        render_id,
        base=base,
        storage=rt.storage,
        dispatcher=rt.dispatcher,
    )
    return answer.model_dump(mode="json")
