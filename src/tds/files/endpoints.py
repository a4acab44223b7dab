"""Serving stored files (uploads, inputs, outputs) at their capability URLs."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse, Response

from tds.api.deps import BaseUrl, RuntimeDep
from tds.api.errors import ErrorBody
from tds.exceptions import NotFound
from tds.storage.base import CACHE_CONTROL, content_type
from tds.storage.local import LocalStorage

router = APIRouter(tags=["files"])

HEADERS = {
    "Cache-Control": CACHE_CONTROL,
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "cross-origin",
}


@router.get(
    "/files/{key:path}",
    summary="A stored image or video (capability URL, no auth)",
    response_class=FileResponse,
    responses={
        307: {"description": "With S3 storage: the object's URL in the bucket (or its CDN)."},
        404: {"model": ErrorBody, "description": "not_found: no file at this URL."},
    },
)
def get_file(key: str, rt: RuntimeDep, base: BaseUrl) -> Response:
    storage = rt.storage
    if isinstance(storage, LocalStorage):
        try:
            path = storage.path(key)
        except FileNotFoundError:
            path = None
        if path is None or not path.is_file():
            raise NotFound("No file at this URL.")
        return FileResponse(path, media_type=content_type(key), headers=HEADERS)
    # Elsewhere (S3): send the client to the object itself rather than stream it through
    # this process. The answer names a URL that may expire, so it is not cached.
    if not storage.exists(key):
        raise NotFound("No file at this URL.")
    return RedirectResponse(
        storage.url(base, key), status_code=307, headers={"Cache-Control": "no-store"}
    )
