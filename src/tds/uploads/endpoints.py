from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from starlette.datastructures import UploadFile

from tds.exceptions import InvalidRequest
from tds.idempotency import service as idempotency
from tds.images.intake import CleanImage, decode_base64
from tds.keys.service import Principal
from tds.models import Upload as UploadRow
from tds.server.deps import ApiPrincipal, BaseUrl, RuntimeDep
from tds.server.openapi import errors
from tds.server.runtime import Runtime
from tds.storage.base import staged
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
    rt: Runtime, principal: Principal, base: str, image: CleanImage, claim: tuple[str, str] | None
) -> dict[str, Any]:
    with staged(rt.storage) as put, rt.db.write() as session:
        upload = service.create(session, put, principal.account_id, image)
        body = Upload(
            id=upload.id,
            url=rt.storage.url(base, upload.storage_key),
            content_type=upload.content_type,
            width=upload.width,
            height=upload.height,
            size_bytes=upload.size_bytes,
            created_at=upload.created_at,
        ).model_dump(mode="json")
        if claim:
            idempotency.claim(
                session,
                principal.account_id,
                *claim,
                ttl=rt.idempotency_ttl,
                status_code=201,
                response=body,
            )
        return body


def _replayed(
    rt: Runtime, principal: Principal, base: str, claim: tuple[str, str]
) -> JSONResponse | None:
    with rt.db.read() as session:
        row = idempotency.find(session, principal.account_id, *claim)
        if row is None or row.response is None or row.status_code is None:
            return None
        body = dict(row.response)
        # The URL is made afresh, as a render's are on every read: a presigned S3 URL kept
        # with the first answer may have expired since.
        upload = session.get(UploadRow, body["id"]) if isinstance(body.get("id"), str) else None
        if upload is not None:
            body["url"] = rt.storage.url(base, upload.storage_key)
        return JSONResponse(
            body, status_code=row.status_code, headers={"Idempotent-Replayed": "true"}
        )


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
    claim = None
    if idempotency_key is not None:
        fp = idempotency.fingerprint("POST", "/api/v1/uploads", hashlib.sha256(data).hexdigest())
        claim = (idempotency.validate_key(idempotency_key), fp)
        if replay := await rt.db.run_read(_replayed, rt, principal, base, claim):
            return replay
    image = await rt.clean_image(data)
    try:
        body = await run_in_threadpool(_store, rt, principal, base, image, claim)
    except IntegrityError:
        # A concurrent request with the same key won the claim; answer as it did.
        if claim and (replay := await rt.db.run_read(_replayed, rt, principal, base, claim)):
            return replay
        raise
    return JSONResponse(body, status_code=201)
