from __future__ import annotations

import functools
import hashlib
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from tds.api.deps import ApiPrincipal, BaseUrl, RuntimeDep
from tds.api.openapi import errors
from tds.api.runtime import Runtime
from tds.exceptions import InvalidRequest
from tds.idempotency import service as idempotency
from tds.idempotency.service import Claim
from tds.images.intake import CleanImage, decode_base64
from tds.keys.service import Principal
from tds.models import IdempotencyKey
from tds.models import Upload as UploadRow
from tds.storage.base import Put, staged_write
from tds.uploads import service
from tds.uploads.schemas import Upload, UploadCreate

router = APIRouter(tags=["uploads"])

_BODY_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            },
            "application/json": {
                "schema": UploadCreate.model_json_schema(),
                "example": {"image_base64": "iVBORw0KGgoAAAANSUhEUgAA…"},
            },
        },
    }
}


async def _read_image_bytes(request: Request, rt: Runtime) -> bytes:
    content_type = request.headers.get("content-type", "")
    limit = rt.settings.max_upload_bytes
    if content_type.startswith("multipart/form-data"):
        async with request.form(max_files=1, max_fields=8) as form:
            file = form.get("file")
            if not isinstance(file, UploadFile):
                raise InvalidRequest(
                    "Send the image in a multipart field named 'file'.", param="file"
                )
            return await file.read(limit + 1)  # clean_image refuses anything over the limit
    if content_type.startswith("application/json"):
        try:
            payload = UploadCreate.model_validate_json(await request.body())
        except ValidationError as error:
            raise RequestValidationError(error.errors()) from None
        return decode_base64(payload.image_base64, max_bytes=limit)
    raise InvalidRequest(
        "Send multipart/form-data with a 'file' field, or JSON with 'image_base64'."
    )


def _store(
    session: Session,
    put: Put,
    principal: Principal,
    image: CleanImage,
    claim: Claim | None,
    base: str,
    rt: Runtime,
) -> dict[str, Any]:
    if claim:  # first: a concurrent twin fails here, before storing anything
        idempotency.take(session, principal.account_id, claim, ttl=rt.settings.idempotency_ttl)
    upload = service.create(session, put, principal.account_id, image)
    body = _body(upload, base, rt)
    if claim:
        idempotency.save_response(session, principal.account_id, claim, 201, body)
    return body


def _body(upload: UploadRow, base: str, rt: Runtime) -> dict[str, Any]:
    return Upload(
        id=upload.id,
        url=rt.storage.url(base, upload.storage_key),
        content_type=upload.content_type,
        width=upload.width,
        height=upload.height,
        size_bytes=upload.size_bytes,
        created_at=upload.created_at,
    ).model_dump(mode="json")


def _replay(session: Session, row: IdempotencyKey, base: str, rt: Runtime) -> JSONResponse:
    # Stored with the claim, in the unit of work that made the upload.
    assert row.response is not None
    assert row.status_code is not None
    body = dict(row.response)
    # The URL is made afresh, as a render's are on every read: a presigned S3 URL kept with
    # the first answer may have expired since.
    upload = session.get(UploadRow, body["id"]) if isinstance(body.get("id"), str) else None
    if upload is not None:
        body["url"] = rt.storage.url(base, upload.storage_key)
    return JSONResponse(body, status_code=row.status_code, headers={"Idempotent-Replayed": "true"})


@router.post(
    "/uploads",
    status_code=201,
    response_model=Upload,
    summary="Store an image, get a public URL",
    description=(
        "Send multipart/form-data with a `file` field, or JSON with `image_base64`. PNG, JPEG "
        "or WebP; the image is validated, EXIF-rotated and re-encoded without metadata. The "
        "answer's `url` is an unguessable public URL: pass it as `image_url` to a render."
    ),
    responses=errors(400, 409, 413),
    openapi_extra=_BODY_SCHEMA,
)
async def create_upload(
    request: Request,
    principal: ApiPrincipal,
    rt: RuntimeDep,
    base: BaseUrl,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> JSONResponse:
    data = await _read_image_bytes(request, rt)
    claim = Claim.of(
        idempotency_key, "POST", "/api/v1/uploads", lambda: hashlib.sha256(data).hexdigest()
    )

    async def store() -> dict[str, Any]:
        image = await rt.images.clean(data)
        return await anyio.to_thread.run_sync(
            functools.partial(
                staged_write, rt.db, rt.storage, _store, principal, image, claim, base, rt
            )
        )

    outcome = await idempotency.guard(rt.db, principal.account_id, claim, store)
    if isinstance(outcome, IdempotencyKey):
        return await rt.db.run_read(_replay, outcome, base, rt)
    return JSONResponse(outcome, status_code=201)
